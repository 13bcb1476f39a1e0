// Trains the GPT baseline on a text file, character by character, as nanoGPT's shakespeare_char:
// the first 90% of the text trains, the last 10% validates. The defaults are nanoGPT's CPU run
// (4 layers, 4 heads, width 128, block 64, batch 12, 2000 iterations, lr 1e-3 → 1e-4), which
// reaches a validation loss of about 1.88 nats/char on tinyshakespeare. Then it samples text from
// the trained model with its key/value cache.
//
//   ./train_gpt path/to/text.txt [--iterations 2000] [--backend cpu] ...    (--help lists all)
#include "support/console.hpp"

#include <chrono>
#include <cstdio>
#include <string>

namespace {

using wfc_examples::duration;

struct options {
  std::string data, backend = "cpu";
  wfc::gpt_config model;  // the vocabulary comes from the text, the block from the training settings
  wfc::trainer_settings train;
  std::string positions = "learned";
  int threads = 0;  // 0: OpenMP's default
  // Sampling after training (nanoGPT's sample.py defaults: temperature 0.8, top-k 200).
  std::string prompt = "\n";
  wfc::index_t sample_tokens = 500;
  wfc::sampler pick{0.8, 200, 1.0};
  std::uint64_t sample_seed = 1;
};

template <class B, class Positions>
int run(const options& o) {
  using namespace wfc;
  o.train.validate();
  const std::string text = read_text_file(o.data);
  if (text.empty()) throw io_error("'" + o.data + "' holds no text (an empty file, or a directory?)");
  const auto tok = char_tokenizer::from_text(text);
  const text_dataset data(tok.encode(text));
  const auto prompt = tok.encode(o.prompt);  // before training: an unknown character is an error naming it
  gpt_config config = o.model;
  config.vocab = tok.vocab_size();
  config.block = o.train.block;
  gpt<float, B, Positions> model(config);
  model.initialise(o.train.seed);

  const std::string threads = wfc_examples::thread_note<B>();
  std::printf("data: %s: %lld characters, %lld distinct; %lld train and %lld validation tokens\n", o.data.c_str(),
              static_cast<long long>(data.size(split::train) + data.size(split::validation)), static_cast<long long>(config.vocab),
              static_cast<long long>(data.size(split::train)), static_cast<long long>(data.size(split::validation)));
  std::printf("model: layers %lld, heads %lld, width %lld, block %lld, %s positions: %.2fM parameters; %s backend%s, float\n",
              static_cast<long long>(config.layers), static_cast<long long>(config.heads), static_cast<long long>(config.width),
              static_cast<long long>(config.block), o.positions.c_str(), double(model.layout().size()) / 1e6, B::name,
              threads.c_str());
  const trainer_settings& t = o.train;
  std::printf("training: %lld iterations of %lld×%lld tokens (accumulation %lld), lr %g → %g, warm-up %lld, evaluation every %lld on %lld batches\n",
              static_cast<long long>(t.iterations), static_cast<long long>(t.batch), static_cast<long long>(t.block),
              static_cast<long long>(t.accumulation), t.lr, t.min_lr, static_cast<long long>(t.warmup),
              static_cast<long long>(t.eval_interval), static_cast<long long>(t.eval_batches));
  std::fflush(stdout);

  const training_summary result = train(model, data, o.train, wfc_examples::progress{});
  std::printf("final val loss %.4f (train %.4f); %.1f ms/iter; wall time %s\n", result.val_loss, result.train_loss, result.mean_ms,
              duration(result.seconds).c_str());

  if (o.sample_tokens > 0) {
    const auto start = std::chrono::steady_clock::now();
    const auto tokens = generate(model, prompt, o.sample_tokens, o.pick, counter_rng(o.sample_seed));
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("\n---- %lld sampled tokens (temperature %g, top-k %lld, top-p %g, seed %llu): %.0f tokens/s ----\n%s%s\n",
                static_cast<long long>(o.sample_tokens), o.pick.temperature, static_cast<long long>(o.pick.top_k), o.pick.top_p,
                static_cast<unsigned long long>(o.sample_seed), double(tokens.size()) / seconds, o.prompt.c_str(),
                tok.decode(tokens).c_str());
  }
  return 0;
}

template <class B>
int run_with_positions(const options& o) {
  return o.positions == "rotary" ? run<B, wfc::rotary_positions>(o) : run<B, wfc::learned_positions>(o);
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  CLI::App app{"Trains the GPT baseline on a text file, character by character (nanoGPT's shakespeare_char recipe)."};
  app.option_defaults()->always_capture_default();
  wfc_examples::add_run_options(app, o.data, o.backend, o.threads);
  wfc_examples::add_model_options(app, o.model);
  wfc_examples::add_trainer_options(app, o.train);
  app.add_option("--positions", o.positions, "learned (a position table, as nanoGPT) or rotary");
  app.add_option("--prompt", o.prompt, "text the sample continues (every character must occur in the training text)");
  app.add_option("--sample-tokens", o.sample_tokens, "tokens to sample after training (0: none)");
  app.add_option("--temperature", o.pick.temperature, "sampling temperature (0: greedy)");
  app.add_option("--top-k", o.pick.top_k, "sample among the k most likely tokens (0: all)");
  app.add_option("--top-p", o.pick.top_p, "sample within the smallest set of probability ≥ p (1: no cut)");
  app.add_option("--sample-seed", o.sample_seed, "seed of the sampling draws");
  CLI11_PARSE(app, argc, argv);

  return wfc_examples::exit_code([&] {
    wfc_examples::set_threads(o.threads);
    if (o.positions != "learned" && o.positions != "rotary")
      throw wfc::config_error("--positions must be learned or rotary, got '" + o.positions + "'");
    if (o.sample_tokens < 0) throw wfc::config_error("--sample-tokens cannot be negative");
    o.pick.validate();
    return wfc_examples::with_backend(o.backend, argc, argv, [&](auto be) { return run_with_positions<decltype(be)>(o); });
  });
}
