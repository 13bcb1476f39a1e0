// libFuzzer target: the checkpoint loader (safetensors container, metadata JSON, model description,
// tokenizer, tensors) on arbitrary bytes. Every bad input must end in a wfc::error; anything else
// (a crash, a sanitizer report, another exception escaping, a hang) is a bug.
//
// When the bytes parse, the model of the checkpoint's kind is built on the reference backend in
// float, as the wfc program does (tools/wfc/models.hpp), and restored: but only when its
// configuration is small, so that an input cannot make the fuzzer allocate gigabytes.
#include <cstddef>
#include <cstdint>
#include <string>

#include "wfc/backend/reference.hpp"
#include "wfc/io/checkpoint.hpp"
#include "wfc/model/gpt.hpp"
#include "wfc/model/wfc_model.hpp"
#include "wfc/train/optimizer.hpp"

namespace {

using wfc::index_t;
using backend = wfc::reference;

// Largest configuration the target builds: a few MB of parameters at most.
constexpr index_t max_vocab = 1024, max_width = 64, max_layers = 4, max_positions = 256, max_steps = 64;

bool small(index_t vocab, index_t width, index_t layers, index_t positions) {
  return vocab <= max_vocab && width <= max_width && layers <= max_layers && positions <= max_positions;
}

// The parameters; for a run, first its settings, then parameters and optimiser state together,
// as `wfc train --resume` reads them.
template <class Model>
void restore_into(const wfc::checkpoint& c, Model& model) {
  if (!c.has_training()) return c.restore(model);
  const wfc::trainer_settings s = c.settings();
  (void)c.iteration();
  wfc::adamw_optimizer<float, backend> optimizer(model.layout(), s.adamw);
  c.restore_training(model, optimizer);
}

template <class Positions>
void gpt_from(const wfc::checkpoint& c) {
  const wfc::gpt_config config = c.gpt();
  if (!small(config.vocab, config.width, config.layers, config.block)) return;
  wfc::gpt<float, backend, Positions> model(config);
  restore_into(c, model);
}

template <class Past, class Positions>
void wfc_from(const wfc::checkpoint& c) {
  const wfc::wfc_config config = c.wfc();
  if (!small(config.vocab, config.width, config.layers, config.window)) return;
  const wfc::wfc_objective objective = c.objective();
  if (objective.steps > max_steps) return;
  wfc::wfc_model<float, backend, Past, wfc::masks::bidirectional, Positions> model(
      config, objective, wfc::solvers::fixed_steps{objective.steps, c.damping()});
  restore_into(c, model);
}

void load(const std::string& bytes) {
  const wfc::checkpoint c = wfc::checkpoint::parse(bytes, "fuzz input");
  (void)c.wfc_version();
  (void)c.tokenizer().vocab_size();
  const std::string positions = c.policy("positions");
  if (positions != "learned" && positions != "rotary") return;  // the wfc program refuses these by name
  const bool rotary = positions == "rotary";
  if (c.kind() == "gpt") {
    if (rotary) gpt_from<wfc::rotary_positions>(c);
    else gpt_from<wfc::learned_positions>(c);
    return;
  }
  // A future mask other than bidirectional reaches restore(), which must refuse it.
  const std::string past = c.policy("past");
  (void)c.policy("future_mask");
  if (past == "pinned") {
    if (rotary) wfc_from<wfc::past::pinned, wfc::rotary_positions>(c);
    else wfc_from<wfc::past::pinned, wfc::learned_positions>(c);
  } else if (past == "drifting") {
    if (rotary) wfc_from<wfc::past::drifting, wfc::rotary_positions>(c);
    else wfc_from<wfc::past::drifting, wfc::learned_positions>(c);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    load(std::string(reinterpret_cast<const char*>(data), size));
  } catch (const wfc::error&) {
    // The loader refused the input with a message: what it must do.
  }
  return 0;
}
