// Element-wise kernels, random initialisation, reductions, the optimiser step and the embedding
// gather / scatter on every backend, at the largest activation of the model (the MLP's hidden
// layer, [768, 512]), the residual stream [768, 128], the token embedding [65, 128], the whole
// parameter buffer, and rotary positions on the q and k of the qkv buffer [768, 384].
// Counters are the bytes each call must move at least, in GB/s.
#include "common.hpp"
#include "main.hpp"

namespace wfc_bench {
namespace {

using namespace gpt;

const wfc::shape<2> hidden_shape{{rows, hidden}};
const wfc::shape<2> residual_shape{{rows, channels}};

// Accumulating kernels (axpy, gelu_backward, …) run again and again on the same output: their
// factors keep it finite (and away from denormals) over any number of iterations.

template <class B>
void bm_fill(benchmark::State& state) {
  wfc::tensor<float, 2, B> x(hidden_shape);
  time_kernel<B>(state, [&] { wfc::fill(B{}, x.view(), 0.5f); });
  count_bytes(state, bytes_of(x.size()));
}

// Weight initialisation: counter-based normal numbers (Philox, then Box-Muller), written once.
template <class B>
void bm_fill_normal(benchmark::State& state) {
  wfc::tensor<float, 2, B> x(hidden_shape);
  const wfc::counter_rng rng(7);
  time_kernel<B>(state, [&] { wfc::fill_normal(B{}, x.view(), rng, 0.0f, 0.02f); });
  count_bytes(state, bytes_of(x.size()));
}

template <class B>
void bm_copy(benchmark::State& state) {
  const auto src = random_tensor<float, 2, B>(hidden_shape, 1);
  wfc::tensor<float, 2, B> dst(hidden_shape);
  time_kernel<B>(state, [&] { wfc::copy(B{}, dst.view(), src.cview()); });
  count_bytes(state, bytes_of(2 * src.size()));
}

template <class B>
void bm_axpy(benchmark::State& state, wfc::shape<2> extents) {
  const auto x = random_tensor<float, 2, B>(extents, 1);
  auto y = random_tensor<float, 2, B>(extents, 2);
  time_kernel<B>(state, [&] { wfc::axpy(B{}, y.view(), 1e-3f, x.cview()); });
  count_bytes(state, bytes_of(3 * x.size()));  // x in, y in and out
}

template <class B>
void bm_scale(benchmark::State& state) {
  auto x = random_tensor<float, 2, B>(hidden_shape, 1);
  time_kernel<B>(state, [&] { wfc::scale(B{}, x.view(), -1.0f); });
  count_bytes(state, bytes_of(2 * x.size()));
}

template <class B>
void bm_add_bias(benchmark::State& state) {
  auto y = random_tensor<float, 2, B>(hidden_shape, 1);
  const auto bias = random_tensor<float, 1, B>(wfc::shape<1>{{hidden}}, 2, -1e-3f, 1e-3f);
  time_kernel<B>(state, [&] { wfc::add_bias(B{}, y.view(), bias.cview()); });
  count_bytes(state, bytes_of(2 * y.size() + hidden));
}

template <class B>
void bm_gelu_forward(benchmark::State& state) {
  const auto x = random_tensor<float, 2, B>(hidden_shape, 1, -4.0f, 4.0f);
  wfc::tensor<float, 2, B> y(hidden_shape);
  time_kernel<B>(state, [&] { wfc::gelu_forward(B{}, y.view(), x.cview()); });
  count_bytes(state, bytes_of(2 * x.size()));
}

template <class B>
void bm_gelu_backward(benchmark::State& state) {
  const auto x = random_tensor<float, 2, B>(hidden_shape, 1, -4.0f, 4.0f);
  const auto dy = random_tensor<float, 2, B>(hidden_shape, 2, -1e-3f, 1e-3f);
  wfc::tensor<float, 2, B> dx(hidden_shape);
  time_kernel<B>(state, [&] { wfc::gelu_backward(B{}, dx.view(), dy.cview(), x.cview()); });
  count_bytes(state, bytes_of(4 * x.size()));  // x, dy in; dx in and out
}

template <class B>
void bm_sum(benchmark::State& state) {
  const auto x = random_tensor<float, 2, B>(hidden_shape, 1);
  time_kernel<B>(state, [&] { benchmark::DoNotOptimize(wfc::sum(B{}, x.cview())); });
  count_bytes(state, bytes_of(x.size()));
}

template <class B>
void bm_squared_norm(benchmark::State& state) {
  const auto x = random_tensor<float, 2, B>(hidden_shape, 1);
  time_kernel<B>(state, [&] { benchmark::DoNotOptimize(wfc::squared_norm(B{}, x.cview())); });
  count_bytes(state, bytes_of(x.size()));
}

// A bias gradient: column sums of the hidden layer's gradient.
template <class B>
void bm_sum_rows(benchmark::State& state) {
  const auto x = random_tensor<float, 2, B>(hidden_shape, 1, -1e-3f, 1e-3f);
  wfc::tensor<float, 1, B> out(wfc::shape<1>{{hidden}});
  time_kernel<B>(state, [&] { wfc::sum_rows(B{}, out.view(), x.cview()); });
  count_bytes(state, bytes_of(x.size() + 2 * hidden));
}

// One AdamW step over every parameter of the model, as one flat buffer.
template <class B>
void bm_adamw_step(benchmark::State& state) {
  const wfc::shape<1> n{{parameters}};
  auto param = random_tensor<float, 1, B>(n, 1, -0.1f, 0.1f);
  const auto grad = random_tensor<float, 1, B>(n, 2, -1e-2f, 1e-2f);
  wfc::tensor<float, 1, B> m(n), v(n);
  wfc::adamw_options opt;
  opt.weight_decay = 0.1;
  time_kernel<B>(state, [&] { wfc::adamw_step(B{}, param.view(), grad.cview(), m.view(), v.view(), opt); });
  count_bytes(state, bytes_of(7 * parameters));  // grad in; param, m, v in and out
}

// The token embedding: 768 rows gathered from a [65, 128] table, and the backward scatter-add.
template <class B>
void bm_gather_rows(benchmark::State& state) {
  const auto table = random_tensor<float, 2, B>(wfc::shape<2>{{vocab, channels}}, 1);
  const auto ids = random_ids<B>(rows, vocab, 2);
  wfc::tensor<float, 2, B> out(residual_shape);
  time_kernel<B>(state, [&] { wfc::gather_rows(B{}, out.view(), table.cview(), ids.cview()); });
  count_bytes(state, bytes_of(2 * out.size()) + bytes_of<wfc::token_id>(rows));  // a row in, a row out, per id
}

template <class B>
void bm_scatter_add_rows(benchmark::State& state) {
  const auto out_grad = random_tensor<float, 2, B>(residual_shape, 1, -1e-3f, 1e-3f);
  const auto ids = random_ids<B>(rows, vocab, 2);
  wfc::tensor<float, 2, B> table_grad(wfc::shape<2>{{vocab, channels}});
  time_kernel<B>(state, [&] { wfc::scatter_add_rows(B{}, table_grad.view(), out_grad.cview(), ids.cview()); });
  // per id: a gradient row in, a table row in and out
  count_bytes(state, bytes_of(3 * out_grad.size()) + bytes_of<wfc::token_id>(rows));
}

// Rotary positions on the q and k slices of the attention's [768, 3·128] qkv buffer, forward and
// inverse: a batch's positions (12 sequences of 0 … 63, each position's angles once) and as many
// distinct positions (every row's own angles, the cost before positions were shared).
template <class B>
void bm_rotary(benchmark::State& state, bool batch_positions) {
  auto qkv = random_tensor<float, 2, B>(wfc::shape<2>{{rows, 3 * channels}}, 1);
  std::vector<wfc::token_id> at;
  for (index_t r = 0; r < rows; ++r) at.push_back(wfc::token_id(batch_positions ? r % block : r));
  const wfc::tensor<wfc::token_id, 1, B> positions(wfc::shape<1>{{rows}}, at);
  time_kernel<B>(state, [&] {
    for (bool inverse : {false, true})
      for (index_t part : {0, 1})
        wfc::rotary_embedding(B{}, qkv.view().slice(1, part * channels, (part + 1) * channels), positions.cview(), head_dim, 1e4,
                              inverse);
  });
  count_bytes(state, bytes_of(8 * rows * channels));  // q and k in and out, twice
}

}  // namespace

void register_benchmarks() {
  const std::string hid = dims({{"r", rows}, {"c", hidden}});
  const std::string res = dims({{"r", rows}, {"c", channels}});
  add_all("fill", hid, [](auto be) { return bm_fill<decltype(be)>; });
  add_all("fill_normal", hid, [](auto be) { return bm_fill_normal<decltype(be)>; });
  add_all("copy", hid, [](auto be) { return bm_copy<decltype(be)>; });
  add_all("axpy", hid, [](auto be) { return [](benchmark::State& s) { bm_axpy<decltype(be)>(s, hidden_shape); }; });
  add_all("axpy", res, [](auto be) { return [](benchmark::State& s) { bm_axpy<decltype(be)>(s, residual_shape); }; });
  add_all("scale", hid, [](auto be) { return bm_scale<decltype(be)>; });
  add_all("add_bias", hid, [](auto be) { return bm_add_bias<decltype(be)>; });
  add_all("gelu_forward", hid, [](auto be) { return bm_gelu_forward<decltype(be)>; });
  add_all("gelu_backward", hid, [](auto be) { return bm_gelu_backward<decltype(be)>; });
  add_all("sum", hid, [](auto be) { return bm_sum<decltype(be)>; });
  add_all("squared_norm", hid, [](auto be) { return bm_squared_norm<decltype(be)>; });
  add_all("sum_rows", hid, [](auto be) { return bm_sum_rows<decltype(be)>; });
  add_all("adamw_step", dims({{"n", parameters}}), [](auto be) { return bm_adamw_step<decltype(be)>; });
  add_all("gather_rows", dims({{"r", rows}, {"v", vocab}, {"c", channels}}),
          [](auto be) { return bm_gather_rows<decltype(be)>; });
  add_all("scatter_add_rows", dims({{"r", rows}, {"v", vocab}, {"c", channels}}),
          [](auto be) { return bm_scatter_add_rows<decltype(be)>; });
  const std::string qkv = dims({{"r", rows}, {"c", 3 * channels}, {"dh", head_dim}});
  add_all("rotary_batch_positions", qkv, [](auto be) { return [](benchmark::State& s) { bm_rotary<decltype(be)>(s, true); }; });
  add_all("rotary_distinct_positions", qkv, [](auto be) { return [](benchmark::State& s) { bm_rotary<decltype(be)>(s, false); }; });
}

}  // namespace wfc_bench
