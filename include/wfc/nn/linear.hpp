#pragma once
// Linear layer y = x·W + b. W is stored [in, out], so the forward pass is one GEMM without a
// transpose (nanoGPT's x @ weight.T with weight stored transposed).
#include "wfc/nn/parameters.hpp"

namespace wfc::nn {

struct linear {
  index_t in = 0, out = 0;
  bool has_bias = true;
  index_t weight_offset = 0, bias_offset = 0;

  linear() = default;
  linear(parameter_layout& layout, const std::string& name, index_t in_features, index_t out_features, bool bias = true)
      : in(in_features), out(out_features), has_bias(bias) {
    weight_offset = layout.add(name + ".weight", {in, out}, true);
    if (has_bias) bias_offset = layout.add(name + ".bias", {out}, false);
  }

  template <class T>
  tensor_view<T, 2> weight(tensor_view<T, 1> flat) const { return matrix_at(flat, weight_offset, in, out); }
  template <class T>
  tensor_view<T, 1> bias(tensor_view<T, 1> flat) const { return vector_at(flat, bias_offset, out); }

  // y[N, out] = x[N, in]·W + b
  template <class B, class T>
  void forward(B be, tensor_view<T, 2> y, in_view<T, 2> x, in_view<T, 1> params) const {
    gemm(be, y, x, weight(params));
    if (has_bias) add_bias(be, y, bias(params));
  }

  // dW += xᵀ·dy, db += Σ_rows dy, and dx = dy·Wᵀ + dx_beta·dx unless dx is empty (an input that
  // needs none): dx_beta 1 accumulates, 0 overwrites (dx's old values are then not read).
  template <class B, class T>
  void backward(B be, tensor_view<T, 2> dx, tensor_view<T, 1> grads, in_view<T, 2> dy, in_view<T, 2> x,
                in_view<T, 1> params, detail::same_t<T> dx_beta = 1) const {
    gemm(be, weight(grads), transpose(x), dy, T(1), T(1));
    if (has_bias) sum_rows(be, bias(grads), dy);
    if (!dx.empty()) gemm(be, dx, dy, transpose(weight(params)), T(1), dx_beta);
  }
};

}  // namespace wfc::nn
