#pragma once
// Row softmax over the last dimension of [batch, rows, cols], optionally masked by a [rows, cols]
// mask shared by every batch: one team per (batch, row), max and sum as team reductions.
// A row with nothing left to attend to comes out all zeros, never NaN.
#include <limits>

#include "wfc/backend/kokkos/math.hpp"
#include "wfc/backend/kokkos/parallel.hpp"

namespace wfc {

namespace detail {

// The logit of entry (b, r, c): x, x plus an additive mask, or −inf where a keep-mask is false.
template <class T>
struct kokkos_plain_logit {
  tensor_view<const T, 3> x;
  KOKKOS_INLINE_FUNCTION T operator()(index_t b, index_t r, index_t c) const { return x(b, r, c); }
};

template <class T>
struct kokkos_additive_logit {
  tensor_view<const T, 3> x;
  tensor_view<const T, 2> mask;
  KOKKOS_INLINE_FUNCTION T operator()(index_t b, index_t r, index_t c) const { return x(b, r, c) + mask(r, c); }
};

template <class T>
struct kokkos_keep_logit {
  tensor_view<const T, 3> x;
  tensor_view<const bool, 2> keep;
  T neg_inf;  // set on the host: std::numeric_limits is not device code
  KOKKOS_INLINE_FUNCTION T operator()(index_t b, index_t r, index_t c) const { return keep(r, c) ? x(b, r, c) : neg_inf; }
};

template <class T, class ES, class Logit>
struct kokkos_softmax_rows {
  tensor_view<T, 3> y;
  Logit logit;
  T neg_inf;

  KOKKOS_INLINE_FUNCTION void operator()(const kokkos_team_member<ES>& team) const {
    const index_t rows = y.extent(1), n = y.extent(2);
    const index_t b = team.league_rank() / rows, r = team.league_rank() % rows;
    T m = neg_inf;
    Kokkos::parallel_reduce(
        Kokkos::TeamThreadRange(team, n),
        [&](index_t c, T& acc) {
          const T v = logit(b, r, c);
          if (v > acc) acc = v;
        },
        Kokkos::Max<T>(m));
    // In a fully masked row every logit is −inf and m is the reducer's identity (−inf, or the
    // lowest finite value in Kokkos 3.4); any finite shift then makes every exponential 0, the sum
    // 0, and the row 0.
    const T shift = m > neg_inf ? m : T(0);
    T sum = 0;
    Kokkos::parallel_reduce(
        Kokkos::TeamThreadRange(team, n),
        [&](index_t c, T& acc) {
          const T e = kokkos_math::exp(logit(b, r, c) - shift);
          y(b, r, c) = e;
          acc += e;
        },
        sum);
    const T inv = sum > T(0) ? T(1) / sum : T(0);
    Kokkos::parallel_for(Kokkos::TeamThreadRange(team, n), [&](index_t c) { y(b, r, c) *= inv; });
  }
};

template <class ES, class T, class Logit>
void kokkos_softmax(tensor_view<T, 3> y, const Logit& logit) {
  if (y.empty()) return;
  detail::kokkos_for_each_row_team<ES>(
      "wfc::softmax_forward", y.extent(0) * y.extent(1),
      kokkos_softmax_rows<T, ES, Logit>{y, logit, -std::numeric_limits<T>::infinity()});
}

// dx = y ⊙ (dy − Σ_c dy·y) + beta·dx
template <class T, class ES>
struct kokkos_softmax_backward_rows {
  tensor_view<T, 3> dx;
  tensor_view<const T, 3> dy, y;
  T beta;

  KOKKOS_INLINE_FUNCTION void operator()(const kokkos_team_member<ES>& team) const {
    const index_t rows = y.extent(1), n = y.extent(2);
    const index_t b = team.league_rank() / rows, r = team.league_rank() % rows;
    T dot = 0;
    Kokkos::parallel_reduce(
        Kokkos::TeamThreadRange(team, n), [&](index_t c, T& acc) { acc += dy(b, r, c) * y(b, r, c); }, dot);
    Kokkos::parallel_for(Kokkos::TeamThreadRange(team, n),
                         [&](index_t c) { dx(b, r, c) = y(b, r, c) * (dy(b, r, c) - dot) + (beta == T(0) ? T(0) : beta * dx(b, r, c)); });
  }
};

}  // namespace detail

template <class ES, class T>
void softmax_forward(kokkos<ES>, tensor_view<T, 3> y, in_view<T, 3> x) {
  detail::require_same_shape("softmax_forward", "y", y, "x", x);
  detail::kokkos_softmax<ES>(y, detail::kokkos_plain_logit<T>{x});
}

template <class ES, class T>
void softmax_forward(kokkos<ES>, tensor_view<T, 3> y, in_view<T, 3> x, in_view<T, 2> additive_mask) {
  detail::check_softmax_mask("softmax_forward", y, x, additive_mask);
  detail::kokkos_softmax<ES>(y, detail::kokkos_additive_logit<T>{x, additive_mask});
}

template <class ES, class T>
void softmax_forward(kokkos<ES>, tensor_view<T, 3> y, in_view<T, 3> x, tensor_view<const bool, 2> keep) {
  detail::check_softmax_mask("softmax_forward", y, x, keep);
  detail::kokkos_softmax<ES>(y, detail::kokkos_keep_logit<T>{x, keep, -std::numeric_limits<T>::infinity()});
}

template <class ES, class T>
void softmax_backward(kokkos<ES>, tensor_view<T, 3> dx, in_view<T, 3> dy, in_view<T, 3> y, detail::same_t<T> beta = 1) {
  detail::require_same_shape("softmax_backward", "dx", dx, "y", y);
  detail::require_same_shape("softmax_backward", "dy", dy, "y", y);
  if (y.empty()) return;
  detail::kokkos_for_each_row_team<ES>("wfc::softmax_backward", y.extent(0) * y.extent(1),
                                       detail::kokkos_softmax_backward_rows<T, ES>{dx, dy, y, beta});
}

}  // namespace wfc
