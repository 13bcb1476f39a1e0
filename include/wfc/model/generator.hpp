#pragma once
// The collapse loop (docs/design.md), composed at compile time from a WFC model, a collapse policy, a
// sampler and a solver:
//
//   prefill the prompt into the past; F max-entropy slots
//   loop: converge the slots (warm start, early exit) → entropies and probabilities → the policy
//         picks slots → each pick collapses (fully: pinned; partially: a mixture) → the collapsed
//         prefix joins the past and is emitted → the slots shift and fresh ones fill the horizon
//
// A window that fills up slides (rotary positions or a drifting past: model.drop_past) or is
// re-prefilled from its last tokens (a pinned past with learned positions). Random draws come from
// a counter-based stream of the seed (draw i for the i-th pick), so a seed fixes the text.
#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "wfc/collapse/policies.hpp"
#include "wfc/core/rng.hpp"
#include "wfc/model/wfc_model.hpp"
#include "wfc/sampling/sampler.hpp"

namespace wfc {

struct generation_settings {
  index_t max_tokens = 200;               // the budget: generation stops after this many tokens
  std::vector<token_id> stop;             // or once the generated text ends with these (kept); empty: never
  std::uint64_t seed = 1;
  // Each solve starts the free slots from max entropy, with the decisions so far (pins, partial
  // collapses) embedded again (none: the inputs training shows the model), or from the previous
  // solve's states (state: fewer solver steps, but a carried state is an input training never
  // shows the model, and samples from the same model degrade badly; measured in docs/collapse-loop.md).
  warm_start start = warm_start::none;
  index_t horizon = 0;                    // slots to start with; 0: the model's F
  index_t patience = 0;                   // decisions in a row that emit nothing before the policy is called stuck; 0: 4·F + 8

  void validate() const {
    if (max_tokens < 0) throw config_error("generation_settings: max_tokens must be ≥ 0, got " + std::to_string(max_tokens));
    if (start == warm_start::distribution)
      throw config_error("generation_settings: the generator warm-starts from states (warm_start::state) or cold (none); "
                         "re-embedding distributions would overwrite pinned and partially collapsed slots");
    if (horizon < 0 || patience < 0) throw config_error("generation_settings: horizon and patience must be ≥ 0 (0: the default)");
  }
};

// What an observer sees after each decision.
struct generation_step {
  index_t decision = 0;                     // 0, 1, … (one per solve)
  index_t position = 0;                     // the absolute position of slot 0's token at the solve
  const std::vector<double>& entropy;       // bits per slot after the solve
  const std::vector<bool>& pinned;          // slots already held at the solve (collapsed earlier, not yet emitted)
  const solve_report& solve;                // steps and residual of the solve
  const std::vector<collapse_pick>& picks;  // the decision, each pick's token filled in
  const std::vector<token_id>& emitted;     // tokens that left the future (may be empty)
};

struct generation_result {
  std::vector<token_id> tokens;  // generated, without the prompt
  index_t solves = 0, solver_steps = 0;
  bool stopped = false;          // the stop sequence ended the text

  double tokens_per_solve() const { return solves ? double(tokens.size()) / double(solves) : 0.0; }
  double steps_per_token() const { return tokens.empty() ? 0.0 : double(solver_steps) / double(tokens.size()); }
};

struct ignore_steps {
  void operator()(const generation_step&) const {}
};

template <class S, class T, class = void>
struct is_sampler_for : std::false_type {};
template <class S, class T>
struct is_sampler_for<S, T, std::enable_if_t<std::is_convertible_v<
                                decltype(std::declval<const S&>()(std::declval<tensor_view<const T, 1>>(), double{})), token_id>>>
    : std::true_type {};

template <class Model, class Policy, class Sampler = sampler, class Solver = typename Model::solver_type>
class generator {
  using T = typename Model::value_type;
  static_assert(is_collapse_policy<Policy>::value,
                "wfc::generator: the collapse policy needs `wfc::collapse_decision decide(const wfc::collapse_input&) const` "
                "(see wfc/collapse/policies.hpp)");
  static_assert(is_sampler_for<Sampler, T>::value,
                "wfc::generator: the sampler needs `wfc::token_id operator()(wfc::tensor_view<const T, 1> logits, double u) const`");
  static_assert(is_solver<Solver>::value, "wfc::generator: the solver needs max_steps(), converged(step, residual) and damping");

 public:
  generator(Model& model, Policy policy, Sampler pick, Solver solver)
      : model_(model), policy_(std::move(policy)), pick_(std::move(pick)), solver_(std::move(solver)) {
    const auto& c = model_.config();
    if (2 * c.future > c.window)
      throw config_error("wfc::generator: the window (" + std::to_string(c.window) + ") must hold at least 2·F = " +
                         std::to_string(2 * c.future) + " positions, so it can slide");
  }
  explicit generator(Model& model, Policy policy = {}, Sampler pick = {}) : generator(model, std::move(policy), std::move(pick), model.solver()) {}

  const Policy& policy() const { return policy_; }

  // Generates after `prompt` (token ids; not repeated in the result).
  template <class Observer = ignore_steps>
  generation_result run(const std::vector<token_id>& prompt, const generation_settings& settings, Observer&& observe = {}) {
    settings.validate();
    if constexpr (has_validate<Sampler>::value) pick_.validate();
    const index_t V = model_.config().vocab, F = model_.config().future;
    if (prompt.empty()) throw config_error("wfc::generator: the prompt is empty; give at least one token to start from");
    for (std::size_t i = 0; i < prompt.size(); ++i)
      if (prompt[i] < 0 || prompt[i] >= V)
        throw value_error("wfc::generator: prompt token " + std::to_string(i) + " (" + std::to_string(prompt[i]) +
                          ") is outside the vocabulary of " + std::to_string(V));
    if (settings.horizon > F)
      throw config_error("wfc::generator: the horizon " + std::to_string(settings.horizon) + " exceeds the model's F = " + std::to_string(F));
    const index_t patience = settings.patience ? settings.patience : 4 * F + 8;
    const horizon_guard keep{model_, model_.horizon()};  // a policy's horizon does not outlive the run
    model_.set_horizon(settings.horizon ? settings.horizon : F);
    history_ = prompt;
    pins_.clear();
    partials_.clear();
    prefill(index_t(prompt.size()));
    model_.reset_future();

    const counter_rng rng(settings.seed);
    std::uint64_t draws = 0;
    generation_result out;
    std::vector<bool> held;
    std::vector<token_id> emitted;
    for (index_t decision = 0, idle = 0; index_t(out.tokens.size()) < settings.max_tokens; ++decision) {
      const solve_report solve = model_.converge(solver_);
      ++out.solves;
      out.solver_steps += solve.steps;
      const index_t f = model_.slots(), position = index_t(history_.size());
      const auto device_logits = model_.future_logits();
      const std::vector<double> entropy = model_.future_entropy(device_logits);
      const std::vector<T> logits = to_host<typename Model::backend_type>(device_logits);
      held.assign(std::size_t(f), false);
      for (index_t i = 0; i < f; ++i) held[std::size_t(i)] = model_.pinned(i);

      collapse_input in{entropy, held, std::log2(double(V)), position, index_t(prompt.size()), f, F, decision};
      confidences(logits, f, in.top_probability, in.margin);
      collapse_decision d = policy_.decide(in);
      check(d, held, f);
      for (auto& p : d.picks) p.token = collapse(p, logits.data() + p.slot * V, position, rng.uniform<double>(draws++));

      // The collapsed prefix leaves the future, within the budget and up to the stop sequence.
      emitted.clear();
      for (index_t i = 0; i < f && model_.pinned(i) && index_t(out.tokens.size()) < settings.max_tokens && !out.stopped; ++i) {
        emitted.push_back(pins_.at(position + i).token);
        out.tokens.push_back(emitted.back());
        out.stopped = ends_with(out.tokens, settings.stop);
      }
      observe(generation_step{decision, position, entropy, held, solve, d.picks, emitted});
      if (out.stopped || index_t(out.tokens.size()) >= settings.max_tokens) break;

      if (d.horizon > 0) model_.set_horizon(d.horizon);
      if (emitted.empty() && ++idle > patience)
        throw config_error("wfc::generator: the collapse policy emitted nothing in " + std::to_string(patience) +
                           " decisions in a row; a policy must collapse slot 0 sooner or later");
      if (!emitted.empty()) idle = 0;
      const bool cold = advance(emitted) || settings.start == warm_start::none;
      if (cold)
        model_.reset_future();
      else
        model_.shift_future(index_t(emitted.size()));  // also applies a new horizon
      restore(cold);
    }
    return out;
  }

 private:
  struct horizon_guard {
    Model& model;
    index_t horizon;
    ~horizon_guard() { model.set_horizon(horizon); }
  };

  struct pin {
    token_id token;
    std::vector<T> distribution;  // what the slot holds: a one-hot, or a target distribution
  };

  template <class S, class = void>
  struct has_validate : std::false_type {};
  template <class S>
  struct has_validate<S, std::void_t<decltype(std::declval<const S&>().validate())>> : std::true_type {};

  // Each slot's top probability and its margin over the second likeliest token, from its logits.
  void confidences(const std::vector<T>& logits, index_t f, std::vector<double>& top, std::vector<double>& margin) const {
    const index_t V = model_.config().vocab;
    top.assign(std::size_t(f), 0.0);
    margin.assign(std::size_t(f), 0.0);
    for (index_t i = 0; i < f; ++i) {
      const T* row = logits.data() + i * V;
      double first = -INFINITY, second = -INFINITY, z = 0;
      for (index_t v = 0; v < V; ++v) {
        const double x = double(row[v]);
        if (x > first) second = first, first = x;
        else if (x > second) second = x;
      }
      for (index_t v = 0; v < V; ++v) z += std::exp(double(row[v]) - first);
      top[std::size_t(i)] = 1 / z;
      margin[std::size_t(i)] = V > 1 ? (1 - std::exp(second - first)) / z : 1 / z;
    }
  }

  void check(const collapse_decision& d, const std::vector<bool>& held, index_t f) const {
    const index_t V = model_.config().vocab;
    if (d.horizon < 0 || d.horizon > model_.config().future)
      throw config_error("wfc::generator: the policy asked for a horizon of " + std::to_string(d.horizon) + " slots; it must be 0 (keep) or 1…F");
    std::vector<bool> seen(std::size_t(f), false);
    for (const auto& p : d.picks) {
      const std::string which = "wfc::generator: the policy's pick of slot " + std::to_string(p.slot);
      if (p.slot < 0 || p.slot >= f) throw config_error(which + " is outside the " + std::to_string(f) + " future slots");
      if (held[std::size_t(p.slot)]) throw config_error(which + " names a slot that is already collapsed");
      if (seen[std::size_t(p.slot)]) throw config_error(which + " names it twice");
      seen[std::size_t(p.slot)] = true;
      if (!(p.strength > 0 && p.strength <= 1)) throw config_error(which + " has strength " + std::to_string(p.strength) + "; it must be in (0, 1]");
      if (p.token < -1 || p.token >= V)
        throw value_error(which + " names token " + std::to_string(p.token) + ", outside the vocabulary of " + std::to_string(V) +
                          " (-1 lets the sampler draw it)");
      if (!p.distribution.empty()) {
        if (index_t(p.distribution.size()) != V)
          throw shape_error(which + " has a distribution of " + std::to_string(p.distribution.size()) + " entries for a vocabulary of " +
                            std::to_string(V));
        double total = 0;
        for (double q : p.distribution) {
          if (!(q >= 0) || !std::isfinite(q)) throw value_error(which + " has a negative or non-finite probability");
          total += q;
        }
        if (std::abs(total - 1) > 1e-3) throw value_error(which + " has a distribution summing to " + std::to_string(total) + ", not 1");
      }
    }
  }

  // Collapses one slot (row: its logits) and returns its token.
  token_id collapse(const collapse_pick& p, const T* row, index_t position, double u) {
    const index_t V = model_.config().vocab;
    std::vector<T> target(std::size_t(V), T(0));
    token_id token = p.token;
    if (!p.distribution.empty()) {
      double running = 0;
      token = token_id(V - 1);
      for (index_t v = 0; v < V; ++v)
        if ((running += p.distribution[std::size_t(v)]) > u) {
          token = token_id(v);
          break;
        }
      for (index_t v = 0; v < V; ++v) target[std::size_t(v)] = T(p.distribution[std::size_t(v)]);
    } else {
      if (token < 0) token = pick_(tensor_view<const T, 1>(row, shape<1>{{V}}), u);
      target[std::size_t(token)] = T(1);
    }
    if (p.strength == 1) {
      model_.embed_slot(p.slot, target, true);
      pins_[position + p.slot] = pin{token, std::move(target)};
      return token;
    }
    // Partial: α·target + (1 − α)·softmax(row).
    double top = double(row[0]), total = 0;
    for (index_t v = 1; v < V; ++v) top = std::max(top, double(row[v]));
    for (index_t v = 0; v < V; ++v) total += std::exp(double(row[v]) - top);
    for (index_t v = 0; v < V; ++v)
      target[std::size_t(v)] = T(p.strength * double(target[std::size_t(v)]) + (1 - p.strength) * std::exp(double(row[v]) - top) / total);
    model_.embed_slot(p.slot, target, false);
    partials_[position + p.slot] = std::move(target);
    return token;
  }

  // The emitted tokens join the past, after sliding the window when they and a full horizon would
  // not fit. Returns whether the slots must restart cold (a re-prefill moved their positions).
  bool advance(const std::vector<token_id>& emitted) {
    if (emitted.empty()) return false;
    const index_t n = index_t(emitted.size()), W = model_.config().window, h = model_.horizon(), P = model_.past();
    const index_t over = P + n + h - 1 - W;  // positions short of a full horizon after the append
    bool moved = false;
    if (over > 0) {
      if constexpr (Model::can_slide) {
        model_.drop_past(std::min(P - 1, std::max(over, W / 4)));
        // A drifting past restarts at position 0: learned positions baked into the slots' states are stale.
        moved = !Model::positions_policy::rotary;
      } else {
        prefill(std::min(W / 2, W + 1 - h - n));
        moved = true;
      }
    }
    history_.insert(history_.end(), emitted.begin(), emitted.end());
    model_.append_past(emitted);
    const index_t now = index_t(history_.size());
    for (auto it = pins_.begin(); it != pins_.end();) it = it->first < now ? pins_.erase(it) : std::next(it);
    for (auto it = partials_.begin(); it != partials_.end();) it = it->first < now ? partials_.erase(it) : std::next(it);
    return moved;
  }

  // The past from the last `keep` tokens of the history (fewer when the horizon needs the room).
  void prefill(index_t keep) {
    const index_t room = model_.config().window + 1 - model_.horizon();
    keep = std::min({keep, room, index_t(history_.size())});
    model_.reset(1);
    model_.append_past(std::vector<token_id>(history_.end() - keep, history_.end()));
  }

  // Decisions outlive a restart: pins a reset or a shift left unheld (or that came into the horizon)
  // are embedded again, and after a cold restart so are the partial collapses' mixtures (a warm
  // start keeps where the solver has moved them).
  void restore(bool cold) {
    const index_t now = index_t(history_.size());
    for (const auto& [at, p] : pins_) {
      const index_t slot = at - now;
      if (slot >= 0 && slot < model_.slots() && !model_.pinned(slot)) model_.embed_slot(slot, p.distribution, true);
    }
    if (cold)
      for (const auto& [at, mixture] : partials_)
        if (at - now < model_.slots() && !pins_.count(at)) model_.embed_slot(at - now, mixture, false);
  }

  static bool ends_with(const std::vector<token_id>& text, const std::vector<token_id>& stop) {
    return !stop.empty() && text.size() >= stop.size() && std::equal(stop.rbegin(), stop.rend(), text.rbegin());
  }

  Model& model_;
  Policy policy_;
  Sampler pick_;
  Solver solver_;
  std::vector<token_id> history_;  // prompt and emitted tokens (a re-prefill takes its tail)
  std::map<index_t, pin> pins_;    // collapsed slots not yet emitted, by absolute position
  std::map<index_t, std::vector<T>> partials_;  // partial collapses' mixtures, by absolute position
};

// The generator for these parts, every type deduced: make_generator(model, collapse::first_future{},
// sampler{0.8}, solvers::anderson{1e-3, 16}).
template <class Model, class Policy, class Sampler = sampler, class Solver = typename Model::solver_type>
generator<Model, Policy, Sampler, Solver> make_generator(Model& model, Policy policy, Sampler pick = {}, Solver solver = {}) {
  return generator<Model, Policy, Sampler, Solver>(model, std::move(policy), std::move(pick), std::move(solver));
}

}  // namespace wfc
