#pragma once
// The one place that talks to xsimd, so a newer xsimd (9+ renamed hadd to reduce_add and added
// reduce_max) is one change here. Kernels are written once against simd::batch<T>: a vector body
// plus a scalar tail, on the widest instruction set this build enables (-march decides).
#include "wfc/backend/cpu/third_party.hpp"  // xsimd

#include <algorithm>
#include <cstddef>
#include <limits>

// The loop helpers below take the kernel body as lambdas; they must be inlined into the kernel, or
// every iteration reloads the lambdas' captures from memory (a store may alias them).
#if defined(__GNUC__) || defined(__clang__)
#define WFC_FORCE_INLINE inline __attribute__((always_inline))
#else
#define WFC_FORCE_INLINE inline
#endif

namespace wfc::simd {

template <class T>
using batch = xsimd::batch<T>;

template <class T>
inline constexpr std::ptrdiff_t width = std::ptrdiff_t(batch<T>::size);

template <class T>
batch<T> load(const T* p) {
  return batch<T>::load_unaligned(p);
}

template <class T>
void store(T* p, const batch<T>& b) {
  b.store_unaligned(p);
}

template <class T>
T reduce_add(const batch<T>& b) {
#if XSIMD_VERSION_MAJOR >= 9
  return xsimd::reduce_add(b);
#else
  return xsimd::hadd(b);
#endif
}

template <class T>
T reduce_max(const batch<T>& b) {
#if XSIMD_VERSION_MAJOR >= 9
  return xsimd::reduce_max(b);
#else
  alignas(64) T lanes[batch<T>::size];
  b.store_aligned(lanes);
  return *std::max_element(lanes, lanes + batch<T>::size);
#endif
}

using xsimd::exp;
using xsimd::fma;
using xsimd::max;
using xsimd::min;
using xsimd::select;
using xsimd::sqrt;
using xsimd::tanh;

// Runs vec(i) on [i, i + width) for every full batch, then tail(i) on each remaining element.
template <class T, class Vec, class Tail>
WFC_FORCE_INLINE void for_each_batch(std::ptrdiff_t n, Vec&& vec, Tail&& tail) {
  std::ptrdiff_t i = 0;
  for (; i + width<T> <= n; i += width<T>) vec(i);
  for (; i < n; ++i) tail(i);
}

// Σ over a row: vec(i) gives a batch, tail(i) a scalar.
template <class T, class Vec, class Tail>
WFC_FORCE_INLINE T sum(std::ptrdiff_t n, Vec&& vec, Tail&& tail) {
  batch<T> acc(T(0));
  T rest = 0;
  for_each_batch<T>(n, [&](std::ptrdiff_t i) { acc += vec(i); }, [&](std::ptrdiff_t i) { rest += tail(i); });
  return reduce_add(acc) + rest;
}

// The largest of x[0..n), −inf for n = 0.
template <class T>
WFC_FORCE_INLINE T max_of(const T* x, std::ptrdiff_t n) {
  batch<T> m(-std::numeric_limits<T>::infinity());
  T rest = -std::numeric_limits<T>::infinity();
  for_each_batch<T>(n, [&](std::ptrdiff_t i) { m = max(m, load(x + i)); }, [&](std::ptrdiff_t i) { rest = std::max(rest, x[i]); });
  return std::max(reduce_max(m), rest);
}

}  // namespace wfc::simd
