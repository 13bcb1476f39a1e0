#pragma once
// Our own GEMM for row-major outputs: BLIS-style packing (A in micro-panels of mr rows, B in
// micro-panels of nr columns, both zero-padded) and an mr × nr register tile of SIMD FMAs, 6 rows ×
// 2 batches (6 × 16 floats on AVX2: 12 accumulators, 2 loads and 6 broadcasts per step). Eigen's
// 3p×4 kernel reaches ~60 % of an AVX2 core's FMA peak at the transformer's shapes when GCC builds
// it (it spills); this one ~85 %.
//
// Every element of c is summed in the same order (k in blocks of kc, one tile's FMA chain) whatever
// the thread count or the way the threads split c, so GEMM results do not depend on the thread
// count either.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <type_traits>

#include "wfc/backend/cpu/parallel.hpp"
#include "wfc/backend/cpu/simd.hpp"

#include "wfc/backend/cpu/third_party.hpp"  // the intrinsics

#if defined(__GNUC__) || defined(__clang__)
#define WFC_PREFETCH_WRITE(p) __builtin_prefetch((p), 1)
#else
#define WFC_PREFETCH_WRITE(p) ((void)(p))
#endif

namespace wfc::detail {

template <class T>
struct gemm_tile {
  static constexpr index_t w = simd::width<T>;
  static constexpr index_t mr = 6, nr = 2 * w;
  static constexpr index_t kc = 256;      // depth of one packed block: a B micro-panel is kc·nr (16 KiB) for L1
  static constexpr index_t mc = 16 * mr;  // rows of one packed A block: mc·kc (96 KiB) for L2
};

// A read-only operand: element (i, j) at p[i·rs + j·cs].
template <class T>
struct gemm_operand {
  const T* p;
  index_t rs, cs;
};

// A 64-byte aligned scratch buffer per thread that only grows.
template <class T, int Slot>
T* gemm_scratch(index_t n) {
  struct buffer {
    std::unique_ptr<T[]> storage;
    index_t capacity = 0;
  };
  thread_local buffer b;
  constexpr index_t pad = 64 / sizeof(T);
  if (b.capacity < n) {
    b.storage.reset(new T[std::size_t(n + pad)]);
    b.capacity = n;
  }
  auto addr = reinterpret_cast<std::uintptr_t>(b.storage.get());
  return reinterpret_cast<T*>((addr + 63) & ~std::uintptr_t(63));
}

// Rows [i0, i0 + mb) × depth [p0, p0 + kb) of a, as micro-panels of mr rows: dst[panel][k][row],
// the last panel zero-padded. Each source row or column is read front to back once (a cold operand
// then streams from memory instead of being fetched line by line in a strided pattern).
// Only depths [k_lo, k_hi) of each panel are written (threads share the packing of one block).
template <class T>
void gemm_pack_a(T* dst, gemm_operand<T> a, index_t i0, index_t mb, index_t p0, index_t kb, index_t k_lo, index_t k_hi) {
  constexpr index_t mr = gemm_tile<T>::mr;
  const index_t full = mb / mr * mr;
  if (a.rs == 1) {  // a transposed view: row k of the source holds a's rows i0… side by side
    for (index_t k = k_lo; k < k_hi; ++k) {
      const T* src = a.p + i0 + (p0 + k) * a.cs;
      T* d = dst + k * mr;
      for (index_t ip = 0; ip < full; ip += mr, d += mr * kb)
        for (index_t i = 0; i < mr; ++i) d[i] = src[ip + i];
      if (full < mb)
        for (index_t i = 0; i < mr; ++i) d[i] = full + i < mb ? src[full + i] : T(0);
    }
    return;
  }
  for (index_t ip = 0; ip < mb; ip += mr, dst += mr * kb) {  // one panel at a time: mr rows streaming along k
    const index_t rows = std::min(mr, mb - ip);
    const T* base = a.p + (i0 + ip) * a.rs + p0 * a.cs;
    for (index_t k = k_lo; k < k_hi; ++k)
      for (index_t i = 0; i < mr; ++i) dst[k * mr + i] = i < rows ? base[i * a.rs + k * a.cs] : T(0);
  }
}

#if defined(__AVX__)
// dst[j·dld + i] = src[i·ld + j] for an 8 × 8 block of floats.
inline void gemm_transpose_8x8(const float* src, index_t ld, float* dst, index_t dld) {
  __m256 r0 = _mm256_loadu_ps(src), r1 = _mm256_loadu_ps(src + ld), r2 = _mm256_loadu_ps(src + 2 * ld),
         r3 = _mm256_loadu_ps(src + 3 * ld), r4 = _mm256_loadu_ps(src + 4 * ld), r5 = _mm256_loadu_ps(src + 5 * ld),
         r6 = _mm256_loadu_ps(src + 6 * ld), r7 = _mm256_loadu_ps(src + 7 * ld);
  const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1), t2 = _mm256_unpacklo_ps(r2, r3),
               t3 = _mm256_unpackhi_ps(r2, r3), t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5),
               t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  r0 = _mm256_shuffle_ps(t0, t2, 0x44);
  r1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  r2 = _mm256_shuffle_ps(t1, t3, 0x44);
  r3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  r4 = _mm256_shuffle_ps(t4, t6, 0x44);
  r5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  r6 = _mm256_shuffle_ps(t5, t7, 0x44);
  r7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  _mm256_storeu_ps(dst, _mm256_permute2f128_ps(r0, r4, 0x20));
  _mm256_storeu_ps(dst + dld, _mm256_permute2f128_ps(r1, r5, 0x20));
  _mm256_storeu_ps(dst + 2 * dld, _mm256_permute2f128_ps(r2, r6, 0x20));
  _mm256_storeu_ps(dst + 3 * dld, _mm256_permute2f128_ps(r3, r7, 0x20));
  _mm256_storeu_ps(dst + 4 * dld, _mm256_permute2f128_ps(r0, r4, 0x31));
  _mm256_storeu_ps(dst + 5 * dld, _mm256_permute2f128_ps(r1, r5, 0x31));
  _mm256_storeu_ps(dst + 6 * dld, _mm256_permute2f128_ps(r2, r6, 0x31));
  _mm256_storeu_ps(dst + 7 * dld, _mm256_permute2f128_ps(r3, r7, 0x31));
}
#endif

// Depth [p0, p0 + kb) × columns [j0, j0 + nb) of b, as micro-panels of nr columns: dst[panel][k][col],
// the last panel zero-padded; each source row (or column) read front to back once.
template <class T>
void gemm_pack_b(T* dst, gemm_operand<T> b, index_t j0, index_t nb, index_t p0, index_t kb, index_t k_lo, index_t k_hi) {
  constexpr index_t nr = gemm_tile<T>::nr, w = gemm_tile<T>::w;
  const index_t full = nb / nr * nr;
  if (b.cs == 1) {  // row-major b: row k of the source is row k of every panel
    for (index_t k = k_lo; k < k_hi; ++k) {
      const T* src = b.p + (p0 + k) * b.rs + j0;
      T* d = dst + k * nr;
      for (index_t jp = 0; jp < full; jp += nr, d += nr * kb)
        for (index_t v = 0; v < nr; v += w) simd::store(d + v, simd::load(src + jp + v));
      if (full < nb)
        for (index_t j = 0; j < nr; ++j) d[j] = full + j < nb ? src[full + j] : T(0);
    }
    return;
  }
  for (index_t jp = 0; jp < nb; jp += nr, dst += nr * kb) {  // one column at a time, contiguous along k when b.rs = 1
    const index_t cols = std::min(nr, nb - jp);
    const T* base = b.p + p0 * b.rs + (j0 + jp) * b.cs;
#if defined(__AVX__)
    if constexpr (std::is_same_v<T, float> && nr == 16) {
      if (b.rs == 1 && cols == nr) {  // b transposed (a weight read as Wᵀ, attention's Kᵀ): 8 × 8 blocks
        index_t k = k_lo;
        for (; k + 8 <= k_hi; k += 8) {
          gemm_transpose_8x8(base + k, b.cs, dst + k * nr, nr);
          gemm_transpose_8x8(base + 8 * b.cs + k, b.cs, dst + k * nr + 8, nr);
        }
        for (; k < k_hi; ++k)
          for (index_t j = 0; j < nr; ++j) dst[k * nr + j] = base[j * b.cs + k];
        continue;
      }
    }
#endif
    for (index_t j = 0; j < nr; ++j) {
      const T* col = base + j * b.cs;
      for (index_t k = k_lo; k < k_hi; ++k) dst[k * nr + j] = j < cols ? col[k * b.rs] : T(0);
    }
  }
}

// c[MR, nr] (row stride ldc) = alpha·(a·b) + beta·c, or alpha·(a·b) without reading c when
// beta_zero, for MR ≤ mr rows; a(i, k) = pa[i·ia + k·ka] (a packed micro-panel: ia = 1, ka = mr; a
// row-major a read in place: ia = its row stride, ka = 1), b(k, j) = pb[k·ldb + j] (a packed
// micro-panel: ldb = nr; a row-major b read in place: its row stride); depth kb. Row r's FMA chain
// is the same whatever MR is, so a row computes alike in a full or a partial tile.
template <int MR, class T>
WFC_FORCE_INLINE void gemm_micro_kernel(index_t kb, const T* __restrict pa, index_t ia, index_t ka, const T* __restrict pb,
                                        index_t ldb, T* c, index_t ldc, T alpha, T beta, bool beta_zero) {
  static_assert(MR >= 1 && MR <= 6, "gemm_micro_kernel: 1 to 6 rows");
  using B = simd::batch<T>;
  constexpr index_t w = gemm_tile<T>::w, nr = gemm_tile<T>::nr;
  B c00(T(0)), c01(T(0)), c10(T(0)), c11(T(0)), c20(T(0)), c21(T(0)), c30(T(0)), c31(T(0)), c40(T(0)), c41(T(0)),
      c50(T(0)), c51(T(0));
  // c is usually cold (a fresh activation): fetch its lines now, the k loop hides the misses.
  for (index_t i = 0; i < MR; ++i) {
    WFC_PREFETCH_WRITE(c + i * ldc);
    WFC_PREFETCH_WRITE(c + i * ldc + nr - 1);
  }
  const T *a0 = pa, *a1 = pa + (MR > 1) * ia, *a2 = pa + (MR > 2) * 2 * ia, *a3 = pa + (MR > 3) * 3 * ia,
          *a4 = pa + (MR > 4) * 4 * ia, *a5 = pa + (MR > 5) * 5 * ia;
  for (index_t k = 0; k < kb; ++k, pb += ldb) {
    const index_t o = k * ka;
    const B b0 = simd::load(pb), b1 = simd::load(pb + w);
    B a(a0[o]);
    c00 = simd::fma(a, b0, c00);
    c01 = simd::fma(a, b1, c01);
    if constexpr (MR > 1) {
      a = B(a1[o]);
      c10 = simd::fma(a, b0, c10);
      c11 = simd::fma(a, b1, c11);
    }
    if constexpr (MR > 2) {
      a = B(a2[o]);
      c20 = simd::fma(a, b0, c20);
      c21 = simd::fma(a, b1, c21);
    }
    if constexpr (MR > 3) {
      a = B(a3[o]);
      c30 = simd::fma(a, b0, c30);
      c31 = simd::fma(a, b1, c31);
    }
    if constexpr (MR > 4) {
      a = B(a4[o]);
      c40 = simd::fma(a, b0, c40);
      c41 = simd::fma(a, b1, c41);
    }
    if constexpr (MR > 5) {
      a = B(a5[o]);
      c50 = simd::fma(a, b0, c50);
      c51 = simd::fma(a, b1, c51);
    }
  }
  const B av(alpha), bv(beta);
  auto put = [&](T* row, const B& x0, const B& x1) {
    if (beta_zero) {
      simd::store(row, av * x0);
      simd::store(row + w, av * x1);
    } else {
      simd::store(row, simd::fma(av, x0, bv * simd::load(row)));
      simd::store(row + w, simd::fma(av, x1, bv * simd::load(row + w)));
    }
  };
  put(c, c00, c01);
  if constexpr (MR > 1) put(c + ldc, c10, c11);
  if constexpr (MR > 2) put(c + 2 * ldc, c20, c21);
  if constexpr (MR > 3) put(c + 3 * ldc, c30, c31);
  if constexpr (MR > 4) put(c + 4 * ldc, c40, c41);
  if constexpr (MR > 5) put(c + 5 * ldc, c50, c51);
}

// The kernel for `rows` (1 to mr) rows of a full-width tile.
template <class T>
void gemm_micro_rows(index_t rows, index_t kb, const T* pa, index_t ia, index_t ka, const T* pb, index_t ldb, T* c,
                     index_t ldc, T alpha, T beta, bool beta_zero) {
  switch (rows) {
    case 6: return gemm_micro_kernel<6>(kb, pa, ia, ka, pb, ldb, c, ldc, alpha, beta, beta_zero);
    case 5: return gemm_micro_kernel<5>(kb, pa, ia, ka, pb, ldb, c, ldc, alpha, beta, beta_zero);
    case 4: return gemm_micro_kernel<4>(kb, pa, ia, ka, pb, ldb, c, ldc, alpha, beta, beta_zero);
    case 3: return gemm_micro_kernel<3>(kb, pa, ia, ka, pb, ldb, c, ldc, alpha, beta, beta_zero);
    case 2: return gemm_micro_kernel<2>(kb, pa, ia, ka, pb, ldb, c, ldc, alpha, beta, beta_zero);
    default: return gemm_micro_kernel<1>(kb, pa, ia, ka, pb, ldb, c, ldc, alpha, beta, beta_zero);
  }
}

// A tile cut by c's right edge (cols < nr): the same kernel on a local copy of its columns.
template <class T>
void gemm_edge_tile(index_t rows, index_t cols, index_t kb, const T* pa, index_t ia, index_t ka, const T* pb, index_t ldb,
                    T* c, index_t ldc, T alpha, T beta, bool beta_zero) {
  constexpr index_t mr = gemm_tile<T>::mr, nr = gemm_tile<T>::nr;
  alignas(64) T tile[mr * nr] = {};
  if (!beta_zero)
    for (index_t i = 0; i < rows; ++i)
      for (index_t j = 0; j < cols; ++j) tile[i * nr + j] = c[i * ldc + j];
  gemm_micro_rows(rows, kb, pa, ia, ka, pb, ldb, tile, nr, alpha, beta, beta_zero);
  for (index_t i = 0; i < rows; ++i)
    for (index_t j = 0; j < cols; ++j) c[i * ldc + j] = tile[i * nr + j];
}

// The tiles of rows [i0, i1) × columns [j0, j1) of c for one depth block [p0, p0 + kb). a is read
// in place (direct_a: row-major) or from pa, its row panels packed from row ia; b in place
// (direct_b: row-major, for few rows of c, where a packed micro-panel would be used too few times
// to pay for the packing) or from pb, its column panels packed from column jb. i0 − ia and j0 − jb
// are multiples of mr and nr, so the tiles are the same whoever computes them.
template <class T>
void gemm_tiles(T* c, index_t ldc, gemm_operand<T> a, bool direct_a, const T* pa, index_t ia, gemm_operand<T> b,
                bool direct_b, const T* pb, index_t jb, index_t p0, index_t kb, index_t i0, index_t i1, index_t j0, index_t j1,
                T alpha, T beta, bool beta_zero) {
  constexpr index_t mr = gemm_tile<T>::mr, nr = gemm_tile<T>::nr;
  for (index_t j = j0; j < j1; j += nr) {
    const index_t cols = std::min(nr, j1 - j);
    const T* pbj = pb + (j - jb) * kb;
    index_t ldb = nr;
    if (direct_b) {
      if (cols == nr) {
        pbj = b.p + p0 * b.rs + j;
        ldb = b.rs;
      } else {  // a partial column panel: packed (zero-padded)
        T* own = gemm_scratch<T, 2>(nr * kb);
        gemm_pack_b(own, b, j, cols, p0, kb, 0, kb);
        pbj = own;
      }
    }
    for (index_t i = i0; i < i1; i += mr) {
      const index_t rows = std::min(mr, i1 - i);
      T* ct = c + i * ldc + j;
      const T* pai = direct_a ? a.p + i * a.rs + p0 * a.cs : pa + (i - ia) * kb;
      const index_t sa = direct_a ? a.rs : 1, ska = direct_a ? a.cs : mr;
      if (cols < nr)
        gemm_edge_tile(rows, cols, kb, pai, sa, ska, pbj, ldb, ct, ldc, alpha, beta, beta_zero);
      else if (rows == mr)
        gemm_micro_kernel<6>(kb, pai, sa, ska, pbj, ldb, ct, ldc, alpha, beta, beta_zero);
      else
        gemm_micro_rows(rows, kb, pai, sa, ska, pbj, ldb, ct, ldc, alpha, beta, beta_zero);
    }
  }
}

// c[i0:i1, j0:j1] = beta·c (k = 0; beta = 0 writes zeros without reading c).
template <class T>
void gemm_scale(T* c, index_t ldc, index_t i0, index_t i1, index_t j0, index_t j1, T beta) {
  for (index_t i = i0; i < i1; ++i)
    for (index_t j = j0; j < j1; ++j) c[i * ldc + j] = beta == T(0) ? T(0) : beta * c[i * ldc + j];
}

// c[i0:i1, j0:j1] = alpha·a·b + beta·c on the calling thread (i0 and j0 multiples of mr and nr):
// for each depth block, b's columns packed (unless read in place), then a block of mc rows at a time
// (a row-major a is read in place: six row streams; otherwise packed).
template <class T>
void gemm_block(T* c, index_t ldc, gemm_operand<T> a, gemm_operand<T> b, index_t k, index_t i0, index_t i1, index_t j0,
                index_t j1, T alpha, T beta) {
  using tile = gemm_tile<T>;
  constexpr index_t mr = tile::mr, nr = tile::nr;
  if (i0 >= i1 || j0 >= j1) return;
  if (k == 0) return gemm_scale(c, ldc, i0, i1, j0, j1, beta);
  const index_t nb = j1 - j0, kc = std::min(tile::kc, k);
  const bool direct_a = a.cs == 1, direct_b = b.cs == 1 && i1 - i0 <= 2 * mr;
  T* pb = direct_b ? nullptr : gemm_scratch<T, 0>(kc * ((nb + nr - 1) / nr * nr));
  T* pa = direct_a ? nullptr : gemm_scratch<T, 1>(kc * tile::mc);
  for (index_t p0 = 0; p0 < k; p0 += tile::kc) {
    const index_t kb = std::min(tile::kc, k - p0);
    const bool first = p0 == 0;
    if (!direct_b) gemm_pack_b(pb, b, j0, nb, p0, kb, 0, kb);
    for (index_t ic = i0; ic < i1; ic += tile::mc) {
      const index_t mb = std::min(tile::mc, i1 - ic);
      if (!direct_a) gemm_pack_a(pa, a, ic, mb, p0, kb, 0, kb);
      gemm_tiles(c, ldc, a, direct_a, pa, ic, b, direct_b, pb, j0, p0, kb, ic, ic + mb, j0, j1, alpha, first ? beta : T(1),
                 first && beta == T(0));
    }
  }
}

// c[m, n] = alpha·a·b + beta·c for fewer rows than one tile (a single token's activations): no
// packing, which would cost more than the product. b row-major: its rows stream front to back, four
// at a time, into a row of accumulators that stays in L1 (memory-bound on b, as a GEMV is); b
// transposed (a weight read as Wᵀ): dot products of contiguous rows.
template <class T>
void gemm_few_rows(T* c, index_t ldc, index_t m, index_t n, index_t k, gemm_operand<T> a, gemm_operand<T> b, T alpha, T beta) {
  using B = simd::batch<T>;
  constexpr index_t w = simd::width<T>;
  auto put = [&](T* ci, index_t j, T v) { ci[j] = alpha * v + (beta == T(0) ? T(0) : beta * ci[j]); };
  for (index_t i = 0; i < m; ++i) {
    T* ci = c + i * ldc;
    const T* ai = a.p + i * a.rs;
    if (b.cs == 1) {
      T* acc = gemm_scratch<T, 3>(n);
      std::fill(acc, acc + n, T(0));
      const index_t vn = n / w * w;
      index_t p = 0;
      for (; p + 4 <= k; p += 4) {
        const T x0 = ai[p * a.cs], x1 = ai[(p + 1) * a.cs], x2 = ai[(p + 2) * a.cs], x3 = ai[(p + 3) * a.cs];
        const T *b0 = b.p + p * b.rs, *b1 = b0 + b.rs, *b2 = b1 + b.rs, *b3 = b2 + b.rs;
        const B v0(x0), v1(x1), v2(x2), v3(x3);
        for (index_t j = 0; j < vn; j += w) {
          B s0 = simd::fma(v0, simd::load(b0 + j), simd::load(acc + j));
          s0 = simd::fma(v1, simd::load(b1 + j), s0);
          s0 = simd::fma(v2, simd::load(b2 + j), s0);
          simd::store(acc + j, simd::fma(v3, simd::load(b3 + j), s0));
        }
        for (index_t j = vn; j < n; ++j) acc[j] = x3 * b3[j] + (x2 * b2[j] + (x1 * b1[j] + (x0 * b0[j] + acc[j])));
      }
      for (; p < k; ++p) {
        const T x0 = ai[p * a.cs];
        const T* b0 = b.p + p * b.rs;
        const B v0(x0);
        for (index_t j = 0; j < vn; j += w) simd::store(acc + j, simd::fma(v0, simd::load(b0 + j), simd::load(acc + j)));
        for (index_t j = vn; j < n; ++j) acc[j] += x0 * b0[j];
      }
      for (index_t j = 0; j < n; ++j) put(ci, j, acc[j]);
    } else if (b.rs == 1 && a.cs == 1) {
      for (index_t j = 0; j < n; ++j) {
        const T* bj = b.p + j * b.cs;
        put(ci, j, simd::sum<T>(k, [&](index_t p) { return simd::load(ai + p) * simd::load(bj + p); },
                                [&](index_t p) { return ai[p] * bj[p]; }));
      }
    } else {
      for (index_t j = 0; j < n; ++j) {
        T s0 = 0;
        for (index_t p = 0; p < k; ++p) s0 += ai[p * a.cs] * b.p[p * b.rs + j * b.cs];
        put(ci, j, s0);
      }
    }
  }
}

// Below this many multiply-adds a GEMM runs on the calling thread.
inline constexpr index_t cpu_gemm_parallel_threshold = index_t(1) << 18;

// c[m, n] (row-major, row stride ldc) = alpha·a·b + beta·c. Splits c's tiles between the threads
// along whichever of its dimensions has more of them (each thread packs what it reads; a shared
// packing with dynamic tile scheduling measured slower here); inside a parallel region it stays
// serial.
template <class T>
void packed_gemm(T* c, index_t ldc, index_t m, index_t n, index_t k, gemm_operand<T> a, gemm_operand<T> b, T alpha, T beta) {
  using tile = gemm_tile<T>;
  if (m <= 0 || n <= 0) return;
  const index_t row_panels = (m + tile::mr - 1) / tile::mr, col_panels = (n + tile::nr - 1) / tile::nr;
  bool parallel = m * n * std::max<index_t>(k, 1) >= cpu_gemm_parallel_threshold && row_panels * col_panels > 1;
#if defined(_OPENMP)
  parallel = parallel && omp_get_max_threads() > 1 && !omp_in_parallel();
#else
  parallel = false;
#endif
  if (m < tile::mr) return gemm_few_rows(c, ldc, m, n, k, a, b, alpha, beta);  // (always serial)
  if (!parallel) return gemm_block(c, ldc, a, b, k, 0, m, 0, n, alpha, beta);
#pragma omp parallel
  {
    if (row_panels >= col_panels) {
      const auto [lo, hi] = cpu_thread_share(row_panels);
      gemm_block(c, ldc, a, b, k, lo * tile::mr, std::min(m, hi * tile::mr), 0, n, alpha, beta);
    } else {
      const auto [lo, hi] = cpu_thread_share(col_panels);
      gemm_block(c, ldc, a, b, k, 0, m, lo * tile::nr, std::min(n, hi * tile::nr), alpha, beta);
    }
  }
}

}  // namespace wfc::detail
