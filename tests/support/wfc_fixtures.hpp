#pragma once
// Tiny WFC models and batches shared by the WFC tests, and the check of the whole unrolled
// objective's gradient against finite differences (reference backend, double).
#include <vector>

#include "support/gradients.hpp"
#include "wfc/data/text_dataset.hpp"
#include "wfc/model/wfc_model.hpp"
#include "wfc/train/trainer.hpp"

namespace wfc::testing {

inline wfc_config tiny_wfc(index_t future, index_t window = 6) {
  wfc_config c;
  c.vocab = 5;
  c.width = 4;
  c.heads = 2;
  c.layers = 2;
  c.future = future;
  c.window = window;
  return c;
}

// Every corruption and penalty on, so a gradient check covers every path.
inline wfc_objective rich_objective() {
  wfc_objective o;
  o.steps = 2;
  o.partial = 0.5;
  o.reveal = 0.3;
  o.deep_supervision = 0.5;
  o.velocity_penalty = 0.3;
  return o;
}

// Two sequences of 5 tokens.
inline const std::vector<token_id> wfc_ids{0, 3, 1, 4, 2, 2, 0, 1, 3, 4};

// The gradient of the objective under each draw against finite differences, at perturbed weights,
// in double on a host backend. What backward does not go through (truncated steps, rolling
// training's first solve) is held at the perturbed weights (wfc_model::hold_untracked): the
// function a stop-gradient differentiates.
template <class Past, class Mask, class Positions, class Backend = reference>
void check_wfc_gradient(const wfc_config& config, double damping, const std::vector<token_id>& targets, const std::vector<wfc_draw>& draws,
                        const wfc_objective& objective = rich_objective()) {
  wfc_model<double, Backend, Past, Mask, Positions> model(config, objective, solvers::fixed_steps{objective.steps, damping});
  model.initialise(7);
  auto p = model.parameters();
  const auto noise = random_values(p.size(), 3, -0.5, 0.5);
  for (index_t i = 0; i < p.size(); ++i) p(i) += noise[std::size_t(i)];
  model.hold_untracked(true);
  for (const wfc_draw& d : draws) {
    CAPTURE(d.offset, d.start, d.stream);
    const double loss = model.forward(wfc_ids, targets, 2, d);
    REQUIRE(std::isfinite(loss));
    model.zero_grad();
    model.backward();
    std::vector<double> analytic(model.gradients().data(), model.gradients().data() + p.size());
    auto f = [&] { return model.forward(wfc_ids, targets, 2, d); };
    require_gradient(analytic, numerical_gradient(p.data(), p.size(), f));
  }
}

// Backend B's loss, gradients and per-offset NLL for the batch (wfc_ids, targets) under draw d,
// against the reference's in double, for a model with F = 2.
template <class T, class B, class Past, class Mask, class Positions>
void check_wfc_backend(const std::vector<token_id>& targets, const wfc_draw& d) {
  wfc_model<double, reference, Past, Mask, Positions> want(tiny_wfc(2), rich_objective());
  wfc_model<T, B, Past, Mask, Positions> got(tiny_wfc(2), rich_objective());
  want.initialise(11);
  got.initialise(11);
  const double lw = want.forward(wfc_ids, targets, 2, d);
  const double lg = double(got.forward(wfc_ids, targets, 2, d));
  require_close_scalar(lg, lw, 1e-5, 1e-6);
  want.zero_grad();
  got.zero_grad();
  want.backward();
  got.backward();
  require_close<T>(values_of_view<B>(got.gradients()), values_of_view<reference>(want.gradients()), 256);
  const auto ow = want.offset_nll(), og = got.offset_nll();
  REQUIRE(ow.size() == 2);
  for (std::size_t i = 0; i < ow.size(); ++i) require_close_scalar(og[i], ow[i], 1e-5, 1e-6);
}

// 200 tokens of a 6-token vocabulary with a learnable pattern, and evaluation settings of
// `batches` batches of `sequences` windows of 6.
inline text_dataset tiny_text(int stride, int period) {
  std::vector<token_id> text;
  for (int i = 0; i < 200; ++i) text.push_back(token_id((i * stride + i / period) % 6));
  return text_dataset(text);
}
inline trainer_settings tiny_evaluation(index_t sequences, std::int64_t batches = 2) {
  trainer_settings s;
  s.batch = sequences;
  s.block = 6;
  s.eval_batches = batches;
  return s;
}

}  // namespace wfc::testing
