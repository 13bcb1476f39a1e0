#pragma once
// `wfc train`: trains a GPT or a WFC model on a text file, with periodic atomic checkpoints, a
// progress bar, metrics as CSV or JSON lines, and --resume to continue a run exactly where its
// last checkpoint left it. Everything that can be checked is checked before any work starts.
#include <cstdio>
#include <string>
#include <vector>

#include "metrics.hpp"
#include "models.hpp"

namespace wfc_cli {

struct train_options {
  model_choice choice;
  wfc::index_t layers = 4, heads = 4, width = 128, future = 4;
  bool bias = false;
  wfc::wfc_objective objective;
  double damping = 1.0;
  wfc::trainer_settings train;
  std::string data, out = "model.safetensors", resume, metrics;
  std::int64_t checkpoint_every = 0;  // 0: at every evaluation
  std::int64_t stop_at = 0;           // 0: train to the end
  int threads = 0;
  std::vector<CLI::Option*> fixed_by_checkpoint;  // flags a resumed run may not change

  void add(CLI::App& app) {
    app.add_option("data,--data", data, "the training text (UTF-8); the last 10% validates")->required();
    app.add_option("--out", out, "where checkpoints go (written atomically: the previous one survives a crash)");
    app.add_option("--resume", resume, "continue the run saved in this checkpoint (its model, optimiser state, settings and position)");
    app.add_option("--checkpoint-every", checkpoint_every, "save every this many iterations (0: at every evaluation), and after the last");
    app.add_option("--stop-at", stop_at, "save and stop after this iteration (the schedule still spans --iterations); --resume continues");
    app.add_option("--metrics", metrics, "write every iteration's loss, rate and timing to this .csv or .jsonl file");
    app.add_option("--threads", threads, "OpenMP threads (0: OpenMP's default)");
    auto fixed = [&](CLI::Option* o) { fixed_by_checkpoint.push_back(o); };
    fixed(app.add_option("--model", choice.kind, "gpt or wfc"));
    fixed(app.add_option("--positions", choice.positions, "learned or rotary"));
    fixed(app.add_option("--past", choice.past, "wfc: pinned (cached keys/values) or drifting"));
    fixed(app.add_option("--layers", layers, "transformer blocks"));
    fixed(app.add_option("--heads", heads, "attention heads (must divide the width)"));
    fixed(app.add_option("--width", width, "embedding width d"));
    fixed(app.add_flag("--bias,!--no-bias", bias, "biases in the linear layers and norms (GPT-2); nanoGPT's default has none"));
    fixed(app.add_option("--future", future, "wfc: F, future slots (at most the block)"));
    fixed(app.add_option("--steps", objective.steps, "wfc: K, solver steps unrolled in training"));
    fixed(app.add_flag("--random-steps", objective.random_steps, "wfc: draw K from 1…K per batch"));
    fixed(app.add_option("--damping", damping, "wfc: η, each step moves the slots by η·(S(x) − x)"));
    fixed(app.add_option("--reveal", objective.reveal, "wfc: rate of slots revealed (pinned to their target, not scored)"));
    fixed(app.add_option("--partial", objective.partial, "wfc: rate of slots partially collapsed toward their target"));
    fixed(app.add_option("--deep-supervision", objective.deep_supervision, "wfc: weight of the earlier steps' losses"));
    fixed(app.add_option("--velocity-penalty", objective.velocity_penalty, "wfc: weight of the last step's mean squared update"));
    wfc::trainer_settings& t = train;
    fixed(app.add_option("--block", t.block, "context length (tokens per sequence; the WFC window)"));
    fixed(app.add_option("--batch", t.batch, "sequences per micro-batch"));
    fixed(app.add_option("--accumulation", t.accumulation, "micro-batches per optimiser step"));
    fixed(app.add_option("--iterations", t.iterations, "optimiser steps"));
    fixed(app.add_option("--lr", t.lr, "peak learning rate"));
    fixed(app.add_option("--min-lr", t.min_lr, "learning rate at the end of the cosine decay"));
    fixed(app.add_option("--warmup", t.warmup, "linear warm-up iterations"));
    fixed(app.add_option("--weight-decay", t.adamw.weight_decay, "AdamW weight decay (matrices only)"));
    fixed(app.add_option("--beta1", t.adamw.beta1, "AdamW β1"));
    fixed(app.add_option("--beta2", t.adamw.beta2, "AdamW β2"));
    fixed(app.add_option("--eps", t.adamw.eps, "AdamW ε"));
    fixed(app.add_option("--clip", t.adamw.clip, "largest global gradient norm (0: no clipping)"));
    fixed(app.add_option("--eval-interval", t.eval_interval, "evaluate every this many iterations (and after the last)"));
    fixed(app.add_option("--eval-batches", t.eval_batches, "batches per split and evaluation"));
    fixed(app.add_option("--seed", t.seed, "initialisation, batch and corruption seed"));
  }

  wfc::gpt_config gpt(wfc::index_t vocab) const {
    wfc::gpt_config c;
    c.vocab = vocab, c.block = train.block, c.width = width, c.heads = heads, c.layers = layers, c.bias = bias;
    return c;
  }
  wfc::wfc_config wfc(wfc::index_t vocab) const {
    wfc::wfc_config c;
    c.vocab = vocab, c.width = width, c.heads = heads, c.layers = layers, c.future = future, c.window = train.block, c.bias = bias;
    return c;
  }
  wfc::wfc_objective wfc_objective() const {
    wfc::wfc_objective o = objective;
    o.seed = train.seed;
    return o;
  }

  // Every setting, before any data is read: a bad flag costs nothing.
  void validate() const {
    if (stop_at < 0) throw wfc::config_error("--stop-at must be 0 (train to the end) or positive");
    if (checkpoint_every < 0) throw wfc::config_error("--checkpoint-every must be 0 (at evaluations) or positive");
    if (out.empty()) throw wfc::config_error("--out must name a file");
    if (!resume.empty()) {
      for (const CLI::Option* o : fixed_by_checkpoint)
        if (o->count() > 0)
          throw wfc::config_error(o->get_name() + " cannot change when resuming: the checkpoint fixes the model and the run's settings");
      return;
    }
    choice.validate();
    train.validate();
    if (choice.kind == "gpt") {
      gpt(1).validate();
    } else {
      wfc(1).validate();
      wfc_objective().validate();
      if (!(damping > 0 && damping <= 1)) throw wfc::config_error("--damping must be in (0, 1], got " + std::to_string(damping));
    }
    if (choice.positions == "rotary" && (width / heads) % 2 != 0)
      throw wfc::config_error("rotary positions turn pairs of features, so the head width (" + std::to_string(width / heads) +
                              ") must be even");
  }
};

template <class Model>
int train_model(const train_options& o, const wfc::text_dataset& data, const wfc::char_tokenizer& tok, const wfc::checkpoint* resumed,
                const wfc::trainer_settings& settings) {
  using namespace wfc;
  std::optional<Model> model;
  if (resumed) {
    model.emplace(model_from<Model>(*resumed));
  } else if constexpr (is_gpt<Model>) {
    model.emplace(o.gpt(tok.vocab_size()));
  } else {
    model.emplace(o.wfc(tok.vocab_size()), o.wfc_objective(), solvers::fixed_steps{o.objective.steps, o.damping});
  }
  model->initialise(settings.seed);
  adamw_optimizer<float, backend> optimizer(model->layout(), settings.adamw);
  const std::int64_t start = resumed ? resumed->restore_training(*model, optimizer) : 0;
  std::printf("model: %s: %.2fM parameters; %s backend%s\n", describe_model(*model).dump().c_str(), double(model->layout().size()) / 1e6,
              backend::name, wfc_examples::thread_note<backend>().c_str());
  std::printf("training: iterations %lld to %lld of %lld×%lld tokens, lr %g → %g, warm-up %lld; checkpoints to %s\n",
              static_cast<long long>(start + 1), static_cast<long long>(settings.iterations), static_cast<long long>(settings.batch),
              static_cast<long long>(settings.block), settings.lr, settings.min_lr, static_cast<long long>(settings.warmup), o.out.c_str());
  std::fflush(stdout);

  metrics_file metrics(o.metrics, resumed != nullptr);
  wfc_examples::progress bar;
  std::int64_t saved_at = start;
  const std::int64_t every = o.checkpoint_every > 0 ? o.checkpoint_every : settings.eval_interval;
  const auto save = [&](std::int64_t iteration) {
    save_checkpoint(o.out, *model, tok, optimizer, iteration, settings);
    saved_at = iteration;
  };
  try {
    const std::int64_t stop = o.stop_at > 0 ? std::min(o.stop_at, settings.iterations) : settings.iterations;
    if (stop < start)
      throw config_error("--stop-at " + std::to_string(stop) + " lies before the checkpoint's iteration " + std::to_string(start));
    const training_summary s = train(*model, data, settings, optimizer, training_range(start, stop), [&](const training_record& r) {
      bar(r);
      metrics.write(r);
      if (r.iteration % every == 0 || r.iteration == stop) save(r.iteration);
    });
    if (start == stop) save(start);
    if (stop < settings.iterations)
      std::printf("stopped after iteration %lld of %lld (%.1f ms/iter); saved %s: continue with --resume %s\n", static_cast<long long>(stop),
                  static_cast<long long>(settings.iterations), s.mean_ms, o.out.c_str(), o.out.c_str());
    else
      std::printf("done: val loss %.4f (train %.4f), %.1f ms/iter, %s; saved %s (iteration %lld)\n", s.val_loss, s.train_loss,
                  s.mean_ms, wfc_examples::duration(s.seconds).c_str(), o.out.c_str(), static_cast<long long>(saved_at));
  } catch (const value_error& e) {  // a diverged run: the last checkpoint written stays as it was
    throw value_error(std::string(e.what()) + "; the last good checkpoint is " +
                      (saved_at > 0 || resumed ? "'" + o.out + "' (iteration " + std::to_string(saved_at) + ")" : "none (nothing was saved yet)"));
  }
  return 0;
}

inline int run_train(train_options& o) {
  using namespace wfc;
  o.validate();
  wfc_examples::set_threads(o.threads);
  std::optional<checkpoint> resumed;
  model_choice choice = o.choice;
  trainer_settings settings = o.train;
  if (!o.resume.empty()) {
    resumed.emplace(checkpoint::load(o.resume));
    if (!resumed->has_training())
      throw io_error(o.resume + " holds no training state (saved without an optimiser); it cannot be resumed");
    choice = model_choice::of(*resumed);
    settings = resumed->settings();
  }
  const std::string text = read_text_file(o.data);
  if (text.empty()) throw io_error("'" + o.data + "' holds no text (an empty file, or a directory?)");
  const char_tokenizer tok = resumed ? resumed->tokenizer() : char_tokenizer::from_text(text);
  const text_dataset data(tok.encode(text));  // resuming: a character the checkpoint's vocabulary lacks is an error naming it
  std::vector<token_id> x, y;
  for (split s : {split::train, split::validation}) data.sample(s, 1, settings.block, training_batches(settings), 0, x, y);
  std::printf("data: %s: %lld train and %lld validation tokens, %lld distinct\n", o.data.c_str(),
              static_cast<long long>(data.size(split::train)), static_cast<long long>(data.size(split::validation)),
              static_cast<long long>(tok.vocab_size()));
  return with_model_type(choice, [&](auto tag) {
    using Model = typename decltype(tag)::type;
    return train_model<Model>(o, data, tok, resumed ? &*resumed : nullptr, settings);
  });
}

}  // namespace wfc_cli
