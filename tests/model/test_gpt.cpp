// The GPT baseline: the whole model's loss gradient against finite differences (reference backend,
// double, every parameter), and every backend against the reference.
#include "support/gradients.hpp"
#include "wfc/model/gpt.hpp"

#if defined(_OPENMP)
#include <omp.h>
#endif

using namespace wfc;
using namespace wfc::testing;

namespace {
gpt_config tiny(bool bias = false) {
  gpt_config c;
  c.bias = bias;
  c.vocab = 5;
  c.block = 4;
  c.width = 4;
  c.heads = 2;
  c.layers = 2;
  return c;
}
const std::vector<token_id> ids{0, 3, 1, 4, 2, 2, 0, 1};
const std::vector<token_id> targets{3, 1, ignore_index, 2, 2, 0, 1, 4};
}  // namespace

TEMPLATE_TEST_CASE("gpt: the loss gradient matches finite differences for every parameter", "[model][gpt]", learned_positions,
                   rotary_positions) {
  const bool bias = GENERATE(false, true);  // nanoGPT's bias-free model and GPT-2's
  CAPTURE(bias);
  gpt<double, reference, TestType> model(tiny(bias));
  // wte 5·4 + wpe 4·4 (learned positions only) + 2 blocks·(4 + 48 + 16 + 4 + 64 + 64) + ln_f 4, and 2·44 + 4 biases
  REQUIRE(model.layout().size() == (bias ? 532 : 440) - (TestType::rotary ? 16 : 0));
  model.initialise(7);
  // Larger weights than the 0.02 initialisation, so every path carries a visible gradient.
  auto p = model.parameters();
  const auto noise = random_values(p.size(), 3, -0.5, 0.5);
  for (index_t i = 0; i < p.size(); ++i) p(i) += noise[std::size_t(i)];
  const double loss = model.forward(ids, targets, 2);
  REQUIRE(std::isfinite(loss));
  model.zero_grad();
  model.backward();
  std::vector<double> analytic(model.gradients().data(), model.gradients().data() + p.size());
  auto f = [&] { return model.forward(ids, targets, 2); };
  require_gradient(analytic, numerical_gradient(p.data(), p.size(), f));
}

TEMPLATE_LIST_TEST_CASE("gpt: every backend computes the reference's loss and gradients", "[model][gpt]", backend_configs) {
  using B = typename TestType::backend;
  using T = typename TestType::value_type;
  auto check = [](auto positions, bool bias) {
    using P = decltype(positions);
    CAPTURE(bias);
    gpt<double, reference, P> want(tiny(bias));
    gpt<T, B, P> got(tiny(bias));
    want.initialise(11);
    got.initialise(11);
    require_close<T>(values_of_view<B>(got.parameters()), values_of_view<reference>(want.parameters()));  // same init everywhere
    const double lw = want.forward(ids, targets, 2);
    const double lg = double(got.forward(ids, targets, 2));
    require_close_scalar(lg, lw, 1e-5, 1e-6);
    want.zero_grad();
    got.zero_grad();
    want.backward();
    got.backward();
    require_close<T>(values_of_view<B>(got.gradients()), values_of_view<reference>(want.gradients()), 256);
  };
  check(learned_positions{}, false);
  check(rotary_positions{}, false);
  check(learned_positions{}, true);
}

#if defined(WFC_HAVE_CPU) && defined(_OPENMP)
TEST_CASE("cpu gpt: loss and gradients are bit-identical for any thread count", "[model][gpt][cpu]") {
  // Large enough that every kernel (GEMMs, attention, row kernels, reductions) runs threaded.
  gpt_config c;
  c.vocab = 29;
  c.block = 32;
  c.width = 64;
  c.heads = 4;
  c.layers = 2;
  const index_t sequences = 8;
  std::vector<token_id> x, y;
  for (index_t i = 0; i < sequences * c.block; ++i) {
    x.push_back(token_id((i * 7) % c.vocab));
    y.push_back(i % 11 == 3 ? ignore_index : token_id((i * 5 + 1) % c.vocab));
  }
  auto run = [&](int threads) {
    omp_set_num_threads(threads);
    gpt<float, cpu> model(c);
    model.initialise(5);
    model.zero_grad();
    const float loss = model.forward(x, y, sequences);
    model.backward();
    std::vector<float> out(model.gradients().data(), model.gradients().data() + model.gradients().size());
    out.push_back(loss);
    return out;
  };
  const int threads = omp_get_max_threads();
  const auto one = run(1), two = run(std::max(2, threads));
  omp_set_num_threads(threads);
  REQUIRE(one == two);
}
#endif

TEST_CASE("gpt rejects impossible configurations and bad batches", "[model][gpt]") {
  gpt_config c = tiny();
  c.heads = 3;
  REQUIRE_THROWS_AS((gpt<float, reference>(c)), config_error);
  gpt<float, reference> model(tiny());
  REQUIRE_THROWS_AS(model.forward({0, 1, 2}, {1, 2, 3}, 2), shape_error);              // not 2 equal sequences
  REQUIRE_THROWS_AS(model.forward({0, 1, 2, 3, 4, 0}, {1, 2, 3, 4, 0, 1}, 1), shape_error);  // longer than block
  REQUIRE_THROWS_AS(model.forward({0, 1}, {1}, 1), shape_error);
  REQUIRE_THROWS_AS(model.forward({0, 7}, {1, 2}, 1), value_error);                    // id outside the vocabulary
  REQUIRE_THROWS_AS(model.backward(), config_error);                                   // no forward with targets yet
}
