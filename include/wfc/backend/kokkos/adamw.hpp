#pragma once
// One AdamW step on flat buffers, one thread per parameter, with the step constants folded once
// on the host.
#include "wfc/backend/kokkos/math.hpp"
#include "wfc/backend/kokkos/parallel.hpp"
#include "wfc/kernels/adamw_options.hpp"

namespace wfc {

namespace detail {

template <class T>
struct kokkos_adamw {
  tensor_view<T, 1> param;
  tensor_view<const T, 1> grad;
  tensor_view<T, 1> m, v;
  T beta1, beta2, one_minus_beta1, one_minus_beta2, decay, step_size, inv_bias2, eps;

  KOKKOS_INLINE_FUNCTION void operator()(index_t i) const {
    const T g = grad(i);
    const T mi = beta1 * m(i) + one_minus_beta1 * g;
    const T vi = beta2 * v(i) + one_minus_beta2 * g * g;
    m(i) = mi;
    v(i) = vi;
    param(i) = decay * param(i) - step_size * mi / (kokkos_math::sqrt(vi) * inv_bias2 + eps);
  }
};

}  // namespace detail

template <class ES, class T>
void adamw_step(kokkos<ES>, tensor_view<T, 1> param, in_view<T, 1> grad, tensor_view<T, 1> m, tensor_view<T, 1> v,
                const adamw_options& opt) {
  detail::require_same_shape("adamw_step", "grad", grad, "param", param);
  detail::require_same_shape("adamw_step", "m", m, "param", param);
  detail::require_same_shape("adamw_step", "v", v, "param", param);
  detail::check_adamw_options(opt);
  const auto k = detail::adamw_coefficients_of(opt);
  detail::kokkos_for_each_index<ES>(
      "wfc::adamw_step", param.extent(0),
      detail::kokkos_adamw<T>{param, grad, m, v, T(opt.beta1), T(opt.beta2), T(1 - opt.beta1), T(1 - opt.beta2),
                              T(k.decay), T(k.step_size), T(k.inv_bias2), T(opt.eps)});
}

}  // namespace wfc
