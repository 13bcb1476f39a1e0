// Whole-model benchmarks of the GPT baseline at nanoGPT's CPU configuration (4 layers, 4 heads,
// d=128, block 64, vocabulary 65): one training iteration at batch 12 (zero_grad, forward,
// backward, AdamW step), and sampling at batch 1 with the key/value cache against recomputing the
// whole context for every token (what nanoGPT's generate does). Counters in tokens/s.
//
// With WFC_BENCH_GPU_SHAPE=1 in the environment, also nanoGPT's GPU configuration (6 layers,
// 6 heads, d=384, block 256; scripts/gpu-run.sh sets it), on every backend but the reference:
//   gpu_shape_train_iteration/gpt_l6_h6_d384_t256_b64/<backend>            the GPT, batch 64
//   gpu_shape_train_iteration/wfc_F4_K2_rotary_l6_h6_d384_t256_b64/<backend> the WFC model (F 4,
//       K 2, rotary positions, pinned past, bidirectional future mask), batch 64
//   gpu_shape_sample_cached/gpt_l6_h6_d384_t256_b1/<backend>         GPT sampling with the cache
//   gpu_shape_sample_recompute/gpt_l6_h6_d384_t256_b1/<backend>      GPT sampling, nanoGPT's way
//   gpu_shape_generate_first_future/wfc_F4_K2_rotary_l6_h6_d384_t256_b1/<backend>  the collapse
//       loop with collapse::first_future (one token per solve of K = 2 fixed steps)
// Each of these times calls until they add up to 2 s on a GPU and 0.5 s on a CPU (one call there:
// a training iteration takes seconds), after untimed warm-up calls (2 and 1;
// WFC_BENCH_GPU_SHAPE_WARMUP=n sets another count); --benchmark_min_time does not apply to them.
#include <cstdlib>

#include "common.hpp"
#include "main.hpp"

namespace wfc_bench {
namespace {

// One model configuration and its batch; `warmup` untimed calls precede the timed ones.
struct model_shape {
  index_t batch, block, width, heads, layers, vocab;
  int warmup;
  index_t rows() const { return batch * block; }
  std::string name() const { return dims({{"l", layers}, {"h", heads}, {"d", width}, {"t", block}}); }
  wfc::gpt_config gpt() const {
    wfc::gpt_config c;
    c.vocab = vocab;
    c.block = block;
    c.width = width;
    c.heads = heads;
    c.layers = layers;
    return c;
  }
  // The WFC model as the wfc program composes it by default, with rotary positions: F = 4, K = 2.
  wfc::wfc_config wfc() const {
    wfc::wfc_config c;
    c.vocab = vocab;
    c.width = width;
    c.heads = heads;
    c.layers = layers;
    c.future = 4;
    c.window = block;
    return c;
  }
};

template <class B>
using wfc_model_of = wfc::wfc_model<float, B, wfc::past::pinned, wfc::masks::bidirectional, wfc::rotary_positions>;
constexpr index_t wfc_steps = 2;

std::vector<wfc::token_id> random_tokens(index_t n, index_t vocab, std::uint64_t stream) {
  const wfc::counter_rng rng(20240601, stream);
  std::vector<wfc::token_id> ids(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = wfc::token_id(rng.uniform<double>(i) * double(vocab));
  return ids;
}

void count_tokens(benchmark::State& state, double tokens_per_call) {
  state.counters["tokens/s"] = benchmark::Counter(tokens_per_call, benchmark::Counter::kIsIterationInvariantRate);
}

// `call` warm-up times untimed, then timed. The warm-up touches every activation and optimiser page
// for the first time and starts the thread pool; a short timed run would otherwise count them
// (31 against 28 ms for the CPU shape's training iteration).
template <class B, class Call>
void time_after_warmup(benchmark::State& state, int warmup, Call&& call) {
  for (int i = 0; i < warmup; ++i) call();
  fence(B{});
  time_kernel<B>(state, call);
}

// One training iteration (zero_grad, forward, backward, AdamW step with nanoGPT's settings).
template <class B, class Model>
void train_iteration(benchmark::State& state, Model& model, const model_shape& s) {
  model.initialise(1);
  wfc::adamw_optimizer<float, B> optimiser(model.layout(), {});
  const auto x = random_tokens(s.rows(), s.vocab, 1), y = random_tokens(s.rows(), s.vocab, 2);
  time_after_warmup<B>(state, s.warmup, [&] {
    model.zero_grad();
    model.forward(x, y, s.batch);
    model.backward();
    optimiser.step(model.parameters(), model.gradients(), 1e-3f);
  });
  count_tokens(state, double(s.rows()));
}

template <class B>
void bm_train_gpt(benchmark::State& state, const model_shape& s) {
  wfc::gpt<float, B> model(s.gpt());
  train_iteration<B>(state, model, s);
}

template <class B>
void bm_train_wfc(benchmark::State& state, const model_shape& s) {
  wfc::wfc_objective objective;
  objective.steps = wfc_steps;
  wfc_model_of<B> model(s.wfc(), objective, wfc::solvers::fixed_steps{wfc_steps, 1.0});
  train_iteration<B>(state, model, s);
}

// 256 new tokens at batch 1 after a one-token prompt (past the CPU shape's block, so its context slides).
constexpr index_t sampled = 256;

template <class B>
void bm_sample_cached(benchmark::State& state, const model_shape& s) {
  wfc::gpt<float, B> model(s.gpt());
  model.initialise(1);
  const wfc::sampler pick{1.0, 0, 1.0};
  std::uint64_t seed = 0;
  time_after_warmup<B>(state, s.warmup, [&] { benchmark::DoNotOptimize(wfc::generate(model, {0}, sampled, pick, wfc::counter_rng(++seed))); });
  count_tokens(state, double(sampled));
}

// nanoGPT's way: the whole (cropped) context through the model for every new token.
template <class B>
void bm_sample_recompute(benchmark::State& state, const model_shape& s) {
  wfc::gpt<float, B> model(s.gpt());
  model.initialise(1);
  const wfc::sampler pick{1.0, 0, 1.0};
  std::uint64_t seed = 0;
  time_after_warmup<B>(state, s.warmup, [&] {
    const wfc::counter_rng rng(++seed);
    std::vector<wfc::token_id> context{0};
    for (index_t i = 0; i < sampled; ++i) {
      const index_t start = std::max<index_t>(0, index_t(context.size()) - s.block);
      const std::vector<wfc::token_id> window(context.begin() + start, context.end());
      const auto logits = model.logits(window, 1);
      const auto last = wfc::to_host<B>(logits[logits.extent(0) - 1]);
      context.push_back(pick(wfc::tensor_view<const float, 1>(last.data(), wfc::shape<1>{{s.vocab}}), rng.uniform<double>(std::uint64_t(i))));
    }
    benchmark::DoNotOptimize(context);
  });
  count_tokens(state, double(sampled));
}

// The collapse loop with first_future: every solve (K = 2 fixed steps over the F slots) emits the
// first slot's token. Untrained weights: the policy does not look at entropies, so the work per
// token is what a trained model's would be.
template <class B>
void bm_generate_first_future(benchmark::State& state, const model_shape& s) {
  wfc_model_of<B> model(s.wfc(), {}, wfc::solvers::fixed_steps{wfc_steps, 1.0});
  model.initialise(1);
  auto gen = wfc::make_generator(model, wfc::collapse::first_future{}, wfc::sampler{0.8}, wfc::solvers::fixed_steps{wfc_steps, 1.0});
  wfc::generation_settings settings;
  settings.max_tokens = sampled;
  const std::vector<wfc::token_id> prompt{0};
  double tokens = 0, solves = 0;
  time_after_warmup<B>(state, s.warmup, [&] {
    ++settings.seed;
    const auto out = gen.run(prompt, settings);
    tokens += double(out.tokens.size());
    solves += double(out.solves);
  });
  state.counters["tokens/s"] = benchmark::Counter(tokens, benchmark::Counter::kIsRate);  // warm-up tokens are few against the timed ones'
  state.counters["tokens/solve"] = solves > 0 ? tokens / solves : 0.0;
}

// Whether B's kernels run on an accelerator (its memory is not the host's).
template <class B>
constexpr bool on_device() {
#if defined(WFC_HAVE_KOKKOS)
  if constexpr (is_kokkos<B>::value)
    return !Kokkos::SpaceAccessibility<Kokkos::HostSpace, typename B::memory_space>::accessible;
#endif
  return false;
}

bool gpu_shape_requested() {
  const char* v = std::getenv("WFC_BENCH_GPU_SHAPE");
  return v != nullptr && *v != '\0' && std::string(v) != "0";
}

template <class B>
int gpu_shape_warmup() {
  if (const char* v = std::getenv("WFC_BENCH_GPU_SHAPE_WARMUP"); v != nullptr && *v != '\0') return std::max(0, std::atoi(v));
  return on_device<B>() ? 2 : 1;
}

}  // namespace

void register_benchmarks() {
  // Training warms up for 5 steps; sampling is timed from its first call.
  const model_shape cpu{gpt::batch, gpt::block, gpt::channels, gpt::heads, gpt::layers, gpt::vocab, 5};
  model_shape sampling = cpu;
  sampling.warmup = 0;
  const std::string config = cpu.name(), batch = "_b" + std::to_string(cpu.batch);
  for_each_backend([&](auto be) {
    using B = decltype(be);
    if constexpr (!std::is_same_v<B, wfc::reference>) {  // the scalar loops take seconds per iteration
      add("train_iteration", config + batch, B::name, [cpu](benchmark::State& st) { bm_train_gpt<B>(st, cpu); });
      add("sample_cached", config + "_b1", B::name, [sampling](benchmark::State& st) { bm_sample_cached<B>(st, sampling); });
      add("sample_recompute", config + "_b1", B::name, [sampling](benchmark::State& st) { bm_sample_recompute<B>(st, sampling); });
    }
  });
  if (!gpu_shape_requested()) return;
  for_each_backend([&](auto be) {
    using B = decltype(be);
    if constexpr (!std::is_same_v<B, wfc::reference>) {  // minutes per iteration at this shape
      // nanoGPT's GPU configuration (config/train_shakespeare_char.py): batch 64, block 256, 384
      // channels, 6 heads, 6 layers, the same vocabulary.
      const model_shape gpu{64, 256, 384, 6, 6, gpt::vocab, gpu_shape_warmup<B>()};
      const std::string shape = gpu.name(), train = "_b" + std::to_string(gpu.batch), wfc_name = "wfc_F4_K2_rotary_";
      const double t = on_device<B>() ? 2.0 : 0.5;  // least timed seconds: one call of seconds is enough on a CPU
      add("gpu_shape_train_iteration", "gpt_" + shape + train, B::name, [gpu](benchmark::State& st) { bm_train_gpt<B>(st, gpu); })->MinTime(t);
      add("gpu_shape_train_iteration", wfc_name + shape + train, B::name, [gpu](benchmark::State& st) { bm_train_wfc<B>(st, gpu); })->MinTime(t);
      add("gpu_shape_sample_cached", "gpt_" + shape + "_b1", B::name, [gpu](benchmark::State& st) { bm_sample_cached<B>(st, gpu); })->MinTime(t);
      add("gpu_shape_sample_recompute", "gpt_" + shape + "_b1", B::name, [gpu](benchmark::State& st) { bm_sample_recompute<B>(st, gpu); })->MinTime(t);
      add("gpu_shape_generate_first_future", wfc_name + shape + "_b1", B::name,
          [gpu](benchmark::State& st) { bm_generate_first_future<B>(st, gpu); })->MinTime(t);
    }
  });
}

}  // namespace wfc_bench
