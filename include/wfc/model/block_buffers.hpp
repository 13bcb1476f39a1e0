#pragma once
// Owned storage for a stack of transformer blocks: one block's activations (written by forward,
// read by backward) and the scratch its backward overwrites. The GPT and the WFC model keep one set
// per block and per solver step.
#include "wfc/core/tensor.hpp"
#include "wfc/nn/block.hpp"

namespace wfc {

// `rows` = sequences·steps rows of `width`; the attention probabilities as wide as the most keys
// (past + own) they serve: view(keys) hands out the first `keys` columns.
template <class T, class Backend>
struct block_buffers {
  template <std::size_t R>
  using buffer = tensor<T, R, Backend>;
  buffer<2> ln1_out, mid, ln2_out, qkv, probs, y, pre, post;
  buffer<1> m1, r1, m2, r2;

  block_buffers(index_t sequences, index_t steps, index_t keys, index_t width, index_t heads)
      : ln1_out(sequences * steps, width), mid(sequences * steps, width), ln2_out(sequences * steps, width),
        qkv(sequences * steps, 3 * width), probs(sequences * heads * steps, keys), y(sequences * steps, width),
        pre(sequences * steps, 4 * width), post(sequences * steps, 4 * width), m1(sequences * steps), r1(sequences * steps),
        m2(sequences * steps), r2(sequences * steps) {}

  typename nn::transformer_block::activations<T> view(index_t keys) {
    return {ln1_out.view(), mid.view(), ln2_out.view(), m1.view(), r1.view(), m2.view(), r2.view(),
            {qkv.view(), probs.view().slice(1, 0, keys), y.view()}, {pre.view(), post.view()}};
  }
  // The first `rows` rows of one sequence (a call with fewer rows than the buffers hold).
  typename nn::transformer_block::activations<T> view(index_t keys, index_t rows) {
    const index_t heads = probs.extent(0) / ln1_out.extent(0);
    auto first = [rows](auto v) { return v.slice(0, 0, rows); };
    return {first(ln1_out.view()), first(mid.view()), first(ln2_out.view()), first(m1.view()), first(r1.view()),
            first(m2.view()), first(r2.view()),
            {first(qkv.view()), probs.view().slice(0, 0, heads * rows).slice(1, 0, keys), first(y.view())},
            {first(pre.view()), first(post.view())}};
  }
  // The keys and values this block computed, as a [sequences, steps, width] past segment for
  // another stream's queries (rotated, with rotary positions).
  tensor_view<const T, 3> keys(index_t sequences) const { return segment(sequences, 1); }
  tensor_view<const T, 3> values(index_t sequences) const { return segment(sequences, 2); }

 private:
  tensor_view<const T, 3> segment(index_t sequences, index_t part) const {
    const auto q = qkv.cview();
    const index_t width = q.extent(1) / 3, steps = q.extent(0) / sequences;
    return {q.data() + part * width, shape<3>{{sequences, steps, width}}, shape<3>{{steps * q.stride(0), q.stride(0), 1}}};
  }
};

template <class T, class Backend>
struct block_scratch_buffers {
  template <std::size_t R>
  using buffer = tensor<T, R, Backend>;
  buffer<2> d_mid, d_norm, dqkv, dy, dprobs, dscores, s1, s2;

  block_scratch_buffers(index_t sequences, index_t steps, index_t keys, index_t width, index_t heads)
      : d_mid(sequences * steps, width), d_norm(sequences * steps, width), dqkv(sequences * steps, 3 * width),
        dy(sequences * steps, width), dprobs(sequences * heads * steps, keys), dscores(sequences * heads * steps, keys),
        s1(sequences * steps, 4 * width), s2(sequences * steps, 4 * width) {}

  typename nn::transformer_block::scratch<T> view() {
    return {d_mid.view(), d_norm.view(), {dqkv.view(), dy.view(), dprobs.view(), dscores.view()}, {s1.view(), s2.view()}};
  }
};

}  // namespace wfc
