#pragma once
// y = (x − mean)·rstd·gamma + beta per row (beta may be empty: no shift); forward saves mean and
// rstd for the backward pass.
#include <cmath>

#include "wfc/backend/reference/tag.hpp"
#include "wfc/kernels/checks.hpp"

namespace wfc {

template <class T>
void layernorm_forward(reference, tensor_view<T, 2> y, tensor_view<T, 1> mean, tensor_view<T, 1> rstd,
                       in_view<T, 2> x, in_view<T, 1> gamma, in_view<T, 1> beta, detail::same_t<T> eps = T(1e-5)) {
  detail::check_layernorm("layernorm_forward", y, x, mean, rstd, gamma);
  detail::require_optional_shift("layernorm_forward", "beta", beta, x.extent(1));
  const index_t n = x.extent(1);
  for (index_t r = 0; r < x.extent(0); ++r) {
    T mu = 0;
    for (index_t c = 0; c < n; ++c) mu += x(r, c);
    mu /= T(n);
    T var = 0;
    for (index_t c = 0; c < n; ++c) var += (x(r, c) - mu) * (x(r, c) - mu);
    var /= T(n);
    const T s = T(1) / std::sqrt(var + eps);
    for (index_t c = 0; c < n; ++c) y(r, c) = (x(r, c) - mu) * s * gamma(c) + (beta.empty() ? T(0) : beta(c));
    mean(r) = mu;
    rstd(r) = s;
  }
}

// dx += ∂L/∂x, dgamma += ∂L/∂gamma, dbeta += ∂L/∂beta (unless dbeta is empty)
template <class T>
void layernorm_backward(reference, tensor_view<T, 2> dx, tensor_view<T, 1> dgamma, tensor_view<T, 1> dbeta,
                        in_view<T, 2> dy, in_view<T, 2> x, in_view<T, 1> mean, in_view<T, 1> rstd,
                        in_view<T, 1> gamma) {
  detail::check_layernorm("layernorm_backward", dx, x, mean, rstd, gamma);
  detail::require_same_shape("layernorm_backward", "dy", dy, "x", x);
  detail::require_extent("layernorm_backward", "dgamma", dgamma, 0, x.extent(1), "one per column of x");
  detail::require_optional_shift("layernorm_backward", "dbeta", dbeta, x.extent(1));
  const index_t n = x.extent(1);
  for (index_t r = 0; r < x.extent(0); ++r) {
    T mean_g = 0, mean_gx = 0;  // means of g = dy·gamma and of g·x̂
    for (index_t c = 0; c < n; ++c) {
      const T xhat = (x(r, c) - mean(r)) * rstd(r);
      const T g = dy(r, c) * gamma(c);
      mean_g += g;
      mean_gx += g * xhat;
      dgamma(c) += dy(r, c) * xhat;
      if (!dbeta.empty()) dbeta(c) += dy(r, c);
    }
    mean_g /= T(n);
    mean_gx /= T(n);
    for (index_t c = 0; c < n; ++c) {
      const T xhat = (x(r, c) - mean(r)) * rstd(r);
      dx(r, c) += rstd(r) * (dy(r, c) * gamma(c) - mean_g - xhat * mean_gx);
    }
  }
}

}  // namespace wfc
