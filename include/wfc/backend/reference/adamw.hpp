#pragma once
#include <cmath>

#include "wfc/backend/reference/tag.hpp"
#include "wfc/kernels/adamw_options.hpp"
#include "wfc/kernels/checks.hpp"

namespace wfc {

// One AdamW step on flat buffers: param, its gradient, and the two moment buffers.
template <class T>
void adamw_step(reference, tensor_view<T, 1> param, in_view<T, 1> grad, tensor_view<T, 1> m, tensor_view<T, 1> v,
                const adamw_options& opt) {
  detail::require_same_shape("adamw_step", "grad", grad, "param", param);
  detail::require_same_shape("adamw_step", "m", m, "param", param);
  detail::require_same_shape("adamw_step", "v", v, "param", param);
  detail::check_adamw_options(opt);
  const double bias1 = 1.0 - std::pow(opt.beta1, double(opt.step));
  const double bias2 = 1.0 - std::pow(opt.beta2, double(opt.step));
  for (index_t i = 0; i < param.extent(0); ++i) {
    const T g = grad(i);
    m(i) = T(opt.beta1) * m(i) + T(1 - opt.beta1) * g;
    v(i) = T(opt.beta2) * v(i) + T(1 - opt.beta2) * g * g;
    const T m_hat = m(i) / T(bias1);
    const T v_hat = v(i) / T(bias2);
    param(i) -= T(opt.lr * opt.weight_decay) * param(i);
    param(i) -= T(opt.lr) * m_hat / (std::sqrt(v_hat) + T(opt.eps));
  }
}

}  // namespace wfc
