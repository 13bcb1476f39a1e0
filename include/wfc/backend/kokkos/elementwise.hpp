#pragma once
// Element-wise kernels on [rows, cols] views: one functor per kernel over a 2-D range, so any
// strides work and each element is touched by exactly one thread.
#include "wfc/backend/kokkos/parallel.hpp"
#include "wfc/kernels/scalar_math.hpp"

namespace wfc {

namespace detail {

template <class T>
struct kokkos_fill {
  tensor_view<T, 2> x;
  T value;
  KOKKOS_INLINE_FUNCTION void operator()(index_t r, index_t c) const { x(r, c) = value; }
};

template <class T>
struct kokkos_copy {
  tensor_view<T, 2> dst;
  tensor_view<const T, 2> src;
  KOKKOS_INLINE_FUNCTION void operator()(index_t r, index_t c) const { dst(r, c) = src(r, c); }
};

template <class T>
struct kokkos_axpy {
  tensor_view<T, 2> y;
  T alpha;
  tensor_view<const T, 2> x;
  KOKKOS_INLINE_FUNCTION void operator()(index_t r, index_t c) const { y(r, c) += alpha * x(r, c); }
};

template <class T>
struct kokkos_scale {
  tensor_view<T, 2> x;
  T alpha;
  KOKKOS_INLINE_FUNCTION void operator()(index_t r, index_t c) const { x(r, c) *= alpha; }
};

template <class T>
struct kokkos_scale_rows {
  tensor_view<T, 2> x;
  tensor_view<const T, 1> factors;
  KOKKOS_INLINE_FUNCTION void operator()(index_t r, index_t c) const { x(r, c) *= factors(r); }
};

template <class T>
struct kokkos_add_bias {
  tensor_view<T, 2> y;
  tensor_view<const T, 1> bias;
  KOKKOS_INLINE_FUNCTION void operator()(index_t r, index_t c) const { y(r, c) += bias(c); }
};

template <class T>
struct kokkos_gelu_forward {
  tensor_view<T, 2> y;
  tensor_view<const T, 2> x;
  KOKKOS_INLINE_FUNCTION void operator()(index_t r, index_t c) const { y(r, c) = gelu(x(r, c)); }
};

template <class T>
struct kokkos_gelu_backward {
  tensor_view<T, 2> dx;
  tensor_view<const T, 2> dy, x;
  T beta;
  KOKKOS_INLINE_FUNCTION void operator()(index_t r, index_t c) const {
    dx(r, c) = gelu_derivative(x(r, c)) * dy(r, c) + (beta == T(0) ? T(0) : beta * dx(r, c));
  }
};

}  // namespace detail

template <class ES, class T>
void fill(kokkos<ES>, tensor_view<T, 2> x, detail::same_t<T> value) {
  detail::kokkos_for_each_element<ES>("wfc::fill", x.extent(0), x.extent(1), detail::kokkos_fill<T>{x, value});
}

template <class ES, class T>
void copy(kokkos<ES>, tensor_view<T, 2> dst, in_view<T, 2> src) {
  detail::require_same_shape("copy", "dst", dst, "src", src);
  detail::kokkos_for_each_element<ES>("wfc::copy", dst.extent(0), dst.extent(1), detail::kokkos_copy<T>{dst, src});
}

// y += alpha·x
template <class ES, class T>
void axpy(kokkos<ES>, tensor_view<T, 2> y, detail::same_t<T> alpha, in_view<T, 2> x) {
  detail::require_same_shape("axpy", "y", y, "x", x);
  detail::kokkos_for_each_element<ES>("wfc::axpy", y.extent(0), y.extent(1), detail::kokkos_axpy<T>{y, alpha, x});
}

template <class ES, class T>
void scale(kokkos<ES>, tensor_view<T, 2> x, detail::same_t<T> alpha) {
  detail::kokkos_for_each_element<ES>("wfc::scale", x.extent(0), x.extent(1), detail::kokkos_scale<T>{x, alpha});
}

// x[r, :] *= factors[r]
template <class ES, class T>
void scale_rows(kokkos<ES>, tensor_view<T, 2> x, in_view<T, 1> factors) {
  detail::require_extent("scale_rows", "factors", factors, 0, x.extent(0), "one per row of x");
  detail::kokkos_for_each_element<ES>("wfc::scale_rows", x.extent(0), x.extent(1), detail::kokkos_scale_rows<T>{x, factors});
}

// y[r, :] += bias
template <class ES, class T>
void add_bias(kokkos<ES>, tensor_view<T, 2> y, in_view<T, 1> bias) {
  detail::require_extent("add_bias", "bias", bias, 0, y.extent(1), "one per column of y");
  detail::kokkos_for_each_element<ES>("wfc::add_bias", y.extent(0), y.extent(1), detail::kokkos_add_bias<T>{y, bias});
}

template <class ES, class T>
void gelu_forward(kokkos<ES>, tensor_view<T, 2> y, in_view<T, 2> x) {
  detail::require_same_shape("gelu_forward", "y", y, "x", x);
  detail::kokkos_for_each_element<ES>("wfc::gelu_forward", y.extent(0), y.extent(1), detail::kokkos_gelu_forward<T>{y, x});
}

// dx += gelu'(x)·dy
template <class ES, class T>
void gelu_backward(kokkos<ES>, tensor_view<T, 2> dx, in_view<T, 2> dy, in_view<T, 2> x, detail::same_t<T> beta = 1) {
  detail::require_same_shape("gelu_backward", "dx", dx, "x", x);
  detail::require_same_shape("gelu_backward", "dy", dy, "x", x);
  detail::kokkos_for_each_element<ES>("wfc::gelu_backward", dx.extent(0), dx.extent(1),
                                      detail::kokkos_gelu_backward<T>{dx, dy, x, beta});
}

}  // namespace wfc
