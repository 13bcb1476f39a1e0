#pragma once
// Embedding of probability vectors: y = P·E for P [N, V] (rows on the simplex), E [V, d]. A
// one-hot P is a token's embedding, the uniform P the max-entropy embedding, a partial collapse
// anything between, so WFC needs no special token. Token ids take the fast path: a row gather.
// The same table read transposed is the tied output head.
#include "wfc/nn/parameters.hpp"

namespace wfc::nn {

struct embedding {
  index_t vocab = 0, width = 0;
  index_t table_offset = 0;

  embedding() = default;
  embedding(parameter_layout& layout, const std::string& name, index_t vocabulary, index_t features)
      : vocab(vocabulary), width(features) {
    table_offset = layout.add(name + ".weight", {vocab, width}, true);
  }

  template <class T>
  tensor_view<T, 2> table(tensor_view<T, 1> flat) const { return matrix_at(flat, table_offset, vocab, width); }

  // y[N, d] = E[ids]
  template <class B, class T>
  void forward(B be, tensor_view<T, 2> y, tensor_view<const token_id, 1> ids, in_view<T, 1> params) const {
    gather_rows(be, y, table(params), ids);
  }
  // dE[ids[r]] += dy[r]
  template <class B, class T>
  void backward(B be, tensor_view<T, 1> grads, in_view<T, 2> dy, tensor_view<const token_id, 1> ids) const {
    scatter_add_rows(be, table(grads), dy, ids);
  }

  // y[N, d] = P·E
  template <class B, class T>
  void forward(B be, tensor_view<T, 2> y, in_view<T, 2> probs, in_view<T, 1> params) const {
    gemm(be, y, probs, table(params));
  }
  // dE += Pᵀ·dy, and dP += dy·Eᵀ unless dprobs is empty
  template <class B, class T>
  void backward(B be, tensor_view<T, 2> dprobs, tensor_view<T, 1> grads, in_view<T, 2> dy, in_view<T, 2> probs,
                in_view<T, 1> params) const {
    gemm(be, table(grads), transpose(probs), dy, T(1), T(1));
    if (!dprobs.empty()) gemm(be, dprobs, dy, transpose(table(params)), T(1), T(1));
  }
};

}  // namespace wfc::nn
