#pragma once
// Where the training loss goes: the cross-entropy of the slots at the last step K; deep
// supervision, the mean cross-entropy of steps 1…K−1 (each step taught to be a good answer);
// and a velocity penalty, the last step's mean squared update ‖state_K − state_{K−1}‖²/width per
// row (a fixed-point term); and, with a pinned past, the clean stream's own next-token loss (the
// GPT's objective on the past, so the past learns the task directly). Forward adds them up; backward asks each step's weight and the
// penalty's coefficient here, so the two passes cannot disagree.
#include "wfc/model/wfc/objective.hpp"
#include "wfc/model/wfc/training_forward.hpp"

namespace wfc::detail {

// The weight of step k's cross-entropy in the loss (k = K: 1).
template <class T>
T step_loss_weight(const wfc_objective& o, index_t k, index_t K) {
  if (k == K) return T(1);
  return o.deep_supervision > 0 && K > 1 ? T(o.deep_supervision) / T(K - 1) : T(0);
}

// ∂loss/∂state_K of the velocity penalty is c·(state_K − state_{K−1}), and −c·(…) for state_{K−1}.
template <class T>
T velocity_penalty_coefficient(const wfc_objective& o, index_t rows, index_t width) {
  return T(2 * o.velocity_penalty) / (T(rows) * T(width));
}

// The whole loss after future_forward ran K steps; `last` gets the last step's cross-entropy.
// Leaves state_K − state_{K−1} in t.delta for backward when the penalty is on.
template <class T, class Backend, class Positions>
T wfc_loss(wfc_training_buffers<T, Backend>& t, const wfc_weights<T, Backend, Positions>& w, const wfc_objective& o, index_t K, T& last) {
  const Backend be{};
  T loss = head_loss(t, w, K);
  last = loss;
  if (o.deep_supervision > 0 && K > 1) {
    T earlier = 0;
    for (index_t k = 1; k < K; ++k) earlier += head_loss(t, w, k);
    loss += T(o.deep_supervision) * earlier / T(K - 1);
  }
  if (o.velocity_penalty > 0) {
    copy(be, t.delta.view(), t.state[std::size_t(K)].cview());
    axpy(be, t.delta.view(), T(-1), t.state[std::size_t(K - 1)].cview());
    const T rows = T(t.rows());
    loss += T(o.velocity_penalty) * squared_norm(be, t.delta.cview()) / (rows * T(w.ln_f.width));
  }
  if (o.clean_loss > 0 && !t.clean.empty()) loss += T(o.clean_loss) * clean_head_loss(t, w);
  return loss;
}

}  // namespace wfc::detail
