// Path-star graphs: the structure Bachmann & Nagarajan describe, reproducible draws, training rows.
#include <map>
#include <set>

#include "support/testing.hpp"
#include "wfc/data/path_star.hpp"

using namespace wfc;
using namespace wfc::testing;

TEST_CASE("a path-star graph is a source with D arms of L distinct nodes, and the answer walks one arm to the target",
          "[data][path_star]") {
  const path_star_config c{5, 5, 50};
  for (std::uint64_t i = 0; i < 50; ++i) {
    const path_star_graph g = make_path_star(c, 7, i);
    REQUIRE(index_t(g.prompt.size()) == c.prompt_length());
    REQUIRE(index_t(g.answer.size()) == c.answer_length());
    // The question: source target ?.
    const auto n = g.prompt.size();
    REQUIRE(g.prompt[n - 3] == g.source);
    REQUIRE(g.prompt[n - 2] == g.target);
    REQUIRE(g.prompt[n - 1] == c.question());
    REQUIRE(g.answer.back() == g.target);
    // The edges: every node but the source has one parent, the source D children, each arm a chain.
    std::map<token_id, token_id> parent;
    std::map<token_id, int> children;
    std::set<token_id> nodes{g.source};
    for (index_t e = 0; e < c.arms * c.arm_length; ++e) {
      const token_id from = g.prompt[std::size_t(3 * e)], to = g.prompt[std::size_t(3 * e + 1)];
      REQUIRE((from >= 0 && from < c.labels && to >= 0 && to < c.labels));
      REQUIRE(g.prompt[std::size_t(3 * e + 2)] == c.edge_end());
      REQUIRE(parent.count(to) == 0);
      parent[to] = from;
      ++children[from];
      nodes.insert(from);
      nodes.insert(to);
    }
    REQUIRE(index_t(nodes.size()) == 1 + c.arms * c.arm_length);  // distinct labels
    REQUIRE(children[g.source] == c.arms);
    REQUIRE(parent.count(g.source) == 0);
    // Walking back from the target along parents gives the answer reversed, ending at the source.
    token_id at = g.target;
    for (index_t s = c.arm_length - 1; s >= 0; --s) {
      REQUIRE(g.answer[std::size_t(s)] == at);
      at = parent.at(at);
    }
    REQUIRE(at == g.source);
  }
}

TEST_CASE("path-star draws are reproducible per index, differ between indices, and pick every arm", "[data][path_star]") {
  const path_star_config c{2, 5, 50};
  REQUIRE(make_path_star(c, 3, 11).prompt == make_path_star(c, 3, 11).prompt);
  REQUIRE(make_path_star(c, 3, 11).prompt != make_path_star(c, 3, 12).prompt);
  REQUIRE(make_path_star(c, 3, 11).prompt != make_path_star(c, 4, 11).prompt);
  // The target's arm is uniform: the answer starts with the source's first listed child about
  // half the time.
  int first_listed = 0;
  const int n = 2000;
  for (int i = 0; i < n; ++i) {
    const path_star_graph g = make_path_star(c, 5, std::uint64_t(i));
    for (std::size_t e = 0; e + 3 < g.prompt.size(); e += 3)
      if (g.prompt[e] == g.source) {
        first_listed += g.prompt[e + 1] == g.answer[0];
        break;
      }
  }
  REQUIRE(first_listed > n * 45 / 100);
  REQUIRE(first_listed < n * 55 / 100);
}

TEST_CASE("path-star training rows hold the prompt and the answer, and score the answer only", "[data][path_star]") {
  const path_star_config c{2, 3, 20};
  std::vector<token_id> ids, targets;
  path_star_batch(c, 9, 4, 3, ids, targets);
  const index_t T = c.training_length(), P = c.prompt_length();
  REQUIRE(index_t(ids.size()) == 3 * T);
  for (index_t b = 0; b < 3; ++b) {
    const path_star_graph g = make_path_star(c, 9, std::uint64_t(4 + b));
    for (index_t t = 0; t < T; ++t) {
      const token_id expected_id = t < P ? g.prompt[std::size_t(t)] : g.answer[std::size_t(t - P)];
      REQUIRE(ids[std::size_t(b * T + t)] == expected_id);
      const token_id expected_target = t < P - 1 ? ignore_index : g.answer[std::size_t(t - P + 1)];
      REQUIRE(targets[std::size_t(b * T + t)] == expected_target);
    }
  }
}

TEST_CASE("path-star configurations that cannot hold distinct labels are refused", "[data][path_star]") {
  require_throws_containing<config_error>([] { make_path_star(path_star_config{5, 5, 25}, 1, 0); }, "26 nodes need as many distinct labels");
  require_throws_containing<config_error>([] { make_path_star(path_star_config{0, 5, 50}, 1, 0); }, "at least one arm");
}

TEST_CASE("mixed-degree rows: each graph draws its arms from [min_arms, D], and a shorter row is filled up after its answer",
          "[data][path_star]") {
  const path_star_config c{5, 5, 50};
  const index_t T = c.training_length(), count = 400;
  std::vector<token_id> ids, targets, plain_ids, plain_targets;
  // Without min_arms (0, or D itself) the rows are the single-degree rows.
  path_star_batch(c, 9, 0, 4, plain_ids, plain_targets);
  for (index_t same : {index_t(0), c.arms}) {
    path_star_batch(c, 9, 0, 4, ids, targets, same);
    REQUIRE(ids == plain_ids);
    REQUIRE(targets == plain_targets);
  }
  path_star_batch(c, 9, 100, count, ids, targets, 2);
  std::map<index_t, int> degrees;
  for (index_t b = 0; b < count; ++b) {
    const std::uint64_t index = std::uint64_t(100 + b);
    const index_t arms = path_star_arms(c, 2, 9, index);
    REQUIRE((arms >= 2 && arms <= c.arms));
    ++degrees[arms];
    // The row starts as that degree's own row of the same graph (prompt, answer, scored the same)
    // and is filled with unscored edge ends after it.
    const path_star_config own{arms, c.arm_length, c.labels};
    std::vector<token_id> short_ids, short_targets;
    path_star_batch(own, 9, index, 1, short_ids, short_targets);
    const index_t S = own.training_length();
    REQUIRE(S == T - 3 * (c.arms - arms) * c.arm_length);
    for (index_t t = 0; t < T; ++t) {
      REQUIRE(ids[std::size_t(b * T + t)] == (t < S ? short_ids[std::size_t(t)] : c.edge_end()));
      REQUIRE(targets[std::size_t(b * T + t)] == (t < S ? short_targets[std::size_t(t)] : ignore_index));
    }
    REQUIRE(short_targets.back() == make_path_star(own, 9, index).target);  // the answer is scored, to its last node
    // The same graph whatever the batch it is drawn in.
    if (b % 97 == 0) {
      std::vector<token_id> one, one_targets;
      path_star_batch(c, 9, index, 1, one, one_targets, 2);
      REQUIRE(std::equal(one.begin(), one.end(), ids.begin() + b * T));
    }
  }
  // Every degree about equally often (100 expected of each).
  REQUIRE(degrees.size() == 4);
  for (const auto& [arms, n] : degrees) {
    INFO("arms " << arms);
    REQUIRE((n > 65 && n < 135));
  }
  require_throws_containing<config_error>([&] { path_star_batch(c, 9, 0, 1, ids, targets, 6); }, "the fewest arms must lie in [1, 5]");
  require_throws_containing<config_error>([&] { path_star_batch(c, 9, 0, 1, ids, targets, -1); }, "got -1");
}

TEST_CASE("a filled-up short row gives a causal model (the GPT) the loss and gradient of the short row alone",
          "[data][path_star]") {
  const path_star_config c{3, 3, 12};
  std::uint64_t index = 0;
  while (path_star_arms(c, 1, 5, index) != 1) ++index;  // a one-arm graph in rows of three-arm length
  const path_star_config own{1, c.arm_length, c.labels};
  std::vector<token_id> ids, targets, short_ids, short_targets;
  path_star_batch(c, 5, index, 1, ids, targets, 1);
  path_star_batch(own, 5, index, 1, short_ids, short_targets);
  REQUIRE(short_ids.size() < ids.size());
  gpt_config g;
  g.vocab = c.vocab(), g.block = c.training_length(), g.width = 8, g.heads = 2, g.layers = 2;
  gpt<double, reference, rotary_positions> model(g);
  model.initialise(3);
  auto loss_and_gradient = [&](const std::vector<token_id>& x, const std::vector<token_id>& y) {
    model.zero_grad();
    const double loss = model.forward(x, y, 1);
    model.backward();
    return std::pair{loss, std::vector<double>(model.gradients().data(), model.gradients().data() + model.gradients().size())};
  };
  const auto [filled, filled_gradient] = loss_and_gradient(ids, targets);
  const auto [alone, alone_gradient] = loss_and_gradient(short_ids, short_targets);
  REQUIRE(filled == Approx(alone).epsilon(1e-12));
  require_close<double>(filled_gradient, alone_gradient);
}
