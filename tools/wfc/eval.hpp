#pragma once
// `wfc eval`: a checkpoint's loss on a text's validation split (or training split): for a GPT the
// mean cross-entropy; for a WFC model the NLL of each slot offset, the any-order bound, the chain
// NLL of first-future collapse at K, 2K and 4K steps, and the collapse loop under a converging solver, cold and warm
// (NLL, steps per token, how often the solve exits early, whether harder tokens take more steps).
// Printed as text, or as one JSON object with --json.
#include <cstdio>
#include <string>

#include "models.hpp"
#include "support/collapse_options.hpp"

namespace wfc_cli {

struct eval_options {
  std::string checkpoint, data, split = "validation";
  std::int64_t batches = 200;
  wfc::index_t batch = 0, block = 0;  // 0: the checkpoint's training settings (else 12 and the model's window)
  std::uint64_t seed = 1337;
  bool json = false;
  int threads = 0;
  // The converging solver of the cold and warm chains (WFC), each window one sequence as generation runs.
  std::string criterion = "belief";
  double tolerance = 0.01;
  wfc::index_t limit = 0;           // 0: 4K
  std::int64_t chain_windows = 100;  // 0: skip the converging chains

  void add(CLI::App& app) {
    app.add_option("checkpoint,--checkpoint", checkpoint, "a checkpoint written by `wfc train`")->required();
    app.add_option("data,--data", data, "the text to evaluate on (UTF-8; split 90/10 as in training)")->required();
    app.add_option("--split", split, "validation (the last 10%) or train");
    app.add_option("--batches", batches, "batches to average over");
    app.add_option("--batch", batch, "sequences per batch (0: as in training)");
    app.add_option("--block", block, "tokens per sequence (0: as in training)");
    app.add_option("--seed", seed, "which batches are drawn");
    app.add_flag("--json", json, "print one JSON object instead of text");
    app.add_option("--threads", threads, "OpenMP threads (0: OpenMP's default)");
    app.add_option("--criterion", criterion, "wfc: the converging chains' test: belief (largest KL between a slot's successive "
                                             "distributions, nats) or relative (‖Δx‖/‖x‖)");
    app.add_option("--tolerance", tolerance, "wfc: the converging chains' tolerance");
    app.add_option("--limit", limit, "wfc: the converging chains' most steps per solve (0: 4K)");
    app.add_option("--chain-windows", chain_windows, "wfc: windows of the converging chains, one sequence each (0: skip them)");
  }

  void validate() const {
    wfc_examples::criterion_norm(criterion);
    if (!(tolerance >= 0)) throw wfc::config_error("--tolerance must be ≥ 0, got " + std::to_string(tolerance));
    if (limit < 0) throw wfc::config_error("--limit must be 0 (4K) or positive, got " + std::to_string(limit));
    if (chain_windows < 0) throw wfc::config_error("--chain-windows must be 0 (skip) or positive, got " + std::to_string(chain_windows));
  }
};

// The WFC model's measurements into `result` (printed as text unless --json).
template <class Model>
void wfc_eval(Model& model, const eval_options& o, const wfc::text_dataset& data, wfc::split which, const wfc::trainer_settings& s,
              nlohmann::json& result) {
  using namespace wfc;
  const auto offsets = evaluate_offsets(model, data, which, s);
  const index_t K = model.objective().evaluation_steps();
  const double eta = model.solver().damping;
  const double bound = any_order_bound(model, data, which, s);
  result["any_order_bound"] = bound;
  result["first_slot_nll"] = offsets.first_slot;
  result["mean_offset_nll"] = offsets.mean;
  result["offset_nll"] = offsets.per_offset;
  // Anytime: the cold chain at K, 2K and 4K steps (K's is the chain NLL); warm starts at 1, K and 2K
  // steps (what a solve costs once the slots arrive nearly converged).
  nlohmann::json by_steps = nlohmann::json::array(), warm_by_steps = nlohmann::json::array();
  for (index_t steps : {K, 2 * K, 4 * K}) {
    const auto chain = chain_nll(model, data, which, s, solvers::fixed_steps{steps, eta}, warm_start::none);
    by_steps.push_back({{"steps", steps}, {"nll", chain.nll}});
    if (steps == K) result["chain_nll"] = chain.nll;
  }
  // warm: what the model was trained to carry (its states, or its beliefs with --carry-beliefs)
  const warm_start warm = model.objective().carry_beliefs ? warm_start::distribution : warm_start::state;
  result["warm_start"] = warm == warm_start::state ? "state" : "distribution";
  for (index_t steps : {index_t(1), K, 2 * K})
    warm_by_steps.push_back({{"steps", steps}, {"nll", chain_nll(model, data, which, s, solvers::fixed_steps{steps, eta}, warm).nll}});
  result["nll_by_steps"] = by_steps;
  result["warm_nll_by_steps"] = warm_by_steps;
  if (!o.json) {
    std::printf("%s NLL (nats/char), cold start, K = %lld: first slot %.4f, mean over offsets %.4f\nper offset:", o.split.c_str(),
                static_cast<long long>(K), offsets.first_slot, offsets.mean);
    for (double v : offsets.per_offset) std::printf(" %.4f", v);
    std::printf("\nchain NLL (first-future collapse, teacher forcing, cold starts): %.4f\n", result["chain_nll"].get<double>());
    std::printf("any-order bound on the NLL (blocks decoded in any order; tight for a model trained --any-order): %.4f\n", bound);
    std::printf("chain NLL at K, 2K, 4K steps:");
    for (const auto& b : by_steps) std::printf(" %.4f (%lld)", b["nll"].get<double>(), static_cast<long long>(b["steps"].get<index_t>()));
    std::printf("\nchain NLL with warm starts (the slots' %s carried) at 1, K, 2K steps:", warm == warm_start::state ? "states" : "beliefs");
    for (const auto& b : warm_by_steps)
      std::printf(" %.4f (%lld)", b["nll"].get<double>(), static_cast<long long>(b["steps"].get<index_t>()));
    std::printf("\n");
  }
  if (o.chain_windows == 0) return;
  // The collapse loop as generation runs it: one sequence per solve, a converging solver, cold and warm.
  trainer_settings single = s;
  single.batch = 1;
  single.eval_batches = o.chain_windows;
  const solvers::until_converged solver{o.tolerance, o.limit > 0 ? o.limit : 4 * K, eta, wfc_examples::criterion_norm(o.criterion)};
  result["solver"] = {{"criterion", o.criterion}, {"tolerance", o.tolerance}, {"limit", solver.limit}, {"windows", o.chain_windows}};
  const auto nan_null = [](double v) { return std::isnan(v) ? nlohmann::json(nullptr) : nlohmann::json(v); };
  for (const auto& [name, start] : {std::pair{"cold", warm_start::none}, std::pair{"warm", warm}}) {
    const auto chain = chain_nll(model, data, which, single, solver, start);
    const std::string suffix = std::string("_") + name;
    result["chain_nll" + suffix] = chain.nll;
    result["steps_per_token" + suffix] = chain.steps_per_token;
    result["converged_fraction" + suffix] = chain.converged_fraction;
    result["steps_entropy_spearman" + suffix] = nan_null(chain.steps_entropy_spearman);
    if (start != warm_start::none) {  // the generator's mode: the unsuffixed names
      result["converged_fraction"] = chain.converged_fraction;
      result["steps_entropy_spearman"] = nan_null(chain.steps_entropy_spearman);
    }
    if (!o.json)
      std::printf("%s chain (%s ≤ %g, limit %lld, %lld windows): NLL %.4f, %.2f steps per token, %.0f%% of solves converged, "
                  "Spearman(steps, entropy) %.3f\n",
                  name, o.criterion.c_str(), o.tolerance, static_cast<long long>(solver.limit), static_cast<long long>(o.chain_windows),
                  chain.nll, chain.steps_per_token, 100 * chain.converged_fraction, chain.steps_entropy_spearman);
  }
}

template <class Model>
int eval_with(const eval_options& o, const wfc::checkpoint& c, const wfc::text_dataset& data, const wfc::trainer_settings& s) {
  using namespace wfc;
  Model model = model_from<Model>(c);
  c.restore(model);
  const split which = o.split == "train" ? split::train : split::validation;
  nlohmann::json result = {{"checkpoint", o.checkpoint}, {"model", describe_model(model)}, {"split", o.split},
                           {"batches", s.eval_batches}, {"batch", s.batch},             {"block", s.block}};
  if constexpr (is_gpt<Model>) {
    result["loss"] = evaluate(model, data, which, s);
    if (!o.json) std::printf("%s loss: %.4f nats/char (%lld batches of %lld×%lld)\n", o.split.c_str(), result["loss"].get<double>(),
                             static_cast<long long>(s.eval_batches), static_cast<long long>(s.batch), static_cast<long long>(s.block));
  } else {
    wfc_eval(model, o, data, which, s, result);
  }
  if (o.json) std::printf("%s\n", result.dump().c_str());
  return 0;
}

inline int run_eval(const eval_options& o) {
  using namespace wfc;
  wfc_examples::set_threads(o.threads);
  o.validate();
  if (o.split != "validation" && o.split != "train") throw config_error("--split must be validation or train, got '" + o.split + "'");
  if (o.batches <= 0 || o.batch < 0 || o.block < 0)
    throw config_error("--batches must be positive, and --batch and --block 0 (as in training) or positive");
  const checkpoint c = checkpoint::load(o.checkpoint);
  trainer_settings s;
  if (c.has_training()) s = c.settings();
  else s.block = c.kind() == "gpt" ? c.gpt().block : c.wfc().window;
  if (o.batch > 0) s.batch = o.batch;
  if (o.block > 0) s.block = o.block;
  s.eval_batches = o.batches;
  s.seed = o.seed;
  s.validate();
  // Windows the model can read, long enough that every slot offset is scored in every pass (a
  // pinned past cuts its slots into blocks of F at every offset): checked before reading the text.
  const bool gpt = c.kind() == "gpt";
  const index_t window = gpt ? c.gpt().block : c.wfc().window;
  if (s.block > window)
    throw config_error("--block " + std::to_string(s.block) + " exceeds the model's " + (gpt ? "block" : "window") + " of " +
                       std::to_string(window) + " tokens");
  if (!gpt) {
    const index_t F = c.wfc().future;
    const bool pinned = c.policy("past") == "pinned";
    const index_t least = pinned ? 2 * F - 1 : F;
    if (s.block < least) {
      const std::string why = pinned ? "a pinned past needs at least 2F − 1 = " : "a drifting past needs at least F = ";
      const std::string model =
          window < least ? " (this model's window, " + std::to_string(window) + ", is shorter: it cannot be scored by offset)" : "";
      throw config_error("windows of " + std::to_string(s.block) + " tokens (--block, else the training block) cannot score " +
                         "every slot offset of F = " + std::to_string(F) + ": " + why + std::to_string(least) + model);
    }
  }
  const std::string text = read_text_file(o.data);
  if (text.empty()) throw io_error("'" + o.data + "' holds no text (an empty file, or a directory?)");
  const text_dataset data(c.tokenizer().encode(text));  // a character the model never saw is an error naming it
  return with_model_type(model_choice::of(c), [&](auto tag) { return eval_with<typename decltype(tag)::type>(o, c, data, s); });
}

}  // namespace wfc_cli
