// The nn modules: backward against finite differences (reference backend, double), and every
// backend against the reference, forward and backward.
#include "support/module_checks.hpp"
#include "wfc/nn/attention.hpp"
#include "wfc/nn/block.hpp"
#include "wfc/nn/embedding.hpp"
#include "wfc/nn/layer_norm.hpp"
#include "wfc/nn/linear.hpp"
#include "wfc/nn/mlp.hpp"

using namespace wfc;
using namespace wfc::testing;

namespace {

constexpr index_t rows = 5, width = 6, hidden = 8, vocab = 7;

// Parameters, gradients and activations of one run, on backend B in type T.
template <class T, class B>
struct flat_buffers {
  tensor<T, 1, B> params, grads;
  flat_buffers(const std::vector<double>& p) : params(shape<1>{{index_t(p.size())}}, convert<T>(p)), grads(shape<1>{{index_t(p.size())}}) {}
};

template <class T, class B>
tensor<T, 2, B> matrix(index_t r, index_t c, const std::vector<double>& v) {
  return tensor<T, 2, B>(shape<2>{{r, c}}, convert<T>(v));
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("linear: y = x·W + b, its gradients, on every backend", "[nn][linear]", backend_configs) {
  for (bool bias : {true, false}) {
    nn::parameter_layout layout;
    const nn::linear lin(layout, "fc", width, hidden, bias);
    REQUIRE(layout.size() == width * hidden + (bias ? hidden : 0));
    auto run = [&](auto be, auto zero, const std::vector<double>& p, const std::vector<double>& x, const std::vector<double>& dy) {
      using B = decltype(be);
      using T = decltype(zero);
      flat_buffers<T, B> f(p);
      auto xt = matrix<T, B>(rows, width, x), dyt = matrix<T, B>(rows, hidden, dy);
      tensor<T, 2, B> y(shape<2>{{rows, hidden}}), dx(shape<2>{{rows, width}});
      lin.forward(be, y.view(), xt.cview(), f.params.cview());
      lin.backward(be, dx.view(), f.grads.view(), dyt.cview(), xt.cview(), f.params.cview());
      return module_result{values_of(y), values_of(dx), values_of(f.grads)};
    };
    const auto p = random_values(layout.size(), 1), x = random_values(rows * width, 2), dy = random_values(rows * hidden, 3);
    check_module_gradients(run, p, x, dy);
    check_module_backend<typename TestType::backend, typename TestType::value_type>(run, p, x, dy);
  }
}

TEMPLATE_LIST_TEST_CASE("layer_norm module: gradients in x, gain and shift, on every backend", "[nn][layer_norm]", backend_configs) {
  const bool shift = GENERATE(true, false);  // with a shift (GPT-2) or without (nanoGPT's bias=False)
  CAPTURE(shift);
  nn::parameter_layout layout;
  const nn::layer_norm ln(layout, "ln", width, shift);
  REQUIRE(layout.size() == (shift ? 2 : 1) * width);
  auto run = [&](auto be, auto zero, const std::vector<double>& p, const std::vector<double>& x, const std::vector<double>& dy) {
    using B = decltype(be);
    using T = decltype(zero);
    flat_buffers<T, B> f(p);
    auto xt = matrix<T, B>(rows, width, x), dyt = matrix<T, B>(rows, width, dy);
    tensor<T, 2, B> y(shape<2>{{rows, width}}), dx(shape<2>{{rows, width}});
    tensor<T, 1, B> mean(shape<1>{{rows}}), rstd(shape<1>{{rows}});
    ln.forward(be, y.view(), mean.view(), rstd.view(), xt.cview(), f.params.cview());
    ln.backward(be, dx.view(), f.grads.view(), dyt.cview(), xt.cview(), mean.cview(), rstd.cview(), f.params.cview());
    return module_result{values_of(y), values_of(dx), values_of(f.grads)};
  };
  auto p = random_values(layout.size(), 4, 0.5, 1.5);
  const auto x = random_values(rows * width, 5, -2, 3), dy = random_values(rows * width, 6);
  check_module_gradients(run, p, x, dy);
  check_module_backend<typename TestType::backend, typename TestType::value_type>(run, p, x, dy);

  tensor<double, 1, reference> fresh(shape<1>{{layout.size()}});
  ln.initialise(reference{}, fresh.view());
  std::vector<double> expected(std::size_t(width), 1.0);
  if (shift) expected.resize(std::size_t(2 * width), 0.0);
  REQUIRE(values_of(fresh) == expected);
}

TEMPLATE_LIST_TEST_CASE("embedding of probability vectors and of token ids agree, with their gradients", "[nn][embedding]",
                        backend_configs) {
  nn::parameter_layout layout;
  const nn::embedding emb(layout, "wte", vocab, width);
  const std::vector<token_id> ids{3, 0, 6, 3, 1};
  // Probability rows: one-hot for rows 0 and 1, uniform for row 2, partial collapse for the rest.
  std::vector<double> probs(std::size_t(rows * vocab), 0.0);
  for (index_t r = 0; r < rows; ++r) {
    const double alpha = r < 2 ? 1.0 : r == 2 ? 0.0 : 0.6;
    for (index_t v = 0; v < vocab; ++v)
      probs[std::size_t(r * vocab + v)] = (1 - alpha) / double(vocab) + (v == ids[std::size_t(r)] ? alpha : 0.0);
  }
  auto run_probs = [&](auto be, auto zero, const std::vector<double>& p, const std::vector<double>& x, const std::vector<double>& dy) {
    using B = decltype(be);
    using T = decltype(zero);
    flat_buffers<T, B> f(p);
    auto pt = matrix<T, B>(rows, vocab, x), dyt = matrix<T, B>(rows, width, dy);
    tensor<T, 2, B> y(shape<2>{{rows, width}}), dp(shape<2>{{rows, vocab}});
    emb.forward(be, y.view(), pt.cview(), f.params.cview());
    emb.backward(be, dp.view(), f.grads.view(), dyt.cview(), pt.cview(), f.params.cview());
    return module_result{values_of(y), values_of(dp), values_of(f.grads)};
  };
  auto run_ids = [&](auto be, auto zero, const std::vector<double>& p, const std::vector<double>&, const std::vector<double>& dy) {
    using B = decltype(be);
    using T = decltype(zero);
    flat_buffers<T, B> f(p);
    tensor<token_id, 1, B> idt(shape<1>{{rows}}, ids);
    auto dyt = matrix<T, B>(rows, width, dy);
    tensor<T, 2, B> y(shape<2>{{rows, width}});
    emb.forward(be, y.view(), idt.cview(), f.params.cview());
    emb.backward(be, f.grads.view(), dyt.cview(), idt.cview());
    return module_result{values_of(y), {}, values_of(f.grads)};
  };
  const auto p = random_values(layout.size(), 7), dy = random_values(rows * width, 8);
  check_module_gradients(run_probs, p, probs, dy);
  check_module_gradients(run_ids, p, {}, dy);
  check_module_backend<typename TestType::backend, typename TestType::value_type>(run_probs, p, probs, dy);
  check_module_backend<typename TestType::backend, typename TestType::value_type>(run_ids, p, {}, dy);

  // A one-hot probability row embeds exactly like its token id; the uniform row is the mean embedding.
  const auto by_probs = run_probs(reference{}, 0.0, p, probs, dy).y, by_ids = run_ids(reference{}, 0.0, p, {}, dy).y;
  for (index_t c = 0; c < 2 * width; ++c) REQUIRE(std::abs(by_probs[std::size_t(c)] - by_ids[std::size_t(c)]) < 1e-12);
  for (index_t c = 0; c < width; ++c) {
    double mean = 0;
    for (index_t v = 0; v < vocab; ++v) mean += p[std::size_t(v * width + c)] / double(vocab);
    REQUIRE(std::abs(by_probs[std::size_t(2 * width + c)] - mean) < 1e-12);
  }
}

TEMPLATE_LIST_TEST_CASE("mlp: linear, GELU, linear, and its gradients, on every backend", "[nn][mlp]", backend_configs) {
  nn::parameter_layout layout;
  const nn::mlp block(layout, "mlp", width, hidden);
  REQUIRE(layout.specs().size() == 4);
  REQUIRE(layout.specs()[0].name == "mlp.c_fc.weight");
  auto run = [&](auto be, auto zero, const std::vector<double>& p, const std::vector<double>& x, const std::vector<double>& dy) {
    using B = decltype(be);
    using T = decltype(zero);
    flat_buffers<T, B> f(p);
    auto xt = matrix<T, B>(rows, width, x), dyt = matrix<T, B>(rows, width, dy);
    tensor<T, 2, B> y(shape<2>{{rows, width}}), dx(shape<2>{{rows, width}});
    tensor<T, 2, B> pre(shape<2>{{rows, hidden}}), post(shape<2>{{rows, hidden}}), s1(shape<2>{{rows, hidden}}), s2(shape<2>{{rows, hidden}});
    block.forward(be, y.view(), {pre.view(), post.view()}, xt.cview(), f.params.cview());
    block.backward(be, dx.view(), f.grads.view(), {s1.view(), s2.view()}, dyt.cview(), xt.cview(), {pre.cview(), post.cview()},
                   f.params.cview());
    return module_result{values_of(y), values_of(dx), values_of(f.grads)};
  };
  const auto p = random_values(layout.size(), 9, -0.5, 0.5), x = random_values(rows * width, 10), dy = random_values(rows * width, 11);
  check_module_gradients(run, p, x, dy);
  check_module_backend<typename TestType::backend, typename TestType::value_type>(run, p, x, dy);
}

TEST_CASE("parameter layouts reject duplicate names and views that do not fit", "[nn]") {
  nn::parameter_layout layout;
  const nn::linear a(layout, "a", 3, 4);
  REQUIRE_THROWS_AS(nn::linear(layout, "a", 3, 4), config_error);
  tensor<float, 1, reference> short_buffer(shape<1>{{layout.size() - 1}});
  REQUIRE_THROWS_AS(a.bias(short_buffer.view()), shape_error);
}

namespace {

// One attention call on backend B in type T: x [sequences·steps, width] followed, in the same input
// vector, by a past segment's keys and values [sequences, past, width] each; dx likewise carries the
// past segment's gradients, so finite differences check them too. Queries sit at positions first…
// (rotated there when `rotary`) and see the past by one rule, each other by another.
template <class PastRule, class SelfRule>
auto attention_run(const nn::attention& attn, index_t sequences, index_t steps, index_t past, index_t first, bool rotary,
                   PastRule past_rule, SelfRule self_rule) {
  return [=, &attn](auto be, auto zero, const std::vector<double>& p, const std::vector<double>& in, const std::vector<double>& dy) {
    using B = decltype(be);
    using T = decltype(zero);
    const index_t n = sequences * steps, w = attn.width, h = attn.heads;
    flat_buffers<T, B> f(p);
    const auto part = [&](index_t from, index_t count) {
      return std::vector<double>(in.begin() + from, in.begin() + from + count);
    };
    auto xt = matrix<T, B>(n, w, part(0, n * w)), dyt = matrix<T, B>(n, w, dy);
    tensor<T, 3, B> keys(shape<3>{{sequences, past, w}}, convert<T>(part(n * w, sequences * past * w)));
    tensor<T, 3, B> values(shape<3>{{sequences, past, w}}, convert<T>(part(n * w + sequences * past * w, sequences * past * w)));
    tensor<T, 3, B> dkeys(shape<3>{{sequences, past, w}}), dvalues(shape<3>{{sequences, past, w}});
    const auto keep_host = attention_mask(past_rule, past, self_rule, steps, first);
    tensor<bool, 2, B> keep(shape<2>{{steps, past + steps}}, keep_host);
    std::vector<token_id> pos;
    for (index_t r = 0; r < n; ++r) pos.push_back(token_id(first + r % steps));
    tensor<token_id, 1, B> positions(shape<1>{{n}}, pos);
    nn::attention_context<T> c;
    c.keep = keep.cview();
    c.sequences = sequences;
    if (rotary) c.positions = positions.cview();
    if (past > 0) {
      c.past_keys = keys.cview();
      c.past_values = values.cview();
    }
    const index_t cols = past + steps;
    tensor<T, 2, B> out(shape<2>{{n, w}}), dx(shape<2>{{n, w}});
    tensor<T, 2, B> qkv(shape<2>{{n, 3 * w}}), probs(shape<2>{{sequences * h * steps, cols}}), y(shape<2>{{n, w}});
    tensor<T, 2, B> dqkv(shape<2>{{n, 3 * w}}), dy_heads(shape<2>{{n, w}}), dprobs(shape<2>{{sequences * h * steps, cols}}),
        dscores(shape<2>{{sequences * h * steps, cols}});
    attn.forward(be, out.view(), {qkv.view(), probs.view(), y.view()}, xt.cview(), c, f.params.cview());
    attn.backward(be, dx.view(), f.grads.view(), {dqkv.view(), dy_heads.view(), dprobs.view(), dscores.view()}, dyt.cview(),
                  xt.cview(), {qkv.cview(), probs.cview(), y.cview()}, c, f.params.cview(), {dkeys.view(), dvalues.view()});
    const auto pr = values_of(probs);
    for (index_t r = 0; r < sequences * h * steps; ++r)  // masked keys get no weight
      for (index_t k = 0; k < cols; ++k)
        if (!keep_host[std::size_t((r % steps) * cols + k)]) REQUIRE(pr[std::size_t(r * cols + k)] == 0.0);
    auto d = values_of(dx);
    for (const auto& segment : {values_of(dkeys), values_of(dvalues)}) d.insert(d.end(), segment.begin(), segment.end());
    return module_result{values_of(out), d, values_of(f.grads)};
  };
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("attention: mask policies, rotary positions, a past segment; gradients on every backend",
                        "[nn][attention]", backend_configs) {
  const index_t sequences = 2, steps = 4, heads = 3;  // head width 2: rotary turns pairs
  nn::parameter_layout layout;
  const nn::attention attn(layout, "attn", width, heads);
  REQUIRE(layout.size() == width * 3 * width + 3 * width + width * width + width);
  const auto p = random_values(layout.size(), 12, -0.6, 0.6), dy = random_values(sequences * steps * width, 14);
  auto check = [&](auto past_rule, index_t past, auto self_rule, index_t first, bool rotary) {
    CAPTURE(past, first, rotary);
    const auto run = attention_run(attn, sequences, steps, past, first, rotary, past_rule, self_rule);
    const auto in = random_values((sequences * steps + 2 * sequences * past) * width, 13);
    check_module_gradients(run, p, in, dy);
    check_module_backend<typename TestType::backend, typename TestType::value_type>(run, p, in, dy, 64);
  };
  const masks::causal causal;
  SECTION("causal") { check(causal, 0, causal, 0, false); }
  SECTION("bidirectional") { check(causal, 0, masks::bidirectional{}, 0, false); }
  SECTION("window: one step ahead") { check(causal, 0, masks::window<1>{}, 0, false); }
  SECTION("rotary positions") { check(causal, 0, causal, 0, true); }
  SECTION("a past segment (a KV cache), causal and rotary") { check(causal, 3, causal, 3, true); }
  SECTION("WFC training: blocks see the clean stream before them and their own block") {
    const masks::blocks cut{2, 1};  // blocks {0}, {1, 2}, {3}
    check(masks::before_block{cut}, steps, masks::within_block<masks::bidirectional>{cut}, 0, true);
  }
}

TEMPLATE_LIST_TEST_CASE("attention over a past segment equals attention over the whole sequence", "[nn][attention]",
                        backend_configs) {
  using B = typename TestType::backend;
  using T = typename TestType::value_type;
  const index_t heads = 3, past = 3, steps = 2, total = past + steps;
  nn::parameter_layout layout;
  const nn::attention attn(layout, "attn", width, heads);
  const auto p = random_values(layout.size(), 21, -0.6, 0.6), x = random_values(total * width, 22);
  const auto zeros = std::vector<double>(std::size_t(total * width), 0.0);
  // The whole sequence at once, causal and rotary; its rotated keys/values of the first `past` rows
  // become the past segment of a second call on the last `steps` rows.
  const auto whole = attention_run(attn, 1, total, 0, 0, true, masks::causal{}, masks::causal{})(B{}, T(0), p, x, zeros);
  flat_buffers<T, B> f(p);
  tensor<T, 2, B> xt = matrix<T, B>(total, width, x), out(shape<2>{{total, width}}), qkv(shape<2>{{total, 3 * width}}),
                  probs(shape<2>{{heads * total, total}}), y(shape<2>{{total, width}});
  tensor<bool, 2, B> keep(shape<2>{{total, total}}, attention_mask(masks::causal{}, total));
  std::vector<token_id> pos{0, 1, 2, 3, 4};
  tensor<token_id, 1, B> positions(shape<1>{{total}}, pos);
  nn::attention_context<T> c;
  c.keep = keep.cview();
  c.positions = positions.cview();
  attn.forward(B{}, out.view(), {qkv.view(), probs.view(), y.view()}, xt.cview(), c, f.params.cview());
  const auto kv = values_of(qkv);
  std::vector<double> in(x.begin() + past * width, x.end());
  for (index_t part = 1; part <= 2; ++part)
    for (index_t r = 0; r < past; ++r)
      for (index_t col = 0; col < width; ++col) in.push_back(kv[std::size_t(r * 3 * width + part * width + col)]);
  const auto split = attention_run(attn, 1, steps, past, past, true, masks::causal{}, masks::causal{})(
      B{}, T(0), p, in, std::vector<double>(std::size_t(steps * width), 0.0));
  require_close<T>(split.y, std::vector<double>(whole.y.begin() + past * width, whole.y.end()), 16);
}

TEST_CASE("attention rejects heads that do not divide the width and mismatched shapes", "[nn][attention]") {
  nn::parameter_layout layout;
  REQUIRE_THROWS_AS(nn::attention(layout, "attn", 6, 4), config_error);
  const nn::attention attn(layout, "ok", 6, 2);
  tensor<double, 1, reference> p(shape<1>{{layout.size()}});
  tensor<double, 2, reference> x(shape<2>{{7, 6}}), out(shape<2>{{7, 6}}), qkv(shape<2>{{7, 18}}), probs(shape<2>{{14, 7}}), y(shape<2>{{7, 6}});
  tensor<bool, 2, reference> keep(shape<2>{{7, 7}}), small_keep(shape<2>{{3, 3}});
  tensor<double, 3, reference> past(shape<3>{{1, 2, 5}});
  tensor<token_id, 1, reference> positions(shape<1>{{3}});
  auto call = [&](nn::attention_context<double> c) {
    attn.forward(reference{}, out.view(), {qkv.view(), probs.view(), y.view()}, x.cview(), c, p.cview());
  };
  nn::attention_context<double> c;
  c.keep = keep.cview();
  c.sequences = 2;
  require_throws_containing<shape_error>([&] { call(c); }, "sequences of equal length");
  c.sequences = 1;
  c.keep = small_keep.cview();
  require_throws_containing<shape_error>([&] { call(c); }, "mask");
  c.keep = keep.cview();
  c.positions = positions.cview();
  require_throws_containing<shape_error>([&] { call(c); }, "rotary positions need one per row");
  c.positions = {};
  c.past_keys = past.cview();
  c.past_values = past.cview();
  require_throws_containing<shape_error>([&] { call(c); }, "past keys and values");
  call(nn::attention_context<double>{keep.cview(), 1, {}, {}, {}});  // and the right shapes pass
}

TEST_CASE("mask policies: causal, window, blocks; a policy without keep() is named by the trait", "[nn][attention]") {
  auto pattern = [](const std::vector<bool>& keep) {
    std::string s;
    for (bool k : keep) s += k ? '1' : '0';
    return s;
  };
  REQUIRE(pattern(attention_mask(masks::causal{}, 3)) == "100110111");
  REQUIRE(pattern(attention_mask(masks::window<1>{}, 3)) == "110111111");
  REQUIRE(pattern(attention_mask(masks::bidirectional{}, 2)) == "1111");
  REQUIRE(pattern(attention_mask(masks::causal{}, 2, 1)) == "111");  // a cached query sees its past and itself
  const masks::blocks cut{2, 1};                                       // blocks {0}, {1, 2}, {3}
  REQUIRE(pattern(attention_mask(masks::before_block{cut}, 4, masks::within_block<masks::causal>{cut}, 4, 0)) ==
          "0000" "1000"  "1000" "0100"  "1000" "0110"  "1110" "0001");
  STATIC_REQUIRE(is_mask_policy<masks::window<2>>::value);
  STATIC_REQUIRE(!is_mask_policy<int>::value);
  REQUIRE_THROWS_AS(attention_mask(masks::causal{}, -1, 2), config_error);
}
TEMPLATE_LIST_TEST_CASE("transformer block: pre-LayerNorm residual block, its gradients, on every backend", "[nn][block]",
                        backend_configs) {
  const index_t sequences = 2, steps = 3, heads = 2, n = sequences * steps;
  nn::parameter_layout layout;
  const nn::transformer_block blk(layout, "h.0", width, heads, hidden);
  std::vector<bool> keep_host;
  for (index_t q = 0; q < steps; ++q)
    for (index_t k = 0; k < steps; ++k) keep_host.push_back(k <= q);
  auto run = [&](auto be, auto zero, const std::vector<double>& p, const std::vector<double>& x, const std::vector<double>& dy) {
    using B = decltype(be);
    using T = decltype(zero);
    flat_buffers<T, B> f(p);
    auto xt = matrix<T, B>(n, width, x), dyt = matrix<T, B>(n, width, dy);
    tensor<bool, 2, B> keep(shape<2>{{steps, steps}}, keep_host);
    auto m = [](index_t r, index_t c) { return tensor<T, 2, B>(shape<2>{{r, c}}); };
    auto v = [](index_t r) { return tensor<T, 1, B>(shape<1>{{r}}); };
    auto out = m(n, width), dx = m(n, width), ln1 = m(n, width), mid = m(n, width), ln2 = m(n, width);
    auto m1 = v(n), r1 = v(n), m2 = v(n), r2 = v(n);
    auto qkv = m(n, 3 * width), probs = m(sequences * heads * steps, steps), y = m(n, width), pre = m(n, hidden), post = m(n, hidden);
    auto d_mid = m(n, width), d_norm = m(n, width), dqkv = m(n, 3 * width), dyh = m(n, width), dp = m(sequences * heads * steps, steps),
         ds = m(sequences * heads * steps, steps), s1 = m(n, hidden), s2 = m(n, hidden);
    const typename nn::transformer_block::activations<T> a{
        ln1.view(), mid.view(), ln2.view(), m1.view(), r1.view(), m2.view(), r2.view(), {qkv.view(), probs.view(), y.view()},
        {pre.view(), post.view()}};
    nn::attention_context<T> c;
    c.keep = keep.cview();
    c.sequences = sequences;
    blk.forward(be, out.view(), a, xt.cview(), c, f.params.cview());
    blk.backward(be, dx.view(), f.grads.view(),
                 {d_mid.view(), d_norm.view(), {dqkv.view(), dyh.view(), dp.view(), ds.view()}, {s1.view(), s2.view()}},
                 dyt.cview(), xt.cview(), a, c, f.params.cview());
    return module_result{values_of(out), values_of(dx), values_of(f.grads)};
  };
  auto p = random_values(layout.size(), 15, -0.5, 0.5);
  for (const auto& spec : layout.specs())  // norm gains near 1, as trained models have them
    if (spec.name.find("ln_") != std::string::npos && spec.name.find("weight") != std::string::npos)
      for (index_t i = 0; i < spec.size; ++i) p[std::size_t(spec.offset + i)] += 1.0;
  const auto x = random_values(n * width, 16), dy = random_values(n * width, 17);
  check_module_gradients(run, p, x, dy);
  check_module_backend<typename TestType::backend, typename TestType::value_type>(run, p, x, dy, 64);
}
