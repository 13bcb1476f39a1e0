// The validation study (issue 7): where does WFC beat next-token prediction, and where not.
// Trains the GPT baseline and WFC variants, then measures language modelling, planning on
// path-star graphs, infilling and compute adaptivity, and writes every number to one JSON file
// (rewritten after each part, so a long run keeps what it has). experiments/run_study.sh runs it
// and turns the JSON into a Markdown report with plots (experiments/report_study.py).
//
//   ./validation_study --preset full --data tinyshakespeare.txt --out results.json   (about an hour on 2 cores)
//   ./validation_study --preset small --out results.json                             (the CI run: a few minutes)
#include "study/adaptivity.hpp"
#include "study/infilling.hpp"
#include "study/language_model.hpp"
#include "study/path_star.hpp"
#include "support/corpus.hpp"

#include <filesystem>
#include <set>

namespace {

using namespace study;

struct preset {
  lm_settings lm;
  std::vector<lm_variant> variants;
  path_star_settings path_star;
  infill_settings infill;
  std::vector<std::pair<std::string, infill_task>> infill_tasks;  // WFC variant (pinned, bidirectional) and its task
  adaptivity_settings adaptivity;
  std::string adaptivity_model;
};

// Every variant differs from the first in one thing (two for the penalties, which go together).
std::vector<lm_variant> variants() {
  return {
      {"WFC F4 K2", 4, 2, "pinned", "bidirectional", 0, 0, true},
      {"WFC F1 K2", 1, 2},
      {"WFC F8 K2", 8, 2},
      {"WFC F4 K1", 4, 1},
      {"WFC F4 K4", 4, 4},
      {"WFC F4 K2, causal slots", 4, 2, "pinned", "causal"},
      {"WFC F4 K2, drifting past", 4, 2, "drifting"},
      {"WFC F4 K2, deep supervision + velocity penalty", 4, 2, "pinned", "bidirectional", 0.5, 0.1, true},
      // configs/wfc-rolling.json: K ~ log-normal Poisson (mean 3, at most 8, backprop through 4),
      // rolling training over F − 1 slides (docs/rolling.md)
      {"WFC F4, rolling training", 4, 8, "pinned", "bidirectional", 1.0, 0.5, true, 3, 4, 0.8, 3},
      // any-order reveals (as masked diffusion) instead of reveal 0.1: the price for plain generation, the gain for infilling
      {"WFC F4 K2, any-order", 4, 2, "pinned", "bidirectional", 0, 0, false, 0, 0, 0, 1, true},
  };
}

preset full() {
  preset p;
  p.lm.train.eval_interval = 500;  // nanoGPT's CPU recipe otherwise (wfc::trainer_settings' defaults)
  p.variants = variants();
  p.path_star.train.iterations = 2000;
  p.path_star.train.batch = 32;
  p.path_star.train.eval_interval = 250;
  p.path_star.clean_loss = 1;  // the clean stream's own next-token loss: without it no slot learns the lookup (docs/path-star.md)
  p.infill_tasks = {{"WFC F4 K2", {3, 1}}, {"WFC F4 K2, any-order", {3, 1}}, {"WFC F8 K2", {4, 4}}};
  p.infill.windows = 512;
  p.adaptivity.windows = 40;
  p.adaptivity_model = "WFC F4, rolling training";
  p.adaptivity.norm = wfc::residual_norm::belief;  // the rolling model's solves settle in belief (docs/rolling.md)
  p.adaptivity.warm = true;
  return p;
}

// Every code path of the full study on a tiny model and a few iterations: it shows the study
// runs, not what it finds.
preset small() {
  preset p = full();
  wfc::trainer_settings& t = p.lm.train;
  t.iterations = 30;
  t.batch = 4;
  t.block = 32;
  t.warmup = 5;
  t.eval_interval = 30;
  t.eval_batches = 2;
  p.lm.layers = p.path_star.layers = 2;
  p.lm.heads = p.path_star.heads = 2;
  p.lm.width = p.path_star.width = 32;
  p.lm.samples = 2;
  p.lm.sample_tokens = 20;
  p.lm.prompt = 8;
  p.path_star.arms = {2};
  p.path_star.train.iterations = 30;
  p.path_star.train.batch = 8;
  p.path_star.train.warmup = 5;
  p.path_star.train.eval_interval = 30;
  p.path_star.test_graphs = 50;
  p.infill.windows = 32;
  p.infill.prefix = 16;
  p.adaptivity.windows = 4;
  p.adaptivity.tokens_per_window = 20;
  p.adaptivity.prefix = 8;
  return p;
}

wfc::gpt_config gpt_shape(const lm_settings& s, index_t vocab) {
  wfc::gpt_config g;
  g.vocab = vocab;
  g.block = s.train.block;
  g.layers = s.layers;
  g.heads = s.heads;
  g.width = s.width;
  return g;
}

struct options {
  std::string preset = "full", data, out = "study_results/results.json";
  std::vector<std::string> parts{"lm", "path_star", "infilling", "adaptivity"};
  int threads = 0;
};

void save(const std::string& path, json& results, std::chrono::steady_clock::time_point start) {
  results["wall_seconds"] = seconds_since(start);
  const auto folder = std::filesystem::path(path).parent_path();
  if (!folder.empty()) std::filesystem::create_directories(folder);
  wfc::write_file_atomically(path, results.dump(2) + "\n");
}

int run(const options& o) {
  const auto start = std::chrono::steady_clock::now();
  wfc_examples::set_threads(o.threads);
  if (o.preset != "full" && o.preset != "small") throw wfc::config_error("--preset must be full or small, got '" + o.preset + "'");
  const std::set<std::string> parts(o.parts.begin(), o.parts.end());
  for (const auto& part : parts)
    if (part != "lm" && part != "path_star" && part != "infilling" && part != "adaptivity")
      throw wfc::config_error("--parts takes lm, path_star, infilling and adaptivity, not '" + part + "'");
  const bool text_parts = parts.count("lm") || parts.count("infilling") || parts.count("adaptivity");  // path_star needs no text
  if (o.preset == "full" && text_parts && o.data.empty())
    throw wfc::config_error("the full study trains on a text file: give --data path/to/tinyshakespeare.txt");
  const preset p = o.preset == "full" ? full() : small();

  const std::string text = o.data.empty() ? wfc_examples::generated_play() : wfc::read_text_file(o.data);
  const auto tok = wfc::char_tokenizer::from_text(text);
  const wfc::text_dataset data(tok.encode(text));
  json results = {{"preset", o.preset},
                  {"data", !text_parts ? std::string("none (path-star graphs only)")
                                       : (o.data.empty() ? std::string("the generated play") : o.data) + ": " +
                                             std::to_string(data.size(wfc::split::train)) + " training and " +
                                             std::to_string(data.size(wfc::split::validation)) + " validation characters, " +
                                             std::to_string(tok.vocab_size()) + " distinct"},
                  {"threads", wfc_examples::thread_note<backend>()}};
  std::fprintf(stderr, "validation study, preset %s: %s\n", o.preset.c_str(), results["data"].get<std::string>().c_str());

  lm_context lm{data, p.lm, {}, nullptr, nullptr, {}};
  if (parts.count("lm")) {
    std::fprintf(stderr, "part 1: language modelling\n");
    const wfc::gpt_config g = gpt_shape(p.lm, tok.vocab_size());
    lm.baseline = std::make_unique<gpt_learned>(g);
    lm.rotary = std::make_unique<gpt_rotary>(g);
    results["language_model"] = run_language_model(lm, p.variants);
    save(o.out, results, start);
  }
  if (parts.count("path_star")) {
    std::fprintf(stderr, "part 2: planning on path-star graphs\n");
    results["path_star"] = run_path_star(p.path_star);
    save(o.out, results, start);
  }
  if (!parts.count("lm") && (parts.count("infilling") || parts.count("adaptivity"))) {
    // Parts 3 and 4 run on models part 1 trains; without it, train just those (and the GPT).
    std::fprintf(stderr, "training the models parts 3 and 4 use\n");
    wfc::gpt_config g = gpt_shape(p.lm, tok.vocab_size());
    lm.baseline = std::make_unique<gpt_learned>(g);
    if (parts.count("infilling")) {
      train_gpt_only(lm, *lm.baseline, "GPT (learned positions, nanoGPT)");
      for (const auto& task : p.infill_tasks) train_for_later_parts(lm, p.variants, task.first, tok.vocab_size());
    }
    if (parts.count("adaptivity")) train_for_later_parts(lm, p.variants, p.adaptivity_model, tok.vocab_size());
  }
  if (parts.count("infilling")) {
    std::fprintf(stderr, "part 3: infilling\n");
    json runs = json::array();
    std::set<std::pair<index_t, index_t>> gpt_scored;  // the GPT once per task
    for (const auto& [name, task] : p.infill_tasks) {
      wfc_default& model = *lm.models.at(name);
      if (gpt_scored.insert({task.gap, task.pinned}).second)
        runs.push_back(infill_gpt(*lm.baseline, data, p.infill, task, "GPT (cannot see the pin)"));
      runs.push_back(infill_wfc(model, data, p.infill, task, false, name + " without the pin"));
      runs.push_back(infill_wfc(model, data, p.infill, task, true, name + " with the pin"));
    }
    results["infilling"] = {{"prefix", p.infill.prefix}, {"runs", runs}};
    save(o.out, results, start);
  }
  if (parts.count("adaptivity")) {
    std::fprintf(stderr, "part 4: compute adaptivity\n");
    results["adaptivity"] = run_adaptivity(*lm.models.at(p.adaptivity_model), p.adaptivity_model, data, p.adaptivity);
    save(o.out, results, start);
  }
  std::fprintf(stderr, "wrote %s (%s)\n", o.out.c_str(), wfc_examples::duration(seconds_since(start)).c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  CLI::App app{"The validation study: the GPT baseline against WFC variants on language modelling, path-star planning, "
               "infilling and compute adaptivity; writes every number to a JSON file."};
  app.option_defaults()->always_capture_default();
  app.add_option("--preset", o.preset, "full (the documented study) or small (every code path on a tiny model: CI)");
  app.add_option("--data", o.data, "the text (UTF-8; the last 10% validates); full needs it, small defaults to the generated play");
  app.add_option("--out", o.out, "the results file (JSON), rewritten after each part");
  app.add_option("--parts", o.parts, "which parts to run: lm, path_star, infilling, adaptivity")->delimiter(',');
  app.add_option("--threads", o.threads, "OpenMP threads (0: OpenMP's default)");
  CLI11_PARSE(app, argc, argv);
  return wfc_examples::exit_code([&] { return run(o); });
}
