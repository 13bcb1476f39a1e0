#pragma once
// Row softmax, masked or not: rows of every batch in parallel, SIMD max / exp / sum / scale.
// A masked row is first written into y as x + mask (−inf where excluded), then normalised in place.
#include <algorithm>
#include <limits>
#include <vector>

#include "wfc/backend/cpu/parallel.hpp"
#include "wfc/backend/cpu/simd.hpp"
#include "wfc/backend/cpu/tag.hpp"
#include "wfc/backend/reference/softmax.hpp"

namespace wfc {

namespace detail {
// y = softmax(x) over n elements; y may alias x.
template <class T>
void simd_softmax_row(T* y, const T* x, index_t n) {
  const T m = simd::max_of(x, n);
  if (m == -std::numeric_limits<T>::infinity()) {  // nothing to attend to
    std::fill(y, y + n, T(0));
    return;
  }
  const simd::batch<T> mv(m);
  simd::batch<T> acc(T(0));
  T rest = 0;
  simd::for_each_batch<T>(
      n,
      [&](index_t i) {
        const auto e = simd::exp(simd::load(x + i) - mv);
        simd::store(y + i, e);
        acc += e;
      },
      [&](index_t i) { rest += (y[i] = std::exp(x[i] - m)); });
  const T inv = T(1) / (simd::reduce_add(acc) + rest);
  const simd::batch<T> invv(inv);
  simd::for_each_batch<T>(n, [&](index_t i) { simd::store(y + i, simd::load(y + i) * invv); }, [&](index_t i) { y[i] *= inv; });
}

// f(batch, row) over every row of every batch, in parallel.
// (collapse: the thread's first (batch, row) is computed once, not divided out on every row)
template <class T, class F>
void cpu_for_each_batch_row(const tensor_view<T, 3>& v, F&& f) {
  const index_t batches = v.extent(0), rows = v.extent(1);
  if (v.size() < cpu_parallel_threshold || batches * rows <= 1) {  // no OpenMP entry (see cpu_parallel_for)
    for (index_t b = 0; b < batches; ++b)
      for (index_t r = 0; r < rows; ++r) f(b, r);
    return;
  }
#pragma omp parallel for collapse(2) schedule(static)
  for (index_t b = 0; b < batches; ++b)
    for (index_t r = 0; r < rows; ++r) f(b, r);
}

}  // namespace detail

template <class T>
void softmax_forward(cpu, tensor_view<T, 3> y, in_view<T, 3> x) {
  detail::require_same_shape("softmax_forward", "y", y, "x", x);
  if (!detail::all_rows_contiguous(y, x)) return softmax_forward(reference{}, y, x);
  detail::cpu_for_each_batch_row(y, [&](index_t b, index_t r) { detail::simd_softmax_row(row_data(y, b, r), row_data(x, b, r), y.extent(2)); });
}

template <class T>
void softmax_forward(cpu, tensor_view<T, 3> y, in_view<T, 3> x, in_view<T, 2> additive_mask) {
  detail::check_softmax_mask("softmax_forward", y, x, additive_mask);
  if (!detail::all_rows_contiguous(y, x, additive_mask)) return softmax_forward(reference{}, y, x, additive_mask);
  const index_t n = y.extent(2);
  detail::cpu_for_each_batch_row(y, [&](index_t b, index_t r) {
    T* yr = row_data(y, b, r);
    const T* xr = row_data(x, b, r);
    const T* mr = row_data(additive_mask, r);
    simd::for_each_batch<T>(n, [&](index_t i) { simd::store(yr + i, simd::load(xr + i) + simd::load(mr + i)); },
                            [&](index_t i) { yr[i] = xr[i] + mr[i]; });
    detail::simd_softmax_row(yr, yr, n);
  });
}

template <class T>
void softmax_forward(cpu, tensor_view<T, 3> y, in_view<T, 3> x, tensor_view<const bool, 2> keep) {
  detail::check_softmax_mask("softmax_forward", y, x, keep);
  if (!detail::all_rows_contiguous(y, x, keep)) return softmax_forward(reference{}, y, x, keep);
  const index_t rows = y.extent(1), n = y.extent(2);
  constexpr index_t w = simd::width<T>;
  // The mask, once per call rather than once per batch: as a row of 0 (kept) or −inf, and each
  // row's span [lo, hi) from its first to its last kept key, widened to whole SIMD batches (a
  // causal mask keeps a prefix: about half the exps are skipped). Outside the span y is 0, as it
  // would be anyway; dense rows (every key in the span kept) skip the masking.
  struct span {
    index_t lo, hi;
    bool dense;
  };
  thread_local std::vector<T> additive;
  thread_local std::vector<span> spans;
  additive.resize(std::size_t(rows * n));
  spans.resize(std::size_t(rows));
  const T neg_inf = -std::numeric_limits<T>::infinity();
  for (index_t r = 0; r < rows; ++r) {
    const bool* kr = row_data(keep, r);
    index_t lo = 0, hi = n;
    while (lo < n && !kr[lo]) ++lo;
    while (hi > lo && !kr[hi - 1]) --hi;
    if (lo < hi) {
      lo = lo / w * w;
      hi = std::min(n, (hi + w - 1) / w * w);
    }
    bool dense = true;
    for (index_t i = 0; i < n; ++i) {
      additive[std::size_t(r * n + i)] = kr[i] ? T(0) : neg_inf;
      if (i >= lo && i < hi && !kr[i]) dense = false;
    }
    spans[std::size_t(r)] = {lo, hi, dense};
  }
  const T* mask = additive.data();
  const span* sp = spans.data();
  detail::cpu_for_each_batch_row(y, [&](index_t b, index_t r) {
    T* yr = row_data(y, b, r);
    const T* xr = row_data(x, b, r);
    const span s = sp[r];
    std::fill(yr, yr + s.lo, T(0));
    std::fill(yr + s.hi, yr + n, T(0));
    if (s.lo == s.hi) return;  // nothing to attend to
    if (s.dense) return detail::simd_softmax_row(yr + s.lo, xr + s.lo, s.hi - s.lo);
    const T* mr = mask + r * n;
    const simd::batch<T> zero(T(0));
    simd::for_each_batch<T>(  // a masked key is −inf whatever x holds there (even inf or NaN)
        s.hi - s.lo,
        [&](index_t i) {
          const auto m = simd::load(mr + s.lo + i);
          simd::store(yr + s.lo + i, simd::select(m == zero, simd::load(xr + s.lo + i), m));
        },
        [&](index_t i) { yr[s.lo + i] = mr[s.lo + i] == T(0) ? xr[s.lo + i] : mr[s.lo + i]; });
    detail::simd_softmax_row(yr + s.lo, yr + s.lo, s.hi - s.lo);
  });
}

template <class T>
void softmax_backward(cpu, tensor_view<T, 3> dx, in_view<T, 3> dy, in_view<T, 3> y, detail::same_t<T> beta = 1) {
  detail::require_same_shape("softmax_backward", "dx", dx, "y", y);
  detail::require_same_shape("softmax_backward", "dy", dy, "y", y);
  if (!detail::all_rows_contiguous(dx, dy, y)) return softmax_backward(reference{}, dx, dy, y, beta);
  const index_t n = y.extent(2);
  const simd::batch<T> bv(beta);
  detail::cpu_for_each_batch_row(y, [&](index_t b, index_t r) {
    T* dxr = row_data(dx, b, r);
    const T* dyr = row_data(dy, b, r);
    const T* yr = row_data(y, b, r);
    const T dot = simd::sum<T>(
        n, [&](index_t i) { return simd::load(dyr + i) * simd::load(yr + i); }, [&](index_t i) { return dyr[i] * yr[i]; });
    const simd::batch<T> dv(dot);
    simd::for_each_batch<T>(
        n,
        [&](index_t i) {
          const auto old = beta == T(0) ? simd::batch<T>(T(0)) : bv * simd::load(dxr + i);
          simd::store(dxr + i, simd::fma(simd::load(yr + i), simd::load(dyr + i) - dv, old));
        },
        [&](index_t i) { dxr[i] = yr[i] * (dyr[i] - dot) + (beta == T(0) ? T(0) : beta * dxr[i]); });
  });
}

}  // namespace wfc
