#pragma once
// Rotary position embedding in parallel over rows. The frequencies are computed once per call and
// each angle's cos and sin once for all heads (and once per position where rows repeat positions);
// any strides work (x is often the q or k column slice of a wider qkv buffer).
#include <algorithm>
#include <cmath>
#include <vector>

#include "wfc/backend/cpu/parallel.hpp"
#include "wfc/backend/cpu/tag.hpp"
#include "wfc/backend/reference/rotary.hpp"

namespace wfc {

template <class T>
void rotary_embedding(cpu, tensor_view<T, 2> x, in_view<token_id, 1> positions, index_t head_width, double base,
                      bool inverse) {
  detail::check_rotary("rotary_embedding", x, positions, head_width, base);
  detail::validate_positions_on_host("rotary_embedding", positions);
  if (x.empty()) return;
  const index_t half = head_width / 2, cols = x.extent(1), cs = x.stride(1), rows = x.extent(0);
  std::vector<double> frequency(static_cast<std::size_t>(half));
  for (index_t i = 0; i < half; ++i) frequency[std::size_t(i)] = detail::rotary_frequency(i, head_width, base);
  auto turn = [&](T* row, index_t i, T cos_angle, T sin_angle) {
    for (index_t h = i; h < cols; h += head_width) detail::rotate_pair(row[h * cs], row[(h + half) * cs], cos_angle, sin_angle);
  };
  // A batch of sequences repeats positions 0 … T−1, so where the positions span fewer values than
  // there are rows, each position's cos and sin are computed once (the same double arithmetic, so
  // the same values) instead of once per row: sincos was a tenth of a small model's training step.
  token_id lo = positions(0), hi = positions(0);
  for (index_t r = 1; r < rows; ++r) lo = std::min(lo, positions(r)), hi = std::max(hi, positions(r));
  const index_t span = index_t(hi) - index_t(lo) + 1;
  if (span < rows) {
    std::vector<T> cosines(std::size_t(span * half)), sines(std::size_t(span * half));
    for (index_t p = 0; p < span; ++p)
      for (index_t i = 0; i < half; ++i) {
        const double angle = double(index_t(lo) + p) * frequency[std::size_t(i)];
        const double s = std::sin(angle);
        cosines[std::size_t(p * half + i)] = T(std::cos(angle)), sines[std::size_t(p * half + i)] = T(inverse ? -s : s);
      }
    detail::cpu_for_each_row(x, [&](index_t r) {
      const std::size_t at = std::size_t((index_t(positions(r)) - index_t(lo)) * half);
      for (index_t i = 0; i < half; ++i) turn(row_data(x, r), i, cosines[at + std::size_t(i)], sines[at + std::size_t(i)]);
    });
    return;
  }
  detail::cpu_for_each_row(x, [&](index_t r) {
    const double position = double(positions(r));
    for (index_t i = 0; i < half; ++i) {
      const double angle = position * frequency[std::size_t(i)];
      const double s = std::sin(angle);
      turn(row_data(x, r), i, T(std::cos(angle)), T(inverse ? -s : s));
    }
  });
}

}  // namespace wfc
