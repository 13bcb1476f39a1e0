// Every row kernel on views whose rows are not contiguous (transposed storage): the SIMD backends
// must take their strided paths and still match the reference on dense data.
#include "support/testing.hpp"

using namespace wfc;
using namespace wfc::testing;

TEMPLATE_LIST_TEST_CASE("row kernels accept views with non-contiguous rows", "[kernels][strided]", backend_configs) {
  using B = typename TestType::backend;
  using T = typename TestType::value_type;
  const index_t r = 9, c = 13;
  const auto xv = rounded<T>(random_values(r * c, 201, -3, 3)), dyv = rounded<T>(random_values(r * c, 202));
  const auto gv = rounded<T>(random_values(c, 203, 0.5, 1.5)), bv = rounded<T>(random_values(c, 204));
  using dense = tensor<double, 2, reference>;
  auto rx = make_tensor<double, reference>(shape<2>{{r, c}}, xv), rdy = make_tensor<double, reference>(shape<2>{{r, c}}, dyv);
  auto rgamma = make_tensor<double, reference>(shape<1>{{c}}, gv), rbeta = make_tensor<double, reference>(shape<1>{{c}}, bv);
  transposed_matrix<T, B> x(r, c, xv), dy(r, c, dyv);
  auto gamma = make_tensor<T, B>(shape<1>{{c}}, gv), beta = make_tensor<T, B>(shape<1>{{c}}, bv);

  SECTION("element-wise") {
    transposed_matrix<T, B> y(r, c, dyv);
    dense ry(shape<2>{{r, c}}, dyv);
    axpy(B{}, y.view(), T(2), x.view());
    axpy(reference{}, ry.view(), 2.0, rx.cview());
    add_bias(B{}, y.view(), beta.cview());
    add_bias(reference{}, ry.view(), rbeta.cview());
    scale(B{}, y.view(), T(-0.5));
    scale(reference{}, ry.view(), -0.5);
    require_close<T>(y.values(), values_of(ry), 4);
    gelu_forward(B{}, y.view(), x.view());
    gelu_forward(reference{}, ry.view(), rx.cview());
    require_close<T>(y.values(), values_of(ry), 4);
    gelu_backward(B{}, y.view(), dy.view(), x.view());
    gelu_backward(reference{}, ry.view(), rdy.cview(), rx.cview());
    require_close<T>(y.values(), values_of(ry), 4);
    copy(B{}, y.view(), x.view());
    REQUIRE(y.values() == xv);
    fill(B{}, y.view(), T(3));
    REQUIRE(y.values() == std::vector<double>(xv.size(), 3.0));
    require_close<T>({double(sum(B{}, x.view())), double(squared_norm(B{}, x.view()))},
                     {sum(reference{}, rx.cview()), squared_norm(reference{}, rx.cview())}, 64);
    auto cols = make_tensor<T, B>(shape<1>{{c}}, gv);
    auto rcols = make_tensor<double, reference>(shape<1>{{c}}, gv);
    sum_rows(B{}, cols.view(), x.view());
    sum_rows(reference{}, rcols.view(), rx.cview());
    require_close<T>(values_of(cols), values_of(rcols), 16);
  }

  SECTION("layernorm") {
    transposed_matrix<T, B> y(r, c, xv), dx(r, c, dyv);
    dense ry(shape<2>{{r, c}}), rdx(shape<2>{{r, c}}, dyv);
    tensor<T, 1, B> mean(shape<1>{{r}}), rstd(shape<1>{{r}}), dg(shape<1>{{c}}), db(shape<1>{{c}});
    tensor<double, 1, reference> rmean(shape<1>{{r}}), rrstd(shape<1>{{r}}), rdg(shape<1>{{c}}), rdb(shape<1>{{c}});
    layernorm_forward(B{}, y.view(), mean.view(), rstd.view(), x.view(), gamma.cview(), beta.cview());
    layernorm_forward(reference{}, ry.view(), rmean.view(), rrstd.view(), rx.cview(), rgamma.cview(), rbeta.cview());
    require_close<T>(y.values(), values_of(ry), 8);
    layernorm_backward(B{}, dx.view(), dg.view(), db.view(), dy.view(), x.view(), mean.cview(), rstd.cview(), gamma.cview());
    layernorm_backward(reference{}, rdx.view(), rdg.view(), rdb.view(), rdy.cview(), rx.cview(), rmean.cview(), rrstd.cview(),
                       rgamma.cview());
    require_close<T>(dx.values(), values_of(rdx), 16);
    require_close<T>(values_of(dg), values_of(rdg), 16);
    require_close<T>(values_of(db), values_of(rdb), 16);
  }

  SECTION("softmax and losses") {
    transposed_matrix<T, B> y(r, c, xv), dx(r, c, dyv);
    dense ry(shape<2>{{r, c}}), rdx(shape<2>{{r, c}}, dyv);
    softmax_forward(B{}, y.view(), x.view());
    softmax_forward(reference{}, ry.view(), rx.cview());
    require_close<T>(y.values(), values_of(ry), 4);
    softmax_backward(B{}, dx.view(), dy.view(), y.view());
    softmax_backward(reference{}, rdx.view(), rdy.cview(), ry.cview());
    require_close<T>(dx.values(), values_of(rdx), 8);

    std::vector<token_id> targets_host;
    for (index_t i = 0; i < r; ++i) targets_host.push_back(i == 4 ? ignore_index : token_id((i * 5) % c));
    tensor<token_id, 1, B> targets(shape<1>{{r}}, targets_host);
    tensor<token_id, 1, reference> rtargets(shape<1>{{r}}, targets_host);
    tensor<T, 1, B> loss(shape<1>{{r}}), ones(shape<1>{{r}}), h(shape<1>{{r}});
    tensor<double, 1, reference> rloss(shape<1>{{r}}), rones(shape<1>{{r}}), rh(shape<1>{{r}});
    fill(B{}, ones.view(), T(1));
    fill(reference{}, rones.view(), 1.0);
    cross_entropy_forward(B{}, loss.view(), x.view(), targets.cview());
    cross_entropy_forward(reference{}, rloss.view(), rx.cview(), rtargets.cview());
    require_close<T>(values_of(loss), values_of(rloss), 16);
    cross_entropy_backward(B{}, dx.view(), ones.cview(), x.view(), targets.cview());
    cross_entropy_backward(reference{}, rdx.view(), rones.cview(), rx.cview(), rtargets.cview());
    require_close<T>(dx.values(), values_of(rdx), 16);
    softmax_entropy(B{}, h.view(), x.view());
    softmax_entropy(reference{}, rh.view(), rx.cview());
    require_close<T>(values_of(h), values_of(rh), 16);
  }

  SECTION("gather and scatter") {
    const index_t vocab = 5;
    const auto tv = rounded<T>(random_values(vocab * c, 205));
    std::vector<token_id> ids_host;
    for (index_t i = 0; i < r; ++i) ids_host.push_back(token_id((i * 3) % vocab));
    tensor<token_id, 1, B> ids(shape<1>{{r}}, ids_host);
    tensor<token_id, 1, reference> rids(shape<1>{{r}}, ids_host);
    transposed_matrix<T, B> table(vocab, c, tv), out(r, c, dyv);
    auto rtable = make_tensor<double, reference>(shape<2>{{vocab, c}}, tv);
    dense rout(shape<2>{{r, c}});
    gather_rows(B{}, out.view(), table.view(), ids.cview());
    gather_rows(reference{}, rout.view(), rtable.cview(), rids.cview());
    REQUIRE(out.values() == values_of(rout));
    scatter_add_rows(B{}, table.view(), x.view(), ids.cview());
    scatter_add_rows(reference{}, rtable.view(), rx.cview(), rids.cview());
    require_close<T>(table.values(), values_of(rtable), 8);
  }
}
