#pragma once
// Reductions: the sum and the squared L2 norm of a view (Kokkos reductions over a 2-D range,
// returned to the host), and column sums (a bias gradient: one team per block of columns adds the
// rows in order, so the result is deterministic without atomics; see kokkos_for_each_column_block).
#include <type_traits>

#include "wfc/backend/kokkos/parallel.hpp"

namespace wfc {

namespace detail {

template <class T>
struct kokkos_sum_elements {
  tensor_view<const T, 2> x;
  KOKKOS_INLINE_FUNCTION void operator()(index_t r, index_t c, T& acc) const { acc += x(r, c); }
};

template <class T>
struct kokkos_sum_squares {
  tensor_view<const T, 2> x;
  KOKKOS_INLINE_FUNCTION void operator()(index_t r, index_t c, T& acc) const { acc += x(r, c) * x(r, c); }
};

template <class ES, class T, class F>
T kokkos_reduce(const char* label, tensor_view<const T, 2> x, const F& f) {
  T result = 0;
  if (x.empty()) return result;
  Kokkos::parallel_reduce(label, kokkos_md_policy<ES>({0, 0}, {x.extent(0), x.extent(1)}), f, result);
  return result;
}

template <class T>
struct kokkos_sum_products {
  tensor_view<const T, 2> a, b;
  KOKKOS_INLINE_FUNCTION void operator()(index_t r, index_t c, T& acc) const { acc += a(r, c) * b(r, c); }
};

template <class T>
struct kokkos_row_squared_norms {
  tensor_view<T, 1> out;
  tensor_view<const T, 2> x;
  KOKKOS_INLINE_FUNCTION void operator()(index_t r) const {
    T s = 0;
    for (index_t c = 0; c < x.extent(1); ++c) s += x(r, c) * x(r, c);
    out(r) = s;
  }
};

// Adds the rows of one block of columns in order, four rows per pass over the block: the four loads
// are independent, the output is read and written once per pass, and the sum is still
// ((out + x[r]) + x[r+1]) + ..., the reference's order.
template <class T, class ES>
struct kokkos_sum_rows {
  tensor_view<T, 1> out;
  tensor_view<const T, 2> x;

  KOKKOS_INLINE_FUNCTION void operator()(const kokkos_team_member<ES>& team, index_t begin, index_t end) const {
    const index_t rows = x.extent(0);
    index_t r = 0;
    for (; r + 4 <= rows; r += 4)
      Kokkos::parallel_for(Kokkos::TeamThreadRange(team, begin, end), [&](index_t c) {
        const T x0 = x(r, c), x1 = x(r + 1, c), x2 = x(r + 2, c), x3 = x(r + 3, c);
        T acc = out(c);
        acc += x0;
        acc += x1;
        acc += x2;
        acc += x3;
        out(c) = acc;
      });
    for (; r < rows; ++r)
      Kokkos::parallel_for(Kokkos::TeamThreadRange(team, begin, end), [&](index_t c) { out(c) += x(r, c); });
  }
};

}  // namespace detail

template <class ES, class T>
std::remove_const_t<T> sum(kokkos<ES>, tensor_view<T, 2> x) {
  using V = std::remove_const_t<T>;
  return detail::kokkos_reduce<ES, V>("wfc::sum", x, detail::kokkos_sum_elements<V>{x});
}

template <class ES, class T>
std::remove_const_t<T> squared_norm(kokkos<ES>, tensor_view<T, 2> x) {
  using V = std::remove_const_t<T>;
  return detail::kokkos_reduce<ES, V>("wfc::squared_norm", x, detail::kokkos_sum_squares<V>{x});
}

template <class ES, class T>
T dot(kokkos<ES>, tensor_view<const T, 2> a, in_view<T, 2> b) {
  detail::require_same_shape("dot", "a", a, "b", b);
  return detail::kokkos_reduce<ES, T>("wfc::dot", a, detail::kokkos_sum_products<T>{a, b});
}

// out[r] = Σ_c x[r, c]² (a few rows, each summed in order by one thread)
template <class ES, class T>
void row_squared_norms(kokkos<ES>, tensor_view<T, 1> out, in_view<T, 2> x) {
  detail::require_extent("row_squared_norms", "out", out, 0, x.extent(0), "one per row of x");
  detail::kokkos_for_each_index<ES>("wfc::row_squared_norms", x.extent(0), detail::kokkos_row_squared_norms<T>{out, x});
}

// out[c] += Σ_r x[r, c]
template <class ES, class T>
void sum_rows(kokkos<ES>, tensor_view<T, 1> out, in_view<T, 2> x) {
  detail::require_extent("sum_rows", "out", out, 0, x.extent(1), "one per column of x");
  if (x.extent(0) == 0) return;
  detail::kokkos_for_each_column_block<ES>("wfc::sum_rows", x.extent(1), detail::kokkos_sum_rows<T, ES>{out, x});
}

}  // namespace wfc
