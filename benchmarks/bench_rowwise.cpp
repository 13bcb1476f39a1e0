// Row-wise kernels (each row reduced, then rewritten) on every backend: LayerNorm over the
// residual stream [768, 128], softmax over the attention scores [48, 64, 64] (plain, with an
// additive causal mask, with a boolean one), and cross-entropy and entropy over the logits [768, 65].
// Counters are the bytes each call must move at least, in GB/s.
#include "common.hpp"
#include "main.hpp"

namespace wfc_bench {
namespace {

using namespace gpt;

template <class B>
wfc::tensor<float, 1, B> constant_vector(index_t n, float value) {
  return wfc::tensor<float, 1, B>(wfc::shape<1>{{n}}, std::vector<float>(static_cast<std::size_t>(n), value));
}

// ---- LayerNorm ---------------------------------------------------------------------------------

template <class B>
struct layernorm_data {
  static constexpr index_t r = rows, c = channels;
  wfc::tensor<float, 2, B> x = random_tensor<float, 2, B>(wfc::shape<2>{{r, c}}, 1);
  wfc::tensor<float, 2, B> y{wfc::shape<2>{{r, c}}};
  wfc::tensor<float, 1, B> gamma = random_tensor<float, 1, B>(wfc::shape<1>{{c}}, 2, 0.5f, 1.5f);
  wfc::tensor<float, 1, B> beta = random_tensor<float, 1, B>(wfc::shape<1>{{c}}, 3);
  wfc::tensor<float, 1, B> mean{wfc::shape<1>{{r}}};
  wfc::tensor<float, 1, B> rstd{wfc::shape<1>{{r}}};

  void forward() { wfc::layernorm_forward(B{}, y.view(), mean.view(), rstd.view(), x.cview(), gamma.cview(), beta.cview()); }
};

template <class B>
void bm_layernorm_forward(benchmark::State& state) {
  layernorm_data<B> d;
  time_kernel<B>(state, [&] { d.forward(); });
  const index_t r = d.r, c = d.c;
  count_bytes(state, bytes_of(2 * r * c + 2 * c + 2 * r));  // x in, y out, gamma, beta, mean, rstd
}

template <class B>
void bm_layernorm_backward(benchmark::State& state) {
  layernorm_data<B> d;
  d.forward();  // mean and rstd, as the forward pass leaves them
  fence(B{});
  const index_t r = d.r, c = d.c;
  const auto dy = random_tensor<float, 2, B>(wfc::shape<2>{{r, c}}, 4);
  wfc::tensor<float, 2, B> dx(wfc::shape<2>{{r, c}});
  wfc::tensor<float, 1, B> dgamma(wfc::shape<1>{{c}}), dbeta(wfc::shape<1>{{c}});
  time_kernel<B>(state, [&] {
    wfc::layernorm_backward(B{}, dx.view(), dgamma.view(), dbeta.view(), dy.cview(), d.x.cview(), d.mean.cview(),
                            d.rstd.cview(), d.gamma.cview());
  });
  // dy, x in; dx accumulated (in and out); mean, rstd, gamma in; dgamma, dbeta accumulated
  count_bytes(state, bytes_of(4 * r * c + 2 * r + 5 * c));
}

// ---- softmax over attention scores -------------------------------------------------------------

enum class mask_kind { none, additive, boolean };

const wfc::shape<3> scores{{attention_batch, block, block}};

template <class B>
void bm_softmax_forward(benchmark::State& state, mask_kind mask) {
  const auto x = random_tensor<float, 3, B>(scores, 1, -4.0f, 4.0f);
  wfc::tensor<float, 3, B> y(scores);
  const index_t n = scores.size(), m = block * block;
  switch (mask) {
    case mask_kind::none:
      time_kernel<B>(state, [&] { wfc::softmax_forward(B{}, y.view(), x.cview()); });
      count_bytes(state, bytes_of(2 * n));
      break;
    case mask_kind::additive: {
      const auto additive = causal_additive_mask<float, B>(block);
      time_kernel<B>(state, [&] { wfc::softmax_forward(B{}, y.view(), x.cview(), additive.cview()); });
      count_bytes(state, bytes_of(2 * n + m));
      break;
    }
    case mask_kind::boolean: {
      const auto keep = causal_keep_mask<B>(block);
      time_kernel<B>(state, [&] { wfc::softmax_forward(B{}, y.view(), x.cview(), keep.cview()); });
      count_bytes(state, bytes_of(2 * n) + bytes_of<bool>(m));
      break;
    }
  }
}

template <class B>
void bm_softmax_backward(benchmark::State& state) {
  const auto x = random_tensor<float, 3, B>(scores, 1, -4.0f, 4.0f);
  wfc::tensor<float, 3, B> y(scores);
  wfc::softmax_forward(B{}, y.view(), x.cview());
  fence(B{});
  const auto dy = random_tensor<float, 3, B>(scores, 2);
  wfc::tensor<float, 3, B> dx(scores);
  time_kernel<B>(state, [&] { wfc::softmax_backward(B{}, dx.view(), dy.cview(), y.cview()); });
  count_bytes(state, bytes_of(4 * scores.size()));  // dy, y in; dx accumulated
}

// ---- losses over the logits --------------------------------------------------------------------

const wfc::shape<2> logits_shape{{rows, vocab}};

template <class B>
void bm_cross_entropy_forward(benchmark::State& state) {
  const auto logits = random_tensor<float, 2, B>(logits_shape, 1, -4.0f, 4.0f);
  const auto targets = random_ids<B>(rows, vocab, 2);
  wfc::tensor<float, 1, B> loss(wfc::shape<1>{{rows}});
  time_kernel<B>(state, [&] { wfc::cross_entropy_forward(B{}, loss.view(), logits.cview(), targets.cview()); });
  count_bytes(state, bytes_of(rows * vocab + rows) + bytes_of<wfc::token_id>(rows));
}

template <class B>
void bm_cross_entropy_backward(benchmark::State& state) {
  const auto logits = random_tensor<float, 2, B>(logits_shape, 1, -4.0f, 4.0f);
  const auto targets = random_ids<B>(rows, vocab, 2);
  const auto dloss = constant_vector<B>(rows, 1.0f / float(rows));  // the gradient of a mean loss
  wfc::tensor<float, 2, B> dlogits(logits_shape);
  time_kernel<B>(state, [&] {
    wfc::cross_entropy_backward(B{}, dlogits.view(), dloss.cview(), logits.cview(), targets.cview());
  });
  // logits in; dlogits accumulated; dloss, targets in
  count_bytes(state, bytes_of(3 * rows * vocab + rows) + bytes_of<wfc::token_id>(rows));
}

template <class B>
void bm_softmax_entropy(benchmark::State& state) {
  const auto logits = random_tensor<float, 2, B>(logits_shape, 1, -4.0f, 4.0f);
  wfc::tensor<float, 1, B> h(wfc::shape<1>{{rows}});
  time_kernel<B>(state, [&] { wfc::softmax_entropy(B{}, h.view(), logits.cview()); });
  count_bytes(state, bytes_of(rows * vocab + rows));
}

}  // namespace

void register_benchmarks() {
  const std::string ln = dims({{"r", rows}, {"c", channels}});
  const std::string att = dims({{"b", attention_batch}, {"r", block}, {"c", block}});
  const std::string lg = dims({{"r", rows}, {"v", vocab}});
  add_all("layernorm_forward", ln, [](auto be) { return bm_layernorm_forward<decltype(be)>; });
  add_all("layernorm_backward", ln, [](auto be) { return bm_layernorm_backward<decltype(be)>; });
  for (const auto& [suffix, mask] : {std::pair{"", mask_kind::none}, std::pair{"_additive_mask", mask_kind::additive},
                                     std::pair{"_bool_mask", mask_kind::boolean}}) {
    add_all("softmax_forward", att + suffix, [mask = mask](auto be) {
      return [mask](benchmark::State& s) { bm_softmax_forward<decltype(be)>(s, mask); };
    });
  }
  add_all("softmax_backward", att, [](auto be) { return bm_softmax_backward<decltype(be)>; });
  add_all("cross_entropy_forward", lg, [](auto be) { return bm_cross_entropy_forward<decltype(be)>; });
  add_all("cross_entropy_backward", lg, [](auto be) { return bm_cross_entropy_backward<decltype(be)>; });
  add_all("softmax_entropy", lg, [](auto be) { return bm_softmax_entropy<decltype(be)>; });
}

}  // namespace wfc_bench
