// Sampling and cached generation: the sampler's rules (greedy, temperature, top-k, top-p, seeds),
// and a GPT's key/value cache giving the logits and tokens of recomputing the whole context.
#include <cmath>

#include "support/testing.hpp"
#include "wfc/collapse/policies.hpp"
#include "wfc/model/generate.hpp"
#include "wfc/solver/solvers.hpp"

using namespace wfc;
using namespace wfc::testing;

namespace {

tensor_view<const double, 1> row(const std::vector<double>& v) { return {v.data(), shape<1>{{index_t(v.size())}}}; }

// How often each token comes out of `pick` over n evenly spaced uniforms.
std::vector<double> frequencies(const sampler& pick, const std::vector<double>& logits, int n = 20000) {
  std::vector<double> f(logits.size(), 0.0);
  for (int i = 0; i < n; ++i) f[std::size_t(pick(row(logits), (i + 0.5) / n))] += 1.0 / n;
  return f;
}

std::vector<double> softmax(const std::vector<double>& logits, double temperature) {
  std::vector<double> p;
  double total = 0;
  for (double l : logits) total += std::exp(l / temperature);
  for (double l : logits) p.push_back(std::exp(l / temperature) / total);
  return p;
}

}  // namespace

TEST_CASE("sampler: greedy, temperature, top-k and top-p keep the distributions they promise", "[sampling]") {
  const std::vector<double> logits{1.0, 3.0, -0.5, 2.0, 0.2};
  REQUIRE(sampler{0.0}(row(logits), 0.99) == 1);  // greedy ignores the draw
  REQUIRE(sampler{1.0, 1}(row(logits), 0.99) == 1);  // top-1 is greedy
  const std::vector<double> tied{2.0, 5.0, 5.0};
  REQUIRE(sampler{0.0}(row(tied), 0.5) == 1);  // the first of equal maxima

  for (double temperature : {0.5, 1.0, 2.0}) {  // plain sampling follows softmax(logits / temperature)
    CAPTURE(temperature);
    const auto want = softmax(logits, temperature), got = frequencies(sampler{temperature}, logits);
    for (std::size_t i = 0; i < logits.size(); ++i) require_close_scalar(got[i], want[i], 0, 1e-3);
  }
  {  // top-k = 2: only tokens 1 and 3, renormalised
    const auto got = frequencies(sampler{1.0, 2}, logits);
    const double p1 = 1 / (1 + std::exp(-1.0));
    require_close_scalar(got[1], p1, 0, 1e-3);
    require_close_scalar(got[3], 1 - p1, 0, 1e-3);
    REQUIRE(got[0] + got[2] + got[4] == 0.0);
  }
  {  // top-p: the smallest prefix of the sorted distribution reaching p
    const auto p = softmax(logits, 1.0);  // sorted: 1, 3, 0, 4, 2
    const double top_p = p[1] + p[3] + 0.5 * p[0];  // needs tokens 1, 3 and 0
    const auto got = frequencies(sampler{1.0, 0, top_p}, logits);
    const double mass = p[1] + p[3] + p[0];
    for (std::size_t i : {1u, 3u, 0u}) require_close_scalar(got[i], p[i] / mass, 0, 1e-3);
    REQUIRE(got[2] + got[4] == 0.0);
  }
  std::vector<double> bad = logits;
  bad[2] = std::nan("");
  require_throws_containing<value_error>([&] { sampler{}(row(bad), 0.5); }, "logit 2 is not finite");
  require_throws_containing<config_error>([] { sampler{-1.0}.validate(); }, "temperature");
  require_throws_containing<config_error>([] { sampler{1.0, -2}.validate(); }, "top_k");
  require_throws_containing<config_error>([] { sampler{1.0, 0, 0.0}.validate(); }, "top_p");
}

TEST_CASE("policies and solvers: validate() refuses settings that could never act as asked", "[model][generate]") {
  const double nan = std::nan("");
  REQUIRE_NOTHROW(collapse::entropy_threshold{0.0}.validate());  // 0: the next token alone
  require_throws_containing<config_error>([] { collapse::entropy_threshold{-1.0}.validate(); }, "tau must be ≥ 0 bits");
  require_throws_containing<config_error>([&] { collapse::entropy_threshold{nan}.validate(); }, "tau must be ≥ 0 bits");
  REQUIRE_NOTHROW(collapse::median_entropy_partial{1.0}.validate());
  require_throws_containing<config_error>([] { collapse::median_entropy_partial{0.0}.validate(); }, "alpha");
  require_throws_containing<config_error>([] { collapse::median_entropy_partial{1.5}.validate(); }, "alpha");
  REQUIRE_NOTHROW(collapse::target{0, 3}.validate());
  require_throws_containing<config_error>([] { collapse::target{-1, 3}.validate(); }, "distance must be ≥ 0");
  REQUIRE_NOTHROW(collapse::entropy_horizon{0.0}.validate());
  require_throws_containing<config_error>([&] { collapse::entropy_horizon{nan}.validate(); }, "high must be ≥ 0 bits");
  require_throws_containing<config_error>([] { collapse::entropy_horizon{2.0, 1, -1}.validate(); }, "min and max");

  REQUIRE_NOTHROW(solvers::anderson{0.0, 1, 1.0, 0}.validate());  // tolerance 0: always the limit
  require_throws_containing<config_error>([] { solvers::anderson{-1.0, 4}.validate(); }, "anderson: tolerance must be ≥ 0");
  require_throws_containing<config_error>([&] { solvers::until_converged{nan, 4}.validate(); }, "until_converged: tolerance");
  require_throws_containing<config_error>([] { solvers::until_converged{1e-3, 0}.validate(); }, "limit must be ≥ 1 step, got 0");
  require_throws_containing<config_error>([] { solvers::anderson{1e-3, 4, 1.0, -1}.validate(); }, "memory must be ≥ 0");
  require_throws_containing<config_error>([] { solvers::fixed_steps{0}.validate(); }, "fixed_steps: steps must be ≥ 1");
  require_throws_containing<config_error>([] { solvers::fixed_steps{2, 0.0}.validate(); }, "damping η must be in (0, 1]");
}

TEMPLATE_LIST_TEST_CASE("gpt: cached generation gives the tokens and logits of recomputing the context", "[model][generate]",
                        backend_configs) {
  using B = typename TestType::backend;
  using T = typename TestType::value_type;
  auto check = [](auto positions) {
    using P = decltype(positions);
    gpt_config c;
    c.vocab = 11;
    c.block = 16;
    c.width = 16;
    c.heads = 2;
    c.layers = 2;
    gpt<T, B, P> cached(c), full(c);
    cached.initialise(3);
    full.initialise(3);
    const sampler pick{0.8, 0, 0.95};
    const counter_rng rng(42);
    const std::vector<token_id> prompt{1, 4, 1, 5, 9};
    const index_t count = c.block - index_t(prompt.size());  // exactly fills the block: no sliding
    const auto tokens = generate(cached, prompt, count, pick, rng);
    REQUIRE(tokens.size() == std::size_t(count));
    REQUIRE(cached.cached() == c.block - 1);  // the last token is sampled, not fed

    // Recompute: the whole context each step, the same draws.
    std::vector<token_id> context = prompt;
    cached.reset_cache(1);
    auto step_logits = cached.extend(prompt);
    for (index_t i = 0; i < count; ++i) {
      const auto all = full.logits(context, 1);
      const auto want = to_host<B>(all[all.extent(0) - 1]), got = to_host<B>(step_logits[step_logits.extent(0) - 1]);
      for (std::size_t v = 0; v < want.size(); ++v) REQUIRE(std::abs(double(got[v]) - double(want[v])) <= 1e-5);
      const token_id next = pick(tensor_view<const T, 1>(want.data(), shape<1>{{c.vocab}}), rng.uniform<double>(std::uint64_t(i)));
      REQUIRE(next == tokens[std::size_t(i)]);
      context.push_back(next);
      if (i + 1 < count) step_logits = cached.extend({next});
    }
    REQUIRE_THROWS_AS(cached.extend({0, 1}), shape_error);  // the cache is full

    // Past the block the context slides; equal seeds give equal text, other seeds other text.
    const auto long_run = generate(cached, prompt, 3 * c.block, pick, rng);
    REQUIRE(long_run.size() == std::size_t(3 * c.block));
    REQUIRE(generate(cached, prompt, 3 * c.block, pick, rng) == long_run);
    REQUIRE(generate(cached, prompt, 3 * c.block, pick, counter_rng(43)) != long_run);
  };
  check(learned_positions{});
  check(rotary_positions{});
}

TEST_CASE("generate rejects an empty prompt, a negative count and a bad sampler", "[model][generate]") {
  gpt_config c;
  c.vocab = 5;
  c.block = 4;
  c.width = 4;
  c.heads = 1;
  c.layers = 1;
  gpt<float, reference> model(c);
  model.initialise(1);
  require_throws_containing<config_error>([&] { generate(model, {}, 3, sampler{}, counter_rng(1)); }, "prompt is empty");
  require_throws_containing<config_error>([&] { generate(model, {1}, -1, sampler{}, counter_rng(1)); }, "negative");
  require_throws_containing<config_error>([&] { generate(model, {1}, 3, sampler{1.0, 0, 2.0}, counter_rng(1)); }, "top_p");
  require_throws_containing<value_error>([&] { generate(model, {7}, 3, sampler{}, counter_rng(1)); }, "7");
  REQUIRE(generate(model, {1, 2, 3, 4, 0, 1}, 2, sampler{}, counter_rng(1)).size() == 2);  // a long prompt is cropped
}
