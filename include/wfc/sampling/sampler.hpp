#pragma once
// Picks a token from one row of logits: greedy (temperature 0), or a draw from the softmax of
// logits/temperature restricted to the top_k most likely tokens and then to the smallest set whose
// probability reaches top_p (nucleus). The draw is a uniform number the caller supplies from a
// seeded counter-based generator, so a generation is reproducible from its seed alone.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "wfc/core/error.hpp"
#include "wfc/core/tensor_view.hpp"

namespace wfc {

struct sampler {
  double temperature = 1.0;  // 0: greedy
  index_t top_k = 0;         // 0: every token
  double top_p = 1.0;        // 1: no nucleus cut

  void validate() const {
    if (!(temperature >= 0) || !std::isfinite(temperature))
      throw config_error("sampler: the temperature must be finite and ≥ 0 (0 means greedy), got " + std::to_string(temperature));
    if (top_k < 0) throw config_error("sampler: top_k must be ≥ 0 (0 means every token), got " + std::to_string(top_k));
    if (!(top_p > 0 && top_p <= 1)) throw config_error("sampler: top_p must be in (0, 1], got " + std::to_string(top_p));
  }

  // `u` is uniform in [0, 1). Non-finite logits are an error (the model diverged), not a token.
  template <class T>
  token_id operator()(tensor_view<const T, 1> logits, double u) const {
    const index_t vocab = logits.extent(0);
    if (vocab == 0) throw shape_error("sampler: no logits to sample from");
    for (index_t i = 0; i < vocab; ++i)
      if (!std::isfinite(double(logits(i))))
        throw value_error("sampler: logit " + std::to_string(i) + " is not finite; the model's parameters have diverged");
    if (temperature == 0) {  // the first of equal maxima, so ties are deterministic
      index_t best = 0;
      for (index_t i = 1; i < vocab; ++i)
        if (logits(i) > logits(best)) best = i;
      return token_id(best);
    }
    std::vector<index_t> order(static_cast<std::size_t>(vocab));
    std::iota(order.begin(), order.end(), index_t(0));
    std::stable_sort(order.begin(), order.end(), [&](index_t a, index_t b) { return logits(a) > logits(b); });
    const std::size_t kept = top_k > 0 ? std::size_t(std::min(top_k, vocab)) : order.size();
    std::vector<double> p(kept);
    const double top = double(logits(order[0]));
    double total = 0;
    for (std::size_t i = 0; i < kept; ++i) total += p[i] = std::exp((double(logits(order[i])) - top) / temperature);
    std::size_t nucleus = kept;
    if (top_p < 1) {
      double mass = 0;
      for (nucleus = 0; nucleus < kept && mass < top_p * total;) mass += p[nucleus++];
      total = mass;
    }
    const double target = std::clamp(u, 0.0, 1.0) * total;
    double running = 0;
    for (std::size_t i = 0; i + 1 < nucleus; ++i)
      if ((running += p[i]) > target) return token_id(order[i]);
    return token_id(order[nucleus - 1]);
  }
};

}  // namespace wfc
