#pragma once
// Any-order training (as masked diffusion: MD4, MDLM; as any-order autoregression: ARDM): each
// block's own reveal rate u, drawn per block, reveals m = ⌊u·n⌋ of its n scored slots, a uniformly
// random subset. A slot is then shown with every number of others revealed, so a model can learn to
// start where it is sure (a path's last node) rather than only at the front. A reveal schedule is a
// small struct
//
//   struct my_schedule {
//     double rate(const counter_rng& rng, std::uint64_t block) const;  // in [0, 1)
//   };
//
// (`rng` is the batch's reveal stream; the schedule owns counter `block` of it).
//
// With u uniform in [0, 1), m is uniform in 0…n − 1, and weighting each scored slot by n/(n − m)
// makes the block's loss, summed and divided by its n slots, an unbiased estimate of the any-order
// bound on the block's NLL per token (ARDM, Hoogeboom et al. 2022, eq. 4):
//   −log p(x) ≤ n · E_m [ 1/(n − m) · Σ_{i not revealed} −log p(x_i | x_revealed) ].
#include <algorithm>
#include <cstdint>
#include <numeric>
#include <type_traits>
#include <utility>
#include <vector>

#include "wfc/core/rng.hpp"
#include "wfc/core/tensor_view.hpp"

namespace wfc::objective {

// The rate uniform in [0, 1): every revealed count equally likely (the bound's schedule).
struct uniform_reveal {
  double rate(const counter_rng& rng, std::uint64_t block) const { return rng.uniform<double>(block); }
};

template <class S, class = void>
struct is_reveal_schedule : std::false_type {};
template <class S>
struct is_reveal_schedule<
    S, std::enable_if_t<std::is_same_v<decltype(std::declval<const S&>().rate(counter_rng{}, std::uint64_t{})), double>>>
    : std::true_type {};

template <class S>
constexpr void require_reveal_schedule() {
  static_assert(is_reveal_schedule<S>::value,
                "wfc: a reveal schedule needs `double rate(const wfc::counter_rng&, std::uint64_t block) const` returning a rate in "
                "[0, 1) (see wfc/model/wfc/reveal_schedule.hpp)");
}

// How many of a block's n slots a rate reveals: ⌊u·n⌋, at most n − 1 (one is always left to score).
inline index_t revealed_count(double rate, index_t n) {
  return n <= 0 ? 0 : std::clamp<index_t>(index_t(rate * double(n)), 0, n - 1);
}

// A scored slot's weight in the bound: n/(n − m) for m of n revealed.
inline double bound_weight(index_t n, index_t revealed) { return double(n) / double(n - revealed); }

// Which of a block's n slots are revealed: `count` of them, the subset chosen uniformly by a
// random key per slot from `keys` (counters first … first + n − 1). Returns one flag per slot.
inline std::vector<bool> revealed_subset(index_t n, index_t count, const counter_rng& keys, std::uint64_t first = 0) {
  std::vector<index_t> order(std::size_t(std::max<index_t>(n, 0)));
  std::iota(order.begin(), order.end(), index_t(0));
  std::vector<double> key(order.size());
  for (index_t i = 0; i < n; ++i) key[std::size_t(i)] = keys.uniform<double>(first + std::uint64_t(i));
  std::partial_sort(order.begin(), order.begin() + count, order.end(),
                    [&](index_t a, index_t b) { return key[std::size_t(a)] < key[std::size_t(b)]; });
  std::vector<bool> revealed(order.size(), false);
  for (index_t i = 0; i < count; ++i) revealed[std::size_t(order[std::size_t(i)])] = true;
  return revealed;
}

}  // namespace wfc::objective
