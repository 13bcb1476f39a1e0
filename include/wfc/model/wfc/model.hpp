#pragma once
// The WFC language model (docs/design.md), composed at compile time from a backend, a past policy,
// a future mask policy, a position policy and a solver. This class is the public face; each part
// lives in a file of its own in this folder:
//
//   config.hpp, objective.hpp    sizes; the objective's settings and one batch's draw
//   step_count.hpp, slot_start.hpp, loss.hpp
//                                the objective's choices: how K is drawn, how a slot starts, where the loss goes
//   weights.hpp                  the parameters
//   training_buffers.hpp, training_batch.hpp, training_forward.hpp, training_backward.hpp
//                                one training batch: its inputs, the forward pass, the backward pass
//   inference_state.hpp, past_cache.hpp, slots.hpp, solve.hpp, readout.hpp
//                                inference: the past, the slots, the solve, disembedding
//   evaluation.hpp               first-slot and chain NLL on held-out text
//
// Slots and positions. A window holds past tokens and F future slots. The future slot that stands
// for the token at position t+1 sits at position t (above the last token it may see when it is the
// first slot), so a window of W positions holds a past of P tokens and F slots with P + F ≤ W + 1,
// and F = 1 with one solver step is nearly the GPT: the slot at position t predicts token t+1 from
// tokens 0…t.
//
// Training (pinned past, vectorised like block diffusion): the T input tokens go through the stack
// once, causally (the clean stream; each layer keeps its keys/values). The T targets get one future
// slot each, cut into blocks of F with a random offset per batch; a slot sees the clean tokens
// before its block's first target and, by the future mask, the slots of its own block. Slots start
// at max entropy (or corrupted: revealed or partially collapsed); the solver runs K steps on the
// free slots; backward runs through every step and into the clean stream through its keys/values.
//
// Drifting past (the seed's literal variant): there is no clean stream. Each training sequence of T
// tokens becomes one window of T − F + 1 past rows and F slots (a random number of the first past
// rows left empty per batch, so shorter pasts train too); every row is state that the solver moves
// with full bidirectional attention, and the loss is on the slots. Inference recomputes the window
// at every solve: the past rows restart from their tokens' embeddings, the slots from their warm states.
#include <string>
#include <vector>

#include "wfc/model/past.hpp"
#include "wfc/model/wfc/config.hpp"
#include "wfc/model/wfc/inference_state.hpp"
#include "wfc/model/wfc/objective.hpp"
#include "wfc/model/wfc/past_cache.hpp"
#include "wfc/model/wfc/readout.hpp"
#include "wfc/model/wfc/slots.hpp"
#include "wfc/model/wfc/solve.hpp"
#include "wfc/model/wfc/training_backward.hpp"
#include "wfc/model/wfc/training_batch.hpp"
#include "wfc/model/wfc/training_buffers.hpp"
#include "wfc/model/wfc/training_forward.hpp"
#include "wfc/model/wfc/weights.hpp"
#include "wfc/nn/masks.hpp"
#include "wfc/nn/positions.hpp"
#include "wfc/solver/solvers.hpp"

namespace wfc {

template <class T, class Backend, class Past = past::pinned, class FutureMask = masks::bidirectional,
          class Positions = learned_positions, class Solver = solvers::fixed_steps>
class wfc_model {
  static_assert(std::is_floating_point_v<T>, "wfc::wfc_model<T, …>: T must be float or double");
  static_assert(is_past_policy<Past>::value,
                "wfc::wfc_model: the Past policy needs `static constexpr bool cached` (see wfc/model/past.hpp)");
  static_assert(is_mask_policy<FutureMask>::value,
                "wfc::wfc_model: the FutureMask policy needs `bool keep(index_t query, index_t key) const` (see wfc/nn/masks.hpp)");
  static_assert(is_position_policy<Positions>::value,
                "wfc::wfc_model: the Positions policy needs `static constexpr bool rotary` (see wfc/nn/positions.hpp)");
  static_assert(has_solver_steps<Solver>::value, "wfc::wfc_model: the Solver needs `index_t max_steps() const`");
  static_assert(has_solver_test<Solver>::value, "wfc::wfc_model: the Solver needs `bool converged(index_t step, double residual) const`");
  static_assert(has_solver_damping<Solver>::value, "wfc::wfc_model: the Solver needs a `double damping` member (η)");

 public:
  using value_type = T;
  using backend_type = Backend;
  using past_policy = Past;
  using future_mask = FutureMask;
  using positions_policy = Positions;
  using solver_type = Solver;

  explicit wfc_model(const wfc_config& config, wfc_objective objective = {}, Solver solver = {})
      : config_((config.validate(), config)),
        objective_((objective.validate(), objective)),
        solver_((check_damping("wfc_model", solver.damping), solver)),
        weights_(config_) {
    if (objective_.carry > 0 && objective_.carry_slides > config_.future - 1)
      throw config_error("wfc_model: a slot lives F − 1 = " + std::to_string(config_.future - 1) + " slides in the window, so carry_slides (" +
                         std::to_string(objective_.carry_slides) + ") must be at most that");
    if (!Past::cached && objective_.clean_loss > 0)
      throw config_error("wfc_model: clean_loss trains the clean stream's own head, and a drifting past has no clean stream: use a "
                         "pinned past or clean_loss 0");
    if (!Past::cached && objective_.carry > 0)
      throw config_error("wfc_model: rolling training (carry > 0) needs a pinned past: a drifting past recomputes its whole window "
                         "at every solve, so it has no earlier solve to carry from");
    run_.horizon = config_.future;
  }

  const wfc_config& config() const { return config_; }
  const wfc_objective& objective() const { return objective_; }
  const Solver& solver() const { return solver_; }
  const nn::parameter_layout& layout() const { return weights_.layout; }
  tensor_view<T, 1> parameters() { return weights_.params.view(); }
  tensor_view<T, 1> gradients() { return weights_.grads.view(); }
  void zero_grad() { fill(Backend{}, weights_.grads.view(), T(0)); }

  // The GPT's initialisation (weights N(0, 0.02), residual projections N(0, 0.02/√(2·layers)),
  // biases 0, gains 1), each tensor from its own stream of the seed.
  void initialise(std::uint64_t seed) { weights_.initialise(seed); }

  // ---- Training ----

  // Batch i's random choices (the trainer's i-th forward/backward pair uses draw(i)); `tokens`, the
  // sequence length, bounds a drifting past's empty rows.
  wfc_draw draw(std::uint64_t i, index_t tokens = 0) const { return draw_batch(objective_, config_, Past::cached, i, tokens); }

  // The training objective for `sequences` rows of T inputs and T targets (targets[t] follows
  // ids[t], as a GPT's; ignore_index does not count), with the next draw. Keeps the activations.
  T forward(const std::vector<token_id>& ids, const std::vector<token_id>& targets, index_t sequences) {
    const index_t tokens = sequences > 0 ? index_t(ids.size()) / sequences : 0;
    wfc_draw d = draw(draws_, tokens);
    d.first_sequence = first_sequence_;
    return forward(ids, targets, sequences, d);
  }

  // Data-parallel training (wfc/train/process_group.hpp): the next forwards get the rows of a larger
  // batch that start at sequence `first`, so every row draws what it would in the whole batch.
  void set_first_sequence(index_t first) {
    if (first < 0) throw value_error("wfc_model::set_first_sequence: the first sequence must be ≥ 0, got " + std::to_string(first));
    first_sequence_ = first;
  }

  // What the last forward's loss is a mean over (its scored slots, or the bound's slots when
  // weighted): the weight of this process's loss when a batch split across processes is combined.
  // The velocity penalty is a mean over every row instead, so no one weight combines it exactly.
  double loss_weight() const {
    if (objective_.velocity_penalty > 0 || objective_.clean_loss > 0)
      throw config_error("wfc_model: the velocity penalty (a mean over all rows) and the clean loss (over every target) are means "
                         "over other counts than the slots' cross-entropy, so processes sharing a batch cannot weigh them exactly: "
                         "train data-parallel with velocity_penalty and clean_loss 0");
    return double(t_.loss_denominator());
  }

  T forward(const std::vector<token_id>& ids, const std::vector<token_id>& targets, index_t sequences, const wfc_draw& d) {
    const index_t steps = detail::check_wfc_batch<Past>(config_, objective_, ids, targets, sequences, d);
    t_.resize(sequences, steps, objective_.tracked_steps(), config_, Past::cached);
    t_.draw = d;
    const auto starts = objective_.slot_starts();
    const auto schedule = objective_.reveal_schedule();
    const auto live = weights_.params.cview(), held = holding_ ? held_.cview() : live;
    if constexpr (Past::cached) {
      detail::prepare_pinned_batch<FutureMask>(t_, config_, objective_, starts, schedule, solver_.damping, ids, targets, d);
      detail::clean_forward(t_, weights_, held);
    } else {
      detail::prepare_drifting_batch<FutureMask>(t_, config_, objective_, starts, schedule, solver_.damping, ids, targets, d);
    }
    detail::future_start<Past>(t_, weights_, d.steps, objective_.carry_beliefs, held);
    if (Past::cached && holding_) detail::clean_forward(t_, weights_, live);  // the tracked steps see the live clean stream
    detail::future_tracked<Past>(t_, weights_);
    const T loss = detail::wfc_loss(t_, weights_, objective_, t_.tracked, last_loss_);
    counted_ = t_.counted;
    return loss;
  }

  // Gradient checks of what a stop-gradient differentiates: while held, the steps backward does not
  // go through (truncated ones, rolling training's first solve) run with the parameters as they
  // were at hold_untracked(true), so finite differences see them as constants. Training never holds.
  void hold_untracked(bool hold) {
    holding_ = hold;
    held_ = tensor<T, 1, Backend>(shape<1>{{hold ? weights_.params.size() : 0}});
    if (hold) copy(Backend{}, held_.view(), weights_.params.cview());
  }

  // The last forward's cross-entropy at its last step (without the penalties), mean per counted slot.
  T last_cross_entropy() const { return last_loss_; }

  // The last forward's targets as scored: revealed slots (and ignore_index) are ignore_index.
  const std::vector<token_id>& scored_targets() const { return t_.host_targets; }

  // The last forward's logits at its last step [sequences·T, vocab] (row r: the slot of target r;
  // drifting: [sequences·(T + 1), vocab], the window's rows, slots last).
  tensor_view<const T, 2> last_logits() const { return t_.logits[std::size_t(t_.tracked)].cview(); }

  // Mean NLL of the last forward's last step by slot offset within its block (0 = first slot:
  // next-token prediction from a cold start); NaN where no slot had that offset.
  std::vector<double> offset_nll() const {
    std::vector<double> sum(std::size_t(config_.future), 0.0), count(std::size_t(config_.future), 0.0);
    const auto rows = to_host<Backend>(t_.loss_rows[std::size_t(t_.tracked)].cview());
    for (index_t r = 0; r < t_.rows(); ++r) {
      if (t_.host_targets[std::size_t(r)] == ignore_index) continue;
      const auto o = std::size_t(t_.host_offsets[std::size_t(r)]);
      sum[o] += double(rows[std::size_t(r)]);
      count[o] += 1;
    }
    for (std::size_t o = 0; o < sum.size(); ++o) sum[o] = count[o] > 0 ? sum[o] / count[o] : std::nan("");
    return sum;
  }

  // grads += ∂loss/∂params for the last forward, then the next forward uses the next draw.
  void backward() {
    if (counted_ < 0) throw config_error("wfc_model::backward: call forward with targets first");
    detail::wfc_backward<Past>(t_, weights_, objective_);
    counted_ = -1;
    ++draws_;
  }

  // How many draws the trainer has used (each backward advances it); set it to resume a run.
  std::uint64_t draws() const { return draws_; }
  void set_draws(std::uint64_t n) { draws_ = n; }

  // ---- Inference: a cached past and the future slots, converged from a warm start ----
  // The past holds P tokens at positions 0…P−1 (each layer's keys/values cached); slot i stands for
  // the token at P + i and sits at position P − 1 + i, so there are min(F, W − P + 1) slots.

  // Empties the past of `sequences` sequences (all of equal length; one for generation).
  void reset(index_t sequences = 1) {
    if (sequences <= 0) throw config_error("wfc_model::reset: the number of sequences must be positive");
    if (sequences != run_.sequences) {
      const index_t horizon = run_.horizon;
      run_ = wfc_inference_state<T, Backend>(sequences, config_, Past::cached);
      run_.horizon = horizon;
    }
    run_.past = 0;
    run_.origin = 0;
    run_.slots = 0;
    run_.pinned.clear();
  }

  index_t past() const { return run_.past; }
  index_t slots() const { return run_.slots; }
  // The absolute position of the past's first token: 0 until drop_past() slides the window.
  index_t origin() const { return run_.origin; }

  // The horizon: how many future slots inference keeps (1…F; F by default). It takes effect at the
  // next reset_future() or shift_future() (shift_future(0) applies it at once, keeping the slots'
  // states); the window's room still bounds it (min(horizon, W − P + 1) slots).
  void set_horizon(index_t h) {
    if (h < 1 || h > config_.future)
      throw config_error("wfc_model::set_horizon: the horizon must be between 1 and F = " + std::to_string(config_.future) + ", got " +
                         std::to_string(h));
    run_.horizon = h;
  }
  index_t horizon() const { return run_.horizon; }

  // Whether slot `slot` is pinned: embed_slot(…, true) fixed its state, and the solver leaves it.
  bool pinned(index_t slot) const { return run_.is_pinned(slot); }

  // Whether drop_past() can slide the window: a drifting past recomputes it at every solve, and a
  // pinned past's cached keys/values under rotary positions depend on relative positions only. A
  // pinned past with learned positions must be re-prefilled instead (reset(), append_past()).
  static constexpr bool can_slide = !Past::cached || Positions::rotary;

  // Drops the oldest n tokens of the past (1 ≤ n < P), keeping the rest and the future's slots:
  // the window slides. Call shift_future(0) after it to give the freed room to fresh slots.
  void drop_past(index_t n) {
    require_past("drop_past");
    if constexpr (!can_slide)
      throw config_error("wfc_model::drop_past: a pinned past with learned positions cannot slide (its cached keys hold absolute "
                         "positions); reset() and append_past() the tokens to keep");
    else
      detail::drop_past<Past>(run_, config_, n);
  }

  // Appends n tokens to every sequence's past (ids row-major [sequences, n]): the clean stream runs
  // on them, causally, against the cached past, and their keys/values join the cache. The future
  // must be reset or shifted afterwards.
  void append_past(const std::vector<token_id>& ids) { detail::append_past<Past>(run_, weights_, config_, ids); }

  // Every slot at max entropy (a cold start).
  void reset_future() {
    require_past("reset_future");
    run_.slots = run_.slot_room(config_);
    run_.pinned.assign(std::size_t(run_.slots), false);
    detail::fresh_slots(run_, weights_, config_, run_.state.view(), 0);
  }

  // After n collapsed slots joined the past (append_past of their tokens): the remaining slots move
  // to the front, keeping their states (a warm start) and pins, and fresh max-entropy slots fill
  // the rest (up to the horizon).
  void shift_future(index_t n) {
    require_past("shift_future");
    detail::shift_future(run_, weights_, config_, n);
  }

  // Re-embeds every slot from its own distribution (softmax of its logits) at its position; before
  // shift_future, this makes the carried slots start the next solve from warm_start::distribution.
  // Pinned slots keep their states.
  void reembed_future() { detail::reembed_future(run_, weights_); }

  // Runs `solver` on the slots until it converges or runs out of steps (wfc/model/wfc/solve.hpp).
  template <class S = Solver>
  solve_report converge(const S& solver) {
    require_solver<S>();
    require_past("converge");
    if (run_.slots == 0) throw config_error("wfc_model::converge: no future slots; call reset_future() first");
    check_damping("wfc_model::converge", solver.damping);
    if (solver_memory(solver) < 0)
      throw config_error("wfc_model::converge: Anderson memory must be ≥ 0, got " + std::to_string(solver_memory(solver)));
    if constexpr (Past::cached)
      return detail::converge_slots<FutureMask>(run_, weights_, solver);
    else
      return detail::converge_window<FutureMask>(run_, weights_, config_, solver);
  }

  // The slots' logits [sequences·slots, vocab] (row s·slots + i: sequence s, slot i).
  tensor_view<const T, 2> future_logits() {
    require_past("future_logits");
    return detail::future_logits(run_, weights_);
  }

  // The slots' embeddings [sequences·slots, width]: the state the solver moves.
  tensor_view<const T, 2> future_state() const { return run_.state.cview().slice(0, 0, run_.sequences * run_.slots); }

  // Disembedding: the slots' probability vectors [sequences·slots, vocab], softmax of future_logits().
  tensor_view<const T, 2> future_probabilities() {
    require_past("future_logits");
    return detail::future_probabilities(run_, weights_);
  }

  // Each slot's entropy in bits [sequences·slots]: 0 for a collapsed slot, log2(vocab) at most.
  std::vector<double> future_entropy() { return future_entropy(future_logits()); }
  // The same from logits future_logits() returned (a caller that needs both computes them once).
  std::vector<double> future_entropy(tensor_view<const T, 2> logits) { return detail::future_entropy(run_, logits); }

  // Sets slot `slot` of every sequence to the embedding of a probability vector (row s of `probs`,
  // [sequences, vocab]) at its position: a one-hot is a full collapse, a mixture a partial one, the
  // uniform vector a fresh max-entropy slot. A pinned slot keeps that state through every solve
  // (the solver moves the other slots around it) until it leaves the future or is embedded again.
  void embed_slot(index_t slot, const std::vector<T>& probs, bool pin = false) {
    require_past("embed_slot");
    detail::embed_slot(run_, weights_, config_, slot, probs, pin);
  }

 private:
  static void check_damping(const char* who, double damping) {
    if (!(damping > 0 && damping <= 1))
      throw config_error(std::string(who) + ": the solver's damping η must be in (0, 1], got " + std::to_string(damping));
  }

  void require_past(const char* op) const {
    if (run_.sequences == 0 || run_.past == 0)
      throw config_error(std::string("wfc_model::") + op + ": the past is empty; reset() and append_past() a prompt first");
  }

  wfc_config config_;
  wfc_objective objective_;
  Solver solver_;
  wfc_weights<T, Backend, Positions> weights_;
  wfc_training_buffers<T, Backend> t_;
  wfc_inference_state<T, Backend> run_;
  index_t counted_ = -1;
  T last_loss_ = 0;
  std::uint64_t draws_ = 0;
  index_t first_sequence_ = 0;
  tensor<T, 1, Backend> held_;  // hold_untracked's parameters
  bool holding_ = false;
};

}  // namespace wfc
