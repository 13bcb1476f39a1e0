#pragma once
// Past policies of the WFC model (docs/design.md): what happens to the collapsed tokens in the window.
//  - past::pinned: the past keeps its one-hot inputs and attends causally to itself only, so each
//    layer's keys/values of the past are computed once and cached (WFC's KV cache); future slots
//    attend to the whole past and, by the future mask, to each other.
//  - past::drifting: the seed's literal variant: every position, past included, is state that the
//    solver updates, with full bidirectional attention. Nothing can be cached; kept for ablation.
#include <type_traits>

namespace wfc::past {

struct pinned {
  static constexpr bool cached = true;
};

struct drifting {
  static constexpr bool cached = false;
};

}  // namespace wfc::past

namespace wfc {

template <class P, class = void>
struct is_past_policy : std::false_type {};
template <class P>
struct is_past_policy<P, std::enable_if_t<std::is_same_v<decltype(P::cached), const bool>>> : std::true_type {};

template <class P>
constexpr void require_past_policy() {
  static_assert(is_past_policy<P>::value,
                "wfc: a past policy needs `static constexpr bool cached` (true: pinned past with cached keys/values; "
                "see wfc/model/past.hpp)");
}

}  // namespace wfc
