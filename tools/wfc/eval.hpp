#pragma once
// `wfc eval`: a checkpoint's loss on a text's validation split (or training split): for a GPT the
// mean cross-entropy; for a WFC model the NLL of each slot offset and the chain NLL of
// first-future collapse. Printed as text, or as one JSON object with --json.
#include <cstdio>
#include <string>

#include "models.hpp"

namespace wfc_cli {

struct eval_options {
  std::string checkpoint, data, split = "validation";
  std::int64_t batches = 200;
  wfc::index_t batch = 0, block = 0;  // 0: the checkpoint's training settings (else 12 and the model's window)
  std::uint64_t seed = 1337;
  bool json = false;
  int threads = 0;

  void add(CLI::App& app) {
    app.add_option("checkpoint,--checkpoint", checkpoint, "a checkpoint written by `wfc train`")->required();
    app.add_option("data,--data", data, "the text to evaluate on (UTF-8; split 90/10 as in training)")->required();
    app.add_option("--split", split, "validation (the last 10%) or train");
    app.add_option("--batches", batches, "batches to average over");
    app.add_option("--batch", batch, "sequences per batch (0: as in training)");
    app.add_option("--block", block, "tokens per sequence (0: as in training)");
    app.add_option("--seed", seed, "which batches are drawn");
    app.add_flag("--json", json, "print one JSON object instead of text");
    app.add_option("--threads", threads, "OpenMP threads (0: OpenMP's default)");
  }
};

template <class Model>
int eval_with(const eval_options& o, const wfc::checkpoint& c, const wfc::text_dataset& data, const wfc::trainer_settings& s) {
  using namespace wfc;
  Model model = model_from<Model>(c);
  c.restore(model);
  const split which = o.split == "train" ? split::train : split::validation;
  nlohmann::json result = {{"checkpoint", o.checkpoint}, {"model", describe_model(model)}, {"split", o.split},
                           {"batches", s.eval_batches}, {"batch", s.batch},             {"block", s.block}};
  if constexpr (is_gpt<Model>) {
    result["loss"] = evaluate(model, data, which, s);
    if (!o.json) std::printf("%s loss: %.4f nats/char (%lld batches of %lld×%lld)\n", o.split.c_str(), result["loss"].get<double>(),
                             static_cast<long long>(s.eval_batches), static_cast<long long>(s.batch), static_cast<long long>(s.block));
  } else {
    const auto offsets = evaluate_offsets(model, data, which, s);
    const index_t K = model.objective().steps;
    const auto chain = chain_nll(model, data, which, s, solvers::fixed_steps{K, model.solver().damping}, warm_start::none);
    result["first_slot_nll"] = offsets.first_slot;
    result["mean_offset_nll"] = offsets.mean;
    result["offset_nll"] = offsets.per_offset;
    result["chain_nll"] = chain.nll;
    if (!o.json) {
      std::printf("%s NLL (nats/char), cold start, K = %lld: first slot %.4f, mean over offsets %.4f\nper offset:", o.split.c_str(),
                  static_cast<long long>(K), offsets.first_slot, offsets.mean);
      for (double v : offsets.per_offset) std::printf(" %.4f", v);
      std::printf("\nchain NLL (first-future collapse, teacher forcing, cold starts): %.4f\n", chain.nll);
    }
  }
  if (o.json) std::printf("%s\n", result.dump().c_str());
  return 0;
}

inline int run_eval(const eval_options& o) {
  using namespace wfc;
  wfc_examples::set_threads(o.threads);
  if (o.split != "validation" && o.split != "train") throw config_error("--split must be validation or train, got '" + o.split + "'");
  if (o.batches <= 0 || o.batch < 0 || o.block < 0)
    throw config_error("--batches must be positive, and --batch and --block 0 (as in training) or positive");
  const checkpoint c = checkpoint::load(o.checkpoint);
  trainer_settings s;
  if (c.has_training()) s = c.settings();
  else s.block = c.kind() == "gpt" ? c.gpt().block : c.wfc().window;
  if (o.batch > 0) s.batch = o.batch;
  if (o.block > 0) s.block = o.block;
  s.eval_batches = o.batches;
  s.seed = o.seed;
  s.validate();
  // Windows the model can read, long enough that every slot offset is scored in every pass (a
  // pinned past cuts its slots into blocks of F at every offset): checked before reading the text.
  const bool gpt = c.kind() == "gpt";
  const index_t window = gpt ? c.gpt().block : c.wfc().window;
  if (s.block > window)
    throw config_error("--block " + std::to_string(s.block) + " exceeds the model's " + (gpt ? "block" : "window") + " of " +
                       std::to_string(window) + " tokens");
  if (!gpt) {
    const index_t F = c.wfc().future;
    const bool pinned = c.policy("past") == "pinned";
    const index_t least = pinned ? 2 * F - 1 : F;
    if (s.block < least) {
      const std::string why = pinned ? "a pinned past needs at least 2F − 1 = " : "a drifting past needs at least F = ";
      const std::string model =
          window < least ? " (this model's window, " + std::to_string(window) + ", is shorter: it cannot be scored by offset)" : "";
      throw config_error("windows of " + std::to_string(s.block) + " tokens (--block, else the training block) cannot score " +
                         "every slot offset of F = " + std::to_string(F) + ": " + why + std::to_string(least) + model);
    }
  }
  const std::string text = read_text_file(o.data);
  if (text.empty()) throw io_error("'" + o.data + "' holds no text (an empty file, or a directory?)");
  const text_dataset data(c.tokenizer().encode(text));  // a character the model never saw is an error naming it
  return with_model_type(model_choice::of(c), [&](auto tag) { return eval_with<typename decltype(tag)::type>(o, c, data, s); });
}

}  // namespace wfc_cli
