#pragma once
// Row gather (a one-hot embedding: out[r] = table[ids[r]]) and its backward, a scatter-add.
#include "wfc/backend/reference/tag.hpp"
#include "wfc/kernels/checks.hpp"

namespace wfc {

template <class T>
void gather_rows(reference, tensor_view<T, 2> out, in_view<T, 2> table, tensor_view<const token_id, 1> ids) {
  detail::require_extent("gather_rows", "ids", ids, 0, out.extent(0), "one per row of out");
  detail::require_extent("gather_rows", "table", table, 1, out.extent(1), "the width of out");
  detail::validate_ids_on_host("gather_rows", ids, table.extent(0));
  for (index_t r = 0; r < out.extent(0); ++r)
    for (index_t c = 0; c < out.extent(1); ++c) out(r, c) = table(ids(r), c);
}

// table_grad[ids[r]] += out_grad[r]
template <class T>
void scatter_add_rows(reference, tensor_view<T, 2> table_grad, in_view<T, 2> out_grad,
                      tensor_view<const token_id, 1> ids) {
  detail::require_extent("scatter_add_rows", "ids", ids, 0, out_grad.extent(0), "one per row of out_grad");
  detail::require_extent("scatter_add_rows", "table_grad", table_grad, 1, out_grad.extent(1), "the width of out_grad");
  detail::validate_ids_on_host("scatter_add_rows", ids, table_grad.extent(0));
  for (index_t r = 0; r < out_grad.extent(0); ++r)
    for (index_t c = 0; c < out_grad.extent(1); ++c) table_grad(ids(r), c) += out_grad(r, c);
}

}  // namespace wfc
