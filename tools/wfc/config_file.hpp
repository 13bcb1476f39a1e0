#pragma once
// `wfc train --config run.json`: a JSON object of flags, keys the long flag names without dashes
// ("width": 64, "min_lr": 1e-4 or "min-lr": 1e-4, "bias": true). Flags on the command line win
// over the file. The file's entries become ordinary flags before parsing, so a misspelt key is
// refused exactly as a misspelt flag would be.
#include <wfc/wfc.hpp>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace wfc_cli {

// argv with the config file of `subcommand` (if any) spliced in after the subcommand's name.
inline std::vector<std::string> expand_config(int argc, char** argv, const std::string& subcommand) {
  std::vector<std::string> args(argv, argv + argc);
  std::size_t sub = 1;
  while (sub < args.size() && args[sub] != subcommand) ++sub;
  std::string path;
  for (std::size_t i = sub + 1; i < args.size(); ++i) {
    if (args[i] == "--config" && i + 1 < args.size()) path = args[i + 1];
    if (args[i].rfind("--config=", 0) == 0) path = args[i].substr(9);
  }
  if (sub >= args.size() || path.empty()) return args;
  const std::string text = wfc::read_text_file(path);
  nlohmann::json config;
  try {
    config = wfc::safetensors::parse_json(text.begin(), text.end(), "the config file '" + path + "'");
  } catch (const nlohmann::json::exception& e) {
    throw wfc::io_error("the config file '" + path + "' is not valid JSON (" + e.what() + ")");
  }
  if (!config.is_object()) throw wfc::io_error("the config file '" + path + "' must hold one JSON object of flags");
  const auto given = [&](const std::string& flag) {
    for (std::size_t i = sub + 1; i < args.size(); ++i)
      if (args[i] == flag || args[i].rfind(flag + "=", 0) == 0) return true;
    return false;
  };
  std::vector<std::string> flags;
  for (const auto& [key, value] : config.items()) {
    std::string name = key;
    for (char& c : name) c = c == '_' ? '-' : c;
    if (name == "config") throw wfc::io_error("the config file '" + path + "' cannot name another config file");
    const std::string flag = "--" + name;
    if (value.is_boolean()) {
      if (given(flag) || given("--no-" + name)) continue;
      if (value.get<bool>()) flags.push_back(flag);
      else if (name == "bias") flags.push_back("--no-bias");
      continue;
    }
    if (given(flag)) continue;
    if (value.is_string()) flags.push_back(flag + "=" + value.get<std::string>());
    else if (value.is_number()) flags.push_back(flag + "=" + value.dump());
    else throw wfc::io_error("the config file '" + path + "': \"" + key + "\" must be a string, number or boolean, not " + value.dump());
  }
  args.insert(args.begin() + std::ptrdiff_t(sub + 1), flags.begin(), flags.end());
  return args;
}

}  // namespace wfc_cli
