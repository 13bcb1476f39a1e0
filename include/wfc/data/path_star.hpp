#pragma once
// Path-star graphs (Bachmann & Nagarajan, "The pitfalls of next-token prediction", 2024): a source
// node with D arms of L nodes each, every node a distinct label drawn from N values. The prompt is
// the edge list in a random order, then the source and the target (the last node of one arm); the
// answer is the path from the source to the target (the L nodes after the source). A model trained
// by teacher-forced next-token prediction can find every node of the path but the first by looking
// up the edge that leaves the node before it, so it learns to guess the arm: accuracy about 1/D.
//
// Tokens: the labels 0…N−1, the edge end `,` = N and the question mark `?` = N + 1 (vocabulary
// N + 2). Layout, D·L edges then the question:
//   u₁ v₁ , u₂ v₂ , … u_DL v_DL ,  source target ?  a₁ … a_L   (a_L = target)
// The edge ends let a model tell an edge's first node from its second by the token before it,
// which rotary (relative) positions cannot do by position alone.
#include <algorithm>
#include <string>
#include <vector>

#include "wfc/core/error.hpp"
#include "wfc/core/rng.hpp"
#include "wfc/core/tensor_view.hpp"

namespace wfc {

struct path_star_config {
  index_t arms = 2;         // D
  index_t arm_length = 5;   // L: nodes per arm, so the answer has L tokens
  index_t labels = 50;      // N: node labels to draw from

  void validate() const {
    if (arms < 1 || arm_length < 1)
      throw config_error("path_star_config: need at least one arm of at least one node, got " + std::to_string(arms) + " arms of " +
                         std::to_string(arm_length));
    if (labels < 1 + arms * arm_length)
      throw config_error("path_star_config: " + std::to_string(1 + arms * arm_length) + " nodes need as many distinct labels; N = " +
                         std::to_string(labels) + " is too few");
  }
  index_t vocab() const { return labels + 2; }
  token_id edge_end() const { return token_id(labels); }
  token_id question() const { return token_id(labels + 1); }
  index_t prompt_length() const { return 3 * arms * arm_length + 3; }
  index_t answer_length() const { return arm_length; }
  // Tokens a training row holds: the prompt and the answer but its last token (the inputs whose
  // next tokens are the answer).
  index_t training_length() const { return prompt_length() + answer_length() - 1; }
};

struct path_star_graph {
  std::vector<token_id> prompt, answer;
  token_id source = 0, target = 0;
};

// Graph number `index` of the stream `seed`: the same graph whatever else was drawn.
inline path_star_graph make_path_star(const path_star_config& c, std::uint64_t seed, std::uint64_t index) {
  c.validate();
  const counter_rng rng(seed, index);
  std::uint64_t draw = 0;
  auto below = [&](index_t n) { return std::min(n - 1, index_t(rng.uniform<double>(draw++) * double(n))); };
  auto shuffle = [&](auto& v) {  // Fisher–Yates
    for (index_t i = index_t(v.size()) - 1; i > 0; --i) std::swap(v[std::size_t(i)], v[std::size_t(below(i + 1))]);
  };
  std::vector<token_id> labels(static_cast<std::size_t>(c.labels));
  for (index_t i = 0; i < c.labels; ++i) labels[std::size_t(i)] = token_id(i);
  shuffle(labels);
  // labels[0] is the source; arm a holds labels[1 + a·L … (a + 1)·L].
  auto node = [&](index_t arm, index_t step) { return labels[std::size_t(1 + arm * c.arm_length + step)]; };
  std::vector<std::pair<token_id, token_id>> edges;
  for (index_t a = 0; a < c.arms; ++a)
    for (index_t s = 0; s < c.arm_length; ++s) edges.emplace_back(s == 0 ? labels[0] : node(a, s - 1), node(a, s));
  shuffle(edges);

  path_star_graph g;
  const index_t arm = below(c.arms);
  g.source = labels[0];
  g.target = node(arm, c.arm_length - 1);
  for (const auto& [from, to] : edges) g.prompt.insert(g.prompt.end(), {from, to, c.edge_end()});
  g.prompt.insert(g.prompt.end(), {g.source, g.target, c.question()});
  for (index_t s = 0; s < c.arm_length; ++s) g.answer.push_back(node(arm, s));
  return g;
}

// Mixed degrees (a curriculum of easier graphs beside the hard ones): graph `index` of stream `seed`
// draws its arm count uniformly from [min_arms, c.arms]; with min_arms = c.arms (or 0) every graph
// has c.arms. The draw sits far past the graph's own draws (counter 2^40), so the graph itself is
// make_path_star's for that degree.
inline index_t path_star_arms(const path_star_config& c, index_t min_arms, std::uint64_t seed, std::uint64_t index) {
  if (min_arms == 0 || min_arms == c.arms) return c.arms;
  if (min_arms < 1 || min_arms > c.arms)
    throw config_error("path-star: the fewest arms must lie in [1, " + std::to_string(c.arms) + "] (or 0: all graphs have " +
                       std::to_string(c.arms) + "), got " + std::to_string(min_arms));
  const index_t span = c.arms - min_arms + 1;
  const counter_rng rng(seed, index);
  return min_arms + std::min(span - 1, index_t(rng.uniform<double>(std::uint64_t(1) << 40) * double(span)));
}

// A training batch of graphs first … first + count − 1 of stream `seed`: rows of
// training_length() inputs; each answer token is the target of the input before it, and every
// other target is ignore_index (the prompt is given, not predicted). With min_arms, each graph has
// min_arms … c.arms arms (path_star_arms) and a row shorter than c's is filled up after its answer
// with edge ends, unscored: a causal model computes on it what it computes on the short row alone
// (a GPT; a WFC model's clean stream, and its slots, which see only what comes before their block),
// so the easier graphs are short sequences, not long ones with a different layout.
inline void path_star_batch(const path_star_config& c, std::uint64_t seed, std::uint64_t first, index_t count,
                            std::vector<token_id>& ids, std::vector<token_id>& targets, index_t min_arms = 0) {
  const index_t T = c.training_length();
  ids.assign(std::size_t(count * T), c.edge_end());
  targets.assign(std::size_t(count * T), ignore_index);
  for (index_t b = 0; b < count; ++b) {
    const std::uint64_t index = first + std::uint64_t(b);
    const path_star_config own{path_star_arms(c, min_arms, seed, index), c.arm_length, c.labels};
    const path_star_graph g = make_path_star(own, seed, index);
    const index_t P = own.prompt_length();
    token_id* row = ids.data() + b * T;
    std::copy(g.prompt.begin(), g.prompt.end(), row);
    std::copy(g.answer.begin(), g.answer.end() - 1, row + P);
    for (index_t i = 0; i < c.answer_length(); ++i) targets[std::size_t(b * T + P - 1 + i)] = g.answer[std::size_t(i)];
  }
}

}  // namespace wfc
