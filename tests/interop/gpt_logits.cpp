// The C++ half of the numpy interop test (examples/read_checkpoint.py reads the checkpoint and must
// compute the same logits):
//   gpt_logits --make PATH [--rotary] [--bias] [--seed N] [--truncate BYTES]
//       saves a small GPT (block 16, width 32, 4 heads, 2 layers); --truncate then cuts the file
//       to its first BYTES bytes, or drops its last -BYTES bytes when negative (a corrupt
//       checkpoint for the reader to refuse)
//   gpt_logits --logits PATH --text TEXT --out JSON
//       loads the checkpoint and writes {"text", "positions", "backend", "logits": [T][vocab]}
// GPT-2's initialisation leaves attention nearly uniform, every bias 0 and every gain 1, so a
// reader that dropped a bias or turned the wrong features would still match to 1e-4; --make
// therefore widens the weights and draws the biases and gains, so that every part of the forward
// pass shows in the logits.
#include <wfc/wfc.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace {

#if defined(WFC_HAVE_CPU)
using backend = wfc::cpu;
constexpr const char* backend_name = "cpu";
#else
using backend = wfc::reference;
constexpr const char* backend_name = "reference";
#endif

// The tokenizer's alphabet: the characters of this text.
constexpr const char* alphabet = "The lighthouse keeper climbed: one step, then another.\nWhy? Nobody knew, and all said so!\n";

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

template <class Positions>
void make(const std::string& path, bool bias, std::uint64_t seed) {
  const wfc::char_tokenizer tokenizer = wfc::char_tokenizer::from_text(alphabet);
  wfc::gpt_config c;
  c.vocab = tokenizer.vocab_size();
  c.block = 16, c.width = 32, c.heads = 4, c.layers = 2, c.bias = bias;
  wfc::gpt<float, backend, Positions> model(c);
  model.initialise(seed);

  std::vector<float> p = wfc::to_host<backend>(wfc::as_const(model.parameters()));
  std::mt19937_64 bits(seed);
  const auto uniform = [&bits] { return float(double(bits() >> 11) * 0x1p-53 * 2 - 1); };  // [-1, 1), portable
  for (const auto& spec : model.layout().specs()) {
    float* values = p.data() + spec.offset;
    const bool is_bias = ends_with(spec.name, ".bias"), is_gain = spec.extents.size() == 1 && !is_bias;
    for (wfc::index_t i = 0; i < spec.size; ++i) {
      if (is_bias) values[i] = 0.3f * uniform();
      else if (is_gain) values[i] = 1 + 0.3f * uniform();  // LayerNorm gains
      else values[i] *= 10;                                  // matrices: 10× GPT-2's initial spread
    }
  }
  wfc::backend_memory<backend>::from_host(model.parameters().data(), p.data(), model.layout().size());
  wfc::save_checkpoint(path, model, tokenizer);
}

template <class Positions>
std::vector<std::vector<float>> logits_of(const wfc::checkpoint& c, const std::string& text) {
  wfc::gpt<float, backend, Positions> model(c.gpt());
  c.restore(model);
  const std::vector<wfc::token_id> ids = c.tokenizer().encode(text);
  const auto view = model.logits(ids, 1);
  const std::vector<float> flat = wfc::to_host<backend>(view);
  std::vector<std::vector<float>> rows;
  for (wfc::index_t r = 0; r < view.extent(0); ++r)
    rows.emplace_back(flat.begin() + r * view.extent(1), flat.begin() + (r + 1) * view.extent(1));
  return rows;
}

int usage() {
  std::cerr << "usage: gpt_logits --make PATH [--rotary] [--bias] [--seed N] [--truncate BYTES]\n"
               "       gpt_logits --logits PATH --text TEXT --out JSON\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string make_path, logits_path, text, out;
  bool rotary = false, bias = false;
  std::uint64_t seed = 1;
  constexpr long long no_truncation = std::numeric_limits<long long>::min();
  long long truncate = no_truncation;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw wfc::config_error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--make") make_path = value();
    else if (a == "--logits") logits_path = value();
    else if (a == "--text") text = value();
    else if (a == "--out") out = value();
    else if (a == "--seed") seed = std::stoull(value());
    else if (a == "--truncate") truncate = std::stoll(value());
    else if (a == "--rotary") rotary = true;
    else if (a == "--bias") bias = true;
    else return usage();
  }
  try {
    if (!make_path.empty()) {
      if (rotary) make<wfc::rotary_positions>(make_path, bias, seed);
      else make<wfc::learned_positions>(make_path, bias, seed);
      std::string note;
      if (truncate != no_truncation) {
        const auto size = std::filesystem::file_size(make_path);
        const auto keep = truncate >= 0 ? std::uintmax_t(truncate) : size - std::min<std::uintmax_t>(size, std::uintmax_t(-truncate));
        std::filesystem::resize_file(make_path, keep);
        note = " (truncated from " + std::to_string(size) + " to " + std::to_string(keep) + " bytes)";
      }
      std::cout << "wrote " << make_path << note << "\n";
      return 0;
    }
    if (logits_path.empty() || out.empty()) return usage();
    const wfc::checkpoint c = wfc::checkpoint::load(logits_path);
    if (c.kind() != "gpt") throw wfc::config_error(logits_path + " holds a " + c.kind() + " model, not a gpt");
    const std::string positions = c.policy("positions");
    const auto rows = positions == "rotary" ? logits_of<wfc::rotary_positions>(c, text) : logits_of<wfc::learned_positions>(c, text);
    const nlohmann::json j = {{"text", text}, {"positions", positions}, {"backend", backend_name}, {"logits", rows}};
    std::ofstream file(out);
    file << j.dump() << "\n";
    if (!file) throw wfc::io_error("cannot write '" + out + "'");
    std::cout << "wrote the logits [" << rows.size() << ", " << (rows.empty() ? 0 : rows[0].size()) << "] of \"" << text << "\" to " << out
              << " (" << backend_name << " backend)\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
