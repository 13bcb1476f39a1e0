#pragma once
// GEMM on our own packed kernel (packed_gemm.hpp) for every view whose output has a unit stride
// (row-major c directly, a column-major c as cᵀ = bᵀ·aᵀ); a and b may have any strides. A doubly
// strided c (rare) goes through Eigen, which evaluates into a temporary and scatters.
#include "wfc/backend/cpu/third_party.hpp"  // Eigen

#include "wfc/backend/cpu/packed_gemm.hpp"
#include "wfc/backend/cpu/parallel.hpp"
#include "wfc/backend/cpu/tag.hpp"
#include "wfc/kernels/checks.hpp"

namespace wfc {

namespace detail {

template <class T, int Order, class Stride>
using eigen_matrix_map =
    Eigen::Map<std::conditional_t<std::is_const_v<T>, const Eigen::Matrix<std::remove_const_t<T>, Eigen::Dynamic, Eigen::Dynamic, Order>,
                                  Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Order>>,
               Eigen::Unaligned, Stride>;

enum class eigen_layout { row_major, col_major, strided };

template <class T>
eigen_layout layout_of(const tensor_view<T, 2>& v) {
  if (v.stride(1) == 1 || v.extent(1) <= 1) return eigen_layout::row_major;
  if (v.stride(0) == 1 || v.extent(0) <= 1) return eigen_layout::col_major;
  return eigen_layout::strided;
}

template <class C, class A, class B, class T>
void eigen_gemm(C&& c, const A& a, const B& b, T alpha, T beta) {
  if (beta == T(0)) {
    c.noalias() = alpha * a * b;
  } else {
    if (beta != T(1)) c *= beta;
    c.noalias() += alpha * a * b;
  }
}

template <class T>
void cpu_gemm(tensor_view<T, 2> c, tensor_view<const T, 2> a, tensor_view<const T, 2> b, T alpha, T beta) {
  if (c.empty()) return;
  // A column-major c is the row-major cᵀ = bᵀ·aᵀ: one fewer layout to instantiate.
  if (layout_of(c) == eigen_layout::col_major)
    return cpu_gemm(transpose(c), transpose(b), transpose(a), alpha, beta);
  if (layout_of(c) == eigen_layout::strided) {
    // Rare (a doubly strided output): Eigen evaluates into a temporary and scatters.
    using M = eigen_matrix_map<T, Eigen::RowMajor, Eigen::Stride<Eigen::Dynamic, Eigen::Dynamic>>;
    using CM = eigen_matrix_map<const T, Eigen::RowMajor, Eigen::Stride<Eigen::Dynamic, Eigen::Dynamic>>;
    M cm(c.data(), c.extent(0), c.extent(1), {c.stride(0), c.stride(1)});
    CM am(a.data(), a.extent(0), a.extent(1), {a.stride(0), a.stride(1)});
    CM bm(b.data(), b.extent(0), b.extent(1), {b.stride(0), b.stride(1)});
    return eigen_gemm(cm, am, bm, alpha, beta);
  }
  packed_gemm<T>(c.data(), c.extent(0) <= 1 ? std::max<index_t>(c.extent(1), 1) : c.stride(0), c.extent(0), c.extent(1),
                 a.extent(1), {a.data(), a.stride(0), a.stride(1)}, {b.data(), b.stride(0), b.stride(1)}, alpha, beta);
}

}  // namespace detail

template <class T>
void gemm(cpu, tensor_view<T, 2> c, in_view<T, 2> a, in_view<T, 2> b, detail::same_t<T> alpha = 1,
          detail::same_t<T> beta = 0) {
  detail::check_gemm("gemm", c, a, b);
  // Fewer rows than one tile (a token at a time when sampling) run a serial, memory-bound GEMV
  // that streams all of b: split c's columns into fixed chunks (the same for any thread count, so
  // results do not depend on it) and stream b's column blocks on every thread.
  constexpr index_t columns_per_chunk = 64;
  if (c.extent(0) < detail::gemm_tile<T>::mr && c.extent(1) > columns_per_chunk) {
    const index_t n = c.extent(1), chunks = (n + columns_per_chunk - 1) / columns_per_chunk;
    return detail::cpu_parallel_for(chunks, c.extent(0) * n * a.extent(1), [&](index_t j) {
      const index_t j0 = j * columns_per_chunk, j1 = std::min(n, j0 + columns_per_chunk);
      detail::cpu_gemm<T>(c.slice(1, j0, j1), a, b.slice(1, j0, j1), alpha, beta);
    });
  }
  detail::cpu_gemm<T>(c, a, b, alpha, beta);
}

// One GEMM per batch entry (attention heads). With at least one entry per thread, each thread
// takes whole GEMMs (each then runs serially inside the region); with fewer, the entries run one
// after the other and each GEMM is threaded.
template <class T>
void batched_gemm(cpu, tensor_view<T, 3> c, in_view<T, 3> a, in_view<T, 3> b, detail::same_t<T> alpha = 1,
                  detail::same_t<T> beta = 0) {
  detail::check_gemm("batched_gemm", c, a, b);
  const index_t batches = c.extent(0);
  const index_t work = batches * c.extent(1) * c.extent(2) * std::max<index_t>(a.extent(2), 1);
  detail::cpu_parallel_for(
      batches, batches >= detail::cpu_max_threads() ? work : 0,
      [&](index_t p) { detail::cpu_gemm<T>(c[p], a[p], b[p], alpha, beta); });
}

// Two batch dimensions (sequences × heads): one parallel region over every pair, each GEMM on one
// thread.
template <class T>
void batched_gemm(cpu, tensor_view<T, 4> c, in_view<T, 4> a, in_view<T, 4> b, detail::same_t<T> alpha = 1,
                  detail::same_t<T> beta = 0) {
  detail::check_gemm("batched_gemm", c, a, b);
  const index_t inner = c.extent(1), batches = c.extent(0) * inner;
  const index_t work = batches * c.extent(2) * c.extent(3) * std::max<index_t>(a.extent(3), 1);
  detail::cpu_parallel_for(batches, batches >= detail::cpu_max_threads() ? work : 0, [&](index_t p) {
    const index_t o = p / inner, i = p % inner;
    detail::cpu_gemm<T>(c[o][i], a[o][i], b[o][i], alpha, beta);
  });
}

}  // namespace wfc
