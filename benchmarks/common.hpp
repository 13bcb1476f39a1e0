#pragma once
// What the kernel benchmarks share: the shapes of the model they stand for, the backends this
// build has, random tensors on any backend, throughput counters, and one naming scheme,
// "<kernel>/<case>/<backend>", that report.py reads back.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "wfc/wfc.hpp"

namespace wfc_bench {

using wfc::index_t;

// The "baby GPT" of nanoGPT's README (shakespeare_char on a CPU): batch 12, block 64, 128
// channels, 4 heads, 4 layers, a 65-character vocabulary.
namespace gpt {
inline constexpr index_t batch = 12;
inline constexpr index_t block = 64;
inline constexpr index_t channels = 128;
inline constexpr index_t heads = 4;
inline constexpr index_t layers = 4;
inline constexpr index_t vocab = 65;

inline constexpr index_t rows = batch * block;            // 768 token rows
inline constexpr index_t hidden = 4 * channels;           // 512: the MLP's inner width
inline constexpr index_t head_dim = channels / heads;     // 32
inline constexpr index_t attention_batch = heads * batch; // 48 score matrices of [block, block]
// Every parameter (the output head is tied to the token embedding): the buffer AdamW walks.
inline constexpr index_t parameters =
    vocab * channels + block * channels + layers * (12 * channels * channels + 13 * channels) + 2 * channels;
}  // namespace gpt

// ---- backends ----------------------------------------------------------------------------------

template <class B>
struct is_kokkos : std::false_type {};
#if defined(WFC_HAVE_KOKKOS)
template <class E>
struct is_kokkos<wfc::kokkos<E>> : std::true_type {};
#endif

// Waits for the backend's queued work: Kokkos kernels may return before they finish.
template <class B>
void fence(B) {
#if defined(WFC_HAVE_KOKKOS)
  if constexpr (is_kokkos<B>::value) Kokkos::fence();
#endif
}

// f(backend tag) for every backend this build has; the reference loops always come first.
template <class F>
void for_each_backend(F&& f) {
  f(wfc::reference{});
#if defined(WFC_HAVE_CPU)
  f(wfc::cpu{});
#endif
#if defined(WFC_HAVE_KOKKOS)
  f(wfc::kokkos<>{});
#endif
}

// Runs `kernel` once per iteration; the fence sits inside the timed region.
template <class B, class F>
void time_kernel(benchmark::State& state, F&& kernel) {
  for (auto _ : state) {
    kernel();
    fence(B{});
  }
}

// ---- data --------------------------------------------------------------------------------------

// Values uniform in [lo, hi), the same on every backend and in every run. Each operand gets its
// own stream.
template <class T>
std::vector<T> random_values(index_t n, std::uint64_t stream, T lo = T(-1), T hi = T(1)) {
  const wfc::counter_rng rng(20240601, stream);
  std::vector<T> host(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < host.size(); ++i) host[i] = lo + (hi - lo) * rng.uniform<T>(i);
  return host;
}

// A tensor on backend B holding random_values (generated on the host, then copied over).
template <class T, std::size_t Rank, class B>
wfc::tensor<T, Rank, B> random_tensor(wfc::shape<Rank> extents, std::uint64_t stream, T lo = T(-1), T hi = T(1)) {
  return wfc::tensor<T, Rank, B>(extents, random_values<T>(extents.size(), stream, lo, hi));
}

template <class B>
wfc::tensor<wfc::token_id, 1, B> random_ids(index_t n, index_t classes, std::uint64_t stream) {
  const wfc::counter_rng rng(20240601, stream);
  std::vector<wfc::token_id> host(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < host.size(); ++i)
    host[i] = static_cast<wfc::token_id>(rng.uniform<double>(i) * double(classes));
  return wfc::tensor<wfc::token_id, 1, B>(wfc::shape<1>{{n}}, host);
}

// A causal mask [n, n]: row r keeps columns c <= r.
template <class B>
wfc::tensor<bool, 2, B> causal_keep_mask(index_t n) {
  std::vector<bool> host(static_cast<std::size_t>(n * n));
  for (index_t r = 0; r < n; ++r)
    for (index_t c = 0; c < n; ++c) host[std::size_t(r * n + c)] = c <= r;
  return wfc::tensor<bool, 2, B>(wfc::shape<2>{{n, n}}, host);
}

// The same mask as an additive one: 0 where kept, −inf where excluded.
template <class T, class B>
wfc::tensor<T, 2, B> causal_additive_mask(index_t n) {
  std::vector<T> host(static_cast<std::size_t>(n * n));
  for (index_t r = 0; r < n; ++r)
    for (index_t c = 0; c < n; ++c)
      host[std::size_t(r * n + c)] = c <= r ? T(0) : -std::numeric_limits<T>::infinity();
  return wfc::tensor<T, 2, B>(wfc::shape<2>{{n, n}}, host);
}

// ---- counters ----------------------------------------------------------------------------------
// Each counter is given per iteration and divided by the (wall-clock) time of the run, so its
// value is already in the unit its name says.

inline void count_flops(benchmark::State& state, double flops_per_call) {
  state.counters["GFLOP/s"] = benchmark::Counter(flops_per_call * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

// Bytes a kernel must move at least: every input read once, every output written once (an
// accumulated output is read and written).
inline void count_bytes(benchmark::State& state, double bytes_per_call) {
  state.counters["GB/s"] = benchmark::Counter(bytes_per_call * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

template <class T = float>
constexpr double bytes_of(index_t elements) {
  return double(elements) * double(sizeof(T));
}

// ---- registration ------------------------------------------------------------------------------

// Registers `body(state)` as "<kernel>/<shape>/<backend>", timed by the wall clock: the CPU
// backend runs on several threads, and rates must be per second of waiting, not of CPU time.
template <class F>
benchmark::internal::Benchmark* add(const std::string& kernel, const std::string& shape, const char* backend, F&& body) {
  const std::string name = kernel + "/" + shape + "/" + backend;
  return benchmark::RegisterBenchmark(name.c_str(), std::forward<F>(body))->UseRealTime()->Unit(benchmark::kMicrosecond);
}

// The reference backend is a scalar baseline: its large GEMMs take tenths of a second a call.
// Those (over 50 ms a call, by estimate) run a fixed count of calls, about 0.3 s in all, whatever
// --benchmark_min_time says.
template <class B>
void bound_if_slow(benchmark::internal::Benchmark* b, double flops_per_call) {
  if constexpr (std::is_same_v<B, wfc::reference>) {
    constexpr double reference_flops_per_second = 1e9;  // measured here: 0.7 to 2.8 GFLOP/s
    const double seconds_per_call = flops_per_call / reference_flops_per_second;
    if (seconds_per_call > 0.05)
      b->Iterations(std::max<benchmark::IterationCount>(2, benchmark::IterationCount(0.3 / seconds_per_call)));
  }
}

// Registers one benchmark per backend, next to each other: make(backend tag) returns the body,
// a callable taking benchmark::State&. flops_per_call, when given, bounds the reference run.
template <class Make>
void add_all(const std::string& kernel, const std::string& shape, Make make, double flops_per_call = 0) {
  for_each_backend([&](auto be) {
    using B = decltype(be);
    auto* b = add(kernel, shape, B::name, make(be));
    if (flops_per_call > 0) bound_if_slow<B>(b, flops_per_call);
  });
}

inline std::string dims(std::initializer_list<std::pair<const char*, index_t>> named) {
  std::string out;
  for (const auto& [label, value] : named) {  // appended piece by piece: GCC 12's -Wrestrict misfires on a + chain
    if (!out.empty()) out += '_';
    out += label;
    out += std::to_string(value);
  }
  return out;
}

}  // namespace wfc_bench
