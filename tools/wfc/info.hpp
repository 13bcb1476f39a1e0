#pragma once
// `wfc info`: what a checkpoint holds, from its header alone (the weights are not read, so a large
// file answers at once): the model's kind, shape and size, the tokenizer, the training position
// and settings, and where it came from (the wfc version, the command line, the text's path and
// fingerprint, wall time and iterations). Text, or one JSON object with --json.
#include <cstdio>
#include <string>

#include "models.hpp"

namespace wfc_cli {

struct info_options {
  std::string checkpoint;
  bool json = false;

  void add(CLI::App& app) {
    app.add_option("checkpoint,--checkpoint", checkpoint, "a checkpoint written by `wfc train`")->required();
    app.add_flag("--json", json, "print one JSON object instead of text");
  }
};

inline int run_info(const info_options& o) {
  using namespace wfc;
  const checkpoint c = checkpoint::load_header(o.checkpoint);
  std::int64_t parameters = 0, tensors = 0;
  for (const auto& t : c.tensors().tensors()) {
    if (t.name.rfind("optimizer.", 0) == 0) continue;
    parameters += std::int64_t(t.elements()), ++tensors;
  }
  nlohmann::json info = {{"file", o.checkpoint},           {"wfc_version", c.wfc_version()}, {"model", c.model_json()},
                         {"parameters", parameters},        {"tensors", tensors},            {"vocabulary", c.tokenizer().vocab_size()},
                         {"provenance", c.provenance()}};
  if (c.has_training()) {
    info["iteration"] = c.iteration();
    info["settings"] = to_json(c.settings());
  }
  if (o.json) {
    std::printf("%s\n", info.dump().c_str());
    return 0;
  }
  std::printf("file: %s (written by wfc %s)\n", o.checkpoint.c_str(), c.wfc_version().c_str());
  std::printf("model: %s, %.2fM parameters in %lld tensors; %lld-character vocabulary\n", c.model_json().dump().c_str(),
              double(parameters) / 1e6, static_cast<long long>(tensors), static_cast<long long>(c.tokenizer().vocab_size()));
  if (c.has_training())
    std::printf("training: iteration %lld of %lld; settings %s\n", static_cast<long long>(c.iteration()),
                static_cast<long long>(c.settings().iterations), info["settings"].dump().c_str());
  else
    std::printf("training: none saved (weights only: it can be generated from and evaluated, not resumed)\n");
  const nlohmann::json& p = info["provenance"];
  if (!p.is_object()) {
    std::printf("provenance: none recorded (saved by an older wfc, or by a program of your own)\n");
    return 0;
  }
  std::string command;
  for (const auto& a : p.value("command", nlohmann::json::array())) command += (command.empty() ? "" : " ") + a.get<std::string>();
  const nlohmann::json data = p.value("data", nlohmann::json::object());
  std::printf("provenance: wfc %s; %lld iterations in %s of training, saved %s\n", p.value("wfc_version", std::string("?")).c_str(),
              static_cast<long long>(p.value("iterations", std::int64_t(0))), wfc_examples::duration(p.value("wall_seconds", 0.0)).c_str(),
              p.value("saved_utc", std::string("?")).c_str());
  std::printf("  data: %s (%lld bytes, %s %s)\n", data.value("path", std::string("?")).c_str(),
              static_cast<long long>(data.value("size", std::int64_t(0))), data.value("method", std::string("?")).c_str(),
              data.value("hash", std::string("?")).c_str());
  std::printf("  command: %s\n", command.c_str());
  if (p.contains("earlier_commands"))
    for (const auto& earlier : p["earlier_commands"]) {
      std::string line;
      for (const auto& a : earlier) line += (line.empty() ? "" : " ") + a.get<std::string>();
      std::printf("  earlier: %s\n", line.c_str());
    }
  return 0;
}

}  // namespace wfc_cli
