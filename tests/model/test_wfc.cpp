// The WFC model's training objective: the gradient of the whole unrolled objective (clean stream,
// K solver steps, deep supervision, velocity penalty, partial collapse) against finite differences
// for every parameter (reference backend, double), for every policy; every backend against the
// reference; and bad configurations and batches.
#include <set>

#include "support/wfc_fixtures.hpp"
#include "wfc/model/wfc_evaluation.hpp"
#include "wfc/model/wfc_model.hpp"

using namespace wfc;
using namespace wfc::testing;

namespace {
const std::vector<token_id> targets{3, 1, ignore_index, 2, 2, 0, 1, 4, 4, 0};

// Loss gradient against finite differences for one composition of policies, at two block offsets
// and two corruption draws.
template <class Mask, class Positions>
void check_gradient(index_t future, double damping, bool bias) {
  CAPTURE(future, damping, bias);
  wfc_config c = tiny_wfc(future);
  c.bias = bias;
  check_wfc_gradient<past::pinned, Mask, Positions>(c, damping, targets, {wfc_draw{0, 2, 0, 0}, wfc_draw{1 % future, 2, 0, 1}});
}
}  // namespace

TEST_CASE("wfc objective: the unrolled gradient matches finite differences for every parameter and policy", "[model][wfc]") {
  SECTION("bidirectional future, learned positions, F = 2") { check_gradient<masks::bidirectional, learned_positions>(2, 1.0, false); }
  SECTION("causal future, rotary positions, damped, F = 3") { check_gradient<masks::causal, rotary_positions>(3, 0.6, false); }
  SECTION("window<1> future, learned positions, biases, F = 3") { check_gradient<masks::window<1>, learned_positions>(3, 0.8, true); }
  SECTION("F = 1 (nearly the GPT)") { check_gradient<masks::bidirectional, learned_positions>(1, 1.0, false); }
#if defined(WFC_HAVE_CPU)
  SECTION("the cpu backend in double, causal future, rotary positions") {
    check_wfc_gradient<past::pinned, masks::causal, rotary_positions, cpu>(tiny_wfc(3), 0.7, targets,
                                                                           {wfc_draw{0, 2, 0, 0}, wfc_draw{2, 2, 0, 1}});
  }
#endif
}

namespace {
// Rolling training and truncated backprop: every path on (corruption, both penalties), K = 3.
wfc_objective rolling_objective(index_t backprop_steps, bool beliefs, index_t slides) {
  wfc_objective o = rich_objective();
  o.steps = 3;
  o.backprop_steps = backprop_steps;
  o.carry = 1;
  o.carry_slides = slides;
  o.carry_beliefs = beliefs;
  return o;
}

template <class Mask, class Positions>
void check_rolling_gradient(index_t backprop_steps, bool beliefs, index_t slides = 1) {
  CAPTURE(backprop_steps, beliefs, slides);
  const wfc_config c = tiny_wfc(3);
  // cold and carried, every step tracked or the first untracked, at two offsets and corruption draws
  const std::vector<wfc_draw> draws{{0, 3, 0, 0, true, true}, {1, 3, 0, 1, true, true}, {2, 2, 0, 2, true, true}, {1, 3, 0, 3, true, false}};
  check_wfc_gradient<past::pinned, Mask, Positions>(c, 0.8, targets, draws, rolling_objective(backprop_steps, beliefs, slides));
}
}  // namespace

TEST_CASE("wfc objective: rolling training and truncated backprop match finite differences of what they differentiate", "[model][wfc]") {
  SECTION("carried states, every step tracked, learned positions") { check_rolling_gradient<masks::bidirectional, learned_positions>(0, false); }
  SECTION("carried beliefs, every step tracked, learned positions") { check_rolling_gradient<masks::bidirectional, learned_positions>(0, true); }
  SECTION("carried states, the last 2 of 3 steps tracked, rotary positions") { check_rolling_gradient<masks::causal, rotary_positions>(2, false); }
  SECTION("carried beliefs, the last step tracked, rotary positions") { check_rolling_gradient<masks::causal, rotary_positions>(1, true); }
  SECTION("carried states over two slides, learned positions") { check_rolling_gradient<masks::bidirectional, learned_positions>(0, false, 2); }
  SECTION("carried beliefs over two slides, truncated, rotary") { check_rolling_gradient<masks::causal, rotary_positions>(2, true, 2); }
}

TEST_CASE("wfc objective: a log-normal Poisson K trains through the steps it draws", "[model][wfc]") {
  wfc_objective o = rich_objective();
  o.steps = 4;
  o.mean_steps = 2.5;
  o.backprop_steps = 3;
  wfc_model<double, reference> model(tiny_wfc(2), o);
  std::vector<index_t> seen;
  for (std::uint64_t i = 0; i < 64; ++i) seen.push_back(model.draw(i).steps);
  REQUIRE(*std::min_element(seen.begin(), seen.end()) >= 1);
  REQUIRE(*std::max_element(seen.begin(), seen.end()) <= 4);
  REQUIRE(std::set<index_t>(seen.begin(), seen.end()).size() >= 3);  // a spread, not one K
  std::vector<wfc_draw> draws;
  for (std::uint64_t i = 0; i < 64 && draws.size() < 2; ++i)
    if (model.draw(i).steps == 4) draws.push_back(model.draw(i));  // the deepest: one step untracked
  REQUIRE(draws.size() == 2);
  check_wfc_gradient<past::pinned, masks::bidirectional, learned_positions>(tiny_wfc(2), 1.0, targets, draws, o);
}

TEST_CASE("wfc objective: the clean loss is the clean stream's own next-token loss, differentiated with the rest", "[model][wfc]") {
  wfc_objective o = rich_objective();
  o.clean_loss = 0.7;
  const std::vector<wfc_draw> draws{wfc_draw{0, 2, 0, 0}, wfc_draw{1, 2, 0, 1}};
  SECTION("bidirectional slots, learned positions, every corruption and penalty on") {
    check_wfc_gradient<past::pinned, masks::bidirectional, learned_positions>(tiny_wfc(2), 0.9, targets, draws, o);
  }
#if defined(WFC_HAVE_CPU)
  SECTION("causal slots, rotary positions, on the CPU backend") {
    check_wfc_gradient<past::pinned, masks::causal, rotary_positions, cpu>(tiny_wfc(3), 0.8, targets, draws, o);
  }
#endif
  SECTION("the loss grows by λ times one fixed cross-entropy, near ln V at initialisation, whatever the slots do") {
    const auto loss_at = [&](double lambda, double reveal) {
      wfc_objective with = rich_objective();
      with.clean_loss = lambda;
      with.reveal = reveal;
      wfc_model<double, reference> model(tiny_wfc(2), with);
      model.initialise(7);
      return model.forward(wfc_ids, targets, 2, draws[0]);
    };
    const double base = loss_at(0, 0.3), one = loss_at(1, 0.3) - base, two = loss_at(2, 0.3) - base;
    require_close_scalar(two, 2 * one, 1e-10, 1e-12);
    require_close_scalar(loss_at(1, 0.0) - loss_at(0, 0.0), one, 1e-10, 1e-12);  // revealed slots do not change what the past predicts
    REQUIRE(std::abs(one - std::log(5.0)) < 0.2);
  }
  SECTION("a drifting past has no clean stream: refused; JSON round trip") {
    REQUIRE_THROWS_AS((wfc_model<double, reference, past::drifting>(tiny_wfc(2), o)), config_error);
    REQUIRE(wfc_objective_from_json(to_json(o), "test").clean_loss == 0.7);
    o.clean_loss = -1;
    REQUIRE_THROWS_AS(o.validate(), config_error);
  }
}

TEST_CASE("wfc rolling training: a carried block's logits are the collapse loop's after a collapse and a slide", "[model][wfc]") {
  // Training, offset 0, F = 3: the block of targets 2…4 (labels 3…5) sees clean tokens 0…2; carried,
  // its first two slots start from a first solve whose block (labels 2…4) saw tokens 0…1, and its
  // last slot starts cold. Inference: past 0…1, three cold slots, K steps; token 2 joins the past,
  // the slots shift (states, or beliefs re-embedded), a fresh slot enters; K steps again.
  // With two slides the first solve is one token earlier still (past 0, labels 1…3).
  for (const index_t slides : {1, 2})
  for (const bool beliefs : {false, true}) {
    CAPTURE(slides, beliefs);
    wfc_objective o;
    o.steps = 2;
    o.carry = 1;
    o.carry_slides = slides;
    o.carry_beliefs = beliefs;
    wfc_model<double, reference, past::pinned, masks::causal, learned_positions> model(tiny_wfc(3), o, solvers::fixed_steps{2, 0.9});
    model.initialise(4);
    const std::vector<token_id> x{1, 4, 0, 2, 3, 1}, y{4, 0, 2, 3, 1, 0};
    model.forward(x, y, 1, wfc_draw{0, 2, 0, 0, true, true});
    const auto training = values_of_view<reference>(model.last_logits());
    model.reset(1);
    model.append_past(std::vector<token_id>(x.begin(), x.begin() + 3 - slides));
    model.reset_future();
    for (index_t j = slides; j >= 1; --j) {
      model.converge(solvers::fixed_steps{2, 0.9});
      if (beliefs) model.reembed_future();
      model.append_past({x[std::size_t(3 - j)]});
      model.shift_future(1);
    }
    model.converge(solvers::fixed_steps{2, 0.9});
    const auto slots = values_of_view<reference>(model.future_logits());
    const index_t V = 5;
    REQUIRE(slots.size() == std::size_t(3 * V));
    require_close<double>(slots, std::vector<double>(training.begin() + 2 * V, training.begin() + 5 * V), 64);
    // …and a cold draw of the same block differs (the carried start changed something)
    model.forward(x, y, 1, wfc_draw{0, 2, 0, 0, true, false});
    const auto cold = values_of_view<reference>(model.last_logits());
    REQUIRE(std::abs(cold[2 * V] - training[2 * V]) > 1e-6);
  }
}

TEMPLATE_LIST_TEST_CASE("wfc objective: every backend computes the reference's loss and gradients", "[model][wfc]", backend_configs) {
  using B = typename TestType::backend;
  using T = typename TestType::value_type;
  const wfc_draw d = wfc_model<double, reference>(tiny_wfc(2), rich_objective()).draw(3);
  check_wfc_backend<T, B, past::pinned, masks::bidirectional, learned_positions>(targets, d);
  check_wfc_backend<T, B, past::pinned, masks::causal, rotary_positions>(targets, d);
  check_wfc_backend<T, B, past::pinned, masks::window<1>, learned_positions>(targets, d);
}

TEST_CASE("wfc objective: a slot sees only the clean tokens before its block", "[model][wfc]") {
  // Changing an input token after a slot's block start cannot change that slot's loss.
  wfc_config c = tiny_wfc(2);
  wfc_model<double, reference> model(c, rich_objective());
  model.initialise(5);
  wfc_draw d;
  d.offset = 0;
  d.steps = 2;
  // One sequence of 5: targets 0…4 have labels 1…5; blocks of 2 from offset 0 are {1}, {2, 3}, {4, 5}
  // (label 0 would start block 0). Target 1 (label 2) starts its block: it sees clean tokens 0, 1.
  const std::vector<token_id> x{1, 2, 3, 4, 0}, y{2, 3, 4, 0, 1};
  model.forward(x, y, 1, d);
  const auto before = model.offset_nll();
  std::vector<token_id> changed = x;
  changed[4] = 3;  // the last input: only the last block's slots can see it… and none does (labels ≤ 5 see < 4)
  model.forward(changed, y, 1, d);
  const auto after = model.offset_nll();
  REQUIRE(before == after);
  changed = x;
  changed[1] = 0;  // seen by every block after the first
  model.forward(changed, y, 1, d);
  REQUIRE(model.offset_nll() != before);
}

TEST_CASE("wfc model rejects rolling training where nothing can be carried", "[model][wfc]") {
  wfc_objective o;
  o.carry = 0.5;
  CHECK_THROWS_AS((wfc_model<double, reference, past::drifting>(tiny_wfc(2), o)), config_error);
  o.carry_slides = 2;  // F = 2: a slot lives one slide
  CHECK_THROWS_AS((wfc_model<double, reference>(tiny_wfc(2), o)), config_error);
  wfc_model<double, reference> pinned(tiny_wfc(1));  // F = 1: a carried draw has no slot to carry
  CHECK_THROWS_AS(pinned.forward(wfc_ids, targets, 2, wfc_draw{0, 2, 0, 0, true, true}), config_error);
}

TEST_CASE("wfc model rejects impossible configurations and bad batches", "[model][wfc]") {
  wfc_config c = tiny_wfc(2);
  c.heads = 3;
  REQUIRE_THROWS_AS((wfc_model<float, reference>(c)), config_error);
  c = tiny_wfc(7);  // F larger than the window
  REQUIRE_THROWS_AS((wfc_model<float, reference>(c)), config_error);
  wfc_objective o;
  o.steps = 0;
  REQUIRE_THROWS_AS((wfc_model<float, reference>(tiny_wfc(2), o)), config_error);
  REQUIRE_THROWS_AS((wfc_model<float, reference>(tiny_wfc(2), {}, solvers::fixed_steps{2, 1.5})), config_error);
  wfc_model<float, reference> model(tiny_wfc(2));
  REQUIRE_THROWS_AS(model.forward({0, 1, 2}, {1, 2, 3}, 2), shape_error);                     // not 2 equal sequences
  REQUIRE_THROWS_AS(model.forward({0, 1, 2, 3, 4, 0, 1}, {1, 2, 3, 4, 0, 1, 2}, 1), shape_error);  // longer than the window
  REQUIRE_THROWS_AS(model.forward({0, 1}, {1}, 1), shape_error);
  REQUIRE_THROWS_AS(model.forward({0, 1}, {1, 9}, 1), value_error);  // target outside the vocabulary
  REQUIRE_THROWS_AS(model.backward(), config_error);                  // no forward yet
}

TEMPLATE_LIST_TEST_CASE("wfc inference: a cached past gives the outputs of recomputing it", "[model][wfc]", backend_configs) {
  using B = typename TestType::backend;
  using T = typename TestType::value_type;
  auto check = [](auto mask, auto positions) {
    using M = decltype(mask);
    using P = decltype(positions);
    wfc_model<T, B, past::pinned, M, P> model(tiny_wfc(3), rich_objective());
    model.initialise(9);
    const std::vector<token_id> past{2, 0, 4, 1};
    const solvers::fixed_steps solver{3, 0.7};
    // Recomputed: the whole past at once, then the slots from cold.
    model.reset(1);
    model.append_past(past);
    model.reset_future();
    model.converge(solver);
    const auto whole = values_of_view<B>(model.future_logits());
    // Cached: one token at a time (each appended against the cache).
    model.reset(1);
    for (token_id t : past) model.append_past({t});
    model.reset_future();
    model.converge(solver);
    require_close<T>(values_of_view<B>(model.future_logits()), whole, 64);
    REQUIRE(model.slots() == 3);
  };
  check(masks::bidirectional{}, learned_positions{});
  check(masks::causal{}, rotary_positions{});
}

TEST_CASE("wfc inference: converging a block of slots gives the training forward's logits for it", "[model][wfc]") {
  // Training: the block of targets 2…4 (labels 3…5; F = 3, offset 0) sees clean tokens 0…2 and its
  // own slots. Inference: the same past, the same three slots from cold, the same K steps.
  wfc_config c = tiny_wfc(3);
  wfc_objective o;
  o.steps = 2;
  wfc_model<double, reference, past::pinned, masks::causal, rotary_positions> model(c, o, solvers::fixed_steps{2, 0.9});
  model.initialise(4);
  const std::vector<token_id> x{1, 4, 0, 2, 3, 1}, y{4, 0, 2, 3, 1, 0};
  wfc_draw d;
  d.offset = 0;
  d.steps = 2;
  model.forward(x, y, 1, d);
  const auto training = values_of_view<reference>(model.last_logits());
  model.reset(1);
  model.append_past({1, 4, 0});
  model.reset_future();
  const auto report = model.converge(solvers::fixed_steps{2, 0.9});
  REQUIRE(report.steps == 2);
  REQUIRE(report.residual > 0);
  const auto slots = values_of_view<reference>(model.future_logits());
  const index_t V = c.vocab;
  REQUIRE(slots.size() == std::size_t(3 * V));
  require_close<double>(slots, std::vector<double>(training.begin() + 2 * V, training.begin() + 5 * V), 64);
}

TEST_CASE("wfc solve: the belief test's residual is each slot's KL between its distributions after successive steps", "[model][wfc]") {
  wfc_model<double, reference, past::pinned, masks::bidirectional, rotary_positions> model(tiny_wfc(3));
  model.initialise(4);
  model.reset(1);
  model.append_past({1, 4});
  model.reset_future();
  model.embed_slot(1, {0, 0, 1, 0, 0}, true);  // a pinned slot never counts
  const auto before = values_of_view<reference>(model.future_logits());
  const auto report = model.converge(solvers::until_converged{0.0, 1, 1.0, residual_norm::belief});
  const auto after = values_of_view<reference>(model.future_logits());
  const index_t V = 5;
  const auto log_softmax = [&](const std::vector<double>& logits, index_t slot, index_t v) {
    double z = 0;
    for (index_t u = 0; u < V; ++u) z += std::exp(logits[std::size_t(slot * V + u)]);
    return logits[std::size_t(slot * V + v)] - std::log(z);
  };
  REQUIRE(report.slot_residuals.size() == 3);
  double worst = 0;
  for (index_t i = 0; i < 3; ++i) {
    double kl = 0;
    for (index_t v = 0; v < V; ++v) kl += std::exp(log_softmax(after, i, v)) * (log_softmax(after, i, v) - log_softmax(before, i, v));
    CAPTURE(i);
    CHECK(report.slot_residuals[std::size_t(i)] == Approx(i == 1 ? 0.0 : kl).margin(1e-12));
    if (i != 1) worst = std::max(worst, kl);
  }
  CHECK(worst > 1e-6);
  CHECK(report.residual == Approx(worst).margin(1e-12));
  // a tolerance the first step meets exits there
  model.reset_future();
  CHECK(model.converge(solvers::until_converged{1e9, 5, 1.0, residual_norm::belief}).steps == 1);
}

TEST_CASE("wfc chain NLL: it reports how often solves converge and how steps follow slot 0's entropy", "[model][wfc]") {
  wfc_config c = tiny_wfc(2);
  c.vocab = 6;
  wfc_model<double, reference> model(c);
  model.initialise(5);
  auto p = model.parameters();  // weights far from the initialisation's: solves that move
  const auto noise = random_values(p.size(), 8, -0.7, 0.7);
  for (index_t i = 0; i < p.size(); ++i) p(i) += noise[std::size_t(i)];
  const text_dataset data = tiny_text(1, 7);
  const trainer_settings s = tiny_evaluation(1, 3);
  const auto fixed = chain_nll(model, data, split::validation, s, solvers::fixed_steps{2, 1.0}, warm_start::none);
  CHECK(fixed.solves == 18);  // 3 windows of 6 tokens, one solve each
  CHECK(fixed.converged_fraction == 0);
  CHECK(fixed.steps_per_token == 2);
  CHECK(std::isnan(fixed.steps_entropy_spearman));  // every solve took 2 steps
  const auto loose = chain_nll(model, data, split::validation, s, solvers::until_converged{1e9, 4, 1.0}, warm_start::state);
  CHECK(loose.converged_fraction == 1);
  CHECK(loose.steps_per_token == 1);
  const auto tight = chain_nll(model, data, split::validation, s, solvers::until_converged{0.0, 3, 1.0}, warm_start::state);
  CHECK(tight.converged_fraction == 0);
  CHECK(tight.steps_per_token == 3);
  // a belief tolerance between: the steps vary, and their rank correlation with the entropy is defined
  bool varied = false;
  for (const double tolerance : {1e-1, 1e-2, 1e-3, 1e-4, 1e-5}) {
    const solvers::until_converged belief{tolerance, 8, 1.0, residual_norm::belief};
    const auto middle = chain_nll(model, data, split::validation, s, belief, warm_start::none);
    UNSCOPED_INFO("belief tolerance " << tolerance << ": " << middle.steps_per_token << " steps per token");
    if (middle.steps_per_token <= 1 || middle.steps_per_token >= 8) continue;
    CAPTURE(tolerance);
    CHECK(middle.converged_fraction > 0);
    CHECK(middle.steps_entropy_spearman >= -1);
    CHECK(middle.steps_entropy_spearman <= 1);
    varied = true;
  }
  CHECK(varied);
}

TEST_CASE("wfc inference: the window bounds the slots, and misuse is refused", "[model][wfc]") {
  wfc_model<double, reference> model(tiny_wfc(3));  // window 6, F 3
  model.initialise(1);
  REQUIRE_THROWS_AS(model.reset_future(), config_error);  // no past yet
  model.reset(1);
  model.append_past({0, 1, 2, 3});
  model.reset_future();
  REQUIRE(model.slots() == 3);  // positions 3, 4, 5
  model.converge(solvers::until_converged{1e-9, 5, 1.0});
  model.append_past({4});
  model.shift_future(1);
  REQUIRE(model.slots() == 2);  // positions 4, 5: the window is full
  REQUIRE_THROWS_AS(model.shift_future(3), config_error);
  REQUIRE_THROWS_AS(model.append_past({0, 1}), shape_error);  // 5 + 2 > 6
  REQUIRE_THROWS_AS(model.append_past({7}), value_error);     // outside the vocabulary
  const auto report = model.converge(solvers::until_converged{1e-9, 5, 1.0});
  REQUIRE(report.steps <= 5);
}

TEST_CASE("wfc chain NLL: with cold starts and F = 1 it is the first-slot NLL of the same windows", "[model][wfc]") {
  // F = 1: every block is one slot, so the training forward's loss with K steps is the NLL of
  // next-token prediction from a cold start, which a cold-start chain over the same windows repeats.
  wfc_config c = tiny_wfc(1);
  c.vocab = 6;
  wfc_model<double, reference> model(c, wfc_objective{}, solvers::fixed_steps{2, 1.0});
  model.initialise(3);
  const text_dataset data = tiny_text(7, 5);
  const trainer_settings s = tiny_evaluation(3);
  const auto cold = chain_nll(model, data, split::validation, s, solvers::fixed_steps{2, 1.0}, warm_start::none);
  const auto offsets = evaluate_offsets(model, data, split::validation, s);
  REQUIRE(cold.tokens == 2 * 3 * 6);
  REQUIRE(cold.steps_per_token == 2.0);
  require_close_scalar(cold.nll, offsets.first_slot, 1e-9, 1e-12);
  const auto warm = chain_nll(model, data, split::validation, s, solvers::fixed_steps{2, 1.0}, warm_start::state);
  require_close_scalar(warm.nll, cold.nll, 1e-9, 1e-12);  // F = 1: nothing to carry over
  const auto believed = chain_nll(model, data, split::validation, s, solvers::fixed_steps{2, 1.0}, warm_start::distribution);
  require_close_scalar(believed.nll, cold.nll, 1e-9, 1e-12);
}

TEST_CASE("wfc objective: revealed slots are pinned through every step and not scored", "[model][wfc]") {
  wfc_objective o;
  o.steps = 2;
  o.reveal = 0.5;
  wfc_model<double, reference> model(tiny_wfc(2), o);
  model.initialise(2);
  const index_t V = 5;
  wfc_draw d = model.draw(0);
  d.steps = 1;
  model.forward(wfc_ids, targets, 2, d);
  const auto one = values_of_view<reference>(model.last_logits());
  const auto scored = model.scored_targets();
  d.steps = 2;
  model.forward(wfc_ids, targets, 2, d);
  const auto two = values_of_view<reference>(model.last_logits());
  index_t revealed = 0, free = 0;
  for (std::size_t r = 0; r < targets.size(); ++r) {
    if (targets[r] == ignore_index) continue;
    const std::vector<double> a(one.begin() + std::ptrdiff_t(r) * V, one.begin() + std::ptrdiff_t(r + 1) * V);
    const std::vector<double> b(two.begin() + std::ptrdiff_t(r) * V, two.begin() + std::ptrdiff_t(r + 1) * V);
    if (scored[r] == ignore_index) {
      ++revealed;
      REQUIRE(a == b);  // the solver never moved it
    } else {
      ++free;
      REQUIRE(a != b);
    }
  }
  REQUIRE(revealed > 0);
  REQUIRE(free > 0);
}

TEST_CASE("wfc evaluation starts every slot from max entropy, whatever corruption the objective trains with", "[model][wfc]") {
  // Partial collapse toward the target, or revealing it, would let a slot see its answer.
  wfc_config c = tiny_wfc(2);
  c.vocab = 6;
  wfc_model<double, reference> corrupted(c, rich_objective()), clean(c, wfc_objective{});
  corrupted.initialise(4);
  clean.initialise(4);
  const text_dataset data = tiny_text(5, 3);
  const trainer_settings s = tiny_evaluation(2);
  const auto a = evaluate_offsets(corrupted, data, split::validation, s), b = evaluate_offsets(clean, data, split::validation, s);
  REQUIRE(a.per_offset == b.per_offset);
  std::vector<token_id> x, y;  // while training's forward does corrupt
  data.sample(split::train, 2, 6, evaluation_batches(s, split::train), 0, x, y);
  REQUIRE(corrupted.forward(x, y, 2, corrupted.draw(0)) != clean.forward(x, y, 2, corrupted.draw(0)));
}
