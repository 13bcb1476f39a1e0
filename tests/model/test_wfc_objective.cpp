// The training objective's small policies on their own: how K is drawn, how a slot starts, and
// the loss weights backward reads; their traits; and the batch draw they make up.
#include <cmath>
#include <set>

#include "support/catch.hpp"
#include "wfc/model/wfc/loss.hpp"
#include "wfc/model/wfc/objective.hpp"

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
