#pragma once
// LayerNorm, y = (x − mean)·rstd·gamma + beta per row (beta may be empty: no shift): one team per row, the row statistics as
// team reductions. The gamma/beta gradients are column sums, both in one pass: one team per block
// of columns adds the rows in order, so they are deterministic without atomics.
#include "wfc/backend/kokkos/math.hpp"
#include "wfc/backend/kokkos/parallel.hpp"

namespace wfc {

namespace detail {

template <class T, class ES>
struct kokkos_layernorm_forward {
  tensor_view<T, 2> y;
  tensor_view<T, 1> mean, rstd;
  tensor_view<const T, 2> x;
  tensor_view<const T, 1> gamma, beta;
  T eps;
  bool shift;

  KOKKOS_INLINE_FUNCTION void operator()(const kokkos_team_member<ES>& team) const {
    const index_t r = team.league_rank(), n = x.extent(1);
    T sum = 0, squares = 0;
    Kokkos::parallel_reduce(Kokkos::TeamThreadRange(team, n), [&](index_t c, T& acc) { acc += x(r, c); }, sum);
    const T mu = sum / T(n);
    Kokkos::parallel_reduce(
        Kokkos::TeamThreadRange(team, n), [&](index_t c, T& acc) { acc += (x(r, c) - mu) * (x(r, c) - mu); }, squares);
    const T s = T(1) / kokkos_math::sqrt(squares / T(n) + eps);
    Kokkos::parallel_for(Kokkos::TeamThreadRange(team, n),
                         [&](index_t c) { y(r, c) = (x(r, c) - mu) * s * gamma(c) + (shift ? beta(c) : T(0)); });
    Kokkos::single(Kokkos::PerTeam(team), [&]() {
      mean(r) = mu;
      rstd(r) = s;
    });
  }
};

// dx += rstd·(g − mean(g) − x̂·mean(g·x̂)) with g = dy·gamma
template <class T, class ES>
struct kokkos_layernorm_backward_rows {
  tensor_view<T, 2> dx;
  tensor_view<const T, 2> dy, x;
  tensor_view<const T, 1> mean, rstd, gamma;

  KOKKOS_INLINE_FUNCTION void operator()(const kokkos_team_member<ES>& team) const {
    const index_t r = team.league_rank(), n = x.extent(1);
    const T mu = mean(r), s = rstd(r);
    T sum_g = 0, sum_gx = 0;
    Kokkos::parallel_reduce(Kokkos::TeamThreadRange(team, n), [&](index_t c, T& acc) { acc += dy(r, c) * gamma(c); }, sum_g);
    Kokkos::parallel_reduce(
        Kokkos::TeamThreadRange(team, n),
        [&](index_t c, T& acc) { acc += dy(r, c) * gamma(c) * ((x(r, c) - mu) * s); }, sum_gx);
    const T mean_g = sum_g / T(n), mean_gx = sum_gx / T(n);
    Kokkos::parallel_for(Kokkos::TeamThreadRange(team, n), [&](index_t c) {
      const T xhat = (x(r, c) - mu) * s;
      dx(r, c) += s * (dy(r, c) * gamma(c) - mean_g - xhat * mean_gx);
    });
  }
};

// dgamma[c] += Σ_r dy·x̂, dbeta[c] += Σ_r dy over one block of columns, both in one pass, the rows
// added in order, two per pass over the block: their loads are independent and the outputs are
// read and written once per pass. (With four, a CPU compiler gives the loop up unvectorised: it
// would need a runtime alias check for every pair of the streams.)
template <class T, class ES>
struct kokkos_layernorm_backward_columns {
  tensor_view<T, 1> dgamma, dbeta;
  tensor_view<const T, 2> dy, x;
  tensor_view<const T, 1> mean, rstd;
  bool shift;  // false: dbeta is empty

  KOKKOS_INLINE_FUNCTION void operator()(const kokkos_team_member<ES>& team, index_t begin, index_t end) const {
    const index_t rows = x.extent(0);
    index_t r = 0;
    for (; r + 2 <= rows; r += 2) {
      const T m0 = mean(r), s0 = rstd(r), m1 = mean(r + 1), s1 = rstd(r + 1);
      Kokkos::parallel_for(Kokkos::TeamThreadRange(team, begin, end), [&](index_t c) {
        const T d0 = dy(r, c), d1 = dy(r + 1, c);
        const T h0 = (x(r, c) - m0) * s0, h1 = (x(r + 1, c) - m1) * s1;
        T dg = dgamma(c), db = shift ? dbeta(c) : T(0);
        dg += d0 * h0;
        db += d0;
        dg += d1 * h1;
        db += d1;
        dgamma(c) = dg;
        if (shift) dbeta(c) = db;
      });
    }
    if (r < rows) {
      const T m = mean(r), s = rstd(r);
      Kokkos::parallel_for(Kokkos::TeamThreadRange(team, begin, end), [&](index_t c) {
        dgamma(c) += dy(r, c) * ((x(r, c) - m) * s);
        if (shift) dbeta(c) += dy(r, c);
      });
    }
  }
};

}  // namespace detail

template <class ES, class T>
void layernorm_forward(kokkos<ES>, tensor_view<T, 2> y, tensor_view<T, 1> mean, tensor_view<T, 1> rstd, in_view<T, 2> x,
                       in_view<T, 1> gamma, in_view<T, 1> beta, detail::same_t<T> eps = T(1e-5)) {
  detail::check_layernorm("layernorm_forward", y, x, mean, rstd, gamma);
  detail::require_optional_shift("layernorm_forward", "beta", beta, x.extent(1));
  detail::kokkos_for_each_row_team<ES>("wfc::layernorm_forward", x.extent(0),
                                       detail::kokkos_layernorm_forward<T, ES>{y, mean, rstd, x, gamma, beta, eps, !beta.empty()});
}

// dx += ∂L/∂x, dgamma += ∂L/∂gamma, dbeta += ∂L/∂beta (unless dbeta is empty)
template <class ES, class T>
void layernorm_backward(kokkos<ES>, tensor_view<T, 2> dx, tensor_view<T, 1> dgamma, tensor_view<T, 1> dbeta,
                        in_view<T, 2> dy, in_view<T, 2> x, in_view<T, 1> mean, in_view<T, 1> rstd, in_view<T, 1> gamma) {
  detail::check_layernorm("layernorm_backward", dx, x, mean, rstd, gamma);
  detail::require_same_shape("layernorm_backward", "dy", dy, "x", x);
  detail::require_extent("layernorm_backward", "dgamma", dgamma, 0, x.extent(1), "one per column of x");
  detail::require_optional_shift("layernorm_backward", "dbeta", dbeta, x.extent(1));
  if (x.empty()) return;
  // Parameters first: they only read dy, so a caller may pass dx aliasing dy.
  detail::kokkos_for_each_column_block<ES>("wfc::layernorm_backward_params", x.extent(1),
                                          detail::kokkos_layernorm_backward_columns<T, ES>{dgamma, dbeta, dy, x, mean, rstd, !dbeta.empty()});
  detail::kokkos_for_each_row_team<ES>("wfc::layernorm_backward", x.extent(0),
                                       detail::kokkos_layernorm_backward_rows<T, ES>{dx, dy, x, mean, rstd, gamma});
}

}  // namespace wfc
