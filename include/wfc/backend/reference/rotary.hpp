#pragma once
// Rotary position embedding (RoPE, GPT-NeoX / LLaMA "rotate half" layout), in place on x
// [rows, heads·head_width]: in every head, features i and i + head_width/2 of row r turn by the
// angle positions[r]·base^(−2i/head_width), i < head_width/2. The inverse turns by the negative
// angle; a rotation is orthogonal, so that is also the backward pass (dx = R(−θ)·dy).
// The contract and the scalar formulas below are shared by every backend.
#include <cmath>
#include <string>

#include "wfc/backend/reference/tag.hpp"
#include "wfc/kernels/checks.hpp"

namespace wfc {

namespace detail {

template <class X>
void check_rotary(const char* op, const X& x, tensor_view<const token_id, 1> positions, index_t head_width, double base) {
  if (head_width <= 0 || head_width % 2 != 0)
    throw config_error(std::string(op) + ": head_width must be positive and even (feature i turns with i + head_width/2), got " +
                       std::to_string(head_width));
  require(x.extent(1) % head_width == 0, op,
          [&] { return "x has shape " + to_string(x.extents()) + ", whose " + std::to_string(x.extent(1)) +
              " columns are not a whole number of heads of width " + std::to_string(head_width); });
  require(positions.extent(0) == x.extent(0), op,
          [&] { return "positions has shape " + to_string(positions.extents()) + " but x has shape " + to_string(x.extents()) +
              " (need one position per row of x)"; });
  if (!(base > 0) || !std::isfinite(base))
    throw config_error(std::string(op) + ": base must be positive and finite, got " + std::to_string(base));
}

inline void position_error(const char* op, index_t row, token_id position) {
  throw value_error(std::string(op) + ": position " + std::to_string(position) + " at row " + std::to_string(row) +
                    " is negative");
}

// Positions are read on the host here; device backends find the first negative one in a reduction.
inline void validate_positions_on_host(const char* op, tensor_view<const token_id, 1> positions) {
  for (index_t r = 0; r < positions.extent(0); ++r)
    if (positions(r) < 0) position_error(op, r, positions(r));
}

// The angle per unit of position of pair i: base^(−2i/head_width), in double.
inline double rotary_frequency(index_t i, index_t head_width, double base) {
  return std::pow(base, -2.0 * double(i) / double(head_width));
}

// (a, b) ← (a·cos − b·sin, a·sin + b·cos)
template <class T>
WFC_HOST_DEVICE void rotate_pair(T& a, T& b, T cos_angle, T sin_angle) {
  const T a0 = a, b0 = b;
  a = a0 * cos_angle - b0 * sin_angle;
  b = a0 * sin_angle + b0 * cos_angle;
}

}  // namespace detail

template <class T>
void rotary_embedding(reference, tensor_view<T, 2> x, in_view<token_id, 1> positions, index_t head_width, double base,
                      bool inverse) {
  detail::check_rotary("rotary_embedding", x, positions, head_width, base);
  detail::validate_positions_on_host("rotary_embedding", positions);
  const index_t half = head_width / 2;
  for (index_t r = 0; r < x.extent(0); ++r)
    for (index_t h = 0; h < x.extent(1); h += head_width)
      for (index_t i = 0; i < half; ++i) {
        const double angle = double(positions(r)) * detail::rotary_frequency(i, head_width, base);
        const double s = std::sin(angle);
        detail::rotate_pair(x(r, h + i), x(r, h + half + i), T(std::cos(angle)), T(inverse ? -s : s));
      }
}

}  // namespace wfc
