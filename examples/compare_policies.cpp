// Compares the collapse policies on one trained WFC model: tokens/s, solver steps per token, tokens
// per solve, and sample quality as the NLL of the generated text under a GPT trained on the same
// data (beside the GPT's own samples at the same temperature). Both models train first (the GPT
// with rotary positions, the WFC model with F = 4, K = 2); every run starts from the same prompts
// taken from the validation text. Writes a Markdown table to stdout.
//
//   ./compare_policies path/to/text.txt [--iterations 2000] [--samples 6] [--tokens 150]
#include "support/console.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <utility>

namespace {

using backend = wfc_examples::host_backend;
using wfc_type = wfc::wfc_model<float, backend, wfc::past::pinned, wfc::masks::bidirectional, wfc::rotary_positions>;
using gpt_type = wfc::gpt<float, backend, wfc::rotary_positions>;

struct options {
  std::string data;
  std::int64_t iterations = 2000;
  wfc::index_t samples = 6, tokens = 150, prompt = 32;
  double temperature = 0.8, tolerance = 1e-2, reveal = 0.1, partial = 0.3;
  wfc::index_t limit = 2;
  int threads = 0;
};

// Mean NLL (nats/char) of text[from…] under the GPT, each token given up to a block of context.
double gpt_nll(gpt_type& g, const std::vector<wfc::token_id>& text, std::size_t from) {
  const auto block = std::size_t(g.config().block), V = std::size_t(g.config().vocab);
  double total = 0;
  for (std::size_t t = from; t < text.size(); ++t) {
    const std::size_t begin = t > block ? t - block : 0;
    const std::vector<wfc::token_id> context(text.begin() + std::ptrdiff_t(begin), text.begin() + std::ptrdiff_t(t));
    const auto logits = wfc::to_host<backend>(g.logits(context, 1));
    const float* row = logits.data() + (context.size() - 1) * V;
    double top = row[0], sum = 0;
    for (std::size_t v = 1; v < V; ++v) top = std::max(top, double(row[v]));
    for (std::size_t v = 0; v < V; ++v) sum += std::exp(double(row[v]) - top);
    total += top + std::log(sum) - double(row[std::size_t(text[t])]);
  }
  return total / double(text.size() - from);
}

struct row {
  std::string name;
  double tokens_per_s = 0, steps_per_token = 0, tokens_per_solve = 0, nll = 0;
};

int run(const options& o) {
  using namespace wfc;
  wfc_examples::set_threads(o.threads);
  // Every flag before the text is read and the two models train.
  trainer_settings t;
  t.iterations = o.iterations;
  t.eval_interval = o.iterations;
  t.validate();
  using count = std::pair<const char*, index_t>;
  for (const count& c : {count{"--samples", o.samples}, count{"--tokens", o.tokens}, count{"--prompt", o.prompt}})
    if (c.second < 1) throw config_error(std::string(c.first) + " must be at least 1, got " + std::to_string(c.second));
  sampler{o.temperature}.validate();
  solvers::anderson{o.tolerance, o.limit, 1.0, 3}.validate();
  wfc_objective objective;
  objective.reveal = o.reveal;
  objective.partial = o.partial;
  objective.validate();
  const std::string text = read_text_file(o.data);
  const auto tok = char_tokenizer::from_text(text);
  const text_dataset data(tok.encode(text));
  if (o.prompt > data.size(split::validation))
    throw config_error("--prompt " + std::to_string(o.prompt) + ": the prompts are windows of the validation text, which has only " +
                       std::to_string(data.size(split::validation)) + " characters");

  gpt_config gc;
  gc.vocab = tok.vocab_size();
  gpt_type gpt(gc);
  gpt.initialise(t.seed);
  std::fprintf(stderr, "training the GPT (rotary)\n");
  const auto g = train(gpt, data, t, wfc_examples::progress{});

  wfc_config wc;
  wc.vocab = tok.vocab_size();
  wc.future = 4;
  wfc_objective obj = objective;
  obj.steps = 2;
  wfc_type model(wc, obj, solvers::fixed_steps{2, 1.0});
  model.initialise(t.seed);
  std::fprintf(stderr, "training the WFC model (F 4, K 2, rotary, reveal %g, partial %g)\n", o.reveal, o.partial);
  const auto w = train(model, data, t, wfc_examples::progress{});
  std::printf("GPT val loss %.4f; WFC objective val loss %.4f (%lld iterations each)\n\n", g.val_loss, w.val_loss,
              static_cast<long long>(o.iterations));

  // Prompts: evenly spaced windows of the validation text.
  std::vector<std::vector<token_id>> prompts;
  const index_t span = data.size(split::validation) - o.prompt;
  for (index_t s = 0; s < o.samples; ++s) {
    const token_id* at = data.begin(split::validation) + span * s / o.samples;
    prompts.emplace_back(at, at + o.prompt);
  }
  const sampler pick{o.temperature};
  auto measure = [&](const std::string& name, auto&& generate_one) {
    row r{name};
    double seconds = 0, nll = 0, tokens = 0, solves = 0, steps = 0;
    for (index_t s = 0; s < o.samples; ++s) {
      const auto start = std::chrono::steady_clock::now();
      const generation_result out = generate_one(prompts[std::size_t(s)], std::uint64_t(s + 1));
      seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::vector<token_id> whole = prompts[std::size_t(s)];
      whole.insert(whole.end(), out.tokens.begin(), out.tokens.end());
      nll += gpt_nll(gpt, whole, prompts[std::size_t(s)].size());
      tokens += double(out.tokens.size());
      solves += double(out.solves);
      steps += double(out.solver_steps);
    }
    r.tokens_per_s = tokens / seconds;
    r.steps_per_token = steps / tokens;
    r.tokens_per_solve = solves > 0 ? tokens / solves : 0;
    r.nll = nll / double(o.samples);
    std::printf("| %s | %.0f | %.2f | %.2f | %.4f |\n", r.name.c_str(), r.tokens_per_s, r.steps_per_token, r.tokens_per_solve, r.nll);
    std::fflush(stdout);
    return r;
  };
  const solvers::anderson solver{o.tolerance, o.limit, 1.0, 3};
  auto wfc_run = [&](auto policy, warm_start start, solvers::anderson with) {
    return [&, policy, start, with](const std::vector<token_id>& prompt, std::uint64_t seed) {
      generation_settings s;
      s.max_tokens = o.tokens;
      s.seed = seed;
      s.start = start;
      return make_generator(model, policy, pick, with).run(prompt, s);
    };
  };
  const solvers::anderson patient{o.tolerance, 4 * o.limit, 1.0, 3};  // room for the early exit to show
  std::printf("Sampling at temperature %g, %lld prompts of %lld characters from the validation text, %lld characters each; "
              "WFC solves with Anderson (tolerance %g, at most %lld steps).\n\n",
              o.temperature, static_cast<long long>(o.samples), static_cast<long long>(o.prompt), static_cast<long long>(o.tokens),
              o.tolerance, static_cast<long long>(o.limit));
  std::printf("| generator | tokens/s | solver steps per token | tokens per solve | NLL under the GPT (nats/char) |\n|---|---|---|---|---|\n");
  measure("GPT (key/value cache)", [&](const std::vector<token_id>& prompt, std::uint64_t seed) {
    generation_result r;
    r.tokens = generate(gpt, prompt, o.tokens, pick, counter_rng(seed));
    return r;
  });
  measure("WFC first_future, cold", wfc_run(collapse::first_future{}, warm_start::none, solver));
  measure("WFC first_future, warm", wfc_run(collapse::first_future{}, warm_start::state, solver));
  measure("WFC first_future, cold, ≤ " + std::to_string(patient.limit) + " steps", wfc_run(collapse::first_future{}, warm_start::none, patient));
  measure("WFC first_future, warm, ≤ " + std::to_string(patient.limit) + " steps", wfc_run(collapse::first_future{}, warm_start::state, patient));
  for (double tau : {0.5, 1.0, 2.0, 3.0, 4.0})
    measure("WFC entropy_threshold τ = " + std::to_string(tau).substr(0, 3), wfc_run(collapse::entropy_threshold{tau}, warm_start::none, solver));
  measure("WFC median_entropy_partial α = 0.5", wfc_run(collapse::median_entropy_partial{0.5}, warm_start::none, solver));
  measure("WFC entropy_horizon (2 bits)", wfc_run(collapse::entropy_horizon{2.0}, warm_start::none, solver));
  measure("WFC target (' ' as character 8)", wfc_run(collapse::target{8, tok.encode(" ")[0]}, warm_start::none, solver));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  CLI::App app{"Trains a GPT and a WFC model, then compares the collapse policies' speed and sample quality."};
  app.option_defaults()->always_capture_default();
  app.add_option("data", o.data, "the training text (UTF-8); prompts come from its last 10%")->required();
  app.add_option("--iterations", o.iterations, "training iterations of each model");
  app.add_option("--samples", o.samples, "prompts (one sample each) per generator");
  app.add_option("--tokens", o.tokens, "characters per sample");
  app.add_option("--prompt", o.prompt, "characters per prompt");
  app.add_option("--temperature", o.temperature, "sampling temperature");
  app.add_option("--tolerance", o.tolerance, "the WFC solver's early exit (‖Δx‖/‖x‖)");
  app.add_option("--limit", o.limit, "the WFC solver's most steps per solve");
  app.add_option("--reveal", o.reveal, "WFC training: rate of revealed slots");
  app.add_option("--partial", o.partial, "WFC training: rate of partially collapsed slots");
  app.add_option("--threads", o.threads, "OpenMP threads (0: OpenMP's default)");
  CLI11_PARSE(app, argc, argv);
  return wfc_examples::exit_code([&] { return run(o); });
}
