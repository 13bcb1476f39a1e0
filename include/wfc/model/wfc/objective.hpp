#pragma once
// The training objective's settings (docs/design.md, "Training") and one batch's random choices.
// Each choice that varies is a small policy of its own file: how K is drawn (step_count.hpp), how
// a slot starts (slot_start.hpp), where the loss goes (loss.hpp). The settings pick the shipped
// ones; they are plain fields because checkpoints and `wfc train` flags carry them.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

#include "wfc/core/error.hpp"
#include "wfc/core/rng.hpp"
#include "wfc/model/wfc/config.hpp"
#include "wfc/model/wfc/reveal_schedule.hpp"
#include "wfc/model/wfc/slot_start.hpp"
#include "wfc/model/wfc/step_count.hpp"

namespace wfc {

struct wfc_objective {
  index_t steps = 2;              // K: solver steps unrolled in training (with mean_steps: the most)
  bool random_steps = false;      // draw K from [1, steps] per batch instead
  double mean_steps = 0;          // > 1: draw K from the log-normal Poisson of this mean, capped at steps (0: off)
  index_t backprop_steps = 0;     // backpropagate through the last this many steps only (0: all): bounds memory for deep K
  double reveal = 0;              // rate of slots revealed: one-hot of their target, pinned, no loss (trains infilling)
  bool any_order = false;         // instead: each block reveals a share of its slots drawn uniformly (reveal_schedule.hpp)
  bool bound_weight = false;      // any_order: weight scored slots by n/(n − revealed), so the loss is the any-order bound
  double partial = 0;             // rate of slots partially collapsed toward their target at the start
  double deep_supervision = 0;    // weight of the mean loss of steps 1…K−1 beside the last step's
  double velocity_penalty = 0;    // weight of the last step's mean squared update ‖Δx‖²/width per slot
  double clean_loss = 0;          // pinned past: weight of a next-token loss on the clean stream's own states (a GPT's loss)
  double carry = 0;               // rate of batches whose slots start from a previous solve's states (rolling training; pinned past)
  index_t carry_slides = 1;       // solves a carried slot lived through before the tracked one (F − 1: its whole life in the window)
  bool carry_beliefs = false;     // carried slots start from the embedding of their beliefs, not their raw states
  std::uint64_t seed = 1;         // block offsets, K draws and corruption

  void validate() const {
    if (steps < 1) throw config_error("wfc_objective: need at least one solver step, got " + std::to_string(steps));
    if (!(mean_steps == 0 || (mean_steps > 1 && mean_steps <= double(steps))))
      throw config_error("wfc_objective: mean_steps must be 0 (off) or in (1, steps = " + std::to_string(steps) + "], got " +
                         std::to_string(mean_steps));
    if (mean_steps > 0 && random_steps)
      throw config_error("wfc_objective: random_steps (uniform K) and mean_steps (log-normal Poisson K) exclude each other");
    if (backprop_steps < 0)
      throw config_error("wfc_objective: backprop_steps must be ≥ 0 (0: through every step), got " + std::to_string(backprop_steps));
    if (!(partial >= 0 && partial <= 1)) throw config_error("wfc_objective: the partial-collapse rate must be in [0, 1]");
    if (!(reveal >= 0 && reveal < 1)) throw config_error("wfc_objective: the reveal rate must be in [0, 1): some slots must be left to learn from");
    if (any_order && reveal > 0)
      throw config_error("wfc_objective: any_order draws each block's reveal rate; leave the fixed reveal rate at 0");
    if (bound_weight && !any_order) throw config_error("wfc_objective: bound_weight weights any-order reveals; it needs any_order");
    if (bound_weight && partial > 0)
      throw config_error("wfc_objective: bound_weight makes the loss a bound on the NLL, which a slot partially collapsed toward its "
                         "answer breaks; set partial to 0");
    if (!(deep_supervision >= 0 && std::isfinite(deep_supervision)) || !(velocity_penalty >= 0 && std::isfinite(velocity_penalty)) ||
        !(clean_loss >= 0 && std::isfinite(clean_loss)))
      throw config_error("wfc_objective: deep_supervision, velocity_penalty and clean_loss must be finite and ≥ 0");
    if (!(carry >= 0 && carry <= 1)) throw config_error("wfc_objective: the carry rate must be in [0, 1], got " + std::to_string(carry));
    if (carry_slides < 1) throw config_error("wfc_objective: carry_slides must be ≥ 1, got " + std::to_string(carry_slides));
  }

  // The most steps backward runs through: the unrolled buffers hold this many.
  index_t tracked_steps() const { return backprop_steps > 0 ? std::min(steps, backprop_steps) : steps; }

  // The K evaluation and the fixed-step chain use: the fixed or the most K (uniform), or the
  // log-normal Poisson's mean rounded.
  index_t evaluation_steps() const { return mean_steps > 0 ? std::max<index_t>(1, index_t(std::lround(mean_steps))) : steps; }

  // The shipped policies these settings select.
  index_t draw_steps(const counter_rng& rng) const {
    if (mean_steps > 0) return objective::lognormal_poisson_count{mean_steps, steps}.draw(rng);
    return random_steps ? objective::uniform_count{steps}.draw(rng) : objective::fixed_count{steps}.draw(rng);
  }
  objective::reveal_and_partial slot_starts() const { return {reveal, partial}; }
  objective::uniform_reveal reveal_schedule() const { return {}; }
};

// How slots that stay in the future after a collapse start the next solve: from max entropy
// (none), from their converged states (state), or from the embedding of their own distributions
// (distribution: what a slot believes rather than its raw state; training's partial collapses show
// the model inputs of that kind, while a converged state is an input only an unrolled step shows).
enum class warm_start { none, state, distribution };

// One batch's random choices: where blocks start and how many steps run. draw(i) of an objective
// is always the same, so a run is reproducible and a gradient check sees one function.
struct wfc_draw {
  index_t offset = 0, steps = 1;
  index_t start = 0;         // drifting past: empty rows at the front of the window (a shorter past)
  std::uint64_t stream = 0;  // corruption draws
  bool corrupt = true;       // reveal and partially collapse slots at the objective's rates (evaluation: false)
  bool carried = false;      // the slots start from a first solve one token earlier (rolling training)
  bool bound = false;        // any-order reveals, weighted, no partial collapse, whatever the objective: the bound's estimate
  index_t first_sequence = 0;  // the batch's rows are these rows of a larger batch split across processes: per-row draws follow the global row
};

// Batch i's draw for sequences of `tokens` tokens (which bound a drifting past's empty rows; a
// pinned past has none). Counters of the batch's generator: 0 the block offset, 1 the step count,
// 2 the empty rows, 3 whether the slots start carried (F > 1 only: with one slot nothing is carried).
inline wfc_draw draw_batch(const wfc_objective& objective, const wfc_config& config, bool past_cached, std::uint64_t i,
                           index_t tokens) {
  const counter_rng rng(objective.seed, i);
  wfc_draw d;
  d.offset = std::min(config.future - 1, index_t(rng.uniform<double>(0) * double(config.future)));
  d.steps = objective.draw_steps(rng);
  const index_t past_rows = tokens - config.future + 1;
  if (!past_cached && past_rows > 0) d.start = std::min(past_rows - 1, index_t(rng.uniform<double>(2) * double(past_rows)));
  d.carried = objective.carry > 0 && config.future > 1 && rng.uniform<double>(3) < objective.carry;
  d.stream = i;
  return d;
}

}  // namespace wfc
