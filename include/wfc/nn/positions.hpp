#pragma once
// Position policies: how a model tells positions apart, picked at compile time.
//  - learned_positions: a [block, width] table added to the token embeddings (GPT-2, nanoGPT);
//    positions beyond the table do not exist.
//  - rotary_positions: every attention layer rotates q and k by position-dependent angles (RoFormer),
//    so attention depends only on relative positions and a sliding window can keep its cache.
#include <type_traits>

namespace wfc {

struct learned_positions {
  static constexpr bool rotary = false;
};

struct rotary_positions {
  static constexpr bool rotary = true;
};

template <class P, class = void>
struct is_position_policy : std::false_type {};
template <class P>
struct is_position_policy<P, std::enable_if_t<std::is_same_v<decltype(P::rotary), const bool>>> : std::true_type {};

template <class P>
constexpr void require_position_policy() {
  static_assert(is_position_policy<P>::value,
                "wfc: a position policy needs `static constexpr bool rotary` (see wfc/nn/positions.hpp)");
}

}  // namespace wfc
