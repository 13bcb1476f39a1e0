#pragma once
// Random fills: element (r, c) of an [R, C] view takes the generator's value at offset + r·C + c,
// so every backend and thread count gives the same numbers.
#include "wfc/backend/reference/tag.hpp"
#include "wfc/core/rng.hpp"

namespace wfc {

template <class T>
void fill_uniform(reference, tensor_view<T, 2> x, const counter_rng& rng, detail::same_t<T> lo,
                  detail::same_t<T> hi, std::uint64_t offset = 0) {
  for (index_t r = 0; r < x.extent(0); ++r)
    for (index_t c = 0; c < x.extent(1); ++c)
      x(r, c) = lo + (hi - lo) * rng.uniform<T>(offset + std::uint64_t(r * x.extent(1) + c));
}

template <class T>
void fill_normal(reference, tensor_view<T, 2> x, const counter_rng& rng, detail::same_t<T> mean,
                 detail::same_t<T> stddev, std::uint64_t offset = 0) {
  for (index_t r = 0; r < x.extent(0); ++r)
    for (index_t c = 0; c < x.extent(1); ++c)
      x(r, c) = mean + stddev * rng.normal<T>(offset + std::uint64_t(r * x.extent(1) + c));
}

}  // namespace wfc
