#pragma once
// Everything one training batch shape needs (llm.c's activations, named): the inputs as uploaded,
// the clean stream and its keys/values, the future stream's state after every tracked step with
// each block's activations inside it, the head at every step, the carried starts of rolling
// training, and the gradients backward walks with. Reallocated only when the shape (sequences,
// tokens, most tracked steps) changes: steps before the tracked ones reuse step 1's buffers.
#include <cstdint>
#include <vector>

#include "wfc/model/block_buffers.hpp"
#include "wfc/model/wfc/config.hpp"
#include "wfc/model/wfc/objective.hpp"
#include "wfc/nn/masks.hpp"

namespace wfc {

template <class T, class Backend>
struct wfc_training_buffers {
  template <std::size_t R>
  using buffer = tensor<T, R, Backend>;
  using ids_buffer = tensor<token_id, 1, Backend>;

  index_t sequences = 0, steps = 0, max_steps = 0, counted = 0, keep_offset = -1;
  // Any-order reveals: the blocks' slots (revealed and scored) and whether scored rows carry the
  // bound's weights (row_weight); the loss is then Σ weight·CE over those slots, else the mean CE.
  index_t bound_slots = 0;
  bool weighted = false;
  index_t tracked = 0;      // this batch's steps backward runs through (≤ max_steps; the draw's K minus the untracked ones)
  index_t future_rows = 0;  // rows per sequence in the future stream: T (pinned) or the window's T + 1 (drifting)
  index_t future_keys = 0;  // keys a future row sees: 2T (the clean past and its own stream) or T + 1
  wfc_draw draw;
  std::vector<token_id> host_targets;
  std::vector<index_t> host_offsets;  // each future row's slot offset (−1: not a slot)
  std::vector<T> host_probs, host_factor, host_carried, host_earlier_probs, host_weight;
  std::vector<char> host_revealed;  // any-order: the rows each block's draw reveals
  ids_buffer ids, targets, positions;
  tensor<bool, 2, Backend> causal, future_keep;
  buffer<2> probs, pos_embed, delta, carry;
  // Rolling training: passes[j − 1] is the solve j slides before the tracked one (blocks j tokens
  // earlier): its mask, and which rows of the solve after it start carried from it (1, else 0)
  // and which fresh (1 minus that).
  struct carried_pass {
    tensor<bool, 2, Backend> keep;
    index_t keep_offset = -1;
    buffer<1> carried_rows, fresh_rows;
  };
  std::vector<carried_pass> passes;
  buffer<2> fresh_start, held_start, beliefs;  // the tracked solve's cold start; the earlier solves'; beliefs [n, vocab]
  buffer<2> earlier_probs;                     // the earlier solves' starting probability vectors (no partial collapse)
  buffer<1> step_factor;  // η per slot, 0 for a revealed (pinned) one
  buffer<1> row_weight;   // the bound's weight per row (when weighted)
  std::vector<buffer<2>> clean, dclean;                   // clean stream entering each block (and leaving the last)
  std::vector<block_buffers<T, Backend>> clean_acts;      // [layer]
  std::vector<buffer<2>> state, dstate;                   // future state after each step (0 = start)
  std::vector<std::vector<buffer<2>>> stream;             // [step][layer]: the stack's stream inside each step
  std::vector<std::vector<block_buffers<T, Backend>>> acts;  // [step][layer]
  std::vector<buffer<2>> final, logits, dlogits, dfinal;  // per step (deep supervision reads the earlier ones)
  std::vector<buffer<1>> final_mean, final_rstd, loss_rows;
  buffer<1> dloss;
  std::vector<buffer<2>> dkeys, dvalues;  // per layer [N, width]: gradients of the clean stream's keys/values
  // The clean stream's own next-token head (objective.clean_loss; allocated when first used).
  buffer<2> clean_final, clean_logits;
  buffer<1> clean_mean, clean_rstd, clean_loss_rows;
  ids_buffer clean_targets;
  index_t clean_counted = 0;
  std::vector<buffer<2>> dstream;         // two, alternating through the stack
  block_scratch_buffers<T, Backend> clean_scratch{0, 0, 0, 0, 0}, future_scratch{0, 0, 0, 0, 0};

  index_t rows() const { return sequences * future_rows; }

  // The clean head's buffers for this shape, allocated on first use.
  void ensure_clean_head(const wfc_config& c) {
    const index_t n = sequences * steps;
    if (clean_logits.size() == n * c.vocab && clean_final.size() == n * c.width) return;
    clean_final = buffer<2>(n, c.width);
    clean_logits = buffer<2>(n, c.vocab);
    clean_mean = buffer<1>(shape<1>{{n}});
    clean_rstd = buffer<1>(shape<1>{{n}});
    clean_loss_rows = buffer<1>(shape<1>{{n}});
    clean_targets = ids_buffer(n);
  }
  // What the summed (weighted) cross-entropy is divided by.
  T loss_denominator() const { return T(weighted ? bound_slots : counted); }

  void resize(index_t s, index_t t, index_t k_max, const wfc_config& c, bool cached) {
    if (s == sequences && t == steps && k_max == max_steps) return;
    sequences = s;
    steps = t;
    max_steps = k_max;
    keep_offset = -1;
    passes.clear();
    future_rows = cached ? t : t + 1;
    future_keys = cached ? 2 * t : t + 1;
    const index_t n = rows(), d = c.width;
    targets = ids_buffer(n);
    positions = ids_buffer(n);
    probs = buffer<2>(n, c.vocab);
    step_factor = buffer<1>(shape<1>{{n}});
    row_weight = buffer<1>(shape<1>{{n}});
    pos_embed = buffer<2>(n, d);
    delta = buffer<2>(n, d);
    carry = buffer<2>(n, d);
    fresh_start = buffer<2>(n, d);
    held_start = buffer<2>(n, d);
    beliefs = buffer<2>(n, c.vocab);
    earlier_probs = buffer<2>(n, c.vocab);
    allocate_clean(c, cached);
    allocate_future(c);
  }

 private:
  // The clean stream and the gradients of its keys/values (a pinned past only).
  void allocate_clean(const wfc_config& c, bool cached) {
    const index_t s = sequences, t = steps, clean_rows = s * t, d = c.width;
    clean.clear();
    dclean.clear();
    clean_acts.clear();
    dkeys.clear();
    dvalues.clear();
    if (!cached) return;
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

  // The future stream: its state after each of up to max_steps steps, the stack inside each, the head.
  void allocate_future(const wfc_config& c) {
    const index_t n = rows(), d = c.width;
    for (auto* v : {&state, &final, &logits, &dlogits, &dfinal, &dstate, &dstream}) v->clear();
    for (auto* v : {&final_mean, &final_rstd, &loss_rows}) v->clear();
    stream.clear();
    acts.clear();
    for (index_t k = 0; k <= max_steps; ++k) {
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
      for (index_t l = 0; l < c.layers; ++l) acts.back().emplace_back(sequences, future_rows, future_keys, d, c.heads);
    }
    dlogits.emplace_back(n, c.vocab);
    dfinal.emplace_back(n, d);
    dloss = buffer<1>(shape<1>{{n}});
    for (int i = 0; i < 2; ++i) {
      dstate.emplace_back(n, d);
      dstream.emplace_back(n, d);
    }
    future_scratch = block_scratch_buffers<T, Backend>(sequences, future_rows, future_keys, d, c.heads);
  }
};

}  // namespace wfc
