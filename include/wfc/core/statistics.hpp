#pragma once
// Small statistics over paired samples: Pearson's r, ranks with ties averaged, Spearman's ρ.
// NaN where a sample is constant (no correlation is defined).
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "wfc/core/error.hpp"

namespace wfc {

inline double pearson(const std::vector<double>& x, const std::vector<double>& y) {
  if (x.size() != y.size()) throw shape_error("pearson: " + std::to_string(x.size()) + " and " + std::to_string(y.size()) + " samples");
  if (x.empty()) return std::nan("");
  const double n = double(x.size()), mx = std::accumulate(x.begin(), x.end(), 0.0) / n, my = std::accumulate(y.begin(), y.end(), 0.0) / n;
  double sxy = 0, sxx = 0, syy = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
    syy += (y[i] - my) * (y[i] - my);
  }
  return sxx > 0 && syy > 0 ? sxy / std::sqrt(sxx * syy) : std::nan("");
}

// Ranks 0…n−1, ties given their mean rank.
inline std::vector<double> ranks(const std::vector<double>& x) {
  std::vector<std::size_t> order(x.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return x[a] < x[b]; });
  std::vector<double> r(x.size());
  for (std::size_t i = 0; i < order.size();) {
    std::size_t j = i;
    while (j < order.size() && x[order[j]] == x[order[i]]) ++j;
    for (std::size_t k = i; k < j; ++k) r[order[k]] = 0.5 * double(i + j - 1);
    i = j;
  }
  return r;
}

// Spearman's rank correlation: Pearson's r of the ranks.
inline double spearman(const std::vector<double>& x, const std::vector<double>& y) { return pearson(ranks(x), ranks(y)); }

}  // namespace wfc
