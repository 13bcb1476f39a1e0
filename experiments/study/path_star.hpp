#pragma once
// Part 2 of the study: planning on path-star graphs (wfc/data/path_star.hpp), where teacher-forced
// next-token prediction is known to fail (about 1/D exact paths). The GPT trains teacher-forced on
// the answer tokens; the WFC model trains with its own objective on the same rows (every answer
// token a future slot, in blocks of F = L), at the same size. Every other batch (or every n-th:
// answer_every) puts one block exactly on the answer, so all L nodes are predicted from the prompt
// alone (the paper's teacherless training); the rest draw the block offset at random, as on text. The WFC model trains
// any-order (each block reveals a uniformly drawn share of its slots, as masked diffusion does), so
// it sees a node with the next one revealed: the backward lookup a confidence-ordered decoder can
// chain from the target. Both are measured on held-out graphs by greedy decoding: the GPT token by
// token, the WFC model under each collapse policy (wfc_policies). experiments/path_star.cpp runs
// one model for long with learning curves, checkpoints and resume.
#include "study/common.hpp"

namespace study {

struct path_star_settings {
  std::vector<index_t> arms{2, 5};  // D
  index_t min_arms = 0;             // training graphs draw D from [min_arms, D], short rows filled up (0: all have D)
  index_t arm_length = 5, labels = 50;
  index_t layers = 4, heads = 4, width = 128;
  wfc::trainer_settings train;      // iterations, batch, lr schedule and AdamW (block and evaluation unused)
  index_t steps = 2;                // WFC: K
  index_t future = 0;               // WFC: F (0: L, the whole answer in one block)
  double clean_loss = 0;            // WFC: weight of the clean stream's own next-token loss
  index_t answer_every = 2;         // WFC: every this many batches put a block on the answer (1: all)
  bool any_order = true;            // WFC: any-order reveals; else the fixed rates below
  double reveal = 0.1, partial = 0.3;
  index_t test_graphs = 500;
};

// Fresh graphs every batch from the training stream; held-out graphs come from another stream.
inline constexpr std::uint64_t training_graphs = 1, test_graphs = 2;

inline gpt_rotary make_gpt(const wfc::path_star_config& g, const path_star_settings& s) {
  wfc::gpt_config c;
  c.vocab = g.vocab();
  c.block = g.training_length() + 1;
  c.layers = s.layers;
  c.heads = s.heads;
  c.width = s.width;
  gpt_rotary gpt(c);
  gpt.initialise(s.train.seed);
  return gpt;
}

inline wfc::solvers::fixed_steps wfc_solver(const path_star_settings& s) { return {s.steps, 1.0}; }

inline wfc_default make_wfc(const wfc::path_star_config& g, const path_star_settings& s) {
  wfc::wfc_config c;
  c.vocab = g.vocab();
  c.window = g.training_length();
  c.future = s.future > 0 ? s.future : g.answer_length();
  c.layers = s.layers;
  c.heads = s.heads;
  c.width = s.width;
  wfc::wfc_objective objective;
  objective.steps = s.steps;
  objective.any_order = s.any_order;
  objective.reveal = s.any_order ? 0 : s.reveal;
  objective.partial = s.any_order ? 0 : s.partial;
  objective.clean_loss = s.clean_loss;
  objective.seed = s.train.seed;
  wfc_default model(c, objective, wfc_solver(s));
  model.initialise(s.train.seed);
  return model;
}

// The model's loss on one batch: a GPT's, or a WFC model's with the block on the answer for every
// answer_every-th iteration (0, n, 2n, ...).
template <class Model>
double batch_loss(Model& model, const wfc::path_star_config& g, const path_star_settings& s, std::int64_t it,
                  const std::vector<token_id>& ids, const std::vector<token_id>& targets, index_t batch) {
  if constexpr (std::is_same_v<Model, wfc_default>) {
    wfc::wfc_draw d = model.draw(std::uint64_t(it), g.training_length());
    if (it % s.answer_every == 0) d.offset = g.prompt_length() % model.config().future;  // a block starts at the answer's first label
    return double(model.forward(ids, targets, batch, d));
  } else {
    return double(model.forward(ids, targets, batch));
  }
}

// Iteration `it` (0-based) of the run: the batch of fresh graphs it owns, one optimiser step.
template <class Model, class Optimizer>
double train_step(Model& model, Optimizer& optimizer, const wfc::path_star_config& g, const path_star_settings& s, std::int64_t it,
                  const std::string& name) {
  const wfc::trainer_settings& t = s.train;
  std::vector<token_id> ids, targets;
  wfc::path_star_batch(g, training_graphs, std::uint64_t(it * t.batch), t.batch, ids, targets, s.min_arms);
  model.zero_grad();
  const double loss = batch_loss(model, g, s, it, ids, targets, t.batch);
  if (!std::isfinite(loss)) throw wfc::value_error("path-star: " + name + " diverged at iteration " + std::to_string(it + 1));
  model.backward();
  optimizer.step(model.parameters(), model.gradients(), t.schedule().at(it));
  return loss;
}

template <class Model>
double train_on_graphs(Model& model, const wfc::path_star_config& g, const path_star_settings& s, const std::string& name) {
  const wfc::trainer_settings& t = s.train;
  wfc::adamw_optimizer<float, backend> optimizer(model.layout(), t.adamw);
  double recent = 0;
  const auto start = std::chrono::steady_clock::now();
  for (std::int64_t it = 0; it < t.iterations; ++it) {
    const double loss = train_step(model, optimizer, g, s, it, name);
    recent = it == 0 ? loss : 0.95 * recent + 0.05 * loss;
    if ((it + 1) % t.eval_interval == 0 || it + 1 == t.iterations)
      std::fprintf(stderr, "  %-28s %5lld/%lld  answer loss %.4f  %s\n", name.c_str(), static_cast<long long>(it + 1),
                   static_cast<long long>(t.iterations), recent, wfc_examples::duration(seconds_since(start)).c_str());
  }
  return recent;
}

// Exact-path and first-node accuracy of `answer_of(graph)` over `graphs` held-out graphs.
template <class Answer>
json score(const wfc::path_star_config& g, index_t graphs, const std::string& model, Answer&& answer_of) {
  index_t exact = 0, first = 0;
  for (index_t i = 0; i < graphs; ++i) {
    const wfc::path_star_graph graph = wfc::make_path_star(g, test_graphs, std::uint64_t(i));
    const std::vector<token_id> answer = answer_of(graph);
    exact += answer == graph.answer;
    first += !answer.empty() && answer[0] == graph.answer[0];
  }
  const double accuracy = double(exact) / double(graphs), first_node = double(first) / double(graphs);
  return {{"D", g.arms}, {"L", g.arm_length}, {"N", g.labels}, {"model", model}, {"examples", graphs},
          {"accuracy", accuracy}, {"first_node_accuracy", first_node}};
}

// The GPT's greedy answers, scored.
inline json score_gpt(gpt_rotary& gpt, const wfc::path_star_config& g, index_t graphs) {
  const wfc::sampler greedy{0.0};
  return score(g, graphs, "GPT, teacher-forced", [&](const wfc::path_star_graph& graph) {
    return wfc::generate(gpt, graph.prompt, g.answer_length(), greedy, wfc::counter_rng(1));
  });
}

// In which order a confidence-ordered decoder fixed the answer's L nodes, over the test graphs:
// the target (node L) first, strictly backward from it (L, L − 1, …, 1: the masked-diffusion chain
// of one edge lookup each), or strictly forward (1, 2, …, L: a GPT's order, the first node guessed).
struct collapse_orders {
  index_t graphs = 0, target_first = 0, backward = 0, forward = 0;

  void add(const std::vector<index_t>& order, index_t L) {  // order: answer indices 0 … L − 1, as collapsed
    ++graphs;
    if (order.empty()) return;
    target_first += order.front() == L - 1;
    bool down = index_t(order.size()) >= L, up = down;
    for (index_t i = 0; i < L && i < index_t(order.size()); ++i) {
      down = down && order[std::size_t(i)] == L - 1 - i;
      up = up && order[std::size_t(i)] == i;
    }
    backward += down, forward += up;
  }
  json to_json() const {
    const double n = graphs ? double(graphs) : 1.0;
    return {{"target_first", double(target_first) / n}, {"backward", double(backward) / n}, {"forward", double(forward) / n}};
  }
};

// The WFC model's greedy answers under each collapse policy, scored: first-future (autoregression),
// most confident first (by entropy, and by margin; with the order in which they fixed the nodes),
// the target pinned first, every slot at once.
inline json score_wfc(wfc_default& model, const wfc::path_star_config& g, const path_star_settings& s, index_t graphs) {
  const wfc::sampler greedy{0.0};
  const auto solver = wfc_solver(s);
  // `orders`, if given, gets each graph's collapse order (answer indices, first decision first).
  auto decode = [&](auto policy, collapse_orders* orders = nullptr) {
    return [&, policy, orders](const wfc::path_star_graph& graph) {
      wfc::generation_settings settings;
      settings.max_tokens = g.answer_length();
      std::vector<index_t> order;
      auto result = wfc::make_generator(model, policy, greedy, solver).run(graph.prompt, settings, [&](const wfc::generation_step& step) {
        for (const auto& pick : step.picks) order.push_back(step.position + pick.slot - index_t(graph.prompt.size()));
      });
      if (orders) orders->add(order, g.answer_length());
      return result.tokens;
    };
  };
  namespace collapse = wfc::collapse;
  json runs = json::array();
  runs.push_back(score(g, graphs, "WFC, first_future", decode(collapse::first_future{})));
  collapse_orders by_entropy, by_margin;
  runs.push_back(score(g, graphs, "WFC, most confident (entropy)", decode(collapse::most_confident{1}, &by_entropy)));
  runs.back()["collapse_order"] = by_entropy.to_json();
  runs.push_back(score(g, graphs, "WFC, most confident (margin)", decode(collapse::most_confident{1, collapse::confidence::margin}, &by_margin)));
  runs.back()["collapse_order"] = by_margin.to_json();
  runs.push_back(score(g, graphs, "WFC, target first", [&](const wfc::path_star_graph& graph) {
    return decode(collapse::target{g.answer_length() - 1, graph.target})(graph);
  }));
  runs.push_back(score(g, graphs, "WFC, all slots after one solve", decode(collapse::entropy_threshold{1e9})));
  return runs;
}

inline void print_scores(const json& runs) {
  for (const auto& r : runs) {
    std::fprintf(stderr, "  D %lld, %s: exact paths %.3f, first node %.3f", static_cast<long long>(r["D"].get<index_t>()),
                 r["model"].get<std::string>().c_str(), r["accuracy"].get<double>(), r["first_node_accuracy"].get<double>());
    if (r.contains("collapse_order")) {
      const json& o = r["collapse_order"];
      std::fprintf(stderr, "; order: target first %.3f, backward %.3f, forward %.3f", o["target_first"].get<double>(),
                   o["backward"].get<double>(), o["forward"].get<double>());
    }
    std::fprintf(stderr, "\n");
  }
}

inline json run_path_star(const path_star_settings& s) {
  json runs = json::array();
  // Trains one model, then scores it: each row gets the model's training wall time and final loss.
  auto trained = [&](auto& model, const wfc::path_star_config& g, const std::string& name, auto&& scores) {
    const auto began = std::chrono::steady_clock::now();
    const double loss = train_on_graphs(model, g, s, name);
    const double seconds = seconds_since(began);
    json rows = scores(model);
    for (auto& r : rows) r["train_seconds"] = seconds, r["train_loss"] = loss;
    return rows;
  };
  for (index_t D : s.arms) {
    const wfc::path_star_config g{D, s.arm_length, s.labels};
    g.validate();
    const std::string graphs = " (D " + std::to_string(D) + ")";
    gpt_rotary gpt = make_gpt(g, s);
    json scored = trained(gpt, g, "GPT" + graphs, [&](gpt_rotary& m) { return json::array({score_gpt(m, g, s.test_graphs)}); });
    wfc_default model = make_wfc(g, s);
    for (auto& r : trained(model, g, "WFC" + graphs, [&](wfc_default& m) { return score_wfc(m, g, s, s.test_graphs); }))
      scored.push_back(r);
    print_scores(scored);
    for (const auto& r : scored) runs.push_back(r);
  }
  const wfc::trainer_settings& t = s.train;
  return {{"runs", runs},
          {"settings", {{"iterations", t.iterations}, {"batch", t.batch}, {"graphs", t.iterations * t.batch}, {"layers", s.layers},
                        {"heads", s.heads}, {"width", s.width}, {"steps", s.steps}, {"future", s.future}, {"any_order", s.any_order},
                        {"clean_loss", s.clean_loss}, {"answer_every", s.answer_every}}}};
}

}  // namespace study
