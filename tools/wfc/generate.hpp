#pragma once
// `wfc generate`: text from a checkpoint. A GPT samples with its key/value cache; a WFC model runs
// the collapse loop with the chosen policy, and --observer writes one JSON line per solve (the
// slots' entropies, solver steps, residual, picks, emitted text).
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

#include "models.hpp"
#include "support/collapse_options.hpp"

namespace wfc_cli {

struct generate_options {
  std::string checkpoint, prompt = "\n", observer, stop;
  wfc::index_t tokens = 200;
  std::uint64_t seed = 1;
  wfc_examples::collapse_options collapse;
  bool cold = false;
  int threads = 0;
  const CLI::Option* limit_flag = nullptr;  // --limit as given (else the checkpoint's K)

  void add(CLI::App& app) {
    app.add_option("checkpoint,--checkpoint", checkpoint, "a checkpoint written by `wfc train`")->required();
    app.add_option("--prompt", prompt, "the text to continue (every character must be in the model's vocabulary)");
    app.add_option("--tokens", tokens, "characters to generate (at most)");
    app.add_option("--seed", seed, "the sampler's seed (equal seeds give equal text)");
    app.add_option("--stop", stop, "wfc: stop once the text ends with this string");
    app.add_option("--observer", observer, "wfc: write every solve as a JSON line to this file");
    app.add_option("--threads", threads, "OpenMP threads (0: OpenMP's default)");
    collapse.add(app);
    app.add_flag("--cold", cold, "wfc: start every solve from max entropy, even for a model trained for warm starts (--carry)");
    limit_flag = app.get_option("--limit");
    app.get_option("--limit")->description("solver: at most this many steps per solve")->default_str("the checkpoint's training K");
    app.get_option("--warm")->description(
        "start each solve from the previous solve's states instead of max entropy: the default for a model trained with --carry "
        "(the recipe's model: chain NLL 1.994 warm, 2.034 cold; one warm step per token better than three cold), worse text for one "
        "trained without (3.8 against 2.06; docs/rolling.md)");
  }

  void validate() const {
    collapse.validate(tokens);
    if (cold && collapse.warm) throw wfc::config_error("--cold and --warm exclude each other");
  }
};

template <class Model>
int generate_with(const generate_options& o, const wfc::checkpoint& c) {
  using namespace wfc;
  Model model = model_from<Model>(c);
  c.restore(model);
  const char_tokenizer& tok = c.tokenizer();
  const std::vector<token_id> prompt = tok.encode(o.prompt);  // not empty: run_generate checked
  const auto started = std::chrono::steady_clock::now();
  std::vector<token_id> out;
  std::string report;
  if constexpr (is_gpt<Model>) {
    if (!o.observer.empty() || !o.stop.empty()) throw config_error("--observer and --stop belong to WFC models; this checkpoint holds a GPT");
    out = generate(model, prompt, o.tokens, o.collapse.sampler(), counter_rng(o.seed, 0));
  } else {
    std::ofstream lines;
    if (!o.observer.empty()) {
      lines.open(o.observer, std::ios::trunc);
      if (!lines) throw io_error("cannot open '" + o.observer + "' for writing the observer's lines");
    }
    const auto observe = [&](const generation_step& g) {
      if (!lines.is_open()) return;
      nlohmann::json picks = nlohmann::json::array();
      for (const auto& p : g.picks) picks.push_back({{"slot", p.slot}, {"token", p.token}, {"strength", p.strength}});
      lines << nlohmann::json{{"decision", g.decision}, {"position", g.position}, {"entropy_bits", g.entropy},
                              {"steps", g.solve.steps},   {"residual", g.solve.residual}, {"picks", picks},
                              {"emitted", tok.decode(g.emitted)}}
                   .dump()
            << '\n';
    };
    // The trained mode: the checkpoint's K steps per solve, and warm starts for a model trained
    // to carry its states (--carry) or its beliefs (--carry-beliefs), unless the flags say otherwise.
    wfc_examples::collapse_options collapse = o.collapse;
    if (o.limit_flag == nullptr || o.limit_flag->count() == 0) collapse.limit = model.objective().evaluation_steps();
    const bool warm = collapse.warm || (model.objective().carry > 0 && !o.cold);
    const generation_result r = wfc_examples::with_policy(collapse, tok, [&](auto policy) {
      auto gen = make_generator(model, policy, collapse.sampler(), collapse.solver());
      generation_settings s = collapse.settings(o.tokens, o.seed);
      s.start = !warm ? warm_start::none : model.objective().carry_beliefs ? warm_start::distribution : warm_start::state;
      s.stop = tok.encode(o.stop);
      return gen.run(prompt, s, observe);
    });
    out = r.tokens;
    char line[160];
    std::snprintf(line, sizeof line, ", policy %s, %s starts: %lld solves, %.2f tokens per solve, %.2f solver steps per token",
                  o.collapse.policy.c_str(), warm ? "warm" : "cold", static_cast<long long>(r.solves), r.tokens_per_solve(), r.steps_per_token());
    report = line;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("%s%s\n", o.prompt.c_str(), tok.decode(out).c_str());
  std::fprintf(stderr, "%zu tokens in %.2f s (%.0f tokens/s)%s\n", out.size(), seconds, seconds > 0 ? double(out.size()) / seconds : 0.0,
               report.c_str());
  return 0;
}

inline int run_generate(const generate_options& o) {
  wfc_examples::set_threads(o.threads);
  o.validate();
  if (o.prompt.empty()) throw wfc::config_error("--prompt is empty; give at least one character to start from");
  const wfc::checkpoint c = wfc::checkpoint::load(o.checkpoint);
  return with_model_type(model_choice::of(c), [&](auto tag) { return generate_with<typename decltype(tag)::type>(o, c); });
}

}  // namespace wfc_cli
