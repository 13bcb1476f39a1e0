#pragma once
// Cross-entropy from logits (loss[r] = logsumexp(logits[r]) − logits[r, target[r]], rows whose
// target is ignore_index give 0), and the entropy of each row's softmax, in nats.
#include <cmath>

#include "wfc/backend/reference/tag.hpp"
#include "wfc/kernels/checks.hpp"

namespace wfc {

namespace detail {
template <class T>
T reference_logsumexp(tensor_view<const T, 1> row) {
  T m = -std::numeric_limits<T>::infinity();
  for (index_t c = 0; c < row.extent(0); ++c) m = std::max(m, row(c));
  T s = 0;
  for (index_t c = 0; c < row.extent(0); ++c) s += std::exp(row(c) - m);
  return m + std::log(s);
}
}  // namespace detail

template <class T>
void cross_entropy_forward(reference, tensor_view<T, 1> loss, in_view<T, 2> logits,
                           tensor_view<const token_id, 1> targets) {
  detail::check_row_values("cross_entropy_forward", "loss", loss, logits);
  detail::check_row_values("cross_entropy_forward", "targets", targets, logits);
  detail::validate_ids_on_host("cross_entropy_forward", targets, logits.extent(1), true);
  for (index_t r = 0; r < logits.extent(0); ++r)
    loss(r) = targets(r) == ignore_index ? T(0) : detail::reference_logsumexp(logits[r]) - logits(r, targets(r));
}

// dlogits += dloss[r]·(softmax(logits[r]) − onehot(target[r]))
template <class T>
void cross_entropy_backward(reference, tensor_view<T, 2> dlogits, in_view<T, 1> dloss, in_view<T, 2> logits,
                            tensor_view<const token_id, 1> targets) {
  detail::require_same_shape("cross_entropy_backward", "dlogits", dlogits, "logits", logits);
  detail::check_row_values("cross_entropy_backward", "dloss", dloss, logits);
  detail::check_row_values("cross_entropy_backward", "targets", targets, logits);
  detail::validate_ids_on_host("cross_entropy_backward", targets, logits.extent(1), true);
  for (index_t r = 0; r < logits.extent(0); ++r) {
    if (targets(r) == ignore_index) continue;
    const T lse = detail::reference_logsumexp(logits[r]);
    for (index_t c = 0; c < logits.extent(1); ++c)
      dlogits(r, c) += dloss(r) * (std::exp(logits(r, c) - lse) - (c == targets(r) ? T(1) : T(0)));
  }
}

// h[r] = −Σ p·log p with p = softmax(logits[r]) = logsumexp − Σ p·logit
template <class T>
void softmax_entropy(reference, tensor_view<T, 1> h, in_view<T, 2> logits) {
  detail::check_row_values("softmax_entropy", "h", h, logits);
  for (index_t r = 0; r < logits.extent(0); ++r) {
    const T lse = detail::reference_logsumexp(logits[r]);
    T expected_logit = 0;
    for (index_t c = 0; c < logits.extent(1); ++c) {
      const T p = std::exp(logits(r, c) - lse);
      if (p > T(0)) expected_logit += p * logits(r, c);  // skips 0·(−inf)
    }
    h(r) = lse - expected_logit;
  }
}

}  // namespace wfc
