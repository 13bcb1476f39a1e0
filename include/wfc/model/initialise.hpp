#pragma once
// GPT-2's initialisation over a flat parameter buffer, shared by the GPT and the WFC model: every
// decayed tensor (the weight matrices and embeddings) N(0, 0.02), residual projections
// (c_proj.weight) N(0, 0.02/√(2·layers)), everything else 0; each tensor draws from its own stream
// of the seed. Norm gains are the caller's (they are 1).
#include <cmath>
#include <cstdint>
#include <string>

#include "wfc/core/rng.hpp"
#include "wfc/nn/parameters.hpp"

namespace wfc {

template <class B, class T>
void gpt2_initialise(B be, const nn::parameter_layout& layout, tensor_view<T, 1> params, index_t layers, std::uint64_t seed) {
  fill(be, params, T(0));
  std::uint64_t stream = 0;
  for (const auto& spec : layout.specs()) {
    ++stream;
    if (!spec.weight_decay) continue;  // biases and norms
    const bool residual = spec.name.find("c_proj.weight") != std::string::npos;
    const double stddev = residual ? 0.02 / std::sqrt(2.0 * double(layers)) : 0.02;
    fill_normal(be, as_row(nn::vector_at(params, spec.offset, spec.size)), counter_rng(seed, stream), T(0), T(stddev));
  }
}

}  // namespace wfc
