#pragma once
// The future slots at inference: slot i of a past of P tokens stands for the token at P + i and
// sits at position P − 1 + i. Fresh slots start at max entropy (the mean token embedding plus the
// position); after a collapse the remaining slots move to the front keeping their states (a warm
// start); any probability vector can be embedded into a slot (full and partial collapse are one
// operation) and held there (pinned) while the solver moves the others.
#include <cmath>
#include <string>
#include <vector>

#include "wfc/model/wfc/inference_state.hpp"
#include "wfc/model/wfc/readout.hpp"
#include "wfc/model/wfc/weights.hpp"

namespace wfc::detail {

// The positions of f slots per sequence (slot i of every sequence at P − 1 + i) in the first
// sequences·f rows of run.positions; returns those rows.
template <class T, class Backend>
tensor_view<const token_id, 1> upload_slot_positions(wfc_inference_state<T, Backend>& run, index_t f) {
  const index_t P = run.past, rows = run.sequences * f;
  run.host_positions.assign(std::size_t(run.positions.size()), 0);  // rows past the slots: unused
  for (index_t i = 0; i < rows; ++i) run.host_positions[std::size_t(i)] = token_id(run.origin + P - 1 + i % f);
  run.positions.copy_from_host(run.host_positions);
  return run.positions.cview().slice(0, 0, rows);
}

// Slots [from, f) of every sequence in `into` (laid out [sequences, f], f the room for slots) at
// max entropy: the mean token embedding plus the slot's position. No allocation: it runs at every shift.
template <class T, class Backend, class Positions>
void fresh_slots(wfc_inference_state<T, Backend>& run, const wfc_weights<T, Backend, Positions>& w, const wfc_config& config,
                 tensor_view<T, 2> into, index_t from) {
  const Backend be{};
  const index_t f = run.slot_room(config);
  if (f - from <= 0) return;
  const auto p = w.params.cview();
  const auto mean = run.final.view().slice(0, 0, 1);  // scratch row: uniform·E
  w.wte.forward(be, mean, run.uniform.cview(), p);
  const auto positions = upload_slot_positions(run, f);
  for (index_t s = 0; s < run.sequences; ++s) {
    const auto rows = into.slice(0, s * f + from, s * f + f);
    if constexpr (Positions::rotary)
      fill(be, rows, T(0));
    else
      w.wpe.forward(be, rows, positions.slice(0, s * f + from, s * f + f), p);
    add_bias(be, rows, as_const(mean)[0]);
  }
}

// After n slots left the future (their tokens joined the past): the rest move to the front with
// their states and pins, fresh slots fill the room up to the horizon.
template <class T, class Backend, class Positions>
void shift_future(wfc_inference_state<T, Backend>& run, const wfc_weights<T, Backend, Positions>& w, const wfc_config& config, index_t n) {
  const Backend be{};
  const index_t S = run.sequences, f = run.slots;
  if (n < 0 || n > f) throw config_error("wfc_model::shift_future: cannot drop " + std::to_string(n) + " of " + std::to_string(f) + " slots");
  const index_t kept = f - n, next = run.slot_room(config);
  const index_t carried = std::min(kept, next);
  auto moved = run.next.view();
  fresh_slots(run, w, config, moved, carried);
  for (index_t s = 0; s < S; ++s)
    if (carried > 0)
      copy(be, moved.slice(0, s * next, s * next + carried), run.state.cview().slice(0, s * f + n, s * f + n + carried));
  run.slots = next;
  copy(be, run.state.view().slice(0, 0, S * next), as_const(moved.slice(0, 0, S * next)));
  std::vector<bool> pins(std::size_t(next), false);
  for (index_t i = 0; i < carried; ++i) pins[std::size_t(i)] = run.is_pinned(n + i);
  run.pinned = std::move(pins);
}

// Every slot re-embedded from its own distribution at its position; pinned slots keep their states.
template <class T, class Backend, class Positions>
void reembed_future(wfc_inference_state<T, Backend>& run, const wfc_weights<T, Backend, Positions>& w) {
  const Backend be{};
  const auto probs = future_probabilities(run, w);
  const index_t rows = probs.extent(0), f = run.slots;
  const auto p = w.params.cview();
  const auto state = run.state.view().slice(0, 0, rows);
  const auto held = run.final.view().slice(0, 0, rows);  // scratch: the logits are done with it
  copy(be, held, as_const(state));
  w.wte.forward(be, state, probs, p);
  if constexpr (!Positions::rotary) w.add_positions(state, run.next.view().slice(0, 0, rows), upload_slot_positions(run, f));
  for (index_t i = 0; i < f; ++i)
    if (run.is_pinned(i))
      for (index_t s = 0; s < run.sequences; ++s)
        copy(be, state.slice(0, s * f + i, s * f + i + 1), as_const(held.slice(0, s * f + i, s * f + i + 1)));
}

// Every sequence's row of `probs` ([sequences, vocab]) must be a probability vector.
template <class T>
void check_slot_probabilities(const std::vector<T>& probs, index_t sequences, index_t vocab) {
  if (probs.size() != std::size_t(sequences * vocab))
    throw shape_error("wfc_model::embed_slot: need " + std::to_string(sequences) + " × " + std::to_string(vocab) + " probabilities, got " +
                      std::to_string(probs.size()));
  for (index_t s = 0; s < sequences; ++s) {
    double total = 0;
    for (index_t v = 0; v < vocab; ++v) {
      const double q = double(probs[std::size_t(s * vocab + v)]);
      if (!(q >= 0) || !std::isfinite(q))
        throw value_error("wfc_model::embed_slot: probability " + std::to_string(v) + " of sequence " + std::to_string(s) +
                          " is negative or not finite");
      total += q;
    }
    if (std::abs(total - 1) > 1e-3)
      throw value_error("wfc_model::embed_slot: the probabilities of sequence " + std::to_string(s) + " sum to " + std::to_string(total) +
                        ", not 1");
  }
}

// Slot `slot` of every sequence set to the embedding of row s of `probs` at its position, and
// pinned or not.
template <class T, class Backend, class Positions>
void embed_slot(wfc_inference_state<T, Backend>& run, const wfc_weights<T, Backend, Positions>& w, const wfc_config& config, index_t slot,
                const std::vector<T>& probs, bool pin) {
  const index_t S = run.sequences, f = run.slots;
  if (slot < 0 || slot >= f)
    throw config_error("wfc_model::embed_slot: slot " + std::to_string(slot) + " is outside the " + std::to_string(f) + " future slots");
  check_slot_probabilities(probs, S, config.vocab);
  const Backend be{};
  const auto p = w.params.cview();
  run.slot_probs.copy_from_host(probs);
  const auto embedded = run.final.view().slice(0, 0, S);  // scratch rows
  w.wte.forward(be, embedded, run.slot_probs.cview(), p);
  if constexpr (!Positions::rotary) {
    const auto positions = upload_slot_positions(run, f);
    for (index_t s = 0; s < S; ++s)
      w.wpe.forward(be, run.next.view().slice(0, s, s + 1), positions.slice(0, s * f + slot, s * f + slot + 1), p);
    axpy(be, embedded, T(1), run.next.cview().slice(0, 0, S));
  }
  for (index_t s = 0; s < S; ++s)
    copy(be, run.state.view().slice(0, s * f + slot, s * f + slot + 1), as_const(embedded.slice(0, s, s + 1)));
  run.pinned[std::size_t(slot)] = pin;
}

}  // namespace wfc::detail
