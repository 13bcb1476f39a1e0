#pragma once
// Multi-head attention over a batch of sequences: qkv = x·W_qkv + b, per sequence and head
// softmax(q·kᵀ/√dh, mask)·v, then an output projection. Heads are strided views into the qkv and
// output buffers (no copies), so each sequence's heads are one batched GEMM.
//
// Queries may also attend to a separate past segment of keys/values (a KV cache when generating,
// the clean stream when training WFC): scores are [q·K_pastᵀ | q·K_selfᵀ], one softmax over both,
// and the output sums the two value segments. With rotary positions, q and k are rotated in place
// after the projection (the past segment comes rotated already).
#include <cmath>

#include "wfc/kernels/checks.hpp"
#include "wfc/nn/linear.hpp"

namespace wfc::nn {

// Everything a call needs besides its own rows and parameters.
template <class T>
struct attention_context {
  tensor_view<const bool, 2> keep;  // [T, P + T]: columns 0…P−1 are the past segment's keys, then the call's own
  index_t sequences = 1;            // x holds `sequences` sequences of T rows each
  tensor_view<const token_id, 1> positions;  // [N] rotary positions of x's rows; empty: no rotation
  tensor_view<const T, 3> past_keys, past_values;  // [sequences, P, width]; empty: P = 0
};

// Where backward accumulates the past segment's gradients; empty views: not needed.
template <class T>
struct past_gradients {
  tensor_view<T, 3> keys, values;
};

// Gradients that later queries sent back to a call's own keys and values ([N, width] each, rotated
// like the keys they belong to): a stream whose keys/values serve as another stream's past segment
// (WFC's clean stream) gets them from that stream's backward. Empty views: none.
template <class T>
struct own_kv_gradients {
  tensor_view<const T, 2> keys, values;
};

struct attention {
  index_t width = 0, heads = 0;
  double rotary_base = 10000;
  linear qkv, proj;

  attention() = default;
  attention(parameter_layout& layout, const std::string& name, index_t features, index_t head_count, bool bias = true)
      : width(features), heads(head_count) {
    if (heads <= 0 || width % heads != 0)
      throw config_error(name + ": " + std::to_string(heads) + " heads do not divide the width " + std::to_string(width));
    qkv = linear(layout, name + ".c_attn", width, 3 * width, bias);
    proj = linear(layout, name + ".c_proj", width, width, bias);
  }

  index_t head_width() const { return width / heads; }

  // Written by forward, read by backward: qkv [N, 3·width] (q and k rotated; a cache copies its
  // k and v from here), the attention probabilities [sequences·heads·T, P + T] (sequence-major),
  // and the heads' concatenated outputs y [N, width].
  template <class T>
  struct activations {
    tensor_view<T, 2> qkv, probs, y;
  };
  // Overwritten by backward: dqkv [N, 3·width], dy [N, width], dprobs and dscores [sequences·heads·T, P + T].
  template <class T>
  struct scratch {
    tensor_view<T, 2> dqkv, dy, dprobs, dscores;
  };

  // out [N, width] for x [N, width]. Every (sequence, head) pair at once: a handful of kernel calls
  // whatever the batch.
  template <class B, class T>
  void forward(B be, tensor_view<T, 2> out, activations<T> a, in_view<T, 2> x, const attention_context<T>& c,
               in_view<T, 1> params) const {
    const auto [steps, past] = check(x, c, a.probs);
    const index_t S = c.sequences;
    const T scale = T(1 / std::sqrt(double(head_width())));
    qkv.forward(be, a.qkv, x, params);
    if (!c.positions.empty()) rotate(be, a.qkv, c.positions, false);
    const auto qkv_in = as_const(a.qkv);
    const auto probs = pairs_of(a.probs, S, steps, past);  // one declaration each: their types differ
    const auto q = heads_of(qkv_in, S, steps, 0);
    const auto scores_self = probs.slice(3, past, past + steps), scores_past = probs.slice(3, 0, past);
    batched_gemm(be, scores_self, q, transpose(heads_of(qkv_in, S, steps, 1)), scale);
    if (past > 0) batched_gemm(be, scores_past, q, transpose(past_heads(c.past_keys)), scale);
    softmax_forward(be, batch_of(probs), as_const(batch_of(probs)), c.keep);
    const auto y = heads_of(a.y, S, steps, 0);
    batched_gemm(be, y, as_const(scores_self), heads_of(qkv_in, S, steps, 2));
    if (past > 0) batched_gemm(be, y, as_const(scores_past), past_heads(c.past_values), T(1), T(1));
    proj.forward(be, out, as_const(a.y), params);
  }

  // dx = ∂L/∂x + dx_beta·dx (unless dx is empty: 1 accumulates, 0 overwrites), grads += ∂L/∂params,
  // and the past segment's gradients accumulate into dpast where given; kv adds later consumers'
  // gradients of this call's own keys and values.
  template <class B, class T>
  void backward(B be, tensor_view<T, 2> dx, tensor_view<T, 1> grads, scratch<T> g, in_view<T, 2> dout, in_view<T, 2> x,
                activations<const T> a, const attention_context<T>& c, in_view<T, 1> params,
                past_gradients<T> dpast = {}, detail::same_t<T> dx_beta = 1, own_kv_gradients<T> kv = {}) const {
    const extents e = check(x, c, a.probs);
    const index_t steps = e.steps, past = e.past;  // not a structured binding: the lambda below captures them (C++17)
    const index_t S = c.sequences;
    for (const auto* buffer : {&g.dprobs, &g.dscores})
      detail::require(buffer->extent(0) == S * heads * steps && buffer->extent(1) == past + steps, "attention",
                      [&] { return "the backward scratch dprobs/dscores has shape " + to_string(buffer->extents()) + ", need [" +
                          std::to_string(S * heads * steps) + ", " + std::to_string(past + steps) + "]"; });
    const T scale = T(1 / std::sqrt(double(head_width())));
    proj.backward(be, g.dy, grads, dout, a.y, params, T(0));  // overwrites dy
    const auto probs = pairs_of(a.probs, S, steps, past);  // const T: its own declaration (the types differ)
    const auto dprobs = pairs_of(g.dprobs, S, steps, past), dscores = pairs_of(g.dscores, S, steps, past);
    const auto q = heads_of(a.qkv, S, steps, 0), k = heads_of(a.qkv, S, steps, 1), v = heads_of(a.qkv, S, steps, 2);
    const auto dy = heads_of(as_const(g.dy), S, steps, 0);
    const auto dq = heads_of(g.dqkv, S, steps, 0), dk = heads_of(g.dqkv, S, steps, 1), dv = heads_of(g.dqkv, S, steps, 2);
    // The self segment's products write each block of dq, dk, dv once (beta = 0, no fill); the
    // past segment's add to them.
    batched_gemm(be, dprobs.slice(3, past, past + steps), dy, transpose(v));  // dP = dY·Vᵀ
    batched_gemm(be, dv, transpose(probs.slice(3, past, past + steps)), dy);  // dV = Pᵀ·dY
    if (past > 0) {
      batched_gemm(be, dprobs.slice(3, 0, past), dy, transpose(past_heads(c.past_values)));
      if (!dpast.values.empty())
        batched_gemm(be, past_heads(dpast.values), transpose(probs.slice(3, 0, past)), dy, T(1), T(1));
    }
    softmax_backward(be, batch_of(dscores), as_const(batch_of(dprobs)), batch_of(probs), T(0));  // dS (overwritten)
    const auto dscores_self = as_const(dscores.slice(3, past, past + steps)), dscores_past = as_const(dscores.slice(3, 0, past));
    batched_gemm(be, dq, dscores_self, k, scale);             // dQ = s·dS·K
    batched_gemm(be, dk, transpose(dscores_self), q, scale);  // dK = s·dSᵀ·Q
    if (past > 0) {
      batched_gemm(be, dq, dscores_past, past_heads(c.past_keys), scale, T(1));
      if (!dpast.keys.empty()) batched_gemm(be, past_heads(dpast.keys), transpose(dscores_past), q, scale, T(1));
    }
    if (!kv.keys.empty()) axpy(be, g.dqkv.slice(1, width, 2 * width), T(1), kv.keys);
    if (!kv.values.empty()) axpy(be, g.dqkv.slice(1, 2 * width, 3 * width), T(1), kv.values);
    if (!c.positions.empty()) rotate(be, g.dqkv, c.positions, true);  // the rotation's transpose
    qkv.backward(be, dx, grads, as_const(g.dqkv), x, params, dx_beta);
  }

 private:
  struct extents {
    index_t steps, past;
  };

  template <class T, class U>
  extents check(const tensor_view<T, 2>& x, const attention_context<std::remove_const_t<T>>& c,
                const tensor_view<U, 2>& probs) const {
    const index_t sequences = c.sequences;
    if (sequences <= 0 || x.extent(0) % sequences != 0)
      throw shape_error("attention: " + std::to_string(x.extent(0)) + " rows are not " + std::to_string(sequences) +
                        " sequences of equal length");
    const index_t steps = x.extent(0) / sequences;
    detail::require_extent("attention", "x", x, 1, width, "the model width");
    const index_t past = c.past_keys.empty() ? 0 : c.past_keys.extent(1);
    if (past > 0) {
      for (const auto* segment : {&c.past_keys, &c.past_values})
        detail::require(segment->extent(0) == sequences && segment->extent(1) == past && segment->extent(2) == width,
                        "attention", [&] { return "the past keys and values must both be [" + std::to_string(sequences) + ", " +
                                         std::to_string(past) + ", " + std::to_string(width) + "], got " +
                                         to_string(c.past_keys.extents()) + " and " + to_string(c.past_values.extents()); });
    }
    detail::require(c.keep.extent(0) == steps && c.keep.extent(1) == past + steps, "attention",
                    [&] { return "the mask has shape " + to_string(c.keep.extents()) + " but sequences have " + std::to_string(steps) +
                        " steps and " + std::to_string(past) + " past keys"; });
    detail::require(c.positions.empty() || c.positions.extent(0) == x.extent(0), "attention",
                    [&] { return "rotary positions need one per row of x (" + std::to_string(x.extent(0)) + "), got " +
                        std::to_string(c.positions.extent(0)); });
    detail::require(probs.extent(0) == sequences * heads * steps && probs.extent(1) == past + steps, "attention",
                    [&] { return "the probabilities buffer has shape " + to_string(probs.extents()) + ", need [" +
                        std::to_string(sequences * heads * steps) + ", " + std::to_string(past + steps) + "]"; });
    return {steps, past};
  }

  // Rotates (or un-rotates) the q and k parts of a [N, 3·width] buffer.
  template <class B, class T>
  void rotate(B be, tensor_view<T, 2> buffer, tensor_view<const token_id, 1> positions, bool inverse) const {
    for (index_t part = 0; part < 2; ++part)
      rotary_embedding(be, buffer.slice(1, part * width, (part + 1) * width), positions, head_width(), rotary_base, inverse);
  }

  // Part `which` (0 = q, 1 = k, 2 = v; for [N, width] buffers only 0) of every sequence, as
  // [sequences, heads, T, dh].
  template <class T>
  tensor_view<T, 4> heads_of(tensor_view<T, 2> buffer, index_t sequences, index_t steps, index_t which) const {
    const index_t dh = head_width();
    return {buffer.data() + which * width * buffer.stride(1), shape<4>{{sequences, heads, steps, dh}},
            shape<4>{{steps * buffer.stride(0), dh * buffer.stride(1), buffer.stride(0), buffer.stride(1)}}};
  }
  // A [sequences, P, width] segment as [sequences, heads, P, dh].
  template <class T>
  tensor_view<T, 4> past_heads(tensor_view<T, 3> segment) const {
    const index_t dh = head_width();
    return {segment.data(), shape<4>{{segment.extent(0), heads, segment.extent(1), dh}},
            shape<4>{{segment.stride(0), dh * segment.stride(2), segment.stride(1), segment.stride(2)}}};
  }
  // [sequences·heads·T, P + T] probabilities (or their gradients) as [sequences, heads, T, P + T]
  // (rows may be padded: a cache's probabilities are a column slice of a buffer as wide as the cache).
  template <class T>
  tensor_view<T, 4> pairs_of(tensor_view<T, 2> probs, index_t sequences, index_t steps, index_t past) const {
    const index_t rs = probs.stride(0);
    return {probs.data(), shape<4>{{sequences, heads, steps, past + steps}},
            shape<4>{{heads * steps * rs, steps * rs, rs, probs.stride(1)}}};
  }
  // The same as one batch of [T, P + T] matrices, for the row kernels.
  template <class T>
  static tensor_view<T, 3> batch_of(tensor_view<T, 4> p) {
    return {p.data(), shape<3>{{p.extent(0) * p.extent(1), p.extent(2), p.extent(3)}},
            shape<3>{{p.stride(1), p.stride(2), p.stride(3)}}};
  }
};

}  // namespace wfc::nn
