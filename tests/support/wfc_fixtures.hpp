#pragma once
// Tiny WFC models and batches shared by the WFC tests, and the check of the whole unrolled
// objective's gradient against finite differences (reference backend, double).
#include <vector>

#include "support/gradients.hpp"
#include "wfc/model/wfc_model.hpp"

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
// in double on a host backend.
template <class Past, class Mask, class Positions, class Backend = reference>
void check_wfc_gradient(const wfc_config& config, double damping, const std::vector<token_id>& targets,
                        const std::vector<wfc_draw>& draws) {
  wfc_model<double, Backend, Past, Mask, Positions> model(config, rich_objective(), solvers::fixed_steps{2, damping});
  model.initialise(7);
  auto p = model.parameters();
  const auto noise = random_values(p.size(), 3, -0.5, 0.5);
  for (index_t i = 0; i < p.size(); ++i) p(i) += noise[std::size_t(i)];
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

}  // namespace wfc::testing
