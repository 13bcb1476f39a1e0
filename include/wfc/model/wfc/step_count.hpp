#pragma once
// How many solver steps K a training batch unrolls: a step count is a small struct
//
//   struct my_count {
//     index_t max_steps() const;                  // never more than this (sizes the unrolled buffers)
//     index_t draw(const counter_rng& rng) const; // this batch's K, 1 ≤ K ≤ max_steps()
//   };
//
// `rng` is the batch's generator (wfc_model::draw(i)); a count reads its counter 1 (counters 0
// and 2 are the block offset and a drifting past's empty rows). A count that needs more numbers
// takes counters from objective::first_free_counter on.
#include <algorithm>
#include <cmath>
#include <type_traits>
#include <utility>

#include "wfc/core/rng.hpp"
#include "wfc/core/tensor_view.hpp"

namespace wfc::objective {

inline constexpr std::uint64_t step_count_counter = 1;
inline constexpr std::uint64_t first_free_counter = 16;

// K = steps at every batch.
struct fixed_count {
  index_t steps = 2;
  index_t max_steps() const { return steps; }
  index_t draw(const counter_rng&) const { return steps; }
};

// K uniform in 1…steps (every depth up to the most is trained).
struct uniform_count {
  index_t steps = 2;
  index_t max_steps() const { return steps; }
  index_t draw(const counter_rng& rng) const {
    return 1 + std::min(steps - 1, index_t(rng.uniform<double>(step_count_counter) * double(steps)));
  }
};

// K = 1 + Poisson(λ) with log λ ~ N(log(mean − 1) − σ²/2, σ²), capped at `steps`: mostly near the
// mean, with a long tail of deep batches (the recurrent-depth models' log-normal Poisson, Geiping
// et al. 2025). E[λ] = mean − 1, so E[K] = mean before the cap. Reads counter 1 (the normal) and
// first_free_counter (the Poisson's uniform, inverted through its CDF).
struct lognormal_poisson_count {
  double mean = 4;     // E[K] before the cap; > 1
  index_t steps = 16;  // the cap
  double sigma = 0.5;  // spread of log λ
  index_t max_steps() const { return steps; }
  index_t draw(const counter_rng& rng) const {
    const double lambda = std::exp(std::log(mean - 1) - 0.5 * sigma * sigma + sigma * rng.normal<double>(step_count_counter));
    const double u = rng.uniform<double>(first_free_counter);
    double term = std::exp(-lambda), cdf = term;  // P(n = 0)
    index_t n = 0;
    while (u >= cdf && n + 1 < steps) {
      ++n;
      term *= lambda / double(n);
      cdf += term;
    }
    return 1 + n;
  }
};

template <class C, class = void>
struct is_step_count : std::false_type {};
template <class C>
struct is_step_count<C, std::enable_if_t<std::is_convertible_v<decltype(std::declval<const C&>().max_steps()), index_t> &&
                                         std::is_convertible_v<decltype(std::declval<const C&>().draw(counter_rng{})), index_t>>>
    : std::true_type {};

template <class C>
constexpr void require_step_count() {
  static_assert(is_step_count<C>::value,
                "wfc: a step count needs `index_t max_steps() const` and `index_t draw(const wfc::counter_rng&) const` "
                "(see wfc/model/wfc/step_count.hpp)");
}

}  // namespace wfc::objective
