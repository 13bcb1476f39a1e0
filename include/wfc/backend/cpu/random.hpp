#pragma once
// Random fills in parallel over rows; each element's value depends only on its index.
#include "wfc/backend/cpu/parallel.hpp"
#include "wfc/backend/cpu/tag.hpp"
#include "wfc/core/rng.hpp"

namespace wfc {

template <class T>
void fill_uniform(cpu, tensor_view<T, 2> x, const counter_rng& rng, detail::same_t<T> lo, detail::same_t<T> hi,
                  std::uint64_t offset = 0) {
  const index_t cols = x.extent(1);
  detail::cpu_for_each_row(x, [&](index_t r) {
    for (index_t c = 0; c < cols; ++c) x(r, c) = lo + (hi - lo) * rng.uniform<T>(offset + std::uint64_t(r * cols + c));
  });
}

template <class T>
void fill_normal(cpu, tensor_view<T, 2> x, const counter_rng& rng, detail::same_t<T> mean, detail::same_t<T> stddev,
                 std::uint64_t offset = 0) {
  const index_t cols = x.extent(1);
  detail::cpu_for_each_row(x, [&](index_t r) {
    for (index_t c = 0; c < cols; ++c) x(r, c) = mean + stddev * rng.normal<T>(offset + std::uint64_t(r * cols + c));
  });
}

}  // namespace wfc
