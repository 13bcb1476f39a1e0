// Training: the schedule, the optimiser's decay/clip rules, and a GPT that learns a small
// synthetic language well below its unigram entropy.
#include <cmath>
#include <map>

#include "support/testing.hpp"
#include "wfc/train/optimizer.hpp"
#include "wfc/train/schedule.hpp"

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
  // Words from a small lexicon in a seeded order: within a word every character is predictable.
  const char* words[] = {"the ", "cat ", "sat ", "on ", "a ", "mat ", "and ", "dog ", "ran "};
  std::string text;
  const counter_rng pick(5);
  for (std::uint64_t i = 0; text.size() < 6000; ++i) text += words[std::size_t(pick.uniform<double>(i) * 9)];
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
