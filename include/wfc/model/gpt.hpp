#pragma once
// The decoder-only GPT baseline, built from the nn modules: token + learned position embeddings,
// `layers` pre-LayerNorm blocks with causal attention, a final LayerNorm and a head tied to the
// token embedding; cross-entropy loss. Parameters and gradients are two flat buffers; forward keeps
// every activation backward needs, sized for the last batch shape.
#include <cmath>
#include <vector>

#include "wfc/nn/block.hpp"
#include "wfc/nn/embedding.hpp"
#include "wfc/nn/layer_norm.hpp"

namespace wfc {

struct gpt_config {
  index_t vocab = 65, block = 64, width = 128, heads = 4, layers = 4;

  void validate() const {
    if (vocab <= 0 || block <= 0 || width <= 0 || heads <= 0 || layers <= 0)
      throw config_error("gpt_config: vocab, block, width, heads and layers must be positive");
    if (width % heads != 0)
      throw config_error("gpt_config: " + std::to_string(heads) + " heads do not divide the width " + std::to_string(width));
  }
};

template <class T, class Backend>
class gpt {
  template <std::size_t R>
  using buffer = tensor<T, R, Backend>;

 public:
  explicit gpt(const gpt_config& config) : config_((config.validate(), config)) {
    wte_ = nn::embedding(layout_, "wte", config_.vocab, config_.width);
    wpe_ = nn::embedding(layout_, "wpe", config_.block, config_.width);
    for (index_t l = 0; l < config_.layers; ++l)
      blocks_.emplace_back(layout_, "h." + std::to_string(l), config_.width, config_.heads, 4 * config_.width);
    ln_f_ = nn::layer_norm(layout_, "ln_f", config_.width);
    params_ = buffer<1>(shape<1>{{layout_.size()}});
    grads_ = buffer<1>(shape<1>{{layout_.size()}});
  }

  const gpt_config& config() const { return config_; }
  const nn::parameter_layout& layout() const { return layout_; }
  tensor_view<T, 1> parameters() { return params_.view(); }
  tensor_view<T, 1> gradients() { return grads_.view(); }

  // GPT-2's initialisation: weights N(0, 0.02), residual projections N(0, 0.02/√(2·layers)),
  // biases 0, LayerNorm gains 1. Each tensor draws from its own stream of the seed.
  void initialise(std::uint64_t seed) {
    const Backend be{};
    fill(be, params_.view(), T(0));
    std::uint64_t stream = 0;
    for (const auto& spec : layout_.specs()) {
      ++stream;
      if (!spec.weight_decay) continue;  // biases and norms
      const bool residual = spec.name.find("c_proj.weight") != std::string::npos;
      const double stddev = residual ? 0.02 / std::sqrt(2.0 * double(config_.layers)) : 0.02;
      fill_normal(be, as_row(nn::vector_at(params_.view(), spec.offset, spec.size)), counter_rng(seed, stream), T(0), T(stddev));
    }
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
    targets_.copy_from_host(targets);
    index_t counted = 0;
    for (token_id t : targets) counted += t != ignore_index;
    cross_entropy_forward(be, loss_rows_.view(), logits_.cview(), targets_.cview());
    counted_ = counted;
    return counted ? sum(be, loss_rows_.cview()) / T(counted) : T(0);
  }

  // The logits [N, vocab] of every position (what sampling reads); keeps the activations.
  tensor_view<const T, 2> logits(const std::vector<token_id>& ids, index_t sequences) {
    const Backend be{};
    if (sequences <= 0 || ids.empty() || ids.size() % std::size_t(sequences) != 0)
      throw shape_error("gpt: " + std::to_string(ids.size()) + " tokens are not " + std::to_string(sequences) +
                        " sequences of equal length");
    const index_t n = index_t(ids.size()), steps = n / sequences;
    if (steps > config_.block)
      throw shape_error("gpt: sequences of " + std::to_string(steps) + " tokens exceed the block size " +
                        std::to_string(config_.block));
    allocate(sequences, steps);
    ids_.copy_from_host(ids);
    const auto p = params_.cview();
    wte_.forward(be, stream_[0].view(), ids_.cview(), p);
    wpe_.forward(be, pos_embed_.view(), positions_.cview(), p);
    axpy(be, stream_[0].view(), T(1), pos_embed_.cview());
    for (std::size_t l = 0; l < blocks_.size(); ++l)
      blocks_[l].forward(be, stream_[l + 1].view(), acts_[l].view(), stream_[l].cview(), causal_.cview(), sequences, p);
    ln_f_.forward(be, final_.view(), final_mean_.view(), final_rstd_.view(), stream_.back().cview(), p);
    gemm(be, logits_.view(), final_.cview(), transpose(wte_.table(p)));  // tied head
    return logits_.cview();
  }

  // grads += ∂(mean loss)/∂params for the last forward (call zero_grad between steps).
  void backward() {
    if (counted_ < 0) throw config_error("gpt::backward: call forward with targets first");
    const Backend be{};
    const auto p = params_.cview();
    const auto g = grads_.view();
    fill(be, dloss_.view(), counted_ ? T(1) / T(counted_) : T(0));
    fill(be, dlogits_.view(), T(0));
    cross_entropy_backward(be, dlogits_.view(), dloss_.cview(), logits_.cview(), targets_.cview());
    // logits = final·wteᵀ: dfinal = dlogits·wte, dwte += dlogitsᵀ·final
    gemm(be, dfinal_.view(), dlogits_.cview(), wte_.table(p));
    gemm(be, wte_.table(g), transpose(dlogits_.cview()), final_.cview(), T(1), T(1));
    fill(be, dstream_[0].view(), T(0));
    ln_f_.backward(be, dstream_[0].view(), g, dfinal_.cview(), stream_.back().cview(), final_mean_.cview(), final_rstd_.cview(), p);
    std::size_t cur = 0;
    for (std::size_t l = blocks_.size(); l-- > 0;) {
      fill(be, dstream_[1 - cur].view(), T(0));
      blocks_[l].backward(be, dstream_[1 - cur].view(), g, scratch_.view(), dstream_[cur].cview(), stream_[l].cview(),
                          acts_[l].view(), sequences_, p);
      cur = 1 - cur;
    }
    wte_.backward(be, g, dstream_[cur].cview(), ids_.cview());
    wpe_.backward(be, g, dstream_[cur].cview(), positions_.cview());
  }

  void zero_grad() { fill(Backend{}, grads_.view(), T(0)); }

 private:
  // One block's activations, owned.
  struct block_storage {
    buffer<2> ln1_out, mid, ln2_out, qkv, probs, y, pre, post;
    buffer<1> m1, r1, m2, r2;
    block_storage(index_t n, index_t sequences, index_t steps, const gpt_config& c)
        : ln1_out(n, c.width), mid(n, c.width), ln2_out(n, c.width), qkv(n, 3 * c.width), probs(sequences * c.heads * steps, steps),
          y(n, c.width), pre(n, 4 * c.width), post(n, 4 * c.width), m1(n), r1(n), m2(n), r2(n) {}
    typename nn::transformer_block::activations<T> view() {
      return {ln1_out.view(), mid.view(), ln2_out.view(), m1.view(), r1.view(), m2.view(), r2.view(),
              {qkv.view(), probs.view(), y.view()}, {pre.view(), post.view()}};
    }
  };
  struct scratch_storage {
    buffer<2> d_mid, d_norm, dqkv, dy, dprobs, dscores, s1, s2;
    scratch_storage(index_t n, index_t steps, const gpt_config& c)
        : d_mid(n, c.width), d_norm(n, c.width), dqkv(n, 3 * c.width), dy(n, c.width), dprobs(c.heads * steps, steps),
          dscores(c.heads * steps, steps), s1(n, 4 * c.width), s2(n, 4 * c.width) {}
    typename nn::transformer_block::scratch<T> view() {
      return {d_mid.view(), d_norm.view(), {dqkv.view(), dy.view(), dprobs.view(), dscores.view()}, {s1.view(), s2.view()}};
    }
  };

  // (Re)allocates activations when the batch shape changes.
  void allocate(index_t sequences, index_t steps) {
    counted_ = -1;
    if (sequences == sequences_ && steps == steps_) return;
    sequences_ = sequences;
    steps_ = steps;
    const index_t n = sequences * steps, d = config_.width;
    ids_ = tensor<token_id, 1, Backend>(n);
    targets_ = tensor<token_id, 1, Backend>(n);
    std::vector<token_id> pos(static_cast<std::size_t>(n));
    for (index_t i = 0; i < n; ++i) pos[std::size_t(i)] = token_id(i % steps);
    positions_ = tensor<token_id, 1, Backend>(shape<1>{{n}}, pos);
    std::vector<bool> keep(static_cast<std::size_t>(steps * steps));
    for (index_t q = 0; q < steps; ++q)
      for (index_t k = 0; k < steps; ++k) keep[std::size_t(q * steps + k)] = k <= q;
    causal_ = tensor<bool, 2, Backend>(shape<2>{{steps, steps}}, keep);
    pos_embed_ = buffer<2>(n, d);
    stream_.clear();
    for (index_t l = 0; l <= config_.layers; ++l) stream_.emplace_back(n, d);
    acts_.clear();
    for (index_t l = 0; l < config_.layers; ++l) acts_.emplace_back(n, sequences, steps, config_);
    scratch_ = scratch_storage(n, steps, config_);
    final_ = buffer<2>(n, d);
    final_mean_ = buffer<1>(n);
    final_rstd_ = buffer<1>(n);
    logits_ = buffer<2>(n, config_.vocab);
    dlogits_ = buffer<2>(n, config_.vocab);
    dfinal_ = buffer<2>(n, d);
    loss_rows_ = buffer<1>(n);
    dloss_ = buffer<1>(n);
    dstream_.clear();
    dstream_.emplace_back(n, d);
    dstream_.emplace_back(n, d);
  }

  gpt_config config_;
  nn::parameter_layout layout_;
  nn::embedding wte_, wpe_;
  std::vector<nn::transformer_block> blocks_;
  nn::layer_norm ln_f_;
  buffer<1> params_, grads_;

  index_t sequences_ = 0, steps_ = 0, counted_ = -1;
  tensor<token_id, 1, Backend> ids_, targets_, positions_;
  tensor<bool, 2, Backend> causal_;
  buffer<2> pos_embed_, final_, logits_, dlogits_, dfinal_;
  buffer<1> final_mean_, final_rstd_, loss_rows_, dloss_;
  std::vector<buffer<2>> stream_, dstream_;  // the residual stream entering each block (and leaving the last)
  std::vector<block_storage> acts_;
  scratch_storage scratch_{0, 0, gpt_config{}};
};

}  // namespace wfc
