#pragma once
// Attention mask policies: which key positions a query position may attend to. A policy is a small
// struct with `bool keep(index_t query, index_t key) const` over positions, picked at compile time;
// attention_mask() turns one into the boolean [T, P + T] mask the attention kernels read.
#include <type_traits>
#include <utility>
#include <vector>

#include "wfc/core/error.hpp"
#include "wfc/core/tensor_view.hpp"

namespace wfc::masks {

// A query sees itself and everything before it (the GPT rule).
struct causal {
  constexpr bool keep(index_t query, index_t key) const { return key <= query; }
};

// A query sees every key.
struct bidirectional {
  constexpr bool keep(index_t, index_t) const { return true; }
};

// A query sees everything before it and at most Ahead positions after it ("limit speculation
// distance"); window<0> is causal.
template <index_t Ahead>
struct window {
  static_assert(Ahead >= 0, "wfc::masks::window<Ahead>: Ahead counts positions after the query; it cannot be negative");
  constexpr bool keep(index_t query, index_t key) const { return key <= query + Ahead; }
};

// Positions are cut into blocks of `size` starting at `offset` (docs/design.md: future slots in
// blocks of F with a random offset per batch). Positions before `offset` form a partial block 0.
struct blocks {
  index_t size = 1, offset = 0;
  constexpr index_t of(index_t position) const {
    return position < offset ? 0 : (position - offset) / size + (offset > 0 ? 1 : 0);
  }
  constexpr index_t start(index_t position) const {
    return position < offset ? 0 : offset + (position - offset) / size * size;
  }
};

// Within one block only, and there by the Inner rule: how a future slot sees the other slots of
// its own block.
template <class Inner>
struct within_block {
  blocks cut;
  Inner inner{};
  constexpr bool keep(index_t query, index_t key) const { return cut.of(query) == cut.of(key) && inner.keep(query, key); }
};

// Only keys before the query's block: how a future slot sees the clean stream.
struct before_block {
  blocks cut;
  constexpr bool keep(index_t query, index_t key) const { return key < cut.start(query); }
};

// The drifting past's window of past rows and future slots, seen by one mask: rows before `start`
// are empty (a past shorter than the window; each sees only itself and nobody sees it), the past
// rows [start, past) see every present row (full bidirectional attention), and the slots (rows from
// `past` on) see the present past and each other by the future mask.
template <class Future>
struct drifting_window {
  index_t start = 0, past = 0;
  Future future{};
  constexpr bool keep(index_t query, index_t key) const {
    if (query < start || key < start) return query == key;
    if (query < past) return true;
    return key < past || future.keep(query - past, key - past);
  }
};

}  // namespace wfc::masks

namespace wfc {

template <class M, class = void>
struct is_mask_policy : std::false_type {};
template <class M>
struct is_mask_policy<M, std::enable_if_t<std::is_convertible_v<
                             decltype(std::declval<const M&>().keep(index_t{}, index_t{})), bool>>> : std::true_type {};

template <class M>
constexpr void require_mask_policy() {
  static_assert(is_mask_policy<M>::value,
                "wfc: a mask policy needs a member `bool keep(index_t query, index_t key) const` (see wfc/nn/masks.hpp)");
}

// The row-major [rows, past + rows] keep-mask for `rows` queries at positions first, first + 1, …
// that see `past` keys at positions 0 … past − 1 (by the Past rule) and the queries' own rows as
// keys (by the Self rule).
template <class Past, class Self>
std::vector<bool> attention_mask(const Past& past_rule, index_t past, const Self& self_rule, index_t rows, index_t first = 0) {
  require_mask_policy<Past>();
  require_mask_policy<Self>();
  if (past < 0 || rows < 0 || first < 0)
    throw config_error("attention_mask: past (" + std::to_string(past) + "), rows (" + std::to_string(rows) +
                       ") and the first position (" + std::to_string(first) + ") cannot be negative");
  std::vector<bool> keep(static_cast<std::size_t>(rows * (past + rows)));
  std::size_t i = 0;
  for (index_t q = first; q < first + rows; ++q) {
    for (index_t k = 0; k < past; ++k) keep[i++] = past_rule.keep(q, k);
    for (index_t k = first; k < first + rows; ++k) keep[i++] = self_rule.keep(q, k);
  }
  return keep;
}

// A KV cache: `rows` new queries at positions past, past + 1, … see the sequence's `past` earlier
// tokens and each other, all by one rule.
template <class Rule>
std::vector<bool> attention_mask(const Rule& rule, index_t past, index_t rows) {
  return attention_mask(rule, past, rule, rows, past);
}

// Self-attention only.
template <class Rule>
std::vector<bool> attention_mask(const Rule& rule, index_t rows) {
  return attention_mask(rule, 0, rule, rows, 0);
}

}  // namespace wfc
