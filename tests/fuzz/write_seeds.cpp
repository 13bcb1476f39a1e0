// Writes the fuzzers' seed corpora: valid checkpoints of tiny models (each kind and policy the wfc
// program builds, one with a training state) and a few texts for the tokenizer, so that the
// fuzzers start from inputs that reach past the first checks; and, when given a third directory,
// the inputs of bugs the fuzzers found (or that they cannot reach within their length limit), for
// fuzz_checkpoint to run once each.
//
//   write_seeds <checkpoint seeds dir> <tokenizer seeds dir> [<checkpoint regressions dir>]
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>

#include "wfc/backend/reference.hpp"
#include "wfc/io/checkpoint.hpp"
#include "wfc/model/gpt.hpp"
#include "wfc/model/wfc_model.hpp"
#include "wfc/train/optimizer.hpp"

namespace {

using backend = wfc::reference;

const wfc::char_tokenizer& tokenizer() {
  static const wfc::char_tokenizer t = wfc::char_tokenizer::from_text("ab cdé.\n");  // 8 characters, one of two bytes
  return t;
}

wfc::gpt_config tiny_gpt() {
  wfc::gpt_config c;
  c.vocab = tokenizer().vocab_size();
  c.block = 8, c.width = 8, c.heads = 2, c.layers = 1;
  return c;
}

wfc::wfc_config tiny_wfc() {
  wfc::wfc_config c;
  c.vocab = tokenizer().vocab_size();
  c.width = 8, c.heads = 2, c.layers = 1, c.future = 2, c.window = 8;
  return c;
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out) throw wfc::io_error("cannot write '" + path + "'");
}

// A safetensors file of the given header text, and no data.
std::string safetensors_of(const std::string& header) {
  const std::uint64_t length = header.size();
  std::string out(8, '\0');
  std::memcpy(out.data(), &length, 8);
  return out + header;
}

std::string nested_arrays(int depth) { return std::string(std::size_t(depth), '[') + std::string(std::size_t(depth), ']'); }

// The metadata of a checkpoint whose model is described by `model` (JSON text), with one character.
wfc::safetensors::builder checkpoint_metadata(const std::string& model) {
  wfc::safetensors::builder b;
  b.set_metadata("format", wfc::checkpoint_format);
  b.set_metadata("format_version", wfc::checkpoint_format_version);
  b.set_metadata("wfc_version", wfc::version_string);
  b.set_metadata("model", model);
  b.set_metadata("tokenizer", R"({"kind":"char","vocabulary":[97]})");
  return b;
}

void write_regressions(const std::string& dir) {
  // A WFC model without "objective": nlohmann's out_of_range escaped checkpoint::objective().
  write_text(dir + "/wfc_without_objective.safetensors",
             checkpoint_metadata(R"({"kind":"wfc","config":{"vocab":1,"width":2,"heads":1,"layers":1,"future":1,"window":1,)"
                                 R"("bias":false},"positions":"learned","past":"pinned","future_mask":"bidirectional"})")
                 .serialize());
  // The same for a run's settings: a "training" without "settings".
  {
    auto b = checkpoint_metadata(R"({"kind":"gpt","config":{"vocab":1,"block":1,"width":2,"heads":1,"layers":1,"bias":false},)"
                                 R"("positions":"rotary"})");
    b.set_metadata("training", R"({"iteration":1,"optimizer_steps":1})");
    write_text(dir + "/training_without_settings.safetensors", b.serialize());
  }
  // JSON nested 100000 deep where an error message dumps it: dump() recursed off the stack.
  write_text(dir + "/deep_shape.safetensors",
             safetensors_of(R"({"t":{"dtype":"F32","shape":)" + nested_arrays(100000) + R"(,"data_offsets":[0,0]}})"));
  write_text(dir + "/deep_metadata.safetensors", checkpoint_metadata(R"({"kind":)" + nested_arrays(100000) + "}").serialize());
  std::printf("wrote the regression inputs in %s\n", dir.c_str());
}

template <class Model>
void save(const std::string& path, Model&& model) {
  model.initialise(7);
  wfc::save_checkpoint(path, model, tokenizer());
  (void)wfc::checkpoint::load(path);  // a seed the loader refuses would be no seed
  std::printf("wrote %s\n", path.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 && argc != 4) {
    std::fprintf(stderr, "usage: %s <checkpoint seeds dir> <tokenizer seeds dir> [<checkpoint regressions dir>]\n", argv[0]);
    return 2;
  }
  const std::string checkpoints = argv[1], texts = argv[2];
  try {
    using namespace wfc;
    for (int i = 1; i < argc; ++i) std::filesystem::create_directories(argv[i]);
    save(checkpoints + "/gpt_learned.safetensors", gpt<float, backend, learned_positions>(tiny_gpt()));
    save(checkpoints + "/gpt_rotary.safetensors", gpt<float, backend, rotary_positions>(tiny_gpt()));
    save(checkpoints + "/wfc_pinned_learned.safetensors",
         wfc_model<float, backend, past::pinned, masks::bidirectional, learned_positions>(tiny_wfc()));
    save(checkpoints + "/wfc_drifting_rotary.safetensors",
         wfc_model<float, backend, past::drifting, masks::bidirectional, rotary_positions>(tiny_wfc()));

    // A run's checkpoint: the optimiser's moments, the settings and the iteration as well.
    gpt<float, backend, learned_positions> model(tiny_gpt());
    model.initialise(3);
    trainer_settings settings;
    settings.iterations = 4, settings.batch = 2, settings.block = 8;
    adamw_optimizer<float, backend> optimizer(model.layout(), settings.adamw);
    const std::string run = checkpoints + "/gpt_training.safetensors";
    save_checkpoint(run, model, tokenizer(), optimizer, 2, settings);
    (void)checkpoint::load(run);
    std::printf("wrote %s\n", run.c_str());

    // Texts: a training text, a NUL, a text to encode (see fuzz_tokenizer.cpp).
    write_text(texts + "/ascii", std::string("the quick brown fox jumps over the lazy dog.\n") + '\0' + "a lazy fox");
    write_text(texts + "/multibyte", std::string("h\xC3\xA9llo w\xC3\xB6rld \xE2\x80\x94 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x8E\x89") + '\0' +
                                         "w\xC3\xB6rld \xF0\x9F\x8E\x89 \xE6\x97\xA5");
    write_text(texts + "/unknown", std::string("abc") + '\0' + "abcd");
    write_text(texts + "/no_separator", "only a training text, encoded with itself");
    std::printf("wrote the tokenizer seeds in %s\n", texts.c_str());
    if (argc == 4) write_regressions(argv[3]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "write_seeds: %s\n", e.what());
    return 1;
  }
  return 0;
}
