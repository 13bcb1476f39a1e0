#pragma once
// The inference past: appending tokens and sliding the window. A pinned past runs its new tokens
// through the stack once, causally against the cached past, and caches their keys/values (WFC's KV
// cache); a drifting past only keeps the tokens, since every solve recomputes the whole window.
#include <string>
#include <vector>

#include "wfc/model/wfc/inference_state.hpp"
#include "wfc/model/wfc/weights.hpp"
#include "wfc/nn/attention.hpp"

namespace wfc::detail {

template <class Past, class T, class Backend, class Positions>
void append_past(wfc_inference_state<T, Backend>& run, const wfc_weights<T, Backend, Positions>& w, const wfc_config& config,
                 const std::vector<token_id>& ids) {
  const Backend be{};
  const index_t S = run.sequences;
  if (S == 0) throw config_error("wfc_model::append_past: call reset() first");
  if (ids.empty() || ids.size() % std::size_t(S) != 0)
    throw shape_error("wfc_model::append_past: " + std::to_string(ids.size()) + " tokens are not " + std::to_string(S) +
                      " sequences of equal length");
  const index_t n = index_t(ids.size()) / S, P = run.past;
  if (P + n > config.window)
    throw shape_error("wfc_model::append_past: " + std::to_string(P) + " past + " + std::to_string(n) +
                      " new tokens exceed the window of " + std::to_string(config.window) + " positions; reset() and slide");
  for (token_id id : ids)
    if (id < 0 || id >= config.vocab)
      throw value_error("wfc_model::append_past: token " + std::to_string(id) + " is outside the vocabulary of " +
                        std::to_string(config.vocab));
  if constexpr (!Past::cached) {  // drifting: nothing to cache, every solve recomputes the window
    for (index_t s = 0; s < S; ++s)
      for (index_t j = 0; j < n; ++j) run.past_tokens[std::size_t(s * config.window + P + j)] = ids[std::size_t(s * n + j)];
    run.past = P + n;
    return;
  }
  run.resize_clean(n, config);
  auto& c = run.clean;
  c.ids.copy_from_host(ids);
  run.host_positions.resize(std::size_t(S * n));
  for (index_t i = 0; i < S * n; ++i) run.host_positions[std::size_t(i)] = token_id(run.origin + P + i % n);
  c.positions.copy_from_host(run.host_positions);
  const auto p = w.params.cview();
  w.wte.forward(be, c.stream[0].view(), c.ids.cview(), p);
  w.add_positions(c.stream[0].view(), c.pos_embed.view(), c.positions.cview());
  nn::attention_context<T> context;
  context.keep = run.causal.cview().slice(0, P, P + n).slice(1, 0, P + n);
  context.sequences = S;
  if constexpr (Positions::rotary) context.positions = c.positions.cview();
  const index_t d = config.width;
  for (std::size_t l = 0; l < w.blocks.size(); ++l) {
    context.past_keys = run.keys[l].cview().slice(1, 0, P);
    context.past_values = run.values[l].cview().slice(1, 0, P);
    const auto a = c.acts[l].view(P + n);
    w.blocks[l].forward(be, c.stream[l + 1].view(), a, c.stream[l].cview(), context, p);
    for (index_t s = 0; s < S; ++s) {  // the new rows' keys/values join the cache
      const auto rows = as_const(a.attn.qkv.slice(0, s * n, (s + 1) * n));
      copy(be, run.keys[l].view()[s].slice(0, P, P + n), rows.slice(1, d, 2 * d));
      copy(be, run.values[l].view()[s].slice(0, P, P + n), rows.slice(1, 2 * d, 3 * d));
    }
  }
  run.past = P + n;
}

// Drops the oldest n tokens (1 ≤ n < P; the caller checked that the window can slide). Rotary
// (pinned): the cached keys/values move down and later tokens keep counting positions from the
// origin. Drifting: the tokens move down and the window restarts at position 0.
template <class Past, class T, class Backend>
void drop_past(wfc_inference_state<T, Backend>& run, const wfc_config& config, index_t n) {
  const index_t P = run.past, S = run.sequences;
  if (n < 1 || n >= P)
    throw config_error("wfc_model::drop_past: can drop 1…" + std::to_string(P - 1) + " of the past's " + std::to_string(P) + " tokens, not " +
                       std::to_string(n));
  const Backend be{};
  if constexpr (Past::cached) {
    // Chunks of at most n rows, so no copy reads rows that it overwrites.
    for (std::size_t l = 0; l < run.keys.size(); ++l)
      for (index_t s = 0; s < S; ++s)
        for (index_t to = 0; to < P - n; to += n) {
          const index_t len = std::min(n, P - n - to);
          for (auto* cache : {&run.keys[l], &run.values[l]})
            copy(be, cache->view()[s].slice(0, to, to + len), cache->cview()[s].slice(0, to + n, to + n + len));
        }
    run.origin += n;
  } else {
    const index_t W = config.window;
    for (index_t s = 0; s < S; ++s) {
      auto row = run.past_tokens.begin() + s * W;
      std::copy(row + n, row + P, row);
    }
  }
  run.past = P - n;
}

}  // namespace wfc::detail
