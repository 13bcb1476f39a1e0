#pragma once
// The WFC model's inference buffers (llama2.c's `run_state`): allocated when the number of
// sequences changes, never inside the collapse loop.
#include <algorithm>
#include <vector>

#include "wfc/model/block_buffers.hpp"
#include "wfc/model/wfc/config.hpp"
#include "wfc/nn/masks.hpp"
#include "wfc/solver/anderson.hpp"

namespace wfc {

// The buffers of one append_past call: its new tokens through the stack.
template <class T, class Backend>
struct wfc_append_buffers {
  template <std::size_t R>
  using buffer = tensor<T, R, Backend>;
  using ids_buffer = tensor<token_id, 1, Backend>;

  index_t steps = 0;
  ids_buffer ids, positions;
  buffer<2> pos_embed;
  std::vector<buffer<2>> stream;
  std::vector<block_buffers<T, Backend>> acts;
};

// Inference state of `sequences` sequences: the past (its keys/values cached when pinned, its
// tokens when drifting), the future slots' states, the solver's buffers, the horizon and the pins.
template <class T, class Backend>
struct wfc_inference_state {
  template <std::size_t R>
  using buffer = tensor<T, R, Backend>;
  using ids_buffer = tensor<token_id, 1, Backend>;

  index_t sequences = 0, past = 0, origin = 0, slots = 0, keep_past = -1, keep_slots = -1;
  index_t stack_rows = 0;               // rows per sequence the stack runs on: the slots (pinned) or the window (drifting)
  std::vector<buffer<3>> keys, values;  // per layer [sequences, window, width] (pinned)
  buffer<2> window, window_next, window_positions;  // drifting: the whole window's state
  ids_buffer window_ids;
  std::vector<token_id> past_tokens, host_ids;  // drifting: [sequences, window] tokens of the past
  tensor<bool, 2, Backend> causal, future_keep;  // [window, window], sliced per append; the slots' mask
  wfc_append_buffers<T, Backend> clean;
  index_t horizon = 0;         // slots inference keeps (wfc_model::set_horizon)
  std::vector<bool> pinned;    // per slot: held by embed_slot(…, true)
  anderson_mixing<T, Backend> mix;  // kept between solves: its buffers are reused
  buffer<2> state, next, uniform, final, logits, probs, slot_probs;
  buffer<1> final_mean, final_rstd, entropy;
  buffer<1> row_norms, row_factors;  // the solver's: rows' squared norms of the step, then the state; held rows' factors
  std::vector<T> host_factors;
  buffer<2> belief_rows;                 // the belief test's slots gathered from the drifting window [sequences·F, width]
  std::vector<double> belief_before;     // the belief test's log-probabilities after the previous step
  ids_buffer positions;
  std::vector<buffer<2>> stream;
  std::vector<block_buffers<T, Backend>> acts;
  std::vector<token_id> host_positions;

  // Whether slot `slot` is pinned: embed_slot(…, true) fixed its state, and the solver leaves it.
  bool is_pinned(index_t slot) const { return slot >= 0 && slot < index_t(pinned.size()) && pinned[std::size_t(slot)]; }
  bool any_pinned() const { return std::find(pinned.begin(), pinned.end(), true) != pinned.end(); }
  // Slots the future has room for: the horizon, bounded by the window (P + slots ≤ W + 1).
  index_t slot_room(const wfc_config& c) const { return std::min(horizon, c.window - past + 1); }

  wfc_inference_state() = default;
  wfc_inference_state(index_t s, const wfc_config& c, bool cached) : sequences(s) {
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
      belief_rows = buffer<2>(s * c.future, d);
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

}  // namespace wfc
