// The collapse loop at batch 1: tokens/s, solver steps per emitted token and tokens emitted per
// solve for each collapse policy (entropy_threshold at several τ), warm and cold starts. Entropy-
// driven policies need a model whose entropies mean something, so one small WFC model (F 4, K 2,
// rotary; 2 layers, d = 128) first trains for a few hundred iterations on the generated play of the
// examples (about 20 s), and every benchmark generates from it.
#include "common.hpp"
#include "main.hpp"
#include "support/corpus.hpp"

namespace wfc_bench {
#if defined(WFC_HAVE_CPU)
namespace {

using model_type = wfc::wfc_model<float, wfc::cpu, wfc::past::pinned, wfc::masks::bidirectional, wfc::rotary_positions>;

struct trained {
  wfc::char_tokenizer tok;
  model_type model;
  std::vector<wfc::token_id> prompt;
};

trained& shared_model() {
  static trained t = [] {
    const std::string text = wfc_examples::generated_play(200000);
    auto tok = wfc::char_tokenizer::from_text(text);
    const wfc::text_dataset data(tok.encode(text));
    wfc::wfc_config c;
    c.vocab = tok.vocab_size();
    c.layers = 2;
    c.future = 4;
    wfc::wfc_objective o;
    o.steps = 2;
    o.partial = 0.3;
    o.reveal = 0.1;
    model_type m(c, o, wfc::solvers::fixed_steps{2, 1.0});
    m.initialise(1);
    wfc::trainer_settings s;
    s.iterations = 300;
    s.lr = 2e-3;
    s.eval_interval = 300;
    s.eval_batches = 2;
    wfc::train(m, data, s);
    const auto prompt = tok.encode("KING:\n");
    return trained{std::move(tok), std::move(m), prompt};
  }();
  return t;
}

constexpr index_t emitted = 128;

template <class Policy>
void bm_generate(benchmark::State& state, Policy policy, wfc::warm_start start) {
  auto& t = shared_model();
  auto gen = wfc::make_generator(t.model, policy, wfc::sampler{0.8}, wfc::solvers::anderson{1e-2, 4, 1.0, 3});
  wfc::generation_settings s;
  s.max_tokens = emitted;
  s.start = start;
  double tokens = 0, steps = 0, solves = 0;
  for (auto _ : state) {
    ++s.seed;
    const auto out = gen.run(t.prompt, s);
    tokens += double(out.tokens.size());
    steps += double(out.solver_steps);
    solves += double(out.solves);
  }
  state.counters["tokens/s"] = benchmark::Counter(tokens, benchmark::Counter::kIsRate);
  state.counters["steps/token"] = steps / tokens;
  state.counters["tokens/solve"] = tokens / solves;
}

}  // namespace
#endif

void register_benchmarks() {
#if defined(WFC_HAVE_CPU)
  namespace collapse = wfc::collapse;
  const std::string config = "l2_d128_F4_n" + std::to_string(emitted);
  auto reg = [&](const std::string& name, auto policy, wfc::warm_start start) {
    benchmark::RegisterBenchmark(("generate_" + name + "/" + config + "/cpu").c_str(),
                                 [policy, start](benchmark::State& st) { bm_generate(st, policy, start); })
        ->Unit(benchmark::kMillisecond);
  };
  reg("first_future_cold", collapse::first_future{}, wfc::warm_start::none);
  reg("first_future_warm", collapse::first_future{}, wfc::warm_start::state);
  for (double tau : {0.25, 0.5, 1.0, 2.0})
    reg("entropy_threshold_tau" + std::to_string(tau).substr(0, 4), collapse::entropy_threshold{tau}, wfc::warm_start::none);
  reg("median_entropy_partial", collapse::median_entropy_partial{0.5}, wfc::warm_start::none);
  reg("entropy_horizon", collapse::entropy_horizon{2.0}, wfc::warm_start::none);
  reg("target", collapse::target{8, wfc::token_id(0)}, wfc::warm_start::none);
#endif
}

}  // namespace wfc_bench
