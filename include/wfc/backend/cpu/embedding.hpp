#pragma once
// Row gather in parallel over rows; its scatter-add in parallel over column blocks, so repeated
// ids never race and the sums come out in row order.
#include <algorithm>

#include "wfc/backend/cpu/parallel.hpp"
#include "wfc/backend/cpu/tag.hpp"
#include "wfc/backend/reference/embedding.hpp"

namespace wfc {

template <class T>
void gather_rows(cpu, tensor_view<T, 2> out, in_view<T, 2> table, tensor_view<const token_id, 1> ids) {
  detail::require_extent("gather_rows", "ids", ids, 0, out.extent(0), "one per row of out");
  detail::require_extent("gather_rows", "table", table, 1, out.extent(1), "the width of out");
  detail::validate_ids_on_host("gather_rows", ids, table.extent(0));
  if (!detail::all_rows_contiguous(out, table)) return gather_rows(reference{}, out, table, ids);
  detail::cpu_for_each_row(out, [&](index_t r) {
    const T* src = row_data(table, ids(r));
    std::copy(src, src + out.extent(1), row_data(out, r));
  });
}

template <class T>
void scatter_add_rows(cpu, tensor_view<T, 2> table_grad, in_view<T, 2> out_grad, tensor_view<const token_id, 1> ids) {
  detail::require_extent("scatter_add_rows", "ids", ids, 0, out_grad.extent(0), "one per row of out_grad");
  detail::require_extent("scatter_add_rows", "table_grad", table_grad, 1, out_grad.extent(1), "the width of out_grad");
  detail::validate_ids_on_host("scatter_add_rows", ids, table_grad.extent(0));
  if (!detail::all_rows_contiguous(table_grad, out_grad)) return scatter_add_rows(reference{}, table_grad, out_grad, ids);
  detail::cpu_parallel_column_blocks(out_grad.extent(0), out_grad.extent(1), [&](index_t c0, index_t c1) {
    for (index_t r = 0; r < out_grad.extent(0); ++r) {
      T* dst = row_data(table_grad, ids(r));
      const T* src = row_data(out_grad, r);
      for (index_t c = c0; c < c1; ++c) dst[c] += src[c];
    }
  });
}

}  // namespace wfc
