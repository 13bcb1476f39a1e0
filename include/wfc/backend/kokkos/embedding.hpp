#pragma once
// Row gather (a one-hot embedding: out[r] = table[ids[r]]) and its backward, a scatter-add. The
// ids are checked on the device first. The scatter-add runs one team per block of columns (of
// every table row), adding the rows in order: repeated ids never race and the sums are
// deterministic without atomics.
#include "wfc/backend/kokkos/parallel.hpp"

namespace wfc {

namespace detail {

template <class T>
struct kokkos_gather_rows {
  tensor_view<T, 2> out;
  tensor_view<const T, 2> table;
  tensor_view<const token_id, 1> ids;
  KOKKOS_INLINE_FUNCTION void operator()(index_t r, index_t c) const { out(r, c) = table(ids(r), c); }
};

// One block of columns of every table row: the rows of out_grad in order, each added to its table
// row, so a repeated id adds its rows in the reference's order. One row per pass over the block:
// the table rows of several may coincide, and a CPU compiler then leaves the loop unvectorised.
template <class T, class ES>
struct kokkos_scatter_add_rows {
  tensor_view<T, 2> table_grad;
  tensor_view<const T, 2> out_grad;
  tensor_view<const token_id, 1> ids;

  KOKKOS_INLINE_FUNCTION void operator()(const kokkos_team_member<ES>& team, index_t begin, index_t end) const {
    for (index_t r = 0; r < out_grad.extent(0); ++r) {
      const index_t i = ids(r);
      Kokkos::parallel_for(Kokkos::TeamThreadRange(team, begin, end), [&](index_t c) { table_grad(i, c) += out_grad(r, c); });
    }
  }
};

}  // namespace detail

template <class ES, class T>
void gather_rows(kokkos<ES>, tensor_view<T, 2> out, in_view<T, 2> table, tensor_view<const token_id, 1> ids) {
  detail::require_extent("gather_rows", "ids", ids, 0, out.extent(0), "one per row of out");
  detail::require_extent("gather_rows", "table", table, 1, out.extent(1), "the width of out");
  detail::kokkos_validate_ids<ES>("gather_rows", ids, table.extent(0));
  detail::kokkos_for_each_element<ES>("wfc::gather_rows", out.extent(0), out.extent(1),
                                      detail::kokkos_gather_rows<T>{out, table, ids});
}

// table_grad[ids[r]] += out_grad[r]
template <class ES, class T>
void scatter_add_rows(kokkos<ES>, tensor_view<T, 2> table_grad, in_view<T, 2> out_grad, tensor_view<const token_id, 1> ids) {
  detail::require_extent("scatter_add_rows", "ids", ids, 0, out_grad.extent(0), "one per row of out_grad");
  detail::require_extent("scatter_add_rows", "table_grad", table_grad, 1, out_grad.extent(1), "the width of out_grad");
  detail::kokkos_validate_ids<ES>("scatter_add_rows", ids, table_grad.extent(0));
  if (out_grad.extent(0) == 0) return;
  detail::kokkos_for_each_column_block<ES>("wfc::scatter_add_rows", out_grad.extent(1),
                                          detail::kokkos_scatter_add_rows<T, ES>{table_grad, out_grad, ids});
}

}  // namespace wfc
