// Every backward kernel of the reference (the specification the other backends are tested
// against) checked against central finite differences of its forward, in double precision.
// For a forward f and random weights w, L = Σ w ⊙ f(inputs); the backward kernel fed dy = w must
// give ∂L/∂input.
#include <functional>

#include "support/gradients.hpp"

using namespace wfc;
using namespace wfc::testing;

namespace {
using dmat = tensor<double, 2, reference>;
using dvec = tensor<double, 1, reference>;
}  // namespace

TEST_CASE("gelu_backward is the derivative of gelu_forward", "[gradients]") {
  const index_t r = 3, c = 7;
  auto x = make_tensor<double, reference>(shape<2>{{r, c}}, random_values(r * c, 91, -4, 4));
  const auto w = random_values(r * c, 92);
  auto dy = make_tensor<double, reference>(shape<2>{{r, c}}, w);
  dmat y(shape<2>{{r, c}}), dx(shape<2>{{r, c}});
  auto loss = [&] {
    gelu_forward(reference{}, y.view(), x.cview());
    return weighted_sum(w, y.to_host());
  };
  gelu_backward(reference{}, dx.view(), dy.cview(), x.cview());
  require_gradient(dx.to_host(), numerical_gradient(x.data(), x.size(), loss));
}

TEST_CASE("layernorm_backward gives the derivatives of layernorm_forward in x, gamma and beta", "[gradients]") {
  const index_t r = 4, c = 6;
  auto x = make_tensor<double, reference>(shape<2>{{r, c}}, random_values(r * c, 93, -2, 3));
  auto gamma = make_tensor<double, reference>(shape<1>{{c}}, random_values(c, 94, 0.5, 1.5));
  auto beta = make_tensor<double, reference>(shape<1>{{c}}, random_values(c, 95));
  const auto w = random_values(r * c, 96);
  auto dy = make_tensor<double, reference>(shape<2>{{r, c}}, w);
  dmat y(shape<2>{{r, c}}), dx(shape<2>{{r, c}});
  dvec mean(shape<1>{{r}}), rstd(shape<1>{{r}}), dgamma(shape<1>{{c}}), dbeta(shape<1>{{c}});
  auto loss = [&] {
    layernorm_forward(reference{}, y.view(), mean.view(), rstd.view(), x.cview(), gamma.cview(), beta.cview());
    return weighted_sum(w, y.to_host());
  };
  loss();
  layernorm_backward(reference{}, dx.view(), dgamma.view(), dbeta.view(), dy.cview(), x.cview(), mean.cview(), rstd.cview(),
                     gamma.cview());
  require_gradient(dx.to_host(), numerical_gradient(x.data(), x.size(), loss));
  require_gradient(dgamma.to_host(), numerical_gradient(gamma.data(), gamma.size(), loss));
  require_gradient(dbeta.to_host(), numerical_gradient(beta.data(), beta.size(), loss));
}

TEST_CASE("softmax_backward is the derivative of softmax_forward, masked or not", "[gradients]") {
  const index_t b = 2, r = 3, c = 5;
  auto x = make_tensor<double, reference>(shape<3>{{b, r, c}}, random_values(b * r * c, 97, -3, 3));
  auto add = make_tensor<double, reference>(shape<2>{{r, c}}, random_values(r * c, 98));
  const auto w = random_values(b * r * c, 99);
  auto dy = make_tensor<double, reference>(shape<3>{{b, r, c}}, w);
  tensor<double, 3, reference> y(shape<3>{{b, r, c}});
  for (bool masked : {false, true}) {
    auto loss = [&] {
      if (masked)
        softmax_forward(reference{}, y.view(), x.cview(), add.cview());
      else
        softmax_forward(reference{}, y.view(), x.cview());
      return weighted_sum(w, y.to_host());
    };
    loss();
    tensor<double, 3, reference> dx(shape<3>{{b, r, c}});
    softmax_backward(reference{}, dx.view(), dy.cview(), y.cview());
    require_gradient(dx.to_host(), numerical_gradient(x.data(), x.size(), loss));
  }
}

TEST_CASE("cross_entropy_backward is the derivative of cross_entropy_forward, ignored rows give none", "[gradients]") {
  const index_t r = 4, v = 6;
  auto logits = make_tensor<double, reference>(shape<2>{{r, v}}, random_values(r * v, 100, -3, 3));
  tensor<token_id, 1, reference> targets(shape<1>{{r}}, std::vector<token_id>{2, ignore_index, 0, 5});
  const auto w = random_values(r, 101, 0.2, 1.0);
  auto dloss = make_tensor<double, reference>(shape<1>{{r}}, w);
  dvec loss_rows(shape<1>{{r}});
  dmat dlogits(shape<2>{{r, v}});
  auto loss = [&] {
    cross_entropy_forward(reference{}, loss_rows.view(), logits.cview(), targets.cview());
    return weighted_sum(w, loss_rows.to_host());
  };
  cross_entropy_backward(reference{}, dlogits.view(), dloss.cview(), logits.cview(), targets.cview());
  const auto g = dlogits.to_host();
  require_gradient(g, numerical_gradient(logits.data(), logits.size(), loss));
  for (index_t c = 0; c < v; ++c) REQUIRE(g[std::size_t(v + c)] == 0.0);
}

TEST_CASE("scatter_add_rows is the adjoint of gather_rows, and sum_rows that of add_bias", "[gradients]") {
  const index_t vocab = 5, r = 7, d = 3;
  auto table = make_tensor<double, reference>(shape<2>{{vocab, d}}, random_values(vocab * d, 102));
  tensor<token_id, 1, reference> ids(shape<1>{{r}}, std::vector<token_id>{0, 3, 3, 1, 4, 3, 0});
  const auto w = random_values(r * d, 103);
  auto dy = make_tensor<double, reference>(shape<2>{{r, d}}, w);
  dmat out(shape<2>{{r, d}}), dtable(shape<2>{{vocab, d}});
  auto gather_loss = [&] {
    gather_rows(reference{}, out.view(), table.cview(), ids.cview());
    return weighted_sum(w, out.to_host());
  };
  scatter_add_rows(reference{}, dtable.view(), dy.cview(), ids.cview());
  require_gradient(dtable.to_host(), numerical_gradient(table.data(), table.size(), gather_loss));

  auto x = make_tensor<double, reference>(shape<2>{{r, d}}, random_values(r * d, 104));
  auto bias = make_tensor<double, reference>(shape<1>{{d}}, random_values(d, 105));
  dvec dbias(shape<1>{{d}});
  auto bias_loss = [&] {
    dmat y(shape<2>{{r, d}});
    copy(reference{}, y.view(), x.cview());
    add_bias(reference{}, y.view(), bias.cview());
    return weighted_sum(w, y.to_host());
  };
  sum_rows(reference{}, dbias.view(), dy.cview());
  require_gradient(dbias.to_host(), numerical_gradient(bias.data(), bias.size(), bias_loss));
}

TEST_CASE("gemm's backward is gemm with transposed views", "[gradients]") {
  // For C = A·B and upstream G: dA = G·Bᵀ and dB = Aᵀ·G; the transposed views must express both.
  const index_t m = 3, k = 4, n = 5;
  auto a = make_tensor<double, reference>(shape<2>{{m, k}}, random_values(m * k, 106));
  auto b = make_tensor<double, reference>(shape<2>{{k, n}}, random_values(k * n, 107));
  const auto w = random_values(m * n, 108);
  auto g = make_tensor<double, reference>(shape<2>{{m, n}}, w);
  dmat c(shape<2>{{m, n}}), da(shape<2>{{m, k}}), db(shape<2>{{k, n}});
  auto loss = [&] {
    gemm(reference{}, c.view(), a.cview(), b.cview());
    return weighted_sum(w, c.to_host());
  };
  gemm(reference{}, da.view(), g.cview(), transpose(b.cview()));
  gemm(reference{}, db.view(), transpose(a.cview()), g.cview());
  require_gradient(da.to_host(), numerical_gradient(a.data(), a.size(), loss));
  require_gradient(db.to_host(), numerical_gradient(b.data(), b.size(), loss));
}
