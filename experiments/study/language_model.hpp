#pragma once
// Part 1 of the study: language modelling. The GPT baseline (nanoGPT's learned positions, and
// rotary positions like the WFC models) against WFC variants at equal parameters (one transformer
// configuration for all) and equal iterations, plus a GPT trained for as many FLOPs as the first
// WFC variant. For each WFC variant: the objective's validation loss, the first-slot NLL, the NLL
// by slot offset, the chain NLL (the exact NLL first-future generation assigns to the validation
// text, teacher-forced), solver steps per token, and generation speed and sample quality (the NLL
// of its samples under the GPT baseline, beside the GPT's own samples).
#include <map>
#include <memory>

#include "study/common.hpp"

namespace study {

struct lm_settings {
  wfc::trainer_settings train;  // every run's recipe; the WFC window is train.block
  index_t layers = 4, heads = 4, width = 128;
  double reveal = 0.1, partial = 0.3;  // every WFC variant's corruption: it learns to read pinned and partial slots
  index_t samples = 6, sample_tokens = 150, prompt = 32;
  double temperature = 0.8;
  std::vector<double> tolerances{0.1, 0.03, 0.01};  // early exit, for variants that ask for it
  index_t early_exit_limit = 8;
};

struct lm_variant {
  std::string name;
  index_t future = 4, steps = 2;
  std::string past = "pinned", mask = "bidirectional";
  double deep_supervision = 0, velocity_penalty = 0;
  bool early_exit = false;  // measure chain NLL and steps per token at each tolerance
  // Training for a fixed point and for warm starts (docs/design.md, "Rolling training"):
  double mean_steps = 0;     // K from the log-normal Poisson of this mean, capped at `steps` (0: K = steps)
  index_t backprop_steps = 0;
  double carry = 0;          // rate of batches that start from carried states
  index_t carry_slides = 1;
  bool any_order = false;    // each block reveals a uniformly drawn share of its slots instead of the fixed reveal rate
};

// The data and what later parts reuse: the scoring GPT and the trained pinned/bidirectional WFC
// models by variant name.
struct lm_context {
  const wfc::text_dataset& data;
  const lm_settings& settings;
  std::vector<std::vector<token_id>> prompts;  // evenly spaced windows of the validation text
  std::unique_ptr<gpt_learned> baseline;
  std::unique_ptr<gpt_rotary> rotary;
  std::map<std::string, std::unique_ptr<wfc_default>> models;
};

inline flop_model flops_of(const lm_context& c, index_t vocab) {
  return {double(c.settings.width), double(c.settings.layers), double(vocab)};
}

// Samples one continuation of every prompt with `generate_one(prompt, seed)` (a
// wfc::generation_result) and fills the generation fields of `row`.
template <class Generate>
void measure_generation(lm_context& c, json& row, Generate&& generate_one) {
  double seconds = 0, nll = 0, tokens = 0, steps = 0;
  for (std::size_t s = 0; s < c.prompts.size(); ++s) {
    const auto start = std::chrono::steady_clock::now();
    const wfc::generation_result out = generate_one(c.prompts[s], std::uint64_t(s + 1));
    seconds += seconds_since(start);
    std::vector<token_id> whole = c.prompts[s];
    whole.insert(whole.end(), out.tokens.begin(), out.tokens.end());
    nll += nll_under(*c.baseline, whole, c.prompts[s].size());
    tokens += double(out.tokens.size());
    steps += double(out.solver_steps);
  }
  row["gen_tokens_per_s"] = tokens / seconds;
  row["gen_steps_per_token"] = steps > 0 ? json(steps / tokens) : json(nullptr);
  row["sample_nll"] = nll / double(c.prompts.size());
}

// Trains the GPT on the study's recipe (no measurements).
template <class Gpt>
void train_gpt_only(lm_context& c, Gpt& gpt, const std::string& name) {
  gpt.initialise(c.settings.train.seed);
  wfc::train(gpt, c.data, c.settings.train, training_log{name});
}

template <class Gpt>
json train_gpt(lm_context& c, Gpt& gpt, const std::string& name, std::int64_t iterations) {
  wfc::trainer_settings t = c.settings.train;
  t.iterations = iterations;
  t.eval_interval = std::min(t.eval_interval, iterations);
  gpt.initialise(t.seed);
  const auto summary = wfc::train(gpt, c.data, t, training_log{name});
  const double T = double(t.block), rows = double(t.batch * t.accumulation);
  json row = {{"name", name}, {"kind", "gpt"}, {"params", gpt.layout().size()}, {"iterations", iterations},
              {"train_flops", gpt_train_flops(flops_of(c, gpt.config().vocab), rows, T) * double(iterations)},
              {"ms_per_iter", summary.mean_ms}, {"val_loss", summary.val_loss}, {"first_slot_nll", nullptr}, {"chain_nll", nullptr},
              {"chain_steps_per_token", nullptr}, {"per_offset", json::array()}};
  const wfc::sampler pick{c.settings.temperature};
  measure_generation(c, row, [&](const std::vector<token_id>& prompt, std::uint64_t seed) {
    wfc::generation_result r;
    r.tokens = wfc::generate(gpt, prompt, c.settings.sample_tokens, pick, wfc::counter_rng(seed));
    return r;
  });
  return row;
}

// Trains and measures one WFC variant of composition M.
template <class M>
json run_variant(lm_context& c, M& model, const lm_variant& v) {
  const wfc::trainer_settings& t = c.settings.train;
  model.initialise(t.seed);
  const auto summary = wfc::train(model, c.data, t, training_log{v.name});
  const index_t K = model.objective().evaluation_steps();  // the fixed K, or the drawn K's mean
  const wfc::solvers::fixed_steps solver{K, 1.0};
  const auto offsets = wfc::evaluate_offsets(model, c.data, wfc::split::validation, t);
  const auto cold = wfc::chain_nll(model, c.data, wfc::split::validation, t, solver, wfc::warm_start::none);
  const auto warm = wfc::chain_nll(model, c.data, wfc::split::validation, t, solver, wfc::warm_start::state);
  const flop_model f = flops_of(c, model.config().vocab);
  const double T = double(t.block), rows = double(t.batch * t.accumulation);
  // Rolling training's earlier solves are forward steps only, a third of a trained step's cost each.
  const double steps = double(K) * (1 + v.carry * double(v.carry_slides) / 3);
  const double per_iteration = M::past_policy::cached ? wfc_train_flops(f, rows, T, steps)
                                                      : drifting_train_flops(f, rows, T, steps, double(v.future));
  json row = {{"name", v.name}, {"kind", "wfc"}, {"params", model.layout().size()}, {"iterations", t.iterations},
              {"train_flops", per_iteration * double(t.iterations)}, {"ms_per_iter", summary.mean_ms}, {"val_loss", nullptr},
              {"objective_val", summary.val_loss}, {"first_slot_nll", offsets.first_slot}, {"per_offset", offsets.per_offset},
              {"chain_nll", cold.nll}, {"chain_nll_warm", warm.nll}, {"chain_steps_per_token", cold.steps_per_token},
              {"F", v.future}, {"K", v.steps}, {"past", v.past}, {"mask", v.mask},
              {"deep_supervision", v.deep_supervision}, {"velocity_penalty", v.velocity_penalty}};
  const wfc::sampler pick{c.settings.temperature};
  measure_generation(c, row, [&](const std::vector<token_id>& prompt, std::uint64_t seed) {
    wfc::generation_settings s;
    s.max_tokens = c.settings.sample_tokens;
    s.seed = seed;
    return wfc::make_generator(model, wfc::collapse::first_future{}, pick, solver).run(prompt, s);
  });
  return row;
}

// Chain NLL and solver steps per token when every solve exits early, cold and warm, by either test
// (‖Δx‖/‖x‖, or the largest KL between a slot's successive beliefs, nats); how often the solves
// converged, and the rank correlation of their steps with slot 0's entropy (one sequence per solve).
template <class M>
json early_exit(lm_context& c, M& model, const lm_variant& v) {
  json rows = json::array();
  wfc::trainer_settings single = c.settings.train;
  single.batch = 1;
  single.eval_batches = c.settings.train.eval_batches * c.settings.train.batch;
  for (const auto& [criterion, norm] : {std::pair{"relative", wfc::residual_norm::segment}, std::pair{"belief", wfc::residual_norm::belief}})
    for (double tolerance : c.settings.tolerances)
      for (const auto& [start, warm] : {std::pair{"cold", wfc::warm_start::none}, std::pair{"warm", wfc::warm_start::state}}) {
        const wfc::solvers::until_converged solver{tolerance, c.settings.early_exit_limit, 1.0, norm};
        const auto r = wfc::chain_nll(model, c.data, wfc::split::validation, single, solver, warm);
        rows.push_back({{"model", v.name}, {"criterion", criterion}, {"tolerance", tolerance}, {"start", start},
                        {"limit", c.settings.early_exit_limit}, {"chain_nll", r.nll}, {"steps_per_token", r.steps_per_token},
                        {"converged_fraction", r.converged_fraction},
                        {"steps_entropy_spearman", std::isnan(r.steps_entropy_spearman) ? json(nullptr) : json(r.steps_entropy_spearman)}});
      }
  return rows;
}

inline wfc::wfc_config variant_config(const lm_context& c, const lm_variant& v, index_t vocab) {
  wfc::wfc_config config;
  config.vocab = vocab;
  config.layers = c.settings.layers;
  config.heads = c.settings.heads;
  config.width = c.settings.width;
  config.future = v.future;
  config.window = c.settings.train.block;
  return config;
}

inline wfc::wfc_objective variant_objective(const lm_context& c, const lm_variant& v) {
  wfc::wfc_objective objective;
  objective.steps = v.steps;
  objective.any_order = v.any_order;
  objective.reveal = v.any_order ? 0 : c.settings.reveal;
  objective.partial = c.settings.partial;
  objective.deep_supervision = v.deep_supervision;
  objective.velocity_penalty = v.velocity_penalty;
  objective.mean_steps = v.mean_steps;
  objective.backprop_steps = v.backprop_steps;
  objective.carry = v.carry;
  objective.carry_slides = v.carry_slides;
  objective.seed = c.settings.train.seed;
  return objective;
}

// Builds the variant's composition and runs it; pinned/bidirectional models are kept for the
// later parts of the study.
template <class Past, class Mask>
void run_composition(lm_context& c, const lm_variant& v, json& models, json& exits) {
  auto model = std::make_unique<wfc_of<Past, Mask>>(variant_config(c, v, c.baseline->config().vocab), variant_objective(c, v),
                                                    wfc::solvers::fixed_steps{v.steps, 1.0});
  models.push_back(run_variant(c, *model, v));
  if (v.early_exit)
    for (auto& row : early_exit(c, *model, v)) exits.push_back(row);
  if constexpr (std::is_same_v<wfc_of<Past, Mask>, wfc_default>) c.models[v.name] = std::move(model);
}

// Trains the pinned/bidirectional variant `name` alone, for a later part run without part 1.
inline void train_for_later_parts(lm_context& c, const std::vector<lm_variant>& variants, const std::string& name, index_t vocab) {
  if (c.models.count(name)) return;
  const auto v = std::find_if(variants.begin(), variants.end(), [&](const lm_variant& x) { return x.name == name; });
  if (v == variants.end() || v->past != "pinned" || v->mask != "bidirectional")
    throw wfc::config_error("study: no pinned, bidirectional variant named '" + name + "' to train");
  auto model = std::make_unique<wfc_default>(variant_config(c, *v, vocab), variant_objective(c, *v), wfc::solvers::fixed_steps{v->steps, 1.0});
  model->initialise(c.settings.train.seed);
  wfc::train(*model, c.data, c.settings.train, training_log{v->name});
  c.models[name] = std::move(model);
}

inline void run_wfc_variant(lm_context& c, const lm_variant& v, json& models, json& exits) {
  using namespace wfc;
  if (v.past == "drifting") {
    if (v.mask != "bidirectional") throw config_error("study: a drifting past runs with the bidirectional mask only");
    return run_composition<past::drifting, masks::bidirectional>(c, v, models, exits);
  }
  if (v.past != "pinned") throw config_error("study: the past is pinned or drifting, not '" + v.past + "'");
  if (v.mask == "causal") return run_composition<past::pinned, masks::causal>(c, v, models, exits);
  if (v.mask == "window2") return run_composition<past::pinned, masks::window<2>>(c, v, models, exits);
  if (v.mask != "bidirectional") throw config_error("study: the mask is bidirectional, causal or window2, not '" + v.mask + "'");
  return run_composition<past::pinned, masks::bidirectional>(c, v, models, exits);
}

// Runs part 1; the first variant is the one the equal-FLOPs GPT matches.
inline json run_language_model(lm_context& c, const std::vector<lm_variant>& variants) {
  const lm_settings& s = c.settings;
  json models = json::array(), exits = json::array();
  const index_t span = c.data.size(wfc::split::validation) - s.prompt;
  for (index_t i = 0; i < s.samples; ++i) {
    const token_id* at = c.data.begin(wfc::split::validation) + span * i / s.samples;
    c.prompts.emplace_back(at, at + s.prompt);
  }
  models.push_back(train_gpt(c, *c.baseline, "GPT (learned positions, nanoGPT)", s.train.iterations));
  const json rotary = train_gpt(c, *c.rotary, "GPT (rotary)", s.train.iterations);
  models.push_back(rotary);
  for (const lm_variant& v : variants) run_wfc_variant(c, v, models, exits);
  // The GPT at the first variant's training FLOPs (its row follows the two GPTs').
  const double ratio = models[2]["train_flops"].get<double>() / rotary["train_flops"].get<double>();
  const auto iterations = std::int64_t(std::llround(double(s.train.iterations) * ratio));
  gpt_rotary equal(c.rotary->config());
  models.push_back(train_gpt(c, equal, "GPT (rotary), FLOPs of " + variants.front().name, iterations));
  return {{"models", models}, {"early_exit", exits}};
}

}  // namespace study
