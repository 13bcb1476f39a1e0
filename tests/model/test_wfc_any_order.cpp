// Any-order training (reveal_schedule.hpp): each block reveals a uniformly drawn share of its
// slots; weighted, the loss is the any-order bound. The schedule's statistics, the batch's reveals
// by block, the weights as the loss applies them, the gradient against finite differences, and the
// bound's estimate at evaluation.
#include <cmath>
#include <map>

#include "support/catch.hpp"
#include "support/wfc_fixtures.hpp"
#include "wfc/io/config_json.hpp"
#include "wfc/model/wfc/evaluation.hpp"

using namespace wfc;
using namespace wfc::testing;

namespace {
struct no_rate {
  double rate = 0.5;
};
struct half_reveal {
  double rate(const counter_rng&, std::uint64_t) const { return 0.5; }
};

const std::vector<token_id> targets{3, 1, 4, 2, ignore_index, 0, 1, 3, 4, 2};

wfc_objective any_order(bool weighted, double partial = 0) {
  wfc_objective o;
  o.steps = 2;
  o.any_order = true;
  o.bound_weight = weighted;
  o.partial = partial;
  return o;
}

// Per block (sequence s, block start), its slots and how many the forward revealed, from the
// scored targets (a revealed slot's target is ignore_index there).
struct block_count {
  index_t slots = 0, revealed = 0;
};
std::map<std::pair<index_t, index_t>, block_count> reveals_by_block(const wfc_config& c, const wfc_draw& d,
                                                                    const std::vector<token_id>& all, const std::vector<token_id>& scored,
                                                                    index_t steps) {
  std::map<std::pair<index_t, index_t>, block_count> blocks;
  const masks::blocks cut{c.future, d.offset};
  for (std::size_t r = 0; r < all.size(); ++r) {
    if (all[r] == ignore_index) continue;
    auto& b = blocks[{index_t(r) / steps, cut.start(index_t(r) % steps + 1)}];
    ++b.slots;
    b.revealed += scored[r] == ignore_index;
  }
  return blocks;
}
}  // namespace

TEST_CASE("reveal schedules: the trait, the counts a rate reveals, and a uniform random subset", "[model][wfc][any-order]") {
  STATIC_REQUIRE(objective::is_reveal_schedule<objective::uniform_reveal>::value);
  STATIC_REQUIRE(objective::is_reveal_schedule<half_reveal>::value);
  STATIC_REQUIRE_FALSE(objective::is_reveal_schedule<no_rate>::value);
  CHECK(objective::revealed_count(0.0, 4) == 0);
  CHECK(objective::revealed_count(0.26, 4) == 1);
  CHECK(objective::revealed_count(0.999, 4) == 3);  // one slot is always left to score
  CHECK(objective::revealed_count(0.7, 1) == 0);
  CHECK(objective::bound_weight(4, 3) == 4.0);
  CHECK(objective::bound_weight(5, 0) == 1.0);
  // Every slot is in a subset of 2 of 5 with probability 2/5; each subset has exactly 2.
  std::vector<int> hits(5, 0);
  const int draws = 5000;
  for (int i = 0; i < draws; ++i) {
    const auto subset = objective::revealed_subset(5, 2, counter_rng(3, std::uint64_t(i)), 7);
    int n = 0;
    for (std::size_t k = 0; k < 5; ++k) n += subset[k], hits[k] += subset[k];
    REQUIRE(n == 2);
  }
  for (int h : hits) CHECK(std::abs(double(h) / draws - 0.4) < 0.03);
  // Uniform rates reveal every count 0 … n − 1 equally often.
  std::vector<int> counts(4, 0);
  const objective::uniform_reveal uniform;
  for (int i = 0; i < 8000; ++i) ++counts[std::size_t(objective::revealed_count(uniform.rate(counter_rng(5, 1), std::uint64_t(i)), 4))];
  for (int n : counts) CHECK(std::abs(n / 8000.0 - 0.25) < 0.02);
}

TEST_CASE("any-order training: blocks reveal uniformly many of their slots, never all, reproducibly", "[model][wfc][any-order]") {
  const wfc_config c = tiny_wfc(3, 8);
  wfc_model<double, reference> model(c, any_order(false));
  model.initialise(1);
  // 4 sequences of 8 tokens: blocks of 3 slots at every offset
  std::vector<token_id> ids, ys;
  for (int i = 0; i < 32; ++i) ids.push_back(token_id((i * 3 + i / 5) % 5)), ys.push_back(token_id((i * 2 + 1) % 5));
  std::vector<int> by_count(3, 0);
  int full_blocks = 0;
  for (std::uint64_t i = 0; i < 300; ++i) {
    const wfc_draw d = model.draw(i, 8);
    model.forward(ids, ys, 4, d);
    const auto scored = model.scored_targets();
    for (const auto& [where, b] : reveals_by_block(c, d, ys, scored, 8)) {
      REQUIRE(b.revealed < b.slots);
      if (b.slots == 3) ++full_blocks, ++by_count[std::size_t(b.revealed)];
    }
    model.forward(ids, ys, 4, d);
    REQUIRE(model.scored_targets() == scored);  // a function of the draw
  }
  REQUIRE(full_blocks > 500);
  for (int n : by_count) CHECK(std::abs(double(n) / full_blocks - 1.0 / 3) < 0.05);
}

TEST_CASE("any-order training: weighted, the loss is Σ n/(n − revealed)·CE over the blocks' slots", "[model][wfc][any-order]") {
  const wfc_config c = tiny_wfc(3);
  const index_t V = c.vocab;
  for (bool weighted : {false, true}) {
    CAPTURE(weighted);
    wfc_model<double, reference> model(c, any_order(weighted));
    model.initialise(5);
    for (std::uint64_t i = 0; i < 6; ++i) {
      const wfc_draw d = model.draw(i, 5);
      const double loss = model.forward(wfc_ids, targets, 2, d);
      const auto logits = values_of_view<reference>(model.last_logits());
      const auto scored = model.scored_targets();
      const auto blocks = reveals_by_block(c, d, targets, scored, 5);
      const masks::blocks cut{c.future, d.offset};
      double sum = 0, slots = 0, counted = 0;
      for (const auto& [where, b] : blocks) slots += double(b.slots);
      for (std::size_t r = 0; r < scored.size(); ++r) {
        if (scored[r] == ignore_index) continue;
        const double* row = logits.data() + r * std::size_t(V);
        double z = 0;
        for (index_t v = 0; v < V; ++v) z += std::exp(row[v]);
        const auto& b = blocks.at({index_t(r) / 5, cut.start(index_t(r) % 5 + 1)});
        sum += (weighted ? double(b.slots) / double(b.slots - b.revealed) : 1.0) * (std::log(z) - row[scored[r]]);
        ++counted;
      }
      require_close_scalar(loss, sum / (weighted ? slots : counted), 1e-12, 1e-12);
    }
  }
}

TEST_CASE("any-order training: the gradient matches finite differences, weighted or with partial collapse", "[model][wfc][any-order]") {
  const std::vector<wfc_draw> draws{{0, 2, 0, 0}, {1, 2, 0, 1}, {2, 2, 0, 2}, {1, 2, 0, 3}};
  SECTION("pinned past, bound weights, bidirectional slots") {
    check_wfc_gradient<past::pinned, masks::bidirectional, learned_positions>(tiny_wfc(3), 0.8, targets, draws, any_order(true));
  }
  SECTION("pinned past, unweighted with partial collapse, causal slots, rotary") {
    check_wfc_gradient<past::pinned, masks::causal, rotary_positions>(tiny_wfc(3), 1.0, targets, draws, any_order(false, 0.5));
  }
  SECTION("drifting past, bound weights") {
    const std::vector<wfc_draw> drifting{{0, 2, 0, 0}, {0, 2, 1, 1}, {0, 2, 0, 2}};
    check_wfc_gradient<past::drifting, masks::bidirectional, learned_positions>(tiny_wfc(3), 0.8, targets, drifting, any_order(true));
  }
}

TEST_CASE("any-order settings: contradictions are refused, and checkpoints carry them", "[model][wfc][any-order]") {
  const auto refused = [](wfc_objective o) {
    try {
      o.validate();
    } catch (const config_error&) {
      return true;
    }
    return false;
  };
  wfc_objective o = any_order(true);
  CHECK_FALSE(refused(o));
  o.reveal = 0.1;
  CHECK(refused(o));  // a fixed rate and a drawn one
  o = any_order(true, 0.3);
  CHECK(refused(o));  // partial collapse toward the answer breaks the bound
  o = any_order(false, 0.3);
  CHECK_FALSE(refused(o));
  o.any_order = false;
  o.bound_weight = true;
  CHECK(refused(o));  // weights of reveals that are not drawn
  const wfc_objective back = wfc_objective_from_json(to_json(any_order(true)), "test");
  CHECK(back.any_order);
  CHECK(back.bound_weight);
  nlohmann::json older = to_json(wfc_objective{});  // a checkpoint from before any-order training
  older.erase("any_order");
  older.erase("bound_weight");
  CHECK_FALSE(wfc_objective_from_json(older, "test").any_order);
}

TEST_CASE("the any-order bound: weighted reveals without partial collapse, whatever the objective trains with", "[model][wfc][any-order]") {
  wfc_config c = tiny_wfc(2);
  c.vocab = 6;
  wfc_objective partial = any_order(false, 0.5), bound = any_order(true);
  wfc_model<double, reference> a(c, partial), b(c, bound), fixed(c, rich_objective());
  for (auto* m : {&a, &b, &fixed}) m->initialise(4);
  const text_dataset data = tiny_text(5, 3);
  const trainer_settings s = tiny_evaluation(2, 3);
  const double ea = any_order_bound(a, data, split::validation, s);
  REQUIRE(std::isfinite(ea));
  REQUIRE(ea == any_order_bound(b, data, split::validation, s));      // the objective's corruption plays no part
  REQUIRE(ea == any_order_bound(fixed, data, split::validation, s));  // not even a fixed reveal rate
  REQUIRE(ea == any_order_bound(a, data, split::validation, s));      // and the estimate is reproducible
  // A block of two slots: half the time one is revealed and the other weighs 2, so the bound is
  // not the cold first-slot NLL.
  REQUIRE(ea != evaluate_offsets(a, data, split::validation, s).mean);
}
