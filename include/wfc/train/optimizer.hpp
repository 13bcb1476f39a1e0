#pragma once
// AdamW over a model's flat parameter buffer, the nanoGPT recipe: gradients clipped by their global
// norm, weight decay on matrices only (the layout says which), one kernel call per run of tensors
// that share a decay setting.
#include <cmath>
#include <vector>

#include "wfc/nn/parameters.hpp"

namespace wfc {

struct adamw_settings {
  double beta1 = 0.9, beta2 = 0.99, eps = 1e-8, weight_decay = 0.1;
  double clip = 1.0;  // largest global gradient norm; 0 turns clipping off
};

template <class T, class Backend>
class adamw_optimizer {
 public:
  adamw_optimizer(const nn::parameter_layout& layout, adamw_settings settings)
      : settings_(settings), m_(shape<1>{{layout.size()}}), v_(shape<1>{{layout.size()}}) {
    for (const auto& spec : layout.specs()) {
      if (!runs_.empty() && runs_.back().decay == spec.weight_decay && runs_.back().end == spec.offset)
        runs_.back().end = spec.offset + spec.size;
      else
        runs_.push_back({spec.offset, spec.offset + spec.size, spec.weight_decay});
    }
  }

  // One step at learning rate lr. Returns the gradient norm before clipping; a non-finite norm
  // throws (the parameters are left as they were).
  double step(tensor_view<T, 1> params, tensor_view<T, 1> grads, double lr) {
    const Backend be{};
    const double norm = std::sqrt(double(squared_norm(be, as_const(grads))));
    if (!std::isfinite(norm))
      throw value_error("adamw_optimizer: the gradient norm is " + std::to_string(norm) +
                        " at step " + std::to_string(steps_ + 1) + "; lower the learning rate or check the data");
    if (settings_.clip > 0 && norm > settings_.clip) scale(be, grads, T(settings_.clip / norm));
    ++steps_;
    adamw_options o;
    o.lr = lr;
    o.beta1 = settings_.beta1;
    o.beta2 = settings_.beta2;
    o.eps = settings_.eps;
    o.step = steps_;
    for (const auto& r : runs_) {
      o.weight_decay = r.decay ? settings_.weight_decay : 0.0;
      adamw_step(be, params.slice(0, r.begin, r.end), as_const(grads.slice(0, r.begin, r.end)), m_.view().slice(0, r.begin, r.end),
                 v_.view().slice(0, r.begin, r.end), o);
    }
    return norm;
  }

  std::int64_t steps() const { return steps_; }
  const adamw_settings& settings() const { return settings_; }

  // The moment estimates (a checkpoint saves them, so that training resumes exactly).
  tensor_view<const T, 1> first_moment() const { return m_.cview(); }
  tensor_view<const T, 1> second_moment() const { return v_.cview(); }

  // Continues from saved moments after `steps` steps.
  void restore(const std::vector<T>& m, const std::vector<T>& v, std::int64_t steps) {
    if (steps < 0) throw value_error("adamw_optimizer::restore: a negative step count (" + std::to_string(steps) + ")");
    m_.copy_from_host(m);  // both check their sizes
    v_.copy_from_host(v);
    steps_ = steps;
  }

 private:
  struct run {
    index_t begin, end;
    bool decay;
  };
  adamw_settings settings_;
  tensor<T, 1, Backend> m_, v_;
  std::vector<run> runs_;
  std::int64_t steps_ = 0;
};

}  // namespace wfc
