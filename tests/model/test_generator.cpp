// The collapse loop: each shipped policy's decisions on hand-made entropies, the generator against
// a hand-written first-future loop, pinned slots held by the solver, sliding and re-prefilled
// windows, seeds, stop sequences, bad policies and input, every backend against the reference, and
// target-first collapse filling a gap on a model trained to (infilling).
#include <algorithm>
#include <cmath>
#include <string>

#include "support/wfc_fixtures.hpp"
#include "wfc/model/generator.hpp"

using namespace wfc;
using namespace wfc::testing;

namespace {

collapse_input input(const std::vector<double>& h, const std::vector<bool>& pinned, index_t position = 10, index_t start = 10) {
  return collapse_input{h, pinned, std::log2(5.0), position, start, index_t(h.size()), 6, 0};
}

std::vector<index_t> slots_of(const collapse_decision& d) {
  std::vector<index_t> s;
  for (const auto& p : d.picks) s.push_back(p.slot);
  return s;
}

// A model with a window of 12 and F = 3, random weights.
template <class Positions = learned_positions, class Past = past::pinned, class T = double, class B = reference>
wfc_model<T, B, Past, masks::bidirectional, Positions> small_model(std::uint64_t seed = 5) {
  wfc_model<T, B, Past, masks::bidirectional, Positions> m(tiny_wfc(3, 12), wfc_objective{}, solvers::fixed_steps{2, 1.0});
  m.initialise(seed);
  return m;
}

const std::vector<token_id> prompt{1, 3, 0, 2};

#if defined(WFC_HAVE_CPU)
using fast_backend = cpu;
#else
using fast_backend = reference;
#endif

}  // namespace

TEST_CASE("collapse policies decide from the entropies as documented", "[collapse]") {
  const std::vector<double> h{0.2, 0.5, 2.0, 0.1, 1.5};
  const std::vector<bool> none(5, false), third_held{false, false, false, true, false};
  REQUIRE(slots_of(collapse::first_future{}.decide(input(h, none))) == std::vector<index_t>{0});

  // entropy_threshold: slot 0 and every free slot under τ; a held slot is not picked again.
  REQUIRE(slots_of(collapse::entropy_threshold{1.0}.decide(input(h, none))) == std::vector<index_t>{0, 1, 3});
  REQUIRE(slots_of(collapse::entropy_threshold{1.0}.decide(input(h, third_held))) == std::vector<index_t>{0, 1});
  REQUIRE(slots_of(collapse::entropy_threshold{0.0}.decide(input(h, none))) == std::vector<index_t>{0});

  // median_entropy_partial: slot 0 fully, the median of slots 1… (0.5, 2.0, 0.1, 1.5 → 1.5, slot 4) by α.
  const auto m = collapse::median_entropy_partial{0.3}.decide(input(h, none));
  REQUIRE(slots_of(m) == std::vector<index_t>{0, 4});
  REQUIRE(m.picks[0].strength == 1);
  REQUIRE(m.picks[1].strength == 0.3);

  // target: generated token 7 is slot 7 − 0 = beyond the 5 slots at first, pinned once in reach, then first-future.
  const collapse::target t{7, 2};
  REQUIRE(slots_of(t.decide(input(h, none, 10, 10))) == std::vector<index_t>{0});
  const auto pin = t.decide(input(h, none, 13, 10));
  REQUIRE(slots_of(pin) == std::vector<index_t>{4});
  REQUIRE(pin.picks[0].token == 2);
  REQUIRE(slots_of(t.decide(input(h, {false, false, false, false, true}, 13, 10))) == std::vector<index_t>{0});
  REQUIRE(slots_of(t.decide(input(h, none, 18, 10))) == std::vector<index_t>{0});  // already emitted

  // most_confident: the k free slots of lowest entropy, anywhere (0.1 at slot 3, then 0.2 at slot 0).
  REQUIRE(slots_of(collapse::most_confident{1}.decide(input(h, none))) == std::vector<index_t>{3});
  REQUIRE(slots_of(collapse::most_confident{2}.decide(input(h, none))) == std::vector<index_t>{3, 0});
  REQUIRE(slots_of(collapse::most_confident{2}.decide(input(h, third_held))) == std::vector<index_t>{0, 1});
  REQUIRE(slots_of(collapse::most_confident{9}.decide(input(h, third_held))) == std::vector<index_t>{0, 1, 4, 2});
  REQUIRE(collapse::most_confident{1}.decide(input(h, std::vector<bool>(5, true))).picks.empty());
  REQUIRE_THROWS_AS(collapse::most_confident{0}.validate(), config_error);
  // ordered by margin or top probability instead: the largest first (here they disagree with the entropy)
  collapse_input sure = input(h, none);
  sure.top_probability = {0.5, 0.9, 0.3, 0.6, 0.4};
  sure.margin = {0.1, 0.8, 0.05, 0.5, 0.3};
  REQUIRE(slots_of(collapse::most_confident{2, collapse::confidence::top_probability}.decide(sure)) == std::vector<index_t>{1, 3});
  REQUIRE(slots_of(collapse::most_confident{3, collapse::confidence::margin}.decide(sure)) == std::vector<index_t>{1, 3, 4});
  collapse_input sure_held = input(h, third_held);
  sure_held.top_probability = sure.top_probability;
  sure_held.margin = sure.margin;
  REQUIRE(slots_of(collapse::most_confident{2, collapse::confidence::margin}.decide(sure_held)) == std::vector<index_t>{1, 4});
  const collapse::most_confident by_margin{1, collapse::confidence::margin};
  REQUIRE_THROWS_AS(by_margin.decide(input(h, none)), config_error);  // no margins given

  // entropy_horizon: slots under `high` bits, plus one, within [min, max ∧ F].
  REQUIRE(collapse::entropy_horizon{1.0}.decide(input(h, none)).horizon == 3);        // 0.2, 0.5 confident
  REQUIRE(collapse::entropy_horizon{0.1}.decide(input(h, none)).horizon == 1);        // none
  REQUIRE(collapse::entropy_horizon{0.1, 2}.decide(input(h, none)).horizon == 2);     // at least min
  REQUIRE(collapse::entropy_horizon{9.0}.decide(input(h, none)).horizon == 6);        // all: one further, up to F
  REQUIRE(collapse::entropy_horizon{9.0, 1, 4}.decide(input(h, none)).horizon == 4);  // up to max
}

TEST_CASE("generator: first-future greedy collapse is the hand-written converge / argmax / shift loop", "[collapse][generator]") {
  auto model = small_model();
  auto reference_model = small_model();
  generation_settings s;
  s.max_tokens = 6;  // 4 + 6 tokens and a full future of 3 fit the window of 12: no re-prefill
  s.start = warm_start::state;  // the loop below carries the slots
  generator<decltype(model), collapse::first_future> gen(model, {}, sampler{0.0});
  const auto got = gen.run(prompt, s);

  std::vector<token_id> want;
  reference_model.reset(1);
  reference_model.append_past(prompt);
  reference_model.reset_future();
  index_t steps = 0;
  for (int i = 0; i < 6; ++i) {
    steps += reference_model.converge(reference_model.solver()).steps;
    const auto logits = values_of_view<reference>(reference_model.future_logits());
    token_id best = 0;
    for (token_id v = 1; v < 5; ++v)
      if (logits[std::size_t(v)] > logits[std::size_t(best)]) best = v;
    want.push_back(best);
    reference_model.append_past({best});
    reference_model.shift_future(1);
  }
  REQUIRE(got.tokens == want);
  REQUIRE(got.solves == 6);
  REQUIRE(got.solver_steps == steps);
  REQUIRE(got.tokens_per_solve() == 1.0);
}

TEST_CASE("generator: a pinned slot keeps its state through a solve and the others see it", "[collapse][generator]") {
  auto model = small_model();
  model.reset(1);
  model.append_past(prompt);
  model.reset_future();
  model.embed_slot(2, {0, 0, 0, 1, 0}, true);
  const auto before = values_of_view<reference>(model.future_state());
  const auto report = model.converge(solvers::until_converged{0.0, 3, 1.0, residual_norm::per_slot});
  const auto after = values_of_view<reference>(model.future_state());
  const index_t d = model.config().width;
  for (index_t j = 0; j < d; ++j) REQUIRE(after[std::size_t(2 * d + j)] == before[std::size_t(2 * d + j)]);
  REQUIRE(report.slot_residuals[2] == 0.0);
  REQUIRE(report.slot_residuals[0] > 0.0);

  // Anderson's combinations hold it exactly too, and so does re-embedding the distributions.
  model.converge(solvers::anderson{0.0, 4, 1.0, 2});
  model.reembed_future();
  const auto mixed = values_of_view<reference>(model.future_state());
  for (index_t j = 0; j < d; ++j) REQUIRE(mixed[std::size_t(2 * d + j)] == before[std::size_t(2 * d + j)]);

  // The segment residual is over the free slots only: one plain step, by hand.
  const auto x0 = values_of_view<reference>(model.future_state());
  const double residual = model.converge(solvers::until_converged{0.0, 1, 1.0}).residual;
  const auto x1 = values_of_view<reference>(model.future_state());
  double change = 0, size = 0;
  for (index_t i : {0, 1})
    for (index_t j = 0; j < d; ++j) {
      const auto k = std::size_t(i * d + j);
      change += (x1[k] - x0[k]) * (x1[k] - x0[k]);
      size += x0[k] * x0[k];
    }
  require_close_scalar(residual, std::sqrt(change) / std::sqrt(size), 1e-12, 0);

  // The same solve with slot 2 pinned to another token moves slot 0 elsewhere.
  auto other = small_model();
  other.reset(1);
  other.append_past(prompt);
  other.reset_future();
  other.embed_slot(2, {1, 0, 0, 0, 0}, true);
  other.converge(solvers::until_converged{0.0, 3, 1.0});
  const auto moved = values_of_view<reference>(other.future_state());
  double diff = 0;
  for (index_t j = 0; j < d; ++j) diff += std::abs(moved[std::size_t(j)] - after[std::size_t(j)]);
  REQUIRE(diff > 1e-6);

  // A shift keeps the pin with its slot; a reset clears it.
  model.append_past({4});
  model.shift_future(1);
  REQUIRE(model.pinned(1));
  REQUIRE_FALSE(model.pinned(0));
  model.reset_future();
  REQUIRE_FALSE(model.pinned(1));
}

// A slid pinned past keeps the keys/values its tokens got with their longer context (as a sliding-
// window cache does); with one layer those depend on the token and its position alone, so the slid
// window must equal a fresh prefill of the tokens kept.
TEST_CASE("generator: dropping the past slides the window (rotary keys cached, drifting recomputed)", "[collapse][generator]") {
  const std::vector<token_id> text{1, 3, 0, 2, 4, 4, 1, 0, 3, 2};
  auto one_layer = [] {
    wfc_config c = tiny_wfc(3, 12);
    c.layers = 1;
    wfc_model<double, reference, past::pinned, masks::bidirectional, rotary_positions> m(c);
    m.initialise(5);
    return m;
  };
  auto check = [&](auto slid, auto fresh) {
    slid.reset(1);
    slid.append_past(text);
    slid.drop_past(4);
    slid.reset_future();
    fresh.reset(1);
    fresh.append_past(std::vector<token_id>(text.begin() + 4, text.end()));
    fresh.reset_future();
    REQUIRE(slid.past() == 6);
    REQUIRE(slid.origin() == (std::decay_t<decltype(slid)>::past_policy::cached ? 4 : 0));
    slid.converge(solvers::fixed_steps{2, 1.0});
    fresh.converge(solvers::fixed_steps{2, 1.0});
    // Rotary scores depend on relative positions only: the same numbers from positions 4… as from 0….
    require_close<double>(values_of_view<reference>(slid.future_logits()), values_of_view<reference>(fresh.future_logits()), 64);
  };
  check(one_layer(), one_layer());
  check(small_model<learned_positions, past::drifting>(), small_model<learned_positions, past::drifting>());
  auto learned = small_model();
  learned.reset(1);
  learned.append_past(text);
  REQUIRE_THROWS_AS(learned.drop_past(2), config_error);
}

TEST_CASE("generator: long generations slide (rotary, drifting) or re-prefill (learned) and are fixed by the seed", "[collapse][generator]") {
  generation_settings s;
  s.max_tokens = 40;  // more than three windows
  s.seed = 9;
  const sampler warm{1.0};
  auto twice = [&](auto make, auto policy, warm_start start) {
    auto a = make();
    auto b = make();
    s.start = start;
    generator<decltype(a), decltype(policy)> ga(a, policy, warm), gb(b, policy, warm);
    const auto x = ga.run(prompt, s), y = gb.run(prompt, s);
    REQUIRE(x.tokens.size() == 40);
    REQUIRE(x.tokens == y.tokens);
    for (token_id t : x.tokens) REQUIRE((t >= 0 && t < 5));
    return x.tokens;
  };
  for (warm_start start : {warm_start::state, warm_start::none}) {
    twice([] { return small_model<rotary_positions>(); }, collapse::first_future{}, start);
    twice([] { return small_model<learned_positions>(); }, collapse::entropy_threshold{1.5}, start);
    twice([] { return small_model<rotary_positions, past::drifting>(); }, collapse::median_entropy_partial{0.5}, start);
    twice([] { return small_model<learned_positions>(); }, collapse::entropy_horizon{1.0}, start);
    twice([] { return small_model<learned_positions, past::drifting>(); }, collapse::entropy_threshold{1.5}, start);
  }
  const auto one = twice([] { return small_model<rotary_positions>(); }, collapse::first_future{}, warm_start::state);
  s.seed = 10;
  const auto other = twice([] { return small_model<rotary_positions>(); }, collapse::first_future{}, warm_start::state);
  REQUIRE(one != other);
}

TEST_CASE("generator: a policy's horizon does not outlive the run", "[collapse][generator]") {
  auto model = small_model();
  generation_settings s;
  s.max_tokens = 10;
  std::vector<index_t> horizons;
  generator<decltype(model), collapse::entropy_horizon> gen(model, {99.0, 1, 2});  // every slot confident: up to 2
  gen.run(prompt, s, [&](const generation_step& g) { horizons.push_back(index_t(g.entropy.size())); });
  REQUIRE(horizons.front() == 3);
  REQUIRE(horizons.back() == 2);
  REQUIRE(model.horizon() == 3);
}

TEST_CASE("generator: entropy_threshold collapses several slots per solve; τ = 0 is first-future", "[collapse][generator]") {
  generation_settings s;
  s.max_tokens = 24;
  s.seed = 3;
  auto a = small_model(), b = small_model(), c = small_model();
  generator<decltype(a), collapse::entropy_threshold> all(a, {99.0}), none(b, {0.0});
  generator<decltype(c), collapse::first_future> first(c);
  const auto everything = all.run(prompt, s);
  REQUIRE(everything.tokens.size() == 24);
  REQUIRE(everything.tokens_per_solve() > 2.5);  // F = 3 per solve, fewer where the window slides
  REQUIRE(none.run(prompt, s).tokens == first.run(prompt, s).tokens);
}

TEST_CASE("generator: most_confident collapses in any order and still emits every token once", "[collapse][generator]") {
  generation_settings s;
  s.max_tokens = 24;
  s.seed = 3;
  auto a = small_model(), b = small_model(), c = small_model();
  std::vector<index_t> first_picks;  // the slot each solve collapsed
  generator<decltype(a), collapse::most_confident> one(a, {1}), all(b, {99});
  const auto in_order = one.run(prompt, s, [&](const generation_step& r) {
    REQUIRE(r.picks.size() <= 1);
    if (!r.picks.empty()) first_picks.push_back(r.picks[0].slot);
  });
  REQUIRE(in_order.tokens.size() == 24);
  // Some solve collapsed a slot other than the next one (it emitted nothing that solve).
  REQUIRE(std::any_of(first_picks.begin(), first_picks.end(), [](index_t slot) { return slot > 0; }));
  const auto everything = all.run(prompt, s);
  REQUIRE(everything.tokens.size() == 24);
  generator<decltype(c), collapse::entropy_threshold> threshold(c, {99.0});
  REQUIRE(everything.tokens_per_solve() == threshold.run(prompt, s).tokens_per_solve());  // all free slots, like τ = ∞
}

namespace {
// Checks the confidences the generator hands a policy against the model's own distributions, then
// decides as most_confident by margin.
template <class Model>
struct checks_confidences {
  Model* model;
  index_t* checked;
  collapse_decision decide(const collapse_input& in) const {
    const index_t V = model->config().vocab;
    const auto p = values_of_view<reference>(model->future_probabilities());
    REQUIRE(in.top_probability.size() == std::size_t(in.slots()));
    REQUIRE(in.margin.size() == std::size_t(in.slots()));
    for (index_t i = 0; i < in.slots(); ++i) {
      std::vector<double> row(p.begin() + i * V, p.begin() + (i + 1) * V);
      std::sort(row.rbegin(), row.rend());
      REQUIRE(in.top_probability[std::size_t(i)] == Approx(row[0]).epsilon(1e-12));
      REQUIRE(in.margin[std::size_t(i)] == Approx(row[0] - row[1]).epsilon(1e-9).margin(1e-12));
      ++*checked;
    }
    return collapse::most_confident{1, collapse::confidence::margin}.decide(in);
  }
};
}  // namespace

TEST_CASE("generator: a policy sees each slot's top probability and margin, as the model's distributions have them", "[collapse][generator]") {
  auto model = small_model();
  index_t checked = 0;
  generator<decltype(model), checks_confidences<decltype(model)>> gen(model, {&model, &checked});
  generation_settings s;
  s.max_tokens = 12;
  REQUIRE(gen.run(prompt, s).tokens.size() == 12);
  REQUIRE(checked >= 12);
}

TEST_CASE("generator: the observer sees every decision, and a stop sequence ends the text", "[collapse][generator]") {
  auto model = small_model<rotary_positions>();
  generation_settings s;
  s.max_tokens = 30;
  generator<decltype(model), collapse::entropy_threshold> gen(model, {1.0});
  std::vector<token_id> seen;
  index_t decisions = 0, steps = 0;
  const auto out = gen.run(prompt, s, [&](const generation_step& g) {
    REQUIRE(g.decision == decisions++);
    REQUIRE(g.entropy.size() == g.pinned.size());
    REQUIRE(g.position == index_t(prompt.size() + seen.size()));
    for (double bits : g.entropy) REQUIRE((bits >= 0 && bits <= std::log2(5.0) + 1e-9));
    steps += g.solve.steps;
    seen.insert(seen.end(), g.emitted.begin(), g.emitted.end());
  });
  REQUIRE(seen == out.tokens);
  REQUIRE(decisions == out.solves);
  REQUIRE(steps == out.solver_steps);

  s.stop = {out.tokens[5], out.tokens[6]};
  auto again = small_model<rotary_positions>();
  generator<decltype(again), collapse::entropy_threshold> stopper(again, {1.0});
  const auto stopped = stopper.run(prompt, s);
  REQUIRE(stopped.stopped);
  REQUIRE(stopped.tokens.size() <= 7);
  REQUIRE(std::equal(stopped.tokens.begin(), stopped.tokens.end(), out.tokens.begin()));
}

namespace {
struct never_emits {  // partially collapses slot 1 forever
  collapse_decision decide(const collapse_input&) const {
    collapse_decision d;
    d.picks.push_back(collapse_pick{1, 0.5});
    return d;
  }
};
struct picks_outside {
  collapse_decision decide(const collapse_input& in) const {
    collapse_decision d;
    d.picks.push_back(collapse_pick{in.slots()});
    return d;
  }
};
}  // namespace

TEST_CASE("generator: bad prompts, settings and policies are refused with a message", "[collapse][generator]") {
  auto model = small_model();
  generation_settings s;
  s.max_tokens = 5;
  generator<decltype(model), collapse::first_future> gen(model);
  require_throws_containing<error>([&] { gen.run({}, s); }, "prompt is empty");
  require_throws_containing<error>([&] { gen.run({1, 7}, s); }, "outside the vocabulary");
  s.horizon = 4;
  require_throws_containing<error>([&] { gen.run(prompt, s); }, "exceeds the model's F");
  s.horizon = 0;
  s.start = warm_start::distribution;
  REQUIRE_THROWS_AS(gen.run(prompt, s), config_error);
  s.start = warm_start::state;

  generator<decltype(model), never_emits> stuck(model);
  require_throws_containing<error>([&] { stuck.run(prompt, s); }, "emitted nothing");
  generator<decltype(model), picks_outside> outside(model);
  require_throws_containing<error>([&] { outside.run(prompt, s); }, "outside the 3 future slots");
  generator<decltype(model), collapse::target> bad_token(model, {1, 9}), negative_token(model, {1, -3});
  require_throws_containing<error>([&] { bad_token.run(prompt, s); }, "outside the vocabulary");
  require_throws_containing<error>([&] { negative_token.run(prompt, s); }, "token -3, outside the vocabulary");
  const collapse::target skewed{1, std::vector<double>{0.5, 0.1, 0.1, 0.1, 0.1}};
  generator<decltype(model), collapse::target> bad_distribution(model, skewed);
  require_throws_containing<error>([&] { bad_distribution.run(prompt, s); }, "summing to");

  wfc_model<double, reference> cramped(tiny_wfc(4, 6));
  require_throws_containing<error>([&] { (generator<decltype(cramped), collapse::first_future>(cramped)); }, "at least 2·F");
}

namespace {
using double_backends = std::tuple<
#if defined(WFC_HAVE_CPU)
    cpu,
#endif
#if defined(WFC_HAVE_KOKKOS)
    kokkos<>,
#endif
    reference>;
}  // namespace

TEMPLATE_LIST_TEST_CASE("generator: every backend emits the reference's tokens (greedy, double)", "[collapse][generator]", double_backends) {
  generation_settings s;
  s.max_tokens = 30;
  auto compare = [&](auto want, auto got, auto policy) {
    auto w = make_generator(want, policy, sampler{0.0}, solvers::anderson{1e-4, 6, 1.0, 2});
    auto g = make_generator(got, policy, sampler{0.0}, solvers::anderson{1e-4, 6, 1.0, 2});
    const auto a = w.run(prompt, s), b = g.run(prompt, s);
    REQUIRE(b.tokens == a.tokens);
    REQUIRE(b.solver_steps == a.solver_steps);
  };
  compare(small_model<rotary_positions>(), small_model<rotary_positions, past::pinned, double, TestType>(),
          collapse::entropy_threshold{1.5});
  compare(small_model<learned_positions>(), small_model<learned_positions, past::pinned, double, TestType>(),
          collapse::median_entropy_partial{0.5});
  compare(small_model<rotary_positions, past::drifting>(), small_model<rotary_positions, past::drifting, double, TestType>(),
          collapse::target{5, 2});
}

// Words "aaaa." and "bbbb." in random order: after a '.', the next word's letter is a coin flip,
// unless a later letter of it is pinned. A model trained with revealed slots learns to read the
// pin; target-first collapse then fills the gap with the pinned word every time.
TEST_CASE("generator: target-first collapse fills the gap between the prompt and a pinned token", "[collapse][generator][slow]") {
  std::vector<token_id> text;  // 0 'a', 1 'b', 2 '.'
  const counter_rng coin(17);
  for (int w = 0; w < 600; ++w) {
    const token_id letter = coin.uniform<double>(std::uint64_t(w)) < 0.5 ? 0 : 1;
    for (int i = 0; i < 4; ++i) text.push_back(letter);
    text.push_back(2);
  }
  const text_dataset data(text);
  wfc_config c;
  c.vocab = 3;
  c.width = 32;
  c.heads = 2;
  c.layers = 2;
  c.future = 4;
  c.window = 16;
  wfc_objective o;
  o.steps = 2;
  o.reveal = 0.3;
  using model_type = wfc_model<float, fast_backend, past::pinned, masks::bidirectional, rotary_positions>;
  model_type model(c, o, solvers::fixed_steps{2, 1.0});
  model.initialise(3);
  trainer_settings t;
  t.iterations = 250;
  t.batch = 16;
  t.block = 16;
  t.warmup = 20;
  t.lr = 3e-3;
  t.eval_interval = 1000;
  t.eval_batches = 1;
  const auto trained = train(model, data, t);
  CAPTURE(trained.val_loss);

  const std::vector<token_id> start{0, 0, 0, 0, 2, 1, 1, 1, 1, 2};  // "aaaa.bbbb."
  generation_settings s;
  s.max_tokens = 5;
  // Greedy without a pin: one of the two words, whichever the model leans to.
  generator<model_type, collapse::first_future> plain(model, {}, sampler{0.0});
  const auto free = plain.run(start, s).tokens;
  REQUIRE((free == std::vector<token_id>{0, 0, 0, 0, 2} || free == std::vector<token_id>{1, 1, 1, 1, 2}));
  // With the word's last letter pinned, greedy fills the gap with that word, either way.
  for (token_id letter : {0, 1}) {
    CAPTURE(letter);
    generator<model_type, collapse::target> gen(model, collapse::target{3, letter}, sampler{0.0});
    const auto out = gen.run(start, s);
    REQUIRE(out.tokens == std::vector<token_id>{letter, letter, letter, letter, 2});
  }
}
