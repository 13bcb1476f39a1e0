// Trains a WFC model on a text file, character by character, with the GPT example's recipe and
// defaults (4 layers, 4 heads, width 128, window 64, batch 12, 2000 iterations, lr 1e-3 → 1e-4),
// then evaluates it on the last 10% of the text: the NLL of each slot offset (offset 0, the
// first slot, is next-token prediction from a cold start) beside the training objective.
//
//   ./train_wfc path/to/text.txt [--future 4] [--steps 2] [--future-mask bidirectional] ...   (--help lists all)
#include "support/console.hpp"

#include <cstdio>
#include <string>

namespace {

using wfc_examples::duration;

struct options {
  std::string data, backend = "cpu";
  wfc::wfc_config model;  // the vocabulary comes from the text, the window from the training block
  wfc::wfc_objective objective;
  wfc::trainer_settings train;
  double damping = 1.0, tolerance = 1e-2;
  std::string positions = "learned", future_mask = "bidirectional", past = "pinned";
  int threads = 0;
};

template <class B, class Past, class Mask, class Positions>
int run(const options& o) {
  using namespace wfc;
  o.train.validate();
  const std::string text = read_text_file(o.data);
  if (text.empty()) throw io_error("'" + o.data + "' holds no text (an empty file, or a directory?)");
  const auto tok = char_tokenizer::from_text(text);
  const text_dataset data(tok.encode(text));
  wfc_config config = o.model;
  config.vocab = tok.vocab_size();
  config.window = o.train.block;
  wfc_objective objective = o.objective;
  objective.seed = o.train.seed;
  wfc_model<float, B, Past, Mask, Positions> model(config, objective, solvers::fixed_steps{objective.steps, o.damping});
  model.initialise(o.train.seed);

  std::printf("data: %s: %lld train and %lld validation tokens, %lld distinct\n", o.data.c_str(),
              static_cast<long long>(data.size(split::train)), static_cast<long long>(data.size(split::validation)),
              static_cast<long long>(config.vocab));
  std::printf("model: WFC, %s past, %s future mask, %s positions; layers %lld, heads %lld, width %lld, window %lld, F %lld: "
              "%.2fM parameters; %s backend%s, float\n",
              o.past.c_str(), o.future_mask.c_str(), o.positions.c_str(), static_cast<long long>(config.layers), static_cast<long long>(config.heads),
              static_cast<long long>(config.width), static_cast<long long>(config.window), static_cast<long long>(config.future),
              double(model.layout().size()) / 1e6, B::name, wfc_examples::thread_note<B>().c_str());
  std::printf("objective: K %lld%s, damping %g, reveal %g, partial collapse %g, deep supervision %g, velocity penalty %g\n",
              static_cast<long long>(objective.steps), objective.random_steps ? " (drawn from 1…K per batch)" : "", o.damping,
              objective.reveal, objective.partial, objective.deep_supervision, objective.velocity_penalty);
  const trainer_settings& t = o.train;
  std::printf("training: %lld iterations of %lld×%lld tokens, lr %g → %g, warm-up %lld, evaluation every %lld on %lld batches\n",
              static_cast<long long>(t.iterations), static_cast<long long>(t.batch), static_cast<long long>(t.block), t.lr, t.min_lr,
              static_cast<long long>(t.warmup), static_cast<long long>(t.eval_interval), static_cast<long long>(t.eval_batches));
  std::fflush(stdout);

  const training_summary result = train(model, data, o.train, wfc_examples::progress{});
  std::printf("final objective: val %.4f (train %.4f); %.1f ms/iter; wall time %s\n", result.val_loss, result.train_loss,
              result.mean_ms, duration(result.seconds).c_str());
  const auto eval = evaluate_offsets(model, data, split::validation, o.train);
  std::printf("validation NLL (nats/char), cold start, K = %lld: first slot %.4f, mean over offsets %.4f\n",
              static_cast<long long>(objective.steps), eval.first_slot, eval.mean);
  std::printf("per offset:");
  for (double v : eval.per_offset) std::printf(" %.4f", v);
  std::printf("\n");
  const auto fixed = chain_nll(model, data, split::validation, o.train, solvers::fixed_steps{objective.steps, o.damping});
  std::printf("chain NLL (first-future collapse, teacher forcing, warm starts), %lld steps per token: %.4f\n",
              static_cast<long long>(objective.steps), fixed.nll);
  const auto cold = chain_nll(model, data, split::validation, o.train, solvers::fixed_steps{objective.steps, o.damping}, warm_start::none);
  std::printf("chain NLL with a cold start for every token, %lld steps per token: %.4f\n", static_cast<long long>(objective.steps),
              cold.nll);
  const auto believed =
      chain_nll(model, data, split::validation, o.train, solvers::fixed_steps{objective.steps, o.damping}, warm_start::distribution);
  std::printf("chain NLL with warm starts from the slots' distributions, %lld steps per token: %.4f\n",
              static_cast<long long>(objective.steps), believed.nll);
  const solvers::until_converged early{o.tolerance, 4 * objective.steps, o.damping};
  const auto adaptive = chain_nll(model, data, split::validation, o.train, early);
  std::printf("chain NLL until ‖Δx‖/‖x‖ ≤ %g (at most %lld steps): %.4f, %.2f steps per token\n", o.tolerance,
              static_cast<long long>(early.limit), adaptive.nll, adaptive.steps_per_token);
  const solvers::anderson accelerated{o.tolerance, 4 * objective.steps, o.damping, 3};
  const auto mixed = chain_nll(model, data, split::validation, o.train, accelerated);
  std::printf("chain NLL until ‖Δx‖/‖x‖ ≤ %g with Anderson acceleration (memory 3): %.4f, %.2f steps per token\n", o.tolerance,
              mixed.nll, mixed.steps_per_token);
  return 0;
}

template <class B, class Past, class Mask>
int run_with_positions(const options& o) {
  return o.positions == "rotary" ? run<B, Past, Mask, wfc::rotary_positions>(o) : run<B, Past, Mask, wfc::learned_positions>(o);
}

// Every policy on the cpu backend (the drifting past with the bidirectional future mask); the
// reference and Kokkos builds take the defaults only (each composition is a separate instantiation
// of the whole model).
template <class B>
int run_with_policies(const options& o) {
  using wfc::masks::bidirectional;
  const bool defaults = o.future_mask == "bidirectional" && o.positions == "learned" && o.past == "pinned";
  if constexpr (!std::is_same_v<B, wfc::cpu>) {
    if (!defaults)
      throw wfc::config_error("the " + std::string(B::name) +
                              " backend runs the default policies only (--past pinned --future-mask bidirectional --positions learned)");
    return run<B, wfc::past::pinned, bidirectional, wfc::learned_positions>(o);
  } else {
    if (o.past == "drifting") {
      if (o.future_mask != "bidirectional") throw wfc::config_error("--past drifting runs with --future-mask bidirectional only");
      return run_with_positions<B, wfc::past::drifting, bidirectional>(o);
    }
    if (o.future_mask == "causal") return run_with_positions<B, wfc::past::pinned, wfc::masks::causal>(o);
    if (o.future_mask == "window2") return run_with_positions<B, wfc::past::pinned, wfc::masks::window<2>>(o);
    return run_with_positions<B, wfc::past::pinned, bidirectional>(o);
  }
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  CLI::App app{"Trains a WFC language model on a text file, character by character, and evaluates it."};
  app.option_defaults()->always_capture_default();
  wfc_examples::add_run_options(app, o.data, o.backend, o.threads);
  wfc_examples::add_model_options(app, o.model);
  app.add_option("--future", o.model.future, "F: future slots (the training block of slots)");
  app.add_option("--steps", o.objective.steps, "K: solver steps unrolled in training");
  app.add_flag("--random-steps", o.objective.random_steps, "draw K from 1…K per batch");
  app.add_option("--damping", o.damping, "η: each step moves the slots by η·(S(x) − x)");
  app.add_option("--tolerance", o.tolerance, "early-exit tolerance of the evaluation's converging solver");
  app.add_option("--reveal", o.objective.reveal, "rate of slots revealed (one-hot of their target, pinned, not scored)");
  app.add_option("--partial", o.objective.partial, "rate of slots partially collapsed toward their target at the start");
  app.add_option("--deep-supervision", o.objective.deep_supervision, "weight of the earlier steps' losses");
  app.add_option("--velocity-penalty", o.objective.velocity_penalty, "weight of the last step's mean squared update");
  app.add_option("--future-mask", o.future_mask, "how slots see each other: bidirectional, causal or window2");
  app.add_option("--positions", o.positions, "learned or rotary");
  app.add_option("--past", o.past, "pinned (cached keys/values) or drifting (the whole window moves; slower)");
  wfc_examples::add_trainer_options(app, o.train);
  CLI11_PARSE(app, argc, argv);

  return wfc_examples::exit_code([&] {
    wfc_examples::set_threads(o.threads);
    // Every flag before the text is read and the model trains.
    o.train.validate();
    wfc_examples::validate_objective(o.objective);
    if (!(o.damping > 0 && o.damping <= 1)) throw wfc::config_error("--damping must be in (0, 1], got " + std::to_string(o.damping));
    wfc::solvers::anderson{o.tolerance, 4 * o.objective.steps, o.damping, 3}.validate();
    const wfc::index_t F = o.model.future;
    if (o.past == "pinned" && o.train.block < 2 * F - 1)  // blocks of F at every offset: each offset in every pass
      throw wfc::config_error("--block " + std::to_string(o.train.block) + " cannot score every slot offset of F = " + std::to_string(F) +
                              " in the evaluation: a pinned past needs at least 2F − 1 = " + std::to_string(2 * F - 1));
    if (o.positions != "learned" && o.positions != "rotary")
      throw wfc::config_error("--positions must be learned or rotary, got '" + o.positions + "'");
    if (o.past != "pinned" && o.past != "drifting")
      throw wfc::config_error("--past must be pinned or drifting, got '" + o.past + "'");
    if (o.future_mask != "bidirectional" && o.future_mask != "causal" && o.future_mask != "window2")
      throw wfc::config_error("--future-mask must be bidirectional, causal or window2, got '" + o.future_mask + "'");
    return wfc_examples::with_backend(o.backend, argc, argv, [&](auto be) { return run_with_policies<decltype(be)>(o); });
  });
}
