#pragma once
// `wfc train`: trains a GPT or a WFC model on a text file, with periodic atomic checkpoints, a
// progress bar, metrics as CSV or JSON lines, and --resume to continue a run exactly where its
// last checkpoint left it. Everything that can be checked is checked before any work starts: the
// flags, every path (the checkpoint's folder is written to, the metrics file opened, the resumed
// checkpoint loaded), an existing checkpoint that --out would replace, and on --resume whether the
// text is the one the run was trained on. SIGTERM, SIGINT or SIGUSR1 finish the step, save, and
// exit with status 75 (exit_stopped): resume me.
//
// Under `mpirun -np N` (a wfc built with MPI) the run is data-parallel (wfc/mpi/process_group.hpp):
// every rank reads the text and the checkpoint, trains on its rows of each batch, and all take the
// same steps; rank 0 alone writes the checkpoints and the metrics and prints. Every check and
// every error is the group's: a rank that fails stops them all with its message.
#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

#include "metrics.hpp"
#include "models.hpp"
#include "wfc/io/run_lock.hpp"

namespace wfc_cli {

// The exit status of a run a signal stopped after saving: sysexits' EX_TEMPFAIL, "try again" (0 is
// success, 1 an error, 128 + N a second signal N that ended it at once).
inline constexpr int exit_stopped = 75;

struct train_options {
  model_choice choice;
  struct {
    wfc::index_t layers = 4, heads = 4, width = 128;
    bool bias = false;
  } architecture;
  wfc::index_t future = 4;
  wfc::wfc_objective objective;
  double damping = 1.0;
  wfc::trainer_settings train;
  std::string data, out = "model.safetensors", resume, metrics;
  bool overwrite = false, allow_other_data = false;
  std::vector<std::string> command;  // the command line, for the checkpoint's provenance
  CLI::Option* out_option = nullptr;
  std::int64_t checkpoint_every = 0;  // 0: at every evaluation
  std::int64_t stop_at = 0;           // 0: train to the end
  int threads = 0;
  std::vector<CLI::Option*> fixed_by_checkpoint;  // flags a resumed run may not change

  void add(CLI::App& app) {
    app.add_option("data,--data", data, "the training text (UTF-8); the last 10% validates")->required();
    out_option = app.add_option("--out", out, "where checkpoints go (written atomically: the previous one survives a crash); "
                                              "with --resume, the resumed file unless given");
    app.add_flag("--overwrite", overwrite, "let --out replace an existing checkpoint (refused without it)");
    app.add_option("--resume", resume, "continue the run saved in this checkpoint (its model, optimiser state, settings and position)");
    app.add_flag("--allow-other-data", allow_other_data,
                 "let --resume continue on a text other than the one the checkpoint was trained on (fine-tuning on purpose)");
    app.add_option("--checkpoint-every", checkpoint_every, "save every this many iterations (0: at every evaluation), and after the last");
    app.add_option("--stop-at", stop_at, "save and stop after this iteration (the schedule still spans --iterations); --resume continues");
    app.add_option("--metrics", metrics, "write every iteration's loss, rate and timing to this .csv or .jsonl file");
    app.add_option("--threads", threads, "OpenMP threads (0: OpenMP's default)");
    // Every flag from here on shapes the model or the run: a resumed run takes them from the checkpoint.
    const std::size_t shared = app.get_options().size();
    app.add_option("--model", choice.kind, "gpt or wfc");
    app.add_option("--positions", choice.positions, "learned or rotary");
    app.add_option("--past", choice.past, "wfc: pinned (cached keys/values) or drifting");
    wfc_examples::add_model_options(app, architecture);
    app.add_option("--future", future, "wfc: F, future slots (at most the block)");
    app.add_option("--steps", objective.steps, "wfc: K, solver steps unrolled in training");
    app.add_flag("--random-steps", objective.random_steps, "wfc: draw K from 1…K per batch");
    app.add_option("--mean-steps", objective.mean_steps,
                   "wfc: draw K per batch from a log-normal Poisson of this mean (> 1), capped at --steps (0: off)");
    app.add_option("--backprop-steps", objective.backprop_steps, "wfc: backpropagate through the last this many steps only (0: all)");
    app.add_option("--damping", damping, "wfc: η, each step moves the slots by η·(S(x) − x)");
    app.add_option("--reveal", objective.reveal, "wfc: rate of slots revealed (pinned to their target, not scored)");
    app.add_flag("--any-order", objective.any_order,
                 "wfc: each block reveals a share of its slots drawn uniformly from [0, 1) (masked diffusion's schedule) instead of --reveal");
    app.add_flag("--bound-weight", objective.bound_weight,
                 "wfc, with --any-order: weight scored slots by n/(n − revealed), so the loss is the any-order bound on the NLL");
    app.add_option("--partial", objective.partial, "wfc: rate of slots partially collapsed toward their target");
    app.add_option("--deep-supervision", objective.deep_supervision, "wfc: weight of the earlier steps' losses");
    app.add_option("--velocity-penalty", objective.velocity_penalty, "wfc: weight of the last step's mean squared update");
    app.add_option("--clean-loss", objective.clean_loss,
                   "wfc, pinned past: weight of a next-token loss on the clean stream's own states (the GPT's loss on the past)");
    app.add_option("--carry", objective.carry,
                   "wfc: rate of batches whose slots start from a first solve one token earlier, as generation's warm starts do "
                   "(rolling training; pinned past)");
    app.add_option("--carry-slides", objective.carry_slides,
                   "wfc: solves a carried slot lives through before the scored one (F − 1: its whole life in the window)");
    app.add_flag("--carry-beliefs", objective.carry_beliefs, "wfc: carried slots start from their beliefs' embeddings, not their states");
    wfc_examples::add_trainer_options(app, train);
    app.add_option("--eps", train.adamw.eps, "AdamW ε");
    const auto all = app.get_options();
    fixed_by_checkpoint.assign(all.begin() + std::ptrdiff_t(shared), all.end());
  }

  wfc::gpt_config gpt(wfc::index_t vocab) const {
    wfc::gpt_config c;
    c.vocab = vocab, c.block = train.block, c.width = architecture.width, c.heads = architecture.heads, c.layers = architecture.layers;
    c.bias = architecture.bias;
    return c;
  }
  wfc::wfc_config wfc(wfc::index_t vocab) const {
    wfc::wfc_config c;
    c.vocab = vocab, c.width = architecture.width, c.heads = architecture.heads, c.layers = architecture.layers, c.future = future;
    c.window = train.block, c.bias = architecture.bias;
    return c;
  }
  wfc::wfc_objective wfc_objective() const {
    wfc::wfc_objective o = objective;
    o.seed = train.seed;
    return o;
  }

  // Every setting, before any data is read: a bad flag costs nothing.
  void validate() {
    if (!resume.empty() && out_option != nullptr && out_option->count() == 0) out = resume;  // a resumed run saves where it was
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
      wfc_examples::validate_objective(wfc_objective());
      if (!(damping > 0 && damping <= 1)) throw wfc::config_error("--damping must be in (0, 1], got " + std::to_string(damping));
      if (objective.carry > 0 && choice.past != "pinned")
        throw wfc::config_error("--carry needs --past pinned: a drifting past recomputes its whole window at every solve");
      if (objective.clean_loss > 0 && choice.past != "pinned")
        throw wfc::config_error("--clean-loss needs --past pinned: a drifting past has no clean stream to train");
      if (objective.carry > 0 && objective.carry_slides > future - 1)
        throw wfc::config_error("--carry-slides " + std::to_string(objective.carry_slides) + ": a slot lives F − 1 = " +
                                std::to_string(future - 1) + " slides in the window");
      if (2 * future > train.block)  // the generator's rule: what `wfc generate` could not use is refused now
        throw wfc::config_error("--future " + std::to_string(future) + " needs a --block of at least 2·F = " + std::to_string(2 * future) +
                                ", got " + std::to_string(train.block) + ": `wfc generate` keeps F slots beside at least F past characters");
    }
    const wfc::index_t head_width = architecture.width / architecture.heads;
    if (choice.positions == "rotary" && head_width % 2 != 0)
      throw wfc::config_error("rotary positions turn pairs of features, so the head width (" + std::to_string(head_width) +
                              ") must be even");
  }

  // Every path, before the text is read: the checkpoint can be written, and would not replace
  // another run's by accident.
  void check_paths() const {
    wfc::check_writable(out, "--out");
    if (wfc::kind_of_path(out) == wfc::path_kind::file && out != resume && !overwrite)
      throw wfc::config_error("--out '" + out + "' exists already (a model trained earlier?): continue that run with --resume " + out +
                              ", choose another --out, or pass --overwrite to replace it");
    if (!metrics.empty()) wfc::check_writable(metrics, "--metrics");
  }
};

// Where a run's weights came from, saved with each checkpoint and printed by `wfc info`.
struct provenance {
  nlohmann::json earlier;  // the resumed checkpoint's, if any
  std::vector<std::string> command;
  std::string data_path;
  wfc::data_fingerprint data;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();

  nlohmann::json at(std::int64_t iteration) const {
    const double before = earlier.is_object() && earlier.contains("wall_seconds") && earlier["wall_seconds"].is_number()
                              ? earlier["wall_seconds"].get<double>()
                              : 0.0;
    const double now = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    nlohmann::json data_json = data.to_json();
    data_json["path"] = data_path;
    nlohmann::json p = {{"wfc_version", wfc::version_string}, {"command", command},          {"data", data_json},
                        {"iterations", iteration},          {"wall_seconds", before + now}, {"saved_utc", utc_now()}};
    if (earlier.is_object() && earlier.contains("command")) {  // a flat list: many resumes nest no deeper
      nlohmann::json history = earlier.contains("earlier_commands") ? earlier["earlier_commands"] : nlohmann::json::array();
      history.push_back(earlier["command"]);
      p["earlier_commands"] = history;
    }
    return p;
  }

  static std::string utc_now() {
    const std::time_t t = std::time(nullptr);
    std::tm parts{};
    gmtime_r(&t, &parts);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
    return text;
  }
};

template <class Model, class Group>
int train_model(const train_options& o, const wfc::text_dataset& data, const wfc::char_tokenizer& tok, const wfc::checkpoint* resumed,
                const wfc::trainer_settings& settings, metrics_file& metrics, const provenance& origin, const Group& group) {
  using namespace wfc;
  std::optional<Model> model;
  std::optional<adamw_optimizer<float, backend>> optimizer;
  std::int64_t start = 0;
  group.together([&] {
    if (resumed) {
      model.emplace(model_from<Model>(*resumed));
    } else if constexpr (is_gpt<Model>) {
      model.emplace(o.gpt(tok.vocab_size()));
    } else {
      model.emplace(o.wfc(tok.vocab_size()), o.wfc_objective(), solvers::fixed_steps{o.objective.steps, o.damping});
    }
    model->initialise(settings.seed);
    optimizer.emplace(model->layout(), settings.adamw);
    start = resumed ? resumed->restore_training(*model, *optimizer) : 0;
    share_of(settings.batch, group.rank(), group.size());
  });
  if (group.size() > 1)
    std::printf("ranks: %d, each on %lld of the %lld sequences of every batch (rank 0 writes)\n", group.size(),
                static_cast<long long>(share_of(settings.batch, 0, group.size()).count), static_cast<long long>(settings.batch));
  std::printf("model: %s: %.2fM parameters; %s backend%s\n", describe_model(*model).dump().c_str(), double(model->layout().size()) / 1e6,
              backend::name, wfc_examples::thread_note<backend>().c_str());
  std::printf("training: iterations %lld to %lld of %lld×%lld tokens, lr %g → %g, warm-up %lld; checkpoints to %s\n",
              static_cast<long long>(start + 1), static_cast<long long>(settings.iterations), static_cast<long long>(settings.batch),
              static_cast<long long>(settings.block), settings.lr, settings.min_lr, static_cast<long long>(settings.warmup), o.out.c_str());
  // Weights and two AdamW moments, 4 bytes each: room for the temporary beside the old file.
  const std::int64_t checkpoint_bytes = 3 * 4 * std::int64_t(model->layout().size()), room = free_bytes(o.out);
  if (group.rank() == 0 && room >= 0 && room < 2 * checkpoint_bytes)
    std::printf("warning: %.1f MB free beside '%s', under twice a checkpoint's %.1f MB: a save may fail for want of room\n",
                double(room) / 1e6, o.out.c_str(), double(checkpoint_bytes) / 1e6);
  std::fflush(stdout);

  wfc_examples::progress bar;
  std::int64_t saved_at = resumed ? start : -1;
  const std::int64_t every = o.checkpoint_every > 0 ? o.checkpoint_every : settings.eval_interval;
  const auto save = [&](std::int64_t iteration) {
    if (group.rank() == 0) save_checkpoint(o.out, *model, tok, *optimizer, iteration, settings, origin.at(iteration));
    saved_at = iteration;
  };
  const auto last_good = [&] {
    return "the last good checkpoint is " + (saved_at >= 0 ? "'" + o.out + "' (iteration " + std::to_string(saved_at) + ")"
                                                           : std::string("none (nothing was saved yet)"));
  };
  const stop_on_signals signals;
  try {
    const std::int64_t stop = o.stop_at > 0 ? std::min(o.stop_at, settings.iterations) : settings.iterations;
    if (stop < start)
      throw config_error("--stop-at " + std::to_string(stop) + " lies before the checkpoint's iteration " + std::to_string(start));
    bool stopped_by_signal = false;
    const auto observe = [&](const training_record& r) {
      // A signal to any rank stops them all after this step, and rank 0 saves it: agreed first,
      // before anything that could throw on one rank alone.
      stopped_by_signal = group.size() > 1 ? any_of(group, signals.requested()) : signals.requested();
      if (group.rank() == 0) {
        bar(r);
        metrics.write(r);
      }
      if (r.iteration % every == 0 || r.iteration == stop || stopped_by_signal) save(r.iteration);
      return stopped_by_signal ? training_action::stop : training_action::go_on;
    };
    const training_summary s = train(*model, data, settings, *optimizer, training_range(start, stop), group, observe);
    if (start == stop) group.together([&] { save(start); });
    if (stopped_by_signal && s.iteration < settings.iterations) {  // stopped early, or at --stop-at
      std::printf("\nstopped by %s after iteration %lld of %lld; saved %s: continue with `wfc train %s --resume %s` (exit status %d)\n",
                  stop_on_signals::name(signals.signal()).c_str(), static_cast<long long>(s.iteration),
                  static_cast<long long>(settings.iterations), o.out.c_str(), o.data.c_str(), o.out.c_str(), exit_stopped);
      return exit_stopped;
    }
    if (stop < settings.iterations)
      std::printf("stopped after iteration %lld of %lld (%.1f ms/iter); saved %s: continue with --resume %s\n", static_cast<long long>(stop),
                  static_cast<long long>(settings.iterations), s.mean_ms, o.out.c_str(), o.out.c_str());
    else
      std::printf("done: val loss %.4f (train %.4f), %.1f ms/iter, %s; saved %s (iteration %lld)\n", s.val_loss, s.train_loss,
                  s.mean_ms, wfc_examples::duration(s.seconds).c_str(), o.out.c_str(), static_cast<long long>(saved_at));
  } catch (const value_error& e) {  // a diverged run: the last checkpoint written stays as it was
    throw value_error(std::string(e.what()) + "; " + last_good());
  } catch (const io_error& e) {  // a failed save (a full disk): the previous file stays as it was
    throw io_error(std::string(e.what()) + "; " + last_good());
  }
  return 0;
}

// What a run needs before its first step: filled by prepare_training, alive until the run ends.
struct prepared_run {
  std::optional<wfc::run_lock> lock;  // rank 0's, on the checkpoint it writes
  std::optional<wfc::checkpoint> resumed;
  model_choice choice;
  wfc::trainer_settings settings;
  provenance origin;
  std::optional<metrics_file> metrics;
  std::optional<wfc::char_tokenizer> tokenizer;
  std::optional<wfc::text_dataset> dataset;
};

// Everything before the first step, each rank alike; `writer` (rank 0) checks the paths it will
// write, locks the checkpoint against a second run writing it, and opens the metrics.
inline void prepare_training(train_options& o, bool writer, prepared_run& run) {
  using namespace wfc;
  std::optional<checkpoint>& resumed = run.resumed;
  provenance& origin = run.origin;
  run.choice = o.choice;
  run.settings = o.train;
  o.validate();
  if (writer) {
    o.check_paths();
    run.lock.emplace(o.out + ".lock", "--out '" + o.out + "'");
  }
  wfc_examples::set_threads(o.threads);
  origin.command = o.command;
  origin.data_path = o.data;
  if (!o.resume.empty()) {
    resumed.emplace(checkpoint::load(o.resume));
    if (!resumed->has_training())
      throw io_error(o.resume + " holds no training state (saved without an optimiser); it cannot be resumed");
    run.choice = model_choice::of(*resumed);
    run.settings = resumed->settings();
    origin.earlier = resumed->provenance();
  }
  run.metrics.emplace(writer ? o.metrics : std::string(), resumed.has_value());
  const std::string text = read_text_file(o.data);
  if (text.empty()) throw io_error("'" + o.data + "' holds no text (an empty file, or a directory?)");
  origin.data = data_fingerprint::of(text);
  const bool fingerprinted = origin.earlier.is_object() && origin.earlier.contains("data");
  if (resumed && !fingerprinted)
    std::printf("note: %s records no fingerprint of its text (saved by an older wfc): the text cannot be checked\n", o.resume.c_str());
  if (resumed && fingerprinted) {
    const data_fingerprint trained_on = data_fingerprint::from_json(origin.earlier["data"], o.resume + ": provenance.data");
    if (trained_on != origin.data && !o.allow_other_data)
      throw config_error("'" + o.data + "' is not the text " + o.resume + " was trained on (" + trained_on.describe() + ", then at '" +
                         origin.earlier["data"].value("path", std::string("?")) + "'; this one: " + origin.data.describe() +
                         "): resume on that text, or pass --allow-other-data to go on with this one on purpose");
    if (trained_on != origin.data)
      std::printf("note: --allow-other-data: going on with '%s' (%s), not the text the run began on (%s)\n", o.data.c_str(),
                  origin.data.describe().c_str(), trained_on.describe().c_str());
  }
  const char_tokenizer& tok = run.tokenizer.emplace(resumed ? resumed->tokenizer() : char_tokenizer::from_text(text));
  const text_dataset& data = run.dataset.emplace(tok.encode(text));  // resuming: a character the checkpoint's vocabulary lacks is an error naming it
  std::printf("data: %s: %lld train and %lld validation tokens, %lld distinct\n", o.data.c_str(),
              static_cast<long long>(data.size(split::train)), static_cast<long long>(data.size(split::validation)),
              static_cast<long long>(tok.vocab_size()));
}

template <class Group>
int run_train(train_options& o, const Group& group) {
  using namespace wfc;
  prepared_run run;  // its lock is held to the end of the run
  group.together([&] { prepare_training(o, group.rank() == 0, run); });
  const std::optional<checkpoint>& resumed = run.resumed;
  const provenance& origin = run.origin;
  // Every rank must start from the same text and checkpoint (nothing is broadcast: each reads its own).
  if (group.size() > 1) {
    const std::string mine = origin.data.describe() + (resumed ? "|" + resumed->provenance().dump() : std::string());
    if (!same_on_every_process(group, std::hash<std::string>{}(mine)))
      throw config_error("the ranks read different texts or checkpoints at '" + o.data + "'" + (resumed ? " and '" + o.resume + "'" : "") +
                         ": put them on a filesystem every node sees (this rank's text: " + origin.data.describe() + ")");
  }
  return with_model_type(run.choice, [&](auto tag) {
    using Model = typename decltype(tag)::type;
    return train_model<Model>(o, *run.dataset, *run.tokenizer, resumed ? &*resumed : nullptr, run.settings, *run.metrics, origin, group);
  });
}

}  // namespace wfc_cli
