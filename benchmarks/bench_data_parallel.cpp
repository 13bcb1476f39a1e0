// Data-parallel training's cost per iteration: the gradient all-reduce (its bytes and its time)
// beside the compute, for the shapes `wfc train` uses by default, a GPT and a WFC model (F = 4,
// K = 2). The global batch is the same however many ranks share it, so a run under mpirun and a
// run as one process compare directly:
//
//   mpirun -np 2 build/benchmarks/bench_data_parallel --threads 1     two ranks, a thread each
//   build/benchmarks/bench_data_parallel --threads 2                   one process, two threads
//
// Rank 0 prints one row per model: ms per iteration; in it, the wait for the slowest rank (a
// barrier before the all-reduce) and the all-reduce itself; the all-reduce's share; and a paper
// estimate of the speed-up at 8 and 64 ranks, each rank keeping this run's rows per batch, with a
// ring all-reduce (2·(N − 1)/N of the bytes through each link) over a 100 Gb/s network and over
// this machine's measured all-reduce bandwidth. Timing needs a quiet machine.
#include <CLI/CLI.hpp>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "wfc/mpi/process_group.hpp"
#include "wfc/wfc.hpp"

namespace {

using clock_type = std::chrono::steady_clock;
double seconds_since(clock_type::time_point t) { return std::chrono::duration<double>(clock_type::now() - t).count(); }

// A process group that times the gradient sum, split into the wait for the slowest rank and the
// all-reduce proper (one process: nothing to time).
struct timed_group {
  const wfc::mpi::process_group* ranks = nullptr;  // null: one process
  mutable double wait_s = 0, reduce_s = 0;
  int rank() const { return ranks ? ranks->rank() : 0; }
  int size() const { return ranks ? ranks->size() : 1; }
  void sum(double* values, int count) const {
    if (ranks) ranks->sum(values, count);
  }
  template <class Backend, class T>
  void sum(wfc::tensor_view<T, 1> values) const {
    if (!ranks) return;
    auto t = clock_type::now();
    MPI_Barrier(ranks->communicator());
    wait_s += seconds_since(t);
    t = clock_type::now();
    ranks->sum<Backend>(values);
    reduce_s += seconds_since(t);
  }
  template <class Work>
  void together(Work&& work) const {
    if (ranks) ranks->together(std::forward<Work>(work));
    else work();
  }
};

struct options {
  int threads = 0;
  std::int64_t iterations = 30, skip = 5;
  wfc::index_t batch = 12, block = 64;
};

// Random characters of a 65-letter alphabet: the timing does not depend on the text.
wfc::text_dataset synthetic_text() {
  std::vector<wfc::token_id> tokens(200000);
  const wfc::counter_rng rng(7);
  for (std::size_t i = 0; i < tokens.size(); ++i) tokens[i] = wfc::token_id(rng.uniform<double>(i) * 65);
  return wfc::text_dataset(tokens);
}

template <class Model>
void measure(const std::string& name, Model model, const wfc::text_dataset& data, const options& o, timed_group& group) {
  wfc::trainer_settings s;
  s.iterations = o.iterations;
  s.batch = o.batch;
  s.block = o.block;
  s.eval_interval = o.iterations + 1;  // no evaluation inside the timed steps …
  s.eval_batches = 1;
  s.warmup = 0;
  s.validate();
  wfc::adamw_optimizer<float, wfc::cpu> optimizer(model.layout(), s.adamw);
  double step_s = 0;
  std::int64_t timed = 0;
  double wait_before = 0, reduce_before = 0;
  wfc::train(model, data, s, optimizer, wfc::training_range(0, o.iterations - 1), group, [&](const wfc::training_record& r) {  // … nor after
    if (r.iteration == o.skip) wait_before = group.wait_s, reduce_before = group.reduce_s;
    if (r.iteration <= o.skip) return;
    step_s += r.ms / 1e3;
    ++timed;
  });
  const double ms = 1e3 * step_s / double(timed), wait = 1e3 * (group.wait_s - wait_before) / double(timed),
               reduce = 1e3 * (group.reduce_s - reduce_before) / double(timed);
  const double bytes = 4.0 * double(model.layout().size()), compute = ms - wait - reduce;
  if (group.rank() != 0) return;
  std::printf("%-4s %5d %7d %8.2fM %8.2f MB %9.2f %8.2f %8.3f %6.1f%%", name.c_str(), group.size(), o.threads,
              double(model.layout().size()) / 1e6, bytes / 1e6, ms, wait, reduce, 100 * reduce / ms);
  // Weak scaling on paper: every rank keeps this run's rows (and this compute); the ring moves
  // 2·(N − 1)/N of the bytes through each link, plus 2·(N − 1) latencies of 5 µs.
  const auto speedup = [&](int n, double bytes_per_s) {
    const double ring_s = 2.0 * (n - 1) / n * bytes / bytes_per_s + 2.0 * (n - 1) * 5e-6;
    return n * compute / (compute + 1e3 * ring_s);
  };
  const double network = 12.5e9;  // 100 Gb/s
  const double here = group.size() > 1 && reduce > 0 ? 2.0 * (group.size() - 1) / group.size() * bytes / (reduce / 1e3) : 0;
  std::printf("   %5.1f× %5.1f×", speedup(8, network), speedup(64, network));
  if (here > 0) std::printf("   %5.1f× %5.1f× (%.1f GB/s)", speedup(8, here), speedup(64, here), here / 1e9);
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  std::optional<wfc::mpi::environment> mpi;
  std::optional<wfc::mpi::process_group> ranks;
  options o;
  CLI::App app{"Data-parallel training's cost per iteration: the gradient all-reduce beside the compute (run it under mpirun, or alone)"};
  app.add_option("--threads", o.threads, "OpenMP threads per process (0: OpenMP's default)");
  app.add_option("--iterations", o.iterations, "training steps, the first --skip of them untimed");
  app.add_option("--skip", o.skip, "untimed warm-up steps");
  app.add_option("--batch", o.batch, "sequences per global batch (shared by the ranks)");
  app.add_option("--block", o.block, "tokens per sequence");
  CLI11_PARSE(app, argc, argv);
  try {
    if (wfc::mpi::launched()) mpi.emplace(argc, argv), ranks.emplace();
    if (o.iterations < o.skip + 2 || o.skip < 1) throw wfc::config_error("--iterations must exceed --skip by at least 2, and --skip be ≥ 1");
    if (o.threads > 0) omp_set_num_threads(o.threads);
    o.threads = omp_get_max_threads();
    timed_group group;
    if (ranks) group.ranks = &*ranks;
    const wfc::text_dataset data = synthetic_text();
    if (group.rank() == 0) {
      std::printf("global batch %lld × %lld tokens, %lld timed iterations after %lld; speed-up on paper: 100 Gb/s ring, then this machine's all-reduce\n",
                  static_cast<long long>(o.batch), static_cast<long long>(o.block), static_cast<long long>(o.iterations - 1 - o.skip),
                  static_cast<long long>(o.skip));
      std::printf("%-4s %5s %7s %9s %11s %9s %8s %8s %7s   %6s %6s\n", "", "ranks", "threads", "params", "all-reduce", "ms/iter", "wait",
                  "reduce", "share", "N=8", "N=64");
    }
    wfc::gpt_config g;
    g.vocab = 65, g.block = o.block, g.layers = 4, g.heads = 4, g.width = 128;
    wfc::gpt<float, wfc::cpu> gpt(g);
    gpt.initialise(1);
    measure("GPT", std::move(gpt), data, o, group);
    wfc::wfc_config c;
    c.vocab = 65, c.window = o.block, c.future = 4, c.layers = 4, c.heads = 4, c.width = 128;
    wfc::wfc_objective objective;
    objective.steps = 2, objective.reveal = 0.1, objective.partial = 0.3;
    wfc::wfc_model<float, wfc::cpu> model(c, objective, wfc::solvers::fixed_steps{2, 1.0});
    model.initialise(1);
    group.wait_s = group.reduce_s = 0;
    measure("WFC", std::move(model), data, o, group);
  } catch (const wfc::error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
