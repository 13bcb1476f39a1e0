// The drifting past (past::drifting): the unrolled objective's gradient against finite differences
// (reference backend, double), every backend against the reference, what a slot can and cannot
// see, inference on a window giving the training forward's logits, and the chain NLL on it.
#include "support/wfc_fixtures.hpp"
#include "wfc/model/wfc_evaluation.hpp"
#include "wfc/model/wfc_model.hpp"

using namespace wfc;
using namespace wfc::testing;

namespace {
// For wfc_ids, two sequences of 5: windows of 5 − F + 1 past rows and F slots.
const std::vector<token_id> targets{3, 1, 4, 2, 2, 0, 1, 3, 4, 0};

// At the full past and at a past with two empty rows.
template <class Mask, class Positions>
void check_gradient(index_t future, double damping) {
  CAPTURE(future, damping);
  check_wfc_gradient<past::drifting, Mask, Positions>(tiny_wfc(future), damping, targets, {wfc_draw{0, 2, 0, 1}, wfc_draw{0, 2, 2, 1}});
}
}  // namespace

TEST_CASE("drifting past: the unrolled gradient matches finite differences for every parameter", "[model][wfc][drifting]") {
  SECTION("bidirectional future, learned positions, F = 2") { check_gradient<masks::bidirectional, learned_positions>(2, 1.0); }
  SECTION("causal future, rotary positions, damped, F = 3") { check_gradient<masks::causal, rotary_positions>(3, 0.6); }
  SECTION("window<1> future, learned positions, F = 1") { check_gradient<masks::window<1>, learned_positions>(1, 0.8); }
#if defined(WFC_HAVE_CPU)
  SECTION("the cpu backend in double, bidirectional future, learned positions") {
    check_wfc_gradient<past::drifting, masks::bidirectional, learned_positions, cpu>(tiny_wfc(2), 1.0, targets,
                                                                                    {wfc_draw{0, 2, 1, 2}});
  }
#endif
}

TEMPLATE_LIST_TEST_CASE("drifting past: every backend computes the reference's loss and gradients", "[model][wfc][drifting]",
                        backend_configs) {
  using B = typename TestType::backend;
  using T = typename TestType::value_type;
  wfc_draw d = wfc_model<double, reference, past::drifting>(tiny_wfc(2), rich_objective()).draw(3, 5);
  d.start = 1;
  check_wfc_backend<T, B, past::drifting, masks::bidirectional, learned_positions>(targets, d);
  check_wfc_backend<T, B, past::drifting, masks::causal, rotary_positions>(targets, d);
}

TEST_CASE("drifting past: slots see the present past only, never the tokens they stand for", "[model][wfc][drifting]") {
  wfc_objective o;
  o.steps = 2;
  wfc_model<double, reference, past::drifting> model(tiny_wfc(2), o);
  model.initialise(5);
  // One sequence of 5 tokens, F = 2: past rows 0…3, slots for the tokens at 4 and 5 (targets 3, 4).
  const std::vector<token_id> x{1, 2, 3, 4, 0}, y{2, 3, 4, 0, 1};
  wfc_draw d;
  d.steps = 2;
  d.start = 1;  // row 0 is empty
  model.forward(x, y, 1, d);
  const auto before = values_of_view<reference>(model.last_logits());
  auto logits_with = [&](index_t at, token_id token) {
    auto changed = x;
    changed[std::size_t(at)] = token;
    model.forward(changed, y, 1, d);
    return values_of_view<reference>(model.last_logits());
  };
  REQUIRE(logits_with(4, 2) == before);  // token 4 is slot 0's answer, never an input
  REQUIRE(logits_with(0, 4) == before);  // row 0 is empty
  REQUIRE(logits_with(2, 0) != before);  // a present past token
  REQUIRE_THROWS_AS(model.forward({1, 2}, {2, 3}, 1, d), config_error);  // start 1 leaves no past in a window of 1 past row
  REQUIRE_THROWS_AS(model.forward({1}, {2}, 1), shape_error);           // fewer tokens than F
}

TEST_CASE("drifting past: solving a window at inference gives the training forward's slot logits", "[model][wfc][drifting]") {
  wfc_config c = tiny_wfc(3);
  wfc_objective o;
  o.steps = 2;
  wfc_model<double, reference, past::drifting, masks::causal, rotary_positions> model(c, o, solvers::fixed_steps{2, 0.9});
  model.initialise(4);
  // T = 6, F = 3: past rows 0…3; with start 1 the past is tokens 1…3 and the slots stand for 4…6.
  const std::vector<token_id> x{1, 4, 0, 2, 3, 1}, y{4, 0, 2, 3, 1, 0};
  wfc_draw d;
  d.steps = 2;
  d.start = 1;
  model.forward(x, y, 1, d);
  const auto training = values_of_view<reference>(model.last_logits());  // 7 window rows, the slots last
  const index_t V = c.vocab;
  model.reset(1);
  model.append_past({4, 0, 2});
  model.reset_future();
  REQUIRE(model.slots() == 3);
  const auto report = model.converge(solvers::fixed_steps{2, 0.9});
  REQUIRE(report.steps == 2);
  const auto slots = values_of_view<reference>(model.future_logits());
  require_close<double>(slots, std::vector<double>(training.begin() + 4 * V, training.end()), 64);
}

TEST_CASE("drifting past: the chain NLL runs the collapse loop on the window", "[model][wfc][drifting]") {
  wfc_config c = tiny_wfc(1);
  c.vocab = 6;
  wfc_model<double, reference, past::drifting> model(c, wfc_objective{}, solvers::fixed_steps{2, 1.0});
  model.initialise(3);
  const text_dataset data = tiny_text(7, 5);
  const trainer_settings s = tiny_evaluation(3);
  const auto cold = chain_nll(model, data, split::validation, s, solvers::fixed_steps{2, 1.0}, warm_start::none);
  const auto warm = chain_nll(model, data, split::validation, s, solvers::fixed_steps{2, 1.0}, warm_start::state);
  REQUIRE(cold.tokens == 2 * 3 * 6);
  REQUIRE(std::isfinite(cold.nll));
  require_close_scalar(warm.nll, cold.nll, 1e-9, 1e-12);  // F = 1: nothing to carry over
  const auto adaptive = chain_nll(model, data, split::validation, s, solvers::anderson{1e-3, 6, 1.0, 2, residual_norm::per_slot});
  REQUIRE(std::isfinite(adaptive.nll));
  REQUIRE(adaptive.steps_per_token <= 6.0);
  const auto offsets = evaluate_offsets(model, data, split::validation, s);
  REQUIRE(offsets.per_offset.size() == 1);
  REQUIRE(std::isfinite(offsets.first_slot));
}
