#pragma once
// The collapse-loop flags the generating examples share, and the dispatch from a policy's name to
// its type (each policy is its own instantiation of the generator).
#include <wfc/wfc.hpp>

#include <CLI/CLI.hpp>

#include <string>

namespace wfc_examples {

// A solver's convergence test by its flag name: relative (‖Δx‖/‖x‖ over the slots) or belief (the
// largest KL in nats between a slot's distributions after successive steps).
inline wfc::residual_norm criterion_norm(const std::string& name) {
  if (name == "relative") return wfc::residual_norm::segment;
  if (name == "belief") return wfc::residual_norm::belief;
  throw wfc::config_error("--criterion must be relative or belief, got '" + name + "'");
}

struct collapse_options {
  std::string policy = "threshold";
  double tau = 1.0;      // entropy_threshold: bits
  double alpha = 0.5;    // median_entropy_partial: strength
  double high = 2.0;     // entropy_horizon: bits a slot may have and still count as confident
  std::string target = ".";
  wfc::index_t distance = 6;
  wfc::index_t k = 1;    // most_confident: slots per solve
  std::string confidence = "entropy";  // most_confident: entropy, margin or top
  double temperature = 0.8, top_p = 1.0;
  wfc::index_t top_k = 0;
  double tolerance = 1e-2;  // the solver's early exit: ‖Δx‖/‖x‖
  wfc::index_t limit = 2;   // and its most steps per solve: training's K (more steps leave what training showed)
  std::string criterion = "relative";
  bool warm = false;

  void add(CLI::App& app) {
    app.add_option("--policy", policy, "collapse policy: first, threshold, median, target, horizon or confident");
    app.add_option("--tau", tau, "threshold: every slot under τ bits collapses");
    app.add_option("--alpha", alpha, "median: strength of the partial collapse of the median-entropy slot");
    app.add_option("--high", high, "horizon: keep the slots under this many bits, plus one");
    app.add_option("--target", target, "target: the character to pin");
    app.add_option("--distance", distance, "target: pin it as the generated text's character number N (0: the first)");
    app.add_option("--k", k, "confident: collapse the k most confident free slots per solve, wherever they are");
    app.add_option("--confidence", confidence,
                   "confident: how a slot's confidence is judged: entropy (lowest first), margin (largest lead of the likeliest token "
                   "over the second) or top (largest top probability)");
    app.add_option("--temperature", temperature, "sampling temperature (0: greedy)");
    app.add_option("--top-k", top_k, "sample from the k most likely tokens only (0: all)");
    app.add_option("--top-p", top_p, "sample from the smallest set of tokens holding this much probability");
    app.add_option("--tolerance", tolerance, "solver: stop when the criterion's residual is at most this");
    app.add_option("--criterion", criterion,
                   "solver: relative (‖Δx‖/‖x‖ over the slots) or belief (the largest KL, in nats, between a slot's successive distributions)");
    app.add_option("--limit", limit, "solver: at most this many steps per solve");
    app.add_flag("--warm", warm, "start each solve from the previous solve's states instead of max entropy (fewer steps, worse text)");
  }

  // Every flag, checked before a program trains or loads anything: the policy's name, each
  // policy's setting (whichever policy runs: an impossible value is a mistake either way), the
  // sampler and the solver. `tokens` is the program's --tokens, the budget the target must fall in.
  void validate(wfc::index_t tokens) const {
    if (policy != "first" && policy != "threshold" && policy != "median" && policy != "target" && policy != "horizon" &&
        policy != "confident")
      throw wfc::config_error("--policy must be first, threshold, median, target, horizon or confident, got '" + policy + "'");
    if (tokens < 0) throw wfc::config_error("--tokens must be 0 or more, got " + std::to_string(tokens));
    wfc::collapse::entropy_threshold{tau}.validate();
    wfc::collapse::median_entropy_partial{alpha}.validate();
    wfc::collapse::entropy_horizon{high}.validate();
    wfc::collapse::target{distance, 0}.validate();
    wfc::collapse::most_confident{k}.validate();
    confidence_order();
    if (wfc::utf8::decode(target).size() != 1) throw wfc::config_error("--target must be one character, got '" + target + "'");
    if (policy == "target" && distance >= tokens)
      throw wfc::config_error("--distance " + std::to_string(distance) + " pins the generated text's character number " +
                              std::to_string(distance) + " (0: the first), but --tokens " + std::to_string(tokens) +
                              " ends the text before it: lower --distance or raise --tokens");
    criterion_norm(criterion);
    sampler().validate();
    solver().validate();
  }

  // The --target character's id in `tok`'s vocabulary (a character it lacks is an error naming it).
  wfc::token_id target_token(const wfc::char_tokenizer& tok) const {
    const auto ids = tok.encode(target);
    if (ids.size() != 1) throw wfc::config_error("--target must be one character, got '" + target + "'");
    return ids[0];
  }

  wfc::collapse::confidence confidence_order() const {
    if (confidence == "entropy") return wfc::collapse::confidence::entropy;
    if (confidence == "margin") return wfc::collapse::confidence::margin;
    if (confidence == "top") return wfc::collapse::confidence::top_probability;
    throw wfc::config_error("--confidence must be entropy, margin or top, got '" + confidence + "'");
  }

  wfc::sampler sampler() const { return wfc::sampler{temperature, top_k, top_p}; }
  wfc::solvers::anderson solver() const { return wfc::solvers::anderson{tolerance, limit, 1.0, 3, criterion_norm(criterion)}; }
  wfc::generation_settings settings(wfc::index_t tokens, std::uint64_t seed) const {
    wfc::generation_settings s;
    s.max_tokens = tokens;
    s.seed = seed;
    s.start = warm ? wfc::warm_start::state : wfc::warm_start::none;
    return s;
  }
};

// f(policy) for the policy the options name.
template <class F>
auto with_policy(const collapse_options& o, const wfc::char_tokenizer& tok, F&& f) {
  namespace collapse = wfc::collapse;
  if (o.policy == "first") return f(collapse::first_future{});
  if (o.policy == "threshold") return f(collapse::entropy_threshold{o.tau});
  if (o.policy == "median") return f(collapse::median_entropy_partial{o.alpha});
  if (o.policy == "horizon") return f(collapse::entropy_horizon{o.high});
  if (o.policy == "target") return f(collapse::target{o.distance, o.target_token(tok)});
  if (o.policy == "confident") return f(collapse::most_confident{o.k, o.confidence_order()});
  throw wfc::config_error("--policy must be first, threshold, median, target, horizon or confident, got '" + o.policy + "'");
}

}  // namespace wfc_examples
