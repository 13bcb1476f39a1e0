#pragma once
// What the example programs share: the training progress bar, human-readable durations, the
// trainer's command-line flags, and picking the backend named on the command line.
#include <wfc/wfc.hpp>

#include <CLI/CLI.hpp>

#include <cmath>
#include <cstdio>
#include <exception>
#include <string>

#include <unistd.h>  // isatty
#if defined(_OPENMP)
#include <omp.h>
#endif

namespace wfc_examples {

// The fastest backend this build has on the host: the cpu backend, else the reference loops.
#if defined(WFC_HAVE_CPU)
using host_backend = wfc::cpu;
#else
using host_backend = wfc::reference;
#endif

inline std::string duration(double seconds) {
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

// The trainer's observer: a progress bar on stderr redrawn in place when stderr is a terminal
// (plain lines at evaluations otherwise), and the evaluations on stdout.
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

// The flags every training program has: the text, the backend and its threads.
inline void add_run_options(CLI::App& app, std::string& data, std::string& backend, int& threads) {
  app.add_option("data,--data", data, "the training text (UTF-8); the last 10% validates")->required();
  app.add_option("--backend", backend, "reference, cpu or kokkos (where built)");
  app.add_option("--threads", threads, "OpenMP threads for the cpu backend (0: OpenMP's default)");
}

// The transformer's size, for any model configuration with layers, heads, width and bias.
template <class Config>
void add_model_options(CLI::App& app, Config& c) {
  app.add_option("--layers", c.layers, "transformer blocks");
  app.add_option("--heads", c.heads, "attention heads (must divide the width)");
  app.add_option("--width", c.width, "embedding width d");
  app.add_flag("--bias,!--no-bias", c.bias, "biases in the linear layers and norms (GPT-2); nanoGPT's default has none");
}

// The learning-rate schedule and AdamW's flags.
inline void add_optimiser_options(CLI::App& app, wfc::trainer_settings& t) {
  app.add_option("--lr", t.lr, "peak learning rate");
  app.add_option("--min-lr", t.min_lr, "learning rate at the end of the cosine decay");
  app.add_option("--warmup", t.warmup, "linear warm-up iterations");
  app.add_option("--weight-decay", t.adamw.weight_decay, "AdamW weight decay (matrices only)");
  app.add_option("--beta1", t.adamw.beta1, "AdamW β1");
  app.add_option("--beta2", t.adamw.beta2, "AdamW β2");
  app.add_option("--clip", t.adamw.clip, "largest global gradient norm (0: no clipping)");
}

// The optimisation and evaluation flags every training program has.
inline void add_trainer_options(CLI::App& app, wfc::trainer_settings& t) {
  app.add_option("--block", t.block, "context length (tokens per sequence)");
  app.add_option("--batch", t.batch, "sequences per micro-batch");
  app.add_option("--accumulation", t.accumulation, "micro-batches per optimiser step");
  app.add_option("--iterations", t.iterations, "optimiser steps");
  add_optimiser_options(app, t);
  app.add_option("--eval-interval", t.eval_interval, "evaluate every this many iterations (and after the last)");
  app.add_option("--eval-batches", t.eval_batches, "batches per split and evaluation");
  app.add_option("--seed", t.seed, "initialisation and batch seed");
}

// The WFC objective's flags: wfc_objective::validate() (which refuses infinite loss weights too).
inline void validate_objective(const wfc::wfc_objective& o) { o.validate(); }

// ", OpenMP threads: N" for the cpu backend, nothing otherwise.
template <class B>
std::string thread_note() {
#if defined(WFC_HAVE_CPU) && defined(_OPENMP)
  if (std::string(B::name) == "cpu") return ", OpenMP threads: " + std::to_string(omp_get_max_threads());
#endif
  return "";
}

// Sets the OpenMP thread count (0: OpenMP's default).
inline void set_threads(int threads) {
  if (threads < 0) throw wfc::config_error("--threads must be 0 (OpenMP's default) or positive, got " + std::to_string(threads));
#if defined(_OPENMP)
  if (threads > 0) omp_set_num_threads(threads);
#endif
}

// main()'s exit code: f()'s, or 1 after a one-line "error: …" on stderr when it throws (every
// wfc::error says what to fix).
template <class F>
int exit_code(F&& f) {
  try {
    return f();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}

// f(backend tag) for the backend called `name`; Kokkos is initialised around it.
template <class F>
int with_backend(const std::string& name, int argc, char** argv, F&& f) {
  if (name == "reference") return f(wfc::reference{});
#if defined(WFC_HAVE_CPU)
  if (name == "cpu") return f(wfc::cpu{});
#endif
#if defined(WFC_HAVE_KOKKOS)
  if (name == "kokkos") {
    Kokkos::ScopeGuard guard(argc, argv);
    return f(wfc::kokkos<>{});
  }
#endif
  (void)argc;
  (void)argv;
  throw wfc::config_error("unknown or unbuilt backend '" + name + "' (this build has: reference"
#if defined(WFC_HAVE_CPU)
                          ", cpu"
#endif
#if defined(WFC_HAVE_KOKKOS)
                          ", kokkos"
#endif
                          ")");
}

}  // namespace wfc_examples
