#pragma once
// Reductions: the sum and the squared L2 norm of a view (Kokkos reductions over a 2-D range,
// returned to the host), and column sums (a bias gradient: one thread per column adds the rows in
// order, so the result is deterministic without atomics).
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
struct kokkos_sum_rows {
  tensor_view<T, 1> out;
  tensor_view<const T, 2> x;
  KOKKOS_INLINE_FUNCTION void operator()(index_t c) const {
    T acc = out(c);
    for (index_t r = 0; r < x.extent(0); ++r) acc += x(r, c);
    out(c) = acc;
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

// out[c] += Σ_r x[r, c]
template <class ES, class T>
void sum_rows(kokkos<ES>, tensor_view<T, 1> out, in_view<T, 2> x) {
  detail::require_extent("sum_rows", "out", out, 0, x.extent(1), "one per column of x");
  if (x.extent(0) == 0) return;
  detail::kokkos_for_each_index<ES>("wfc::sum_rows", x.extent(1), detail::kokkos_sum_rows<T>{out, x});
}

}  // namespace wfc
