#pragma once
// Element-wise kernels: rows in parallel, each row as SIMD batches plus a scalar tail. Rows whose
// elements are not adjacent (a transposed view) take the reference loop.
#include <type_traits>

#include "wfc/backend/cpu/parallel.hpp"
#include "wfc/backend/cpu/simd.hpp"
#include "wfc/backend/cpu/tag.hpp"
#include "wfc/backend/reference/elementwise.hpp"

namespace wfc {

template <class T>
void fill(cpu, tensor_view<T, 2> x, detail::same_t<T> value) {
  if (!detail::all_rows_contiguous(x)) return fill(reference{}, x, value);
  detail::cpu_for_each_row(x, [&](index_t r) { std::fill(row_data(x, r), row_data(x, r) + x.extent(1), value); });
}

template <class T>
void copy(cpu, tensor_view<T, 2> dst, in_view<T, 2> src) {
  detail::require_same_shape("copy", "dst", dst, "src", src);
  if (!detail::all_rows_contiguous(dst, src)) return copy(reference{}, dst, src);
  detail::cpu_for_each_row(dst, [&](index_t r) {  // not std::copy: glibc's memmove uses `rep movsb`, slow on AMD
    const T* s = row_data(src, r);
    T* d = row_data(dst, r);
    simd::for_each_batch<T>(dst.extent(1), [&](index_t i) { simd::store(d + i, simd::load(s + i)); }, [&](index_t i) { d[i] = s[i]; });
  });
}

template <class T>
void axpy(cpu, tensor_view<T, 2> y, detail::same_t<T> alpha, in_view<T, 2> x) {
  detail::require_same_shape("axpy", "y", y, "x", x);
  if (!detail::all_rows_contiguous(y, x)) return axpy(reference{}, y, alpha, x);
  const simd::batch<T> a(alpha);
  detail::cpu_for_each_row(y, [&](index_t r) {
    T* yr = row_data(y, r);
    const T* xr = row_data(x, r);
    simd::for_each_batch<T>(
        y.extent(1), [&](index_t i) { simd::store(yr + i, simd::fma(a, simd::load(xr + i), simd::load(yr + i))); },
        [&](index_t i) { yr[i] += alpha * xr[i]; });
  });
}

template <class T>
void scale(cpu, tensor_view<T, 2> x, detail::same_t<T> alpha) {
  if (!detail::all_rows_contiguous(x)) return scale(reference{}, x, alpha);
  const simd::batch<T> a(alpha);
  detail::cpu_for_each_row(x, [&](index_t r) {
    T* xr = row_data(x, r);
    simd::for_each_batch<T>(
        x.extent(1), [&](index_t i) { simd::store(xr + i, a * simd::load(xr + i)); }, [&](index_t i) { xr[i] *= alpha; });
  });
}

template <class T>
void scale_rows(cpu, tensor_view<T, 2> x, in_view<T, 1> factors) {
  detail::require_extent("scale_rows", "factors", factors, 0, x.extent(0), "one per row of x");
  if (!detail::all_rows_contiguous(x)) return scale_rows(reference{}, x, factors);
  detail::cpu_for_each_row(x, [&](index_t r) {
    T* xr = row_data(x, r);
    const T f = factors(r);
    const simd::batch<T> a(f);
    simd::for_each_batch<T>(
        x.extent(1), [&](index_t i) { simd::store(xr + i, a * simd::load(xr + i)); }, [&](index_t i) { xr[i] *= f; });
  });
}

template <class T>
void add_bias(cpu, tensor_view<T, 2> y, in_view<T, 1> bias) {
  detail::require_extent("add_bias", "bias", bias, 0, y.extent(1), "one per column of y");
  if (!detail::all_rows_contiguous(y, bias)) return add_bias(reference{}, y, bias);
  const T* b = bias.data();
  detail::cpu_for_each_row(y, [&](index_t r) {
    T* yr = row_data(y, r);
    simd::for_each_batch<T>(
        y.extent(1), [&](index_t i) { simd::store(yr + i, simd::load(yr + i) + simd::load(b + i)); },
        [&](index_t i) { yr[i] += b[i]; });
  });
}

namespace detail {
template <class T>
simd::batch<T> gelu_inner(const simd::batch<T>& x) {  // √(2/π)·(x + 0.044715·x³)
  return T(gelu_c) * simd::fma(simd::batch<T>(T(gelu_a)) * x, x * x, x);
}
// tanh for GELU. float: a branch-free rational approximation (Eigen's fast tanh: odd degree-13 over
// even degree-6 polynomial on x clamped to ±7.9988, a few ulp from tanh), about twice as fast as
// xsimd's tanh, which branches on the data between two formulas and computes both for mixed
// batches. double keeps xsimd's.
template <class T>
simd::batch<T> gelu_tanh(const simd::batch<T>& u) {
  if constexpr (std::is_same_v<T, float>) {
    using B = simd::batch<float>;
    const B x = simd::max(simd::min(u, B(7.99881172180175781f)), B(-7.99881172180175781f));
    const B x2 = x * x;
    B p = simd::fma(x2, B(-2.76076847742355e-16f), B(2.00018790482477e-13f));
    p = simd::fma(x2, p, B(-8.60467152213735e-11f));
    p = simd::fma(x2, p, B(5.12229709037114e-08f));
    p = simd::fma(x2, p, B(1.48572235717979e-05f));
    p = simd::fma(x2, p, B(6.37261928875436e-04f));
    p = simd::fma(x2, p, B(4.89352455891786e-03f));
    B q = simd::fma(x2, B(1.19825839466702e-06f), B(1.18534705686654e-04f));
    q = simd::fma(x2, q, B(2.26843463243900e-03f));
    q = simd::fma(x2, q, B(4.89352518554385e-03f));
    return x * p / q;
  } else {
    return simd::tanh(u);
  }
}
}  // namespace detail

template <class T>
void gelu_forward(cpu, tensor_view<T, 2> y, in_view<T, 2> x) {
  detail::require_same_shape("gelu_forward", "y", y, "x", x);
  if (!detail::all_rows_contiguous(y, x)) return gelu_forward(reference{}, y, x);
  detail::cpu_for_each_row(y, [&](index_t r) {
    T* yr = row_data(y, r);
    const T* xr = row_data(x, r);
    simd::for_each_batch<T>(
        y.extent(1),
        [&](index_t i) {
          const auto xv = simd::load(xr + i);
          simd::store(yr + i, T(0.5) * xv * (T(1) + detail::gelu_tanh(detail::gelu_inner(xv))));
        },
        [&](index_t i) { yr[i] = detail::gelu(xr[i]); });
  });
}

template <class T>
void gelu_backward(cpu, tensor_view<T, 2> dx, in_view<T, 2> dy, in_view<T, 2> x, detail::same_t<T> beta = 1) {
  detail::require_same_shape("gelu_backward", "dx", dx, "x", x);
  detail::require_same_shape("gelu_backward", "dy", dy, "x", x);
  if (!detail::all_rows_contiguous(dx, dy, x)) return gelu_backward(reference{}, dx, dy, x, beta);
  const simd::batch<T> bv(beta);
  detail::cpu_for_each_row(dx, [&](index_t r) {
    T* dxr = row_data(dx, r);
    const T* dyr = row_data(dy, r);
    const T* xr = row_data(x, r);
    simd::for_each_batch<T>(
        dx.extent(1),
        [&](index_t i) {
          const auto xv = simd::load(xr + i);
          const auto t = detail::gelu_tanh(detail::gelu_inner(xv));
          const auto du = T(detail::gelu_c) * simd::fma(simd::batch<T>(T(3 * detail::gelu_a)), xv * xv, simd::batch<T>(T(1)));
          const auto d = T(0.5) * (T(1) + t) + T(0.5) * xv * (T(1) - t * t) * du;
          const auto old = beta == T(0) ? simd::batch<T>(T(0)) : bv * simd::load(dxr + i);
          simd::store(dxr + i, simd::fma(d, simd::load(dyr + i), old));
        },
        [&](index_t i) { dxr[i] = detail::gelu_derivative(xr[i]) * dyr[i] + (beta == T(0) ? T(0) : beta * dxr[i]); });
  });
}

}  // namespace wfc
