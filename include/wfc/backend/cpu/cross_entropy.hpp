#pragma once
// Cross-entropy and softmax entropy from logits: one row per task, SIMD log-sum-exp.
#include <cmath>
#include <limits>

#include "wfc/backend/cpu/parallel.hpp"
#include "wfc/backend/cpu/simd.hpp"
#include "wfc/backend/cpu/tag.hpp"
#include "wfc/backend/reference/cross_entropy.hpp"

namespace wfc {

namespace detail {
template <class T>
T simd_logsumexp(const T* x, index_t n) {
  const T m = simd::max_of(x, n);
  if (m == -std::numeric_limits<T>::infinity()) return m;
  const simd::batch<T> mv(m);
  return m + std::log(simd::sum<T>(n, [&](index_t i) { return simd::exp(simd::load(x + i) - mv); },
                                   [&](index_t i) { return std::exp(x[i] - m); }));
}
}  // namespace detail

template <class T>
void cross_entropy_forward(cpu, tensor_view<T, 1> loss, in_view<T, 2> logits, tensor_view<const token_id, 1> targets) {
  detail::check_row_values("cross_entropy_forward", "loss", loss, logits);
  detail::check_row_values("cross_entropy_forward", "targets", targets, logits);
  detail::validate_ids_on_host("cross_entropy_forward", targets, logits.extent(1), true);
  if (!detail::all_rows_contiguous(logits)) return cross_entropy_forward(reference{}, loss, logits, targets);
  detail::cpu_for_each_row(logits, [&](index_t r) {
    const token_id t = targets(r);
    loss(r) = t == ignore_index ? T(0) : detail::simd_logsumexp(row_data(logits, r), logits.extent(1)) - logits(r, t);
  });
}

template <class T>
void cross_entropy_backward(cpu, tensor_view<T, 2> dlogits, in_view<T, 1> dloss, in_view<T, 2> logits,
                            tensor_view<const token_id, 1> targets) {
  detail::require_same_shape("cross_entropy_backward", "dlogits", dlogits, "logits", logits);
  detail::check_row_values("cross_entropy_backward", "dloss", dloss, logits);
  detail::check_row_values("cross_entropy_backward", "targets", targets, logits);
  detail::validate_ids_on_host("cross_entropy_backward", targets, logits.extent(1), true);
  if (!detail::all_rows_contiguous(dlogits, logits)) return cross_entropy_backward(reference{}, dlogits, dloss, logits, targets);
  const index_t n = logits.extent(1);
  detail::cpu_for_each_row(logits, [&](index_t r) {
    const token_id t = targets(r);
    if (t == ignore_index) return;
    const T* lr = row_data(logits, r);
    T* dr = row_data(dlogits, r);
    const T lse = detail::simd_logsumexp(lr, n), g = dloss(r);
    const simd::batch<T> lv(lse), gv(g);
    simd::for_each_batch<T>(
        n, [&](index_t i) { simd::store(dr + i, simd::fma(gv, simd::exp(simd::load(lr + i) - lv), simd::load(dr + i))); },
        [&](index_t i) { dr[i] += g * std::exp(lr[i] - lse); });
    dr[t] -= g;
  });
}

template <class T>
void softmax_entropy(cpu, tensor_view<T, 1> h, in_view<T, 2> logits) {
  detail::check_row_values("softmax_entropy", "h", h, logits);
  if (!detail::all_rows_contiguous(logits)) return softmax_entropy(reference{}, h, logits);
  const index_t n = logits.extent(1);
  detail::cpu_for_each_row(logits, [&](index_t r) {
    const T* lr = row_data(logits, r);
    const T lse = detail::simd_logsumexp(lr, n);
    const simd::batch<T> lv(lse), zero(T(0));
    const T expected_logit = simd::sum<T>(
        n,
        [&](index_t i) {
          const auto l = simd::load(lr + i);
          const auto p = simd::exp(l - lv);
          return simd::select(p > zero, p * l, zero);  // skips 0·(−inf)
        },
        [&](index_t i) {
          const T p = std::exp(lr[i] - lse);
          return p > T(0) ? p * lr[i] : T(0);
        });
    h(r) = lse - expected_logit;
  });
}

}  // namespace wfc
