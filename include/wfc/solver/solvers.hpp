#pragma once
// Solvers for the WFC fixed point of the future slots, x = S_θ(x): each step moves the slots along
// the velocity field v(x) = S_θ(x) − x by a damping factor η, x ← x + η·v(x), and a solver says
// when to stop. A solver is a small struct:
//
//   struct my_solver {
//     double damping = 1;                                   // η
//     index_t max_steps() const;                            // never more steps than this
//     bool converged(index_t step, double residual) const;  // residual (by `norm`) after `step` steps
//   };
//
// Optional members: `residual_norm norm` (what `residual` measures: ‖Δx‖/‖x‖ over every slot, the
// largest slot's own, or the largest slot's KL between successive beliefs) and `index_t memory`
// (Anderson acceleration over that many earlier iterates).
//
// The solvers here have validate(), which throws config_error for settings that cannot work (no
// steps, a damping outside (0, 1], a negative or NaN tolerance): call it before any work.
//
// Training unrolls a fixed number of plain steps (and backpropagates through them); generation and
// evaluation ask converged() after every step: each step reads the rows' norms back once (Anderson
// also reads its row of dot products), whatever the norm, the pins and the number of sequences.
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "wfc/core/error.hpp"
#include "wfc/core/tensor_view.hpp"

namespace wfc {
// How a solve measures its progress: segment, ‖Δx‖/‖x‖ over every free slot; per_slot, the largest
// slot's own ‖Δx_i‖/‖x_i‖ (one unsettled slot keeps the solve going); belief, the largest slot's
// KL(p_k ‖ p_{k−1}) in nats between its distributions after successive steps (a language model's
// test: every slot's belief stopped moving, whatever its state still does off the readout).
enum class residual_norm { segment, per_slot, belief };

namespace detail {
// `count` names the solver's setting that counts its steps (steps, limit).
inline void check_solver(const char* solver, const char* count, index_t steps, double damping) {
  if (steps < 1) throw config_error(std::string(solver) + ": " + count + " must be ≥ 1 step, got " + std::to_string(steps));
  if (!(damping > 0 && damping <= 1))
    throw config_error(std::string(solver) + ": damping η must be in (0, 1], got " + std::to_string(damping));
}
inline void check_tolerance(const char* solver, double tolerance) {
  if (!(tolerance >= 0))
    throw config_error(std::string(solver) + ": tolerance must be ≥ 0 (0: always take limit steps), got " + std::to_string(tolerance));
}
}  // namespace detail
}  // namespace wfc

namespace wfc::solvers {

// Exactly `steps` steps.
struct fixed_steps {
  index_t steps = 4;
  double damping = 1.0;
  void validate() const { detail::check_solver("fixed_steps", "steps", steps, damping); }
  index_t max_steps() const { return steps; }
  bool converged(index_t, double) const { return false; }
};

// Until the residual (by default the relative update ‖Δx‖/‖x‖ over the future segment; with
// norm = belief the largest KL between a slot's successive distributions, in nats) is at most
// `tolerance`, or `limit` steps (early exit: easy contexts take fewer steps).
struct until_converged {
  double tolerance = 1e-3;
  index_t limit = 16;
  double damping = 1.0;
  residual_norm norm = residual_norm::segment;
  void validate() const {
    detail::check_tolerance("until_converged", tolerance);
    detail::check_solver("until_converged", "limit", limit, damping);
  }
  index_t max_steps() const { return limit; }
  bool converged(index_t, double residual) const { return residual <= tolerance; }
};

// until_converged with Anderson acceleration (type II; Walker & Ni, 2011): the next iterate is the
// combination Σ α_j·(x_j + η·v(x_j)) of the last memory + 1 iterates whose velocities cancel best
// (α minimises ‖Σ α_j·v(x_j)‖ with Σ α_j = 1, a small ridge keeping the solve stable).
// Inference only: training unrolls plain steps.
struct anderson {
  double tolerance = 1e-3;
  index_t limit = 16;
  double damping = 1.0;
  index_t memory = 3;
  residual_norm norm = residual_norm::segment;
  void validate() const {
    detail::check_tolerance("anderson", tolerance);
    detail::check_solver("anderson", "limit", limit, damping);
    if (memory < 0) throw config_error("anderson: memory must be ≥ 0 iterates (0: plain steps), got " + std::to_string(memory));
  }
  index_t max_steps() const { return limit; }
  bool converged(index_t, double residual) const { return residual <= tolerance; }
};

}  // namespace wfc::solvers

namespace wfc {

// What a solve did: steps taken and the last residual (the largest slot's with per_slot and
// belief, whose every slot's last residual is in slot_residuals, [sequences·slots]).
struct solve_report {
  index_t steps = 0;
  double residual = 0;
  std::vector<double> slot_residuals;
};

template <class S, class = void>
struct has_solver_steps : std::false_type {};
template <class S>
struct has_solver_steps<S, std::enable_if_t<std::is_convertible_v<decltype(std::declval<const S&>().max_steps()), index_t>>>
    : std::true_type {};
template <class S, class = void>
struct has_solver_test : std::false_type {};
template <class S>
struct has_solver_test<S, std::enable_if_t<std::is_convertible_v<
                              decltype(std::declval<const S&>().converged(index_t{}, double{})), bool>>> : std::true_type {};
template <class S, class = void>
struct has_solver_damping : std::false_type {};
template <class S>
struct has_solver_damping<S, std::enable_if_t<std::is_convertible_v<decltype(std::declval<const S&>().damping), double>>>
    : std::true_type {};

// The optional members, with their defaults when a solver leaves them out.
template <class S, class = void>
struct has_solver_norm : std::false_type {};
template <class S>
struct has_solver_norm<S, std::enable_if_t<std::is_same_v<std::decay_t<decltype(std::declval<const S&>().norm)>, residual_norm>>>
    : std::true_type {};
template <class S, class = void>
struct has_solver_memory : std::false_type {};
template <class S>
struct has_solver_memory<S, std::enable_if_t<std::is_convertible_v<decltype(std::declval<const S&>().memory), index_t>>>
    : std::true_type {};

template <class S>
residual_norm solver_norm(const S& s) {
  if constexpr (has_solver_norm<S>::value) return s.norm;
  else return residual_norm::segment;
}
template <class S>
index_t solver_memory(const S& s) {
  if constexpr (has_solver_memory<S>::value) return s.memory;
  else return 0;
}

template <class S>
struct is_solver : std::bool_constant<has_solver_steps<S>::value && has_solver_test<S>::value && has_solver_damping<S>::value> {};

template <class S>
constexpr void require_solver() {
  static_assert(has_solver_steps<S>::value, "wfc: a solver needs `index_t max_steps() const` (see wfc/solver/solvers.hpp)");
  static_assert(has_solver_test<S>::value,
                "wfc: a solver needs `bool converged(index_t step, double residual) const` (see wfc/solver/solvers.hpp)");
  static_assert(has_solver_damping<S>::value, "wfc: a solver needs a `double damping` member (η; see wfc/solver/solvers.hpp)");
}

}  // namespace wfc
