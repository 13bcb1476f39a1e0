// Trains the GPT baseline on a text file, character by character, as nanoGPT's shakespeare_char:
// the first 90% of the text trains, the last 10% validates. The defaults are nanoGPT's CPU run
// (4 layers, 4 heads, width 128, block 64, batch 12, 2000 iterations, lr 1e-3 → 1e-4), which
// reaches a validation loss of about 1.88 nats/char on tinyshakespeare. Then it samples text from
// the trained model with its key/value cache.
//
//   ./train_gpt path/to/text.txt [--iterations 2000] [--backend cpu] ...    (--help lists all)
#include <wfc/wfc.hpp>

#include <CLI/CLI.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <exception>
#include <string>

#include <unistd.h>  // isatty
#if defined(_OPENMP)
#include <omp.h>
#endif

namespace {

struct options {
  std::string data, backend = "cpu";
  wfc::gpt_config model;  // the vocabulary comes from the text, the block from the training settings
  wfc::trainer_settings train;
  std::string positions = "learned";
  int threads = 0;  // 0: OpenMP's default
  // Sampling after training (nanoGPT's sample.py defaults: temperature 0.8, top-k 200).
  std::string prompt = "\n";
  wfc::index_t sample_tokens = 500;
  wfc::sampler pick{0.8, 200, 1.0};
  std::uint64_t sample_seed = 1;
};

std::string duration(double seconds) {
  const long s = std::lround(seconds);
  char out[32];
  if (s >= 3600)
    std::snprintf(out, sizeof out, "%ldh%02ldm", s / 3600, s / 60 % 60);
  else if (s >= 60)
    std::snprintf(out, sizeof out, "%ldm%02lds", s / 60, s % 60);
  else
    std::snprintf(out, sizeof out, "%lds", s);
  return out;
}

// The observer: a progress bar on stderr redrawn in place when stderr is a terminal (plain lines
// at evaluations otherwise), and the evaluations on stdout.
class progress {
 public:
  void operator()(const wfc::training_record& r) {
    total_ms_ += r.ms;
    total_tokens_ += r.tokens_per_s * r.ms / 1e3;
    const double ms = total_ms_ / double(r.iteration), tokens_per_s = total_ms_ > 0 ? total_tokens_ / (total_ms_ / 1e3) : 0;
    const std::string eta = duration(r.elapsed_s / double(r.iteration) * double(r.iterations - r.iteration));
    const auto it = static_cast<long long>(r.iteration), total = static_cast<long long>(r.iterations);
    if (tty_) {
      const int width = 24, done = int(width * r.iteration / r.iterations);
      std::fprintf(stderr, "\r[%s%s] %lld/%lld  loss %.4f  %.1f ms/iter  %.0f tokens/s  ETA %s\033[K",
                   std::string(std::size_t(done), '#').c_str(), std::string(std::size_t(width - done), '.').c_str(), it, total, r.loss,
                   ms, tokens_per_s, eta.c_str());
    }
    if (!r.evaluated) return;
    if (tty_)
      std::fputs("\r\033[K", stderr);  // the evaluation line replaces the bar; the next iteration redraws it
    else
      std::fprintf(stderr, "%lld/%lld  loss %.4f  %.1f ms/iter  %.0f tokens/s  ETA %s\n", it, total, r.loss, ms, tokens_per_s,
                   eta.c_str());
    std::fflush(stderr);
    std::printf("iter %lld: train loss %.4f, val loss %.4f\n", it, r.train_loss, r.val_loss);
    std::fflush(stdout);
  }

 private:
  bool tty_ = isatty(fileno(stderr)) != 0;
  double total_ms_ = 0, total_tokens_ = 0;  // over the steps so far (evaluations excluded)
};

template <class B, class Positions>
int run(const options& o) {
  using namespace wfc;
  o.train.validate();
  const std::string text = read_text_file(o.data);
  if (text.empty()) throw io_error("'" + o.data + "' holds no text (an empty file, or a directory?)");
  const auto tok = char_tokenizer::from_text(text);
  const text_dataset data(tok.encode(text));
  const auto prompt = tok.encode(o.prompt);  // before training: an unknown character is an error naming it
  gpt_config config = o.model;
  config.vocab = tok.vocab_size();
  config.block = o.train.block;
  gpt<float, B, Positions> model(config);
  model.initialise(o.train.seed);

  std::string threads;
#if defined(WFC_HAVE_CPU) && defined(_OPENMP)
  if (std::string(B::name) == "cpu") threads = ", OpenMP threads: " + std::to_string(omp_get_max_threads());
#endif
  std::printf("data: %s: %lld characters, %lld distinct; %lld train and %lld validation tokens\n", o.data.c_str(),
              static_cast<long long>(data.size(split::train) + data.size(split::validation)), static_cast<long long>(config.vocab),
              static_cast<long long>(data.size(split::train)), static_cast<long long>(data.size(split::validation)));
  std::printf("model: layers %lld, heads %lld, width %lld, block %lld, %s positions: %.2fM parameters; %s backend%s, float\n",
              static_cast<long long>(config.layers), static_cast<long long>(config.heads), static_cast<long long>(config.width),
              static_cast<long long>(config.block), o.positions.c_str(), double(model.layout().size()) / 1e6, B::name,
              threads.c_str());
  const trainer_settings& t = o.train;
  std::printf("training: %lld iterations of %lld×%lld tokens (accumulation %lld), lr %g → %g, warm-up %lld, evaluation every %lld on %lld batches\n",
              static_cast<long long>(t.iterations), static_cast<long long>(t.batch), static_cast<long long>(t.block),
              static_cast<long long>(t.accumulation), t.lr, t.min_lr, static_cast<long long>(t.warmup),
              static_cast<long long>(t.eval_interval), static_cast<long long>(t.eval_batches));
  std::fflush(stdout);

  const training_summary result = train(model, data, o.train, progress{});
  std::printf("final val loss %.4f (train %.4f); %.1f ms/iter; wall time %s\n", result.val_loss, result.train_loss, result.mean_ms,
              duration(result.seconds).c_str());

  if (o.sample_tokens > 0) {
    const auto start = std::chrono::steady_clock::now();
    const auto tokens = generate(model, prompt, o.sample_tokens, o.pick, counter_rng(o.sample_seed));
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("\n---- %lld sampled tokens (temperature %g, top-k %lld, top-p %g, seed %llu): %.0f tokens/s ----\n%s%s\n",
                static_cast<long long>(o.sample_tokens), o.pick.temperature, static_cast<long long>(o.pick.top_k), o.pick.top_p,
                static_cast<unsigned long long>(o.sample_seed), double(tokens.size()) / seconds, o.prompt.c_str(),
                tok.decode(tokens).c_str());
  }
  return 0;
}

template <class B>
int run_with_positions(const options& o) {
  return o.positions == "rotary" ? run<B, wfc::rotary_positions>(o) : run<B, wfc::learned_positions>(o);
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  CLI::App app{"Trains the GPT baseline on a text file, character by character (nanoGPT's shakespeare_char recipe)."};
  app.option_defaults()->always_capture_default();
  app.add_option("data,--data", o.data, "the training text (UTF-8); the last 10% validates")->required();
  app.add_option("--backend", o.backend, "reference, cpu or kokkos (where built)");
  app.add_option("--threads", o.threads, "OpenMP threads for the cpu backend (0: OpenMP's default)");
  app.add_option("--layers", o.model.layers, "transformer blocks");
  app.add_option("--heads", o.model.heads, "attention heads (must divide the width)");
  app.add_option("--width", o.model.width, "embedding width d");
  app.add_flag("--bias,!--no-bias", o.model.bias, "biases in the linear layers and norms (GPT-2); nanoGPT's default has none");
  app.add_option("--block", o.train.block, "context length (tokens per sequence)");
  app.add_option("--batch", o.train.batch, "sequences per micro-batch");
  app.add_option("--accumulation", o.train.accumulation, "micro-batches per optimiser step");
  app.add_option("--iterations", o.train.iterations, "optimiser steps");
  app.add_option("--lr", o.train.lr, "peak learning rate");
  app.add_option("--min-lr", o.train.min_lr, "learning rate at the end of the cosine decay");
  app.add_option("--warmup", o.train.warmup, "linear warm-up iterations");
  app.add_option("--weight-decay", o.train.adamw.weight_decay, "AdamW weight decay (matrices only)");
  app.add_option("--beta1", o.train.adamw.beta1, "AdamW β1");
  app.add_option("--beta2", o.train.adamw.beta2, "AdamW β2");
  app.add_option("--clip", o.train.adamw.clip, "largest global gradient norm (0: no clipping)");
  app.add_option("--eval-interval", o.train.eval_interval, "evaluate every this many iterations (and after the last)");
  app.add_option("--eval-batches", o.train.eval_batches, "batches per split and evaluation");
  app.add_option("--seed", o.train.seed, "initialisation and batch seed");
  app.add_option("--positions", o.positions, "learned (a position table, as nanoGPT) or rotary");
  app.add_option("--prompt", o.prompt, "text the sample continues (every character must occur in the training text)");
  app.add_option("--sample-tokens", o.sample_tokens, "tokens to sample after training (0: none)");
  app.add_option("--temperature", o.pick.temperature, "sampling temperature (0: greedy)");
  app.add_option("--top-k", o.pick.top_k, "sample among the k most likely tokens (0: all)");
  app.add_option("--top-p", o.pick.top_p, "sample within the smallest set of probability ≥ p (1: no cut)");
  app.add_option("--sample-seed", o.sample_seed, "seed of the sampling draws");
  CLI11_PARSE(app, argc, argv);

  try {
    if (o.threads < 0) throw wfc::config_error("--threads must be 0 (OpenMP's default) or positive, got " + std::to_string(o.threads));
#if defined(_OPENMP)
    if (o.threads > 0) omp_set_num_threads(o.threads);
#endif
    if (o.positions != "learned" && o.positions != "rotary")
      throw wfc::config_error("--positions must be learned or rotary, got '" + o.positions + "'");
    if (o.sample_tokens < 0) throw wfc::config_error("--sample-tokens cannot be negative");
    o.pick.validate();
    if (o.backend == "reference") return run_with_positions<wfc::reference>(o);
#if defined(WFC_HAVE_CPU)
    if (o.backend == "cpu") return run_with_positions<wfc::cpu>(o);
#endif
#if defined(WFC_HAVE_KOKKOS)
    if (o.backend == "kokkos") {
      Kokkos::ScopeGuard guard(argc, argv);
      return run_with_positions<wfc::kokkos<>>(o);
    }
#endif
    throw wfc::config_error("unknown or unbuilt backend '" + o.backend + "' (this build has: reference"
#if defined(WFC_HAVE_CPU)
                            ", cpu"
#endif
#if defined(WFC_HAVE_KOKKOS)
                            ", kokkos"
#endif
                            ")");
  } catch (const wfc::error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
