#pragma once
// The transformer's feed-forward part: linear (d → hidden), GELU (tanh form), linear (hidden → d).
#include "wfc/nn/linear.hpp"

namespace wfc::nn {

struct mlp {
  linear up, down;

  mlp() = default;
  mlp(parameter_layout& layout, const std::string& name, index_t features, index_t hidden_features, bool bias = true)
      : up(layout, name + ".c_fc", features, hidden_features, bias),
        down(layout, name + ".c_proj", hidden_features, features, bias) {}

  index_t hidden() const { return up.out; }

  // The hidden layer before and after GELU, [N, hidden] each: written by forward, read by backward.
  template <class T>
  struct activations {
    tensor_view<T, 2> pre, post;
  };

  template <class B, class T>
  void forward(B be, tensor_view<T, 2> y, activations<T> a, in_view<T, 2> x, in_view<T, 1> params) const {
    up.forward(be, a.pre, x, params);
    gelu_forward(be, a.post, as_const(a.pre));
    down.forward(be, y, as_const(a.post), params);
  }

  // dx = ∂L/∂x + dx_beta·dx (unless dx is empty: 1 accumulates, 0 overwrites), grads += ∂L/∂params.
  // The two scratch buffers ([N, hidden], overwritten) hold the gradients of the hidden layer after
  // and before GELU.
  template <class B, class T>
  void backward(B be, tensor_view<T, 2> dx, tensor_view<T, 1> grads, activations<T> scratch, in_view<T, 2> dy,
                in_view<T, 2> x, activations<const T> a, in_view<T, 1> params, detail::same_t<T> dx_beta = 1) const {
    down.backward(be, scratch.post, grads, dy, a.post, params, T(0));
    gelu_backward(be, scratch.pre, as_const(scratch.post), a.pre, T(0));  // overwrites pre
    up.backward(be, dx, grads, as_const(scratch.pre), x, params, dx_beta);
  }
};

}  // namespace wfc::nn
