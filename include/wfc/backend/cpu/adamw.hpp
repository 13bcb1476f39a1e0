#pragma once
// AdamW over flat buffers: fixed chunks in parallel, SIMD inside a chunk.
#include "wfc/backend/cpu/parallel.hpp"
#include "wfc/backend/cpu/simd.hpp"
#include "wfc/backend/cpu/tag.hpp"
#include "wfc/backend/reference/adamw.hpp"

namespace wfc {

template <class T>
void adamw_step(cpu, tensor_view<T, 1> param, in_view<T, 1> grad, tensor_view<T, 1> m, tensor_view<T, 1> v,
                const adamw_options& opt) {
  detail::require_same_shape("adamw_step", "grad", grad, "param", param);
  detail::require_same_shape("adamw_step", "m", m, "param", param);
  detail::require_same_shape("adamw_step", "v", v, "param", param);
  detail::check_adamw_options(opt);
  if (!detail::all_rows_contiguous(param, grad, m, v)) return adamw_step(reference{}, param, grad, m, v, opt);
  const auto k = detail::adamw_coefficients_of(opt);
  const T b1 = T(opt.beta1), b2 = T(opt.beta2), c1 = T(1 - opt.beta1), c2 = T(1 - opt.beta2);
  const T decay = T(k.decay), step = T(k.step_size), inv_b2 = T(k.inv_bias2), eps = T(opt.eps);
  T* p = param.data();
  const T* g = grad.data();
  T* mp = m.data();
  T* vp = v.data();
  constexpr index_t chunk = 1 << 12;
  const index_t n = param.extent(0);
  detail::cpu_parallel_for((n + chunk - 1) / chunk, n, [&](index_t c) {
    const index_t begin = c * chunk, len = std::min(chunk, n - begin);
    simd::for_each_batch<T>(
        len,
        [&](index_t j) {
          const index_t i = begin + j;
          const auto gv = simd::load(g + i);
          const auto mv = simd::fma(simd::batch<T>(b1), simd::load(mp + i), c1 * gv);
          const auto vv = simd::fma(simd::batch<T>(b2), simd::load(vp + i), c2 * gv * gv);
          simd::store(mp + i, mv);
          simd::store(vp + i, vv);
          const auto denom = simd::fma(simd::sqrt(vv), simd::batch<T>(inv_b2), simd::batch<T>(eps));
          simd::store(p + i, decay * simd::load(p + i) - step * mv / denom);
        },
        [&](index_t j) {
          const index_t i = begin + j;
          mp[i] = b1 * mp[i] + c1 * g[i];
          vp[i] = b2 * vp[i] + c2 * g[i] * g[i];
          p[i] = decay * p[i] - step * mp[i] / (std::sqrt(vp[i]) * inv_b2 + eps);
        });
  });
}

}  // namespace wfc
