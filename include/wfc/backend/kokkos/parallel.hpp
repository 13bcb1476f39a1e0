#pragma once
// Policies and launch helpers shared by the Kokkos kernels, and the device-side check of token ids.
// Every policy takes its execution space from the tag, so one kernel serves Serial, OpenMP, CUDA, HIP.
#include <limits>

#include "wfc/backend/kokkos/tag.hpp"
#include "wfc/kernels/checks.hpp"

namespace wfc::detail {

template <class ES>
using kokkos_range_policy = Kokkos::RangePolicy<ES, Kokkos::IndexType<index_t>>;

// Last index fastest: consecutive GPU threads touch adjacent elements of a row-major view.
template <class ES>
using kokkos_md_policy =
    Kokkos::MDRangePolicy<ES, Kokkos::Rank<2, Kokkos::Iterate::Right, Kokkos::Iterate::Right>, Kokkos::IndexType<index_t>>;

template <class ES>
using kokkos_team_member = typename Kokkos::TeamPolicy<ES>::member_type;

// f(r, c) over a [rows, cols] index space; nothing is launched when it is empty.
template <class ES, class F>
void kokkos_for_each_element(const char* label, index_t rows, index_t cols, const F& f) {
  if (rows == 0 || cols == 0) return;
  Kokkos::parallel_for(label, kokkos_md_policy<ES>({0, 0}, {rows, cols}), f);
}

// f(i) for i in [0, n).
template <class ES, class F>
void kokkos_for_each_index(const char* label, index_t n, const F& f) {
  if (n == 0) return;
  Kokkos::parallel_for(label, kokkos_range_policy<ES>(0, n), f);
}

// f(team) with one team per row; the team size is left to Kokkos.
template <class ES, class F>
void kokkos_for_each_row_team(const char* label, index_t rows, const F& f) {
  if (rows == 0) return;
  require(rows <= std::numeric_limits<int>::max(), label, "more rows than a Kokkos league can hold");
  Kokkos::parallel_for(label, Kokkos::TeamPolicy<ES>(static_cast<int>(rows), Kokkos::AUTO), f);
}

// The smallest row whose id is invalid (a Min reduction; no invalid id leaves the identity).
struct kokkos_first_bad_id {
  tensor_view<const token_id, 1> ids;
  index_t rows;
  bool allow_ignore;

  KOKKOS_INLINE_FUNCTION void operator()(index_t i, index_t& first) const {
    if (i < first && !id_is_valid(ids(i), rows, allow_ignore)) first = i;
  }
};

// The device counterpart of validate_ids_on_host: same test, same first offending row, same
// message. Only the offending id crosses to the host.
template <class ES>
void kokkos_validate_ids(const char* op, tensor_view<const token_id, 1> ids, index_t rows,
                         bool allow_ignore = false) {
  const index_t n = ids.extent(0);
  if (n == 0) return;
  index_t first = n;
  Kokkos::parallel_reduce(op, kokkos_range_policy<ES>(0, n), kokkos_first_bad_id{ids, rows, allow_ignore},
                          Kokkos::Min<index_t>(first));
  if (first >= n) return;
  token_id id = 0;
  Kokkos::View<token_id, Kokkos::HostSpace, Kokkos::MemoryUnmanaged> host(&id);
  Kokkos::View<const token_id, typename ES::memory_space, Kokkos::MemoryUnmanaged> device(
      ids.data() + first * ids.stride(0));
  Kokkos::deep_copy(host, device);
  id_error(op, first, id, rows);
}

}  // namespace wfc::detail
