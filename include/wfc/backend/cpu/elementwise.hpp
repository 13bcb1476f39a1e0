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
// ½(1 + tanh(u)) as the logistic σ(2u): the same function without the cancellation of 1 + tanh(u)
// where tanh(u) ≈ −1 (x ≲ −3), so float keeps its relative accuracy there; GELU's derivative needs
// 1 − tanh²(u) = 4σ(1 − σ) as well. (A rational tanh lost three digits there without FMA: SSE2
// builds missed the reference.) xsimd's exp is branch-free; exp(−2u) = inf for very negative x gives
// σ = 0 exactly, the right limit.
template <class T>
simd::batch<T> gelu_sigma(const simd::batch<T>& x) {
  return T(1) / (T(1) + simd::exp(T(-2) * gelu_inner(x)));
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
          simd::store(yr + i, xv * detail::gelu_sigma(xv));
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
          const auto sig = detail::gelu_sigma(xv);
          const auto du = T(detail::gelu_c) * simd::fma(simd::batch<T>(T(3 * detail::gelu_a)), xv * xv, simd::batch<T>(T(1)));
          const auto d = simd::fma(T(2) * xv * sig * (T(1) - sig), du, sig);
          const auto old = beta == T(0) ? simd::batch<T>(T(0)) : bv * simd::load(dxr + i);
          simd::store(dxr + i, simd::fma(d, simd::load(dyr + i), old));
        },
        [&](index_t i) { dxr[i] = detail::gelu_derivative(xr[i]) * dyr[i] + (beta == T(0) ? T(0) : beta * dxr[i]); });
  });
}

}  // namespace wfc
