#pragma once
// How many solver steps K a training batch unrolls: a step count is a small struct
//
//   struct my_count {
//     index_t max_steps() const;                  // never more than this (sizes the unrolled buffers)
//     index_t draw(const counter_rng& rng) const; // this batch's K, 1 ≤ K ≤ max_steps()
//   };
//
// `rng` is the batch's generator (wfc_model::draw(i)); a count reads its counter 1 (counters 0
// and 2 are the block offset and a drifting past's empty rows). A count that needs more numbers
// takes counters from objective::first_free_counter on.
#include <algorithm>
#include <type_traits>
#include <utility>

#include "wfc/core/rng.hpp"
#include "wfc/core/tensor_view.hpp"

namespace wfc::objective {

inline constexpr std::uint64_t step_count_counter = 1;
inline constexpr std::uint64_t first_free_counter = 16;

// K = steps at every batch.
struct fixed_count {
  index_t steps = 2;
  index_t max_steps() const { return steps; }
  index_t draw(const counter_rng&) const { return steps; }
};

// K uniform in 1…steps (every depth up to the most is trained).
struct uniform_count {
  index_t steps = 2;
  index_t max_steps() const { return steps; }
  index_t draw(const counter_rng& rng) const {
    return 1 + std::min(steps - 1, index_t(rng.uniform<double>(step_count_counter) * double(steps)));
  }
};

template <class C, class = void>
struct is_step_count : std::false_type {};
template <class C>
struct is_step_count<C, std::enable_if_t<std::is_convertible_v<decltype(std::declval<const C&>().max_steps()), index_t> &&
                                         std::is_convertible_v<decltype(std::declval<const C&>().draw(counter_rng{})), index_t>>>
    : std::true_type {};

template <class C>
constexpr void require_step_count() {
  static_assert(is_step_count<C>::value,
                "wfc: a step count needs `index_t max_steps() const` and `index_t draw(const wfc::counter_rng&) const` "
                "(see wfc/model/wfc/step_count.hpp)");
}

}  // namespace wfc::objective
