#pragma once
// Rotary position embedding: one thread per (row, pair i), which turns pair i of every head of its
// row by the same angle. Neighbouring threads touch neighbouring columns, and any strides work (x
// is often the q or k column slice of a wider qkv buffer). Positions are checked on the device first.
#include "wfc/backend/kokkos/math.hpp"
#include "wfc/backend/kokkos/parallel.hpp"
#include "wfc/backend/reference/rotary.hpp"

namespace wfc {

namespace detail {

template <class T>
struct kokkos_rotary_embedding {
  tensor_view<T, 2> x;
  tensor_view<const token_id, 1> positions;
  index_t head_width;
  double base, sign;  // sign −1 turns backwards

  KOKKOS_INLINE_FUNCTION void operator()(index_t r, index_t i) const {
    const double frequency = kokkos_math::pow(base, -2.0 * double(i) / double(head_width));
    const double angle = double(positions(r)) * frequency;
    const T cos_angle = T(kokkos_math::cos(angle)), sin_angle = T(sign * kokkos_math::sin(angle));
    const index_t half = head_width / 2;
    for (index_t h = i; h < x.extent(1); h += head_width) rotate_pair(x(r, h), x(r, h + half), cos_angle, sin_angle);
  }
};

// The smallest row whose position is negative (a Min reduction; none leaves the identity).
struct kokkos_first_negative_position {
  tensor_view<const token_id, 1> positions;

  KOKKOS_INLINE_FUNCTION void operator()(index_t i, index_t& first) const {
    if (i < first && positions(i) < 0) first = i;
  }
};

// The device counterpart of validate_positions_on_host: same first offending row, same message.
template <class ES>
void kokkos_validate_positions(const char* op, tensor_view<const token_id, 1> positions) {
  const index_t n = positions.extent(0);
  if (n == 0) return;
  index_t first = n;
  Kokkos::parallel_reduce(op, kokkos_range_policy<ES>(0, n), kokkos_first_negative_position{positions},
                          Kokkos::Min<index_t>(first));
  if (first >= n) return;
  token_id position = 0;
  Kokkos::View<token_id, Kokkos::HostSpace, Kokkos::MemoryUnmanaged> host(&position);
  Kokkos::View<const token_id, typename ES::memory_space, Kokkos::MemoryUnmanaged> device(
      positions.data() + first * positions.stride(0));
  Kokkos::deep_copy(host, device);
  position_error(op, first, position);
}

}  // namespace detail

template <class ES, class T>
void rotary_embedding(kokkos<ES>, tensor_view<T, 2> x, in_view<token_id, 1> positions, index_t head_width, double base,
                      bool inverse) {
  detail::check_rotary("rotary_embedding", x, positions, head_width, base);
  detail::kokkos_validate_positions<ES>("rotary_embedding", positions);
  if (x.empty()) return;
  detail::kokkos_for_each_element<ES>(
      "wfc::rotary_embedding", x.extent(0), head_width / 2,
      detail::kokkos_rotary_embedding<T>{x, positions, head_width, base, inverse ? -1.0 : 1.0});
}

}  // namespace wfc
