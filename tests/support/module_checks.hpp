#pragma once
// Checks for nn modules. A module test supplies run(backend, T{}, params, x, dy), which builds the
// module's tensors on that backend from host values, runs forward and backward (dy as the upstream
// gradient) and returns y, dx and the parameter gradients. From it:
//  - check_module_gradients: the reference backend's backward against finite differences of its
//    forward, in double, for every parameter and input element;
//  - check_module_backend: another backend and type against the double reference.
#include "support/gradients.hpp"

namespace wfc::testing {

struct module_result {
  std::vector<double> y, dx, grads;
};

template <class Run>
void check_module_gradients(Run run, std::vector<double> params, std::vector<double> x, const std::vector<double>& dy) {
  const module_result r = run(reference{}, 0.0, params, x, dy);
  auto loss = [&] { return weighted_sum(dy, run(reference{}, 0.0, params, x, dy).y); };
  INFO("parameter gradients");
  require_gradient(r.grads, numerical_gradient(params.data(), index_t(params.size()), loss));
  if (!r.dx.empty()) {
    INFO("input gradients");
    require_gradient(r.dx, numerical_gradient(x.data(), index_t(x.size()), loss));
  }
}

template <class B, class T, class Run>
void check_module_backend(Run run, const std::vector<double>& params, const std::vector<double>& x,
                          const std::vector<double>& dy, double scale = 16) {
  const auto p = rounded<T>(params), in = rounded<T>(x), d = rounded<T>(dy);
  const module_result want = run(reference{}, 0.0, p, in, d), got = run(B{}, T(0), p, in, d);
  INFO("outputs");
  require_close<T>(got.y, want.y, scale);
  INFO("input gradients");
  require_close<T>(got.dx, want.dx, scale);
  INFO("parameter gradients");
  require_close<T>(got.grads, want.grads, scale);
}

}  // namespace wfc::testing
