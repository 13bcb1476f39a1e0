// Row softmax (plain, additive mask, boolean mask) and its backward on every backend.
#include <limits>

#include "support/testing.hpp"

using namespace wfc;
using namespace wfc::testing;

namespace {
// [batch, rows, cols] views over a padded [batch·rows, cols] matrix (rows stay contiguous).
template <class T, class B>
tensor_view<T, 3> batched(padded_matrix<T, B>& m, index_t batch) {
  auto v = m.view();
  const index_t rows = batch ? m.rows / batch : 0;
  return {v.data(), shape<3>{{batch, rows, m.cols}}, shape<3>{{rows * v.stride(0), v.stride(0), 1}}};
}

// A causal keep-mask with some rows fully masked, and its additive twin.
std::vector<double> keep_pattern(index_t rows, index_t cols) {
  std::vector<double> keep;
  for (index_t r = 0; r < rows; ++r)
    for (index_t c = 0; c < cols; ++c) keep.push_back(r % 5 != 4 && c <= r + cols / 2 ? 1.0 : 0.0);
  return keep;
}
}  // namespace

TEMPLATE_LIST_TEST_CASE("softmax forward/backward match the reference, with and without masks", "[kernels][softmax]",
                        backend_configs) {
  using B = typename TestType::backend;
  using T = typename TestType::value_type;
  const index_t batch = 2;
  for (const auto& s : matrix_cases()) {
    const index_t rows = s.rows, cols = s.cols;  // per batch
    CAPTURE(rows, cols, s.pad);
    const index_t all = batch * rows;
    const auto xv = rounded<T>(random_values(all * cols, 41, -8, 8)), dyv = rounded<T>(random_values(all * cols, 42));
    const auto dxv = rounded<T>(random_values(all * cols, 43));
    const auto keepv = keep_pattern(rows, cols);
    std::vector<double> addv(keepv.size());
    const auto noise = rounded<T>(random_values(rows * cols, 44, -1, 1));
    for (std::size_t i = 0; i < keepv.size(); ++i)
      addv[i] = keepv[i] ? noise[i] : -std::numeric_limits<double>::infinity();

    tensor<bool, 2, B> keep(shape<2>{{rows, cols}}, keepv);
    tensor<bool, 2, reference> rkeep(shape<2>{{rows, cols}}, keepv);
    auto add = make_tensor<T, B>(shape<2>{{rows, cols}}, addv);
    auto radd = make_tensor<double, reference>(shape<2>{{rows, cols}}, addv);

    for (int mask = 0; mask < 3; ++mask) {
      CAPTURE(mask);
      padded_matrix<T, B> x(all, cols, xv, s.pad), y(all, cols, dxv, s.pad), dy(all, cols, dyv, s.pad), dx(all, cols, dxv, s.pad);
      padded_matrix<double, reference> rx(all, cols, xv, 0), ry(all, cols, dxv, 0), rdy(all, cols, dyv, 0), rdx(all, cols, dxv, 0);
      auto run = [&](auto be, auto yv, auto xv3, auto& add_mask, auto& keep_mask) {
        if (mask == 0) softmax_forward(be, yv, as_const(xv3));
        if (mask == 1) softmax_forward(be, yv, as_const(xv3), add_mask.cview());
        if (mask == 2) softmax_forward(be, yv, as_const(xv3), keep_mask.cview());
      };
      run(B{}, batched(y, batch), batched(x, batch), add, keep);
      run(reference{}, batched(ry, batch), batched(rx, batch), radd, rkeep);
      const auto got = y.values();
      require_close<T>(got, ry.values(), 4);
      for (double v : got) REQUIRE(std::isfinite(v));
      REQUIRE(y.padding_intact());

      softmax_backward(B{}, batched(dx, batch), as_const(batched(dy, batch)), as_const(batched(y, batch)));
      softmax_backward(reference{}, batched(rdx, batch), as_const(batched(rdy, batch)), as_const(batched(ry, batch)));
      require_close<T>(dx.values(), rdx.values(), 8);
      REQUIRE(dx.padding_intact());
    }
  }
}

TEMPLATE_LIST_TEST_CASE("a keep-mask softmax ignores x at masked keys, for banded and holed masks", "[kernels][softmax]",
                        backend_configs) {
  using B = typename TestType::backend;
  using T = typename TestType::value_type;
  const index_t batch = 3, rows = 21, cols = 37;
  // Row r keeps a band [r − 9, r] with a hole every 7th key, or nothing (row 5): spans that start
  // late, end early and have gaps inside. Masked keys hold inf and NaN.
  std::vector<double> keepv, xv = random_values(batch * rows * cols, 45, -8, 8);
  for (index_t r = 0; r < rows; ++r)
    for (index_t c = 0; c < cols; ++c) keepv.push_back(r != 5 && c <= r + 3 && c + 9 >= r && c % 7 != 3 ? 1.0 : 0.0);
  for (std::size_t i = 0; i < xv.size(); ++i)
    if (!keepv[i % keepv.size()]) xv[i] = i % 2 ? std::numeric_limits<double>::infinity() : std::nan("");
  tensor<bool, 2, B> keep(shape<2>{{rows, cols}}, keepv);
  tensor<bool, 2, reference> rkeep(shape<2>{{rows, cols}}, keepv);
  auto x = make_tensor<T, B>(shape<3>{{batch, rows, cols}}, rounded<T>(xv));
  auto rx = make_tensor<double, reference>(shape<3>{{batch, rows, cols}}, rounded<T>(xv));
  tensor<T, 3, B> y(shape<3>{{batch, rows, cols}});
  tensor<double, 3, reference> ry(shape<3>{{batch, rows, cols}});
  softmax_forward(B{}, y.view(), x.cview(), keep.cview());
  softmax_forward(reference{}, ry.view(), rx.cview(), rkeep.cview());
  const auto got = values_of(y);
  for (double v : got) REQUIRE(std::isfinite(v));
  require_close<T>(got, values_of(ry), 4);
}

TEMPLATE_LIST_TEST_CASE("softmax_backward with beta = 0 overwrites dx without reading it", "[kernels][softmax]", backend_configs) {
  using B = typename TestType::backend;
  using T = typename TestType::value_type;
  const index_t batch = 2, rows = 5, cols = 19;
  const auto yv = rounded<T>(random_values(batch * rows * cols, 46, 0, 1)), dyv = rounded<T>(random_values(batch * rows * cols, 47));
  auto y = make_tensor<T, B>(shape<3>{{batch, rows, cols}}, yv), dy = make_tensor<T, B>(shape<3>{{batch, rows, cols}}, dyv);
  auto dx = make_tensor<T, B>(shape<3>{{batch, rows, cols}}, std::vector<double>(std::size_t(batch * rows * cols), std::nan("")));
  auto ry = make_tensor<double, reference>(shape<3>{{batch, rows, cols}}, yv), rdy = make_tensor<double, reference>(shape<3>{{batch, rows, cols}}, dyv);
  tensor<double, 3, reference> rdx(shape<3>{{batch, rows, cols}});  // zeros: accumulating into 0 is overwriting
  softmax_backward(B{}, dx.view(), dy.cview(), y.cview(), T(0));
  softmax_backward(reference{}, rdx.view(), rdy.cview(), ry.cview());
  require_close<T>(values_of(dx), values_of(rdx), 8);
}

TEMPLATE_LIST_TEST_CASE("a fully masked softmax row is zeros, and rows of probabilities sum to one", "[kernels][softmax]",
                        backend_configs) {
  using B = typename TestType::backend;
  using T = typename TestType::value_type;
  auto x = make_tensor<T, B>(shape<2>{{2, 3}}, {1, 2, 3, 1000, -1000, 0});
  tensor<bool, 2, B> keep(shape<2>{{2, 3}}, std::vector<bool>{false, false, false, true, true, true});
  tensor<T, 2, B> y(shape<2>{{2, 3}});
  softmax_forward(B{}, y.view(), x.cview(), keep.cview());
  const auto v = values_of(y);
  REQUIRE(v[0] == 0.0);
  REQUIRE(v[1] == 0.0);
  REQUIRE(v[2] == 0.0);
  require_close_scalar(v[3] + v[4] + v[5], 1.0, 1e-6, 0);
  REQUIRE(v[3] == 1.0);
}

TEMPLATE_LIST_TEST_CASE("softmax rejects a mask of the wrong shape", "[kernels][softmax][errors]", backend_configs) {
  using B = typename TestType::backend;
  using T = typename TestType::value_type;
  tensor<T, 3, B> x(shape<3>{{2, 3, 4}}), y(shape<3>{{2, 3, 4}});
  tensor<T, 2, B> mask(shape<2>{{4, 3}});
  tensor<bool, 2, B> keep(shape<2>{{3, 5}});
  REQUIRE_THROWS_AS(softmax_forward(B{}, y.view(), x.cview(), mask.cview()), shape_error);
  REQUIRE_THROWS_AS(softmax_forward(B{}, y.view(), x.cview(), keep.cview()), shape_error);
  tensor<T, 3, B> other(shape<3>{{2, 4, 4}});
  REQUIRE_THROWS_AS(softmax_backward(B{}, other.view(), x.cview(), y.cview()), shape_error);
}

TEMPLATE_LIST_TEST_CASE("softmax works in place (y is x), as attention uses it", "[kernels][softmax]", backend_configs) {
  using B = typename TestType::backend;
  using T = typename TestType::value_type;
  const index_t rows = 6, cols = 9;
  const auto xv = rounded<T>(random_values(2 * rows * cols, 45, -5, 5));
  std::vector<double> keepv;
  for (index_t r = 0; r < rows; ++r)
    for (index_t c = 0; c < cols; ++c) keepv.push_back(c <= r ? 1.0 : 0.0);
  tensor<bool, 2, B> keep(shape<2>{{rows, cols}}, keepv);
  tensor<bool, 2, reference> rkeep(shape<2>{{rows, cols}}, keepv);
  auto x = make_tensor<T, B>(shape<3>{{2, rows, cols}}, xv);
  auto rx = make_tensor<double, reference>(shape<3>{{2, rows, cols}}, xv);
  tensor<double, 3, reference> ry(shape<3>{{2, rows, cols}});
  softmax_forward(B{}, x.view(), x.cview(), keep.cview());
  softmax_forward(reference{}, ry.view(), rx.cview(), rkeep.cview());
  require_close<T>(values_of(x), values_of(ry), 4);
}
