// Training: the schedule, the optimiser's decay/clip rules, a GPT that learns a small synthetic
// language well below its unigram entropy, and the trainer (accumulation, evaluation, observer,
// settings).
#include <cmath>
#include <limits>
#include <map>

#include "support/lexicon.hpp"
#include "support/testing.hpp"
#include "wfc/train/optimizer.hpp"
#include "wfc/train/schedule.hpp"
#include "wfc/train/trainer.hpp"

using namespace wfc;
using namespace wfc::testing;

TEST_CASE("the cosine schedule warms up linearly and decays to its floor", "[train]") {
  const cosine_schedule s{1e-3, 1e-4, 10, 110};
  require_close_scalar(s.at(0), 1e-3 / 11, 1e-12, 1e-15);
  require_close_scalar(s.at(9), 1e-3 * 10 / 11, 1e-12, 1e-15);
  require_close_scalar(s.at(10), 1e-3, 1e-12, 1e-15);
  require_close_scalar(s.at(60), 0.55e-3, 1e-12, 1e-15);
  require_close_scalar(s.at(110), 1e-4, 1e-12, 1e-15);
  REQUIRE(s.at(500) == 1e-4);
  REQUIRE_THROWS_AS((cosine_schedule{1e-3, 1e-4, 10, 10}.at(0)), config_error);
}

TEST_CASE("adamw_optimizer decays matrices only, clips the global norm, and refuses NaN", "[train]") {
  nn::parameter_layout layout;
  layout.add("w", {2, 2}, true);
  layout.add("b", {2}, false);
  adamw_settings settings;
  settings.weight_decay = 0.5;
  settings.clip = 1.0;
  adamw_optimizer<double, reference> opt(layout, settings);
  tensor<double, 1, reference> p(shape<1>{{6}}, std::vector<double>(6, 1.0)), g(shape<1>{{6}});
  const double norm = opt.step(p.view(), g.view(), 0.1);  // zero gradient: only weight decay moves
  REQUIRE(norm == 0.0);
  const auto after = p.to_host();
  for (int i = 0; i < 4; ++i) require_close_scalar(after[std::size_t(i)], 1.0 - 0.1 * 0.5, 1e-12, 1e-15);
  for (int i = 4; i < 6; ++i) REQUIRE(after[std::size_t(i)] == 1.0);
  g.copy_from_host(std::vector<double>{3, 0, 0, 4, 0, 0});  // norm 5 → clipped to 1
  require_close_scalar(opt.step(p.view(), g.view(), 0.1), 5.0, 1e-12, 1e-15);
  require_close_scalar(g.to_host()[0], 0.6, 1e-12, 1e-15);
  g.copy_from_host(std::vector<double>{std::nan(""), 0, 0, 0, 0, 0});
  const auto before = p.to_host();
  REQUIRE_THROWS_AS(opt.step(p.view(), g.view(), 0.1), value_error);
  REQUIRE(p.to_host() == before);
}

TEMPLATE_LIST_TEST_CASE("a small GPT learns a synthetic language well below its unigram entropy", "[train][gpt]", backend_configs) {
  using B = typename TestType::backend;
  using T = typename TestType::value_type;
  if (!std::is_same_v<T, float>) return;  // one precision is enough to show learning
  const std::string text = lexicon_text(6000);  // within a word every character is predictable
  const auto tok = char_tokenizer::from_text(text);
  const text_dataset data(tok.encode(text));
  std::map<char, double> counts;
  for (char c : text) counts[c] += 1;
  double unigram = 0;
  for (const auto& [c, n] : counts) unigram -= n / double(text.size()) * std::log(n / double(text.size()));

  gpt_config config;
  config.vocab = tok.vocab_size();
  config.block = 16;
  config.width = 32;
  config.heads = 2;
  config.layers = 2;
  gpt<T, B> model(config);
  model.initialise(1);
  adamw_optimizer<T, B> opt(model.layout(), {});
  const cosine_schedule lr{3e-3, 3e-4, 20, 300};
  std::vector<token_id> x, y;
  const counter_rng batches(9);
  for (std::int64_t step = 0; step < 300; ++step) {
    data.sample(split::train, 8, config.block, batches, std::uint64_t(step), x, y);
    model.zero_grad();
    model.forward(x, y, 8);
    model.backward();
    opt.step(model.parameters(), model.gradients(), lr.at(step));
  }
  double validation = 0;
  for (std::uint64_t k = 0; k < 8; ++k) {
    data.sample(split::validation, 8, config.block, counter_rng(77), k, x, y);
    validation += double(model.forward(x, y, 8)) / 8;
  }
  INFO("unigram entropy " << unigram << " nats, validation loss " << validation);
  REQUIRE(validation < 0.6 * unigram);
}

namespace {

// A GPT small enough for the reference backend in double, and settings that fit it.
gpt_config tiny_gpt(index_t vocab) {
  gpt_config c;
  c.vocab = vocab;
  c.block = 8;
  c.width = 16;
  c.heads = 2;
  c.layers = 1;
  return c;
}

trainer_settings tiny_settings() {
  trainer_settings s;
  s.iterations = 3;
  s.batch = 4;
  s.block = 8;
  s.warmup = 1;
  s.eval_interval = 2;
  s.eval_batches = 3;
  s.seed = 11;
  return s;
}

}  // namespace

TEST_CASE("gradient accumulation: two micro-batches of 4 sequences equal one batch of those 8", "[train]") {
  const std::string text = lexicon_text(2000);
  const auto tok = char_tokenizer::from_text(text);
  const text_dataset data(tok.encode(text));
  gpt<double, reference> whole_model(tiny_gpt(tok.vocab_size())), split_model(tiny_gpt(tok.vocab_size()));
  whole_model.initialise(3);
  split_model.initialise(3);
  trainer_settings whole = tiny_settings();
  whole.batch = 8;
  trainer_settings halves = whole;
  halves.batch = 4;
  halves.accumulation = 2;

  // Iteration 1 of `halves` draws micro-batches 2 and 3 of 4 sequences: the 8 of `whole`'s batch 1.
  std::vector<token_id> x8, y8, x4, y4;
  data.sample(split::train, 8, whole.block, training_batches(whole), 1, x8, y8);
  for (std::uint64_t m = 0; m < 2; ++m) {
    data.sample(split::train, 4, halves.block, training_batches(halves), 2 + m, x4, y4);
    REQUIRE(std::vector<token_id>(x8.begin() + std::ptrdiff_t(m * x4.size()), x8.begin() + std::ptrdiff_t((m + 1) * x4.size())) == x4);
  }
  const double whole_loss = accumulate_gradients(whole_model, data, whole, 1);
  const double split_loss = accumulate_gradients(split_model, data, halves, 1);
  require_close_scalar(split_loss, whole_loss, 1e-13, 1e-15);
  require_close<double>(values_of_view<reference>(split_model.gradients()), values_of_view<reference>(whole_model.gradients()), 10.0);

  // Through the whole loop: the same steps, losses, gradient norms and parameters.
  std::vector<training_record> whole_log, split_log;
  train(whole_model, data, whole, [&](const training_record& r) { whole_log.push_back(r); });
  train(split_model, data, halves, [&](const training_record& r) { split_log.push_back(r); });
  REQUIRE(split_log.size() == whole_log.size());
  for (std::size_t i = 0; i < whole_log.size(); ++i) {
    require_close_scalar(split_log[i].loss, whole_log[i].loss, 1e-12, 1e-15);
    require_close_scalar(split_log[i].grad_norm, whole_log[i].grad_norm, 1e-12, 1e-15);
  }
  require_close<double>(values_of_view<reference>(split_model.parameters()), values_of_view<reference>(whole_model.parameters()), 1e3);
}

TEST_CASE("evaluation is the mean loss over fixed batches, the same every time", "[train]") {
  const std::string text = lexicon_text(2000);
  const auto tok = char_tokenizer::from_text(text);
  const text_dataset data(tok.encode(text));
  gpt<double, reference> model(tiny_gpt(tok.vocab_size()));
  model.initialise(5);
  const trainer_settings s = tiny_settings();
  const double val = evaluate(model, data, split::validation, s);
  REQUIRE(evaluate(model, data, split::validation, s) == val);
  std::vector<token_id> x, y;
  double total = 0;
  for (std::uint64_t k = 0; k < std::uint64_t(s.eval_batches); ++k) {
    data.sample(split::validation, s.batch, s.block, evaluation_batches(s, split::validation), k, x, y);
    total += model.forward(x, y, s.batch);
  }
  require_close_scalar(val, total / double(s.eval_batches), 1e-13, 1e-15);
  REQUIRE(evaluate(model, data, split::train, s) != val);  // its own split and batches
}

TEST_CASE("the trainer brings a GPT below the unigram entropy of a synthetic language", "[train][gpt]") {
#if defined(WFC_HAVE_CPU)
  using B = cpu;
#else
  using B = reference;
#endif
  const std::string text = lexicon_text(6000);
  const auto tok = char_tokenizer::from_text(text);
  const text_dataset data(tok.encode(text));
  std::map<char, double> counts;
  for (char c : text) counts[c] += 1;
  double unigram = 0;
  for (const auto& [c, n] : counts) unigram -= n / double(text.size()) * std::log(n / double(text.size()));

  gpt_config config = tiny_gpt(tok.vocab_size());
  config.block = 16;
  config.width = 32;
  config.layers = 2;
  gpt<float, B> model(config);
  model.initialise(1);
  trainer_settings s;
  s.iterations = 100;  // about 1.0 nats against the bound of 1.33 (2 ms per iteration on one core)
  s.batch = 8;
  s.block = 16;
  s.lr = 3e-3;
  s.min_lr = 3e-4;
  s.warmup = 20;
  s.eval_interval = 50;
  s.eval_batches = 8;
  const training_summary result = train(model, data, s);
  INFO("unigram entropy " << unigram << " nats, validation loss " << result.val_loss);
  REQUIRE(result.val_loss < 0.6 * unigram);
  REQUIRE(result.train_loss < 0.6 * unigram);
}

TEST_CASE("the observer sees every iteration in order, with timings and evaluations", "[train]") {
  const std::string text = lexicon_text(2000);
  const auto tok = char_tokenizer::from_text(text);
  const text_dataset data(tok.encode(text));
  gpt<double, reference> model(tiny_gpt(tok.vocab_size()));
  model.initialise(2);
  trainer_settings s = tiny_settings();
  s.iterations = 5;
  s.accumulation = 2;
  std::vector<training_record> log;
  const training_summary result = train(model, data, s, [&](const training_record& r) { log.push_back(r); });
  REQUIRE(log.size() == 5);
  for (std::size_t i = 0; i < log.size(); ++i) {
    const training_record& r = log[i];
    REQUIRE(r.iteration == std::int64_t(i) + 1);
    REQUIRE(r.iterations == 5);
    REQUIRE(std::isfinite(r.loss));
    REQUIRE(std::isfinite(r.grad_norm));
    REQUIRE(r.lr == s.schedule().at(std::int64_t(i)));
    REQUIRE((std::isfinite(r.ms) && r.ms > 0));
    REQUIRE((std::isfinite(r.tokens_per_s) && r.tokens_per_s > 0));
    if (i > 0) REQUIRE(r.elapsed_s >= log[i - 1].elapsed_s);
    const bool eval_point = r.iteration == 2 || r.iteration == 4 || r.iteration == 5;  // every 2, and the last
    REQUIRE(r.evaluated == eval_point);
    REQUIRE(std::isfinite(r.train_loss) == eval_point);
    REQUIRE(std::isfinite(r.val_loss) == eval_point);
  }
  REQUIRE(result.val_loss == log.back().val_loss);
  REQUIRE(result.train_loss == log.back().train_loss);
  REQUIRE(result.val_loss == evaluate(model, data, split::validation, s));
}

TEST_CASE("bad trainer settings throw config_error saying what to fix", "[train]") {
  const std::string text = lexicon_text(2000);
  const auto tok = char_tokenizer::from_text(text);
  const text_dataset data(tok.encode(text));
  gpt<double, reference> model(tiny_gpt(tok.vocab_size()));
  struct bad_case {
    void (*spoil)(trainer_settings&);
    const char* message;
  };
  const bad_case cases[] = {
      {[](trainer_settings& s) { s.iterations = 0; }, "iterations is 0; train for at least 1"},
      {[](trainer_settings& s) { s.batch = -1; }, "batch is -1"},
      {[](trainer_settings& s) { s.block = 0; }, "block is 0"},
      {[](trainer_settings& s) { s.accumulation = 0; }, "use 1 for no gradient accumulation"},
      {[](trainer_settings& s) { s.lr = 0; }, "lr is 0"},
      {[](trainer_settings& s) { s.lr = std::numeric_limits<double>::quiet_NaN(); }, "lr is nan"},
      {[](trainer_settings& s) { s.min_lr = 2 * s.lr; }, "min_lr is"},
      {[](trainer_settings& s) { s.warmup = -5; }, "warmup is -5"},
      {[](trainer_settings& s) { s.eval_interval = 0; }, "eval_interval is 0"},
      {[](trainer_settings& s) { s.eval_batches = 0; }, "eval_batches is 0"},
      {[](trainer_settings& s) { s.adamw.beta1 = 1; }, "adamw.beta1"},
      {[](trainer_settings& s) { s.adamw.beta2 = -0.5; }, "adamw.beta2"},
      {[](trainer_settings& s) { s.adamw.eps = 0; }, "adamw.eps"},
      {[](trainer_settings& s) { s.adamw.eps = std::numeric_limits<double>::infinity(); }, "adamw.eps is inf"},
      {[](trainer_settings& s) { s.adamw.weight_decay = -0.1; }, "adamw.weight_decay"},
      {[](trainer_settings& s) { s.adamw.weight_decay = std::numeric_limits<double>::infinity(); }, "adamw.weight_decay is inf"},
      {[](trainer_settings& s) { s.adamw.clip = -1; }, "adamw.clip"},
  };
  for (const auto& c : cases) {
    trainer_settings s = tiny_settings();
    c.spoil(s);
    require_throws_containing<config_error>([&] { s.validate(); }, c.message);
    REQUIRE_THROWS_AS(train(model, data, s), config_error);
  }
  const std::string little = lexicon_text(120);  // about 12 validation tokens: too few for a window of 16 + 1
  const text_dataset small(char_tokenizer::from_text(text).encode(little));
  trainer_settings long_block = tiny_settings();
  long_block.block = 16;
  int seen = 0;
  require_throws_containing<value_error>([&] { train(model, small, long_block, [&](const training_record&) { ++seen; }); },
                                         "the validation split has");
  REQUIRE(seen == 0);
  trainer_settings short_run = tiny_settings();  // shorter than its warm-up: warms up throughout
  short_run.warmup = 10;
  REQUIRE_NOTHROW(short_run.validate());
  REQUIRE(short_run.schedule().at(2) == short_run.lr * 3 / 11);
}

namespace {
// The smallest trainable model: one parameter and a loss that turns NaN at the third step.
struct diverging_model {
  using value_type = double;
  using backend_type = reference;
  nn::parameter_layout layout_ = [] {
    nn::parameter_layout l;
    l.add("w", {1}, false);
    return l;
  }();
  tensor<double, 1, reference> params_{shape<1>{{1}}}, grads_{shape<1>{{1}}};
  int calls = 0;

  double forward(const std::vector<token_id>&, const std::vector<token_id>&, index_t) {
    return ++calls >= 3 ? std::numeric_limits<double>::quiet_NaN() : 1.0;
  }
  void backward() {}
  void zero_grad() {}
  tensor_view<double, 1> parameters() { return params_.view(); }
  tensor_view<double, 1> gradients() { return grads_.view(); }
  const nn::parameter_layout& layout() const { return layout_; }
};
}  // namespace

TEST_CASE("a non-finite loss stops training with advice", "[train]") {
  const std::string text = lexicon_text(2000);
  const text_dataset data(char_tokenizer::from_text(text).encode(text));
  diverging_model model;
  trainer_settings s = tiny_settings();
  s.iterations = 10;
  s.eval_interval = 100;
  int seen = 0;
  require_throws_containing<value_error>([&] { train(model, data, s, [&](const training_record&) { ++seen; }); },
                                         "loss is nan at iteration 3 (learning rate");
  REQUIRE(seen == 2);
  require_throws_containing<value_error>([&] { train(model, data, s); }, "lower the learning rate");
}
