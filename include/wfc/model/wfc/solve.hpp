#pragma once
// The solve at inference: x ← x + η·(S(x) − x) on the free slots (or an Anderson combination of
// the last iterates) until the solver says it converged (residual ‖Δx‖/‖x‖ over the slots, or the
// worst slot's, or the worst slot's KL between successive beliefs) or runs out of steps. Pinned past: the slots attend to the cached past. Drifting:
// the whole window is state; its past rows restart from their tokens' embeddings, the slots from
// their current (warm) states. Each step reads the device back once for the residual (twice with
// Anderson: its Gram row first); everything else stays on the device.
#include <algorithm>
#include <cmath>
#include <optional>
#include <string>

#include "wfc/model/wfc/inference_state.hpp"
#include "wfc/model/wfc/slots.hpp"
#include "wfc/model/wfc/weights.hpp"
#include "wfc/nn/attention.hpp"
#include "wfc/solver/solvers.hpp"

namespace wfc::detail {

// A solve's attention context over `rows` rows; its mask, from `build`, depends on the past and
// slot counts only, so it is rebuilt only when they change.
template <class Positions, class T, class Backend, class BuildMask>
nn::attention_context<T> solve_context(wfc_inference_state<T, Backend>& run, index_t rows, const BuildMask& build) {
  if (run.keep_past != run.past || run.keep_slots != run.slots) {
    run.future_keep = build();
    run.keep_past = run.past;
    run.keep_slots = run.slots;
  }
  nn::attention_context<T> context;
  context.keep = run.future_keep.cview();
  context.sequences = run.sequences;
  if constexpr (Positions::rotary) context.positions = run.positions.cview().slice(0, 0, rows);
  return context;
}

// 0 for the pinned slots' rows, 1 for every other row, on the device (uploaded once per solve);
// none when no slot is pinned.
template <class T, class Backend>
std::optional<tensor_view<const T, 1>> held_rows(wfc_inference_state<T, Backend>& run, index_t rows, index_t per_sequence, index_t first) {
  if (!run.any_pinned()) return std::nullopt;
  run.host_factors.assign(std::size_t(run.row_factors.size()), T(1));  // rows past `rows`: unused
  for (index_t i = 0; i < index_t(run.pinned.size()); ++i)
    if (run.pinned[std::size_t(i)])
      for (index_t s = 0; s < run.sequences; ++s) run.host_factors[std::size_t(s * per_sequence + first + i)] = T(0);
  run.row_factors.copy_from_host(run.host_factors);
  return run.row_factors.cview().slice(0, 0, rows);
}

// The relative update ‖Δx‖/‖x‖ over the free slots (held ones would loosen the tolerance), or the
// largest slot's (then every slot's is kept). Both come from the rows' squared norms of the step
// and of the state, read back together: one transfer per step.
template <class T, class Backend>
double solve_residual(wfc_inference_state<T, Backend>& run, solve_report& report, residual_norm norm, tensor_view<const T, 2> step,
                      tensor_view<const T, 2> state, index_t per_sequence, index_t first) {
  const Backend be{};
  const index_t S = run.sequences, f = run.slots, rows = step.extent(0);
  const auto norms = run.row_norms.view();
  row_squared_norms(be, norms.slice(0, 0, rows), step);
  row_squared_norms(be, norms.slice(0, rows, 2 * rows), state);
  const auto squares = to_host<Backend>(as_const(norms.slice(0, 0, 2 * rows)));
  const auto change = [&](index_t r) { return double(squares[std::size_t(r)]); };
  const auto size = [&](index_t r) { return double(squares[std::size_t(rows + r)]); };
  const auto ratio = [](double c, double s) { return s > 0 ? c / s : c; };
  if (norm == residual_norm::segment) {
    report.slot_residuals.clear();
    double changes = 0, sizes = 0;
    for (index_t s = 0; s < S; ++s)
      for (index_t i = 0; i < f; ++i)
        if (!run.is_pinned(i)) {
          const index_t r = s * per_sequence + first + i;
          changes += change(r);
          sizes += size(r);
        }
    return ratio(std::sqrt(changes), std::sqrt(sizes));
  }
  report.slot_residuals.resize(std::size_t(S * f));
  double worst = 0;
  for (index_t s = 0; s < S; ++s)
    for (index_t i = 0; i < f; ++i) {
      const index_t r = s * per_sequence + first + i;
      const double q = ratio(std::sqrt(change(r)), std::sqrt(size(r)));
      report.slot_residuals[std::size_t(s * f + i)] = q;
      worst = std::isnan(q) || std::isnan(worst) ? std::nan("") : std::max(worst, q);
    }
  return worst;
}

// Each slot's log-probabilities after the head (host, row s·slots + i, vocab each), from x's slot
// rows (rows first … first + slots of each sequence).
template <class T, class Backend, class Positions>
std::vector<double> slot_log_probs(wfc_inference_state<T, Backend>& run, const wfc_weights<T, Backend, Positions>& w,
                                   tensor_view<const T, 2> x, index_t per_sequence, index_t first) {
  const Backend be{};
  const auto p = w.params.cview();
  const index_t S = run.sequences, f = run.slots, rows = S * f;
  auto in = x.slice(0, 0, rows);
  if (per_sequence != f || first != 0) {  // drifting: gather each sequence's slots
    for (index_t s = 0; s < S; ++s)
      copy(be, run.belief_rows.view().slice(0, s * f, s * f + f), x.slice(0, s * per_sequence + first, s * per_sequence + first + f));
    in = run.belief_rows.cview().slice(0, 0, rows);
  }
  w.ln_f.forward(be, run.final.view().slice(0, 0, rows), run.final_mean.view().slice(0, 0, rows), run.final_rstd.view().slice(0, 0, rows),
                 in, p);
  gemm(be, run.logits.view().slice(0, 0, rows), run.final.cview().slice(0, 0, rows), transpose(w.wte.table(p)));
  const auto logits = to_host<Backend>(run.logits.cview().slice(0, 0, rows));
  const index_t V = run.logits.extent(1);
  std::vector<double> out(logits.size());
  for (index_t r = 0; r < rows; ++r) {
    const T* row = logits.data() + r * V;
    double top = double(row[0]), total = 0;
    for (index_t v = 1; v < V; ++v) top = std::max(top, double(row[v]));
    for (index_t v = 0; v < V; ++v) total += std::exp(double(row[v]) - top);
    const double shift = top + std::log(total);
    for (index_t v = 0; v < V; ++v) out[std::size_t(r * V + v)] = double(row[v]) - shift;
  }
  return out;
}

// The belief test: every free slot's KL(p_now ‖ p_before) in nats (into slot_residuals), and the largest.
template <class T, class Backend>
double belief_change(const wfc_inference_state<T, Backend>& run, solve_report& report, const std::vector<double>& now,
                     const std::vector<double>& before) {
  const index_t rows = run.sequences * run.slots, V = index_t(now.size()) / std::max<index_t>(rows, 1);
  report.slot_residuals.assign(std::size_t(rows), 0.0);
  double worst = 0;
  for (index_t r = 0; r < rows; ++r) {
    if (run.is_pinned(r % run.slots)) continue;
    double kl = 0;
    for (index_t v = 0; v < V; ++v) {
      const auto i = std::size_t(r * V + v);
      kl += std::exp(now[i]) * (now[i] - before[i]);
    }
    kl = std::max(kl, 0.0);  // ≥ 0 up to rounding
    report.slot_residuals[std::size_t(r)] = kl;
    worst = std::isnan(kl) || std::isnan(worst) ? std::nan("") : std::max(worst, kl);
  }
  return worst;
}

// The solver's loop on x ([sequences·per_sequence, width] rows; the slots are rows first …
// first + slots of each sequence), the stack attending to `keys` keys per row.
template <class S, class LayerContext, class T, class Backend, class Positions>
solve_report iterate(wfc_inference_state<T, Backend>& run, const wfc_weights<T, Backend, Positions>& w, const S& solver, tensor_view<T, 2> x,
                     tensor_view<T, 2> next, index_t keys, const LayerContext& layer_context, index_t per_sequence, index_t first) {
  const Backend be{};
  const auto p = w.params.cview();
  const index_t rows = x.extent(0), memory = solver_memory(solver), width = x.extent(1);
  const T eta = T(solver.damping);
  if (run.mix.memory != memory || run.mix.rows < rows) run.mix = anderson_mixing<T, Backend>(memory, run.sequences * run.stack_rows, width);
  run.mix.restart();
  const auto held = held_rows(run, rows, per_sequence, first);
  const bool belief = solver_norm(solver) == residual_norm::belief;
  if (belief) run.belief_before = slot_log_probs(run, w, as_const(x), per_sequence, first);
  solve_report report;
  for (index_t k = 1; k <= solver.max_steps(); ++k) {
    for (std::size_t l = 0; l < w.blocks.size(); ++l) {
      const auto in = l == 0 ? as_const(x) : run.stream[l].cview().slice(0, 0, rows);
      w.blocks[l].forward(be, run.stream[l + 1].view().slice(0, 0, rows), run.acts[l].view(keys, rows), in, layer_context(l), p);
    }
    // next = v(x) = S(x) − x, then the step Δx: η·v(x), or Anderson's combination minus x
    copy(be, next, run.stream.back().cview().slice(0, 0, rows));
    axpy(be, next, T(-1), as_const(x));
    if (held) scale_rows(be, next, *held);  // a zero velocity: pinned rows stay out of the mixing
    if (memory > 0) {
      run.mix.step(be, next, as_const(x), eta);
      if (held) scale_rows(be, next, *held);  // Σα = 1 only up to rounding: (Σα − 1)·x must not move them
    } else {
      scale(be, next, eta);
    }
    report.steps = k;
    if (!belief) report.residual = solve_residual(run, report, solver_norm(solver), as_const(next), as_const(x), per_sequence, first);
    axpy(be, x, T(1), as_const(next));
    if (belief) {
      auto now = slot_log_probs(run, w, as_const(x), per_sequence, first);
      report.residual = belief_change(run, report, now, run.belief_before);
      run.belief_before.swap(now);
    }
    if (!std::isfinite(report.residual))
      throw value_error("wfc_model::converge: the future slots diverged (residual " + std::to_string(report.residual) + ")");
    if (solver.converged(k, report.residual)) break;
  }
  return report;
}

// Pinned past: the slots' rows, attending to the cached past and (by the future mask) each other.
template <class FutureMask, class S, class T, class Backend, class Positions>
solve_report converge_slots(wfc_inference_state<T, Backend>& run, const wfc_weights<T, Backend, Positions>& w, const S& solver) {
  const index_t f = run.slots, P = run.past, rows = run.sequences * f;
  upload_slot_positions(run, f);
  auto context = solve_context<Positions>(run, rows, [&] {
    return tensor<bool, 2, Backend>(shape<2>{{f, P + f}},
                                    attention_mask(masks::bidirectional{}, P, masks::within_block<FutureMask>{masks::blocks{f, P}}, f, P));
  });
  const auto layer_context = [&](std::size_t l) {
    context.past_keys = run.keys[l].cview().slice(1, 0, P);
    context.past_values = run.values[l].cview().slice(1, 0, P);
    return context;
  };
  return iterate(run, w, solver, run.state.view().slice(0, 0, rows), run.next.view().slice(0, 0, rows), P + f, layer_context, f, 0);
}

// Drifting past: the whole window, its past rows from their tokens' embeddings, the slots warm.
template <class FutureMask, class S, class T, class Backend, class Positions>
solve_report converge_window(wfc_inference_state<T, Backend>& run, const wfc_weights<T, Backend, Positions>& w, const wfc_config& config,
                             const S& solver) {
  const Backend be{};
  const index_t S_ = run.sequences, f = run.slots, P = run.past, n = P + f, rows = S_ * n, W = config.window;
  const auto p = w.params.cview();
  run.host_ids.assign(std::size_t(run.window_ids.size()), 0);  // slot rows: replaced by their states below
  run.host_positions.assign(std::size_t(run.positions.size()), 0);
  for (index_t s = 0; s < S_; ++s) {
    for (index_t j = 0; j < P; ++j) {
      run.host_ids[std::size_t(s * n + j)] = run.past_tokens[std::size_t(s * W + j)];
      run.host_positions[std::size_t(s * n + j)] = token_id(j);
    }
    for (index_t i = 0; i < f; ++i) run.host_positions[std::size_t(s * n + P + i)] = token_id(P - 1 + i);
  }
  run.window_ids.copy_from_host(run.host_ids);
  run.positions.copy_from_host(run.host_positions);
  auto x = run.window.view().slice(0, 0, rows);
  w.wte.forward(be, x, run.window_ids.cview().slice(0, 0, rows), p);
  w.add_positions(x, run.window_positions.view().slice(0, 0, rows), run.positions.cview().slice(0, 0, rows));
  for (index_t s = 0; s < S_; ++s) copy(be, x.slice(0, s * n + P, s * n + n), run.state.cview().slice(0, s * f, s * f + f));
  const auto context = solve_context<Positions>(run, rows, [&] {
    return tensor<bool, 2, Backend>(shape<2>{{n, n}}, attention_mask(masks::drifting_window<FutureMask>{0, P}, n));
  });
  const auto report = iterate(run, w, solver, x, run.window_next.view().slice(0, 0, rows), n, [&](std::size_t) { return context; }, n, P);
  for (index_t s = 0; s < S_; ++s) copy(be, run.state.view().slice(0, s * f, s * f + f), as_const(x.slice(0, s * n + P, s * n + n)));
  return report;
}

}  // namespace wfc::detail
