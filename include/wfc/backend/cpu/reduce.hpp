#pragma once
// Reductions with a fixed summation order: the view is cut into fixed chunks (whole rows, or
// slices of one flat buffer), each chunk summed with SIMD, the partial sums added in order.
// The result is the same for any thread count.
#include <vector>

#include "wfc/backend/cpu/parallel.hpp"
#include "wfc/backend/cpu/simd.hpp"
#include "wfc/backend/cpu/tag.hpp"
#include "wfc/backend/reference/reduce.hpp"

namespace wfc {

namespace detail {
inline constexpr index_t cpu_reduce_chunk = 1 << 13;

// Σ term over the elements of x; term(p) maps a batch loaded at p (or a scalar) to its summand.
template <class T, class Term>
T cpu_reduce(tensor_view<const T, 2> x, Term term) {
  const bool flat = x.is_contiguous();
  const index_t chunks = flat ? (x.size() + cpu_reduce_chunk - 1) / cpu_reduce_chunk : x.extent(0);
  std::vector<T> partial(static_cast<std::size_t>(chunks));
  cpu_parallel_for(chunks, x.size(), [&](index_t k) {
    const T* p = flat ? x.data() + k * cpu_reduce_chunk : row_data(x, k);
    const index_t n = flat ? std::min(cpu_reduce_chunk, x.size() - k * cpu_reduce_chunk) : x.extent(1);
    partial[std::size_t(k)] = simd::sum<T>(n, [&](index_t i) { return term(simd::load(p + i)); }, [&](index_t i) { return term(p[i]); });
  });
  T total = 0;
  for (T s : partial) total += s;
  return total;
}
}  // namespace detail

template <class T>
std::remove_const_t<T> sum(cpu, tensor_view<T, 2> x) {
  using V = std::remove_const_t<T>;
  if (!detail::all_rows_contiguous(x)) return sum(reference{}, x);
  return detail::cpu_reduce<V>(x, [](const auto& v) { return v; });
}

template <class T>
std::remove_const_t<T> squared_norm(cpu, tensor_view<T, 2> x) {
  using V = std::remove_const_t<T>;
  if (!detail::all_rows_contiguous(x)) return squared_norm(reference{}, x);
  return detail::cpu_reduce<V>(x, [](const auto& v) { return v * v; });
}

template <class T>
T dot(cpu, tensor_view<const T, 2> a, in_view<T, 2> b) {
  detail::require_same_shape("dot", "a", a, "b", b);
  if (!detail::all_rows_contiguous(a, b)) return dot(reference{}, a, b);
  const index_t rows = a.extent(0), n = a.extent(1);
  std::vector<T> partial(static_cast<std::size_t>(rows));  // one per row, added in order: thread-count independent
  detail::cpu_parallel_for(rows, a.size(), [&](index_t r) {
    const T *ar = row_data(a, r), *br = row_data(b, r);
    partial[std::size_t(r)] = simd::sum<T>(n, [&](index_t i) { return simd::load(ar + i) * simd::load(br + i); },
                                           [&](index_t i) { return ar[i] * br[i]; });
  });
  T total = 0;
  for (T s : partial) total += s;
  return total;
}

template <class T>
void row_squared_norms(cpu, tensor_view<T, 1> out, in_view<T, 2> x) {
  detail::require_extent("row_squared_norms", "out", out, 0, x.extent(0), "one per row of x");
  if (!detail::all_rows_contiguous(x)) return row_squared_norms(reference{}, out, x);
  const index_t n = x.extent(1);
  detail::cpu_parallel_for(x.extent(0), x.size(), [&](index_t r) {
    const T* xr = row_data(x, r);
    out(r) = simd::sum<T>(n, [&](index_t i) { const auto v = simd::load(xr + i); return v * v; },
                          [&](index_t i) { return xr[i] * xr[i]; });
  });
}

template <class T>
void sum_rows(cpu, tensor_view<T, 1> out, in_view<T, 2> x) {
  detail::require_extent("sum_rows", "out", out, 0, x.extent(1), "one per column of x");
  if (!detail::all_rows_contiguous(out, x)) return sum_rows(reference{}, out, x);
  T* o = out.data();
  const index_t n = x.extent(1);
  detail::cpu_chunked_column_sums<T>(
      x.extent(0), n,
      [&](index_t r0, index_t r1, T* partial) {
        for (index_t r = r0; r < r1; ++r) {
          const T* xr = row_data(x, r);
          simd::for_each_batch<T>(
              n, [&](index_t i) { simd::store(partial + i, simd::load(partial + i) + simd::load(xr + i)); },
              [&](index_t i) { partial[i] += xr[i]; });
        }
      },
      [&](const T* partial) {
        simd::for_each_batch<T>(
            n, [&](index_t i) { simd::store(o + i, simd::load(o + i) + simd::load(partial + i)); },
            [&](index_t i) { o[i] += partial[i]; });
      });
}

}  // namespace wfc
