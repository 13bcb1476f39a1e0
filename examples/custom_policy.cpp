// A collapse policy of your own: one struct with one member function. This one collapses the
// longest run of confident slots at the front of the future (every slot under `bits` bits, up to
// the first unsure one) and, past that run, nudges the next slot halfway toward a sampled token.
// The generator checks the struct at compile time (a missing decide() is a compile error that
// names it) and validates every decision at run time.
//
//   ./custom_policy [--data path/to/text.txt] [--iterations 300] [--bits 0.5]
#include "support/console.hpp"
#include "support/corpus.hpp"

#include <cstdio>

using backend = wfc_examples::host_backend;

struct confident_prefix {
  double bits = 0.5;

  wfc::collapse_decision decide(const wfc::collapse_input& in) const {
    wfc::collapse_decision d;
    d.picks.push_back(wfc::collapse_pick{0});  // always the next token, so every solve emits
    wfc::index_t i = 1;
    for (; i < in.slots() && in.entropy[std::size_t(i)] < bits; ++i)
      if (!in.pinned[std::size_t(i)]) d.picks.push_back(wfc::collapse_pick{i});
    if (i < in.slots() && !in.pinned[std::size_t(i)]) d.picks.push_back(wfc::collapse_pick{i, 0.5});
    return d;
  }
};

int main(int argc, char** argv) {
  std::string path;
  wfc::trainer_settings t;
  t.iterations = 300;
  t.eval_interval = 300;
  t.eval_batches = 2;
  double bits = 0.5;
  CLI::App app{"Generates with a user-defined collapse policy (confident prefix) from a small WFC model trained briefly."};
  app.add_option("--data", path, "a UTF-8 text to train on (default: a play generated in code)");
  app.add_option("--iterations", t.iterations, "training iterations");
  app.add_option("--bits", bits, "slots under this entropy (bits) at the front of the future collapse together");
  CLI11_PARSE(app, argc, argv);
  return wfc_examples::exit_code([&] {
    using namespace wfc;
    t.validate();  // every flag before the text is built and the model trains
    if (!(bits >= 0)) throw config_error("--bits must be ≥ 0 (entropies are never negative), got " + std::to_string(bits));
    const std::string text = path.empty() ? wfc_examples::generated_play(100000) : read_text_file(path);
    const auto tok = char_tokenizer::from_text(text);
    const text_dataset data(tok.encode(text));
    const auto prompt = tok.encode("KING:\n");  // a text without these characters is refused before training
    wfc_config c;
    c.vocab = tok.vocab_size();
    c.layers = 2;
    c.width = 64;
    c.window = t.block;
    wfc_model<float, backend, past::pinned, masks::bidirectional, rotary_positions> m(c);
    m.initialise(t.seed);
    const training_summary trained = train(m, data, t);
    auto gen = make_generator(m, confident_prefix{bits}, sampler{0.8}, solvers::anderson{1e-2, 8});
    generation_settings s;
    s.max_tokens = 200;
    const generation_result out = gen.run(prompt, s);
    std::printf("val loss %.4f after %lld iterations\n%s%s\n\n%zu tokens in %lld solves: %.2f tokens per solve, %.2f steps per token\n",
                trained.val_loss, static_cast<long long>(t.iterations), tok.decode(prompt).c_str(), tok.decode(out.tokens).c_str(),
                out.tokens.size(), static_cast<long long>(out.solves), out.tokens_per_solve(), out.steps_per_token());
    return 0;
  });
}
