#pragma once
// Finite-difference gradient checks in double precision: for a forward f and random weights w,
// L = Σ w ⊙ f(inputs), and a backward pass fed dy = w must give ∂L/∂input.
#include <functional>

#include "support/testing.hpp"

namespace wfc::testing {

inline constexpr double fd_step = 1e-6;
inline constexpr double fd_tol = 1e-7;  // relative to max(1, |g|): central differences are O(h²) + rounding

// ∂loss/∂x by central differences, perturbing x's elements in place.
inline std::vector<double> numerical_gradient(double* x, index_t n, const std::function<double()>& loss) {
  std::vector<double> g(static_cast<std::size_t>(n));
  for (index_t i = 0; i < n; ++i) {
    const double keep = x[i];
    x[i] = keep + fd_step;
    const double up = loss();
    x[i] = keep - fd_step;
    const double down = loss();
    x[i] = keep;
    g[std::size_t(i)] = (up - down) / (2 * fd_step);
  }
  return g;
}

inline void require_gradient(const std::vector<double>& analytic, const std::vector<double>& numeric) {
  REQUIRE(analytic.size() == numeric.size());
  for (std::size_t i = 0; i < analytic.size(); ++i) {
    INFO("element " << i << ": backward " << analytic[i] << ", finite differences " << numeric[i]);
    REQUIRE(std::abs(analytic[i] - numeric[i]) <= fd_tol * std::max(1.0, std::abs(numeric[i])));
  }
}

inline double weighted_sum(const std::vector<double>& w, const std::vector<double>& y) {
  double s = 0;
  for (std::size_t i = 0; i < w.size(); ++i) s += w[i] * y[i];
  return s;
}

}  // namespace wfc::testing
