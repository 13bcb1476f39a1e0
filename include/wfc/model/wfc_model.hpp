#pragma once
// The WFC language model (DESIGN.md §1–2), composed at compile time from a backend, a past policy,
// a future mask policy, a position policy and a solver.
//
// Slots and positions. A window holds past tokens and F future slots. The future slot that stands
// for the token at position t+1 sits at position t (above the last token it may see when it is the
// first slot), so a window of W positions holds a past of P tokens and F slots with P + F ≤ W + 1,
// and F = 1 with one solver step is nearly the GPT: the slot at position t predicts token t+1 from
// tokens 0…t.
//
// Training objective (pinned past, vectorised like block diffusion): the T input tokens go through
// the stack once, causally (the clean stream; each layer keeps its keys/values). The T targets get
// one future slot each, cut into blocks of F with a random offset per batch; a slot sees the clean
// tokens before its block's first target and, by the future mask, the slots of its own block.
// Slots start at the max-entropy embedding (or a partial collapse toward their target, or revealed:
// the one-hot of their target, pinned through every step and left out of the loss); the solver
// runs K steps x ← x + η·(S_θ(x) − x) on the free slots; the loss is the cross-entropy of every slot at
// the last step, plus optional deep supervision (the earlier steps' losses) and a velocity penalty
// (the last step's mean squared update). Backward runs through every step and into the clean
// stream through its keys and values.
//
// Drifting past (the seed's literal variant): there is no clean stream. Each training sequence of T
// tokens becomes one window of T − F + 1 past rows and F slots (a random number of the first past
// rows left empty per batch, so shorter pasts train too); every row is state that the solver moves
// with full bidirectional attention (past::drifting), and the loss is on the slots. Inference
// recomputes the window at every solve: the past rows restart from their tokens' embeddings, the
// slots from their warm states.
#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "wfc/core/rng.hpp"
#include "wfc/model/block_buffers.hpp"
#include "wfc/model/initialise.hpp"
#include "wfc/model/past.hpp"
#include "wfc/nn/block.hpp"
#include "wfc/nn/embedding.hpp"
#include "wfc/nn/layer_norm.hpp"
#include "wfc/nn/masks.hpp"
#include "wfc/nn/positions.hpp"
#include "wfc/solver/anderson.hpp"
#include "wfc/solver/solvers.hpp"

namespace wfc {

struct wfc_config {
  index_t vocab = 65, width = 128, heads = 4, layers = 4;
  index_t future = 4;   // F: future slots in the window (and the training block size)
  index_t window = 64;  // W: positions in the window (the learned position table's rows)
  bool bias = false;    // biases in the linear layers and norms (as gpt_config::bias)

  void validate() const {
    if (vocab <= 0 || width <= 0 || heads <= 0 || layers <= 0 || window <= 0)
      throw config_error("wfc_config: vocab, width, heads, layers and window must be positive");
    if (width % heads != 0)
      throw config_error("wfc_config: " + std::to_string(heads) + " heads do not divide the width " + std::to_string(width));
    if (future < 1 || future > window)
      throw config_error("wfc_config: the future F (" + std::to_string(future) + ") must be between 1 and the window (" +
                         std::to_string(window) + ")");
  }
};

// The training objective's settings (DESIGN.md §2).
struct wfc_objective {
  index_t steps = 2;              // K: solver steps unrolled in training
  bool random_steps = false;      // draw K from [1, steps] per batch instead
  double reveal = 0;              // rate of slots revealed: one-hot of their target, pinned, no loss (trains infilling)
  double partial = 0;             // rate of slots partially collapsed toward their target at the start
  double deep_supervision = 0;    // weight of the mean loss of steps 1…K−1 beside the last step's
  double velocity_penalty = 0;    // weight of the last step's mean squared update ‖Δx‖²/width per slot
  std::uint64_t seed = 1;         // block offsets, K draws and corruption

  void validate() const {
    if (steps < 1) throw config_error("wfc_objective: need at least one solver step, got " + std::to_string(steps));
    if (!(partial >= 0 && partial <= 1)) throw config_error("wfc_objective: the partial-collapse rate must be in [0, 1]");
    if (!(reveal >= 0 && reveal < 1)) throw config_error("wfc_objective: the reveal rate must be in [0, 1): some slots must be left to learn from");
    if (!(deep_supervision >= 0) || !(velocity_penalty >= 0))
      throw config_error("wfc_objective: deep_supervision and velocity_penalty must be ≥ 0");
  }
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
};

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

  template <std::size_t R>
  using buffer = tensor<T, R, Backend>;
  using ids_buffer = tensor<token_id, 1, Backend>;

 public:
  using value_type = T;
  using backend_type = Backend;
  using past_policy = Past;
  using future_mask = FutureMask;
  using positions_policy = Positions;
  using solver_type = Solver;

  explicit wfc_model(const wfc_config& config, wfc_objective objective = {}, Solver solver = {})
      : config_((config.validate(), config)), objective_((objective.validate(), objective)), solver_(solver) {
    if (!(solver_.damping > 0 && solver_.damping <= 1))
      throw config_error("wfc_model: the solver's damping η must be in (0, 1], got " + std::to_string(solver_.damping));
    if (Positions::rotary && (config_.width / config_.heads) % 2 != 0)
      throw config_error("wfc_model: rotary positions turn pairs of features, so the head width (" +
                         std::to_string(config_.width / config_.heads) + ") must be even");
    wte_ = nn::embedding(layout_, "wte", config_.vocab, config_.width);
    if constexpr (!Positions::rotary) wpe_ = nn::embedding(layout_, "wpe", config_.window, config_.width);
    for (index_t l = 0; l < config_.layers; ++l)
      blocks_.emplace_back(layout_, "h." + std::to_string(l), config_.width, config_.heads, 4 * config_.width, config_.bias);
    ln_f_ = nn::layer_norm(layout_, "ln_f", config_.width, config_.bias);
    params_ = buffer<1>(shape<1>{{layout_.size()}});
    grads_ = buffer<1>(shape<1>{{layout_.size()}});
  }

  const wfc_config& config() const { return config_; }
  const wfc_objective& objective() const { return objective_; }
  const Solver& solver() const { return solver_; }
  const nn::parameter_layout& layout() const { return layout_; }
  tensor_view<T, 1> parameters() { return params_.view(); }
  tensor_view<T, 1> gradients() { return grads_.view(); }
  void zero_grad() { fill(Backend{}, grads_.view(), T(0)); }

  // The GPT's initialisation (weights N(0, 0.02), residual projections N(0, 0.02/√(2·layers)),
  // biases 0, gains 1), each tensor from its own stream of the seed.
  void initialise(std::uint64_t seed) {
    const Backend be{};
    gpt2_initialise(be, layout_, params_.view(), config_.layers, seed);
    for (const auto& b : blocks_) b.initialise_norms(be, params_.view());
    ln_f_.initialise(be, params_.view());
  }

  // Batch i's random choices (the trainer's i-th forward/backward pair uses draw(i)); `tokens`, the
  // sequence length, bounds a drifting past's empty rows.
  wfc_draw draw(std::uint64_t i, index_t tokens = 0) const {
    const counter_rng rng(objective_.seed, i);
    wfc_draw d;
    d.offset = std::min(config_.future - 1, index_t(rng.uniform<double>(0) * double(config_.future)));
    d.steps = objective_.random_steps ? 1 + std::min(objective_.steps - 1, index_t(rng.uniform<double>(1) * double(objective_.steps)))
                                      : objective_.steps;
    const index_t past_rows = tokens - config_.future + 1;
    if (!Past::cached && past_rows > 0) d.start = std::min(past_rows - 1, index_t(rng.uniform<double>(2) * double(past_rows)));
    d.stream = i;
    return d;
  }

  // The training objective for `sequences` rows of T inputs and T targets (targets[t] follows
  // ids[t], as a GPT's; ignore_index does not count), with the next draw. Keeps the activations.
  T forward(const std::vector<token_id>& ids, const std::vector<token_id>& targets, index_t sequences) {
    const index_t tokens = sequences > 0 ? index_t(ids.size()) / sequences : 0;
    return forward(ids, targets, sequences, draw(draws_, tokens));
  }

  T forward(const std::vector<token_id>& ids, const std::vector<token_id>& targets, index_t sequences, const wfc_draw& d) {
    const Backend be{};
    const index_t steps = check_batch(ids, targets, sequences, d);
    t_.resize(sequences, steps, objective_.steps, config_, Past::cached);
    t_.draw = d;
    if constexpr (Past::cached) {
      prepare_inputs(ids, targets, d);
      run_clean();
    } else {
      prepare_window(ids, targets, d);
    }
    run_future(d.steps);
    // The loss: the last step's cross-entropy, deep supervision over the earlier ones, the velocity penalty.
    const index_t counted = t_.counted;
    T loss = head_loss(d.steps);
    last_loss_ = loss;
    if (objective_.deep_supervision > 0 && d.steps > 1) {
      T earlier = 0;
      for (index_t k = 1; k < d.steps; ++k) earlier += head_loss(k);
      loss += T(objective_.deep_supervision) * earlier / T(d.steps - 1);
    }
    if (objective_.velocity_penalty > 0) {
      copy(be, t_.delta.view(), t_.state[std::size_t(d.steps)].cview());
      axpy(be, t_.delta.view(), T(-1), t_.state[std::size_t(d.steps - 1)].cview());
      const T rows = T(t_.rows());
      loss += T(objective_.velocity_penalty) * squared_norm(be, t_.delta.cview()) / (rows * T(config_.width));
    }
    counted_ = counted;
    return loss;
  }

  // The last forward's cross-entropy at its last step (without the penalties), mean per counted slot.
  T last_cross_entropy() const { return last_loss_; }

  // The last forward's targets as scored: revealed slots (and ignore_index) are ignore_index.
  const std::vector<token_id>& scored_targets() const { return t_.host_targets; }

  // The last forward's logits at its last step [sequences·T, vocab] (row r: the slot of target r;
  // drifting: [sequences·(T + 1), vocab], the window's rows, slots last).
  tensor_view<const T, 2> last_logits() const { return t_.logits[std::size_t(t_.draw.steps)].cview(); }

  // Mean NLL of the last forward's last step by slot offset within its block (0 = first slot:
  // next-token prediction from a cold start); NaN where no slot had that offset.
  std::vector<double> offset_nll() const {
    std::vector<double> sum(std::size_t(config_.future), 0.0), count(std::size_t(config_.future), 0.0);
    const auto rows = to_host<Backend>(t_.loss_rows[std::size_t(t_.draw.steps)].cview());
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
    const Backend be{};
    const auto p = params_.cview();
    const auto g = grads_.view();
    const index_t K = t_.draw.steps;
    for (auto& b : t_.dkeys) fill(be, b.view(), T(0));  // pinned past only
    for (auto& b : t_.dvalues) fill(be, b.view(), T(0));
    // d(state_K): the last step's head, and the velocity penalty on state_K − state_{K−1}
    auto dstate = t_.dstate[0].view(), dprev = t_.dstate[1].view();
    fill(be, dstate, T(0));
    head_backward(K, dstate, T(1));
    if (objective_.velocity_penalty > 0) {
      const T c = T(2 * objective_.velocity_penalty) / (T(t_.rows()) * T(config_.width));
      axpy(be, dstate, c, t_.delta.cview());
      fill(be, t_.carry.view(), T(0));
      axpy(be, t_.carry.view(), -c, t_.delta.cview());  // into d(state_{K−1})
    }
    for (index_t k = K; k >= 1; --k) {
      // state_k = state_{k−1} + η_r·(S(state_{k−1}) − state_{k−1}): d(state_{k−1}) = (1 − η_r)·d(state_k) + (∂S)ᵀ·η_r·d(state_k)
      fill(be, dprev, T(0));
      axpy(be, dprev, T(1), as_const(dstate));
      if (k == K && objective_.velocity_penalty > 0) axpy(be, dprev, T(1), t_.carry.cview());
      if (k - 1 >= 1 && objective_.deep_supervision > 0 && K > 1)
        head_backward(k - 1, dprev, T(objective_.deep_supervision) / T(K - 1));
      scale_rows(be, dstate, t_.step_factor.cview());  // dS = η_r·d(state_k)
      axpy(be, dprev, T(-1), as_const(dstate));
      backward_stack(k, as_const(dstate), dprev, p, g);
      std::swap(dstate, dprev);
    }
    // state_0 = P·E + positions
    wte_.backward(be, tensor_view<T, 2>{}, g, as_const(dstate), t_.probs.cview(), p);
    if constexpr (!Positions::rotary) wpe_.backward(be, g, as_const(dstate), t_.positions.cview());
    if constexpr (Past::cached) backward_clean(p, g);
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
    if (sequences != run_.sequences) run_ = inference(sequences, config_, Past::cached);
    run_.past = 0;
    run_.origin = 0;
    run_.slots = 0;
    pinned_.clear();
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
    horizon_ = h;
  }
  index_t horizon() const { return horizon_; }

  // Whether slot `slot` is pinned: embed_slot(…, true) fixed its state, and the solver leaves it.
  bool pinned(index_t slot) const { return slot >= 0 && slot < index_t(pinned_.size()) && pinned_[std::size_t(slot)]; }

  // Whether drop_past() can slide the window: a drifting past recomputes it at every solve, and a
  // pinned past's cached keys/values under rotary positions depend on relative positions only. A
  // pinned past with learned positions must be re-prefilled instead (reset(), append_past()).
  static constexpr bool can_slide = !Past::cached || Positions::rotary;

  // Drops the oldest n tokens of the past (1 ≤ n < P), keeping the rest and the future's slots:
  // the window slides. Rotary (pinned): the cached keys/values move down and later tokens keep
  // counting positions from the origin. Drifting: the tokens move down and the window restarts at
  // position 0. Call shift_future(0) after it to give the freed room to fresh slots.
  void drop_past(index_t n) {
    require_past("drop_past");
    if constexpr (!can_slide) {
      throw config_error("wfc_model::drop_past: a pinned past with learned positions cannot slide (its cached keys hold absolute "
                         "positions); reset() and append_past() the tokens to keep");
    } else {
      const index_t P = run_.past, S = run_.sequences;
      if (n < 1 || n >= P)
        throw config_error("wfc_model::drop_past: can drop 1…" + std::to_string(P - 1) + " of the past's " + std::to_string(P) +
                           " tokens, not " + std::to_string(n));
      const Backend be{};
      if constexpr (Past::cached) {
        // Chunks of at most n rows, so no copy reads rows that it overwrites.
        for (std::size_t l = 0; l < run_.keys.size(); ++l)
          for (index_t s = 0; s < S; ++s)
            for (index_t to = 0; to < P - n; to += n) {
              const index_t len = std::min(n, P - n - to);
              for (auto* cache : {&run_.keys[l], &run_.values[l]})
                copy(be, cache->view()[s].slice(0, to, to + len), cache->cview()[s].slice(0, to + n, to + n + len));
            }
        run_.origin += n;
      } else {
        const index_t W = config_.window;
        for (index_t s = 0; s < S; ++s) {
          auto row = run_.past_tokens.begin() + s * W;
          std::copy(row + n, row + P, row);
        }
      }
      run_.past = P - n;
    }
  }

  // Appends n tokens to every sequence's past (ids row-major [sequences, n]): the clean stream runs
  // on them, causally, against the cached past, and their keys/values join the cache. The future
  // must be reset or shifted afterwards.
  void append_past(const std::vector<token_id>& ids) {
    const Backend be{};
    const index_t S = run_.sequences;
    if (S == 0) throw config_error("wfc_model::append_past: call reset() first");
    if (ids.empty() || ids.size() % std::size_t(S) != 0)
      throw shape_error("wfc_model::append_past: " + std::to_string(ids.size()) + " tokens are not " + std::to_string(S) +
                        " sequences of equal length");
    const index_t n = index_t(ids.size()) / S, P = run_.past;
    if (P + n > config_.window)
      throw shape_error("wfc_model::append_past: " + std::to_string(P) + " past + " + std::to_string(n) +
                        " new tokens exceed the window of " + std::to_string(config_.window) + " positions; reset() and slide");
    for (token_id id : ids)
      if (id < 0 || id >= config_.vocab)
        throw value_error("wfc_model::append_past: token " + std::to_string(id) + " is outside the vocabulary of " +
                          std::to_string(config_.vocab));
    if constexpr (!Past::cached) {  // drifting: nothing to cache, every solve recomputes the window
      for (index_t s = 0; s < S; ++s)
        for (index_t j = 0; j < n; ++j) run_.past_tokens[std::size_t(s * config_.window + P + j)] = ids[std::size_t(s * n + j)];
      run_.past = P + n;
      return;
    }
    run_.resize_clean(n, config_);
    auto& c = run_.clean;
    c.ids.copy_from_host(ids);
    run_.host_positions.resize(std::size_t(S * n));
    for (index_t i = 0; i < S * n; ++i) run_.host_positions[std::size_t(i)] = token_id(run_.origin + P + i % n);
    c.positions.copy_from_host(run_.host_positions);
    const auto p = params_.cview();
    wte_.forward(be, c.stream[0].view(), c.ids.cview(), p);
    if constexpr (!Positions::rotary) {
      wpe_.forward(be, c.pos_embed.view(), c.positions.cview(), p);
      axpy(be, c.stream[0].view(), T(1), c.pos_embed.cview());
    }
    nn::attention_context<T> context;
    context.keep = run_.causal.cview().slice(0, P, P + n).slice(1, 0, P + n);
    context.sequences = S;
    if constexpr (Positions::rotary) context.positions = c.positions.cview();
    const index_t d = config_.width;
    for (std::size_t l = 0; l < blocks_.size(); ++l) {
      context.past_keys = run_.keys[l].cview().slice(1, 0, P);
      context.past_values = run_.values[l].cview().slice(1, 0, P);
      const auto a = c.acts[l].view(P + n);
      blocks_[l].forward(be, c.stream[l + 1].view(), a, c.stream[l].cview(), context, p);
      for (index_t s = 0; s < S; ++s) {
        const auto rows = as_const(a.attn.qkv.slice(0, s * n, (s + 1) * n));
        copy(be, run_.keys[l].view()[s].slice(0, P, P + n), rows.slice(1, d, 2 * d));
        copy(be, run_.values[l].view()[s].slice(0, P, P + n), rows.slice(1, 2 * d, 3 * d));
      }
    }
    run_.past = P + n;
  }

  // Every slot at max entropy (a cold start).
  void reset_future() {
    require_past("reset_future");
    run_.slots = slot_room();
    pinned_.assign(std::size_t(run_.slots), false);
    fresh_slots(run_.state.view(), 0);
  }

  // After n collapsed slots joined the past (append_past of their tokens): the remaining slots move
  // to the front, keeping their states (a warm start) and pins, and fresh max-entropy slots fill
  // the rest (up to the horizon).
  void shift_future(index_t n) {
    require_past("shift_future");
    const Backend be{};
    const index_t S = run_.sequences, f = run_.slots;
    if (n < 0 || n > f) throw config_error("wfc_model::shift_future: cannot drop " + std::to_string(n) + " of " + std::to_string(f) + " slots");
    const index_t kept = f - n, next = slot_room();
    const index_t carried = std::min(kept, next);
    auto moved = run_.next.view();
    fresh_slots(moved, carried);
    for (index_t s = 0; s < S; ++s)
      if (carried > 0)
        copy(be, moved.slice(0, s * next, s * next + carried), run_.state.cview().slice(0, s * f + n, s * f + n + carried));
    run_.slots = next;
    copy(be, run_.state.view().slice(0, 0, S * next), as_const(moved.slice(0, 0, S * next)));
    std::vector<bool> pins(std::size_t(next), false);
    for (index_t i = 0; i < carried; ++i) pins[std::size_t(i)] = pinned(n + i);
    pinned_ = std::move(pins);
  }

  // Re-embeds every slot from its own distribution (softmax of its logits) at its position; before
  // shift_future, this makes the carried slots start the next solve from warm_start::distribution.
  // Pinned slots keep their states.
  void reembed_future() {
    const Backend be{};
    const auto probs = future_probabilities();
    const index_t rows = probs.extent(0), f = run_.slots;
    const auto p = params_.cview();
    const auto state = run_.state.view().slice(0, 0, rows);
    const auto held = run_.final.view().slice(0, 0, rows);  // scratch: the logits are done with it
    copy(be, held, as_const(state));
    wte_.forward(be, state, probs, p);
    if constexpr (!Positions::rotary) {
      wpe_.forward(be, run_.next.view().slice(0, 0, rows), upload_slot_positions(), p);
      axpy(be, state, T(1), run_.next.cview().slice(0, 0, rows));
    }
    for (index_t i = 0; i < f; ++i)
      if (pinned(i))
        for (index_t s = 0; s < run_.sequences; ++s) copy(be, state.slice(0, s * f + i, s * f + i + 1), as_const(held.slice(0, s * f + i, s * f + i + 1)));
  }

  // Runs `solver` on the slots: x ← x + η·(S(x) − x) (or an Anderson combination of the last
  // iterates) until it converges (residual ‖Δx‖/‖x‖ over the slots, or the worst slot's) or runs
  // out of steps. Pinned: the slots attend to the cached past. Drifting: the whole window is state;
  // its past rows restart from their tokens' embeddings, the slots from their current (warm) states.
  template <class S = Solver>
  solve_report converge(const S& solver) {
    require_solver<S>();
    require_past("converge");
    if (run_.slots == 0) throw config_error("wfc_model::converge: no future slots; call reset_future() first");
    if (!(solver.damping > 0 && solver.damping <= 1))
      throw config_error("wfc_model::converge: the solver's damping η must be in (0, 1], got " + std::to_string(solver.damping));
    if (solver_memory(solver) < 0)
      throw config_error("wfc_model::converge: Anderson memory must be ≥ 0, got " + std::to_string(solver_memory(solver)));
    if constexpr (Past::cached)
      return converge_slots(solver);
    else
      return converge_window(solver);
  }

  // The slots' logits [sequences·slots, vocab] (row s·slots + i: sequence s, slot i).
  tensor_view<const T, 2> future_logits() {
    require_past("future_logits");
    const Backend be{};
    const index_t rows = run_.sequences * run_.slots;
    const auto p = params_.cview();
    ln_f_.forward(be, run_.final.view().slice(0, 0, rows), run_.final_mean.view().slice(0, 0, rows),
                  run_.final_rstd.view().slice(0, 0, rows), run_.state.cview().slice(0, 0, rows), p);
    gemm(be, run_.logits.view().slice(0, 0, rows), run_.final.cview().slice(0, 0, rows), transpose(wte_.table(p)));
    return run_.logits.cview().slice(0, 0, rows);
  }

  // The slots' embeddings [sequences·slots, width]: the state the solver moves.
  tensor_view<const T, 2> future_state() const { return run_.state.cview().slice(0, 0, run_.sequences * run_.slots); }

  // Disembedding: the slots' probability vectors [sequences·slots, vocab], softmax of future_logits().
  tensor_view<const T, 2> future_probabilities() {
    const auto logits = future_logits();
    const index_t rows = logits.extent(0), V = config_.vocab;
    const auto probs = run_.probs.view().slice(0, 0, rows);
    softmax_forward(Backend{}, reshape(probs, shape<3>{{1, rows, V}}), reshape(logits, shape<3>{{1, rows, V}}));
    return as_const(probs);
  }

  // Each slot's entropy in bits [sequences·slots]: 0 for a collapsed slot, log2(vocab) at most.
  std::vector<double> future_entropy() { return future_entropy(future_logits()); }
  // The same from logits future_logits() returned (a caller that needs both computes them once).
  std::vector<double> future_entropy(tensor_view<const T, 2> logits) {
    const auto h = run_.entropy.view().slice(0, 0, logits.extent(0));
    softmax_entropy(Backend{}, h, logits);
    auto bits = to_host<Backend>(as_const(h));
    std::vector<double> out(bits.size());
    for (std::size_t i = 0; i < bits.size(); ++i) out[i] = double(bits[i]) / std::log(2.0);
    return out;
  }

  // Sets slot `slot` of every sequence to the embedding of a probability vector (row s of `probs`,
  // [sequences, vocab]) at its position: a one-hot is a full collapse, a mixture a partial one, the
  // uniform vector a fresh max-entropy slot. A pinned slot keeps that state through every solve
  // (the solver moves the other slots around it) until it leaves the future or is embedded again.
  void embed_slot(index_t slot, const std::vector<T>& probs, bool pin = false) {
    require_past("embed_slot");
    const index_t S_ = run_.sequences, f = run_.slots, V = config_.vocab;
    if (slot < 0 || slot >= f)
      throw config_error("wfc_model::embed_slot: slot " + std::to_string(slot) + " is outside the " + std::to_string(f) + " future slots");
    if (probs.size() != std::size_t(S_ * V))
      throw shape_error("wfc_model::embed_slot: need " + std::to_string(S_) + " × " + std::to_string(V) + " probabilities, got " +
                        std::to_string(probs.size()));
    for (index_t s = 0; s < S_; ++s) {
      double total = 0;
      for (index_t v = 0; v < V; ++v) {
        const double q = double(probs[std::size_t(s * V + v)]);
        if (!(q >= 0) || !std::isfinite(q))
          throw value_error("wfc_model::embed_slot: probability " + std::to_string(v) + " of sequence " + std::to_string(s) +
                            " is negative or not finite");
        total += q;
      }
      if (std::abs(total - 1) > 1e-3)
        throw value_error("wfc_model::embed_slot: the probabilities of sequence " + std::to_string(s) + " sum to " +
                          std::to_string(total) + ", not 1");
    }
    const Backend be{};
    const auto p = params_.cview();
    run_.slot_probs.copy_from_host(probs);
    const auto embedded = run_.final.view().slice(0, 0, S_);  // scratch rows
    wte_.forward(be, embedded, run_.slot_probs.cview(), p);
    if constexpr (!Positions::rotary) {
      const auto positions = upload_slot_positions(f);
      for (index_t s = 0; s < S_; ++s)
        wpe_.forward(be, run_.next.view().slice(0, s, s + 1), positions.slice(0, s * f + slot, s * f + slot + 1), p);
      axpy(be, embedded, T(1), run_.next.cview().slice(0, 0, S_));
    }
    for (index_t s = 0; s < S_; ++s)
      copy(be, run_.state.view().slice(0, s * f + slot, s * f + slot + 1), as_const(embedded.slice(0, s, s + 1)));
    pinned_[std::size_t(slot)] = pin;
  }

 private:
  // Everything one batch shape needs; reallocated when the shape changes.
  struct pass {
    index_t sequences = 0, steps = 0, max_steps = 0, counted = 0, keep_offset = -1;
    index_t future_rows = 0;  // rows per sequence in the future stream: T (pinned) or the window's T + 1 (drifting)
    index_t future_keys = 0;  // keys a future row sees: 2T (the clean past and its own stream) or T + 1
    wfc_draw draw;
    std::vector<token_id> host_targets;
    std::vector<index_t> host_offsets;  // each future row's slot offset (−1: not a slot)
    std::vector<T> host_probs, host_factor;
    ids_buffer ids, targets, positions;
    tensor<bool, 2, Backend> causal, future_keep;
    buffer<2> probs, pos_embed, delta, carry;
    buffer<1> step_factor;  // η per slot, 0 for a revealed (pinned) one
    std::vector<buffer<2>> clean, dclean;                   // clean stream entering each block (and leaving the last)
    std::vector<block_buffers<T, Backend>> clean_acts;      // [layer]
    std::vector<buffer<2>> state, dstate;                   // future state after each step (0 = start)
    std::vector<std::vector<buffer<2>>> stream;             // [step][layer]: the stack's stream inside each step
    std::vector<std::vector<block_buffers<T, Backend>>> acts;  // [step][layer]
    std::vector<buffer<2>> final, logits, dlogits, dfinal;  // per step (deep supervision reads the earlier ones)
    std::vector<buffer<1>> final_mean, final_rstd, loss_rows;
    buffer<1> dloss;
    std::vector<buffer<2>> dkeys, dvalues;  // per layer [N, width]: gradients of the clean stream's keys/values
    std::vector<buffer<2>> dstream;         // two, alternating through the stack
    block_scratch_buffers<T, Backend> clean_scratch{0, 0, 0, 0, 0}, future_scratch{0, 0, 0, 0, 0};

    index_t rows() const { return sequences * future_rows; }

    void resize(index_t s, index_t t, index_t k_max, const wfc_config& c, bool cached) {
      if (s == sequences && t == steps && k_max == max_steps) return;
      sequences = s;
      steps = t;
      max_steps = k_max;
      keep_offset = -1;
      future_rows = cached ? t : t + 1;
      future_keys = cached ? 2 * t : t + 1;
      const index_t n = s * future_rows, clean_rows = s * t, d = c.width;
      targets = ids_buffer(n);
      positions = ids_buffer(n);
      probs = buffer<2>(n, c.vocab);
      step_factor = buffer<1>(shape<1>{{n}});
      pos_embed = buffer<2>(n, d);
      delta = buffer<2>(n, d);
      carry = buffer<2>(n, d);
      clean.clear();
      dclean.clear();
      clean_acts.clear();
      dkeys.clear();
      dvalues.clear();
      if (cached) {  // the clean stream and the gradients of its keys/values
        ids = ids_buffer(clean_rows);
        causal = tensor<bool, 2, Backend>(shape<2>{{t, t}}, attention_mask(masks::causal{}, t));
        for (index_t l = 0; l <= c.layers; ++l) clean.emplace_back(clean_rows, d);
        for (int i = 0; i < 2; ++i) dclean.emplace_back(clean_rows, d);
        for (index_t l = 0; l < c.layers; ++l) clean_acts.emplace_back(s, t, t, d, c.heads);
        for (index_t l = 0; l < c.layers; ++l) {
          dkeys.emplace_back(clean_rows, d);
          dvalues.emplace_back(clean_rows, d);
        }
        clean_scratch = block_scratch_buffers<T, Backend>(s, t, t, d, c.heads);
      }
      state.clear();
      stream.clear();
      acts.clear();
      final.clear();
      logits.clear();
      dlogits.clear();
      dfinal.clear();
      final_mean.clear();
      final_rstd.clear();
      loss_rows.clear();
      for (index_t k = 0; k <= k_max; ++k) {
        state.emplace_back(n, d);
        final.emplace_back(n, d);
        logits.emplace_back(n, c.vocab);
        final_mean.emplace_back(shape<1>{{n}});
        final_rstd.emplace_back(shape<1>{{n}});
        loss_rows.emplace_back(shape<1>{{n}});
        stream.emplace_back();
        acts.emplace_back();
        if (k == 0) continue;
        for (index_t l = 0; l <= c.layers; ++l) stream.back().emplace_back(n, d);
        for (index_t l = 0; l < c.layers; ++l) acts.back().emplace_back(s, future_rows, future_keys, d, c.heads);
      }
      dlogits.emplace_back(n, c.vocab);
      dfinal.emplace_back(n, d);
      dloss = buffer<1>(shape<1>{{n}});
      dstate.clear();
      dstream.clear();
      for (int i = 0; i < 2; ++i) {
        dstate.emplace_back(n, d);
        dstream.emplace_back(n, d);
      }
      future_scratch = block_scratch_buffers<T, Backend>(s, future_rows, future_keys, d, c.heads);
    }
  };

  // Inference buffers: the past cache and the slots of `sequences` sequences.
  struct clean_step {
    index_t steps = 0;
    ids_buffer ids, positions;
    buffer<2> pos_embed;
    std::vector<buffer<2>> stream;
    std::vector<block_buffers<T, Backend>> acts;
  };
  struct inference {
    index_t sequences = 0, past = 0, origin = 0, slots = 0, keep_past = -1, keep_slots = -1;
    index_t stack_rows = 0;               // rows per sequence the stack runs on: the slots (pinned) or the window (drifting)
    std::vector<buffer<3>> keys, values;  // per layer [sequences, window, width] (pinned)
    buffer<2> window, window_next, window_positions;  // drifting: the whole window's state
    ids_buffer window_ids;
    std::vector<token_id> past_tokens, host_ids;  // drifting: [sequences, window] tokens of the past
    tensor<bool, 2, Backend> causal, future_keep;  // [window, window], sliced per append; the slots' mask
    clean_step clean;
    buffer<2> state, next, uniform, final, logits, probs, slot_probs;
    buffer<1> final_mean, final_rstd, entropy;
    buffer<1> row_norms, row_factors;  // the solver's: rows' squared norms of the step, then the state; held rows' factors
    std::vector<T> host_factors;
    ids_buffer positions;
    std::vector<buffer<2>> stream;
    std::vector<block_buffers<T, Backend>> acts;
    std::vector<token_id> host_positions;

    inference() = default;
    inference(index_t s, const wfc_config& c, bool cached) : sequences(s) {
      const index_t rows = s * c.future, d = c.width;
      stack_rows = cached ? c.future : c.window + 1;
      const index_t stack = s * stack_rows;
      if (cached) {
        causal = tensor<bool, 2, Backend>(shape<2>{{c.window, c.window}}, attention_mask(masks::causal{}, c.window));
        for (index_t l = 0; l < c.layers; ++l) {
          keys.emplace_back(shape<3>{{s, c.window, d}});
          values.emplace_back(shape<3>{{s, c.window, d}});
        }
      } else {
        window = buffer<2>(stack, d);
        window_next = buffer<2>(stack, d);
        window_positions = buffer<2>(stack, d);
        window_ids = ids_buffer(stack);
        past_tokens.assign(std::size_t(s * c.window), 0);
      }
      state = buffer<2>(rows, d);
      next = buffer<2>(rows, d);
      final = buffer<2>(rows, d);
      logits = buffer<2>(rows, c.vocab);
      probs = buffer<2>(rows, c.vocab);
      slot_probs = buffer<2>(s, c.vocab);
      entropy = buffer<1>(shape<1>{{rows}});
      row_norms = buffer<1>(shape<1>{{2 * stack}});
      row_factors = buffer<1>(shape<1>{{stack}});
      final_mean = buffer<1>(shape<1>{{rows}});
      final_rstd = buffer<1>(shape<1>{{rows}});
      positions = ids_buffer(stack);
      uniform = buffer<2>(1, c.vocab);
      fill(Backend{}, uniform.view(), T(1) / T(c.vocab));
      for (index_t l = 0; l <= c.layers; ++l) stream.emplace_back(stack, d);
      for (index_t l = 0; l < c.layers; ++l) acts.emplace_back(s, stack_rows, c.window + 1, d, c.heads);  // P + slots ≤ W + 1 keys
    }

    void resize_clean(index_t n, const wfc_config& c) {
      if (clean.steps == n) return;
      clean.steps = n;
      const index_t rows = sequences * n;
      clean.ids = ids_buffer(rows);
      clean.positions = ids_buffer(rows);
      clean.pos_embed = buffer<2>(rows, c.width);
      clean.stream.clear();
      clean.acts.clear();
      for (index_t l = 0; l <= c.layers; ++l) clean.stream.emplace_back(rows, c.width);
      for (index_t l = 0; l < c.layers; ++l) clean.acts.emplace_back(sequences, n, c.window, c.width, c.heads);
    }
  };

  // The positions of f slots per sequence (slot i of every sequence at P − 1 + i) in the first
  // sequences·f rows of run_.positions; returns those rows.
  tensor_view<const token_id, 1> upload_slot_positions() { return upload_slot_positions(run_.slots); }
  tensor_view<const token_id, 1> upload_slot_positions(index_t f) {
    const index_t P = run_.past, rows = run_.sequences * f;
    run_.host_positions.assign(std::size_t(run_.positions.size()), 0);  // rows past the slots: unused
    for (index_t i = 0; i < rows; ++i) run_.host_positions[std::size_t(i)] = token_id(run_.origin + P - 1 + i % f);
    run_.positions.copy_from_host(run_.host_positions);
    return run_.positions.cview().slice(0, 0, rows);
  }

  template <class S>
  solve_report converge_slots(const S& solver) {
    const index_t S_ = run_.sequences, f = run_.slots, P = run_.past, rows = S_ * f;
    upload_slot_positions();
    auto context = solve_context(rows, [&] {
      return tensor<bool, 2, Backend>(
          shape<2>{{f, P + f}}, attention_mask(masks::bidirectional{}, P, masks::within_block<FutureMask>{masks::blocks{f, P}}, f, P));
    });
    const auto layer_context = [&](std::size_t l) {
      context.past_keys = run_.keys[l].cview().slice(1, 0, P);
      context.past_values = run_.values[l].cview().slice(1, 0, P);
      return context;
    };
    return iterate(solver, run_.state.view().slice(0, 0, rows), run_.next.view().slice(0, 0, rows), P + f, layer_context, f, 0);
  }

  template <class S>
  solve_report converge_window(const S& solver) {
    const Backend be{};
    const index_t S_ = run_.sequences, f = run_.slots, P = run_.past, n = P + f, rows = S_ * n, W = config_.window;
    const auto p = params_.cview();
    run_.host_ids.assign(std::size_t(run_.window_ids.size()), 0);  // slot rows: replaced by their states below
    run_.host_positions.assign(std::size_t(run_.positions.size()), 0);
    for (index_t s = 0; s < S_; ++s) {
      for (index_t j = 0; j < P; ++j) {
        run_.host_ids[std::size_t(s * n + j)] = run_.past_tokens[std::size_t(s * W + j)];
        run_.host_positions[std::size_t(s * n + j)] = token_id(j);
      }
      for (index_t i = 0; i < f; ++i) run_.host_positions[std::size_t(s * n + P + i)] = token_id(P - 1 + i);
    }
    run_.window_ids.copy_from_host(run_.host_ids);
    run_.positions.copy_from_host(run_.host_positions);
    auto x = run_.window.view().slice(0, 0, rows);
    wte_.forward(be, x, run_.window_ids.cview().slice(0, 0, rows), p);
    if constexpr (!Positions::rotary) {
      wpe_.forward(be, run_.window_positions.view().slice(0, 0, rows), run_.positions.cview().slice(0, 0, rows), p);
      axpy(be, x, T(1), run_.window_positions.cview().slice(0, 0, rows));
    }
    for (index_t s = 0; s < S_; ++s) copy(be, x.slice(0, s * n + P, s * n + n), run_.state.cview().slice(0, s * f, s * f + f));
    const auto context = solve_context(rows, [&] {
      return tensor<bool, 2, Backend>(shape<2>{{n, n}}, attention_mask(masks::drifting_window<FutureMask>{0, P}, n));
    });
    const auto report = iterate(solver, x, run_.window_next.view().slice(0, 0, rows), n, [&](std::size_t) { return context; }, n, P);
    for (index_t s = 0; s < S_; ++s) copy(be, run_.state.view().slice(0, s * f, s * f + f), as_const(x.slice(0, s * n + P, s * n + n)));
    return report;
  }

  // A solve's attention context over `rows` rows; its mask, from `build`, depends on the past and
  // slot counts only, so it is rebuilt only when they change.
  template <class BuildMask>
  nn::attention_context<T> solve_context(index_t rows, const BuildMask& build) {
    if (run_.keep_past != run_.past || run_.keep_slots != run_.slots) {
      run_.future_keep = build();
      run_.keep_past = run_.past;
      run_.keep_slots = run_.slots;
    }
    nn::attention_context<T> context;
    context.keep = run_.future_keep.cview();
    context.sequences = run_.sequences;
    if constexpr (Positions::rotary) context.positions = run_.positions.cview().slice(0, 0, rows);
    return context;
  }

  // The solver's loop on x ([sequences·per_sequence, width] rows; the slots are rows first …
  // first + slots of each sequence), the stack attending to `keys` keys per row. Each step reads
  // the device back once for the residual (twice with Anderson: its Gram row first); everything
  // else stays on the device.
  template <class S, class LayerContext>
  solve_report iterate(const S& solver, tensor_view<T, 2> x, tensor_view<T, 2> next, index_t keys, const LayerContext& layer_context,
                       index_t per_sequence, index_t first) {
    const Backend be{};
    const auto p = params_.cview();
    const index_t rows = x.extent(0), memory = solver_memory(solver);
    const T eta = T(solver.damping);
    if (mix_.memory != memory || mix_.rows < rows) mix_ = anderson_mixing<T, Backend>(memory, run_.sequences * run_.stack_rows, config_.width);
    mix_.restart();
    const auto held = held_rows(rows, per_sequence, first);
    solve_report report;
    for (index_t k = 1; k <= solver.max_steps(); ++k) {
      for (std::size_t l = 0; l < blocks_.size(); ++l) {
        const auto in = l == 0 ? as_const(x) : run_.stream[l].cview().slice(0, 0, rows);
        blocks_[l].forward(be, run_.stream[l + 1].view().slice(0, 0, rows), run_.acts[l].view(keys, rows), in, layer_context(l), p);
      }
      // next = v(x) = S(x) − x, then the step Δx: η·v(x), or Anderson's combination minus x
      copy(be, next, run_.stream.back().cview().slice(0, 0, rows));
      axpy(be, next, T(-1), as_const(x));
      if (held) scale_rows(be, next, *held);  // a zero velocity: pinned rows stay out of the mixing
      if (memory > 0) {
        mix_.step(be, next, as_const(x), eta);
        if (held) scale_rows(be, next, *held);  // Σα = 1 only up to rounding: (Σα − 1)·x must not move them
      } else {
        scale(be, next, eta);
      }
      report.steps = k;
      report.residual = residual(be, report, solver_norm(solver), as_const(next), as_const(x), per_sequence, first);
      axpy(be, x, T(1), as_const(next));
      if (!std::isfinite(report.residual))
        throw value_error("wfc_model::converge: the future slots diverged (residual " + std::to_string(report.residual) + ")");
      if (solver.converged(k, report.residual)) break;
    }
    return report;
  }

  // 0 for the pinned slots' rows, 1 for every other row, on the device (uploaded once per solve);
  // none when no slot is pinned.
  std::optional<tensor_view<const T, 1>> held_rows(index_t rows, index_t per_sequence, index_t first) {
    if (std::none_of(pinned_.begin(), pinned_.end(), [](bool b) { return b; })) return std::nullopt;
    run_.host_factors.assign(std::size_t(run_.row_factors.size()), T(1));  // rows past `rows`: unused
    for (index_t i = 0; i < index_t(pinned_.size()); ++i)
      if (pinned_[std::size_t(i)])
        for (index_t s = 0; s < run_.sequences; ++s) run_.host_factors[std::size_t(s * per_sequence + first + i)] = T(0);
    run_.row_factors.copy_from_host(run_.host_factors);
    return run_.row_factors.cview().slice(0, 0, rows);
  }

  // Slots the future has room for: the horizon, bounded by the window (P + slots ≤ W + 1).
  index_t slot_room() const { return std::min(horizon_, config_.window - run_.past + 1); }

  // The relative update ‖Δx‖/‖x‖ over the free slots (held ones would loosen the tolerance), or the
  // largest slot's (then every slot's is kept). Both come from the rows' squared norms of the step
  // and of the state, read back together: one transfer per step.
  double residual(const Backend& be, solve_report& report, residual_norm norm, tensor_view<const T, 2> step,
                  tensor_view<const T, 2> state, index_t per_sequence, index_t first) {
    const index_t S_ = run_.sequences, f = run_.slots, rows = step.extent(0);
    const auto norms = run_.row_norms.view();
    row_squared_norms(be, norms.slice(0, 0, rows), step);
    row_squared_norms(be, norms.slice(0, rows, 2 * rows), state);
    const auto squares = to_host<Backend>(as_const(norms.slice(0, 0, 2 * rows)));
    const auto change = [&](index_t r) { return double(squares[std::size_t(r)]); };
    const auto size = [&](index_t r) { return double(squares[std::size_t(rows + r)]); };
    const auto ratio = [](double c, double s) { return s > 0 ? c / s : c; };
    if (norm == residual_norm::segment) {
      report.slot_residuals.clear();
      double changes = 0, sizes = 0;
      for (index_t s = 0; s < S_; ++s)
        for (index_t i = 0; i < f; ++i)
          if (!pinned(i)) {
            const index_t r = s * per_sequence + first + i;
            changes += change(r);
            sizes += size(r);
          }
      return ratio(std::sqrt(changes), std::sqrt(sizes));
    }
    report.slot_residuals.resize(std::size_t(S_ * f));
    double worst = 0;
    for (index_t s = 0; s < S_; ++s)
      for (index_t i = 0; i < f; ++i) {
        const index_t r = s * per_sequence + first + i;
        const double q = ratio(std::sqrt(change(r)), std::sqrt(size(r)));
        report.slot_residuals[std::size_t(s * f + i)] = q;
        worst = std::isnan(q) || std::isnan(worst) ? std::nan("") : std::max(worst, q);
      }
    return worst;
  }

  void require_past(const char* op) const {
    if (run_.sequences == 0 || run_.past == 0)
      throw config_error(std::string("wfc_model::") + op + ": the past is empty; reset() and append_past() a prompt first");
  }

  // Slots [from, f) of every sequence in `into` (laid out [sequences, f], f the room for slots) at
  // max entropy: the mean token embedding plus the slot's position. No allocation: it runs at every shift.
  void fresh_slots(tensor_view<T, 2> into, index_t from) {
    const Backend be{};
    const index_t f = slot_room();
    if (f - from <= 0) return;
    const auto p = params_.cview();
    const auto mean = run_.final.view().slice(0, 0, 1);  // scratch row: uniform·E
    wte_.forward(be, mean, run_.uniform.cview(), p);
    const auto positions = upload_slot_positions(f);
    for (index_t s = 0; s < run_.sequences; ++s) {
      const auto rows = into.slice(0, s * f + from, s * f + f);
      if constexpr (Positions::rotary)
        fill(be, rows, T(0));
      else
        wpe_.forward(be, rows, positions.slice(0, s * f + from, s * f + f), p);
      add_bias(be, rows, as_const(mean)[0]);
    }
  }

  index_t check_batch(const std::vector<token_id>& ids, const std::vector<token_id>& targets, index_t sequences,
                      const wfc_draw& d) const {
    if (sequences <= 0 || ids.empty() || ids.size() % std::size_t(sequences) != 0)
      throw shape_error("wfc_model: " + std::to_string(ids.size()) + " tokens are not " + std::to_string(sequences) +
                        " sequences of equal length");
    if (targets.size() != ids.size())
      throw shape_error("wfc_model: " + std::to_string(targets.size()) + " targets for " + std::to_string(ids.size()) + " tokens");
    const index_t steps = index_t(ids.size()) / sequences;
    if (steps > config_.window)
      throw shape_error("wfc_model: sequences of " + std::to_string(steps) + " tokens exceed the window of " +
                        std::to_string(config_.window) + " positions");
    if (d.steps < 1 || d.steps > objective_.steps || d.offset < 0 || d.offset >= config_.future)
      throw config_error("wfc_model: a draw needs 1 ≤ steps ≤ " + std::to_string(objective_.steps) + " and 0 ≤ offset < F");
    if constexpr (!Past::cached) {
      if (steps < config_.future)
        throw shape_error("wfc_model: a drifting past trains on windows of T − F + 1 past tokens and F slots, so sequences need at least F = " +
                          std::to_string(config_.future) + " tokens, got " + std::to_string(steps));
      if (d.start < 0 || d.start > steps - config_.future)
        throw config_error("wfc_model: a drifting draw's empty rows (" + std::to_string(d.start) + ") must leave at least one past token");
    }
    return steps;
  }

  // The blocks that cut a batch's targets: target t (a label of t + 1: the position of the token
  // it stands for) is in the block of its label.
  masks::blocks cut(const wfc_draw& d) const { return masks::blocks{config_.future, d.offset}; }
  // A target's offset within its block (labels start at 1, so block 0 may be short).
  index_t slot_offset(index_t target, const wfc_draw& d) const {
    const index_t label = target + 1;
    return label - std::max<index_t>(cut(d).start(label), 1);
  }

  // Ids, targets, positions and the slots' starting probability vectors; the future mask.
  void prepare_inputs(const std::vector<token_id>& ids, const std::vector<token_id>& targets, const wfc_draw& d) {
    const index_t n = t_.rows(), steps = t_.steps, V = config_.vocab;
    check_targets(targets);
    t_.ids.copy_from_host(ids);
    std::vector<token_id> pos(static_cast<std::size_t>(n));
    for (index_t i = 0; i < n; ++i) pos[std::size_t(i)] = token_id(i % steps);
    t_.positions.copy_from_host(pos);
    t_.host_probs.assign(static_cast<std::size_t>(n * V), T(1) / T(V));  // reused: no allocation per batch
    t_.host_factor.assign(static_cast<std::size_t>(n), T(solver_.damping));
    t_.host_targets = targets;
    t_.host_offsets.resize(std::size_t(n));
    const counter_rng rng(objective_.seed ^ 0x5bd1e995u, d.stream);
    t_.counted = 0;
    for (index_t r = 0; r < n; ++r) {
      t_.host_offsets[std::size_t(r)] = slot_offset(r % steps, d);
      start_slot(r, rng);
    }
    upload_inputs();
    if (t_.keep_offset != d.offset) {  // the mask depends on the batch shape and the offset only
      const auto c = cut(d);
      t_.future_keep = tensor<bool, 2, Backend>(
          shape<2>{{steps, 2 * steps}},
          attention_mask(masks::before_block{c}, steps, masks::within_block<FutureMask>{c}, steps, 1));
      t_.keep_offset = d.offset;
    }
  }

  // Drifting past: each sequence's window of T − F + 1 past rows (the first d.start of them empty)
  // and F slots for the last F targets.
  void prepare_window(const std::vector<token_id>& ids, const std::vector<token_id>& targets, const wfc_draw& d) {
    const index_t S = t_.sequences, T_ = t_.steps, n = t_.future_rows, V = config_.vocab, F = config_.future;
    const index_t past_end = T_ - F + 1, start = d.start;
    check_targets(targets);
    for (token_id id : ids)
      if (id < 0 || id >= V)
        throw value_error("wfc_model: token " + std::to_string(id) + " is outside the vocabulary of " + std::to_string(V));
    t_.host_probs.assign(static_cast<std::size_t>(S * n * V), T(1) / T(V));
    t_.host_factor.assign(static_cast<std::size_t>(S * n), T(solver_.damping));
    t_.host_targets.assign(std::size_t(S * n), ignore_index);
    t_.host_offsets.assign(std::size_t(S * n), -1);
    std::vector<token_id> pos(std::size_t(S * n), 0);
    const counter_rng rng(objective_.seed ^ 0x5bd1e995u, d.stream);
    t_.counted = 0;
    for (index_t s = 0; s < S; ++s) {
      for (index_t j = 0; j < past_end; ++j) {
        const index_t r = s * n + j;
        if (j < start) {
          t_.host_factor[std::size_t(r)] = T(0);  // empty: never moves, never seen
          continue;
        }
        pos[std::size_t(r)] = token_id(j - start);
        std::fill_n(t_.host_probs.begin() + r * V, V, T(0));
        t_.host_probs[std::size_t(r * V + ids[std::size_t(s * T_ + j)])] = T(1);
      }
      for (index_t i = 0; i < F; ++i) {
        const index_t r = s * n + past_end + i;
        pos[std::size_t(r)] = token_id(past_end - 1 + i - start);
        t_.host_targets[std::size_t(r)] = targets[std::size_t(s * T_ + past_end - 1 + i)];
        t_.host_offsets[std::size_t(r)] = i;
        start_slot(r, rng);
      }
    }
    t_.positions.copy_from_host(pos);
    upload_inputs();
    if (t_.keep_offset != start) {  // the mask depends on the batch shape and the empty rows only
      t_.future_keep = tensor<bool, 2, Backend>(shape<2>{{n, n}}, attention_mask(masks::drifting_window<FutureMask>{start, past_end}, n));
      t_.keep_offset = start;
    }
  }

  void check_targets(const std::vector<token_id>& targets) const {
    for (token_id y : targets)
      if (y != ignore_index && (y < 0 || y >= config_.vocab))
        throw value_error("wfc_model: target " + std::to_string(y) + " is outside the vocabulary of " + std::to_string(config_.vocab));
  }

  // Slot row r's start (host_targets[r] set, host_probs[r] uniform): max entropy; revealed, the
  // one-hot of its target (pinned, not scored); partially collapsed, α·onehot(target) + (1 − α)·uniform.
  void start_slot(index_t r, const counter_rng& rng) {
    const index_t V = config_.vocab;
    token_id& y = t_.host_targets[std::size_t(r)];
    auto* p = t_.host_probs.data() + r * V;
    if (!t_.draw.corrupt) {
      t_.counted += y != ignore_index;
      return;
    }
    if (y != ignore_index && objective_.reveal > 0 && rng.uniform<double>(std::uint64_t(3 * r)) < objective_.reveal) {
      for (index_t v = 0; v < V; ++v) p[v] = v == y ? T(1) : T(0);
      t_.host_factor[std::size_t(r)] = T(0);
      y = ignore_index;
    }
    t_.counted += y != ignore_index;
    if (objective_.partial <= 0 || y == ignore_index) return;
    if (rng.uniform<double>(std::uint64_t(3 * r + 1)) >= objective_.partial) return;
    const T alpha = T(rng.uniform<double>(std::uint64_t(3 * r + 2)));
    for (index_t v = 0; v < V; ++v) p[v] = (T(1) - alpha) / T(V) + (v == y ? alpha : T(0));
  }

  void upload_inputs() {
    t_.targets.copy_from_host(t_.host_targets);
    t_.probs.copy_from_host(t_.host_probs);
    t_.step_factor.copy_from_host(t_.host_factor);
  }

  nn::attention_context<T> clean_context() const {
    nn::attention_context<T> c;
    c.keep = t_.causal.cview();
    c.sequences = t_.sequences;
    if constexpr (Positions::rotary) c.positions = t_.positions.cview();
    return c;
  }
  nn::attention_context<T> future_context(index_t layer) const {
    nn::attention_context<T> c;
    c.keep = t_.future_keep.cview();
    c.sequences = t_.sequences;
    if constexpr (Positions::rotary) c.positions = t_.positions.cview();
    if constexpr (Past::cached) {
      c.past_keys = t_.clean_acts[std::size_t(layer)].keys(t_.sequences);
      c.past_values = t_.clean_acts[std::size_t(layer)].values(t_.sequences);
    }
    return c;
  }

  void add_positions(tensor_view<T, 2> x) {
    if constexpr (!Positions::rotary) {
      const Backend be{};
      wpe_.forward(be, t_.pos_embed.view(), t_.positions.cview(), params_.cview());
      axpy(be, x, T(1), t_.pos_embed.cview());
    }
  }

  // The clean stream: the inputs, causally, through every block (keys/values kept in its activations).
  void run_clean() {
    const Backend be{};
    const auto p = params_.cview();
    wte_.forward(be, t_.clean[0].view(), t_.ids.cview(), p);
    add_positions(t_.clean[0].view());
    const auto context = clean_context();
    for (std::size_t l = 0; l < blocks_.size(); ++l)
      blocks_[l].forward(be, t_.clean[l + 1].view(), t_.clean_acts[l].view(t_.steps), t_.clean[l].cview(), context, p);
  }

  // state_0 = P·E + positions, then K solver steps.
  void run_future(index_t K) {
    const Backend be{};
    const auto p = params_.cview();
    wte_.forward(be, t_.state[0].view(), t_.probs.cview(), p);
    add_positions(t_.state[0].view());
    for (index_t k = 1; k <= K; ++k) {
      auto& s = t_.stream[std::size_t(k)];
      copy(be, s[0].view(), t_.state[std::size_t(k - 1)].cview());
      for (std::size_t l = 0; l < blocks_.size(); ++l)
        blocks_[l].forward(be, s[l + 1].view(), t_.acts[std::size_t(k)][l].view(t_.future_keys), s[l].cview(),
                           future_context(index_t(l)), p);
      // state_k = state_{k−1} + η_r·(S(state_{k−1}) − state_{k−1}), η_r = 0 for pinned slots
      auto next = t_.state[std::size_t(k)].view();
      copy(be, next, s.back().cview());
      axpy(be, next, T(-1), t_.state[std::size_t(k - 1)].cview());
      scale_rows(be, next, t_.step_factor.cview());
      axpy(be, next, T(1), t_.state[std::size_t(k - 1)].cview());
    }
  }

  // Cross-entropy of the slots at step k (mean over counted slots); keeps its activations.
  T head_loss(index_t k) {
    const Backend be{};
    const auto p = params_.cview();
    const auto i = std::size_t(k);
    ln_f_.forward(be, t_.final[i].view(), t_.final_mean[i].view(), t_.final_rstd[i].view(), t_.state[i].cview(), p);
    gemm(be, t_.logits[i].view(), t_.final[i].cview(), transpose(wte_.table(p)));
    cross_entropy_forward(be, t_.loss_rows[i].view(), t_.logits[i].cview(), t_.targets.cview());
    return t_.counted ? sum(be, t_.loss_rows[i].cview()) / T(t_.counted) : T(0);
  }

  // dstate += weight·∂(head loss at step k)/∂state_k, and the head's parameter gradients.
  void head_backward(index_t k, tensor_view<T, 2> dstate, T weight) {
    const Backend be{};
    const auto p = params_.cview();
    const auto g = grads_.view();
    const auto i = std::size_t(k);
    fill(be, t_.dloss.view(), t_.counted ? weight / T(t_.counted) : T(0));
    fill(be, t_.dlogits[0].view(), T(0));
    cross_entropy_backward(be, t_.dlogits[0].view(), t_.dloss.cview(), t_.logits[i].cview(), t_.targets.cview());
    gemm(be, t_.dfinal[0].view(), t_.dlogits[0].cview(), wte_.table(p));
    gemm(be, wte_.table(g), transpose(t_.dlogits[0].cview()), t_.final[i].cview(), T(1), T(1));
    ln_f_.backward(be, dstate, g, t_.dfinal[0].cview(), t_.state[i].cview(), t_.final_mean[i].cview(), t_.final_rstd[i].cview(), p);
  }

  // dinput += (∂S/∂input at step k)ᵀ·dout; the clean stream's key/value gradients accumulate.
  void backward_stack(index_t k, tensor_view<const T, 2> dout, tensor_view<T, 2> dinput, tensor_view<const T, 1> p,
                      tensor_view<T, 1> g) {
    const Backend be{};
    auto& s = t_.stream[std::size_t(k)];
    std::size_t cur = 0;
    copy(be, t_.dstream[cur].view(), dout);
    for (std::size_t l = blocks_.size(); l-- > 0;) {
      auto dx = l == 0 ? dinput : t_.dstream[1 - cur].view();
      if (l != 0) fill(be, dx, T(0));
      nn::past_gradients<T> past;
      if constexpr (Past::cached) past = {as_segment(t_.dkeys[l].view()), as_segment(t_.dvalues[l].view())};
      blocks_[l].backward(be, dx, g, t_.future_scratch.view(), t_.dstream[cur].cview(), s[l].cview(),
                          t_.acts[std::size_t(k)][l].view(t_.future_keys), future_context(index_t(l)), p, past);
      cur = 1 - cur;
    }
  }

  // An [N, width] buffer as the [sequences, T, width] past segment it is the gradient of.
  tensor_view<T, 3> as_segment(tensor_view<T, 2> rows) const {
    return reshape(rows, shape<3>{{t_.sequences, t_.steps, config_.width}});
  }

  // The clean stream gets its gradient only through its keys and values.
  void backward_clean(tensor_view<const T, 1> p, tensor_view<T, 1> g) {
    const Backend be{};
    std::size_t cur = 0;
    fill(be, t_.dclean[cur].view(), T(0));
    const auto context = clean_context();
    for (std::size_t l = blocks_.size(); l-- > 0;) {
      fill(be, t_.dclean[1 - cur].view(), T(0));
      const nn::own_kv_gradients<T> kv{t_.dkeys[l].cview(), t_.dvalues[l].cview()};
      blocks_[l].backward(be, t_.dclean[1 - cur].view(), g, t_.clean_scratch.view(), t_.dclean[cur].cview(), t_.clean[l].cview(),
                          t_.clean_acts[l].view(t_.steps), context, p, {}, kv);
      cur = 1 - cur;
    }
    wte_.backward(be, g, t_.dclean[cur].cview(), t_.ids.cview());
    if constexpr (!Positions::rotary) wpe_.backward(be, g, t_.dclean[cur].cview(), t_.positions.cview());
  }

  wfc_config config_;
  wfc_objective objective_;
  Solver solver_;
  nn::parameter_layout layout_;
  nn::embedding wte_, wpe_;
  std::vector<nn::transformer_block> blocks_;
  nn::layer_norm ln_f_;
  buffer<1> params_, grads_;
  pass t_;
  inference run_;
  index_t horizon_ = config_.future;  // slots inference keeps (set_horizon)
  std::vector<bool> pinned_;           // per slot: held by embed_slot(…, true)
  anderson_mixing<T, Backend> mix_;  // kept between solves: its buffers are reused
  index_t counted_ = -1;
  T last_loss_ = 0;
  std::uint64_t draws_ = 0;
};

}  // namespace wfc
