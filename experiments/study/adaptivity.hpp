#pragma once
// Part 4 of the study: compute adaptivity. The seed predicts that a solver with early exit spends
// more steps where the future is harder. Over windows of the validation text, teacher-forced, each
// token's slots start cold and converge until ‖Δx‖/‖x‖ ≤ tolerance (or the limit): the steps that
// took, against the entropy (bits) of slot 0's distribution after the solve.
#include <algorithm>
#include <numeric>

#include "study/common.hpp"

namespace study {

struct adaptivity_settings {
  index_t windows = 20, tokens_per_window = 40, prefix = 16;  // prefix + tokens ≤ the window
  double tolerance = 0.01;
  index_t limit = 8;
  std::vector<double> bins{0, 0.5, 1, 1.5, 2, 3, 4, 7};  // entropy bin edges, bits
};

inline double pearson(const std::vector<double>& x, const std::vector<double>& y) {
  const double n = double(x.size()), mx = std::accumulate(x.begin(), x.end(), 0.0) / n, my = std::accumulate(y.begin(), y.end(), 0.0) / n;
  double sxy = 0, sxx = 0, syy = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
    syy += (y[i] - my) * (y[i] - my);
  }
  return sxx > 0 && syy > 0 ? sxy / std::sqrt(sxx * syy) : std::nan("");
}

// Ranks with ties given their mean rank, so Spearman's ρ is Pearson's r of the ranks.
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

template <class M>
json run_adaptivity(M& model, const std::string& name, const wfc::text_dataset& data, const adaptivity_settings& s) {
  const index_t window = model.config().window;
  if (s.prefix + s.tokens_per_window > window)
    throw wfc::config_error("study: adaptivity feeds a prefix of " + std::to_string(s.prefix) + " and " + std::to_string(s.tokens_per_window) +
                            " tokens into a window of " + std::to_string(window) + "; shorten them");
  const wfc::solvers::until_converged solver{s.tolerance, s.limit, 1.0};
  std::vector<double> entropy, steps;
  const index_t length = s.prefix + s.tokens_per_window, span = data.size(wfc::split::validation) - length;
  for (index_t w = 0; w < s.windows; ++w) {
    const token_id* at = data.begin(wfc::split::validation) + span * w / s.windows;
    model.reset(1);
    model.append_past(std::vector<token_id>(at, at + s.prefix));
    for (index_t t = 0; t < s.tokens_per_window; ++t) {
      model.reset_future();
      steps.push_back(double(model.converge(solver).steps));
      entropy.push_back(model.future_entropy()[0]);
      model.append_past({at[s.prefix + t]});
    }
  }
  json histogram = json::array(), by_entropy = json::array();
  for (index_t k = 1; k <= s.limit; ++k) {
    const auto count = std::count(steps.begin(), steps.end(), double(k));
    if (count) histogram.push_back({{"steps", k}, {"count", count}});
  }
  for (std::size_t b = 0; b + 1 < s.bins.size(); ++b) {
    double total = 0, count = 0;
    for (std::size_t i = 0; i < steps.size(); ++i)
      if (entropy[i] >= s.bins[b] && entropy[i] < s.bins[b + 1]) {
        total += steps[i];
        count += 1;
      }
    by_entropy.push_back({{"lo", s.bins[b]}, {"hi", s.bins[b + 1]}, {"count", count}, {"mean_steps", count ? json(total / count) : json(nullptr)}});
  }
  const double spearman = pearson(ranks(entropy), ranks(steps)), r = pearson(entropy, steps);
  return {{"model", name}, {"tolerance", s.tolerance}, {"limit", s.limit}, {"tokens", steps.size()},
          {"mean_steps", std::accumulate(steps.begin(), steps.end(), 0.0) / double(steps.size())},
          {"steps_histogram", histogram}, {"by_entropy", by_entropy},
          {"pearson", std::isnan(r) ? json(nullptr) : json(r)}, {"spearman", std::isnan(spearman) ? json(nullptr) : json(spearman)}};
}

}  // namespace study
