#pragma once
// LayerNorm: rows in parallel with SIMD statistics; the gamma/beta gradients are summed per fixed
// chunk of rows and the chunks combined in order (deterministic, no atomics).
#include <cmath>

#include "wfc/backend/cpu/parallel.hpp"
#include "wfc/backend/cpu/simd.hpp"
#include "wfc/backend/cpu/tag.hpp"
#include "wfc/backend/reference/layernorm.hpp"

namespace wfc {

template <class T>
void layernorm_forward(cpu, tensor_view<T, 2> y, tensor_view<T, 1> mean, tensor_view<T, 1> rstd, in_view<T, 2> x,
                       in_view<T, 1> gamma, in_view<T, 1> beta, detail::same_t<T> eps = T(1e-5)) {
  detail::check_layernorm("layernorm_forward", y, x, mean, rstd, gamma);
  detail::require_extent("layernorm_forward", "beta", beta, 0, x.extent(1), "one per column of x");
  if (!detail::all_rows_contiguous(y, x, gamma, beta)) return layernorm_forward(reference{}, y, mean, rstd, x, gamma, beta, eps);
  const index_t n = x.extent(1);
  const T* g = gamma.data();
  const T* b = beta.data();
  detail::cpu_parallel_for(x.extent(0), x.size(), [&](index_t r) {
    const T* xr = row_data(x, r);
    T* yr = row_data(y, r);
    const T mu = simd::sum<T>(n, [&](index_t i) { return simd::load(xr + i); }, [&](index_t i) { return xr[i]; }) / T(n);
    const simd::batch<T> muv(mu);
    const T var = simd::sum<T>(
                      n, [&](index_t i) { const auto d = simd::load(xr + i) - muv; return d * d; },
                      [&](index_t i) { return (xr[i] - mu) * (xr[i] - mu); }) / T(n);
    const T s = T(1) / std::sqrt(var + eps);
    const simd::batch<T> sv(s);
    simd::for_each_batch<T>(
        n, [&](index_t i) { simd::store(yr + i, simd::fma((simd::load(xr + i) - muv) * sv, simd::load(g + i), simd::load(b + i))); },
        [&](index_t i) { yr[i] = (xr[i] - mu) * s * g[i] + b[i]; });
    mean(r) = mu;
    rstd(r) = s;
  });
}

template <class T>
void layernorm_backward(cpu, tensor_view<T, 2> dx, tensor_view<T, 1> dgamma, tensor_view<T, 1> dbeta, in_view<T, 2> dy,
                        in_view<T, 2> x, in_view<T, 1> mean, in_view<T, 1> rstd, in_view<T, 1> gamma) {
  detail::check_layernorm("layernorm_backward", dx, x, mean, rstd, gamma);
  detail::require_same_shape("layernorm_backward", "dy", dy, "x", x);
  detail::require_extent("layernorm_backward", "dgamma", dgamma, 0, x.extent(1), "one per column of x");
  detail::require_extent("layernorm_backward", "dbeta", dbeta, 0, x.extent(1), "one per column of x");
  if (!detail::all_rows_contiguous(dx, dgamma, dbeta, dy, x, gamma))
    return layernorm_backward(reference{}, dx, dgamma, dbeta, dy, x, mean, rstd, gamma);
  // Per row: one pass for the two means, one for dx, which also adds dy·x̂ and dy into the
  // chunk's partial dgamma | dbeta.
  const index_t n = x.extent(1);
  const T* g = gamma.data();
  T* dg = dgamma.data();
  T* db = dbeta.data();
  detail::cpu_chunked_column_sums<T>(
      x.extent(0), 2 * n,
      [&](index_t r0, index_t r1, T* partial) {
        T* pg = partial;
        T* pb = partial + n;
        for (index_t r = r0; r < r1; ++r) {
          const T* xr = row_data(x, r);
          const T* dyr = row_data(dy, r);
          T* dxr = row_data(dx, r);
          const T mu = mean(r), s = rstd(r);
          const simd::batch<T> muv(mu), sv(s);
          simd::batch<T> acc_g(T(0)), acc_gx(T(0));
          T rest_g = 0, rest_gx = 0;
          simd::for_each_batch<T>(
              n,
              [&](index_t i) {
                const auto gi = simd::load(dyr + i) * simd::load(g + i);
                acc_g += gi;
                acc_gx = simd::fma(gi, (simd::load(xr + i) - muv) * sv, acc_gx);
              },
              [&](index_t i) {
                rest_g += dyr[i] * g[i];
                rest_gx += dyr[i] * g[i] * (xr[i] - mu) * s;
              });
          const T mean_g = (simd::reduce_add(acc_g) + rest_g) / T(n);
          const T mean_gx = (simd::reduce_add(acc_gx) + rest_gx) / T(n);
          const simd::batch<T> mg(mean_g), mgx(mean_gx);
          simd::for_each_batch<T>(
              n,
              [&](index_t i) {
                const auto xhat = (simd::load(xr + i) - muv) * sv;
                const auto dyv = simd::load(dyr + i);
                simd::store(dxr + i, simd::fma(sv, dyv * simd::load(g + i) - mg - xhat * mgx, simd::load(dxr + i)));
                simd::store(pg + i, simd::fma(dyv, xhat, simd::load(pg + i)));
                simd::store(pb + i, simd::load(pb + i) + dyv);
              },
              [&](index_t i) {
                const T xhat = (xr[i] - mu) * s;
                dxr[i] += s * (dyr[i] * g[i] - mean_g - xhat * mean_gx);
                pg[i] += dyr[i] * xhat;
                pb[i] += dyr[i];
              });
        }
      },
      [&](const T* partial) {
        simd::for_each_batch<T>(
            n,
            [&](index_t i) {
              simd::store(dg + i, simd::load(dg + i) + simd::load(partial + i));
              simd::store(db + i, simd::load(db + i) + simd::load(partial + n + i));
            },
            [&](index_t i) {
              dg[i] += partial[i];
              db[i] += partial[n + i];
            });
      });
}

}  // namespace wfc
