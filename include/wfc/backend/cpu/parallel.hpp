#pragma once
// OpenMP helpers. Every split is static and every reduction combines partial results in a fixed
// order, so results do not depend on how many threads run.
#include <algorithm>
#include <vector>

#include "wfc/core/tensor_view.hpp"

namespace wfc::detail {

// Below this many elements a kernel runs on the calling thread: a fork costs more than the work.
inline constexpr index_t cpu_parallel_threshold = 1 << 15;

template <class F>
void cpu_parallel_for(index_t n, index_t work, F&& f) {
#pragma omp parallel for schedule(static) if (work >= cpu_parallel_threshold && n > 1)
  for (index_t i = 0; i < n; ++i) f(i);
}

// Column blocks for reductions over rows (bias and norm gradients): each block's sums are
// accumulated by one thread over all rows in order, so no atomics and no thread dependence.
inline constexpr index_t cpu_column_block = 64;

template <class F>
void cpu_parallel_column_blocks(index_t rows, index_t cols, F&& f) {
  const index_t blocks = (cols + cpu_column_block - 1) / cpu_column_block;
  cpu_parallel_for(blocks, rows * cols, [&](index_t b) {
    const index_t begin = b * cpu_column_block;
    f(begin, std::min(cols, begin + cpu_column_block));
  });
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
