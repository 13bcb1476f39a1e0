#pragma once
// Evaluation of a WFC model on held-out text (docs/design.md, "Evaluation"), comparable with a
// GPT's validation loss: every target is predicted once at every slot offset (the batches run once
// per block offset 0…F−1), from a cold start (no reveal, no partial collapse), with the model's
// training step count (objective().evaluation_steps()). A drifting past has one window per sequence (its full past, then F slots):
// each batch runs once.
#include <cmath>
#include <numeric>
#include <vector>

#include "wfc/core/statistics.hpp"
#include "wfc/data/text_dataset.hpp"
#include "wfc/model/wfc/model.hpp"
#include "wfc/train/trainer.hpp"

namespace wfc {

// The evaluation batches of split `which`, each run once per block offset (a pinned past; a
// drifting one once) with the model's training step count: `prepare(draw)` adjusts a pass's draw
// and returns what reads the forward's results. Returns the passes per batch.
template <class Model, class Prepare>
index_t for_each_evaluation_pass(Model& model, const text_dataset& data, split which, const trainer_settings& settings, Prepare&& prepare) {
  settings.validate();
  const index_t passes = Model::past_policy::cached ? model.config().future : 1;
  std::vector<token_id> x, y;
  for (std::int64_t k = 0; k < settings.eval_batches; ++k) {
    data.sample(which, settings.batch, settings.block, evaluation_batches(settings, which), std::uint64_t(k), x, y);
    for (index_t offset = 0; offset < passes; ++offset) {
      wfc_draw d;
      d.offset = offset;
      d.steps = model.objective().evaluation_steps();
      auto read = prepare(d);
      model.forward(x, y, settings.batch, d);
      read();
    }
  }
  return passes;
}

struct offset_nll_report {
  double first_slot = 0;            // NLL of a block's first slot: next-token prediction from a cold start
  std::vector<double> per_offset;   // NLL by slot offset 0…F−1 (how uncertainty grows with distance)
  double mean = 0;                  // over every slot
};

// Over settings.eval_batches fixed batches of split `which` (the trainer's evaluation batches).
template <class Model>
offset_nll_report evaluate_offsets(Model& model, const text_dataset& data, split which, const trainer_settings& settings) {
  const index_t F = model.config().future;
  std::vector<double> sum(std::size_t(F), 0.0);
  const index_t passes = for_each_evaluation_pass(model, data, which, settings, [&](wfc_draw& d) {
    d.corrupt = false;  // every slot from max entropy: a revealed or partially collapsed slot would see its answer
    return [&] {
      const auto nll = model.offset_nll();
      for (index_t o = 0; o < F; ++o)
        if (!std::isnan(nll[std::size_t(o)])) sum[std::size_t(o)] += nll[std::size_t(o)];
    };
  });
  offset_nll_report r;
  double total = 0;
  for (index_t o = 0; o < F; ++o) {
    r.per_offset.push_back(sum[std::size_t(o)] / double(settings.eval_batches * passes));
    total += r.per_offset.back();
  }
  r.first_slot = r.per_offset[0];
  r.mean = total / double(F);
  return r;
}

// The any-order bound on the NLL per token (reveal_schedule.hpp): over the same batches and block
// offsets, each block reveals a uniformly drawn share of its slots and the others are scored,
// weighted by n/(n − revealed), after the model's training step count. An estimate (Monte Carlo
// over the reveals) of the NLL of a block decoded one slot at a time in a uniformly random order,
// averaged over orders (ARDM's bound): beside the chain NLL, which is the front-to-back order alone.
template <class Model>
double any_order_bound(Model& model, const text_dataset& data, split which, const trainer_settings& settings) {
  double total = 0;
  std::uint64_t pass = 0;
  const index_t passes = for_each_evaluation_pass(model, data, which, settings, [&](wfc_draw& d) {
    d.bound = true;
    d.stream = (std::uint64_t(1) << 62) + pass++;  // not a training draw's reveals
    return [&] { total += double(model.last_cross_entropy()); };
  });
  return total / double(settings.eval_batches * passes);
}

}  // namespace wfc

namespace wfc {

struct chain_nll_report {
  double nll = 0;              // nats per predicted token
  double steps_per_token = 0;  // solver steps per prediction
  index_t tokens = 0;
  index_t solves = 0;
  double converged_fraction = 0;  // share of solves whose residual met the solver's test (early exit, or exactly at the limit)
  // Rank correlation of each solve's steps with slot 0's entropy after it (the mean over the
  // sequences solved together; one sequence per solve measures each token's own): do harder
  // tokens take more steps? NaN when either is constant.
  double steps_entropy_spearman = 0;
};

// The exact NLL the collapse loop assigns to real text under first-future collapse with teacher
// forcing (docs/design.md, "Evaluation"): over each evaluation window, the past starts with its
// first token; then the slots converge (warm after the first token, by `start`), slot 0's
// distribution scores the true next token, that token joins the past and the slots shift. The
// same targets as a GPT's validation loss over the same windows. warm_start::none restarts every slot cold after each
// token (the comparison that shows what a warm start does).
template <class Model, class Solver>
chain_nll_report chain_nll(Model& model, const text_dataset& data, split which, const trainer_settings& settings, const Solver& solver,
                           warm_start start = warm_start::state) {
  using T = typename Model::value_type;
  settings.validate();
  if (settings.block > model.config().window)
    throw config_error("chain_nll: windows of " + std::to_string(settings.block) + " tokens exceed the model's window of " +
                       std::to_string(model.config().window));
  const index_t S = settings.batch, V = model.config().vocab;
  std::vector<token_id> x, y, column(static_cast<std::size_t>(S));
  std::vector<double> steps_used, entropy;
  double nll = 0, converged = 0;
  index_t tokens = 0;
  for (std::int64_t k = 0; k < settings.eval_batches; ++k) {
    data.sample(which, S, settings.block, evaluation_batches(settings, which), std::uint64_t(k), x, y);
    model.reset(S);
    for (index_t s = 0; s < S; ++s) column[std::size_t(s)] = x[std::size_t(s * settings.block)];
    model.append_past(column);
    model.reset_future();
    for (index_t t = 0; t < settings.block; ++t) {
      const solve_report report = model.converge(solver);
      steps_used.push_back(double(report.steps));
      converged += solver.converged(report.steps, report.residual) ? 1 : 0;
      const index_t f = model.slots();
      const auto logits = to_host<typename Model::backend_type>(model.future_logits());
      double h = 0;
      for (index_t s = 0; s < S; ++s) {
        const T* row = logits.data() + (s * f) * V;
        const token_id target = y[std::size_t(s * settings.block + t)];
        double top = double(row[0]);
        for (index_t v = 1; v < V; ++v) top = std::max(top, double(row[v]));
        double total = 0, expected = 0;
        for (index_t v = 0; v < V; ++v) {
          const double e = std::exp(double(row[v]) - top);
          total += e;
          expected += e * double(row[v]);
        }
        const double log_z = top + std::log(total);
        nll += log_z - double(row[target]);
        h += (log_z - expected / total) / std::log(2.0);  // H = log Z − E_p[logit], in bits
        column[std::size_t(s)] = target;
      }
      entropy.push_back(h / double(S));
      tokens += S;
      if (t + 1 == settings.block) break;
      if (start == warm_start::distribution) model.reembed_future();
      model.append_past(column);
      if (start == warm_start::none)
        model.reset_future();
      else
        model.shift_future(1);
    }
  }
  chain_nll_report r;
  r.nll = nll / double(tokens);
  r.steps_per_token = std::accumulate(steps_used.begin(), steps_used.end(), 0.0) * double(S) / double(tokens);
  r.tokens = tokens;
  r.solves = index_t(steps_used.size());
  r.converged_fraction = converged / double(steps_used.size());
  r.steps_entropy_spearman = spearman(steps_used, entropy);
  return r;
}

}  // namespace wfc
