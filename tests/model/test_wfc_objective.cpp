// The training objective's small policies on their own: how K is drawn, how a slot starts, and
// the loss weights backward reads; their traits; and the batch draw they make up.
#include <cmath>
#include <set>

#include "support/catch.hpp"
#include "wfc/model/wfc/loss.hpp"
#include "wfc/model/wfc/objective.hpp"
#include "wfc/model/wfc/training_batch.hpp"

using namespace wfc;

namespace {
struct no_draw {
  index_t max_steps() const { return 3; }
};
struct no_start {
  double reveal = 0;
};
}  // namespace

TEST_CASE("wfc objective policies: the traits accept the shipped policies and name what a broken one lacks", "[model][wfc]") {
  STATIC_REQUIRE(objective::is_step_count<objective::fixed_count>::value);
  STATIC_REQUIRE(objective::is_step_count<objective::uniform_count>::value);
  STATIC_REQUIRE(objective::is_step_count<objective::lognormal_poisson_count>::value);
  STATIC_REQUIRE_FALSE(objective::is_step_count<no_draw>::value);
  STATIC_REQUIRE(objective::is_slot_start_policy<objective::reveal_and_partial>::value);
  STATIC_REQUIRE_FALSE(objective::is_slot_start_policy<no_start>::value);
}

TEST_CASE("wfc objective policies: step counts", "[model][wfc]") {
  const objective::fixed_count fixed{5};
  const objective::uniform_count uniform{4};
  std::set<index_t> seen;
  for (std::uint64_t i = 0; i < 200; ++i) {
    const counter_rng rng(9, i);
    REQUIRE(fixed.draw(rng) == 5);
    const index_t k = uniform.draw(rng);
    REQUIRE(k >= 1);
    REQUIRE(k <= uniform.max_steps());
    seen.insert(k);
  }
  CHECK(seen == std::set<index_t>{1, 2, 3, 4});  // every depth is trained
  wfc_objective o;
  o.steps = 4;
  o.random_steps = true;
  CHECK(o.draw_steps(counter_rng(9, 17)) == uniform.draw(counter_rng(9, 17)));
  o.random_steps = false;
  CHECK(o.draw_steps(counter_rng(9, 17)) == 4);
}

TEST_CASE("wfc objective policies: slot starts reveal and partially collapse at their rates", "[model][wfc]") {
  const objective::reveal_and_partial none{0, 0}, some{0.25, 0.5};
  const counter_rng rng(3, 1);
  index_t revealed = 0, partial = 0, n = 4000;
  for (index_t r = 0; r < n; ++r) {
    const auto clean = none.start(rng, r);
    REQUIRE_FALSE(clean.revealed);
    REQUIRE_FALSE(clean.partial);
    const auto s = some.start(rng, r);
    REQUIRE_FALSE((s.revealed && s.partial));
    revealed += s.revealed;
    if (s.partial) {
      ++partial;
      REQUIRE(s.alpha >= 0);
      REQUIRE(s.alpha < 1);
    }
    REQUIRE(s.revealed == some.start(rng, r).revealed);  // a function of (stream, row): reproducible
  }
  CHECK(std::abs(double(revealed) / double(n) - 0.25) < 0.03);
  CHECK(std::abs(double(partial) / double(n - revealed) - 0.5) < 0.03);
}

TEST_CASE("wfc objective: loss weights and batch draws", "[model][wfc]") {
  wfc_objective o;
  o.steps = 3;
  CHECK(detail::step_loss_weight<double>(o, 3, 3) == 1.0);
  CHECK(detail::step_loss_weight<double>(o, 1, 3) == 0.0);
  o.deep_supervision = 0.5;
  CHECK(detail::step_loss_weight<double>(o, 1, 3) == 0.25);  // the mean of steps 1…K−1, weighted
  CHECK(detail::step_loss_weight<double>(o, 2, 3) == 0.25);
  CHECK(detail::velocity_penalty_coefficient<double>(o, 4, 8) == 0.0);
  o.velocity_penalty = 0.2;
  CHECK(std::abs(detail::velocity_penalty_coefficient<double>(o, 4, 8) - 2 * 0.2 / 32) < 1e-15);

  wfc_config c;
  c.future = 4;
  o.random_steps = true;
  for (std::uint64_t i = 0; i < 50; ++i) {
    const wfc_draw pinned = draw_batch(o, c, true, i, 16), drifting = draw_batch(o, c, false, i, 16);
    REQUIRE(pinned.offset >= 0);
    REQUIRE(pinned.offset < c.future);
    REQUIRE(pinned.start == 0);  // a pinned past has no empty rows
    REQUIRE(drifting.start >= 0);
    REQUIRE(drifting.start < 16 - c.future + 1);
    REQUIRE(pinned.steps == drifting.steps);
    REQUIRE(pinned.stream == i);
  }
}

TEST_CASE("wfc objective policies: the log-normal Poisson K has the asked mean and a long tail, within its cap", "[model][wfc]") {
  const objective::lognormal_poisson_count count{4.0, 64, 0.5};
  double total = 0;
  index_t deep = 0, n = 20000;
  for (index_t i = 0; i < n; ++i) {
    const index_t k = count.draw(counter_rng(5, std::uint64_t(i)));
    REQUIRE(k >= 1);
    REQUIRE(k <= 64);
    total += double(k);
    deep += k >= 9;  // more than twice the mean
  }
  CHECK(std::abs(total / double(n) - 4.0) < 0.06);  // E[K] = 1 + E[λ] = 4 (standard error ≈ 0.017)
  CHECK(deep > n / 100);                             // a tail a Poisson of mean 3 lacks (P(K ≥ 9) ≈ 0.4% there)
  const objective::lognormal_poisson_count capped{4.0, 3, 0.5};
  for (index_t i = 0; i < 200; ++i) REQUIRE(capped.draw(counter_rng(5, std::uint64_t(i))) <= 3);
  wfc_objective o;
  o.steps = 16;
  o.mean_steps = 4;
  CHECK(o.draw_steps(counter_rng(9, 17)) == objective::lognormal_poisson_count{4.0, 16}.draw(counter_rng(9, 17)));
  CHECK(o.evaluation_steps() == 4);
  o.mean_steps = 0;
  CHECK(o.evaluation_steps() == 16);
}

TEST_CASE("wfc objective: impossible settings of the new options are refused", "[model][wfc]") {
  const auto refused = [](auto change) {
    wfc_objective o;
    o.steps = 4;
    change(o);
    try {
      o.validate();
    } catch (const config_error&) {
      return true;
    }
    return false;
  };
  CHECK(refused([](wfc_objective& o) { o.mean_steps = 1; }));      // E[K] = 1 is fixed K = 1
  CHECK(refused([](wfc_objective& o) { o.mean_steps = 4.5; }));    // over the cap
  CHECK(refused([](wfc_objective& o) { o.mean_steps = -2; }));
  CHECK(refused([](wfc_objective& o) { o.mean_steps = 2, o.random_steps = true; }));
  CHECK(refused([](wfc_objective& o) { o.mean_steps = std::nan(""); }));
  CHECK(refused([](wfc_objective& o) { o.backprop_steps = -1; }));
  CHECK(refused([](wfc_objective& o) { o.carry = 1.5; }));
  CHECK(refused([](wfc_objective& o) { o.carry_slides = 0; }));
  CHECK(refused([](wfc_objective& o) { o.carry = std::nan(""); }));
  CHECK(refused([](wfc_objective& o) { o.velocity_penalty = INFINITY; }));
  CHECK(refused([](wfc_objective& o) { o.deep_supervision = INFINITY; }));
  CHECK_FALSE(refused([](wfc_objective& o) { o.mean_steps = 4, o.backprop_steps = 2, o.carry = 1, o.carry_beliefs = true; }));
  wfc_objective o;
  o.steps = 6;
  o.backprop_steps = 2;
  CHECK(o.tracked_steps() == 2);
  o.backprop_steps = 0;
  CHECK(o.tracked_steps() == 6);
}

TEST_CASE("wfc rolling training: batches carry at the objective's rate, and a block's last slot starts fresh", "[model][wfc]") {
  wfc_config c;
  c.future = 4;
  c.window = 32;
  wfc_objective o;
  o.carry = 0.25;
  index_t carried = 0, n = 4000;
  for (index_t i = 0; i < n; ++i) carried += draw_batch(o, c, true, std::uint64_t(i), 32).carried;
  CHECK(std::abs(double(carried) / double(n) - 0.25) < 0.03);
  c.future = 1;  // one slot: nothing survives a slide
  for (index_t i = 0; i < 100; ++i) REQUIRE_FALSE(draw_batch(o, c, true, std::uint64_t(i), 32).carried);
  // Which rows start carried: a slot whose block began one token after the first solve's block,
  // i.e. every slot of a block but its last, and none in a block that starts the sequence.
  c.future = 4;
  for (index_t offset = 0; offset < 4; ++offset) {
    wfc_draw d;
    d.offset = offset;
    for (index_t t = 0; t < 30; ++t) {
      const index_t label = t + 1, start = detail::training_blocks(c, d).start(label);
      CAPTURE(offset, t, start);
      CHECK(detail::starts_carried(c, t, d) == (start >= 2 && label != start + 3));
    }
  }
}
