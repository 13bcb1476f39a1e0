#pragma once
// LayerNorm: rows in parallel with SIMD statistics; the gamma/beta gradients are summed per fixed
// chunk of rows and the chunks combined in order (deterministic, no atomics).
#include <cmath>

#include "wfc/backend/cpu/parallel.hpp"
#include "wfc/backend/cpu/simd.hpp"
#include "wfc/backend/cpu/tag.hpp"
#include "wfc/backend/reference/layernorm.hpp"

namespace wfc {

namespace detail {
template <class T>
struct layernorm_row_stats {
  T mu, s, mean_g, mean_gx;  // x's mean and 1/std; the means of g = dy·gamma and of g·x̂
};

// LayerNorm's backward over one chunk of rows, once the rows' statistics are known:
// dx += s·(dy·gamma − mean_g − x̂·mean_gx), and the chunk's sums of dy·x̂ (dgamma) and dy (dbeta).
template <class T>
struct layernorm_chunk {
  tensor_view<const T, 2> x, dy;
  tensor_view<T, 2> dx;
  const T* gamma;
  const layernorm_row_stats<T>* stats;
  index_t r0, r1;

  // K batches of columns from c: gamma and the K partial sums stay in registers over the rows.
  template <int K>
  WFC_FORCE_INLINE void columns(index_t c, T* pg, T* pb) const {
    constexpr index_t w = simd::width<T>;
    simd::batch<T> gv[K], sum_g[K], sum_b[K];
    for (int k = 0; k < K; ++k) {
      gv[k] = simd::load(gamma + c + k * w);
      sum_g[k] = sum_b[k] = simd::batch<T>(T(0));
    }
    for (index_t r = r0; r < r1; ++r) {
      const layernorm_row_stats<T>& st = stats[r - r0];
      const T* xr = row_data(x, r) + c;
      const T* dyr = row_data(dy, r) + c;
      T* dxr = row_data(dx, r) + c;
      const simd::batch<T> mu(st.mu), s(st.s), mg(st.mean_g), mgx(st.mean_gx);
      for (int k = 0; k < K; ++k) {
        const auto xhat = (simd::load(xr + k * w) - mu) * s;
        const auto d = simd::load(dyr + k * w);
        simd::store(dxr + k * w, simd::fma(s, d * gv[k] - mg - xhat * mgx, simd::load(dxr + k * w)));
        sum_g[k] = simd::fma(d, xhat, sum_g[k]);
        sum_b[k] += d;
      }
    }
    for (int k = 0; k < K; ++k) {
      simd::store(pg + c + k * w, sum_g[k]);
      simd::store(pb + c + k * w, sum_b[k]);
    }
  }

  // One column (the scalar tail).
  void column(index_t c, T* pg, T* pb) const {
    for (index_t r = r0; r < r1; ++r) {
      const layernorm_row_stats<T>& st = stats[r - r0];
      const T xhat = (x(r, c) - st.mu) * st.s;
      dx(r, c) += st.s * (dy(r, c) * gamma[c] - st.mean_g - xhat * st.mean_gx);
      pg[c] += dy(r, c) * xhat;
      pb[c] += dy(r, c);
    }
  }
};
}  // namespace detail

template <class T>
void layernorm_forward(cpu, tensor_view<T, 2> y, tensor_view<T, 1> mean, tensor_view<T, 1> rstd, in_view<T, 2> x,
                       in_view<T, 1> gamma, in_view<T, 1> beta, detail::same_t<T> eps = T(1e-5)) {
  detail::check_layernorm("layernorm_forward", y, x, mean, rstd, gamma);
  detail::require_optional_shift("layernorm_forward", "beta", beta, x.extent(1));
  if (!detail::all_rows_contiguous(y, x, gamma, beta)) return layernorm_forward(reference{}, y, mean, rstd, x, gamma, beta, eps);
  const index_t n = x.extent(1);
  const T* g = gamma.data();
  const T* b = beta.empty() ? nullptr : beta.data();
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
    if (b)
      simd::for_each_batch<T>(
          n, [&](index_t i) { simd::store(yr + i, simd::fma((simd::load(xr + i) - muv) * sv, simd::load(g + i), simd::load(b + i))); },
          [&](index_t i) { yr[i] = (xr[i] - mu) * s * g[i] + b[i]; });
    else
      simd::for_each_batch<T>(
          n, [&](index_t i) { simd::store(yr + i, (simd::load(xr + i) - muv) * sv * simd::load(g + i)); },
          [&](index_t i) { yr[i] = (xr[i] - mu) * s * g[i]; });
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
  detail::require_optional_shift("layernorm_backward", "dbeta", dbeta, x.extent(1));
  if (!detail::all_rows_contiguous(dx, dgamma, dbeta, dy, x, gamma))
    return layernorm_backward(reference{}, dx, dgamma, dbeta, dy, x, mean, rstd, gamma);
  // Per chunk of rows: first each row's two means, then dx column block by column block, with the
  // block's dgamma | dbeta sums held in registers while the chunk's rows stream past.
  const index_t n = x.extent(1);
  const T* g = gamma.data();
  T* dg = dgamma.data();
  T* db = dbeta.empty() ? nullptr : dbeta.data();  // no shift: its sums are dropped
  detail::cpu_chunked_column_sums<T>(
      x.extent(0), 2 * n,
      [&](index_t r0, index_t r1, T* partial) {
        detail::layernorm_row_stats<T> stats[detail::cpu_rows_per_chunk];
        for (index_t r = r0; r < r1; ++r) {
          const T* xr = row_data(x, r);
          const T* dyr = row_data(dy, r);
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
          stats[r - r0] = {mu, s, (simd::reduce_add(acc_g) + rest_g) / T(n), (simd::reduce_add(acc_gx) + rest_gx) / T(n)};
        }
        const detail::layernorm_chunk<T> chunk{x, dy, dx, g, stats, r0, r1};
        constexpr index_t w = simd::width<T>;
        index_t c = 0;
        for (; c + 4 * w <= n; c += 4 * w) chunk.template columns<4>(c, partial, partial + n);
        for (; c + w <= n; c += w) chunk.template columns<1>(c, partial, partial + n);
        for (; c < n; ++c) chunk.column(c, partial, partial + n);
      },
      [&](const T* partial) {
        simd::for_each_batch<T>(
            n,
            [&](index_t i) { simd::store(dg + i, simd::load(dg + i) + simd::load(partial + i)); },
            [&](index_t i) { dg[i] += partial[i]; });
        if (db)
          simd::for_each_batch<T>(
              n, [&](index_t i) { simd::store(db + i, simd::load(db + i) + simd::load(partial + n + i)); },
              [&](index_t i) { db[i] += partial[n + i]; });
      });
}

}  // namespace wfc
