#pragma once
// Collapse policies (docs/design.md): after every solve, a policy looks at the future slots'
// entropies and says which slots collapse and how strongly. A policy is a small struct:
//
//   struct my_policy {
//     wfc::collapse_decision decide(const wfc::collapse_input& in) const;
//   };
//
// A pick with strength 1 collapses its slot fully (to a sampled token, or to `token` when the pick
// names one) and pins it: the solver holds it while the other slots converge around it, and once
// every slot before it has collapsed too it leaves the future with them (a collapsed prefix joins
// the past). A pick with strength α < 1 is a partial collapse: the slot restarts from
// α·onehot(token) + (1 − α)·p and keeps moving. A decision may also set a new horizon (how many
// slots the future keeps). The generator (wfc/model/generator.hpp) runs the loop.
//
// Each policy here has validate(), which throws config_error for settings that could never act
// as asked (a negative threshold, a strength outside (0, 1]): call it before any work.
#include <algorithm>
#include <cmath>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "wfc/core/error.hpp"
#include "wfc/core/tensor_view.hpp"

namespace wfc {

// What a policy sees after a solve.
struct collapse_input {
  const std::vector<double>& entropy;  // bits per slot; slot 0 stands for the next token
  const std::vector<bool>& pinned;     // slots collapsed earlier and held (not yet a prefix)
  double max_entropy = 0;              // log2(vocab): a fresh slot's ceiling
  index_t position = 0;                // the absolute position of slot 0's token (prompt + emitted)
  index_t start = 0;                   // the absolute position of the first generated token (the prompt's length)
  index_t horizon = 0;                 // slots the future holds now
  index_t max_horizon = 0;             // the model's F
  index_t decision = 0;                // decisions made before this one
  // Per slot, from its distribution: the most likely token's probability, and its lead over the
  // second's (the generator fills both; empty when a caller does not).
  std::vector<double> top_probability = {}, margin = {};

  index_t slots() const { return index_t(entropy.size()); }
};

struct collapse_pick {
  collapse_pick() = default;
  collapse_pick(index_t slot_, double strength_ = 1, token_id token_ = -1, std::vector<double> distribution_ = {})
      : slot(slot_), strength(strength_), token(token_), distribution(std::move(distribution_)) {}

  index_t slot = 0;
  double strength = 1;       // 1: full collapse (pinned); (0, 1): partial collapse
  token_id token = -1;       // the token to collapse toward; -1: the sampler draws it from the slot
  // Instead of a token, a distribution over the vocabulary to pin the slot to (a soft constraint:
  // the other slots see every option); its token is drawn from it when the pick is made.
  std::vector<double> distribution;
};

struct collapse_decision {
  std::vector<collapse_pick> picks;
  index_t horizon = 0;  // the future's new number of slots; 0 keeps it
};

template <class P, class = void>
struct is_collapse_policy : std::false_type {};
template <class P>
struct is_collapse_policy<P, std::enable_if_t<std::is_convertible_v<
                                 decltype(std::declval<const P&>().decide(std::declval<const collapse_input&>())), collapse_decision>>>
    : std::true_type {};

template <class P>
constexpr void require_collapse_policy() {
  static_assert(is_collapse_policy<P>::value,
                "wfc: a collapse policy needs `wfc::collapse_decision decide(const wfc::collapse_input&) const` "
                "(see wfc/collapse/policies.hpp)");
}

}  // namespace wfc

namespace wfc::collapse {

// A decision that collapses slot 0 (the next token) fully, unless it is held already (a pin that
// has reached the front leaves with the prefix), and optionally sets the horizon.
inline collapse_decision next_token(const collapse_input& in, index_t horizon = 0) {
  collapse_decision d;
  if (in.pinned.empty() || !in.pinned[0]) d.picks.push_back(collapse_pick{});
  d.horizon = horizon;
  return d;
}

// Autoregression: the next token, every solve.
struct first_future {
  collapse_decision decide(const collapse_input& in) const { return next_token(in); }
};

// Every free slot whose entropy is under τ bits collapses in the same solve (slot 0 always does, so
// a solve emits at least one token); only the collapsed prefix leaves, later picks stay pinned.
struct entropy_threshold {
  double tau = 1.0;
  // Entropies are ≥ 0 bits, so a negative τ could never fire; 0 collapses slot 0 alone (first_future).
  void validate() const {
    if (!(tau >= 0))
      throw config_error("entropy_threshold: tau must be ≥ 0 bits (0: only the next token collapses), got " + std::to_string(tau));
  }
  collapse_decision decide(const collapse_input& in) const {
    collapse_decision d = next_token(in);
    for (index_t i = 1; i < in.slots(); ++i)
      if (!in.pinned[std::size_t(i)] && in.entropy[std::size_t(i)] < tau) d.picks.push_back(collapse_pick{i});
    return d;
  }
};

// The seed's "draw out the horizon": slot 0 collapses, and the free slot of median entropy among
// the later ones is partially collapsed by α toward a sampled token, so later solves start from a
// sharper guess of the further future.
struct median_entropy_partial {
  double alpha = 0.5;
  void validate() const {
    if (!(alpha > 0 && alpha <= 1))
      throw config_error("median_entropy_partial: alpha, the partial collapse's strength, must be in (0, 1], got " + std::to_string(alpha));
  }
  collapse_decision decide(const collapse_input& in) const {
    collapse_decision d = next_token(in);
    std::vector<std::pair<double, index_t>> free;
    for (index_t i = 1; i < in.slots(); ++i)
      if (!in.pinned[std::size_t(i)]) free.emplace_back(in.entropy[std::size_t(i)], i);
    if (free.empty()) return d;
    std::nth_element(free.begin(), free.begin() + free.size() / 2, free.end());
    d.picks.push_back(collapse_pick{free[free.size() / 2].second, alpha});
    return d;
  }
};

// Least action: pin `token` (or `distribution`, when not empty) as the generated text's token
// number `distance` (0: the first) as soon as its slot is in the future, before anything else
// collapses; then first-future: the slots between the prompt and the pin fill in toward it.
struct target {
  target() = default;
  target(index_t distance_, token_id token_) : distance(distance_), token(token_) {}
  target(index_t distance_, std::vector<double> distribution_) : distance(distance_), distribution(std::move(distribution_)) {}

  index_t distance = 1;
  token_id token = 0;
  std::vector<double> distribution;
  // The token's range is the model's vocabulary: the generator checks it.
  void validate() const {
    if (distance < 0)
      throw config_error("target: distance must be ≥ 0 (0: the first generated token), got " + std::to_string(distance));
    if (distribution.empty() && token < 0) throw config_error("target: token must be a vocabulary id (≥ 0), got " + std::to_string(token));
  }
  collapse_decision decide(const collapse_input& in) const {
    const index_t at = in.start + distance - in.position;
    if (at < 0 || at >= in.slots() || in.pinned[std::size_t(at)]) return next_token(in);
    collapse_decision d;
    d.picks.push_back(collapse_pick{at, 1, token, distribution});
    return d;
  }
};

// How sure a slot is, for most_confident: the lowest entropy, the largest margin between its two
// likeliest tokens, or the largest top probability (the orders masked-diffusion decoders use).
enum class confidence { entropy, margin, top_probability };

// Any order (as masked-diffusion models decode): the k most confident free slots collapse fully,
// wherever they are, and stay pinned while the others re-converge around them; a token is emitted
// once every slot before it has collapsed too. k = 1 decodes in order of confidence; k ≥ F
// collapses every free slot at once.
struct most_confident {
  index_t k = 1;
  confidence by = confidence::entropy;
  void validate() const {
    if (k < 1) throw config_error("most_confident: k, the slots collapsed per solve, must be ≥ 1, got " + std::to_string(k));
  }
  collapse_decision decide(const collapse_input& in) const {
    const std::vector<double>& measure = by == confidence::entropy ? in.entropy : by == confidence::margin ? in.margin : in.top_probability;
    if (measure.size() != in.entropy.size())
      throw config_error("most_confident: ordering by margin or top probability needs collapse_input's top_probability and margin "
                         "for every slot (the generator fills them)");
    const double sign = by == confidence::entropy ? 1 : -1;  // ascending: the most confident first
    std::vector<std::pair<double, index_t>> free;
    for (index_t i = 0; i < in.slots(); ++i)
      if (!in.pinned[std::size_t(i)]) free.emplace_back(sign * measure[std::size_t(i)], i);
    const auto n = std::min<std::size_t>(free.size(), std::size_t(std::max<index_t>(k, 0)));
    std::partial_sort(free.begin(), free.begin() + std::ptrdiff_t(n), free.end());  // ties: the nearer slot first
    collapse_decision d;
    for (std::size_t j = 0; j < n; ++j) d.picks.push_back(collapse_pick{free[j].second});
    return d;
  }
};

// A horizon that follows the entropy curve: collapse first-future; keep as many slots as stay under
// `high` bits, plus one, between `min` and `max` slots (0: the model's F), so the future reaches
// further where it is confident and shrinks where it is not.
struct entropy_horizon {
  double high = 3.0;
  index_t min = 1, max = 0;
  void validate() const {
    if (!(high >= 0)) throw config_error("entropy_horizon: high must be ≥ 0 bits, got " + std::to_string(high));
    if (min < 0 || max < 0)
      throw config_error("entropy_horizon: min and max must be ≥ 0 slots (max 0: the model's F), got " + std::to_string(min) + " and " +
                         std::to_string(max));
  }
  collapse_decision decide(const collapse_input& in) const {
    const index_t most = max > 0 ? std::min(max, in.max_horizon) : in.max_horizon, least = std::min(std::max<index_t>(min, 1), most);
    index_t confident = 0;
    while (confident < in.slots() && in.entropy[std::size_t(confident)] < high) ++confident;
    index_t h = confident == in.slots() ? in.horizon + 1 : confident + 1;  // all confident: reach one further
    return next_token(in, std::clamp(h, least, most));
  }
};

}  // namespace wfc::collapse
