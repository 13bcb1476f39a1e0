// Data-parallel training over MPI (wfc/mpi/process_group.hpp), run by ctest under mpirun with 1, 2
// and 4 ranks. Every rank also trains the same model alone on the whole batch (wfc::single_process)
// and the two runs must agree: the result does not depend on the number of ranks.
#include <functional>
#include <string>
#include <vector>

#include "support/lexicon.hpp"
#include "support/testing.hpp"
#include "wfc/mpi/process_group.hpp"
#include "wfc/train/trainer.hpp"

using namespace wfc;
using namespace wfc::testing;

namespace {

const mpi::process_group& world() {
  static const mpi::process_group group;
  return group;
}

trainer_settings small_run() {
  trainer_settings s;
  s.iterations = 8;
  s.batch = 8;  // 8, 4 or 2 rows a rank
  s.block = 16;
  s.accumulation = 2;
  s.warmup = 2;
  s.eval_interval = 4;
  s.eval_batches = 2;
  s.seed = 21;
  return s;
}

struct run_log {
  std::vector<training_record> steps;
  std::vector<double> parameters;
};

// Trains a fresh model from make() with `group` and returns what it saw and where it ended.
template <class Make, class Group>
run_log train_with(Make make, const text_dataset& data, const trainer_settings& s, const Group& group) {
  auto model = make();
  using M = decltype(model);
  adamw_optimizer<typename M::value_type, typename M::backend_type> optimizer(model.layout(), s.adamw);
  run_log log;
  train(model, data, s, optimizer, {}, group, [&](const training_record& r) { log.steps.push_back(r); });
  log.parameters = values_of_view<typename M::backend_type>(model.parameters());
  return log;
}

// The distributed run against one process on the whole batch: each step's loss, gradient norm and
// evaluations, and the final weights, within `tolerance` (absolute). CHECK, not REQUIRE, until the
// last collective: a rank that stopped early would leave the others waiting.
template <class Make>
void require_independent_of_ranks(Make make, const text_dataset& data, const trainer_settings& s, double tolerance) {
  const run_log alone = train_with(make, data, s, single_process{});
  const run_log ranks = train_with(make, data, s, world());
  CHECK(ranks.steps.size() == alone.steps.size());
  double worst_loss = 0, worst_weight = 0;
  for (std::size_t i = 0; i < std::min(alone.steps.size(), ranks.steps.size()); ++i) {
    const training_record &a = alone.steps[i], &b = ranks.steps[i];
    INFO("iteration " << a.iteration << " on " << world().size() << " ranks");
    CHECK(b.iteration == a.iteration);
    CHECK(std::abs(b.loss - a.loss) <= tolerance);
    CHECK(std::abs(b.grad_norm - a.grad_norm) <= tolerance * std::max(1.0, a.grad_norm));
    CHECK(b.evaluated == a.evaluated);
    if (a.evaluated && b.evaluated) {
      CHECK(std::abs(b.train_loss - a.train_loss) <= tolerance);
      CHECK(std::abs(b.val_loss - a.val_loss) <= tolerance);
    }
    worst_loss = std::max(worst_loss, std::abs(b.loss - a.loss));
  }
  for (std::size_t i = 0; i < alone.parameters.size(); ++i) worst_weight = std::max(worst_weight, std::abs(ranks.parameters[i] - alone.parameters[i]));
  if (world().rank() == 0)
    std::printf("  %d rank(s): largest difference from one process: loss %.3g, weight %.3g\n", world().size(), worst_loss, worst_weight);
  CHECK(worst_weight <= tolerance);
  // Every rank holds the same weights: bit for bit rank 0's.
  std::vector<double> first = ranks.parameters;
  MPI_Bcast(first.data(), int(first.size()), MPI_DOUBLE, 0, world().communicator());
  REQUIRE(first == ranks.parameters);
}

// The lexicon's text as a data set, and its vocabulary's size.
struct lexicon_corpus {
  explicit lexicon_corpus(std::size_t chars) : lexicon_corpus(lexicon_text(chars), 0) {}
  index_t vocab;
  text_dataset data;

 private:
  lexicon_corpus(const std::string& text, int) : lexicon_corpus(char_tokenizer::from_text(text), text) {}
  lexicon_corpus(const char_tokenizer& tok, const std::string& text) : vocab(tok.vocab_size()), data(tok.encode(text)) {}
};

gpt_config small_gpt(index_t vocab) {
  gpt_config c;
  c.vocab = vocab;
  c.block = 16;
  c.width = 32;
  c.heads = 2;
  c.layers = 2;
  return c;
}

wfc_config small_wfc(index_t vocab) {
  wfc_config c;
  c.vocab = vocab;
  c.window = 16;
  c.future = 4;
  c.width = 32;
  c.heads = 2;
  c.layers = 2;
  return c;
}

// Each rank's message, the same on all: the lowest and highest hash over the ranks agree.
void require_same_on_every_rank(const std::string& message) {
  long long h[2] = {static_cast<long long>(std::hash<std::string>{}(message) >> 1), 0};
  h[1] = -h[0];
  MPI_Allreduce(MPI_IN_PLACE, h, 2, MPI_LONG_LONG, MPI_MIN, world().communicator());
  REQUIRE(h[0] == -h[1]);
}

}  // namespace

TEST_CASE("a GPT trained over the ranks equals one process on the whole batch", "[mpi]") {
  const lexicon_corpus corpus(4000);
  const text_dataset& data = corpus.data;
  SECTION("float, CPU backend: within 1e-5") {
    require_independent_of_ranks(
        [&] {
          gpt<float, cpu> m(small_gpt(corpus.vocab));
          m.initialise(3);
          return m;
        },
        data, small_run(), 1e-5);
  }
  SECTION("double, reference backend: within 1e-11 (only the order of the sums differs)") {
    trainer_settings s = small_run();
    s.iterations = 3;
    require_independent_of_ranks(
        [&] {
          gpt<double, reference> m(small_gpt(corpus.vocab));
          m.initialise(3);
          return m;
        },
        data, s, 1e-11);
  }
}

#if defined(WFC_HAVE_KOKKOS)
TEST_CASE("a WFC model on the Kokkos backend trained over the ranks equals one process", "[mpi][kokkos]") {
  const lexicon_corpus corpus(4000);
  const text_dataset& data = corpus.data;
  wfc_objective o;
  o.steps = 2;
  o.any_order = true;
  trainer_settings s = small_run();
  s.iterations = 4;
  require_independent_of_ranks(
      [&] {
        wfc_model<float, kokkos<>> m(small_wfc(corpus.vocab), o);
        m.initialise(4);
        return m;
      },
      data, s, 1e-5);
}
#endif

TEST_CASE("WFC models trained over the ranks equal one process, their per-row draws included", "[mpi]") {
  const lexicon_corpus corpus(4000);
  const text_dataset& data = corpus.data;
  SECTION("pinned past, any-order reveals weighted by the bound: each rank scores a different number of slots") {
    wfc_objective o;
    o.steps = 2;
    o.any_order = true;
    o.bound_weight = true;
    o.deep_supervision = 0.5;
    require_independent_of_ranks(
        [&] {
          wfc_model<float, cpu> m(small_wfc(corpus.vocab), o);
          m.initialise(4);
          return m;
        },
        data, small_run(), 1e-5);
  }
  SECTION("drifting past, fixed reveals and partial collapse") {
    wfc_objective o;
    o.steps = 2;
    o.reveal = 0.3;
    o.partial = 0.5;
    require_independent_of_ranks(
        [&] {
          wfc_model<float, cpu, past::drifting> m(small_wfc(corpus.vocab), o);
          m.initialise(4);
          return m;
        },
        data, small_run(), 1e-5);
  }
}

TEST_CASE("bad data on one rank stops every rank with that rank's error", "[mpi]") {
  const std::string text = lexicon_text(2000);
  const auto tok = char_tokenizer::from_text(text);
  std::vector<token_id> tokens = tok.encode(text);
  const bool bad = world().rank() == world().size() - 1;
  if (bad)  // every 40th token outside the model's vocabulary: the first batch meets one
    for (std::size_t i = 0; i < tokens.size(); i += 40) tokens[i] = token_id(tok.vocab_size() + 7);
  const text_dataset data(tokens);
  gpt<float, cpu> model(small_gpt(tok.vocab_size()));
  model.initialise(3);
  trainer_settings s = small_run();
  s.accumulation = 1;
  adamw_optimizer<float, cpu> optimizer(model.layout(), s.adamw);
  std::string message;
  std::int64_t steps = 0;
  try {
    train(model, data, s, optimizer, {}, world(), [&](const training_record& r) { steps = r.iteration; });
  } catch (const value_error& e) {
    message = e.what();
  }
  INFO("rank " << world().rank() << ": " << message);
  CHECK(!message.empty());
  CHECK(message.find("is outside") != std::string::npos);
  if (world().size() > 1) CHECK(message.find("on rank " + std::to_string(world().size() - 1)) != std::string::npos);
  require_same_on_every_rank(message + "@" + std::to_string(steps));
}

TEST_CASE("a stop asked for on one rank ends the run on every rank after the same step", "[mpi]") {
  const lexicon_corpus corpus(2000);
  const text_dataset& data = corpus.data;
  gpt<float, cpu> model(small_gpt(corpus.vocab));
  model.initialise(3);
  const trainer_settings s = small_run();
  adamw_optimizer<float, cpu> optimizer(model.layout(), s.adamw);
  const bool asks = world().rank() == world().size() - 1;
  const training_summary summary = train(model, data, s, optimizer, {}, world(), [&](const training_record& r) {
    return asks && r.iteration == 3 ? training_action::stop : training_action::go_on;
  });
  CHECK(summary.iteration == 3);
  CHECK(summary.stopped);
  require_same_on_every_rank(std::to_string(summary.iteration));
  // Going on from there gives the uninterrupted run's weights.
  train(model, data, s, optimizer, {summary.iteration}, world(), [](const training_record&) {});
  gpt<float, cpu> straight(small_gpt(corpus.vocab));
  straight.initialise(3);
  adamw_optimizer<float, cpu> straight_optimizer(straight.layout(), s.adamw);
  train(straight, data, s, straight_optimizer, {}, world(), [](const training_record&) {});
  REQUIRE(values_of_view<cpu>(model.parameters()) == values_of_view<cpu>(straight.parameters()));
}

TEST_CASE("after a run over the ranks the model draws as one process again", "[mpi]") {
  const lexicon_corpus corpus(4000);
  const text_dataset& data = corpus.data;
  wfc_objective o;
  o.steps = 2;
  o.any_order = true;
  wfc_model<float, cpu> model(small_wfc(corpus.vocab), o);
  model.initialise(4);
  trainer_settings s = small_run();
  s.iterations = 2;
  adamw_optimizer<float, cpu> optimizer(model.layout(), s.adamw);
  train(model, data, s, optimizer, {}, world(), [](const training_record&) {});
  // One process's evaluation draws reveals by row: every rank, holding the same weights, must get
  // the same loss (a rank whose rows still started at its share's first sequence would not).
  const double loss = evaluate(model, data, split::validation, s);
  require_same_on_every_rank(std::to_string(loss));
}

TEST_CASE("the velocity penalty is refused over several ranks, on every rank; one rank trains it", "[mpi]") {
  const lexicon_corpus corpus(2000);
  const text_dataset& data = corpus.data;
  wfc_objective o;
  o.steps = 2;
  o.reveal = 0.3;
  o.velocity_penalty = 0.1;
  wfc_model<float, cpu> model(small_wfc(corpus.vocab), o);
  model.initialise(4);
  trainer_settings s = small_run();
  s.iterations = 2;
  adamw_optimizer<float, cpu> optimizer(model.layout(), s.adamw);
  const auto run = [&] { train(model, data, s, optimizer, {}, world(), [](const training_record&) {}); };
  if (world().size() == 1) {
    REQUIRE_NOTHROW(run());
  } else {
    require_throws_containing<config_error>(run, "train data-parallel with velocity_penalty and clean_loss 0");
  }
}

TEST_CASE("same_on_every_process tells when one rank differs", "[mpi]") {
  const std::uint64_t value = 0x0123456789abcdefULL;
  CHECK(same_on_every_process(world(), value));
  const bool odd_one = world().rank() == world().size() - 1;
  CHECK(same_on_every_process(world(), odd_one ? value ^ (std::uint64_t(1) << 50) : value) == (world().size() == 1));
  CHECK(same_on_every_process(world(), odd_one ? value + 1 : value) == (world().size() == 1));
}

TEST_CASE("a batch smaller than the group is refused on every rank before any work", "[mpi]") {
  const lexicon_corpus corpus(2000);
  const text_dataset& data = corpus.data;
  gpt<float, cpu> model(small_gpt(corpus.vocab));
  model.initialise(3);
  trainer_settings s = small_run();
  s.batch = world().size() - 1;
  if (s.batch < 1) return;  // one rank: every batch fits
  adamw_optimizer<float, cpu> optimizer(model.layout(), s.adamw);
  require_throws_containing<config_error>([&] { train(model, data, s, optimizer, {}, world(), [](const training_record&) {}); },
                                          "cannot be split across " + std::to_string(world().size()) + " processes");
}

// A host backend whose memory claims the host cannot reach it: sums must go through a host copy.
struct staged_host {};
template <>
struct wfc::backend_memory<staged_host> : host_memory {
  static constexpr bool host_accessible = false;
  static inline int copies_out = 0, copies_in = 0;
  template <class T>
  static void to_host(T* dst, const T* src, index_t n) {
    ++copies_out;
    host_memory::to_host(dst, src, n);
  }
  template <class T>
  static void from_host(T* dst, const T* src, index_t n) {
    ++copies_in;
    host_memory::from_host(dst, src, n);
  }
};

TEST_CASE("buffers MPI cannot reach are summed through the host; host buffers in place", "[mpi]") {
  const int n = world().size(), me = world().rank();
  std::vector<float> values(1031);
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = float(i % 17) + float(me);
  tensor<float, 1, staged_host> device(shape<1>{{index_t(values.size())}}, values);
  tensor<float, 1, cpu> host(shape<1>{{index_t(values.size())}}, values);
  const int out = wfc::backend_memory<staged_host>::copies_out, in = wfc::backend_memory<staged_host>::copies_in;
  world().sum<staged_host>(device.view());
  world().sum<cpu>(host.view());
  REQUIRE(wfc::backend_memory<staged_host>::copies_out == out + 1);
  REQUIRE(wfc::backend_memory<staged_host>::copies_in == in + 1);
  const auto d = device.to_host(), h = host.to_host();
  for (std::size_t i = 0; i < values.size(); ++i) {
    const float want = float(n) * float(i % 17) + float(n * (n - 1) / 2);
    REQUIRE(d[i] == want);
    REQUIRE(h[i] == want);
  }
}
