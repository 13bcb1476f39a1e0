#pragma once
// Cross-entropy from logits (loss[r] = logsumexp(logits[r]) − logits[r, target[r]], rows whose
// target is ignore_index give 0), and the entropy of each row's softmax, in nats: one team per
// row, log-sum-exp as two team reductions (max, then sum of exponentials).
#include <limits>

#include "wfc/backend/kokkos/math.hpp"
#include "wfc/backend/kokkos/parallel.hpp"

namespace wfc {

namespace detail {

// log Σ_c exp(x[r, c]), computed by the whole team; every thread gets the result.
template <class T, class Member>
KOKKOS_INLINE_FUNCTION T kokkos_row_logsumexp(const Member& team, const tensor_view<const T, 2>& x, index_t r, T neg_inf) {
  const index_t n = x.extent(1);
  T m = neg_inf;
  Kokkos::parallel_reduce(
      Kokkos::TeamThreadRange(team, n),
      [&](index_t c, T& acc) {
        if (x(r, c) > acc) acc = x(r, c);
      },
      Kokkos::Max<T>(m));
  const T shift = m > neg_inf ? m : T(0);  // an all −inf row: the sum is 0 and the result −inf
  T sum = 0;
  Kokkos::parallel_reduce(
      Kokkos::TeamThreadRange(team, n), [&](index_t c, T& acc) { acc += kokkos_math::exp(x(r, c) - shift); }, sum);
  return shift + kokkos_math::log(sum);
}

template <class T, class ES>
struct kokkos_cross_entropy_forward {
  tensor_view<T, 1> loss;
  tensor_view<const T, 2> logits;
  tensor_view<const token_id, 1> targets;
  T neg_inf;

  KOKKOS_INLINE_FUNCTION void operator()(const kokkos_team_member<ES>& team) const {
    const index_t r = team.league_rank();
    const token_id t = targets(r);
    // t is the same for the whole team, so the team takes this branch together.
    const T value = t == ignore_index ? T(0) : kokkos_row_logsumexp(team, logits, r, neg_inf) - logits(r, t);
    Kokkos::single(Kokkos::PerTeam(team), [&]() { loss(r) = value; });
  }
};

// dlogits += dloss[r]·(softmax(logits[r]) − onehot(target[r]))
template <class T, class ES>
struct kokkos_cross_entropy_backward {
  tensor_view<T, 2> dlogits;
  tensor_view<const T, 1> dloss;
  tensor_view<const T, 2> logits;
  tensor_view<const token_id, 1> targets;
  T neg_inf;

  KOKKOS_INLINE_FUNCTION void operator()(const kokkos_team_member<ES>& team) const {
    const index_t r = team.league_rank();
    const token_id t = targets(r);
    if (t == ignore_index) return;  // uniform across the team
    const T lse = kokkos_row_logsumexp(team, logits, r, neg_inf), g = dloss(r);
    Kokkos::parallel_for(Kokkos::TeamThreadRange(team, logits.extent(1)), [&](index_t c) {
      dlogits(r, c) += g * (kokkos_math::exp(logits(r, c) - lse) - (c == t ? T(1) : T(0)));
    });
  }
};

// h[r] = −Σ p·log p with p = softmax(logits[r]) = logsumexp − Σ p·logit
template <class T, class ES>
struct kokkos_softmax_entropy {
  tensor_view<T, 1> h;
  tensor_view<const T, 2> logits;
  T neg_inf;

  KOKKOS_INLINE_FUNCTION void operator()(const kokkos_team_member<ES>& team) const {
    const index_t r = team.league_rank();
    const T lse = kokkos_row_logsumexp(team, logits, r, neg_inf);
    T expected_logit = 0;
    Kokkos::parallel_reduce(
        Kokkos::TeamThreadRange(team, logits.extent(1)),
        [&](index_t c, T& acc) {
          const T p = kokkos_math::exp(logits(r, c) - lse);
          if (p > T(0)) acc += p * logits(r, c);  // skips 0·(−inf)
        },
        expected_logit);
    Kokkos::single(Kokkos::PerTeam(team), [&]() { h(r) = lse - expected_logit; });
  }
};

}  // namespace detail

template <class ES, class T>
void cross_entropy_forward(kokkos<ES>, tensor_view<T, 1> loss, in_view<T, 2> logits, tensor_view<const token_id, 1> targets) {
  detail::check_row_values("cross_entropy_forward", "loss", loss, logits);
  detail::check_row_values("cross_entropy_forward", "targets", targets, logits);
  detail::kokkos_validate_ids<ES>("cross_entropy_forward", targets, logits.extent(1), true);
  detail::kokkos_for_each_row_team<ES>(
      "wfc::cross_entropy_forward", logits.extent(0),
      detail::kokkos_cross_entropy_forward<T, ES>{loss, logits, targets, -std::numeric_limits<T>::infinity()});
}

template <class ES, class T>
void cross_entropy_backward(kokkos<ES>, tensor_view<T, 2> dlogits, in_view<T, 1> dloss, in_view<T, 2> logits,
                            tensor_view<const token_id, 1> targets) {
  detail::require_same_shape("cross_entropy_backward", "dlogits", dlogits, "logits", logits);
  detail::check_row_values("cross_entropy_backward", "dloss", dloss, logits);
  detail::check_row_values("cross_entropy_backward", "targets", targets, logits);
  detail::kokkos_validate_ids<ES>("cross_entropy_backward", targets, logits.extent(1), true);
  detail::kokkos_for_each_row_team<ES>(
      "wfc::cross_entropy_backward", logits.extent(0),
      detail::kokkos_cross_entropy_backward<T, ES>{dlogits, dloss, logits, targets, -std::numeric_limits<T>::infinity()});
}

template <class ES, class T>
void softmax_entropy(kokkos<ES>, tensor_view<T, 1> h, in_view<T, 2> logits) {
  detail::check_row_values("softmax_entropy", "h", h, logits);
  detail::kokkos_for_each_row_team<ES>(
      "wfc::softmax_entropy", logits.extent(0),
      detail::kokkos_softmax_entropy<T, ES>{h, logits, -std::numeric_limits<T>::infinity()});
}

}  // namespace wfc
