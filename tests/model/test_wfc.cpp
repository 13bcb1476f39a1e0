// The WFC model's training objective: the gradient of the whole unrolled objective (clean stream,
// K solver steps, deep supervision, velocity penalty, partial collapse) against finite differences
// for every parameter (reference backend, double), for every policy; every backend against the
// reference; and bad configurations and batches.
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
