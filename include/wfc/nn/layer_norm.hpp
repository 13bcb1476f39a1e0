#pragma once
// LayerNorm over the last dimension with a learned gain and (unless made without one) a learned
// shift; forward saves each row's mean and 1/std in views the caller owns, for the backward pass.
#include "wfc/nn/parameters.hpp"

namespace wfc::nn {

struct layer_norm {
  index_t width = 0;
  double eps = 1e-5;
  bool has_shift = true;
  index_t gain_offset = 0, shift_offset = 0;

  layer_norm() = default;
  layer_norm(parameter_layout& layout, const std::string& name, index_t features, bool shift = true, double epsilon = 1e-5)
      : width(features), eps(epsilon), has_shift(shift) {
    gain_offset = layout.add(name + ".weight", {width}, false);
    if (has_shift) shift_offset = layout.add(name + ".bias", {width}, false);
  }

  template <class T>
  tensor_view<T, 1> gain(tensor_view<T, 1> flat) const { return vector_at(flat, gain_offset, width); }
  template <class T>
  tensor_view<T, 1> shift(tensor_view<T, 1> flat) const { return has_shift ? vector_at(flat, shift_offset, width) : tensor_view<T, 1>{}; }

  // Gain 1 and shift 0, as PyTorch initialises them.
  template <class B, class T>
  void initialise(B be, tensor_view<T, 1> params) const {
    fill(be, gain(params), T(1));
    if (has_shift) fill(be, shift(params), T(0));
  }

  template <class B, class T>
  void forward(B be, tensor_view<T, 2> y, tensor_view<T, 1> mean, tensor_view<T, 1> rstd, in_view<T, 2> x,
               in_view<T, 1> params) const {
    layernorm_forward(be, y, mean, rstd, x, gain(params), shift(params), T(eps));
  }

  template <class B, class T>
  void backward(B be, tensor_view<T, 2> dx, tensor_view<T, 1> grads, in_view<T, 2> dy, in_view<T, 2> x,
                in_view<T, 1> mean, in_view<T, 1> rstd, in_view<T, 1> params) const {
    layernorm_backward(be, dx, gain(grads), shift(grads), dy, x, mean, rstd, gain(params));
  }
};

}  // namespace wfc::nn
