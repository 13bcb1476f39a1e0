#pragma once
// The decoder-only GPT baseline, built from the nn modules: token embeddings plus a position policy
// (learned table or rotary), `layers` pre-LayerNorm blocks with causal attention, a final LayerNorm
// and a head tied to the token embedding; cross-entropy loss. Parameters and gradients are two flat
// buffers; forward keeps every activation backward needs, sized for the last batch shape.
//
// Generation uses a key/value cache: extend() feeds new tokens, their queries attend to the cached
// keys/values of earlier tokens, and their own keys/values are appended, so each new token costs
// one row through the stack instead of the whole context.
#include <cmath>
#include <vector>

#include "wfc/model/block_buffers.hpp"
#include "wfc/model/initialise.hpp"
#include "wfc/nn/block.hpp"
#include "wfc/nn/embedding.hpp"
#include "wfc/nn/layer_norm.hpp"
#include "wfc/nn/masks.hpp"
#include "wfc/nn/positions.hpp"

namespace wfc {

struct gpt_config {
  index_t vocab = 65, block = 64, width = 128, heads = 4, layers = 4;
  bool bias = false;  // biases in the linear layers and norms: GPT-2 has them, nanoGPT's default drops them

  void validate() const {
    if (vocab <= 0 || block <= 0 || width <= 0 || heads <= 0 || layers <= 0)
      throw config_error("gpt_config: vocab, block, width, heads and layers must be positive");
    if (width % heads != 0)
      throw config_error("gpt_config: " + std::to_string(heads) + " heads do not divide the width " + std::to_string(width));
  }
};

template <class T, class Backend, class Positions = learned_positions>
class gpt {
  static_assert(std::is_floating_point_v<T>, "wfc::gpt<T, Backend>: T must be float or double");
  static_assert(is_position_policy<Positions>::value,
                "wfc::gpt<T, Backend, Positions>: Positions needs `static constexpr bool rotary` (see wfc/nn/positions.hpp)");

  template <std::size_t R>
  using buffer = tensor<T, R, Backend>;
  using ids_buffer = tensor<token_id, 1, Backend>;

 public:
  using value_type = T;
  using backend_type = Backend;
  using positions_policy = Positions;

  explicit gpt(const gpt_config& config) : config_((config.validate(), config)) {
    if (Positions::rotary && (config_.width / config_.heads) % 2 != 0)
      throw config_error("gpt: rotary positions turn pairs of features, so the head width (" +
                         std::to_string(config_.width / config_.heads) + ") must be even");
    wte_ = nn::embedding(layout_, "wte", config_.vocab, config_.width);
    if constexpr (!Positions::rotary) wpe_ = nn::embedding(layout_, "wpe", config_.block, config_.width);
    for (index_t l = 0; l < config_.layers; ++l)
      blocks_.emplace_back(layout_, "h." + std::to_string(l), config_.width, config_.heads, 4 * config_.width, config_.bias);
    ln_f_ = nn::layer_norm(layout_, "ln_f", config_.width, config_.bias);
    params_ = buffer<1>(shape<1>{{layout_.size()}});
    grads_ = buffer<1>(shape<1>{{layout_.size()}});
    const index_t b = config_.block;
    causal_ = tensor<bool, 2, Backend>(shape<2>{{b, b}}, attention_mask(masks::causal{}, b));
  }

  const gpt_config& config() const { return config_; }
  const nn::parameter_layout& layout() const { return layout_; }
  tensor_view<T, 1> parameters() { return params_.view(); }
  tensor_view<T, 1> gradients() { return grads_.view(); }

  // GPT-2's initialisation: weights N(0, 0.02), residual projections N(0, 0.02/√(2·layers)),
  // biases 0, LayerNorm gains 1. Each tensor draws from its own stream of the seed.
  void initialise(std::uint64_t seed) {
    const Backend be{};
    gpt2_initialise(be, layout_, params_.view(), config_.layers, seed);
    for (const auto& b : blocks_) b.initialise_norms(be, params_.view());
    ln_f_.initialise(be, params_.view());
  }

  // Mean cross-entropy (nats/token) of `targets` given `ids`, `sequences` rows of T tokens each
  // (row-major, T ≤ block); targets equal to ignore_index do not count. Keeps the activations.
  T forward(const std::vector<token_id>& ids, const std::vector<token_id>& targets, index_t sequences) {
    logits(ids, sequences);
    if (targets.size() != ids.size())
      throw shape_error("gpt::forward: " + std::to_string(targets.size()) + " targets for " + std::to_string(ids.size()) + " tokens");
    const Backend be{};
    train_.targets.copy_from_host(targets);
    index_t counted = 0;
    for (token_id t : targets) counted += t != ignore_index;
    cross_entropy_forward(be, train_.loss_rows.view(), train_.logits.cview(), train_.targets.cview());
    counted_ = last_counted_ = counted;
    return counted ? sum(be, train_.loss_rows.cview()) / T(counted) : T(0);
  }

  // What the last forward's loss is a mean over (its counted targets): the weight of this
  // process's loss when a batch split across processes is combined (wfc/train/process_group.hpp).
  double loss_weight() const { return double(last_counted_); }

  // The logits [N, vocab] of every position, recomputing the whole context; keeps the activations.
  tensor_view<const T, 2> logits(const std::vector<token_id>& ids, index_t sequences) {
    counted_ = -1;
    const index_t steps = check_ids(ids, sequences, 0);
    train_.resize(sequences, steps, steps, config_, true);
    run(train_, ids, sequences, 0, false);
    return train_.logits.cview();
  }

  // grads += ∂(mean loss)/∂params for the last forward (call zero_grad between steps).
  void backward() {
    if (counted_ < 0) throw config_error("gpt::backward: call forward with targets first");
    const Backend be{};
    pass& t = train_;
    const auto p = params_.cview();
    const auto g = grads_.view();
    fill(be, t.dloss.view(), counted_ ? T(1) / T(counted_) : T(0));
    fill(be, t.dlogits.view(), T(0));
    cross_entropy_backward(be, t.dlogits.view(), t.dloss.cview(), t.logits.cview(), t.targets.cview());
    // logits = final·wteᵀ: dfinal = dlogits·wte, dwte += dlogitsᵀ·final
    gemm(be, t.dfinal.view(), t.dlogits.cview(), wte_.table(p));
    gemm(be, wte_.table(g), transpose(t.dlogits.cview()), t.final.cview(), T(1), T(1));
    fill(be, t.dstream[0].view(), T(0));
    ln_f_.backward(be, t.dstream[0].view(), g, t.dfinal.cview(), t.stream.back().cview(), t.final_mean.cview(),
                   t.final_rstd.cview(), p);
    const auto context = context_for(t, t.sequences, 0);
    std::size_t cur = 0;
    for (std::size_t l = blocks_.size(); l-- > 0;) {
      fill(be, t.dstream[1 - cur].view(), T(0));
      blocks_[l].backward(be, t.dstream[1 - cur].view(), g, t.scratch.view(), t.dstream[cur].cview(), t.stream[l].cview(),
                          t.acts[l].view(t.steps), context, p);
      cur = 1 - cur;
    }
    wte_.backward(be, g, t.dstream[cur].cview(), t.ids.cview());
    if constexpr (!Positions::rotary) wpe_.backward(be, g, t.dstream[cur].cview(), t.positions.cview());
  }

  void zero_grad() { fill(Backend{}, grads_.view(), T(0)); }

  // Empties the key/value cache and sizes it for `sequences` sequences of up to `block` tokens.
  void reset_cache(index_t sequences = 1) {
    if (sequences <= 0) throw config_error("gpt::reset_cache: the number of sequences must be positive");
    cached_ = 0;
    if (sequences == cache_sequences_) return;
    cache_sequences_ = sequences;
    keys_.clear();
    values_.clear();
    for (index_t l = 0; l < config_.layers; ++l) {
      keys_.emplace_back(shape<3>{{sequences, config_.block, config_.width}});
      values_.emplace_back(shape<3>{{sequences, config_.block, config_.width}});
    }
  }

  // Tokens per sequence in the cache.
  index_t cached() const { return cached_; }

  // Appends T tokens to each cached sequence (ids row-major [sequences, T]) and returns their
  // logits [sequences·T, vocab]; the same numbers logits() gives for those positions when fed the
  // whole context. The cache holds at most `block` tokens per sequence.
  tensor_view<const T, 2> extend(const std::vector<token_id>& ids) {
    if (cache_sequences_ == 0) reset_cache(1);
    const index_t steps = check_ids(ids, cache_sequences_, cached_);
    pass& t = steps == 1 ? decode_ : prefill_;  // two shapes, so alternating never reallocates
    t.resize(cache_sequences_, steps, config_.block, config_, false);
    run(t, ids, cache_sequences_, cached_, true);
    cached_ += steps;
    return t.logits.cview();
  }

 private:
  // Everything one forward shape needs (and, for training, backward); reallocated when it changes.
  struct pass {
    index_t sequences = 0, steps = 0;
    ids_buffer ids, targets, positions;
    buffer<2> pos_embed, final, logits, dlogits, dfinal;
    buffer<1> final_mean, final_rstd, loss_rows, dloss;
    std::vector<buffer<2>> stream, dstream;  // the residual stream entering each block (and leaving the last)
    std::vector<block_buffers<T, Backend>> acts;
    block_scratch_buffers<T, Backend> scratch{0, 0, 0, 0, 0};

    void resize(index_t s, index_t t, index_t keys, const gpt_config& c, bool training) {
      if (s == sequences && t == steps) return;
      sequences = s;
      steps = t;
      const index_t n = s * t, d = c.width;
      ids = ids_buffer(n);
      positions = ids_buffer(n);
      pos_embed = buffer<2>(n, d);
      stream.clear();
      for (index_t l = 0; l <= c.layers; ++l) stream.emplace_back(n, d);
      acts.clear();
      for (index_t l = 0; l < c.layers; ++l) acts.emplace_back(s, t, keys, c.width, c.heads);
      final = buffer<2>(n, d);
      final_mean = buffer<1>(n);
      final_rstd = buffer<1>(n);
      logits = buffer<2>(n, c.vocab);
      if (!training) return;
      targets = ids_buffer(n);
      scratch = block_scratch_buffers<T, Backend>(s, t, t, c.width, c.heads);
      dlogits = buffer<2>(n, c.vocab);
      dfinal = buffer<2>(n, d);
      loss_rows = buffer<1>(n);
      dloss = buffer<1>(n);
      dstream.clear();
      dstream.emplace_back(n, d);
      dstream.emplace_back(n, d);
    }
  };

  index_t check_ids(const std::vector<token_id>& ids, index_t sequences, index_t past) const {
    if (sequences <= 0 || ids.empty() || ids.size() % std::size_t(sequences) != 0)
      throw shape_error("gpt: " + std::to_string(ids.size()) + " tokens are not " + std::to_string(sequences) +
                        " sequences of equal length");
    const index_t steps = index_t(ids.size()) / sequences;
    if (past + steps > config_.block)
      throw shape_error("gpt: " + std::to_string(past) + " cached + " + std::to_string(steps) +
                        " new tokens per sequence exceed the block size " + std::to_string(config_.block) +
                        (past ? "; reset_cache() and feed a shorter context" : ""));
    return steps;
  }

  // Queries at positions past … past + T − 1 see keys at positions 0 … past + T − 1, causally.
  nn::attention_context<T> context_for(const pass& t, index_t sequences, index_t past) const {
    nn::attention_context<T> c;
    c.keep = causal_.cview().slice(0, past, past + t.steps).slice(1, 0, past + t.steps);
    c.sequences = sequences;
    if constexpr (Positions::rotary) c.positions = t.positions.cview();
    return c;
  }

  // Embeds `ids` at positions past…, runs the stack (attending to the cache when `cached`,
  // appending to it) and writes the logits.
  void run(pass& t, const std::vector<token_id>& ids, index_t sequences, index_t past, bool cached) {
    const Backend be{};
    const index_t steps = t.steps, n = sequences * steps, d = config_.width;
    t.ids.copy_from_host(ids);
    host_positions_.resize(static_cast<std::size_t>(n));  // reused: no allocation per sampled token
    for (index_t i = 0; i < n; ++i) host_positions_[std::size_t(i)] = token_id(past + i % steps);
    t.positions.copy_from_host(host_positions_);
    const auto p = params_.cview();
    wte_.forward(be, t.stream[0].view(), t.ids.cview(), p);
    if constexpr (!Positions::rotary) {
      wpe_.forward(be, t.pos_embed.view(), t.positions.cview(), p);
      axpy(be, t.stream[0].view(), T(1), t.pos_embed.cview());
    }
    auto context = context_for(t, sequences, past);
    for (std::size_t l = 0; l < blocks_.size(); ++l) {
      const auto a = t.acts[l].view(past + steps);
      if (cached) {
        context.past_keys = keys_[l].cview().slice(1, 0, past);
        context.past_values = values_[l].cview().slice(1, 0, past);
      }
      blocks_[l].forward(be, t.stream[l + 1].view(), a, t.stream[l].cview(), context, p);
      if (!cached) continue;
      for (index_t s = 0; s < sequences; ++s) {  // append this call's (rotated) keys and values
        const auto rows = as_const(a.attn.qkv.slice(0, s * steps, (s + 1) * steps));
        copy(be, keys_[l].view()[s].slice(0, past, past + steps), rows.slice(1, d, 2 * d));
        copy(be, values_[l].view()[s].slice(0, past, past + steps), rows.slice(1, 2 * d, 3 * d));
      }
    }
    ln_f_.forward(be, t.final.view(), t.final_mean.view(), t.final_rstd.view(), t.stream.back().cview(), p);
    gemm(be, t.logits.view(), t.final.cview(), transpose(wte_.table(p)));  // tied head
  }

  gpt_config config_;
  nn::parameter_layout layout_;
  nn::embedding wte_, wpe_;
  std::vector<nn::transformer_block> blocks_;
  nn::layer_norm ln_f_;
  buffer<1> params_, grads_;
  tensor<bool, 2, Backend> causal_;  // [block, block]; each call reads the rows and columns it needs

  index_t counted_ = -1, last_counted_ = 0;
  std::vector<token_id> host_positions_;
  pass train_, prefill_, decode_;  // training; cached prompts; cached single tokens
  index_t cache_sequences_ = 0, cached_ = 0;
  std::vector<buffer<3>> keys_, values_;  // per layer [sequences, block, width]
};

}  // namespace wfc
