// LayerNorm forward (with the saved mean and rstd) and its accumulating backward, every backend.
#include "support/testing.hpp"

using namespace wfc;
using namespace wfc::testing;

TEMPLATE_LIST_TEST_CASE("layernorm forward and backward match the reference", "[kernels][layernorm]", backend_configs) {
  using B = typename TestType::backend;
  using T = typename TestType::value_type;
  // Without a shift (empty beta and dbeta) the backend must compute what the reference does with
  // a zero shift.
  const bool shift = GENERATE(true, false);
  CAPTURE(shift);
  for (const auto& s : matrix_cases()) {
    CAPTURE(s.rows, s.cols, s.pad);
    const index_t r = s.rows, c = s.cols;
    const auto xv = rounded<T>(random_values(r * c, 31, -3, 5)), dyv = rounded<T>(random_values(r * c, 32));
    const auto dxv = rounded<T>(random_values(r * c, 33)), gv = rounded<T>(random_values(c, 34, 0.5, 1.5));
    const auto bv = shift ? rounded<T>(random_values(c, 35)) : std::vector<double>(std::size_t(c), 0.0), dgv = rounded<T>(random_values(c, 36)), dbv = rounded<T>(random_values(c, 37));

    padded_matrix<T, B> x(r, c, xv, s.pad), y(r, c, dxv, s.pad), dy(r, c, dyv, s.pad), dx(r, c, dxv, s.pad);
    auto gamma = make_tensor<T, B>(shape<1>{{c}}, gv), beta = make_tensor<T, B>(shape<1>{{c}}, bv);
    auto dgamma = make_tensor<T, B>(shape<1>{{c}}, dgv), dbeta = make_tensor<T, B>(shape<1>{{c}}, dbv);
    tensor<T, 1, B> mean(shape<1>{{r}}), rstd(shape<1>{{r}});

    padded_matrix<double, reference> rx(r, c, xv, 0), ry(r, c, dxv, 0), rdy(r, c, dyv, 0), rdx(r, c, dxv, 0);
    auto rgamma = make_tensor<double, reference>(shape<1>{{c}}, gv), rbeta = make_tensor<double, reference>(shape<1>{{c}}, bv);
    auto rdgamma = make_tensor<double, reference>(shape<1>{{c}}, dgv), rdbeta = make_tensor<double, reference>(shape<1>{{c}}, dbv);
    tensor<double, 1, reference> rmean(shape<1>{{r}}), rrstd(shape<1>{{r}});
    const auto beta_in = shift ? beta.cview() : tensor_view<const T, 1>{};
    const auto dbeta_out = shift ? dbeta.view() : tensor_view<T, 1>{};

    if (c == 0 && r > 0) {  // rows with no elements have no mean
      REQUIRE_THROWS_AS(layernorm_forward(B{}, y.view(), mean.view(), rstd.view(), x.view(), gamma.cview(), beta_in), shape_error);
      continue;
    }
    layernorm_forward(B{}, y.view(), mean.view(), rstd.view(), x.view(), gamma.cview(), beta_in);
    layernorm_forward(reference{}, ry.view(), rmean.view(), rrstd.view(), rx.view(), rgamma.cview(), rbeta.cview());
    require_close<T>(y.values(), ry.values(), 8);
    require_close<T>(values_of(mean), values_of(rmean), 8);
    require_close<T>(values_of(rstd), values_of(rrstd), 8);
    REQUIRE(y.padding_intact());

    layernorm_backward(B{}, dx.view(), dgamma.view(), dbeta_out, dy.view(), x.view(), mean.cview(), rstd.cview(), gamma.cview());
    layernorm_backward(reference{}, rdx.view(), rdgamma.view(), rdbeta.view(), rdy.view(), rx.view(), rmean.cview(), rrstd.cview(),
                       rgamma.cview());
    require_close<T>(dx.values(), rdx.values(), 16);
    require_close<T>(values_of(dgamma), values_of(rdgamma), 4 * double(std::max<index_t>(r, 1)));
    if (shift) require_close<T>(values_of(dbeta), values_of(rdbeta), 4 * double(std::max<index_t>(r, 1)));
    else REQUIRE(values_of(dbeta) == dbv);  // untouched
    REQUIRE(dx.padding_intact());
  }
}

TEMPLATE_LIST_TEST_CASE("layernorm rejects mismatched shapes", "[kernels][layernorm][errors]", backend_configs) {
  using B = typename TestType::backend;
  using T = typename TestType::value_type;
  tensor<T, 2, B> x(shape<2>{{3, 4}}), y(shape<2>{{3, 4}});
  tensor<T, 1, B> stats(shape<1>{{3}}), wrong_stats(shape<1>{{4}}), gamma(shape<1>{{4}}), wrong_gamma(shape<1>{{3}});
  REQUIRE_THROWS_AS(layernorm_forward(B{}, y.view(), stats.view(), stats.view(), x.cview(), wrong_gamma.cview(), gamma.cview()), shape_error);
  REQUIRE_THROWS_AS(layernorm_forward(B{}, y.view(), wrong_stats.view(), stats.view(), x.cview(), gamma.cview(), gamma.cview()), shape_error);
  REQUIRE_THROWS_AS(layernorm_backward(B{}, y.view(), gamma.view(), wrong_gamma.view(), x.cview(), x.cview(), stats.cview(),
                                       stats.cview(), gamma.cview()),
                    shape_error);
}
