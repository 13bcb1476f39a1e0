// Path-star learning curves (issue 20): one model, the GPT or the WFC model of the study's planning
// part (study/path_star.hpp), trained on fresh graphs and scored on held-out graphs every
// --eval-interval iterations, so a curve shows whether a model plateaued or was cut short. A long
// run checkpoints at every evaluation and on SIGTERM/SIGINT/SIGUSR1 (exit 75), and --resume
// continues it exactly (same graphs, same draws), so one run can span sessions.
//
//   path_star --model gpt --arms 5 --iterations 20000 --out docs/path-star/gpt-d5
//   path_star --model wfc --arms 5 --iterations 20000 --out docs/path-star/wfc-d5 --resume
//
// The folder gets checkpoint.safetensors and curve.csv (one row per evaluation and policy:
// iteration, graphs and answer tokens seen, wall seconds, mean training loss since the last row,
// exact-path and first-node accuracy).
#include "study/path_star.hpp"
#include "wfc/io/run_lock.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <tuple>

namespace {

using namespace study;

struct options {
  std::string model = "wfc", out;
  bool resume = false, fixed_reveal = false;
  path_star_settings s;
  index_t arms = 5;
  std::int64_t stop_at = 0;  // save and stop after this iteration (0: run to the end)
  int threads = 0;
};

// The checkpoint's tokenizer: one code point per token in token order (labels, the edge end, the
// question mark) from U+0100 on, so it is sorted; nothing decodes it.
wfc::char_tokenizer graph_tokens(const wfc::path_star_config& g) {
  std::vector<char32_t> points;
  for (index_t i = 0; i < g.vocab(); ++i) points.push_back(char32_t(0x100 + i));
  return wfc::char_tokenizer(points);
}

// Rows of curve.csv up to iteration `keep` (a resumed run rewrites what came after its checkpoint).
void keep_curve(const std::string& path, std::int64_t keep) {
  std::ifstream in(path);
  if (!in) throw wfc::io_error("--resume: cannot read '" + path + "'");
  std::string header, line, kept;
  std::getline(in, header);
  while (std::getline(in, line))
    if (std::stoll(line.substr(0, line.find(','))) <= keep) kept += line + "\n";
  wfc::write_file_atomically(path, header + "\n" + kept);
}

template <class Model>
int run_model(Model& model, const options& o, const wfc::path_star_config& g) {
  const path_star_settings& s = o.s;
  const std::string folder = o.out, saved = folder + "/checkpoint.safetensors", curve = folder + "/curve.csv";
  const wfc::char_tokenizer tokens = graph_tokens(g);
  wfc::adamw_optimizer<float, backend> optimizer(model.layout(), s.train.adamw);
  std::int64_t start = 0, losses = 0;  // losses: iterations since the last row, whose mean loss it reports
  double seconds = 0, loss_sum = 0, slot_sum = 0;  // slot_sum: the WFC slots' own cross-entropy, without the clean loss
  if (o.resume) {
    const auto c = wfc::checkpoint::load(saved);
    c.restore(model);  // refuses another architecture
    start = c.restore_training(model, optimizer);
    const json run = c.provenance();
    seconds = run.at("seconds").get<double>(), loss_sum = run.at("loss_sum").get<double>(), losses = run.at("losses").get<std::int64_t>();
    slot_sum = run.value("slot_sum", 0.0);
    keep_curve(curve, start);
    std::fprintf(stderr, "resumed %s at iteration %lld\n", saved.c_str(), static_cast<long long>(start));
  } else {
    std::ofstream(curve) << "iteration,graphs,answer_tokens,seconds,train_loss,policy,exact,first_node\n";
  }
  const wfc::stop_on_signals stop;
  const auto began = std::chrono::steady_clock::now();
  auto save = [&](std::int64_t iteration) {
    wfc::save_checkpoint(saved, model, tokens, optimizer, iteration, s.train,
                         {{"seconds", seconds + seconds_since(began)}, {"model", o.model}, {"arms", g.arms}, {"arm_length", g.arm_length},
                          {"labels", g.labels}, {"test_graphs", s.test_graphs}, {"answer_every", s.answer_every}, {"min_arms", s.min_arms}, {"loss_sum", loss_sum}, {"slot_sum", slot_sum}, {"losses", losses}});
  };
  const std::string name = o.model + " D" + (s.min_arms > 0 && s.min_arms < g.arms ? std::to_string(s.min_arms) + "-" : "") + std::to_string(g.arms);
  for (std::int64_t it = start; it < s.train.iterations; ++it) {
    loss_sum += train_step(model, optimizer, g, s, it, name);
    if constexpr (std::is_same_v<Model, wfc_default>) slot_sum += double(model.last_cross_entropy());
    ++losses;
    const std::int64_t done = it + 1;
    if (done % s.train.eval_interval == 0 || done == s.train.iterations) {
      json runs;
      if constexpr (std::is_same_v<Model, wfc_default>) runs = score_wfc(model, g, s, s.test_graphs);
      else runs = json::array({score_gpt(model, g, s.test_graphs)});
      const double wall = seconds + seconds_since(began), mean = loss_sum / double(losses);
      std::ostringstream rows;
      for (const auto& r : runs)
        rows << done << ',' << done * s.train.batch << ',' << done * s.train.batch * g.answer_length() << ',' << wall << ',' << mean << ",\""
             << r["model"].get<std::string>() << "\"," << r["accuracy"].get<double>() << ',' << r["first_node_accuracy"].get<double>() << '\n';
      [[maybe_unused]] const double slots = slot_sum / double(losses);
      loss_sum = 0, slot_sum = 0, losses = 0;
      save(done);  // the checkpoint first: a row never runs ahead of what a resume restores
      std::ofstream(curve, std::ios::app) << rows.str();
      std::fprintf(stderr, "%s %lld/%lld (%s): train loss %.4f", name.c_str(), static_cast<long long>(done),
                   static_cast<long long>(s.train.iterations), wfc_examples::duration(wall).c_str(), mean);
      if constexpr (std::is_same_v<Model, wfc_default>) std::fprintf(stderr, " (the slots' own cross-entropy %.4f)", slots);
      std::fprintf(stderr, "\n");
      print_scores(runs);
    }
    if ((stop.requested() || done == o.stop_at) && done < s.train.iterations) {
      save(done);
      const std::string why = stop.requested() ? "stopped by " + wfc::stop_on_signals::name(stop.signal()) : "stopped (--stop-at)";
      std::fprintf(stderr, "%s after iteration %lld; saved %s: continue with --resume\n", why.c_str(), static_cast<long long>(done),
                   saved.c_str());
      return stop.requested() ? 75 : 0;
    }
  }
  return 0;
}

int run(options o) {
  wfc_examples::set_threads(o.threads);
  if (o.model != "gpt" && o.model != "wfc") throw wfc::config_error("--model must be gpt or wfc, got '" + o.model + "'");
  if (o.out.empty()) throw wfc::config_error("--out must name a folder for the checkpoint and curve.csv");
  o.s.any_order = !o.fixed_reveal;
  if (o.resume) {  // the run is the checkpoint's: its model, its graphs, its schedule
    const std::string saved = o.out + "/checkpoint.safetensors";
    if (!std::filesystem::exists(saved)) throw wfc::config_error("--resume: '" + saved + "' does not exist");
    const auto c = wfc::checkpoint::load_header(saved);
    const json run = c.provenance();
    o.s.train = c.settings();
    o.model = run.at("model").get<std::string>();
    o.arms = run.at("arms").get<index_t>(), o.s.arm_length = run.at("arm_length").get<index_t>(), o.s.labels = run.at("labels").get<index_t>();
    const auto [layers, heads, width] = o.model == "gpt" ? std::tuple{c.gpt().layers, c.gpt().heads, c.gpt().width}
                                                         : std::tuple{c.wfc().layers, c.wfc().heads, c.wfc().width};
    o.s.layers = layers, o.s.heads = heads, o.s.width = width;
    o.s.test_graphs = run.at("test_graphs").get<index_t>();
    o.s.answer_every = run.value("answer_every", index_t(2));  // runs saved before the option had 2
    o.s.min_arms = run.value("min_arms", index_t(0));           // and every graph with D arms
    if (o.model == "wfc") o.s.steps = c.objective().steps, o.s.any_order = c.objective().any_order, o.s.future = c.wfc().future,
                           o.s.clean_loss = c.objective().clean_loss;
  }
  o.s.train.validate();
  if (o.stop_at < 0) throw wfc::config_error("--stop-at must be 0 (run to the end) or positive, got " + std::to_string(o.stop_at));
  if (o.s.future < 0) throw wfc::config_error("--future must be 0 (F = L, the whole answer) or positive, got " + std::to_string(o.s.future));
  if (o.s.answer_every < 1)
    throw wfc::config_error("--answer-every must be at least 1 (1: every batch's block on the answer), got " + std::to_string(o.s.answer_every));
  if (o.s.min_arms != 0 && (o.s.min_arms < 1 || o.s.min_arms > o.arms))
    throw wfc::config_error("--min-arms must lie in [1, --arms = " + std::to_string(o.arms) + "] (or 0: every training graph has D arms), got " +
                            std::to_string(o.s.min_arms));
  if (o.s.test_graphs < 1) throw wfc::config_error("--test-graphs must be at least 1, got " + std::to_string(o.s.test_graphs));
  const wfc::path_star_config g{o.arms, o.s.arm_length, o.s.labels};
  g.validate();
  // Every degree's answer must start where a block does, as D's does (its prompt is 3·L·D + 3 long).
  const index_t F = o.s.future > 0 ? o.s.future : g.arm_length;
  if (o.model == "wfc" && o.s.min_arms > 0 && o.s.min_arms < g.arms && (3 * g.arm_length) % F != 0)
    throw wfc::config_error("--min-arms with the WFC model needs F (--future " + std::to_string(F) + ") to divide 3·L = " +
                            std::to_string(3 * g.arm_length) + ", so that the blocks put on the answer start at every degree's answer");
  if (!o.resume) {
    if (std::filesystem::exists(o.out + "/curve.csv"))
      throw wfc::config_error("'" + o.out + "/curve.csv' exists already: continue that run with --resume, or choose another --out");
    std::filesystem::create_directories(o.out);
  }
  wfc::check_writable(o.out + "/checkpoint.safetensors", "--out");
  const wfc::run_lock lock(o.out + "/run.lock", "the run in '" + o.out + "'");  // one process per run folder
  if (o.model == "gpt") {
    gpt_rotary gpt = make_gpt(g, o.s);
    return run_model(gpt, o, g);
  }
  wfc_default model = make_wfc(g, o.s);
  return run_model(model, o, g);
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  o.s.train.iterations = 20000;
  o.s.train.batch = 32;
  o.s.train.eval_interval = 1000;
  CLI::App app{"Path-star learning curves: the GPT or the WFC model trained on fresh graphs, scored on held-out graphs as it learns."};
  app.option_defaults()->always_capture_default();
  app.add_option("--model", o.model, "gpt (teacher-forced) or wfc (any-order reveals, F = L unless --future)");
  app.add_option("--arms", o.arms, "D, the arms of each graph");
  app.add_option("--min-arms", o.s.min_arms, "training graphs draw their arms uniformly from [this, D], shorter rows filled up after the answer (0: all have D; held-out graphs always have D)");
  app.add_option("--arm-length", o.s.arm_length, "L, nodes per arm (the answer's length)");
  app.add_option("--labels", o.s.labels, "N, node labels to draw from");
  app.add_option("--layers", o.s.layers, "transformer blocks");
  app.add_option("--heads", o.s.heads, "attention heads");
  app.add_option("--width", o.s.width, "embedding width");
  app.add_option("--steps", o.s.steps, "wfc: K, solver steps in training and per solve");
  app.add_option("--clean-loss", o.s.clean_loss, "wfc: weight of a next-token loss on the clean stream (the GPT's loss on the prompt's past)");
  app.add_option("--future", o.s.future, "wfc: F, future slots (0: L, the whole answer in one block; 1: next-token prediction from a slot)");
  app.add_option("--answer-every", o.s.answer_every, "wfc: every this many batches put a block exactly on the answer (1: every batch; the rest at random offsets)");
  app.add_flag("--fixed-reveal", o.fixed_reveal, "wfc: the study's former fixed rates (reveal 0.1, partial 0.3) instead of any-order reveals");
  app.add_option("--test-graphs", o.s.test_graphs, "held-out graphs per evaluation");
  wfc::trainer_settings& t = o.s.train;
  app.add_option("--iterations", t.iterations, "optimiser steps (a batch of fresh graphs each)");
  app.add_option("--batch", t.batch, "graphs per batch");
  wfc_examples::add_optimiser_options(app, t);
  app.add_option("--eval-interval", t.eval_interval, "score the held-out graphs and save every this many iterations");
  app.add_option("--seed", t.seed, "initialisation, graph and draw seed");
  app.add_option("--stop-at", o.stop_at, "save and stop after this iteration (--resume continues)");
  app.add_option("--out", o.out, "folder for checkpoint.safetensors and curve.csv")->required();
  app.add_flag("--resume", o.resume, "continue the run saved in --out");
  app.add_option("--threads", o.threads, "OpenMP threads (0: OpenMP's default)");
  CLI11_PARSE(app, argc, argv);
  return wfc_examples::exit_code([&] { return run(o); });
}
