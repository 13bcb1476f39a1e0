#pragma once
// Reductions: the sum and the squared L2 norm of a view, and column sums (a bias gradient).
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

// out[c] += Σ_r x[r, c]
template <class T>
void sum_rows(reference, tensor_view<T, 1> out, in_view<T, 2> x) {
  detail::require_extent("sum_rows", "out", out, 0, x.extent(1), "one per column of x");
  for (index_t r = 0; r < x.extent(0); ++r)
    for (index_t c = 0; c < x.extent(1); ++c) out(c) += x(r, c);
}

}  // namespace wfc
