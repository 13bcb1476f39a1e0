#pragma once
// Conveniences every backend gets for free, written once on top of its kernels: flat (rank-1)
// forms of the element-wise kernels and reductions, single-matrix forms of the batched softmax.
// Calls are unqualified so they find the backend's kernel by argument-dependent lookup.
#include <cmath>

#include "wfc/core/tensor_view.hpp"
#include "wfc/kernels/checks.hpp"

namespace wfc {

template <class B, class T>
void fill(B be, tensor_view<T, 1> x, detail::same_t<T> value) {
  fill(be, as_row(x), value);
}
template <class B, class T>
void copy(B be, tensor_view<T, 1> dst, in_view<T, 1> src) {
  detail::require_same_shape("copy", "dst", dst, "src", src);
  copy(be, as_row(dst), as_row(src));
}
template <class B, class T>
void axpy(B be, tensor_view<T, 1> y, detail::same_t<T> alpha, in_view<T, 1> x) {
  detail::require_same_shape("axpy", "y", y, "x", x);
  axpy(be, as_row(y), alpha, as_row(x));
}
template <class B, class T>
void scale(B be, tensor_view<T, 1> x, detail::same_t<T> alpha) {
  scale(be, as_row(x), alpha);
}
template <class B, class T>
std::remove_const_t<T> sum(B be, tensor_view<T, 1> x) {
  return sum(be, as_row(x));
}
template <class B, class T>
std::remove_const_t<T> squared_norm(B be, tensor_view<T, 1> x) {
  return squared_norm(be, as_row(x));
}
template <class B, class T, std::size_t Rank>
std::remove_const_t<T> norm(B be, tensor_view<T, Rank> x) {
  using std::sqrt;
  return sqrt(squared_norm(be, x));
}

template <class B, class T>
void softmax_forward(B be, tensor_view<T, 2> y, in_view<T, 2> x) {
  softmax_forward(be, as_batch(y), as_batch(x));
}
template <class B, class T, class Mask>
void softmax_forward(B be, tensor_view<T, 2> y, in_view<T, 2> x, tensor_view<Mask, 2> mask) {
  softmax_forward(be, as_batch(y), as_batch(x), as_const(mask));
}
template <class B, class T>
void softmax_backward(B be, tensor_view<T, 2> dx, in_view<T, 2> dy, in_view<T, 2> y, detail::same_t<T> beta = 1) {
  softmax_backward(be, as_batch(dx), as_batch(dy), as_batch(y), beta);
}

}  // namespace wfc
