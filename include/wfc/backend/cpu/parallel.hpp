#pragma once
// OpenMP helpers. Every split is static and every reduction combines partial results in a fixed
// order, so our kernels' results do not depend on how many threads run (GEMM included: see
// packed_gemm.hpp).
#include <algorithm>
#include <utility>
#include <vector>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "wfc/core/tensor_view.hpp"

namespace wfc::detail {

// Below this many elements a kernel runs on the calling thread: a fork-join (several µs on a busy
// machine) costs more than the work. A scatter-add, whose threads each scan every id, needs more.
inline constexpr index_t cpu_parallel_threshold = 1 << 15;
inline constexpr index_t cpu_copy_parallel_threshold = 1 << 18;

template <class F>
void cpu_parallel_for(index_t n, index_t work, F&& f, index_t threshold = cpu_parallel_threshold) {
  if (work < threshold || n <= 1) {  // without entering OpenMP at all: even a team of one costs ~0.3 µs
    for (index_t i = 0; i < n; ++i) f(i);
    return;
  }
#pragma omp parallel for schedule(static)
  for (index_t i = 0; i < n; ++i) f(i);
}

inline index_t cpu_max_threads() {
#if defined(_OPENMP)
  return omp_get_max_threads();
#else
  return 1;
#endif
}

// The calling thread's share [lo, hi) of n items inside a parallel region (all of them outside one).
inline std::pair<index_t, index_t> cpu_thread_share(index_t n) {
#if defined(_OPENMP)
  const index_t t = omp_get_thread_num(), threads = omp_get_num_threads();
  return {n * t / threads, n * (t + 1) / threads};
#else
  return {0, n};
#endif
}

// Column sums over many rows (bias and norm gradients), deterministic and fused with row work:
// rows are cut into fixed chunks (not one per thread), chunk(r0, r1, partial) adds its rows'
// contributions into a zeroed `width`-wide partial, and combine(partial) then sees the partials in
// chunk order. The result does not depend on the thread count.
inline constexpr index_t cpu_rows_per_chunk = 32;

template <class T, class Chunk, class Combine>
void cpu_chunked_column_sums(index_t rows, index_t width, Chunk&& chunk, Combine&& combine) {
  const index_t chunks = (rows + cpu_rows_per_chunk - 1) / cpu_rows_per_chunk;
  thread_local std::vector<T> partials;  // reused between calls: no allocation in steady state
  partials.assign(std::size_t(chunks * width), T(0));
  T* base = partials.data();
  cpu_parallel_for(chunks, rows * width, [&](index_t k) {
    chunk(k * cpu_rows_per_chunk, std::min(rows, (k + 1) * cpu_rows_per_chunk), base + k * width);
  });
  for (index_t k = 0; k < chunks; ++k) combine(static_cast<const T*>(base + k * width));
}

template <class V>
bool rows_are_contiguous(const V& v) {
  return v.stride(V::rank - 1) == 1 || v.extent(V::rank - 1) <= 1;
}

template <class... V>
bool all_rows_contiguous(const V&... v) {
  return (rows_are_contiguous(v) && ...);
}

// f(r) for every row of v, in parallel when v is large enough.
template <class V, class F>
void cpu_for_each_row(const V& v, F&& f) {
  cpu_parallel_for(v.extent(0), v.size(), std::forward<F>(f));
}

}  // namespace wfc::detail
