// The oracle bound on multi-token collapse (issue 5): how many characters per convergence could an
// *ideal* entropy_threshold{τ} generator emit on a text, and at what cost in sample quality?
//
// A WFC model's slot k stands for the character k places after the next, given only the past:
// the best it can converge to is the exact marginal p(x_{t+1+k} | x_≤t), with the characters in
// between summed out. A trained GPT p gives that marginal without any WFC training:
//   slot 0   p(x_{t+1} | x_≤t), one row of logits;
//   slot 1   Σ_a p(a | x_≤t) · p(· | x_≤t, a), exactly: the V continuations in one batched forward;
//   slot k≥2 a Monte-Carlo mixture: the mean of p(· | x_≤t, path) over M sampled paths of k
//            characters (the first drawn systematically from p(· | x_≤t)).
// Every continuation attends to the context's keys and values, computed once and shared through a
// view with stride 0 over the sequences, so a convergence costs |context| + V + (2 + … + F−1)·M
// rows, not V·|context|.
//
// With these oracle marginals the program simulates the ideal generator with F future slots, as
// wfc::collapse::entropy_threshold{τ} decides (entropies in bits of the untempered marginals; each
// collapsed slot drawn independently from its own marginal at the sampling temperature, which is
// what collapsing several slots from one converged state does):
//   prefix  slot 0 is drawn, and so is each following slot while its marginal is under τ; the first
//           slot at or above τ ends the convergence (only the contiguous prefix is emitted).
//   pinned  the policy as the generator runs it: every free slot under τ is drawn and pinned, and a
//           pin leaves with the prefix once the slots before it have collapsed. Later convergences
//           condition on the pins, as an ideal WFC model's solves would: slot 0 exactly when the
//           first pin is slot 1 (p(a | x_≤t) · p(pin | x_≤t, a)), otherwise by weighting the M
//           paths with the pins' likelihoods (the paths are forced through the pins); a free slot
//           with a pin after it gets the weighted histogram of the paths' characters there (the
//           runs count how often).
// τ = 0 is first_future: plain ancestral sampling from the GPT, one character per convergence.
// Each configuration generates from the same validation prompts with the same draws, and the text
// is scored under the same GPT (every character given the preceding block − F + 1 characters).
//
// Why this bounds a WFC model of this quality: a WFC slot is trained to predict exactly this
// marginal from the same past (its target is the character k + 1 ahead, whatever comes between),
// so the oracle's slot distributions are what a perfectly trained slot would hold for a model that
// knows the text as well as this GPT does. A calibrated slot's mean entropy is its mean NLL, so a
// slot that predicts the character two ahead worse than the oracle (a WFC model's slot-1 NLL against
// the oracle's, below) is on average less sure of it, not more; the oracle's fraction of slots under
// τ, which alone sets how many characters a convergence emits, is thus the fair ceiling for such a
// model (a heuristic, not a theorem: the fraction under τ depends on the spread, not the mean). The
// NLL side is the policy's own cost: collapsing a slot draws from its marginal, not from the
// character's conditional given the slots before it. (Two ways out that this does not cover: a
// better language model, whose marginals are sharper, and an overconfident slot: it crosses τ more
// often, but then draws from the wrong distribution; note too that a sharper draw can lower the
// NLL under the GPT, which rewards low-entropy text, without being better text.) It also reports,
// over validation positions (teacher forced), how often each slot's marginal is under each τ, the
// slots' NLL of the true text under their marginals (to set beside a WFC model's NLL by offset),
// and the characters per convergence the prefix rule would emit there.
//
//   ./oracle_collapse --data tinyshakespeare.txt --checkpoint gpt.safetensors --out oracle.json --threads 1
//   ./oracle_collapse --data tinyshakespeare.txt --positions rotary --save gpt.safetensors ...   (trains first)
#include "study/common.hpp"

#include <algorithm>
#include <map>
#include <numeric>
#include <optional>

namespace {

using namespace study;
using wfc::split;
using wfc::tensor;
using wfc::tensor_view;

// ---- One GPT's forward pass over a shared context --------------------------------------------

// The GPT's layers over its parameter buffer, with one context cached: set_context() runs the
// context and keeps its keys and values; continue_with() runs S sequences of a few tokens each on
// top of it (their queries see the context's keys through a [S, P, width] view whose sequence
// stride is 0). Both return the logits on the host, [rows, vocab].
template <class Gpt>
class shared_context_forward {
  using T = float;
  using B = backend;
  using Positions = typename Gpt::positions_policy;
  template <std::size_t R>
  using buffer = tensor<T, R, B>;

 public:
  explicit shared_context_forward(Gpt& model) : model_(model), c_(model.config()) {
    wte_ = wfc::nn::embedding(layout_, "wte", c_.vocab, c_.width);
    if constexpr (!Positions::rotary) wpe_ = wfc::nn::embedding(layout_, "wpe", c_.block, c_.width);
    for (index_t l = 0; l < c_.layers; ++l)
      blocks_.emplace_back(layout_, "h." + std::to_string(l), c_.width, c_.heads, 4 * c_.width, c_.bias);
    ln_f_ = wfc::nn::layer_norm(layout_, "ln_f", c_.width, c_.bias);
    const auto& mine = layout_.specs();
    const auto& theirs = model.layout().specs();
    bool same = mine.size() == theirs.size() && layout_.size() == model.layout().size();
    for (std::size_t i = 0; same && i < mine.size(); ++i)
      same = mine[i].name == theirs[i].name && mine[i].offset == theirs[i].offset && mine[i].extents == theirs[i].extents;
    if (!same) throw wfc::config_error("oracle: the GPT's parameter layout is not the one wfc::gpt builds; update shared_context_forward");
    causal_ = tensor<bool, 2, B>(wfc::shape<2>{{c_.block, c_.block}}, wfc::attention_mask(wfc::masks::causal{}, c_.block));
    for (index_t l = 0; l < c_.layers; ++l) {
      keys_.emplace_back(c_.block, c_.width);
      values_.emplace_back(c_.block, c_.width);
    }
  }

  index_t context_size() const { return context_; }

  std::vector<T> set_context(const std::vector<token_id>& ids) {
    context_ = 0;
    std::vector<T> logits = run(ids, 1, true);
    context_ = index_t(ids.size());
    return logits;
  }

  // ids: row-major [sequences, steps].
  std::vector<T> continue_with(const std::vector<token_id>& ids, index_t sequences) { return run(ids, sequences, false); }

 private:
  struct pass {
    tensor<token_id, 1, B> ids, positions;
    buffer<2> pos_embed, final, logits;
    buffer<1> mean, rstd;
    std::vector<buffer<2>> stream;
    std::vector<wfc::block_buffers<T, B>> acts;
  };

  pass& pass_for(index_t sequences, index_t steps) {
    auto found = passes_.find({sequences, steps});
    if (found != passes_.end()) return found->second;
    pass& t = passes_[{sequences, steps}];
    const index_t n = sequences * steps, d = c_.width;
    t.ids = tensor<token_id, 1, B>(n);
    t.positions = tensor<token_id, 1, B>(n);
    t.pos_embed = buffer<2>(n, d);
    for (index_t l = 0; l <= c_.layers; ++l) t.stream.emplace_back(n, d);
    for (index_t l = 0; l < c_.layers; ++l) t.acts.emplace_back(sequences, steps, c_.block, d, c_.heads);
    t.final = buffer<2>(n, d);
    t.mean = buffer<1>(n);
    t.rstd = buffer<1>(n);
    t.logits = buffer<2>(n, c_.vocab);
    return t;
  }

  // A [sequences, past, width] view of one cached segment, the same rows for every sequence.
  tensor_view<const T, 3> broadcast(const buffer<2>& segment, index_t sequences, index_t past) const {
    const auto v = segment.cview();
    return {v.data(), wfc::shape<3>{{sequences, past, c_.width}}, wfc::shape<3>{{0, v.stride(0), v.stride(1)}}};
  }

  std::vector<T> run(const std::vector<token_id>& ids, index_t sequences, bool context) {
    const B be{};
    if (sequences <= 0 || ids.empty() || ids.size() % std::size_t(sequences) != 0)
      throw wfc::shape_error("oracle: " + std::to_string(ids.size()) + " tokens are not " + std::to_string(sequences) + " equal sequences");
    const index_t steps = index_t(ids.size()) / sequences, past = context ? 0 : context_, d = c_.width;
    if (past + steps > c_.block)
      throw wfc::shape_error("oracle: " + std::to_string(past) + " context + " + std::to_string(steps) + " tokens exceed the block " +
                             std::to_string(c_.block));
    if (!context && past == 0) throw wfc::config_error("oracle: continue_with before set_context");
    pass& t = pass_for(sequences, steps);
    t.ids.copy_from_host(ids);
    host_positions_.resize(ids.size());
    for (std::size_t i = 0; i < ids.size(); ++i) host_positions_[i] = token_id(past + index_t(i) % steps);
    t.positions.copy_from_host(host_positions_);
    const tensor_view<const T, 1> p = model_.parameters();
    wte_.forward(be, t.stream[0].view(), t.ids.cview(), p);
    if constexpr (!Positions::rotary) {
      wpe_.forward(be, t.pos_embed.view(), t.positions.cview(), p);
      wfc::axpy(be, t.stream[0].view(), T(1), t.pos_embed.cview());
    }
    wfc::nn::attention_context<T> ctx;
    ctx.keep = causal_.cview().slice(0, past, past + steps).slice(1, 0, past + steps);
    ctx.sequences = sequences;
    if constexpr (Positions::rotary) ctx.positions = t.positions.cview();
    for (std::size_t l = 0; l < blocks_.size(); ++l) {
      const auto a = t.acts[l].view(past + steps);
      if (past > 0) {
        ctx.past_keys = broadcast(keys_[l], sequences, past);
        ctx.past_values = broadcast(values_[l], sequences, past);
      }
      blocks_[l].forward(be, t.stream[l + 1].view(), a, t.stream[l].cview(), ctx, p);
      if (!context) continue;
      const auto rows = wfc::as_const(a.attn.qkv);  // the context's (rotated) keys and values
      wfc::copy(be, keys_[l].view().slice(0, 0, steps), rows.slice(1, d, 2 * d));
      wfc::copy(be, values_[l].view().slice(0, 0, steps), rows.slice(1, 2 * d, 3 * d));
    }
    ln_f_.forward(be, t.final.view(), t.mean.view(), t.rstd.view(), t.stream.back().cview(), p);
    wfc::gemm(be, t.logits.view(), t.final.cview(), wfc::transpose(wte_.table(p)));  // tied head
    return wfc::to_host<B>(t.logits.cview());
  }

  Gpt& model_;
  wfc::gpt_config c_;
  wfc::nn::parameter_layout layout_;
  wfc::nn::embedding wte_, wpe_;
  std::vector<wfc::nn::transformer_block> blocks_;
  wfc::nn::layer_norm ln_f_;
  tensor<bool, 2, B> causal_;
  std::vector<buffer<2>> keys_, values_;  // per layer [block, width]: the context's
  index_t context_ = 0;
  std::map<std::pair<index_t, index_t>, pass> passes_;
  std::vector<token_id> host_positions_;
};

// ---- Distributions ---------------------------------------------------------------------------

using dist = std::vector<double>;

dist softmax_row(const std::vector<float>& logits, index_t row, index_t V) {
  const float* r = logits.data() + std::size_t(row * V);
  double top = r[0];
  for (index_t v = 1; v < V; ++v) top = std::max(top, double(r[v]));
  dist p(static_cast<std::size_t>(V));
  double total = 0;
  for (index_t v = 0; v < V; ++v) total += p[std::size_t(v)] = std::exp(double(r[v]) - top);
  for (double& x : p) x /= total;
  return p;
}

double entropy_bits(const dist& p) {
  double h = 0;
  for (double x : p)
    if (x > 0) h -= x * std::log2(x);
  return h;
}

void normalise(dist& p) {
  const double total = std::accumulate(p.begin(), p.end(), 0.0);
  for (double& x : p) x /= total;
}

// A draw from p^(1/temperature), normalised (the softmax of logits/temperature when p is a
// softmax); temperature 0 is greedy. u is uniform in [0, 1).
token_id draw(const dist& p, double temperature, double u) {
  if (temperature == 0) return token_id(std::max_element(p.begin(), p.end()) - p.begin());
  dist q = p;
  if (temperature != 1)
    for (double& x : q) x = x > 0 ? std::pow(x, 1 / temperature) : 0;
  const double target = u * std::accumulate(q.begin(), q.end(), 0.0);
  double running = 0;
  for (std::size_t i = 0; i + 1 < q.size(); ++i)
    if ((running += q[i]) > target) return token_id(i);
  return token_id(q.size() - 1);
}

// M draws from p spread systematically (one uniform): each token about M·p times.
std::vector<token_id> systematic(const dist& p, index_t M, double u) {
  std::vector<token_id> out(static_cast<std::size_t>(M));
  double running = p[0];
  std::size_t v = 0;
  for (index_t j = 0; j < M; ++j) {
    const double target = (double(j) + u) / double(M);
    while (running <= target && v + 1 < p.size()) running += p[++v];
    out[std::size_t(j)] = token_id(v);
  }
  return out;
}

// ---- The oracle at one context ---------------------------------------------------------------

// Per convergence: the context's last row (slot 0), and, computed on demand, the exact slot-1
// rows p(· | context, a) for every a and M paths with their predictive rows per depth.
template <class Gpt>
struct oracle {
  shared_context_forward<Gpt>& fwd;
  index_t V, F, M;

  dist p0;
  std::vector<float> context_logits;  // [n, V]
  std::vector<dist> p1;               // [V]: p(· | context, a)
  std::vector<std::vector<token_id>> path;  // [M][depth]: the paths' characters at slots 0, 1, …
  std::vector<std::vector<dist>> predictive;  // [depth][M]: p(slot depth | context, path[0 … depth−1]), depth ≥ 1

  void set_context(const std::vector<token_id>& ctx) {
    context_logits = fwd.set_context(ctx);
    p0 = softmax_row(context_logits, index_t(ctx.size()) - 1, V);
    p1.clear();
    path.assign(std::size_t(M), {});
    predictive.assign(1, {});
  }

  void compute_slot1() {
    if (!p1.empty()) return;
    std::vector<token_id> ids(static_cast<std::size_t>(V));
    std::iota(ids.begin(), ids.end(), token_id(0));
    const auto logits = fwd.continue_with(ids, V);
    for (index_t a = 0; a < V; ++a) p1.push_back(softmax_row(logits, a, V));
  }

  // Exact: Σ_a r(a) p(· | context, a).
  dist slot1_marginal(const dist& r) const {
    dist m(std::size_t(V), 0.0);
    for (index_t a = 0; a < V; ++a)
      if (r[std::size_t(a)] > 0)
        for (index_t v = 0; v < V; ++v) m[std::size_t(v)] += r[std::size_t(a)] * p1[std::size_t(a)][std::size_t(v)];
    return m;
  }

  // Runs the paths' first `depth` characters (depth ≥ 2; all paths hold them) and stores the
  // predictive rows of slot `depth`.
  void extend_paths(index_t depth) {
    std::vector<token_id> ids;
    ids.reserve(std::size_t(M * depth));
    for (const auto& p : path) ids.insert(ids.end(), p.begin(), p.begin() + depth);
    const auto logits = fwd.continue_with(ids, M);
    std::vector<dist> rows;
    for (index_t j = 0; j < M; ++j) rows.push_back(softmax_row(logits, j * depth + depth - 1, V));
    if (index_t(predictive.size()) <= depth) predictive.resize(std::size_t(depth + 1));
    predictive[std::size_t(depth)] = std::move(rows);
  }
};

// Weighted mixture Σ_j w_j rows_j / Σ_j w_j.
dist mixture(const std::vector<dist>& rows, const std::vector<double>& w) {
  dist m(rows[0].size(), 0.0);
  double total = 0;
  for (std::size_t j = 0; j < rows.size(); ++j) {
    total += w[j];
    for (std::size_t v = 0; v < m.size(); ++v) m[v] += w[j] * rows[j][v];
  }
  for (double& x : m) x /= total;
  return m;
}

// ---- Simulated generation --------------------------------------------------------------------

struct run_settings {
  std::string variant;  // "first_future", "prefix" or "pinned"
  double tau = 0, temperature = 1;
};

struct run_result {
  index_t tokens = 0, convergences = 0, slot1_under = 0;
  index_t deferred = 0;             // pinned: characters emitted after the convergence that pinned them
  index_t empirical_estimates = 0;  // pinned: slot distributions estimated by a weighted histogram
  double nll = 0;                     // summed over the generated characters
  std::vector<double> prompt_nll;     // mean per prompt
  std::vector<index_t> emitted_histogram;  // convergences that emitted 1, 2, … characters
  std::vector<std::string> samples;
  std::vector<token_id> first_text;  // prompt 0 and its continuation
  double first_nll = 0;              // its continuation's mean NLL as scored here
};

struct generation_settings {
  index_t prompt_length = 64, per_prompt = 200, window = 61, F = 4, M = 64;
  std::uint64_t seed = 1;
};

// Draw indices: slot draws at 16·convergence + slot of stream (prompt); the paths' draws in
// other streams, so every configuration's slot-0 draws are the first_future run's.
template <class Gpt>
run_result simulate(oracle<Gpt>& o, const std::vector<std::vector<token_id>>& prompts, const generation_settings& g,
                    const run_settings& r, const wfc::char_tokenizer& tok) {
  const index_t V = o.V, F = g.F, M = g.M;
  run_result out;
  out.emitted_histogram.assign(std::size_t(F), 0);
  for (std::size_t s = 0; s < prompts.size(); ++s) {
    const wfc::counter_rng slots(g.seed, 3 * s), paths(g.seed, 3 * s + 1), systematic_rng(g.seed, 3 * s + 2);
    std::uint64_t path_draws = 0;
    std::vector<token_id> text = prompts[s];
    const std::size_t start = text.size();
    std::size_t scored = start;
    double nll = 0;
    std::vector<token_id> pin(std::size_t(F), -1);  // pinned characters by slot (pinned variant)
    std::vector<index_t> born(std::size_t(F), -1);  // the convergence that pinned each
    auto score = [&] {  // the characters after the last scored one, from the context pass's rows
      const std::size_t first = text.size() - std::size_t(o.fwd.context_size());
      for (; scored < text.size(); ++scored)
        nll += row_nll(o.context_logits.data() + (scored - 1 - first) * std::size_t(V), V, text[scored]);
    };
    for (index_t conv = 0; index_t(text.size() - start) < g.per_prompt; ++conv) {
      const std::size_t n = std::min<std::size_t>(text.size(), std::size_t(g.window));
      o.set_context(std::vector<token_id>(text.end() - std::ptrdiff_t(n), text.end()));
      score();
      ++out.convergences;
      auto u = [&](index_t slot) { return slots.uniform<double>(std::uint64_t(16 * conv + slot)); };
      std::vector<token_id> emit;
      if (r.variant == "first_future") {
        emit.push_back(draw(o.p0, r.temperature, u(0)));
      } else if (r.variant == "prefix") {
        emit.push_back(draw(o.p0, r.temperature, u(0)));
        o.compute_slot1();
        dist m = o.slot1_marginal(o.p0);
        out.slot1_under += entropy_bits(m) < r.tau;
        for (index_t k = 1; k < F && entropy_bits(m) < r.tau; ++k) {
          emit.push_back(draw(m, r.temperature, u(k)));
          if (k + 1 == F) break;
          if (k == 1) {  // the paths' first two characters
            const auto first = systematic(o.p0, M, systematic_rng.uniform<double>(std::uint64_t(conv)));
            for (index_t j = 0; j < M; ++j) {
              o.path[std::size_t(j)] = {first[std::size_t(j)]};
              o.path[std::size_t(j)].push_back(draw(o.p1[std::size_t(first[std::size_t(j)])], 1, paths.uniform<double>(path_draws++)));
            }
          } else {
            for (index_t j = 0; j < M; ++j)
              o.path[std::size_t(j)].push_back(draw(o.predictive[std::size_t(k)][std::size_t(j)], 1, paths.uniform<double>(path_draws++)));
          }
          o.extend_paths(k + 1);
          m = mixture(o.predictive[std::size_t(k + 1)], std::vector<double>(std::size_t(M), 1.0));
        }
      } else {  // pinned
        o.compute_slot1();
        // Slot 0's proposal: exact given a pin at slot 1.
        dist r0 = o.p0;
        if (pin[1] >= 0) {
          for (index_t a = 0; a < V; ++a) r0[std::size_t(a)] *= o.p1[std::size_t(a)][std::size_t(pin[1])];
          normalise(r0);
        }
        index_t last_pin = 0;
        for (index_t k = 1; k < F; ++k)
          if (pin[std::size_t(k)] >= 0) last_pin = k;
        // The paths through the pins, weighted by the pins' likelihoods beyond slot 1.
        std::vector<double> w(std::size_t(M), 1.0);
        std::vector<std::vector<double>> w_before(static_cast<std::size_t>(F));  // weights from the pins before slot k
        {
          const auto first = systematic(r0, M, systematic_rng.uniform<double>(std::uint64_t(conv)));
          for (index_t j = 0; j < M; ++j) o.path[std::size_t(j)] = {first[std::size_t(j)]};
          for (index_t k = 1; k < F; ++k) {
            w_before[std::size_t(k)] = w;
            if (k >= 2) o.extend_paths(k);
            if (k + 1 >= F && pin[std::size_t(k)] < 0) break;  // the last slot's character is not needed
            for (index_t j = 0; j < M; ++j) {
              const dist& row = k == 1 ? o.p1[std::size_t(o.path[std::size_t(j)][0])] : o.predictive[std::size_t(k)][std::size_t(j)];
              token_id x = pin[std::size_t(k)];
              if (x < 0) x = draw(row, 1, paths.uniform<double>(path_draws++));
              else if (k >= 2) w[std::size_t(j)] *= row[std::size_t(x)];
              o.path[std::size_t(j)].push_back(x);
            }
          }
        }
        auto histogram = [&](index_t k) {  // the paths' characters at slot k, weighted by every pin
          dist h(std::size_t(V), 0.0);
          for (index_t j = 0; j < M; ++j) h[std::size_t(o.path[std::size_t(j)][std::size_t(k)])] += w[std::size_t(j)];
          normalise(h);
          ++out.empirical_estimates;
          return h;
        };
        const dist q0 = last_pin >= 2 ? histogram(0) : r0;
        emit.push_back(draw(q0, r.temperature, u(0)));
        for (index_t k = 1; k < F; ++k) {
          if (pin[std::size_t(k)] >= 0) continue;
          dist m;
          if (last_pin > k) m = histogram(k);
          else if (k == 1) m = o.slot1_marginal(r0);
          else m = mixture(o.predictive[std::size_t(k)], w_before[std::size_t(k)]);
          const bool under = entropy_bits(m) < r.tau;
          if (k == 1) out.slot1_under += under;
          if (under) {
            pin[std::size_t(k)] = draw(m, r.temperature, u(k));
            born[std::size_t(k)] = conv;
          }
        }
        for (index_t k = 1; k < F && pin[std::size_t(k)] >= 0; ++k) {
          emit.push_back(pin[std::size_t(k)]);
          out.deferred += born[std::size_t(k)] < conv;
        }
        const std::size_t e = emit.size();  // the pins behind the emitted prefix move up
        for (std::size_t k = 0; k < pin.size(); ++k) {
          pin[k] = k + e < pin.size() ? pin[k + e] : -1;
          born[k] = k + e < born.size() ? born[k + e] : -1;
        }
      }
      const index_t room = g.per_prompt - index_t(text.size() - start);
      if (index_t(emit.size()) > room) emit.resize(std::size_t(room));
      ++out.emitted_histogram[emit.size() - 1];
      text.insert(text.end(), emit.begin(), emit.end());
      out.tokens += index_t(emit.size());
    }
    const std::size_t n = std::min<std::size_t>(text.size(), std::size_t(g.window));
    o.set_context(std::vector<token_id>(text.end() - std::ptrdiff_t(n), text.end()));
    score();
    out.nll += nll;
    out.prompt_nll.push_back(nll / double(text.size() - start));
    if (s == 0) {
      out.first_text = text;
      out.first_nll = nll / double(text.size() - start);
    }
    if (s < 2) out.samples.push_back(tok.decode(std::vector<token_id>(text.begin() + std::ptrdiff_t(start), text.end())));
  }
  return out;
}

// ---- Teacher-forced statistics over validation positions -------------------------------------

double mean(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0) / double(v.size()); }
double mean_abs(const std::vector<double>& v) {
  double total = 0;
  for (double x : v) total += std::abs(x);
  return total / double(v.size());
}

template <class Gpt>
json validation_entropies(oracle<Gpt>& o, const wfc::text_dataset& data, const generation_settings& g, index_t positions,
                          const std::vector<double>& taus) {
  const index_t F = g.F, M = g.M;
  const token_id* text = data.begin(split::validation);
  const index_t size = data.size(split::validation);
  std::vector<std::vector<double>> H(static_cast<std::size_t>(F)), nll(static_cast<std::size_t>(F));
  const wfc::counter_rng rng(g.seed, 1u << 20);
  std::uint64_t draws = 0;
  std::vector<double> mc_error;                         // slot 1: Monte-Carlo entropy − exact entropy (bits)
  std::vector<index_t> flips(taus.size(), 0);           // … and how often it puts the slot on the other side of τ
  for (index_t i = 0; i < positions; ++i) {
    const index_t t = g.window + (size - g.window - F) * i / positions;  // predicts text[t], text[t + 1], …
    o.set_context(std::vector<token_id>(text + t - g.window, text + t));
    std::vector<dist> m{o.p0};
    {
      o.compute_slot1();
      m.push_back(o.slot1_marginal(o.p0));
      const auto first = systematic(o.p0, M, rng.uniform<double>(draws++));
      for (index_t j = 0; j < M; ++j) o.path[std::size_t(j)] = {first[std::size_t(j)]};
      // The Monte-Carlo mixture where the exact marginal is known: slot 1 from the same paths.
      std::vector<dist> rows;
      for (token_id a : first) rows.push_back(o.p1[std::size_t(a)]);
      const double exact = entropy_bits(m[1]), estimate = entropy_bits(mixture(rows, std::vector<double>(std::size_t(M), 1.0)));
      mc_error.push_back(estimate - exact);
      for (std::size_t i = 0; i < taus.size(); ++i) flips[i] += (exact < taus[i]) != (estimate < taus[i]);
      for (index_t k = 2; k < F; ++k) {
        for (index_t j = 0; j < M; ++j) {
          const dist& row = k == 2 ? o.p1[std::size_t(o.path[std::size_t(j)][0])] : o.predictive[std::size_t(k - 1)][std::size_t(j)];
          o.path[std::size_t(j)].push_back(draw(row, 1, rng.uniform<double>(draws++)));
        }
        o.extend_paths(k);
        m.push_back(mixture(o.predictive[std::size_t(k)], std::vector<double>(std::size_t(M), 1.0)));
      }
    }
    for (index_t k = 0; k < F; ++k) {
      H[std::size_t(k)].push_back(entropy_bits(m[std::size_t(k)]));
      nll[std::size_t(k)].push_back(-std::log(std::max(m[std::size_t(k)][std::size_t(text[t + k])], 1e-300)));
    }
  }
  json out = {{"positions", positions}, {"slots", json::array()}, {"prefix_tokens_per_convergence", json::object()}};
  for (index_t k = 0; k < F; ++k) {
    const auto& h = H[std::size_t(k)];
    std::vector<double> sorted = h;
    std::sort(sorted.begin(), sorted.end());
    auto quantile = [&](double q) { return sorted[std::min(sorted.size() - 1, std::size_t(q * double(sorted.size())))]; };
    json slot = {{"slot", k},
                 {"mean_entropy_bits", std::accumulate(h.begin(), h.end(), 0.0) / double(h.size())},
                 {"entropy_quantiles_bits", {{"0.1", quantile(0.1)}, {"0.25", quantile(0.25)}, {"0.5", quantile(0.5)}, {"0.75", quantile(0.75)}}},
                 {"nll", std::accumulate(nll[std::size_t(k)].begin(), nll[std::size_t(k)].end(), 0.0) / double(h.size())},
                 {"fraction_under", json::object()}};
    for (double tau : taus)
      slot["fraction_under"][std::to_string(tau).substr(0, 4)] =
          double(std::count_if(h.begin(), h.end(), [&](double x) { return x < tau; })) / double(h.size());
    out["slots"].push_back(slot);
  }
  out["slot1_monte_carlo_check"] = {{"mean_entropy_error_bits", mean(mc_error)},
                                    {"mean_abs_entropy_error_bits", mean_abs(mc_error)},
                                    {"decision_flips", json::object()}};
  for (std::size_t i = 0; i < taus.size(); ++i)
    out["slot1_monte_carlo_check"]["decision_flips"][std::to_string(taus[i]).substr(0, 4)] = double(flips[i]) / double(positions);
  // What the prefix rule would emit at these positions: 1 + the run of slots under τ after slot 0.
  for (double tau : taus) {
    double tokens = 0;
    for (std::size_t i = 0; i < H[0].size(); ++i) {
      tokens += 1;
      for (index_t k = 1; k < F && H[std::size_t(k)][i] < tau; ++k) tokens += 1;
    }
    out["prefix_tokens_per_convergence"][std::to_string(tau).substr(0, 4)] = tokens / double(H[0].size());
  }
  return out;
}

// ---- The program -----------------------------------------------------------------------------

struct options {
  std::string data, checkpoint, save, out = "oracle_collapse.json", positions = "rotary";
  wfc::gpt_config model;
  wfc::trainer_settings train;
  std::vector<double> taus{0, 0.25, 0.5, 1, 2, 3}, temperatures{1.0, 0.8};
  std::vector<std::string> variants{"prefix", "pinned"};
  index_t characters = 4000, prompts = 20, prompt_length = 64, future = 4, paths = 64, entropy_positions = 1000;
  std::uint64_t seed = 1;
  int threads = 0;
};

double standard_error(const std::vector<double>& v) {
  if (v.size() < 2) return 0;
  const double m = mean(v);
  double ss = 0;
  for (double x : v) ss += (x - m) * (x - m);
  return std::sqrt(ss / double(v.size() - 1) / double(v.size()));
}

template <class Positions>
int run(const options& o) {
  using namespace wfc;
  using Gpt = gpt<float, backend, Positions>;
  const auto begin = std::chrono::steady_clock::now();
  const std::string text = read_text_file(o.data);
  if (text.empty()) throw io_error("'" + o.data + "' holds no text");
  std::optional<checkpoint> loaded;
  if (!o.checkpoint.empty()) loaded.emplace(checkpoint::load(o.checkpoint));
  const char_tokenizer tok = loaded ? loaded->tokenizer() : char_tokenizer::from_text(text);
  const text_dataset data(tok.encode(text));
  gpt_config config = o.model;
  trainer_settings settings = o.train;
  if (loaded) {
    config = loaded->gpt();
    if (loaded->has_training()) settings = loaded->settings();
    settings.block = config.block;
  } else {
    config.vocab = tok.vocab_size();
    config.block = settings.block;
  }
  generation_settings g;  // checked before any training
  g.F = o.future;
  g.M = o.paths;
  g.window = config.block - (o.future - 1);
  g.prompt_length = o.prompt_length;
  g.per_prompt = (o.characters + o.prompts - 1) / o.prompts;
  g.seed = o.seed;
  if (g.F < 2 || g.window < 2 || g.M < 1 || o.prompts < 1 || g.per_prompt < 1 || o.entropy_positions < 1 || g.prompt_length < g.window)
    throw config_error("oracle: --future must be at least 2 and below the block, --paths, --prompts, --characters and "
                       "--entropy-positions positive, and --prompt-length at least the context (block − F + 1 = " + std::to_string(g.window) + ")");
  // The prompts and the entropy positions are windows of the validation text.
  const index_t validation = data.size(split::validation), needed = std::max(g.prompt_length, g.window + g.F);
  if (validation < needed)
    throw config_error("oracle: the validation text has " + std::to_string(validation) + " characters; --prompt-length (" +
                       std::to_string(g.prompt_length) + ") and the context plus F (" + std::to_string(g.window + g.F) + ") need " +
                       std::to_string(needed));
  Gpt model(config);
  json results = {{"data", o.data}, {"threads", wfc_examples::thread_note<backend>()}};
  if (loaded) {
    loaded->restore(model);
    results["checkpoint"] = o.checkpoint;
  } else {
    settings.validate();
    model.initialise(settings.seed);
    const auto s = train(model, data, settings, training_log{"GPT"});
    results["training"] = {{"iterations", settings.iterations}, {"seconds", s.seconds}};
    if (!o.save.empty()) save_checkpoint(o.save, model, tok);
  }
  const double val = evaluate(model, data, split::validation, settings);
  results["model"] = describe_model(model);
  results["val_loss"] = val;
  std::fprintf(stderr, "GPT: %s positions, val loss %.4f\n", Positions::rotary ? "rotary" : "learned", val);

  shared_context_forward<Gpt> fwd(model);

  // The shared-context pass must give the GPT's own logits.
  {
    const token_id* v = data.begin(split::validation);
    const std::vector<token_id> ctx(v, v + g.window), more(v + g.window, v + g.window + (o.future - 1));
    std::vector<token_id> whole = ctx;
    whole.insert(whole.end(), more.begin(), more.end());
    const auto reference = to_host<backend>(model.logits(whole, 1));
    fwd.set_context(ctx);
    const auto mine = fwd.continue_with(std::vector<token_id>(more.begin(), more.end()), 1);
    double worst = 0;
    for (std::size_t i = 0; i < mine.size(); ++i) worst = std::max(worst, std::abs(double(mine[i]) - double(reference[ctx.size() * std::size_t(config.vocab) + i])));
    results["shared_context_max_logit_error"] = worst;
    if (!(worst < 1e-3)) throw value_error("oracle: the shared-context forward differs from the GPT's by " + std::to_string(worst));
  }

  oracle<Gpt> orc{fwd, config.vocab, g.F, g.M, {}, {}, {}, {}, {}};
  std::vector<double> thresholds = {0.25, 0.5, 1, 2, 3};
  for (double t : o.taus)
    if (t > 0 && std::find(thresholds.begin(), thresholds.end(), t) == thresholds.end()) thresholds.push_back(t);
  std::sort(thresholds.begin(), thresholds.end());
  auto t0 = std::chrono::steady_clock::now();
  results["validation"] = validation_entropies(orc, data, g, o.entropy_positions, thresholds);
  results["validation"]["seconds"] = seconds_since(t0);
  std::fprintf(stderr, "validation entropies: %.0f s\n", seconds_since(t0));

  std::vector<std::vector<token_id>> prompts;
  const index_t span = data.size(split::validation) - g.prompt_length;
  for (index_t i = 0; i < o.prompts; ++i) {
    const token_id* at = data.begin(split::validation) + span * i / o.prompts;
    prompts.emplace_back(at, at + g.prompt_length);
  }
  results["generation"] = {{"prompts", o.prompts},       {"characters_per_prompt", g.per_prompt}, {"prompt_length", g.prompt_length},
                           {"future", g.F},              {"paths", g.M},                          {"context", g.window},
                           {"seed", o.seed},             {"runs", json::array()}};
  for (double temperature : o.temperatures) {
    std::vector<double> baseline;
    for (double tau : o.taus) {
      for (const std::string& variant : o.variants) {
        if (tau == 0 && variant != o.variants.front()) continue;  // first_future: one run
        const run_settings r{tau == 0 ? "first_future" : variant, tau, temperature};
        t0 = std::chrono::steady_clock::now();
        const run_result res = simulate(orc, prompts, g, r, tok);
        const double seconds = seconds_since(t0);
        if (tau == 0) baseline = res.prompt_nll;
        json row = {{"variant", r.variant},
                    {"tau", tau},
                    {"temperature", temperature},
                    {"characters", res.tokens},
                    {"convergences", res.convergences},
                    {"tokens_per_convergence", double(res.tokens) / double(res.convergences)},
                    {"nll", res.nll / double(res.tokens)},
                    {"nll_se_prompts", standard_error(res.prompt_nll)},
                    {"slot1_under_tau", double(res.slot1_under) / double(res.convergences)},
                    {"emitted_histogram", res.emitted_histogram},
                    {"seconds", seconds},
                    {"samples", res.samples}};
        // The scoring here (a window of block − F + 1 characters) against the study's nll_under (up
        // to a block) on prompt 0's continuation.
        row["nll_check"] = {{"scored_here", res.first_nll}, {"nll_under", nll_under(model, res.first_text, std::size_t(g.prompt_length))}};
        if (r.variant == "pinned") {
          row["empirical_estimates"] = res.empirical_estimates;
          row["deferred_pins"] = res.deferred;
        }
        if (!baseline.empty() && tau > 0) {
          std::vector<double> diff;
          for (std::size_t i = 0; i < baseline.size(); ++i) diff.push_back(res.prompt_nll[i] - baseline[i]);
          row["nll_minus_first_future"] = mean(diff);
          row["nll_minus_first_future_se"] = standard_error(diff);
        }
        std::fprintf(stderr, "T %.2f %-12s τ %.2f: %.3f tokens/convergence, NLL %.4f ± %.4f (%lld characters, %.0f s)\n", temperature,
                     r.variant.c_str(), tau, row["tokens_per_convergence"].get<double>(), row["nll"].get<double>(),
                     row["nll_se_prompts"].get<double>(), static_cast<long long>(res.tokens), seconds);
        results["generation"]["runs"].push_back(row);
        results["seconds"] = seconds_since(begin);
        write_file_atomically(o.out, results.dump(2) + "\n");
      }
    }
  }

  // The table.
  const json& v = results["validation"];
  std::printf("GPT (%s positions) val loss %.4f; oracle context %lld characters, F %lld, M %lld paths\n\n",
              Positions::rotary ? "rotary" : "learned", val, static_cast<long long>(g.window), static_cast<long long>(g.F),
              static_cast<long long>(g.M));
  std::printf("Validation positions (%lld, teacher forced): slot, mean entropy (bits), NLL of the true character (nats), fraction under τ\n",
              static_cast<long long>(o.entropy_positions));
  for (const auto& s : v["slots"]) {
    std::printf("| %lld | %.3f | %.4f |", static_cast<long long>(s["slot"].get<index_t>()), s["mean_entropy_bits"].get<double>(),
                s["nll"].get<double>());
    for (const auto& item : s["fraction_under"].items()) std::printf(" <%s: %.3f |", item.key().c_str(), double(item.value()));
    std::printf("\n");
  }
  std::printf("prefix tokens/convergence at validation positions:");
  for (const auto& item : v["prefix_tokens_per_convergence"].items()) std::printf(" τ %s: %.3f;", item.key().c_str(), double(item.value()));
  std::printf("\n\n| T | variant | τ (bits) | tokens/convergence | NLL (nats/char) | ± (prompts) | − first_future | ± (paired) | slot 1 under τ |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|\n");
  for (const auto& row : results["generation"]["runs"]) {
    std::printf("| %.2f | %s | %.2f | %.3f | %.4f | %.4f |", row["temperature"].get<double>(), row["variant"].get<std::string>().c_str(),
                row["tau"].get<double>(), row["tokens_per_convergence"].get<double>(), row["nll"].get<double>(),
                row["nll_se_prompts"].get<double>());
    if (row.contains("nll_minus_first_future"))
      std::printf(" %+.4f | %.4f |", row["nll_minus_first_future"].get<double>(), row["nll_minus_first_future_se"].get<double>());
    else
      std::printf(" — | — |");
    std::printf(" %.3f |\n", row["slot1_under_tau"].get<double>());
  }
  results["seconds"] = seconds_since(begin);
  write_file_atomically(o.out, results.dump(2) + "\n");
  std::printf("\nwall time %s; results in %s\n", wfc_examples::duration(seconds_since(begin)).c_str(), o.out.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  CLI::App app{"The oracle bound on entropy_threshold collapse (issue 5): an ideal WFC generator built from a GPT's exact "
               "(slot 1) and Monte-Carlo (later slots) marginals; characters per convergence and sample NLL per τ."};
  app.option_defaults()->always_capture_default();
  app.add_option("--data", o.data, "the text (UTF-8); the last 10% validates and gives the prompts")->required();
  app.add_option("--checkpoint", o.checkpoint, "a GPT checkpoint (`wfc train --model gpt`); without it a GPT trains first");
  app.add_option("--save", o.save, "where to save the GPT trained here (a checkpoint for later runs)");
  app.add_option("--positions", o.positions, "learned or rotary (training here; a checkpoint says its own)");
  wfc_examples::add_model_options(app, o.model);
  wfc_examples::add_trainer_options(app, o.train);
  app.remove_option(app.get_option("--seed"));  // --seed is the generation's here
  app.add_option("--train-seed", o.train.seed, "initialisation and batch seed of the GPT trained here");
  app.add_option("--taus", o.taus, "entropy thresholds in bits (0: first_future, the baseline)")->delimiter(',');
  app.add_option("--temperatures", o.temperatures, "sampling temperatures")->delimiter(',');
  app.add_option("--variants", o.variants, "prefix (only the contiguous collapsed prefix) and/or pinned (the generator's policy)")
      ->delimiter(',');
  app.add_option("--characters", o.characters, "characters generated per configuration (over all prompts)");
  app.add_option("--prompts", o.prompts, "prompts, evenly spaced windows of the validation text");
  app.add_option("--prompt-length", o.prompt_length, "characters per prompt");
  app.add_option("--future", o.future, "F, future slots");
  app.add_option("--paths", o.paths, "M, Monte-Carlo paths for the slots after slot 1");
  app.add_option("--entropy-positions", o.entropy_positions, "validation positions for the teacher-forced entropy statistics");
  app.add_option("--seed", o.seed, "seed of the generation draws and Monte-Carlo paths");
  app.add_option("--out", o.out, "the results file (JSON), rewritten after each configuration");
  app.add_option("--threads", o.threads, "OpenMP threads (0: OpenMP's default)");
  CLI11_PARSE(app, argc, argv);
  return wfc_examples::exit_code([&] {
    wfc_examples::set_threads(o.threads);
    for (double t : o.taus)
      if (!(t >= 0)) throw wfc::config_error("--taus must be ≥ 0 bits");
    for (double t : o.temperatures)
      if (!(t >= 0) || !std::isfinite(t)) throw wfc::config_error("--temperatures must be finite and ≥ 0");
    for (const auto& v : o.variants)
      if (v != "prefix" && v != "pinned") throw wfc::config_error("--variants are prefix and pinned, not '" + v + "'");
    std::string positions = o.positions;
    if (!o.checkpoint.empty()) positions = wfc::checkpoint::load(o.checkpoint).policy("positions");
    if (positions == "rotary") return run<wfc::rotary_positions>(o);
    if (positions == "learned") return run<wfc::learned_positions>(o);
    throw wfc::config_error("--positions must be learned or rotary, got '" + positions + "'");
  });
}
