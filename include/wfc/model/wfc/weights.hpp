#pragma once
// The WFC model's parameters (llama2.c's `weights`): the token embedding (also the tied head), a
// learned position table unless positions are rotary, the blocks and the final LayerNorm, laid
// out in one flat buffer with a gradient buffer of the same layout. Training and inference read
// them; only the optimiser writes them.
#include <cstdint>
#include <string>
#include <vector>

#include "wfc/model/initialise.hpp"
#include "wfc/model/wfc/config.hpp"
#include "wfc/nn/block.hpp"
#include "wfc/nn/embedding.hpp"
#include "wfc/nn/layer_norm.hpp"
#include "wfc/nn/positions.hpp"

namespace wfc {

template <class T, class Backend, class Positions>
struct wfc_weights {
  nn::parameter_layout layout;
  nn::embedding wte, wpe;
  std::vector<nn::transformer_block> blocks;
  nn::layer_norm ln_f;
  tensor<T, 1, Backend> params, grads;

  explicit wfc_weights(const wfc_config& c) {
    if (Positions::rotary && (c.width / c.heads) % 2 != 0)
      throw config_error("wfc_model: rotary positions turn pairs of features, so the head width (" + std::to_string(c.width / c.heads) +
                         ") must be even");
    wte = nn::embedding(layout, "wte", c.vocab, c.width);
    if constexpr (!Positions::rotary) wpe = nn::embedding(layout, "wpe", c.window, c.width);
    for (index_t l = 0; l < c.layers; ++l) blocks.emplace_back(layout, "h." + std::to_string(l), c.width, c.heads, 4 * c.width, c.bias);
    ln_f = nn::layer_norm(layout, "ln_f", c.width, c.bias);
    params = tensor<T, 1, Backend>(shape<1>{{layout.size()}});
    grads = tensor<T, 1, Backend>(shape<1>{{layout.size()}});
  }

  // The GPT's initialisation (weights N(0, 0.02), residual projections N(0, 0.02/√(2·layers)),
  // biases 0, gains 1), each tensor from its own stream of the seed.
  void initialise(std::uint64_t seed) {
    const Backend be{};
    gpt2_initialise(be, layout, params.view(), index_t(blocks.size()), seed);
    for (const auto& b : blocks) b.initialise_norms(be, params.view());
    ln_f.initialise(be, params.view());
  }

  // x += the learned position table's rows at `positions` (through the scratch `rows`, as wide as
  // x); nothing with rotary positions, which turn the keys inside attention instead.
  void add_positions(tensor_view<T, 2> x, tensor_view<T, 2> rows, tensor_view<const token_id, 1> positions) const {
    add_positions(x, rows, positions, params.cview());
  }
  // The same with parameters `p` (a held copy: wfc_model::hold_untracked).
  void add_positions(tensor_view<T, 2> x, tensor_view<T, 2> rows, tensor_view<const token_id, 1> positions, tensor_view<const T, 1> p) const {
    if constexpr (!Positions::rotary) {
      const Backend be{};
      wpe.forward(be, rows, positions, p);
      axpy(be, x, T(1), as_const(rows));
    }
  }
};

}  // namespace wfc
