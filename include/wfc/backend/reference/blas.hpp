#pragma once
// c = alpha·a·b + beta·c, with transposition expressed by the views (wfc::transpose).
#include "wfc/backend/reference/tag.hpp"
#include "wfc/kernels/checks.hpp"

namespace wfc {

template <class T>
void gemm(reference, tensor_view<T, 2> c, in_view<T, 2> a, in_view<T, 2> b, detail::same_t<T> alpha = 1,
          detail::same_t<T> beta = 0) {
  detail::check_gemm("gemm", c, a, b);
  for (index_t i = 0; i < c.extent(0); ++i)
    for (index_t j = 0; j < c.extent(1); ++j) {
      T acc = 0;
      for (index_t k = 0; k < a.extent(1); ++k) acc += a(i, k) * b(k, j);
      // beta = 0 means c is not read (it may hold NaN), as in BLAS.
      c(i, j) = alpha * acc + (beta == T(0) ? T(0) : beta * c(i, j));
    }
}

template <class T>
void batched_gemm(reference be, tensor_view<T, 3> c, in_view<T, 3> a, in_view<T, 3> b,
                  detail::same_t<T> alpha = 1, detail::same_t<T> beta = 0) {
  detail::check_gemm("batched_gemm", c, a, b);
  for (index_t p = 0; p < c.extent(0); ++p) gemm(be, c[p], a[p], b[p], alpha, beta);
}

// Two batch dimensions (sequences × heads).
template <class T>
void batched_gemm(reference be, tensor_view<T, 4> c, in_view<T, 4> a, in_view<T, 4> b,
                  detail::same_t<T> alpha = 1, detail::same_t<T> beta = 0) {
  detail::check_gemm("batched_gemm", c, a, b);
  for (index_t p = 0; p < c.extent(0); ++p) batched_gemm(be, c[p], a[p], b[p], alpha, beta);
}

}  // namespace wfc
