// Element-wise kernels on every backend against the double-precision reference, dense and padded.
#include "support/testing.hpp"

using namespace wfc;
using namespace wfc::testing;

namespace {
template <class T, class B>
using pm = padded_matrix<T, B>;
using ref_matrix = padded_matrix<double, reference>;
}  // namespace

TEMPLATE_LIST_TEST_CASE("fill, copy, axpy and scale match the reference", "[kernels][elementwise]", backend_configs) {
  using B = typename TestType::backend;
  using T = typename TestType::value_type;
  for (const auto& s : matrix_cases()) {
    CAPTURE(s.rows, s.cols, s.pad);
    const auto xv = rounded<T>(random_values(s.rows * s.cols, 11)), yv = rounded<T>(random_values(s.rows * s.cols, 12));
    {
      pm<T, B> x(s.rows, s.cols, xv, s.pad);
      fill(B{}, x.view(), T(0.25));
      require_close<T>(x.values(), std::vector<double>(xv.size(), 0.25));
      REQUIRE(x.padding_intact());
    }
    {
      pm<T, B> x(s.rows, s.cols, xv, s.pad), y(s.rows, s.cols, yv, s.pad);
      copy(B{}, y.view(), x.view());
      require_close<T>(y.values(), xv);
      REQUIRE(y.padding_intact());
    }
    {
      pm<T, B> x(s.rows, s.cols, xv, s.pad), y(s.rows, s.cols, yv, s.pad);
      ref_matrix rx(s.rows, s.cols, xv, 0), ry(s.rows, s.cols, yv, 0);
      axpy(B{}, y.view(), T(-0.75), x.view());
      axpy(reference{}, ry.view(), -0.75, rx.view());
      require_close<T>(y.values(), ry.values());
      REQUIRE(y.padding_intact());
      scale(B{}, y.view(), T(3));
      scale(reference{}, ry.view(), 3.0);
      require_close<T>(y.values(), ry.values());
    }
  }
}

TEMPLATE_LIST_TEST_CASE("add_bias, scale_rows and gelu forward/backward match the reference", "[kernels][elementwise]", backend_configs) {
  using B = typename TestType::backend;
  using T = typename TestType::value_type;
  for (const auto& s : matrix_cases()) {
    CAPTURE(s.rows, s.cols, s.pad);
    const auto xv = rounded<T>(random_values(s.rows * s.cols, 21, -6, 6));
    const auto dyv = rounded<T>(random_values(s.rows * s.cols, 22));
    const auto dxv = rounded<T>(random_values(s.rows * s.cols, 23));
    const auto biasv = rounded<T>(random_values(s.cols, 24));

    pm<T, B> y(s.rows, s.cols, xv, s.pad);
    ref_matrix ry(s.rows, s.cols, xv, 0);
    auto bias = make_tensor<T, B>(shape<1>{{s.cols}}, biasv);
    auto rbias = make_tensor<double, reference>(shape<1>{{s.cols}}, biasv);
    add_bias(B{}, y.view(), bias.cview());
    add_bias(reference{}, ry.view(), rbias.cview());
    require_close<T>(y.values(), ry.values());
    REQUIRE(y.padding_intact());

    const auto factorsv = rounded<T>(random_values(s.rows, 25, -2, 2));
    auto factors = make_tensor<T, B>(shape<1>{{s.rows}}, factorsv);
    auto rfactors = make_tensor<double, reference>(shape<1>{{s.rows}}, factorsv);
    scale_rows(B{}, y.view(), factors.cview());
    scale_rows(reference{}, ry.view(), rfactors.cview());
    require_close<T>(y.values(), ry.values());
    REQUIRE(y.padding_intact());

    pm<T, B> x(s.rows, s.cols, xv, s.pad), g(s.rows, s.cols, dxv, s.pad);
    ref_matrix rx(s.rows, s.cols, xv, 0), rg(s.rows, s.cols, dxv, 0);
    gelu_forward(B{}, y.view(), x.view());
    gelu_forward(reference{}, ry.view(), rx.view());
    require_close<T>(y.values(), ry.values(), 4);
    REQUIRE(y.padding_intact());

    pm<T, B> dy(s.rows, s.cols, dyv, s.pad);
    ref_matrix rdy(s.rows, s.cols, dyv, 0);
    gelu_backward(B{}, g.view(), dy.view(), x.view());  // accumulates into g
    gelu_backward(reference{}, rg.view(), rdy.view(), rx.view());
    require_close<T>(g.values(), rg.values(), 4);
    REQUIRE(g.padding_intact());
  }
}

TEMPLATE_LIST_TEST_CASE("gelu_backward with beta = 0 overwrites dx without reading it", "[kernels][elementwise]", backend_configs) {
  using B = typename TestType::backend;
  using T = typename TestType::value_type;
  const index_t rows = 7, cols = 37;
  const auto xv = rounded<T>(random_values(rows * cols, 25, -6, 6)), dyv = rounded<T>(random_values(rows * cols, 26));
  auto x = make_tensor<T, B>(shape<2>{{rows, cols}}, xv), dy = make_tensor<T, B>(shape<2>{{rows, cols}}, dyv);
  auto dx = make_tensor<T, B>(shape<2>{{rows, cols}}, std::vector<double>(std::size_t(rows * cols), std::nan("")));
  auto rx = make_tensor<double, reference>(shape<2>{{rows, cols}}, xv), rdy = make_tensor<double, reference>(shape<2>{{rows, cols}}, dyv);
  tensor<double, 2, reference> rdx(shape<2>{{rows, cols}});
  gelu_backward(B{}, dx.view(), dy.cview(), x.cview(), T(0));
  gelu_backward(reference{}, rdx.view(), rdy.cview(), rx.cview());
  require_close<T>(values_of(dx), values_of(rdx), 4);
}

TEMPLATE_LIST_TEST_CASE("element-wise kernels reject mismatched shapes", "[kernels][elementwise][errors]", backend_configs) {
  using B = typename TestType::backend;
  using T = typename TestType::value_type;
  tensor<T, 2, B> a(shape<2>{{3, 4}}), b(shape<2>{{4, 3}});
  tensor<T, 1, B> bias(shape<1>{{3}});
  REQUIRE_THROWS_AS(copy(B{}, a.view(), b.cview()), shape_error);
  REQUIRE_THROWS_AS(axpy(B{}, a.view(), T(1), b.cview()), shape_error);
  REQUIRE_THROWS_AS(add_bias(B{}, a.view(), bias.cview()), shape_error);
  tensor<T, 1, B> four(shape<1>{{4}});
  REQUIRE_THROWS_AS(scale_rows(B{}, a.view(), four.cview()), shape_error);  // one factor per row: 3
  REQUIRE_THROWS_AS(gelu_forward(B{}, a.view(), b.cview()), shape_error);
  REQUIRE_THROWS_AS(gelu_backward(B{}, a.view(), a.cview(), b.cview()), shape_error);
}
