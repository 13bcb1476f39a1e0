// The study's infilling measurement (study/infilling.hpp) on models trained elsewhere: each WFC
// checkpoint with the pinned span and without it, a GPT checkpoint (which cannot see the pin)
// beside them. Compares, for example, a model trained with fixed reveals against one trained
// any-order on the same text:
//
//   ./infill_checkpoints --data tinyshakespeare.txt --gap 3 --pinned 1 --out infill.json
//       --checkpoint fixed.safetensors --checkpoint any.safetensors [--gpt gpt.safetensors]   (one line)
#include <CLI/CLI.hpp>

#include <fstream>

#include "models.hpp"  // the wfc program's compositions, picked by the checkpoint
#include "study/infilling.hpp"

namespace {

struct options {
  std::string data, gpt, out = "infill.json";
  std::vector<std::string> checkpoints;
  study::infill_settings infill;
  study::infill_task task{3, 1};
  int threads = 0;
};

int run(const options& o) {
  using namespace wfc;
  wfc_examples::set_threads(o.threads);
  if (o.checkpoints.empty() && o.gpt.empty()) throw config_error("name at least one --checkpoint (or a --gpt)");
  if (o.task.gap < 1 || o.task.pinned < 1) throw config_error("--gap and --pinned must be at least 1");
  if (o.infill.windows < 1 || o.infill.prefix < 1 || o.infill.batch < 1) throw config_error("--windows, --prefix and --batch must be at least 1");
  std::vector<checkpoint> loaded;  // every file read before the text: a bad path costs nothing
  for (const auto& path : o.checkpoints) {
    loaded.push_back(checkpoint::load(path));
    if (loaded.back().kind() != "wfc") throw config_error("--checkpoint '" + path + "' holds a " + loaded.back().kind() + ", not a WFC model");
  }
  std::optional<checkpoint> gpt_file;
  if (!o.gpt.empty()) gpt_file.emplace(checkpoint::load(o.gpt));
  if (gpt_file && gpt_file->kind() != "gpt") throw config_error("--gpt '" + o.gpt + "' holds a " + gpt_file->kind() + ", not a GPT");
  check_writable(o.out, "--out");
  const std::string text = read_text_file(o.data);
  study::json runs = study::json::array();
  const auto measure = [&](const checkpoint& c, const std::string& name) {
    const text_dataset data(c.tokenizer().encode(text));
    wfc_cli::with_model_type(wfc_cli::model_choice::of(c), [&](auto tag) {
      using Model = typename decltype(tag)::type;
      Model model = wfc_cli::model_from<Model>(c);
      c.restore(model);
      if constexpr (wfc_cli::is_gpt<Model>) {
        runs.push_back(study::infill_gpt(model, data, o.infill, o.task, name + " (cannot see the pin)"));
      } else {
        runs.push_back(study::infill_wfc(model, data, o.infill, o.task, false, name + " without the pin"));
        runs.push_back(study::infill_wfc(model, data, o.infill, o.task, true, name + " with the pin"));
      }
      return 0;
    });
  };
  if (gpt_file) measure(*gpt_file, o.gpt);
  for (std::size_t i = 0; i < loaded.size(); ++i) measure(loaded[i], o.checkpoints[i]);
  for (const auto& r : runs)
    std::printf("%-60s gap %lld, pinned %lld: accuracy %.3f, NLL %.3f\n", r["model"].get<std::string>().c_str(),
                static_cast<long long>(r["gap"].get<index_t>()), static_cast<long long>(r["pinned"].get<index_t>()),
                r["accuracy"].get<double>(), r["nll"].get<double>());
  std::ofstream(o.out) << study::json{{"prefix", o.infill.prefix}, {"windows", o.infill.windows}, {"runs", runs}}.dump(1) << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  o.infill.windows = 512;
  CLI::App app{"Infilling with a pinned future, measured on saved checkpoints (the study's part 3)"};
  app.option_defaults()->always_capture_default();
  app.add_option("--data", o.data, "the text the models were trained on (its last 10% is measured)")->required();
  app.add_option("--checkpoint", o.checkpoints, "a WFC checkpoint (repeat for several)");
  app.add_option("--gpt", o.gpt, "a GPT checkpoint, measured without the pin");
  app.add_option("--gap", o.task.gap, "characters to fill");
  app.add_option("--pinned", o.task.pinned, "characters pinned after the gap");
  app.add_option("--windows", o.infill.windows, "places in the validation text");
  app.add_option("--prefix", o.infill.prefix, "characters before the gap");
  app.add_option("--out", o.out, "the results (JSON)");
  app.add_option("--threads", o.threads, "OpenMP threads (0: OpenMP's default)");
  CLI11_PARSE(app, argc, argv);
  return wfc_examples::exit_code([&] { return run(o); });
}
