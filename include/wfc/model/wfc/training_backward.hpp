#pragma once
// The training backward pass, each function the pair of a forward one (llm.c), accumulating into
// the weights' gradients: through the head at every step that has a loss weight, back through
// every tracked step, into the slots' starting embeddings (cold rows only, and only when every
// step was tracked) and, through the keys and values the slots attended to, into the clean stream.
#include <utility>

#include "wfc/model/wfc/loss.hpp"
#include "wfc/model/wfc/training_forward.hpp"

namespace wfc::detail {

// dstate += weight·∂(head loss at step k)/∂state_k, and the head's parameter gradients.
template <class T, class Backend, class Positions>
void head_backward(wfc_training_buffers<T, Backend>& t, wfc_weights<T, Backend, Positions>& w, index_t k, tensor_view<T, 2> dstate,
                   T weight) {
  const Backend be{};
  const auto p = w.params.cview();
  const auto g = w.grads.view();
  const auto i = std::size_t(k);
  fill(be, t.dloss.view(), t.counted ? weight / t.loss_denominator() : T(0));
  if (t.weighted) scale_rows(be, reshape(t.dloss.view(), shape<2>{{t.rows(), 1}}), t.row_weight.cview());
  fill(be, t.dlogits[0].view(), T(0));
  cross_entropy_backward(be, t.dlogits[0].view(), t.dloss.cview(), t.logits[i].cview(), t.targets.cview());
  gemm(be, t.dfinal[0].view(), t.dlogits[0].cview(), w.wte.table(p));
  gemm(be, w.wte.table(g), transpose(t.dlogits[0].cview()), t.final[i].cview(), T(1), T(1));
  w.ln_f.backward(be, dstate, g, t.dfinal[0].cview(), t.state[i].cview(), t.final_mean[i].cview(), t.final_rstd[i].cview(), p);
}

// dinput += (∂S/∂input at step k)ᵀ·dout; the clean stream's key/value gradients accumulate.
template <class Past, class T, class Backend, class Positions>
void stack_backward(wfc_training_buffers<T, Backend>& t, wfc_weights<T, Backend, Positions>& w, index_t k, tensor_view<const T, 2> dout,
                    tensor_view<T, 2> dinput) {
  const Backend be{};
  const auto p = w.params.cview();
  const auto g = w.grads.view();
  auto& s = t.stream[std::size_t(k)];
  // An [N, width] buffer as the [sequences, T, width] past segment it is the gradient of.
  const auto as_segment = [&](tensor_view<T, 2> rows) { return reshape(rows, shape<3>{{t.sequences, t.steps, rows.extent(1)}}); };
  std::size_t cur = 0;
  copy(be, t.dstream[cur].view(), dout);
  for (std::size_t l = w.blocks.size(); l-- > 0;) {
    auto dx = l == 0 ? dinput : t.dstream[1 - cur].view();
    if (l != 0) fill(be, dx, T(0));
    nn::past_gradients<T> past;
    if constexpr (Past::cached) past = {as_segment(t.dkeys[l].view()), as_segment(t.dvalues[l].view())};
    w.blocks[l].backward(be, dx, g, t.future_scratch.view(), t.dstream[cur].cview(), s[l].cview(), t.acts[std::size_t(k)][l].view(t.future_keys),
                         future_context<Past, Positions>(t, index_t(l)), p, past);
    cur = 1 - cur;
  }
}

// The clean stream gets its gradient through its keys and values, and from its own head when the
// objective has a clean loss (the slots' head buffers are free by now: their backward is done).
template <class T, class Backend, class Positions>
void clean_backward(wfc_training_buffers<T, Backend>& t, wfc_weights<T, Backend, Positions>& w, const wfc_objective& o) {
  const Backend be{};
  const auto p = w.params.cview();
  const auto g = w.grads.view();
  std::size_t cur = 0;
  fill(be, t.dclean[cur].view(), T(0));
  if (o.clean_loss > 0 && t.clean_counted > 0) {
    fill(be, t.dloss.view(), T(o.clean_loss) / T(t.clean_counted));
    fill(be, t.dlogits[0].view(), T(0));
    cross_entropy_backward(be, t.dlogits[0].view(), t.dloss.cview(), t.clean_logits.cview(), t.clean_targets.cview());
    gemm(be, t.dfinal[0].view(), t.dlogits[0].cview(), w.wte.table(p));
    gemm(be, w.wte.table(g), transpose(t.dlogits[0].cview()), t.clean_final.cview(), T(1), T(1));
    w.ln_f.backward(be, t.dclean[cur].view(), g, t.dfinal[0].cview(), t.clean.back().cview(), t.clean_mean.cview(), t.clean_rstd.cview(), p);
  }
  const auto context = clean_context<Positions>(t);
  for (std::size_t l = w.blocks.size(); l-- > 0;) {
    fill(be, t.dclean[1 - cur].view(), T(0));
    const nn::own_kv_gradients<T> kv{t.dkeys[l].cview(), t.dvalues[l].cview()};
    w.blocks[l].backward(be, t.dclean[1 - cur].view(), g, t.clean_scratch.view(), t.dclean[cur].cview(), t.clean[l].cview(),
                         t.clean_acts[l].view(t.steps), context, p, {}, kv);
    cur = 1 - cur;
  }
  w.wte.backward(be, g, t.dclean[cur].cview(), t.ids.cview());
  if constexpr (!Positions::rotary) w.wpe.backward(be, g, t.dclean[cur].cview(), t.positions.cview());
}

// grads += ∂(wfc_loss)/∂params for the last forward.
template <class Past, class T, class Backend, class Positions>
void wfc_backward(wfc_training_buffers<T, Backend>& t, wfc_weights<T, Backend, Positions>& w, const wfc_objective& o) {
  const Backend be{};
  const auto p = w.params.cview();
  const auto g = w.grads.view();
  const index_t K = t.tracked;  // the steps backward goes through (truncated backprop: the last of t.draw.steps)
  for (auto& b : t.dkeys) fill(be, b.view(), T(0));  // pinned past only
  for (auto& b : t.dvalues) fill(be, b.view(), T(0));
  // d(state_K): the last step's head, and the velocity penalty on state_K − state_{K−1}
  auto dstate = t.dstate[0].view(), dprev = t.dstate[1].view();
  fill(be, dstate, T(0));
  head_backward(t, w, K, dstate, step_loss_weight<T>(o, K, K));
  if (o.velocity_penalty > 0) {
    const T c = velocity_penalty_coefficient<T>(o, t.rows(), w.ln_f.width);
    axpy(be, dstate, c, t.delta.cview());
    fill(be, t.carry.view(), T(0));
    axpy(be, t.carry.view(), -c, t.delta.cview());  // into d(state_{K−1})
  }
  for (index_t k = K; k >= 1; --k) {
    // state_k = state_{k−1} + η_r·(S(state_{k−1}) − state_{k−1}): d(state_{k−1}) = (1 − η_r)·d(state_k) + (∂S)ᵀ·η_r·d(state_k)
    fill(be, dprev, T(0));
    axpy(be, dprev, T(1), as_const(dstate));
    if (k == K && o.velocity_penalty > 0) axpy(be, dprev, T(1), t.carry.cview());
    const T earlier = k > 1 ? step_loss_weight<T>(o, k - 1, K) : T(0);
    if (earlier != T(0)) head_backward(t, w, k - 1, dprev, earlier);
    scale_rows(be, dstate, t.step_factor.cview());  // dS = η_r·d(state_k)
    axpy(be, dprev, T(-1), as_const(dstate));
    stack_backward<Past>(t, w, k, as_const(dstate), dprev);
    std::swap(dstate, dprev);
  }
  // state_0 = P·E + positions, unless untracked steps came first (truncation stops the gradient
  // there); rows that started carried take none (the first solve is not differentiated).
  if (t.draw.steps == t.tracked) {
    if (t.draw.carried) scale_rows(be, dstate, t.passes.front().fresh_rows.cview());
    w.wte.backward(be, tensor_view<T, 2>{}, g, as_const(dstate), t.probs.cview(), p);
    if constexpr (!Positions::rotary) w.wpe.backward(be, g, as_const(dstate), t.positions.cview());
  }
  if constexpr (Past::cached) clean_backward(t, w, o);
}

}  // namespace wfc::detail
