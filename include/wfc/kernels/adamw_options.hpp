#pragma once
// Settings of one AdamW step (Loshchilov & Hutter: weight decay decoupled from the gradient).
#include <cmath>
#include <cstdint>

#include "wfc/core/error.hpp"

namespace wfc {

struct adamw_options {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;  // the caller passes 0 for biases and norms
  std::int64_t step = 1;      // 1 for the first step: bias correction uses it
};

namespace detail {
inline void check_adamw_options(const adamw_options& o) {
  const bool ok = o.step >= 1 && o.lr >= 0 && o.beta1 >= 0 && o.beta1 < 1 && o.beta2 >= 0 &&
                  o.beta2 < 1 && o.eps > 0 && o.weight_decay >= 0 && std::isfinite(o.lr);
  if (!ok)
    throw value_error("adamw_step: need step >= 1, lr >= 0, betas in [0, 1), eps > 0, weight_decay >= 0");
}

// Per-step constants folded once on the host.
struct adamw_coefficients {
  double decay;      // 1 − lr·wd
  double step_size;  // lr / (1 − β1^t)
  double inv_bias2;  // 1 / sqrt(1 − β2^t)
};

inline adamw_coefficients adamw_coefficients_of(const adamw_options& o) {
  const double t = static_cast<double>(o.step);
  return {1.0 - o.lr * o.weight_decay, o.lr / (1.0 - std::pow(o.beta1, t)),
          1.0 / std::sqrt(1.0 - std::pow(o.beta2, t))};
}
}  // namespace detail

}  // namespace wfc
