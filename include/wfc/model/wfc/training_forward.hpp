#pragma once
// The training forward pass (docs/design.md, "Training"), outputs first as in llm.c:
//   clean_forward   the T input tokens through the stack once, causally; each layer keeps its
//                   keys/values for the future stream (pinned past only);
//   future_forward  state_0 = P·E + positions, then K steps state_k = state_{k−1} + η_r·(S(state_{k−1}) − state_{k−1})
//                   with η_r = 0 for pinned rows; every step's stream and activations are kept;
//   head_loss       the cross-entropy of the slots at step k, mean over the scored slots.
#include "wfc/model/wfc/training_buffers.hpp"
#include "wfc/model/wfc/weights.hpp"
#include "wfc/nn/attention.hpp"

namespace wfc::detail {

template <class Positions, class T, class Backend>
nn::attention_context<T> clean_context(const wfc_training_buffers<T, Backend>& t) {
  nn::attention_context<T> c;
  c.keep = t.causal.cview();
  c.sequences = t.sequences;
  if constexpr (Positions::rotary) c.positions = t.positions.cview();
  return c;
}

// Layer `layer` of the future stream: its mask, and with a pinned past the clean stream's keys and values.
template <class Past, class Positions, class T, class Backend>
nn::attention_context<T> future_context(const wfc_training_buffers<T, Backend>& t, index_t layer) {
  nn::attention_context<T> c;
  c.keep = t.future_keep.cview();
  c.sequences = t.sequences;
  if constexpr (Positions::rotary) c.positions = t.positions.cview();
  if constexpr (Past::cached) {
    c.past_keys = t.clean_acts[std::size_t(layer)].keys(t.sequences);
    c.past_values = t.clean_acts[std::size_t(layer)].values(t.sequences);
  }
  return c;
}

template <class T, class Backend, class Positions>
void clean_forward(wfc_training_buffers<T, Backend>& t, const wfc_weights<T, Backend, Positions>& w) {
  const Backend be{};
  const auto p = w.params.cview();
  w.wte.forward(be, t.clean[0].view(), t.ids.cview(), p);
  w.add_positions(t.clean[0].view(), t.pos_embed.view(), t.positions.cview());
  const auto context = clean_context<Positions>(t);
  for (std::size_t l = 0; l < w.blocks.size(); ++l)
    w.blocks[l].forward(be, t.clean[l + 1].view(), t.clean_acts[l].view(t.steps), t.clean[l].cview(), context, p);
}

template <class Past, class T, class Backend, class Positions>
void future_forward(wfc_training_buffers<T, Backend>& t, const wfc_weights<T, Backend, Positions>& w, index_t K) {
  const Backend be{};
  const auto p = w.params.cview();
  w.wte.forward(be, t.state[0].view(), t.probs.cview(), p);
  w.add_positions(t.state[0].view(), t.pos_embed.view(), t.positions.cview());
  for (index_t k = 1; k <= K; ++k) {
    auto& s = t.stream[std::size_t(k)];
    copy(be, s[0].view(), t.state[std::size_t(k - 1)].cview());
    for (std::size_t l = 0; l < w.blocks.size(); ++l)
      w.blocks[l].forward(be, s[l + 1].view(), t.acts[std::size_t(k)][l].view(t.future_keys), s[l].cview(),
                          future_context<Past, Positions>(t, index_t(l)), p);
    // state_k = state_{k−1} + η_r·(S(state_{k−1}) − state_{k−1}), η_r = 0 for pinned slots
    auto next = t.state[std::size_t(k)].view();
    copy(be, next, s.back().cview());
    axpy(be, next, T(-1), t.state[std::size_t(k - 1)].cview());
    scale_rows(be, next, t.step_factor.cview());
    axpy(be, next, T(1), t.state[std::size_t(k - 1)].cview());
  }
}

// Cross-entropy of the slots at step k (mean over counted slots); keeps its activations.
template <class T, class Backend, class Positions>
T head_loss(wfc_training_buffers<T, Backend>& t, const wfc_weights<T, Backend, Positions>& w, index_t k) {
  const Backend be{};
  const auto p = w.params.cview();
  const auto i = std::size_t(k);
  w.ln_f.forward(be, t.final[i].view(), t.final_mean[i].view(), t.final_rstd[i].view(), t.state[i].cview(), p);
  gemm(be, t.logits[i].view(), t.final[i].cview(), transpose(w.wte.table(p)));
  cross_entropy_forward(be, t.loss_rows[i].view(), t.logits[i].cview(), t.targets.cview());
  return t.counted ? sum(be, t.loss_rows[i].cview()) / T(t.counted) : T(0);
}

}  // namespace wfc::detail
