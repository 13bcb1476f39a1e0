// The main example: trains a small WFC model for about a minute on a text — a play generated in
// code by default, or any UTF-8 file with --data — then generates with the collapse loop and shows
// the entropy of every future slot over time: the uncertainty's "hockey stick" pushed to the right
// as slots collapse, as terminal sparklines and as an SVG picture for a browser.
//
//   ./wfc_demo [--data path/to/text.txt] [--policy threshold --tau 1] [--tokens 300] [--svg entropy.svg]
#include "support/collapse_options.hpp"
#include "support/console.hpp"
#include "support/corpus.hpp"
#include "support/entropy_picture.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <algorithm>
#include <string>

namespace {

using backend = wfc_examples::host_backend;
using model_type = wfc::wfc_model<float, backend, wfc::past::pinned, wfc::masks::bidirectional, wfc::rotary_positions>;

struct options {
  std::string data, prompt = "KING:\n", svg = "entropy.svg", stop, save_text;
  wfc::wfc_config model;
  wfc::wfc_objective objective;
  wfc::trainer_settings train;
  wfc_examples::collapse_options collapse;
  wfc::index_t tokens = 300;
  wfc::index_t picture = 64;  // solves drawn in the SVG
  std::uint64_t seed = 1;
  int threads = 0;
};

int run(options& o) {
  using namespace wfc;
  wfc_examples::set_threads(o.threads);
  // Every flag before the text is built and the model trains (a minute): a mistake costs nothing.
  o.collapse.validate(o.tokens);
  o.train.validate();
  if (o.prompt.empty()) throw config_error("--prompt is empty; give at least one character to start from");
  if (o.picture < 1)
    throw config_error("--picture-solves must be at least 1, got " + std::to_string(o.picture) + " (--svg \"\" draws none)");
  if (2 * o.model.future > o.train.block)
    throw config_error("--future " + std::to_string(o.model.future) + " needs a --block of at least 2·F = " +
                       std::to_string(2 * o.model.future) + " (generation keeps F slots beside the past), got " +
                       std::to_string(o.train.block));
  const std::string text = o.data.empty() ? wfc_examples::generated_play() : read_text_file(o.data);
  if (text.empty()) throw io_error("'" + o.data + "' holds no text (an empty file, or a directory?)");
  if (!o.save_text.empty()) {  // the training text, for other programs (compare_policies, train_wfc)
    wfc_examples::write_text(o.save_text, text);
    std::printf("wrote the training text to %s\n", o.save_text.c_str());
    return 0;
  }
  const auto tok = char_tokenizer::from_text(text);
  const text_dataset data(tok.encode(text));
  const auto prompt = tok.encode(o.prompt);  // an unknown character is an error naming it
  const auto stop = tok.encode(o.stop);
  if (o.collapse.policy == "target") o.collapse.target_token(tok);
  wfc_config config = o.model;
  config.vocab = tok.vocab_size();
  config.window = o.train.block;
  o.objective.seed = o.train.seed;
  model_type model(config, o.objective, solvers::fixed_steps{o.objective.steps, 1.0});
  model.initialise(o.train.seed);
  std::printf("data: %s, %lld characters, %lld distinct\n", o.data.empty() ? "a play generated in code" : o.data.c_str(),
              static_cast<long long>(text.size()), static_cast<long long>(config.vocab));
  std::printf("model: WFC, F %lld, K %lld, layers %lld, width %lld, window %lld, rotary positions: %.2fM parameters; %s backend%s\n",
              static_cast<long long>(config.future), static_cast<long long>(o.objective.steps), static_cast<long long>(config.layers),
              static_cast<long long>(config.width), static_cast<long long>(config.window), double(model.layout().size()) / 1e6,
              backend::name, wfc_examples::thread_note<backend>().c_str());
  std::fflush(stdout);
  const training_summary trained = train(model, data, o.train, wfc_examples::progress{});
  std::printf("trained %lld iterations in %s: val loss %.4f\n\n", static_cast<long long>(o.train.iterations),
              wfc_examples::duration(trained.seconds).c_str(), trained.val_loss);

  std::vector<wfc_examples::entropy_frame> frames;
  const auto observe = [&](const generation_step& g) {
    frames.push_back({g.position, g.entropy, g.pinned, tok.decode(g.emitted), g.solve.steps});
  };
  const auto started = std::chrono::steady_clock::now();
  const generation_result out = wfc_examples::with_policy(o.collapse, tok, [&](auto policy) {
    auto gen = make_generator(model, policy, o.collapse.sampler(), o.collapse.solver());
    generation_settings s = o.collapse.settings(o.tokens, o.seed);
    s.stop = stop;
    return gen.run(prompt, s, observe);
  });
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  std::printf("%s%s\n\n", o.prompt.c_str(), tok.decode(out.tokens).c_str());
  std::printf("policy %s: %s%zu tokens in %lld solves (%.2f tokens per solve), %.2f solver steps per token, %.0f tokens/s\n\n",
              o.collapse.policy.c_str(), out.stopped ? "stopped at the stop string, " : "", out.tokens.size(), static_cast<long long>(out.solves), out.tokens_per_solve(),
              out.steps_per_token(), double(out.tokens.size()) / seconds);
  const double max_bits = std::log2(double(config.vocab));
  std::printf("entropy of the future slots at each solve (▁ 0 bits … █ %.1f bits; • collapsed and held), then what it emitted:\n%s\n",
              max_bits, wfc_examples::entropy_sparklines(frames, max_bits, 32).c_str());
  if (!o.svg.empty()) {  // the first solves: enough to watch the wave move, cells large enough to read
    const std::size_t shown = std::min(frames.size(), std::size_t(o.picture));
    const std::vector<wfc_examples::entropy_frame> first(frames.begin(), frames.begin() + std::ptrdiff_t(shown));
    wfc_examples::write_text(o.svg, wfc_examples::entropy_svg(first, max_bits, "WFC generation: entropy of the future slots, first " +
                                                                                 std::to_string(first.size()) + " solves (" + o.collapse.policy +
                                                                                 " policy)"));
    std::printf("wrote %s (open it in a browser)\n", o.svg.c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  // About a minute on two cores: a small model on a short window.
  o.model.layers = 3;
  o.model.heads = 4;
  o.model.width = 96;
  o.model.future = 4;
  o.objective.steps = 2;
  o.objective.partial = 0.3;
  o.objective.reveal = 0.1;
  o.train.iterations = 1000;
  o.train.block = 64;
  o.train.batch = 12;
  o.train.lr = 2e-3;
  o.train.eval_interval = 250;
  o.train.eval_batches = 5;
  CLI::App app{"Trains a small WFC model for about a minute, generates with the collapse loop and draws the entropy picture."};
  app.option_defaults()->always_capture_default();
  app.add_option("--data", o.data, "a UTF-8 text to train on (default: a play generated in code)");
  app.add_option("--prompt", o.prompt, "the text generation starts from");
  app.add_option("--save-text", o.save_text, "write the training text (the generated play by default) to this file and exit");
  app.add_option("--tokens", o.tokens, "characters to generate (at most)");
  app.add_option("--stop", o.stop, "stop once the generated text ends with this string");
  app.add_option("--svg", o.svg, "where to write the entropy picture (empty: nowhere)");
  app.add_option("--picture-solves", o.picture, "how many solves (from the first) the picture shows");
  app.add_option("--sample-seed", o.seed, "the sampler's seed");
  app.add_option("--threads", o.threads, "OpenMP threads (0: OpenMP's default)");
  wfc_examples::add_model_options(app, o.model);
  app.add_option("--future", o.model.future, "F: future slots");
  app.add_option("--steps", o.objective.steps, "K: solver steps unrolled in training");
  app.add_option("--partial", o.objective.partial, "rate of slots partially collapsed toward their target in training");
  app.add_option("--reveal", o.objective.reveal, "rate of slots revealed in training (teaches reading a pinned slot)");
  wfc_examples::add_trainer_options(app, o.train);
  o.collapse.add(app);
  CLI11_PARSE(app, argc, argv);
  return wfc_examples::exit_code([&] { return run(o); });
}
