#pragma once
// Random fills: element (r, c) of an [R, C] view takes the generator's value at offset + r·C + c,
// so the numbers are those of every other backend, whatever the thread layout.
#include <cstdint>

#include "wfc/backend/kokkos/parallel.hpp"
#include "wfc/core/rng.hpp"

namespace wfc {

namespace detail {

template <class T>
struct kokkos_fill_uniform {
  tensor_view<T, 2> x;
  counter_rng rng;
  T lo, hi;
  std::uint64_t offset;
  KOKKOS_INLINE_FUNCTION void operator()(index_t r, index_t c) const {
    x(r, c) = lo + (hi - lo) * rng.uniform<T>(offset + std::uint64_t(r * x.extent(1) + c));
  }
};

template <class T>
struct kokkos_fill_normal {
  tensor_view<T, 2> x;
  counter_rng rng;
  T mean, stddev;
  std::uint64_t offset;
  KOKKOS_INLINE_FUNCTION void operator()(index_t r, index_t c) const {
    x(r, c) = mean + stddev * rng.normal<T>(offset + std::uint64_t(r * x.extent(1) + c));
  }
};

}  // namespace detail

template <class ES, class T>
void fill_uniform(kokkos<ES>, tensor_view<T, 2> x, const counter_rng& rng, detail::same_t<T> lo, detail::same_t<T> hi,
                  std::uint64_t offset = 0) {
  detail::kokkos_for_each_element<ES>("wfc::fill_uniform", x.extent(0), x.extent(1),
                                      detail::kokkos_fill_uniform<T>{x, rng, lo, hi, offset});
}

template <class ES, class T>
void fill_normal(kokkos<ES>, tensor_view<T, 2> x, const counter_rng& rng, detail::same_t<T> mean, detail::same_t<T> stddev,
                 std::uint64_t offset = 0) {
  detail::kokkos_for_each_element<ES>("wfc::fill_normal", x.extent(0), x.extent(1),
                                      detail::kokkos_fill_normal<T>{x, rng, mean, stddev, offset});
}

}  // namespace wfc
