#pragma once
// Element-wise kernels on [rows, cols] views: fill, copy, axpy, scale, bias, GELU.
#include "wfc/backend/reference/tag.hpp"
#include "wfc/kernels/checks.hpp"
#include "wfc/kernels/scalar_math.hpp"

namespace wfc {

namespace detail {
template <class V, class F>
void reference_for_each(const V& v, F&& f) {
  for (index_t r = 0; r < v.extent(0); ++r)
    for (index_t c = 0; c < v.extent(1); ++c) f(r, c);
}
}  // namespace detail

template <class T>
void fill(reference, tensor_view<T, 2> x, detail::same_t<T> value) {
  detail::reference_for_each(x, [&](index_t r, index_t c) { x(r, c) = value; });
}

template <class T>
void copy(reference, tensor_view<T, 2> dst, in_view<T, 2> src) {
  detail::require_same_shape("copy", "dst", dst, "src", src);
  detail::reference_for_each(dst, [&](index_t r, index_t c) { dst(r, c) = src(r, c); });
}

// y += alpha·x
template <class T>
void axpy(reference, tensor_view<T, 2> y, detail::same_t<T> alpha, in_view<T, 2> x) {
  detail::require_same_shape("axpy", "y", y, "x", x);
  detail::reference_for_each(y, [&](index_t r, index_t c) { y(r, c) += alpha * x(r, c); });
}

template <class T>
void scale(reference, tensor_view<T, 2> x, detail::same_t<T> alpha) {
  detail::reference_for_each(x, [&](index_t r, index_t c) { x(r, c) *= alpha; });
}

// x[r, :] *= factors[r]
template <class T>
void scale_rows(reference, tensor_view<T, 2> x, in_view<T, 1> factors) {
  detail::require_extent("scale_rows", "factors", factors, 0, x.extent(0), "one per row of x");
  detail::reference_for_each(x, [&](index_t r, index_t c) { x(r, c) *= factors(r); });
}

// y[r, :] += bias
template <class T>
void add_bias(reference, tensor_view<T, 2> y, in_view<T, 1> bias) {
  detail::require_extent("add_bias", "bias", bias, 0, y.extent(1), "one per column of y");
  detail::reference_for_each(y, [&](index_t r, index_t c) { y(r, c) += bias(c); });
}

template <class T>
void gelu_forward(reference, tensor_view<T, 2> y, in_view<T, 2> x) {
  detail::require_same_shape("gelu_forward", "y", y, "x", x);
  detail::reference_for_each(y, [&](index_t r, index_t c) { y(r, c) = detail::gelu(x(r, c)); });
}

// dx = gelu'(x)·dy + beta·dx: beta 1 (the default) accumulates, 0 overwrites without reading dx.
template <class T>
void gelu_backward(reference, tensor_view<T, 2> dx, in_view<T, 2> dy, in_view<T, 2> x, detail::same_t<T> beta = 1) {
  detail::require_same_shape("gelu_backward", "dx", dx, "x", x);
  detail::require_same_shape("gelu_backward", "dy", dy, "x", x);
  detail::reference_for_each(dx, [&](index_t r, index_t c) {
    dx(r, c) = detail::gelu_derivative(x(r, c)) * dy(r, c) + (beta == T(0) ? T(0) : beta * dx(r, c));
  });
}

}  // namespace wfc
