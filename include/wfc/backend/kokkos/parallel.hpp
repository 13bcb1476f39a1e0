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

// Column reductions (out[c] += Σ_r f(r, c), rows in order) run one team per block of columns: the
// team walks the rows in order and, per row, splits the block's columns with TeamThreadRange, a
// contiguous inner loop (vectorisable on a CPU, coalesced on a GPU). That split depends only on the
// team's rank and size, the same for every row, so each column stays with one thread: every output
// adds its rows in the reference's order, with no atomics, no barriers, whatever the team size.
//
// A team has at most kokkos_column_block threads, and a block is that many columns, or a multiple
// of it when the execution space has fewer threads than the columns: on a GPU one column per
// thread; on a CPU about one block per thread, so long inner loops (Serial: one block).
inline constexpr index_t kokkos_column_block = 64;

// Calls f(team, begin, end) for the block of columns [begin, end) that the team owns.
template <class ES, class F>
struct kokkos_column_block_team {
  F f;
  index_t cols, width;

  KOKKOS_INLINE_FUNCTION void operator()(const kokkos_team_member<ES>& team) const {
    const index_t begin = static_cast<index_t>(team.league_rank()) * width;
    f(team, begin, width < cols - begin ? begin + width : cols);
  }
};

// f(team, begin, end) with one team per block of columns of a [rows, cols] index space, which f
// walks as above; nothing is launched when cols is 0.
template <class ES, class F>
void kokkos_for_each_column_block(const char* label, index_t cols, const F& f) {
  if (cols == 0) return;
  const int concurrency = ES().concurrency();
  const index_t threads = concurrency > 0 ? static_cast<index_t>(concurrency) : 1;
  const index_t per_thread = (cols + threads - 1) / threads;
  const index_t width = (per_thread + kokkos_column_block - 1) / kokkos_column_block * kokkos_column_block;
  const index_t blocks = (cols + width - 1) / width;
  require(blocks <= std::numeric_limits<int>::max(), label, "more column blocks than a Kokkos league can hold");
  const kokkos_column_block_team<ES, F> team_f{f, cols, width};
  const int league = static_cast<int>(blocks);
  const int recommended =
      Kokkos::TeamPolicy<ES>(league, Kokkos::AUTO).team_size_recommended(team_f, Kokkos::ParallelForTag());
  const int team_size = recommended < 1 ? 1 : recommended < int(kokkos_column_block) ? recommended : int(kokkos_column_block);
  Kokkos::parallel_for(label, Kokkos::TeamPolicy<ES>(league, team_size), team_f);
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
