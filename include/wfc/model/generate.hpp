#pragma once
// Autoregressive generation from a GPT with its key/value cache: the prompt is fed once, then each
// sampled token costs one row through the stack. When the cache is full (`block` tokens) the
// context slides: the cache restarts from the last block/2 tokens, so long generations cost one
// half-block prefill every block/2 tokens instead of a full recompute per token.
#include <vector>

#include "wfc/core/rng.hpp"
#include "wfc/model/gpt.hpp"
#include "wfc/sampling/sampler.hpp"

namespace wfc {

// `count` tokens after `prompt` (not included), drawn by `pick` with uniforms from `rng`'s stream
// (the i-th token uses draw i), so equal seeds give equal text.
template <class Model>
std::vector<token_id> generate(Model& model, const std::vector<token_id>& prompt, index_t count, const sampler& pick,
                               const counter_rng& rng) {
  pick.validate();
  if (prompt.empty()) throw config_error("generate: the prompt is empty; give at least one token to start from");
  if (count < 0) throw config_error("generate: cannot generate a negative number of tokens");
  const index_t block = model.config().block, vocab = model.config().vocab;
  std::vector<token_id> context(prompt.size() > std::size_t(block) ? prompt.end() - block : prompt.begin(), prompt.end());
  std::vector<token_id> out;
  out.reserve(std::size_t(count));
  model.reset_cache(1);
  auto logits = model.extend(context);
  using T = typename Model::value_type;
  for (index_t i = 0; i < count; ++i) {
    const auto last = to_host<typename Model::backend_type>(logits[logits.extent(0) - 1]);
    const token_id next = pick(tensor_view<const T, 1>(last.data(), shape<1>{{vocab}}), rng.uniform<double>(std::uint64_t(i)));
    out.push_back(next);
    context.push_back(next);
    if (i + 1 == count) break;
    if (model.cached() < block) {
      logits = model.extend({next});
    } else {
      context.erase(context.begin(), context.end() - block / 2 - (block % 2));
      model.reset_cache(1);
      logits = model.extend(context);
    }
  }
  return out;
}

}  // namespace wfc
