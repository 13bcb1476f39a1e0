#pragma once
// Reductions: the sum and the squared L2 norm of a view, the dot product of two, column sums (a bias
// gradient) and row squared norms (a solver's per-slot residual).
#include "wfc/backend/reference/tag.hpp"
#include "wfc/kernels/checks.hpp"

namespace wfc {

template <class T>
std::remove_const_t<T> sum(reference, tensor_view<T, 2> x) {
  std::remove_const_t<T> s = 0;
  for (index_t r = 0; r < x.extent(0); ++r)
    for (index_t c = 0; c < x.extent(1); ++c) s += x(r, c);
  return s;
}

template <class T>
std::remove_const_t<T> squared_norm(reference, tensor_view<T, 2> x) {
  std::remove_const_t<T> s = 0;
  for (index_t r = 0; r < x.extent(0); ++r)
    for (index_t c = 0; c < x.extent(1); ++c) s += x(r, c) * x(r, c);
  return s;
}

template <class T>
T dot(reference, tensor_view<const T, 2> a, in_view<T, 2> b) {
  detail::require_same_shape("dot", "a", a, "b", b);
  T s = 0;
  for (index_t r = 0; r < a.extent(0); ++r)
    for (index_t c = 0; c < a.extent(1); ++c) s += a(r, c) * b(r, c);
  return s;
}

// out[r] = Σ_c x[r, c]²
template <class T>
void row_squared_norms(reference, tensor_view<T, 1> out, in_view<T, 2> x) {
  detail::require_extent("row_squared_norms", "out", out, 0, x.extent(0), "one per row of x");
  for (index_t r = 0; r < x.extent(0); ++r) {
    T s = 0;
    for (index_t c = 0; c < x.extent(1); ++c) s += x(r, c) * x(r, c);
    out(r) = s;
  }
}

// out[c] += Σ_r x[r, c]
template <class T>
void sum_rows(reference, tensor_view<T, 1> out, in_view<T, 2> x) {
  detail::require_extent("sum_rows", "out", out, 0, x.extent(1), "one per column of x");
  for (index_t r = 0; r < x.extent(0); ++r)
    for (index_t c = 0; c < x.extent(1); ++c) out(c) += x(r, c);
}

}  // namespace wfc
