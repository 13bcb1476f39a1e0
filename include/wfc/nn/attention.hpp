#pragma once
// Multi-head self-attention over a batch of sequences: qkv = x·W_qkv + b, per sequence and head
// softmax(q·kᵀ/√dh, mask)·v, then an output projection. Heads are strided views into the qkv and
// output buffers (no copies), so each sequence's heads are one batched GEMM.
#include <cmath>

#include "wfc/nn/linear.hpp"

namespace wfc::nn {

struct attention {
  index_t width = 0, heads = 0;
  linear qkv, proj;

  attention() = default;
  attention(parameter_layout& layout, const std::string& name, index_t features, index_t head_count)
      : width(features), heads(head_count) {
    if (heads <= 0 || width % heads != 0)
      throw config_error(name + ": " + std::to_string(heads) + " heads do not divide the width " + std::to_string(width));
    qkv = linear(layout, name + ".c_attn", width, 3 * width);
    proj = linear(layout, name + ".c_proj", width, width);
  }

  index_t head_width() const { return width / heads; }

  // Written by forward, read by backward: qkv [N, 3·width], the attention probabilities
  // [sequences·heads·T, T] (sequence-major), and the heads' concatenated outputs y [N, width].
  template <class T>
  struct activations {
    tensor_view<T, 2> qkv, probs, y;
  };
  // Overwritten by backward: dqkv [N, 3·width], dy [N, width], dprobs and dscores [heads·T, T].
  template <class T>
  struct scratch {
    tensor_view<T, 2> dqkv, dy, dprobs, dscores;
  };

  // out [N, width] for x [N, width] holding `sequences` sequences of T = N / sequences rows each;
  // keep [T, T]: which keys each query may attend to (causal, bidirectional, …).
  template <class B, class T>
  void forward(B be, tensor_view<T, 2> out, activations<T> a, in_view<T, 2> x, tensor_view<const bool, 2> keep,
               index_t sequences, in_view<T, 1> params) const {
    const index_t steps = check(x, keep, sequences, a.probs);
    qkv.forward(be, a.qkv, x, params);
    for (index_t s = 0; s < sequences; ++s) {
      const auto probs = probs_of(a.probs, s, steps);
      batched_gemm(be, probs, head_view(as_const(a.qkv), s, steps, 0), transpose(head_view(as_const(a.qkv), s, steps, 1)),
                   T(1 / std::sqrt(double(head_width()))));
      softmax_forward(be, probs, as_const(probs), keep);
      batched_gemm(be, head_view(a.y, s, steps, 0), as_const(probs), head_view(as_const(a.qkv), s, steps, 2));
    }
    proj.forward(be, out, as_const(a.y), params);
  }

  // dx += ∂L/∂x (unless dx is empty), grads += ∂L/∂params.
  template <class B, class T>
  void backward(B be, tensor_view<T, 2> dx, tensor_view<T, 1> grads, scratch<T> g, in_view<T, 2> dout, in_view<T, 2> x,
                activations<const T> a, index_t sequences, in_view<T, 1> params) const {
    const index_t steps = x.extent(0) / sequences;
    const T scale = T(1 / std::sqrt(double(head_width())));
    fill(be, g.dy, T(0));
    fill(be, g.dqkv, T(0));
    proj.backward(be, g.dy, grads, dout, a.y, params);
    const auto dprobs = probs_of(g.dprobs, 0, steps), dscores = probs_of(g.dscores, 0, steps);
    for (index_t s = 0; s < sequences; ++s) {
      const auto probs = probs_of(a.probs, s, steps);
      const auto q = head_view(a.qkv, s, steps, 0), k = head_view(a.qkv, s, steps, 1), v = head_view(a.qkv, s, steps, 2);
      const auto dy = head_view(as_const(g.dy), s, steps, 0);
      batched_gemm(be, dprobs, dy, transpose(v));                                // dP = dY·Vᵀ
      batched_gemm(be, head_view(g.dqkv, s, steps, 2), transpose(probs), dy, T(1), T(1));  // dV += Pᵀ·dY
      fill(be, reshape(dscores, shape<2>{{heads * steps, steps}}), T(0));
      softmax_backward(be, dscores, as_const(dprobs), probs);                      // dS
      batched_gemm(be, head_view(g.dqkv, s, steps, 0), as_const(dscores), k, scale, T(1));             // dQ += s·dS·K
      batched_gemm(be, head_view(g.dqkv, s, steps, 1), transpose(as_const(dscores)), q, scale, T(1));  // dK += s·dSᵀ·Q
    }
    qkv.backward(be, dx, grads, as_const(g.dqkv), x, params);
  }

 private:
  template <class T>
  index_t check(const tensor_view<T, 2>& x, const tensor_view<const bool, 2>& keep, index_t sequences,
                const tensor_view<std::remove_const_t<T>, 2>& probs) const {
    if (sequences <= 0 || x.extent(0) % sequences != 0)
      throw shape_error("attention: " + std::to_string(x.extent(0)) + " rows are not " + std::to_string(sequences) +
                        " sequences of equal length");
    const index_t steps = x.extent(0) / sequences;
    detail::require_extent("attention", "x", x, 1, width, "the model width");
    detail::require(keep.extent(0) == steps && keep.extent(1) == steps, "attention",
                    "the mask has shape " + to_string(keep.extents()) + " but sequences have " + std::to_string(steps) + " steps");
    detail::require(probs.extent(0) == sequences * heads * steps && probs.extent(1) == steps, "attention",
                    "the probabilities buffer has shape " + to_string(probs.extents()) + ", need [" +
                        std::to_string(sequences * heads * steps) + ", " + std::to_string(steps) + "]");
    return steps;
  }

  // Part `which` (0 = q, 1 = k, 2 = v; for [N, width] buffers only 0) of sequence s, as [heads, T, dh].
  template <class T>
  tensor_view<T, 3> head_view(tensor_view<T, 2> buffer, index_t s, index_t steps, index_t which) const {
    const index_t dh = head_width();
    return {row_data(buffer, s * steps) + which * width, shape<3>{{heads, steps, dh}},
            shape<3>{{dh, buffer.stride(0), buffer.stride(1)}}};
  }
  // Sequence s's probabilities as [heads, T, T].
  template <class T>
  tensor_view<T, 3> probs_of(tensor_view<T, 2> probs, index_t s, index_t steps) const {
    return reshape(probs.slice(0, s * heads * steps, (s + 1) * heads * steps), shape<3>{{heads, steps, steps}});
  }
};

}  // namespace wfc::nn
