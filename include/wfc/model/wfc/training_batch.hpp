#pragma once
// A training batch's inputs (docs/design.md, "Training"): the checks, each slot's target, offset
// within its block, starting probability vector and step factor (η, or 0 for a pinned slot), the
// positions and the future stream's mask, uploaded once per batch.
//
// Pinned past: the T targets get one slot each, cut into blocks of F with the draw's offset; target
// t stands for the token at t + 1 and sits at position t. Drifting past: each sequence becomes one
// window of T − F + 1 past rows (the first d.start of them empty) and F slots for the last F targets.
#include <algorithm>
#include <string>
#include <vector>

#include "wfc/core/error.hpp"
#include "wfc/model/wfc/objective.hpp"
#include "wfc/model/wfc/slot_start.hpp"
#include "wfc/model/wfc/training_buffers.hpp"
#include "wfc/nn/masks.hpp"

namespace wfc::detail {

// The sequence length T of a batch, once ids, targets and the draw fit the model.
template <class Past, class Ids>
index_t check_wfc_batch(const wfc_config& c, const wfc_objective& o, const Ids& ids, const Ids& targets, index_t sequences,
                        const wfc_draw& d) {
  if (sequences <= 0 || ids.empty() || ids.size() % std::size_t(sequences) != 0)
    throw shape_error("wfc_model: " + std::to_string(ids.size()) + " tokens are not " + std::to_string(sequences) +
                      " sequences of equal length");
  if (targets.size() != ids.size())
    throw shape_error("wfc_model: " + std::to_string(targets.size()) + " targets for " + std::to_string(ids.size()) + " tokens");
  const index_t steps = index_t(ids.size()) / sequences;
  if (steps > c.window)
    throw shape_error("wfc_model: sequences of " + std::to_string(steps) + " tokens exceed the window of " + std::to_string(c.window) +
                      " positions");
  if (d.steps < 1 || d.steps > o.steps || d.offset < 0 || d.offset >= c.future || d.first_sequence < 0)
    throw config_error("wfc_model: a draw needs 1 ≤ steps ≤ " + std::to_string(o.steps) + ", 0 ≤ offset < F and first_sequence ≥ 0");
  if (d.carried && (!Past::cached || c.future < 2))
    throw config_error("wfc_model: a carried draw needs a pinned past and F ≥ 2 (a slot to carry over a slide)");
  if constexpr (!Past::cached) {
    if (steps < c.future)
      throw shape_error("wfc_model: a drifting past trains on windows of T − F + 1 past tokens and F slots, so sequences need at least F = " +
                        std::to_string(c.future) + " tokens, got " + std::to_string(steps));
    if (d.start < 0 || d.start > steps - c.future)
      throw config_error("wfc_model: a drifting draw's empty rows (" + std::to_string(d.start) + ") must leave at least one past token");
  }
  return steps;
}

inline void check_wfc_targets(const wfc_config& c, const std::vector<token_id>& targets) {
  for (token_id y : targets)
    if (y != ignore_index && (y < 0 || y >= c.vocab))
      throw value_error("wfc_model: target " + std::to_string(y) + " is outside the vocabulary of " + std::to_string(c.vocab));
}

// The blocks that cut a batch's targets: target t (a label of t + 1: the position of the token
// it stands for) is in the block of its label.
inline masks::blocks training_blocks(const wfc_config& c, const wfc_draw& d) { return masks::blocks{c.future, d.offset}; }
// A target's offset within its block (labels start at 1, so block 0 may be short).
inline index_t slot_offset(const wfc_config& c, index_t target, const wfc_draw& d) {
  const index_t label = target + 1;
  return label - std::max<index_t>(training_blocks(c, d).start(label), 1);
}

// Rolling training: the solve j slides before (blocks j tokens earlier).
inline wfc_draw earlier_solve(const wfc_config& c, wfc_draw d, index_t j) {
  d.offset = ((d.offset - j) % c.future + c.future) % c.future;
  return d;
}
inline wfc_draw previous_solve(const wfc_config& c, const wfc_draw& d) { return earlier_solve(c, d, 1); }

// Whether target row `target` starts carried: its label sat in a first-solve block that began
// exactly one token before its own block (as a slot does after a collapse and a slide) and saw at
// least one token (as generation's first solve sees the prompt). A block's last slot was not in
// that block: it enters the window fresh.
inline bool starts_carried(const wfc_config& c, index_t target, const wfc_draw& d) {
  const index_t label = target + 1;
  const index_t now = training_blocks(c, d).start(label), before = training_blocks(c, previous_solve(c, d)).start(label);
  return before >= 1 && before == now - 1;
}

// The generator a batch's slot starts draw from.
inline counter_rng corruption_rng(const wfc_objective& o, const wfc_draw& d) { return counter_rng(o.seed ^ 0x5bd1e995u, d.stream); }

// The streams a batch's any-order reveals draw from: each block's rate (counter: the block's
// number), and each slot's key (counters F·block …) that picks the revealed subset.
inline counter_rng reveal_rates(const wfc_objective& o, const wfc_draw& d) { return counter_rng(o.seed ^ 0x2545f491u, d.stream); }
inline counter_rng reveal_keys(const wfc_objective& o, const wfc_draw& d) { return counter_rng(o.seed ^ 0x9e3779b9u, d.stream); }

// Whether a draw reveals by blocks (any-order training, or the bound's estimate), and whether its
// scored rows carry the bound's weights.
inline bool reveals_by_block(const wfc_objective& o, const wfc_draw& d) { return d.bound || (d.corrupt && o.any_order); }
inline bool weighs_by_bound(const wfc_objective& o, const wfc_draw& d) { return d.bound || (d.corrupt && o.any_order && o.bound_weight); }

// Any-order reveals of the batch's `block`-th block, whose rows (in order) are `rows`: of its n
// scored rows, the schedule's rate reveals a random subset (reveal_schedule.hpp); the others
// weigh n/(n − revealed) when weighted, else 1.
template <class Schedule, class T, class Backend>
void reveal_block(wfc_training_buffers<T, Backend>& t, const Schedule& schedule, const wfc_objective& o, index_t future, std::uint64_t block,
                  const std::vector<index_t>& rows) {
  objective::require_reveal_schedule<Schedule>();
  std::vector<index_t> scored;
  for (index_t r : rows)
    if (t.host_targets[std::size_t(r)] != ignore_index) scored.push_back(r);
  const index_t n = index_t(scored.size());
  if (n == 0) return;
  const index_t m = objective::revealed_count(schedule.rate(reveal_rates(o, t.draw), block), n);
  const auto revealed = objective::revealed_subset(n, m, reveal_keys(o, t.draw), block * std::uint64_t(future));
  const T weight = t.weighted ? T(objective::bound_weight(n, m)) : T(1);
  for (index_t i = 0; i < n; ++i) {
    const auto r = std::size_t(scored[std::size_t(i)]);
    t.host_revealed[r] = revealed[std::size_t(i)];
    t.host_weight[r] = revealed[std::size_t(i)] ? T(0) : weight;
  }
  t.bound_slots += n;
}

// Clears the any-order plan for n rows (nothing revealed, weight 1).
template <class T, class Backend>
void reset_reveals(wfc_training_buffers<T, Backend>& t, const wfc_objective& o, index_t n) {
  t.weighted = weighs_by_bound(o, t.draw);
  t.bound_slots = 0;
  t.host_revealed.assign(std::size_t(n), 0);
  t.host_weight.assign(std::size_t(n), T(1));
}

// Slot row r's start (host_targets[r] set, host_probs[r] uniform), from the policy unless the
// draw is clean: revealed, the one-hot of its target (pinned, not scored); partially collapsed,
// α·onehot(target) + (1 − α)·uniform. Under any-order reveals the block's draw decides what is
// revealed (and the bound's estimate collapses nothing partially). Counts the scored slots.
// `key` is the row's number in the whole batch (its draws' counter), r its row in these buffers.
template <class StartPolicy, class T, class Backend>
void start_slot(wfc_training_buffers<T, Backend>& t, const StartPolicy& policy, const wfc_objective& o, index_t vocab, index_t r,
                index_t key, const counter_rng& rng) {
  objective::require_slot_start_policy<StartPolicy>();
  token_id& y = t.host_targets[std::size_t(r)];
  if (!(t.draw.corrupt || t.draw.bound) || y == ignore_index) {
    t.counted += y != ignore_index;
    return;
  }
  auto* p = t.host_probs.data() + r * vocab;
  objective::slot_start s = policy.start(rng, key);
  if (reveals_by_block(o, t.draw)) {
    s.revealed = t.host_revealed[std::size_t(r)] != 0;
    s.partial = s.partial && !t.draw.bound;
  }
  if (s.revealed) {
    for (index_t v = 0; v < vocab; ++v) p[v] = v == y ? T(1) : T(0);
    t.host_factor[std::size_t(r)] = T(0);
    y = ignore_index;
    return;
  }
  ++t.counted;
  if (!s.partial) return;
  const T alpha = T(s.alpha);
  for (index_t v = 0; v < vocab; ++v) p[v] = (T(1) - alpha) / T(vocab) + (v == y ? alpha : T(0));
}

template <class T, class Backend>
void upload_inputs(wfc_training_buffers<T, Backend>& t) {
  t.targets.copy_from_host(t.host_targets);
  t.probs.copy_from_host(t.host_probs);
  t.step_factor.copy_from_host(t.host_factor);
  if (t.weighted) t.row_weight.copy_from_host(t.host_weight);
}

// A pinned batch's mask for blocks cut by draw d: the clean tokens before a slot's block, and by
// the future mask the slots of its own block.
template <class FutureMask, class Backend>
tensor<bool, 2, Backend> pinned_future_mask(const wfc_config& c, index_t steps, const wfc_draw& d) {
  const auto blocks = training_blocks(c, d);
  return tensor<bool, 2, Backend>(shape<2>{{steps, 2 * steps}},
                                  attention_mask(masks::before_block{blocks}, steps, masks::within_block<FutureMask>{blocks}, steps, 1));
}

// Rolling training's passes: for each of the `slides` solves before the tracked one, its mask and
// which rows of the solve after it start carried from it (rebuilt per batch; masks only when
// their offset changes).
template <class FutureMask, class T, class Backend>
void prepare_carried_passes(wfc_training_buffers<T, Backend>& t, const wfc_config& c, const wfc_draw& d, index_t slides) {
  const index_t n = t.rows(), steps = t.steps, V = c.vocab;
  // The earlier solves start as generation's do: no partial collapse toward the target (a carried
  // state would smuggle the answer in); revealed slots stay pinned.
  t.host_earlier_probs = t.host_probs;
  for (index_t r = 0; r < n; ++r)
    if (t.host_factor[std::size_t(r)] != T(0)) std::fill_n(t.host_earlier_probs.begin() + r * V, V, T(1) / T(V));
  t.earlier_probs.copy_from_host(t.host_earlier_probs);
  t.passes.resize(std::size_t(slides));
  for (index_t j = 1; j <= slides; ++j) {
    auto& pass = t.passes[std::size_t(j - 1)];
    const wfc_draw solve = earlier_solve(c, d, j), after = earlier_solve(c, d, j - 1);
    t.host_carried.resize(std::size_t(n));
    for (index_t r = 0; r < n; ++r) t.host_carried[std::size_t(r)] = starts_carried(c, r % steps, after) ? T(1) : T(0);
    if (pass.carried_rows.size() != n) {
      pass.carried_rows = tensor<T, 1, Backend>(shape<1>{{n}});
      pass.fresh_rows = tensor<T, 1, Backend>(shape<1>{{n}});
    }
    pass.carried_rows.copy_from_host(t.host_carried);
    for (auto& m : t.host_carried) m = T(1) - m;
    pass.fresh_rows.copy_from_host(t.host_carried);
    if (pass.keep_offset != solve.offset) {
      pass.keep = pinned_future_mask<FutureMask, Backend>(c, steps, solve);
      pass.keep_offset = solve.offset;
    }
  }
}

// Pinned past: ids, targets, positions and the slots' starting probability vectors; the future mask.
template <class FutureMask, class StartPolicy, class Schedule, class T, class Backend>
void prepare_pinned_batch(wfc_training_buffers<T, Backend>& t, const wfc_config& c, const wfc_objective& o, const StartPolicy& policy,
                          const Schedule& schedule, double damping, const std::vector<token_id>& ids, const std::vector<token_id>& targets,
                          const wfc_draw& d) {
  const index_t n = t.rows(), steps = t.steps, V = c.vocab;
  check_wfc_targets(c, targets);
  t.ids.copy_from_host(ids);
  std::vector<token_id> pos(static_cast<std::size_t>(n));
  for (index_t i = 0; i < n; ++i) pos[std::size_t(i)] = token_id(i % steps);
  t.positions.copy_from_host(pos);
  t.host_probs.assign(static_cast<std::size_t>(n * V), T(1) / T(V));  // reused: no allocation per batch
  t.host_factor.assign(static_cast<std::size_t>(n), T(damping));
  t.host_targets = targets;
  if (o.clean_loss > 0) {  // the clean stream predicts every target, revealed or not
    t.ensure_clean_head(c);
    t.clean_targets.copy_from_host(targets);
    t.clean_counted = index_t(std::count_if(targets.begin(), targets.end(), [](token_id y) { return y != ignore_index; }));
  }
  t.host_offsets.resize(std::size_t(n));
  reset_reveals(t, o, n);
  if (reveals_by_block(o, d)) {  // each sequence's blocks, in order, numbered from the batch's first sequence
    const auto blocks = training_blocks(c, d);
    index_t per_sequence = 0;
    for (index_t label = 1; label <= steps; ++label) per_sequence += label == steps || blocks.start(label + 1) != blocks.start(label);
    std::vector<index_t> rows;
    auto block = std::uint64_t(d.first_sequence * per_sequence);
    for (index_t r = 0; r < n; ++r) {
      rows.push_back(r);
      const index_t label = r % steps + 1;
      if (label == steps || blocks.start(label + 1) != blocks.start(label)) {
        reveal_block(t, schedule, o, c.future, block++, rows);
        rows.clear();
      }
    }
  }
  const counter_rng rng = corruption_rng(o, d);
  t.counted = 0;
  for (index_t r = 0; r < n; ++r) {
    t.host_offsets[std::size_t(r)] = slot_offset(c, r % steps, d);
    start_slot(t, policy, o, V, r, d.first_sequence * steps + r, rng);
  }
  upload_inputs(t);
  if (t.keep_offset != d.offset) {  // the mask depends on the batch shape and the offset only
    t.future_keep = pinned_future_mask<FutureMask, Backend>(c, steps, d);
    t.keep_offset = d.offset;
  }
  if (d.carried) prepare_carried_passes<FutureMask>(t, c, d, o.carry_slides);
}

// Drifting past: each sequence's window of T − F + 1 past rows (the first d.start of them empty)
// and F slots for the last F targets.
template <class FutureMask, class StartPolicy, class Schedule, class T, class Backend>
void prepare_drifting_batch(wfc_training_buffers<T, Backend>& t, const wfc_config& c, const wfc_objective& o, const StartPolicy& policy,
                            const Schedule& schedule, double damping, const std::vector<token_id>& ids, const std::vector<token_id>& targets,
                            const wfc_draw& d) {
  const index_t S = t.sequences, T_ = t.steps, n = t.future_rows, V = c.vocab, F = c.future;
  const index_t past_end = T_ - F + 1, start = d.start;
  check_wfc_targets(c, targets);
  for (token_id id : ids)
    if (id < 0 || id >= V)
      throw value_error("wfc_model: token " + std::to_string(id) + " is outside the vocabulary of " + std::to_string(V));
  t.host_probs.assign(static_cast<std::size_t>(S * n * V), T(1) / T(V));
  t.host_factor.assign(static_cast<std::size_t>(S * n), T(damping));
  t.host_targets.assign(std::size_t(S * n), ignore_index);
  t.host_offsets.assign(std::size_t(S * n), -1);
  std::vector<token_id> pos(std::size_t(S * n), 0);
  for (index_t s = 0; s < S; ++s)
    for (index_t i = 0; i < F; ++i) t.host_targets[std::size_t(s * n + past_end + i)] = targets[std::size_t(s * T_ + past_end - 1 + i)];
  reset_reveals(t, o, S * n);
  if (reveals_by_block(o, d)) {  // one block per window: its F slots
    std::vector<index_t> rows(static_cast<std::size_t>(F));
    for (index_t s = 0; s < S; ++s) {
      for (index_t i = 0; i < F; ++i) rows[std::size_t(i)] = s * n + past_end + i;
      reveal_block(t, schedule, o, F, std::uint64_t(d.first_sequence + s), rows);
    }
  }
  const counter_rng rng = corruption_rng(o, d);
  t.counted = 0;
  for (index_t s = 0; s < S; ++s) {
    for (index_t j = 0; j < past_end; ++j) {
      const index_t r = s * n + j;
      if (j < start) {
        t.host_factor[std::size_t(r)] = T(0);  // empty: never moves, never seen
        continue;
      }
      pos[std::size_t(r)] = token_id(j - start);
      std::fill_n(t.host_probs.begin() + r * V, V, T(0));
      t.host_probs[std::size_t(r * V + ids[std::size_t(s * T_ + j)])] = T(1);
    }
    for (index_t i = 0; i < F; ++i) {
      const index_t r = s * n + past_end + i;
      pos[std::size_t(r)] = token_id(past_end - 1 + i - start);
      t.host_offsets[std::size_t(r)] = i;
      start_slot(t, policy, o, V, r, d.first_sequence * n + r, rng);
    }
  }
  t.positions.copy_from_host(pos);
  upload_inputs(t);
  if (t.keep_offset != start) {  // the mask depends on the batch shape and the empty rows only
    t.future_keep = tensor<bool, 2, Backend>(shape<2>{{n, n}}, attention_mask(masks::drifting_window<FutureMask>{start, past_end}, n));
    t.keep_offset = start;
  }
}

}  // namespace wfc::detail
