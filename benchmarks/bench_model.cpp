// Whole-model benchmarks of the GPT baseline at nanoGPT's CPU configuration (4 layers, 4 heads,
// d=128, block 64, vocabulary 65): one training iteration at batch 12 (zero_grad, forward,
// backward, AdamW step), and sampling at batch 1 with the key/value cache against recomputing the
// whole context for every token (what nanoGPT's generate does). Counters in tokens/s.
#include "common.hpp"
#include "main.hpp"

namespace wfc_bench {
namespace {

wfc::gpt_config nanogpt_config() {
  wfc::gpt_config c;
  c.vocab = gpt::vocab;
  c.block = gpt::block;
  c.width = gpt::channels;
  c.heads = gpt::heads;
  c.layers = gpt::layers;
  return c;
}

std::vector<wfc::token_id> random_tokens(index_t n, std::uint64_t stream) {
  const wfc::counter_rng rng(20240601, stream);
  std::vector<wfc::token_id> ids(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = wfc::token_id(rng.uniform<double>(i) * double(gpt::vocab));
  return ids;
}

void count_tokens(benchmark::State& state, double tokens_per_call) {
  state.counters["tokens/s"] = benchmark::Counter(tokens_per_call, benchmark::Counter::kIsIterationInvariantRate);
}

template <class B>
void bm_train_iteration(benchmark::State& state) {
  wfc::gpt<float, B> model(nanogpt_config());
  model.initialise(1);
  wfc::adamw_optimizer<float, B> optimiser(model.layout(), {});
  const auto x = random_tokens(gpt::rows, 1), y = random_tokens(gpt::rows, 2);
  const auto step = [&] {
    model.zero_grad();
    model.forward(x, y, gpt::batch);
    model.backward();
    optimiser.step(model.parameters(), model.gradients(), 1e-3f);
  };
  // Untimed warm-up: the first steps touch every activation and optimiser page for the first time
  // and start the thread pool; a short timed run would otherwise count them (31 against 28 ms).
  for (int i = 0; i < 5; ++i) step();
  fence(B{});
  time_kernel<B>(state, step);
  count_tokens(state, double(gpt::rows));
}

// `tokens` new tokens at batch 1 after a one-token prompt, past the block (so the context slides).
constexpr index_t sampled = 256;

template <class B>
void bm_sample_cached(benchmark::State& state) {
  wfc::gpt<float, B> model(nanogpt_config());
  model.initialise(1);
  const wfc::sampler pick{1.0, 0, 1.0};
  std::uint64_t seed = 0;
  time_kernel<B>(state, [&] { benchmark::DoNotOptimize(wfc::generate(model, {0}, sampled, pick, wfc::counter_rng(++seed))); });
  count_tokens(state, double(sampled));
}

// nanoGPT's way: the whole (cropped) context through the model for every new token.
template <class B>
void bm_sample_recompute(benchmark::State& state) {
  wfc::gpt<float, B> model(nanogpt_config());
  model.initialise(1);
  const wfc::sampler pick{1.0, 0, 1.0};
  std::uint64_t seed = 0;
  time_kernel<B>(state, [&] {
    const wfc::counter_rng rng(++seed);
    std::vector<wfc::token_id> context{0};
    for (index_t i = 0; i < sampled; ++i) {
      const index_t start = std::max<index_t>(0, index_t(context.size()) - gpt::block);
      const std::vector<wfc::token_id> window(context.begin() + start, context.end());
      const auto logits = model.logits(window, 1);
      const auto last = wfc::to_host<B>(logits[logits.extent(0) - 1]);
      context.push_back(pick(wfc::tensor_view<const float, 1>(last.data(), wfc::shape<1>{{gpt::vocab}}),
                             rng.uniform<double>(std::uint64_t(i))));
    }
    benchmark::DoNotOptimize(context);
  });
  count_tokens(state, double(sampled));
}

}  // namespace

void register_benchmarks() {
  const std::string config = dims({{"l", gpt::layers}, {"h", gpt::heads}, {"d", gpt::channels}, {"t", gpt::block}});
  for_each_backend([&](auto be) {
    using B = decltype(be);
    if constexpr (!std::is_same_v<B, wfc::reference>) {  // the scalar loops take seconds per iteration
      add("train_iteration", config + "_b" + std::to_string(gpt::batch), B::name, bm_train_iteration<B>);
      add("sample_cached", config + "_b1", B::name, bm_sample_cached<B>);
      add("sample_recompute", config + "_b1", B::name, bm_sample_recompute<B>);
    }
  });
}

}  // namespace wfc_bench
