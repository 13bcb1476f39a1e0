#pragma once
// Part 4 of the study: compute adaptivity. The seed predicts that a solver with early exit spends
// more steps where the future is harder. Over windows of the validation text, teacher-forced, each
// token's slots start cold (or warm: carried from the last solve) and converge until the residual
// (‖Δx‖/‖x‖, or the largest KL between a slot's successive beliefs) is at most the tolerance (or
// the limit): the steps that took, against the entropy (bits) of slot 0's distribution after the solve.
#include <algorithm>
#include <numeric>

#include "study/common.hpp"
#include "wfc/core/statistics.hpp"

namespace study {

struct adaptivity_settings {
  index_t windows = 20, tokens_per_window = 40, prefix = 16;  // prefix + tokens ≤ the window
  double tolerance = 0.01;
  index_t limit = 8;
  wfc::residual_norm norm = wfc::residual_norm::segment;  // or belief: the largest KL between a slot's successive distributions
  bool warm = false;                                      // carry the slots' states from one token to the next
  std::vector<double> bins{0, 0.5, 1, 1.5, 2, 3, 4, 7};  // entropy bin edges, bits
};

using wfc::pearson;
using wfc::ranks;

template <class M>
json run_adaptivity(M& model, const std::string& name, const wfc::text_dataset& data, const adaptivity_settings& s) {
  const index_t window = model.config().window;
  if (s.prefix + s.tokens_per_window > window)
    throw wfc::config_error("study: adaptivity feeds a prefix of " + std::to_string(s.prefix) + " and " + std::to_string(s.tokens_per_window) +
                            " tokens into a window of " + std::to_string(window) + "; shorten them");
  const wfc::solvers::until_converged solver{s.tolerance, s.limit, 1.0, s.norm};
  std::vector<double> entropy, steps;
  const index_t length = s.prefix + s.tokens_per_window, span = data.size(wfc::split::validation) - length;
  for (index_t w = 0; w < s.windows; ++w) {
    const token_id* at = data.begin(wfc::split::validation) + span * w / s.windows;
    model.reset(1);
    model.append_past(std::vector<token_id>(at, at + s.prefix));
    model.reset_future();
    for (index_t t = 0; t < s.tokens_per_window; ++t) {
      if (!s.warm) model.reset_future();
      steps.push_back(double(model.converge(solver).steps));
      entropy.push_back(model.future_entropy()[0]);
      model.append_past({at[s.prefix + t]});
      if (s.warm) model.shift_future(1);
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
          {"criterion", s.norm == wfc::residual_norm::belief ? "belief" : "relative"}, {"start", s.warm ? "warm" : "cold"},
          {"mean_steps", std::accumulate(steps.begin(), steps.end(), 0.0) / double(steps.size())},
          {"steps_histogram", histogram}, {"by_entropy", by_entropy},
          {"pearson", std::isnan(r) ? json(nullptr) : json(r)}, {"spearman", std::isnan(spearman) ? json(nullptr) : json(spearman)}};
}

}  // namespace study
