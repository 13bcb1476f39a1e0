#pragma once
// c = alpha·a·b + beta·c, transposition expressed by the views' strides.
//
// One team per 64×64 tile of c (64×32 for double; per batch entry). The team walks k in steps of 16: it stages the
// a and b panels in team scratch (zero-padded at the edges, loaded along whichever index is
// adjacent in memory, so a transposed operand still reads contiguously), then each of 16×16
// work items accumulates a 4×4 block of the tile in registers and adds it to the tile's sums in
// scratch. Each element of c sums its k terms in a fixed order (16 at a time, panels in increasing
// k), so the result does not depend on the team size.
#include "wfc/backend/kokkos/parallel.hpp"

namespace wfc {

namespace detail {

template <class T, class ES>
struct kokkos_gemm_tiles {
  using member = kokkos_team_member<ES>;
  using scratch = Kokkos::View<T*, typename ES::scratch_memory_space, Kokkos::MemoryUnmanaged>;

  // Narrower tiles for double keep the team's scratch (~25 KiB either way) under a CUDA block's
  // 48 KiB of shared memory.
  static constexpr index_t tile_m = 64, tile_n = sizeof(T) > 4 ? 32 : 64, tile_k = 16;
  static constexpr index_t micro = 4;                 // each work item owns micro × micro outputs
  static constexpr index_t items_m = tile_m / micro;  // work items down / across a tile
  static constexpr index_t items_n = tile_n / micro;
  // Padded leading dimensions: a transposed load writes down a column without bank conflicts.
  static constexpr index_t lda = tile_k + 1, ldb = tile_n + 1;

  tensor_view<T, 3> c;
  tensor_view<const T, 3> a, b;
  T alpha, beta;
  index_t tiles_m, tiles_n;
  bool a_k_adjacent, b_n_adjacent;  // which index of each operand is closer in memory

  static std::size_t scratch_bytes() {
    return scratch::shmem_size(tile_m * lda) + scratch::shmem_size(tile_k * ldb) + scratch::shmem_size(tile_m * tile_n);
  }

  KOKKOS_INLINE_FUNCTION void operator()(const member& team) const {
    const index_t t = team.league_rank();
    const index_t p = t / (tiles_m * tiles_n);
    const index_t i0 = ((t / tiles_n) % tiles_m) * tile_m, j0 = (t % tiles_n) * tile_n;
    const index_t m = c.extent(1), n = c.extent(2), k = a.extent(2);
    const scratch a_s(team.team_scratch(0), tile_m * lda);
    const scratch b_s(team.team_scratch(0), tile_k * ldb);
    const scratch sums(team.team_scratch(0), tile_m * tile_n);

    Kokkos::parallel_for(Kokkos::TeamThreadRange(team, tile_m * tile_n), [&](index_t e) { sums(e) = T(0); });
    for (index_t k0 = 0; k0 < k; k0 += tile_k) {
      team.team_barrier();  // the previous panels are no longer read
      Kokkos::parallel_for(Kokkos::TeamThreadRange(team, tile_m * tile_k), [&](index_t e) {
        const index_t i = a_k_adjacent ? e / tile_k : e % tile_m;
        const index_t kk = a_k_adjacent ? e % tile_k : e / tile_m;
        a_s(i * lda + kk) = (i0 + i < m && k0 + kk < k) ? a(p, i0 + i, k0 + kk) : T(0);
      });
      Kokkos::parallel_for(Kokkos::TeamThreadRange(team, tile_k * tile_n), [&](index_t e) {
        const index_t kk = b_n_adjacent ? e / tile_n : e % tile_k;
        const index_t j = b_n_adjacent ? e % tile_n : e / tile_k;
        b_s(kk * ldb + j) = (k0 + kk < k && j0 + j < n) ? b(p, k0 + kk, j0 + j) : T(0);
      });
      team.team_barrier();
      // Item (ui, uj) owns rows ui + items_m·q and columns uj + items_n·q: neighbouring items
      // read neighbouring columns of b_s.
      Kokkos::parallel_for(Kokkos::TeamThreadRange(team, items_m * items_n), [&](index_t u) {
        const index_t ui = u / items_n, uj = u % items_n;
        T acc[micro][micro] = {};
        for (index_t kk = 0; kk < tile_k; ++kk) {
          T av[micro], bv[micro];
          for (index_t q = 0; q < micro; ++q) {
            av[q] = a_s((ui + items_m * q) * lda + kk);
            bv[q] = b_s(kk * ldb + uj + items_n * q);
          }
          for (index_t qi = 0; qi < micro; ++qi)
            for (index_t qj = 0; qj < micro; ++qj) acc[qi][qj] += av[qi] * bv[qj];
        }
        for (index_t qi = 0; qi < micro; ++qi)
          for (index_t qj = 0; qj < micro; ++qj) sums((ui + items_m * qi) * tile_n + uj + items_n * qj) += acc[qi][qj];
      });
    }
    team.team_barrier();  // every sum is complete (or still zero when k == 0)
    Kokkos::parallel_for(Kokkos::TeamThreadRange(team, tile_m * tile_n), [&](index_t e) {
      const index_t i = i0 + e / tile_n, j = j0 + e % tile_n;
      if (i >= m || j >= n) return;
      // beta = 0 means c is not read (it may hold NaN), as in BLAS.
      c(p, i, j) = alpha * sums(e) + (beta == T(0) ? T(0) : beta * c(p, i, j));
    });
  }
};

// A few rows of c (a token at a time when sampling): a 64-row tile would be mostly padding, so
// each thread computes one element of c as a dot product over k, in increasing k.
template <class T>
struct kokkos_gemm_dots {
  tensor_view<T, 3> c;
  tensor_view<const T, 3> a, b;
  T alpha, beta;
  index_t m, n;
  KOKKOS_INLINE_FUNCTION void operator()(index_t e) const {
    const index_t p = e / (m * n), i = (e / n) % m, j = e % n;
    T sum = T(0);
    for (index_t kk = 0; kk < a.extent(2); ++kk) sum += a(p, i, kk) * b(p, kk, j);
    c(p, i, j) = alpha * sum + (beta == T(0) ? T(0) : beta * c(p, i, j));
  }
};

template <class ES, class T>
void kokkos_gemm(const char* label, tensor_view<T, 3> c, tensor_view<const T, 3> a, tensor_view<const T, 3> b, T alpha,
                 T beta) {
  if (c.empty()) return;
  constexpr index_t skinny_rows = 4;
  if (c.extent(1) <= skinny_rows) {
    Kokkos::parallel_for(label, kokkos_range_policy<ES>(0, c.size()),
                         kokkos_gemm_dots<T>{c, a, b, alpha, beta, c.extent(1), c.extent(2)});
    return;
  }
  using F = kokkos_gemm_tiles<T, ES>;
  const index_t tiles_m = (c.extent(1) + F::tile_m - 1) / F::tile_m;
  const index_t tiles_n = (c.extent(2) + F::tile_n - 1) / F::tile_n;
  const index_t league = c.extent(0) * tiles_m * tiles_n;
  require(league <= std::numeric_limits<int>::max(), label, "too many output tiles for one Kokkos league");
  const F f{c, a, b, alpha, beta, tiles_m, tiles_n, a.stride(2) <= a.stride(1), b.stride(2) <= b.stride(1)};
  Kokkos::TeamPolicy<ES> policy(static_cast<int>(league), Kokkos::AUTO);
  require(F::scratch_bytes() <= std::size_t(policy.scratch_size_max(0)), label,
          [&] { return "a GEMM tile needs " + std::to_string(F::scratch_bytes()) + " bytes of team scratch, this device offers " +
              std::to_string(policy.scratch_size_max(0)); });
  policy.set_scratch_size(0, Kokkos::PerTeam(F::scratch_bytes()));
  Kokkos::parallel_for(label, policy, f);
}

}  // namespace detail

template <class ES, class T>
void gemm(kokkos<ES>, tensor_view<T, 2> c, in_view<T, 2> a, in_view<T, 2> b, detail::same_t<T> alpha = 1,
          detail::same_t<T> beta = 0) {
  detail::check_gemm("gemm", c, a, b);
  detail::kokkos_gemm<ES, T>("wfc::gemm", as_batch(c), as_batch(a), as_batch(b), alpha, beta);
}

template <class ES, class T>
void batched_gemm(kokkos<ES>, tensor_view<T, 3> c, in_view<T, 3> a, in_view<T, 3> b, detail::same_t<T> alpha = 1,
                  detail::same_t<T> beta = 0) {
  detail::check_gemm("batched_gemm", c, a, b);
  detail::kokkos_gemm<ES, T>("wfc::batched_gemm", c, a, b, alpha, beta);
}

// Two batch dimensions (sequences × heads): one launch per entry of the first.
template <class ES, class T>
void batched_gemm(kokkos<ES>, tensor_view<T, 4> c, in_view<T, 4> a, in_view<T, 4> b, detail::same_t<T> alpha = 1,
                  detail::same_t<T> beta = 0) {
  detail::check_gemm("batched_gemm", c, a, b);
  for (index_t p = 0; p < c.extent(0); ++p) detail::kokkos_gemm<ES, T>("wfc::batched_gemm", c[p], a[p], b[p], alpha, beta);
}

}  // namespace wfc
