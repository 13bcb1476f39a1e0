#pragma once
// Rotary position embedding in parallel over rows. The frequencies are computed once per call and
// each (row, pair) angle's cos and sin once for all heads; any strides work (x is often the q or k
// column slice of a wider qkv buffer).
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
  const index_t half = head_width / 2, cols = x.extent(1), cs = x.stride(1);
  std::vector<double> frequency(static_cast<std::size_t>(half));
  for (index_t i = 0; i < half; ++i) frequency[std::size_t(i)] = detail::rotary_frequency(i, head_width, base);
  detail::cpu_for_each_row(x, [&](index_t r) {
    T* row = row_data(x, r);
    const double position = double(positions(r));
    for (index_t i = 0; i < half; ++i) {
      const double angle = position * frequency[std::size_t(i)];
      const double s = std::sin(angle);
      const T cos_angle = T(std::cos(angle)), sin_angle = T(inverse ? -s : s);
      for (index_t h = i; h < cols; h += head_width) detail::rotate_pair(row[h * cs], row[(h + half) * cs], cos_angle, sin_angle);
    }
  });
}

}  // namespace wfc
