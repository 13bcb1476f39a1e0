#pragma once
// nanoGPT's learning-rate schedule: linear warm-up, then cosine decay to a floor.
#include <cmath>
#include <cstdint>

#include "wfc/core/error.hpp"

namespace wfc {

struct cosine_schedule {
  double max_lr = 1e-3, min_lr = 1e-4;
  std::int64_t warmup = 100, decay_steps = 2000;

  // The rate for 0-based step `it`.
  double at(std::int64_t it) const {
    if (!(max_lr >= min_lr && min_lr >= 0 && warmup >= 0 && decay_steps > warmup))
      throw config_error("cosine_schedule: need max_lr >= min_lr >= 0 and decay_steps > warmup >= 0");
    if (it < warmup) return max_lr * double(it + 1) / double(warmup + 1);
    if (it > decay_steps) return min_lr;
    const double ratio = double(it - warmup) / double(decay_steps - warmup);
    return min_lr + 0.5 * (1.0 + std::cos(3.141592653589793 * ratio)) * (max_lr - min_lr);
  }
};

}  // namespace wfc
