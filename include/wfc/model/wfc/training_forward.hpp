#pragma once
// The training forward pass (docs/design.md, "Training"), outputs first as in llm.c:
//   clean_forward   the T input tokens through the stack once, causally; each layer keeps its
//                   keys/values for the future stream (pinned past only);
//   future_start, future_tracked
//                   state_0 = P·E + positions (rolling training: carried rows from a first solve
//                   one token earlier), then K steps state_k = state_{k−1} + η_r·(S(state_{k−1}) − state_{k−1})
//                   with η_r = 0 for pinned rows; the last `tracked` steps keep their stream and
//                   activations (truncated backprop: earlier ones run in step 1's buffers);
//   head_loss       the cross-entropy of the slots at step k, mean over the scored slots.
#include <algorithm>
#include <utility>

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

// The clean stream with parameters p (w's own; a gradient check's held ones for what backward does not go through).
template <class T, class Backend, class Positions>
void clean_forward(wfc_training_buffers<T, Backend>& t, const wfc_weights<T, Backend, Positions>& w, tensor_view<const T, 1> p) {
  const Backend be{};
  w.wte.forward(be, t.clean[0].view(), t.ids.cview(), p);
  w.add_positions(t.clean[0].view(), t.pos_embed.view(), t.positions.cview(), p);
  const auto context = clean_context<Positions>(t);
  for (std::size_t l = 0; l < w.blocks.size(); ++l)
    w.blocks[l].forward(be, t.clean[l + 1].view(), t.clean_acts[l].view(t.steps), t.clean[l].cview(), context, p);
}

// state_0 = P·E + positions: each slot's starting probability vector (P: t.probs, unless given),
// embedded with parameters p.
template <class T, class Backend, class Positions>
void embed_start(wfc_training_buffers<T, Backend>& t, const wfc_weights<T, Backend, Positions>& w, tensor_view<const T, 1> p,
                 tensor_view<const T, 2> probs = {}) {
  w.wte.forward(Backend{}, t.state[0].view(), probs.size() ? probs : t.probs.cview(), p);
  w.add_positions(t.state[0].view(), t.pos_embed.view(), t.positions.cview(), p);
}

// Step k: state_k = state_{k−1} + η_r·(S(state_{k−1}) − state_{k−1}), keeping step k's stream and
// activations; the stack runs with parameters p.
template <class Past, class T, class Backend, class Positions>
void future_step(wfc_training_buffers<T, Backend>& t, const wfc_weights<T, Backend, Positions>& w, index_t k, tensor_view<const T, 1> p) {
  const Backend be{};
  auto& s = t.stream[std::size_t(k)];
  copy(be, s[0].view(), t.state[std::size_t(k - 1)].cview());
  for (std::size_t l = 0; l < w.blocks.size(); ++l)
    w.blocks[l].forward(be, s[l + 1].view(), t.acts[std::size_t(k)][l].view(t.future_keys), s[l].cview(),
                        future_context<Past, Positions>(t, index_t(l)), p);
  auto next = t.state[std::size_t(k)].view();
  copy(be, next, s.back().cview());
  axpy(be, next, T(-1), t.state[std::size_t(k - 1)].cview());
  scale_rows(be, next, t.step_factor.cview());
  axpy(be, next, T(1), t.state[std::size_t(k - 1)].cview());
}

// n steps on state_0 that backward does not go through (in step 1's buffers); state_0 ends there.
// `held`: the parameters they run with (w's own in training; see wfc_model::hold_untracked).
template <class Past, class T, class Backend, class Positions>
void untracked_steps(wfc_training_buffers<T, Backend>& t, const wfc_weights<T, Backend, Positions>& w, index_t n,
                     tensor_view<const T, 1> held) {
  for (index_t i = 0; i < n; ++i) {
    future_step<Past>(t, w, 1, held);
    copy(Backend{}, t.state[0].view(), t.state[1].cview());
  }
}

// Rolling training: the slots first live through the solves before the tracked one, as in the
// collapse loop. The earliest (t.passes.size() slides before) starts cold (partial collapses undone:
// t.earlier_probs); each runs K steps with
// its blocks, then the rows that stay in the window carry its states (or the embeddings of its
// beliefs, the softmax of its logits) into the next, and the rows entering the window start cold.
// The tracked solve's cold rows keep state_0 as embed_start made it. No gradient flows into the
// earlier solves (as self-conditioning stops it): they run with parameters p.
template <class Past, class T, class Backend, class Positions>
void carried_start(wfc_training_buffers<T, Backend>& t, const wfc_weights<T, Backend, Positions>& w, index_t K, bool beliefs,
                   tensor_view<const T, 1> p) {
  const Backend be{};
  auto start = t.state[0].view();
  copy(be, t.fresh_start.view(), as_const(start));
  embed_start(t, w, p, t.earlier_probs.cview());
  copy(be, t.held_start.view(), as_const(start));
  for (std::size_t j = t.passes.size(); j-- > 0;) {
    auto& pass = t.passes[j];
    std::swap(t.future_keep, pass.keep);
    untracked_steps<Past>(t, w, K, p);
    std::swap(t.future_keep, pass.keep);
    if (beliefs) {
      const index_t n = t.rows(), V = t.beliefs.extent(1);
      w.ln_f.forward(be, t.final[0].view(), t.final_mean[0].view(), t.final_rstd[0].view(), as_const(start), p);
      gemm(be, t.logits[0].view(), t.final[0].cview(), transpose(w.wte.table(p)));
      softmax_forward(be, reshape(t.beliefs.view(), shape<3>{{1, n, V}}), reshape(t.logits[0].cview(), shape<3>{{1, n, V}}));
      w.wte.forward(be, start, t.beliefs.cview(), p);
      w.add_positions(start, t.pos_embed.view(), t.positions.cview(), p);
    }
    // the next solve: carried rows keep this one's result, the others start cold
    auto& cold = j == 0 ? t.fresh_start : t.held_start;
    scale_rows(be, start, pass.carried_rows.cview());
    copy(be, t.delta.view(), cold.cview());
    scale_rows(be, t.delta.view(), pass.fresh_rows.cview());
    axpy(be, start, T(1), t.delta.cview());
  }
}

// The future stream's start for K steps: state_0 (rolling training: carried rows from a first
// solve), then the steps backward does not go through; sets t.tracked, the steps left for
// future_tracked. `held`: the parameters of what backward does not go through (w's own, except in
// a gradient check: wfc_model::hold_untracked), which also embed state_0 when steps are untracked.
template <class Past, class T, class Backend, class Positions>
void future_start(wfc_training_buffers<T, Backend>& t, const wfc_weights<T, Backend, Positions>& w, index_t K, bool carry_beliefs,
                  tensor_view<const T, 1> held) {
  t.tracked = std::min(K, t.max_steps);
  const bool truncated = K > t.tracked;
  embed_start(t, w, truncated ? held : w.params.cview());
  if (t.draw.carried) carried_start<Past>(t, w, K, carry_beliefs, held);
  untracked_steps<Past>(t, w, K - t.tracked, held);
}

// The tracked steps 1…t.tracked, each keeping its stream and activations for backward.
template <class Past, class T, class Backend, class Positions>
void future_tracked(wfc_training_buffers<T, Backend>& t, const wfc_weights<T, Backend, Positions>& w) {
  for (index_t k = 1; k <= t.tracked; ++k) future_step<Past>(t, w, k, w.params.cview());
}

// Cross-entropy of the slots at step k (mean over counted slots; weighted by the bound: summed
// with the weights over every slot of the blocks); keeps its activations.
template <class T, class Backend, class Positions>
T head_loss(wfc_training_buffers<T, Backend>& t, const wfc_weights<T, Backend, Positions>& w, index_t k) {
  const Backend be{};
  const auto p = w.params.cview();
  const auto i = std::size_t(k);
  w.ln_f.forward(be, t.final[i].view(), t.final_mean[i].view(), t.final_rstd[i].view(), t.state[i].cview(), p);
  gemm(be, t.logits[i].view(), t.final[i].cview(), transpose(w.wte.table(p)));
  cross_entropy_forward(be, t.loss_rows[i].view(), t.logits[i].cview(), t.targets.cview());
  if (t.counted == 0) return T(0);
  if (!t.weighted) return sum(be, t.loss_rows[i].cview()) / T(t.counted);
  const index_t n = t.rows();  // the bound: Σ weight·CE over the blocks' slots (dloss is free until backward)
  copy(be, t.dloss.view(), t.loss_rows[i].cview());
  scale_rows(be, reshape(t.dloss.view(), shape<2>{{n, 1}}), t.row_weight.cview());
  return sum(be, t.dloss.cview()) / t.loss_denominator();
}

// The clean stream's own next-token cross-entropy (mean over counted targets), as a GPT's: its
// last states through the shared final norm and tied head; keeps its activations.
template <class T, class Backend, class Positions>
T clean_head_loss(wfc_training_buffers<T, Backend>& t, const wfc_weights<T, Backend, Positions>& w) {
  const Backend be{};
  const auto p = w.params.cview();
  w.ln_f.forward(be, t.clean_final.view(), t.clean_mean.view(), t.clean_rstd.view(), t.clean.back().cview(), p);
  gemm(be, t.clean_logits.view(), t.clean_final.cview(), transpose(w.wte.table(p)));
  cross_entropy_forward(be, t.clean_loss_rows.view(), t.clean_logits.cview(), t.clean_targets.cview());
  return t.clean_counted ? sum(be, t.clean_loss_rows.cview()) / T(t.clean_counted) : T(0);
}

}  // namespace wfc::detail
