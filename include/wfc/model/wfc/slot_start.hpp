#pragma once
// How a training slot starts (its corruption): from max entropy, revealed (the one-hot of its
// target, pinned through every step and left out of the loss: trains infilling), or partially
// collapsed toward its target (α·onehot + (1 − α)·uniform: trains partial collapse). A slot start
// policy is a small struct
//
//   struct my_start {
//     objective::slot_start start(const counter_rng& rng, index_t row) const;
//   };
//
// asked once per scored slot (row: the slot's row in the batch; `rng` the batch's corruption
// stream, of which the policy owns counters 3·row … 3·row + 2). Evaluation never asks it.
#include <type_traits>
#include <utility>

#include "wfc/core/rng.hpp"
#include "wfc/core/tensor_view.hpp"

namespace wfc::objective {

struct slot_start {
  bool revealed = false;  // pinned to its target's one-hot, not scored
  bool partial = false;   // starts at alpha·onehot(target) + (1 − alpha)·uniform
  double alpha = 0;
};

// Each slot revealed with probability `reveal`, else partially collapsed with probability
// `partial` by an α uniform in [0, 1).
struct reveal_and_partial {
  double reveal = 0, partial = 0;

  slot_start start(const counter_rng& rng, index_t row) const {
    slot_start s;
    const auto r = std::uint64_t(row);
    if (reveal > 0 && rng.uniform<double>(3 * r) < reveal) {
      s.revealed = true;
      return s;
    }
    if (partial <= 0 || rng.uniform<double>(3 * r + 1) >= partial) return s;
    s.partial = true;
    s.alpha = rng.uniform<double>(3 * r + 2);
    return s;
  }
};

template <class P, class = void>
struct is_slot_start_policy : std::false_type {};
template <class P>
struct is_slot_start_policy<
    P, std::enable_if_t<std::is_same_v<decltype(std::declval<const P&>().start(counter_rng{}, index_t{})), slot_start>>>
    : std::true_type {};

template <class P>
constexpr void require_slot_start_policy() {
  static_assert(is_slot_start_policy<P>::value,
                "wfc: a slot start policy needs `wfc::objective::slot_start start(const wfc::counter_rng&, index_t row) const` "
                "(see wfc/model/wfc/slot_start.hpp)");
}

}  // namespace wfc::objective
