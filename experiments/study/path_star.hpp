#pragma once
// Part 2 of the study: planning on path-star graphs (wfc/data/path_star.hpp), where teacher-forced
// next-token prediction is known to fail (about 1/D exact paths). The GPT trains teacher-forced on
// the answer tokens; the WFC model trains with its own objective on the same rows (every answer
// token a future slot, in blocks of F = L, some slots revealed), at the same size. Every other
// batch puts one block exactly on the answer, so all L nodes are predicted from the prompt alone
// (the paper's teacherless training); the rest draw the block offset at random, as on text. Both are measured on held-out graphs by greedy decoding: the GPT token by token, the WFC
// model with first-future collapse, with the target pinned first (target-first collapse: the
// target is the path's last node), and with every slot collapsed after one solve.
#include "study/common.hpp"

namespace study {

struct path_star_settings {
  std::vector<index_t> arms{2, 5};  // D
  index_t arm_length = 5, labels = 50;
  index_t layers = 4, heads = 4, width = 128;
  wfc::trainer_settings train;      // iterations, batch, lr schedule and AdamW (block and evaluation unused)
  index_t steps = 2;                // WFC: K
  double reveal = 0.1, partial = 0.3;
  index_t test_graphs = 500;
};

// Fresh graphs every batch from the training stream; held-out graphs come from another stream.
inline constexpr std::uint64_t training_graphs = 1, test_graphs = 2;

// The model's loss on one batch: a GPT's, or a WFC model's with the block on the answer for even
// iterations.
template <class Model>
double batch_loss(Model& model, const wfc::path_star_config& g, std::int64_t it, const std::vector<token_id>& ids,
                  const std::vector<token_id>& targets, index_t batch) {
  if constexpr (std::is_same_v<Model, wfc_default>) {
    wfc::wfc_draw d = model.draw(std::uint64_t(it), g.training_length());
    if (it % 2 == 0) d.offset = g.prompt_length() % model.config().future;  // a block starts at the answer's first label
    return double(model.forward(ids, targets, batch, d));
  } else {
    return double(model.forward(ids, targets, batch));
  }
}

template <class Model>
double train_on_graphs(Model& model, const wfc::path_star_config& g, const path_star_settings& s, const std::string& name) {
  const wfc::trainer_settings& t = s.train;
  wfc::adamw_optimizer<float, backend> optimizer(model.layout(), t.adamw);
  const wfc::cosine_schedule schedule = t.schedule();
  std::vector<token_id> ids, targets;
  double recent = 0;
  const auto start = std::chrono::steady_clock::now();
  for (std::int64_t it = 0; it < t.iterations; ++it) {
    wfc::path_star_batch(g, training_graphs, std::uint64_t(it * t.batch), t.batch, ids, targets);
    model.zero_grad();
    const double loss = batch_loss(model, g, it, ids, targets, t.batch);
    if (!std::isfinite(loss)) throw wfc::value_error("study: " + name + " diverged at iteration " + std::to_string(it + 1));
    model.backward();
    optimizer.step(model.parameters(), model.gradients(), schedule.at(it));
    recent = it == 0 ? loss : 0.95 * recent + 0.05 * loss;
    if ((it + 1) % t.eval_interval == 0 || it + 1 == t.iterations)
      std::fprintf(stderr, "  %-28s %5lld/%lld  answer loss %.4f  %s\n", name.c_str(), static_cast<long long>(it + 1),
                   static_cast<long long>(t.iterations), recent, wfc_examples::duration(seconds_since(start)).c_str());
  }
  return recent;
}

// Exact-path and first-node accuracy of `answer_of(graph)` over the held-out graphs.
template <class Answer>
json score(const wfc::path_star_config& g, const path_star_settings& s, const std::string& model, Answer&& answer_of) {
  index_t exact = 0, first = 0;
  for (index_t i = 0; i < s.test_graphs; ++i) {
    const wfc::path_star_graph graph = wfc::make_path_star(g, test_graphs, std::uint64_t(i));
    const std::vector<token_id> answer = answer_of(graph);
    exact += answer == graph.answer;
    first += !answer.empty() && answer[0] == graph.answer[0];
  }
  const double accuracy = double(exact) / double(s.test_graphs), first_node = double(first) / double(s.test_graphs);
  std::fprintf(stderr, "  D %lld, %s: exact paths %.3f, first node %.3f\n", static_cast<long long>(g.arms), model.c_str(), accuracy,
               first_node);
  return {{"D", g.arms}, {"L", g.arm_length}, {"N", g.labels}, {"model", model}, {"examples", s.test_graphs},
          {"accuracy", accuracy}, {"first_node_accuracy", first_node}};
}

inline json run_path_star(const path_star_settings& s) {
  json runs = json::array();
  const wfc::sampler greedy{0.0};
  for (index_t D : s.arms) {
    const wfc::path_star_config g{D, s.arm_length, s.labels};
    g.validate();
    const std::string graphs = " (D " + std::to_string(D) + ")";

    wfc::gpt_config gc;
    gc.vocab = g.vocab();
    gc.block = g.training_length() + 1;
    gc.layers = s.layers;
    gc.heads = s.heads;
    gc.width = s.width;
    gpt_rotary gpt(gc);
    gpt.initialise(s.train.seed);
    train_on_graphs(gpt, g, s, "GPT" + graphs);
    runs.push_back(score(g, s, "GPT, teacher-forced", [&](const wfc::path_star_graph& graph) {
      return wfc::generate(gpt, graph.prompt, g.answer_length(), greedy, wfc::counter_rng(1));
    }));

    wfc::wfc_config wc;
    wc.vocab = g.vocab();
    wc.window = g.training_length();
    wc.future = g.answer_length();
    wc.layers = s.layers;
    wc.heads = s.heads;
    wc.width = s.width;
    wfc::wfc_objective objective;
    objective.steps = s.steps;
    objective.reveal = s.reveal;
    objective.partial = s.partial;
    objective.seed = s.train.seed;
    const wfc::solvers::fixed_steps solver{s.steps, 1.0};
    wfc_default model(wc, objective, solver);
    model.initialise(s.train.seed);
    train_on_graphs(model, g, s, "WFC" + graphs);
    auto decode = [&](auto policy) {
      return [&, policy](const wfc::path_star_graph& graph) {
        wfc::generation_settings settings;
        settings.max_tokens = g.answer_length();
        return wfc::make_generator(model, policy, greedy, solver).run(graph.prompt, settings).tokens;
      };
    };
    runs.push_back(score(g, s, "WFC, first_future", decode(wfc::collapse::first_future{})));
    runs.push_back(score(g, s, "WFC, all slots after one solve", decode(wfc::collapse::entropy_threshold{1e9})));
    runs.push_back(score(g, s, "WFC, target first", [&](const wfc::path_star_graph& graph) {
      return decode(wfc::collapse::target{g.answer_length() - 1, graph.target})(graph);
    }));
  }
  return {{"runs", runs}};
}

}  // namespace study
