#pragma once
// Row gather in parallel over rows; its scatter-add in parallel over table rows, so repeated ids
// never race and the sums come out in row order.
#include <algorithm>

#include "wfc/backend/cpu/parallel.hpp"
#include "wfc/backend/cpu/simd.hpp"
#include "wfc/backend/cpu/tag.hpp"
#include "wfc/backend/reference/embedding.hpp"

namespace wfc {

template <class T>
void gather_rows(cpu, tensor_view<T, 2> out, in_view<T, 2> table, tensor_view<const token_id, 1> ids) {
  detail::require_extent("gather_rows", "ids", ids, 0, out.extent(0), "one per row of out");
  detail::require_extent("gather_rows", "table", table, 1, out.extent(1), "the width of out");
  detail::validate_ids_on_host("gather_rows", ids, table.extent(0));
  if (!detail::all_rows_contiguous(out, table)) return gather_rows(reference{}, out, table, ids);
  detail::cpu_parallel_for(
      out.extent(0), out.size(),
      [&](index_t r) {  // a SIMD loop: glibc's memcpy uses `rep movsb` here, slow on AMD cores
        const T* src = row_data(table, ids(r));
        T* dst = row_data(out, r);
        simd::for_each_batch<T>(
            out.extent(1), [&](index_t i) { simd::store(dst + i, simd::load(src + i)); }, [&](index_t i) { dst[i] = src[i]; });
      });
}

template <class T>
void scatter_add_rows(cpu, tensor_view<T, 2> table_grad, in_view<T, 2> out_grad, tensor_view<const token_id, 1> ids) {
  detail::require_extent("scatter_add_rows", "ids", ids, 0, out_grad.extent(0), "one per row of out_grad");
  detail::require_extent("scatter_add_rows", "table_grad", table_grad, 1, out_grad.extent(1), "the width of out_grad");
  detail::validate_ids_on_host("scatter_add_rows", ids, table_grad.extent(0));
  if (!detail::all_rows_contiguous(table_grad, out_grad)) return scatter_add_rows(reference{}, table_grad, out_grad, ids);
  // Each thread owns a range of table rows and scans all ids for its own: no two threads write one
  // element, and every table row adds its contributions in row order whatever the thread count.
  const index_t table_rows = table_grad.extent(0), width = out_grad.extent(1);
#pragma omp parallel if (out_grad.size() >= detail::cpu_copy_parallel_threshold)
  {
    const auto [lo, hi] = detail::cpu_thread_share(table_rows);
    for (index_t r = 0; r < out_grad.extent(0); ++r) {
      const token_id id = ids(r);
      if (id < lo || id >= hi) continue;
      T* dst = row_data(table_grad, id);
      const T* src = row_data(out_grad, r);
      simd::for_each_batch<T>(
          width, [&](index_t i) { simd::store(dst + i, simd::load(dst + i) + simd::load(src + i)); },
          [&](index_t i) { dst[i] += src[i]; });
    }
  }
}

}  // namespace wfc
