// Solvers and the four spaces at inference: Anderson acceleration on a linear fixed point (every
// backend), the per-slot and segment residuals against a hand computation, Anderson inside the
// model, the solver loop's reads back to the host, and disembedding (probabilities, entropy in bits) and embedding of any probability vector.
#include <cmath>

#include "support/counting_backend.hpp"
#include "support/wfc_fixtures.hpp"
#include "wfc/model/wfc_model.hpp"
#include "wfc/solver/anderson.hpp"

using namespace wfc;
using namespace wfc::testing;

namespace {
// x = A·x + b with A = Q·diag(λ)·Qᵀ, λ spread over [0, 0.98]: a contraction whose slowest mode
// makes the plain iteration crawl (0.98 per step), the case acceleration is for.
constexpr index_t lin_rows = 3, lin_width = 8;
std::vector<double> contraction() {
  auto q = random_values(lin_width * lin_width, 41, -1, 1);  // rows orthonormalised (Gram–Schmidt)
  auto at = [&](index_t r, index_t c) -> double& { return q[std::size_t(r * lin_width + c)]; };
  for (index_t r = 0; r < lin_width; ++r) {
    for (index_t p = 0; p < r; ++p) {
      double d = 0;
      for (index_t c = 0; c < lin_width; ++c) d += at(r, c) * at(p, c);
      for (index_t c = 0; c < lin_width; ++c) at(r, c) -= d * at(p, c);
    }
    double n = 0;
    for (index_t c = 0; c < lin_width; ++c) n += at(r, c) * at(r, c);
    for (index_t c = 0; c < lin_width; ++c) at(r, c) /= std::sqrt(n);
  }
  std::vector<double> a(std::size_t(lin_width * lin_width), 0.0);
  for (index_t i = 0; i < lin_width; ++i)
    for (index_t j = 0; j < lin_width; ++j)
      for (index_t k = 0; k < lin_width; ++k)
        a[std::size_t(i * lin_width + j)] += at(k, i) * (0.98 * double(k) / double(lin_width - 1)) * at(k, j);
  return a;
}

// Steps until ‖v(x)‖ ≤ tol (at most `limit`); x comes back in `solution`.
template <class T, class B>
index_t solve_linear(index_t memory, double tol, index_t limit, std::vector<double>& solution) {
  const B be{};
  const auto a = make_tensor<T, B>(shape<2>{{lin_width, lin_width}}, contraction());
  const auto b = make_tensor<T, B>(shape<2>{{lin_rows, lin_width}}, random_values(lin_rows * lin_width, 42, -1, 1));
  auto x = make_tensor<T, B>(shape<2>{{lin_rows, lin_width}}, std::vector<double>(std::size_t(lin_rows * lin_width), 0.0));
  auto v = make_tensor<T, B>(shape<2>{{lin_rows, lin_width}}, std::vector<double>(std::size_t(lin_rows * lin_width), 0.0));
  anderson_mixing<T, B> mix(memory, lin_rows, lin_width);
  mix.restart();
  index_t k = 0;
  for (; k < limit; ++k) {
    copy(be, v.view(), b.cview());  // v = x·Aᵀ + b − x
    gemm(be, v.view(), x.cview(), transpose(a.cview()), T(1), T(1));
    axpy(be, v.view(), T(-1), x.cview());
    if (double(norm(be, v.cview())) <= tol) break;
    if (memory > 0) mix.step(be, v.view(), x.cview(), T(1));
    axpy(be, x.view(), T(1), v.cview());
  }
  solution = values_of(x);
  return k;
}

wfc_config tiny(index_t future) { return tiny_wfc(future, 8); }

double row_norm(const std::vector<double>& x, index_t row, index_t width) {
  double s = 0;
  for (index_t c = 0; c < width; ++c) s += x[std::size_t(row * width + c)] * x[std::size_t(row * width + c)];
  return std::sqrt(s);
}
}  // namespace

TEMPLATE_LIST_TEST_CASE("anderson acceleration reaches the plain iteration's fixed point in far fewer steps", "[solver]",
                        backend_configs) {
  using B = typename TestType::backend;
  using T = typename TestType::value_type;
  const double tol = std::is_same_v<T, float> ? 1e-5 : 1e-10;
  std::vector<double> plain, accelerated;
  const index_t plain_steps = solve_linear<T, B>(0, tol, 3000, plain);
  const index_t anderson_steps = solve_linear<T, B>(4, tol, 3000, accelerated);
  CAPTURE(plain_steps, anderson_steps);
  REQUIRE(plain_steps < 3000);  // the plain iteration converged too
  REQUIRE(anderson_steps * 3 < plain_steps);
  // Both within ‖v‖/(1 − 0.98) of the fixed point.
  REQUIRE(accelerated.size() == plain.size());
  for (std::size_t i = 0; i < plain.size(); ++i) require_close_scalar(accelerated[i], plain[i], 0, 100 * tol);
}

TEST_CASE("wfc solvers: per-slot and segment residuals are the relative updates of the slots", "[model][wfc][solver]") {
  wfc_model<double, reference> model(tiny(3));
  model.initialise(6);
  const index_t d = 4;
  for (residual_norm norm : {residual_norm::segment, residual_norm::per_slot}) {
    model.reset(2);
    model.append_past({1, 4, 0, 2, 2, 3});
    model.reset_future();
    const auto x0 = values_of_view<reference>(model.future_state());
    const auto report = model.converge(solvers::until_converged{0.0, 1, 0.5, norm});
    const auto x1 = values_of_view<reference>(model.future_state());
    std::vector<double> step(x1.size());
    for (std::size_t i = 0; i < x1.size(); ++i) step[i] = x1[i] - x0[i];
    REQUIRE(report.steps == 1);
    if (norm == residual_norm::segment) {
      double change = 0, size = 0;
      for (std::size_t i = 0; i < x1.size(); ++i) {
        change += step[i] * step[i];
        size += x0[i] * x0[i];
      }
      require_close_scalar(report.residual, std::sqrt(change / size), 1e-12, 1e-14);
      REQUIRE(report.slot_residuals.empty());
    } else {
      REQUIRE(report.slot_residuals.size() == 6);  // 2 sequences × 3 slots
      double worst = 0;
      for (index_t r = 0; r < 6; ++r) {
        const double expected = row_norm(step, r, d) / row_norm(x0, r, d);
        require_close_scalar(report.slot_residuals[std::size_t(r)], expected, 1e-12, 1e-14);
        worst = std::max(worst, expected);
      }
      require_close_scalar(report.residual, worst, 1e-12, 1e-14);
    }
  }
}

TEST_CASE("wfc solvers: Anderson's first step is the plain step, and memory 0 is until_converged", "[model][wfc][solver]") {
  wfc_model<double, reference, past::pinned, masks::causal, rotary_positions> model(tiny(3));
  model.initialise(8);
  auto run = [&](auto solver) {
    model.reset(1);
    model.append_past({3, 1, 4});
    model.reset_future();
    const auto report = model.converge(solver);
    return std::make_pair(report, values_of_view<reference>(model.future_state()));
  };
  const auto plain1 = run(solvers::until_converged{0.0, 1, 0.7});
  const auto anderson1 = run(solvers::anderson{0.0, 1, 0.7, 3});
  REQUIRE(anderson1.second == plain1.second);
  const auto plain4 = run(solvers::until_converged{0.0, 4, 0.7});
  const auto memoryless = run(solvers::anderson{0.0, 4, 0.7, 0});
  REQUIRE(memoryless.second == plain4.second);
  REQUIRE(memoryless.first.residual == plain4.first.residual);
  const auto mixed = run(solvers::anderson{0.0, 4, 0.7, 2});
  REQUIRE(mixed.first.steps == 4);
  REQUIRE(std::isfinite(mixed.first.residual));
  REQUIRE(mixed.second != plain4.second);  // the later steps combine iterates
  REQUIRE_THROWS_AS(run(solvers::anderson{0.0, 4, 0.7, -1}), config_error);
  REQUIRE_THROWS_AS(run(solvers::until_converged{0.0, 4, 0.0}), config_error);
}

// On a GPU every read back is a synchronisation: a solve may read one set of residual norms per
// step, and Anderson its Gram row besides, whatever the sequences, slots, pins and memory.
TEST_CASE("wfc solvers: each step reads the device back once (twice with Anderson)", "[model][wfc][solver]") {
  const auto reads_per_step = [](auto model, const auto& solver, bool pin) {
    model.initialise(3);
    model.reset(2);
    model.append_past({1, 4, 0, 2, 2, 3});
    model.reset_future();
    if (pin) model.embed_slot(1, std::vector<double>{0, 0, 1, 0, 0, 0, 1, 0, 0, 0}, true);
    host_reads() = 0;
    const auto report = model.converge(solver);
    REQUIRE(report.steps == 5);
    return double(host_reads()) / double(report.steps);
  };
  using pinned_model = wfc_model<double, counting_reference>;
  using drifting_model = wfc_model<double, counting_reference, past::drifting, masks::bidirectional, rotary_positions>;
  for (bool pin : {false, true}) {
    CAPTURE(pin);
    for (residual_norm norm : {residual_norm::segment, residual_norm::per_slot}) {
      CAPTURE(int(norm));
      const solvers::until_converged plain{0.0, 5, 0.5, norm};
      const solvers::anderson mixed{0.0, 5, 0.5, 3, norm};
      REQUIRE(reads_per_step(pinned_model(tiny(3)), plain, pin) == 1);
      REQUIRE(reads_per_step(pinned_model(tiny(3)), mixed, pin) == 2);
      REQUIRE(reads_per_step(drifting_model(tiny(3)), plain, pin) == 1);
      REQUIRE(reads_per_step(drifting_model(tiny(3)), mixed, pin) == 2);
    }
  }
}

TEMPLATE_LIST_TEST_CASE("wfc disembedding: probabilities are the softmax of the logits, entropy is in bits", "[model][wfc]",
                        backend_configs) {
  using B = typename TestType::backend;
  using T = typename TestType::value_type;
  wfc_model<T, B> model(tiny(3));
  model.initialise(5);
  model.reset(2);
  model.append_past({0, 1, 2, 3});
  model.reset_future();
  model.converge(solvers::fixed_steps{2, 1.0});
  const index_t V = 5, rows = 6;
  const auto logits = values_of_view<B>(model.future_logits());
  const auto probs = values_of_view<B>(model.future_probabilities());
  const auto bits = model.future_entropy();
  REQUIRE(probs.size() == std::size_t(rows * V));
  REQUIRE(bits.size() == std::size_t(rows));
  for (index_t r = 0; r < rows; ++r) {
    double top = -1e300, total = 0, h = 0;
    for (index_t v = 0; v < V; ++v) top = std::max(top, logits[std::size_t(r * V + v)]);
    for (index_t v = 0; v < V; ++v) total += std::exp(logits[std::size_t(r * V + v)] - top);
    for (index_t v = 0; v < V; ++v) {
      const double p = std::exp(logits[std::size_t(r * V + v)] - top) / total;
      require_close_scalar(probs[std::size_t(r * V + v)], p, 1e-5, 1e-7);
      h -= p * std::log2(p);
    }
    require_close_scalar(bits[std::size_t(r)], h, 1e-5, 1e-6);
    REQUIRE(bits[std::size_t(r)] <= std::log2(double(V)) + 1e-6);
  }
}

TEST_CASE("wfc embedding: any probability vector embeds, and partial collapse is the mixture of the two ends", "[model][wfc]") {
  wfc_model<double, reference> model(tiny(3));
  model.initialise(2);
  const index_t V = 5, d = 4, f = 3;
  model.reset(2);
  model.append_past({0, 1, 2, 3});
  model.reset_future();
  const auto fresh = values_of_view<reference>(model.future_state());
  auto slot_row = [&](index_t s, index_t i) {
    const auto x = values_of_view<reference>(model.future_state());
    return std::vector<double>(x.begin() + (s * f + i) * d, x.begin() + (s * f + i + 1) * d);
  };
  std::vector<double> uniform(std::size_t(2 * V), 1.0 / double(V)), onehot(std::size_t(2 * V), 0.0), mixed(std::size_t(2 * V));
  onehot[2] = onehot[std::size_t(V + 4)] = 1;  // token 2 in sequence 0, token 4 in sequence 1
  for (std::size_t i = 0; i < mixed.size(); ++i) mixed[i] = 0.3 * onehot[i] + 0.7 * uniform[i];
  model.embed_slot(1, uniform);  // max entropy: what reset_future put there
  REQUIRE(values_of_view<reference>(model.future_state()) == fresh);
  model.embed_slot(1, onehot);
  const auto full0 = slot_row(0, 1), full1 = slot_row(1, 1);
  REQUIRE(full0 != full1);
  model.embed_slot(1, mixed);
  for (index_t s = 0; s < 2; ++s) {
    const auto full = s == 0 ? full0 : full1;
    const auto partial = slot_row(s, 1);
    for (index_t c = 0; c < d; ++c) {
      const double cold = fresh[std::size_t((s * f + 1) * d + c)];
      require_close_scalar(partial[std::size_t(c)], 0.3 * full[std::size_t(c)] + 0.7 * cold, 1e-12, 1e-14);
    }
  }
  REQUIRE(slot_row(0, 0) == std::vector<double>(fresh.begin(), fresh.begin() + d));  // other slots untouched
  REQUIRE_THROWS_AS(model.embed_slot(3, uniform), config_error);
  REQUIRE_THROWS_AS(model.embed_slot(0, std::vector<double>(std::size_t(V), 0.2)), shape_error);
  auto negative = onehot;
  negative[0] = -0.5;
  negative[1] = 0.5;
  REQUIRE_THROWS_AS(model.embed_slot(0, negative), value_error);
  REQUIRE_THROWS_AS(model.embed_slot(0, std::vector<double>(std::size_t(2 * V), 0.5)), value_error);  // sums to 2.5
}

TEST_CASE("wfc warm start by distribution: every slot re-embedded from its own probabilities", "[model][wfc]") {
  wfc_model<double, reference> model(tiny(3));
  model.initialise(12);
  const index_t V = 5, f = 3;
  model.reset(2);
  model.append_past({0, 1, 2, 3, 4, 0});
  model.reset_future();
  model.converge(solvers::fixed_steps{2, 1.0});
  const auto probs = values_of_view<reference>(model.future_probabilities());
  const auto converged = values_of_view<reference>(model.future_state());
  model.reembed_future();
  const auto reembedded = values_of_view<reference>(model.future_state());
  REQUIRE(reembedded != converged);
  for (index_t i = 0; i < f; ++i) {  // the same as embedding each slot's distribution by hand
    std::vector<double> rows;
    for (index_t s = 0; s < 2; ++s) rows.insert(rows.end(), probs.begin() + (s * f + i) * V, probs.begin() + (s * f + i + 1) * V);
    model.embed_slot(i, rows);
  }
  require_close<double>(values_of_view<reference>(model.future_state()), reembedded, 4);
}

TEMPLATE_LIST_TEST_CASE("wfc solvers: every solver gives the reference's slots and residuals on every backend", "[model][wfc][solver]",
                        backend_configs) {
  using B = typename TestType::backend;
  using T = typename TestType::value_type;
  auto check = [](auto solver) {
    wfc_model<double, reference> want(tiny(3));
    wfc_model<T, B> got(tiny(3));
    want.initialise(13);
    got.initialise(13);
    auto run = [&](auto& m) {
      m.reset(2);
      m.append_past({2, 0, 1, 4});
      m.reset_future();
      return m.converge(solver);
    };
    const solve_report reports[2] = {run(want), run(got)};
    REQUIRE(reports[1].steps == reports[0].steps);
    // The residual is a ratio of differences: float keeps about three digits of it after three steps.
    require_close_scalar(reports[1].residual, reports[0].residual, std::is_same_v<T, float> ? 1e-2 : 1e-9, 1e-6);
    REQUIRE(reports[1].slot_residuals.size() == reports[0].slot_residuals.size());
    require_close<T>(values_of_view<B>(got.future_state()), values_of_view<reference>(want.future_state()), 256);
  };
  check(solvers::until_converged{0.0, 3, 0.8});
  check(solvers::until_converged{0.0, 3, 0.8, residual_norm::per_slot});
  check(solvers::anderson{0.0, 3, 0.8, 2});
}
