#pragma once
// What every part of the validation study shares: the model compositions it trains, a quiet
// training log, timing, the NLL of a text under the GPT baseline, and training FLOP estimates.
#include "support/console.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

namespace study {

using json = nlohmann::json;
using backend = wfc_examples::host_backend;
using wfc::index_t;
using wfc::token_id;

// The baseline as nanoGPT has it (learned positions), the GPT with the WFC models' rotary
// positions, and the WFC compositions the study varies (every one with rotary positions, which
// lets a slot know its distance to the past whatever the block offset).
using gpt_learned = wfc::gpt<float, backend, wfc::learned_positions>;
using gpt_rotary = wfc::gpt<float, backend, wfc::rotary_positions>;
template <class Past, class Mask>
using wfc_of = wfc::wfc_model<float, backend, Past, Mask, wfc::rotary_positions>;
using wfc_default = wfc_of<wfc::past::pinned, wfc::masks::bidirectional>;

inline double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// One line on stderr per evaluation, so a long study shows where it is.
struct training_log {
  std::string name;
  void operator()(const wfc::training_record& r) const {
    if (!r.evaluated) return;
    std::fprintf(stderr, "  %-28s %5lld/%lld  train %.4f  val %.4f  %.1f ms/iter  %s\n", name.c_str(), static_cast<long long>(r.iteration),
                 static_cast<long long>(r.iterations), r.train_loss, r.val_loss, r.ms, wfc_examples::duration(r.elapsed_s).c_str());
  }
};

// −log p(target) from one row of logits, in double.
inline double row_nll(const float* row, index_t vocab, token_id target) {
  double top = row[0], total = 0;
  for (index_t v = 1; v < vocab; ++v) top = std::max(top, double(row[v]));
  for (index_t v = 0; v < vocab; ++v) total += std::exp(double(row[v]) - top);
  return top + std::log(total) - double(row[target]);
}

inline token_id row_argmax(const float* row, index_t vocab) {
  index_t best = 0;
  for (index_t v = 1; v < vocab; ++v)
    if (row[v] > row[best]) best = v;
  return token_id(best);
}

// Mean NLL (nats/token) of text[from…] under a GPT, each token given up to a block of context:
// the study's measure of sample quality.
template <class Gpt>
double nll_under(Gpt& gpt, const std::vector<token_id>& text, std::size_t from) {
  const auto block = std::size_t(gpt.config().block);
  const index_t V = gpt.config().vocab;
  double total = 0;
  for (std::size_t t = from; t < text.size(); ++t) {
    const std::size_t begin = t > block ? t - block : 0;
    const std::vector<token_id> context(text.begin() + std::ptrdiff_t(begin), text.begin() + std::ptrdiff_t(t));
    const auto logits = wfc::to_host<backend>(gpt.logits(context, 1));
    total += row_nll(logits.data() + (context.size() - 1) * std::size_t(V), V, text[t]);
  }
  return total / double(text.size() - from);
}

// Forward FLOPs per training row of a transformer block: the four d×d projections and the 4×
// MLP (24·d² multiply-adds counted twice), attention over `keys` keys (4·keys·d); the tied head
// 2·V·d per scored row. Training counts forward + backward as 3 × forward.
struct flop_model {
  double width, layers, vocab;
  double block(double keys) const { return layers * (24 * width * width + 4 * keys * width); }
  double head() const { return 2 * vocab * width; }
};

// A GPT iteration: `rows` sequences of T tokens, each token through the stack and the head.
inline double gpt_train_flops(const flop_model& m, double rows, double T) { return 3 * rows * T * (m.block(T) + m.head()); }

// A pinned-past WFC iteration: the clean stream once (no head), then K steps of every slot (each
// slot sees T clean keys and T slot keys) with the head at each step.
inline double wfc_train_flops(const flop_model& m, double rows, double T, double K) {
  return 3 * rows * T * (m.block(T) + K * (m.block(2 * T) + m.head()));
}

// A drifting-past iteration: the whole window (T + 1 rows) moves K steps; F slots are scored.
inline double drifting_train_flops(const flop_model& m, double rows, double T, double K, double F) {
  return 3 * rows * (K * (T + 1) * m.block(T + 1) + K * F * m.head());
}

}  // namespace study
