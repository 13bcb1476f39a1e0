#pragma once
// Disembedding the slots: logits = LN_f(x)·Eᵀ (the tied head), probabilities by softmax, and each
// slot's entropy in bits: how the window's entropy curve is read.
#include <cmath>
#include <vector>

#include "wfc/model/wfc/inference_state.hpp"
#include "wfc/model/wfc/weights.hpp"

namespace wfc::detail {

// The slots' logits [sequences·slots, vocab] (row s·slots + i: sequence s, slot i).
template <class T, class Backend, class Positions>
tensor_view<const T, 2> future_logits(wfc_inference_state<T, Backend>& run, const wfc_weights<T, Backend, Positions>& w) {
  const Backend be{};
  const index_t rows = run.sequences * run.slots;
  const auto p = w.params.cview();
  w.ln_f.forward(be, run.final.view().slice(0, 0, rows), run.final_mean.view().slice(0, 0, rows), run.final_rstd.view().slice(0, 0, rows),
                 run.state.cview().slice(0, 0, rows), p);
  gemm(be, run.logits.view().slice(0, 0, rows), run.final.cview().slice(0, 0, rows), transpose(w.wte.table(p)));
  return run.logits.cview().slice(0, 0, rows);
}

// The slots' probability vectors [sequences·slots, vocab], softmax of future_logits().
template <class T, class Backend, class Positions>
tensor_view<const T, 2> future_probabilities(wfc_inference_state<T, Backend>& run, const wfc_weights<T, Backend, Positions>& w) {
  const auto logits = future_logits(run, w);
  const index_t rows = logits.extent(0), V = logits.extent(1);
  const auto probs = run.probs.view().slice(0, 0, rows);
  softmax_forward(Backend{}, reshape(probs, shape<3>{{1, rows, V}}), reshape(logits, shape<3>{{1, rows, V}}));
  return as_const(probs);
}

// Each row's entropy in bits from its logits: 0 for a collapsed slot, log2(vocab) at most.
template <class T, class Backend>
std::vector<double> future_entropy(wfc_inference_state<T, Backend>& run, tensor_view<const T, 2> logits) {
  const auto h = run.entropy.view().slice(0, 0, logits.extent(0));
  softmax_entropy(Backend{}, h, logits);
  auto bits = to_host<Backend>(as_const(h));
  std::vector<double> out(bits.size());
  for (std::size_t i = 0; i < bits.size(); ++i) out[i] = double(bits[i]) / std::log(2.0);
  return out;
}

}  // namespace wfc::detail
