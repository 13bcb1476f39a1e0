// Reductions (sum, squared norm, column sums) and the AdamW step on every backend.
#include "support/testing.hpp"

#if defined(_OPENMP)
#include <omp.h>
#endif

using namespace wfc;
using namespace wfc::testing;

TEMPLATE_LIST_TEST_CASE("sum, squared_norm and sum_rows match the reference", "[kernels][reduce]", backend_configs) {
  using B = typename TestType::backend;
  using T = typename TestType::value_type;
  for (const auto& s : matrix_cases()) {
    CAPTURE(s.rows, s.cols, s.pad);
    const auto xv = rounded<T>(random_values(s.rows * s.cols, 61, -1, 3));
    const auto ov = rounded<T>(random_values(s.cols, 62));
    padded_matrix<T, B> x(s.rows, s.cols, xv, s.pad);
    padded_matrix<double, reference> rx(s.rows, s.cols, xv, 0);
    const double n = double(std::max<index_t>(s.rows * s.cols, 1));
    require_close<T>({double(sum(B{}, as_const(x.view())))}, {sum(reference{}, as_const(rx.view()))}, n);
    require_close<T>({double(squared_norm(B{}, x.view()))}, {squared_norm(reference{}, rx.view())}, n);
    require_close<T>({double(norm(B{}, x.view()))}, {norm(reference{}, rx.view())}, n);

    auto out = make_tensor<T, B>(shape<1>{{s.cols}}, ov);
    auto rout = make_tensor<double, reference>(shape<1>{{s.cols}}, ov);
    sum_rows(B{}, out.view(), x.view());
    sum_rows(reference{}, rout.view(), rx.view());
    require_close<T>(values_of(out), values_of(rout), double(std::max<index_t>(s.rows, 1)));

    // Flat (rank-1) forms share the same kernels.
    auto flat = make_tensor<T, B>(shape<1>{{s.rows * s.cols}}, xv);
    require_close<T>({double(sum(B{}, flat.cview()))}, {sum(reference{}, as_const(rx.view()))}, n);
  }
}

TEMPLATE_LIST_TEST_CASE("dot and row_squared_norms match the reference", "[kernels][reduce]", backend_configs) {
  using B = typename TestType::backend;
  using T = typename TestType::value_type;
  for (const auto& s : matrix_cases()) {
    CAPTURE(s.rows, s.cols, s.pad);
    const auto av = rounded<T>(random_values(s.rows * s.cols, 71, -1, 2));
    const auto bv = rounded<T>(random_values(s.rows * s.cols, 72, -2, 1));
    padded_matrix<T, B> a(s.rows, s.cols, av, s.pad), b(s.rows, s.cols, bv, 0);
    padded_matrix<double, reference> ra(s.rows, s.cols, av, 0), rb(s.rows, s.cols, bv, 0);
    const double n = double(std::max<index_t>(s.rows * s.cols, 1));
    require_close<T>({double(dot(B{}, as_const(a.view()), as_const(b.view())))}, {dot(reference{}, as_const(ra.view()), as_const(rb.view()))}, n);

    auto out = make_tensor<T, B>(shape<1>{{s.rows}}, std::vector<double>(std::size_t(s.rows), 7.0));  // overwritten
    std::vector<double> expected(std::size_t(s.rows), 0.0);
    for (index_t r = 0; r < s.rows; ++r)
      for (index_t c = 0; c < s.cols; ++c) expected[std::size_t(r)] += av[std::size_t(r * s.cols + c)] * av[std::size_t(r * s.cols + c)];
    row_squared_norms(B{}, out.view(), as_const(a.view()));
    require_close<T>(values_of(out), expected, double(std::max<index_t>(s.cols, 1)));
  }
  auto x = make_tensor<T, B>(shape<2>{{2, 3}}, std::vector<double>(6, 1.0));
  auto wrong = make_tensor<T, B>(shape<2>{{3, 2}}, std::vector<double>(6, 1.0));
  auto short_out = make_tensor<T, B>(shape<1>{{1}}, std::vector<double>(1, 0.0));
  REQUIRE_THROWS_AS(dot(B{}, x.cview(), wrong.cview()), shape_error);
  REQUIRE_THROWS_AS(row_squared_norms(B{}, short_out.view(), x.cview()), shape_error);
}

TEMPLATE_LIST_TEST_CASE("sums of small integers are exact: no row or column is dropped or doubled", "[kernels][reduce]",
                        backend_configs) {
  using B = typename TestType::backend;
  using T = typename TestType::value_type;
  // Every partial sum stays an integer below 2^24, so float adds exactly in any order.
  for (const auto& s : matrix_cases()) {
    CAPTURE(s.rows, s.cols, s.pad);
    std::vector<double> xv(std::size_t(s.rows * s.cols));
    double total = 0, squares = 0;
    std::vector<double> col(std::size_t(s.cols), 2.0);  // sum_rows accumulates onto 2
    for (index_t r = 0; r < s.rows; ++r)
      for (index_t c = 0; c < s.cols; ++c) {
        const double v = double((r * 7 + c * 3) % 5) - 2;
        xv[std::size_t(r * s.cols + c)] = v;
        total += v;
        squares += v * v;
        col[std::size_t(c)] += v;
      }
    padded_matrix<T, B> x(s.rows, s.cols, xv, s.pad);
    REQUIRE(double(sum(B{}, x.view())) == total);
    REQUIRE(double(squared_norm(B{}, x.view())) == squares);
    auto out = make_tensor<T, B>(shape<1>{{s.cols}}, std::vector<double>(std::size_t(s.cols), 2.0));
    sum_rows(B{}, out.view(), x.view());
    REQUIRE(values_of(out) == col);
  }
}

TEMPLATE_LIST_TEST_CASE("flat (rank-1) forms of the element-wise kernels and reductions", "[kernels][reduce]", backend_configs) {
  using B = typename TestType::backend;
  using T = typename TestType::value_type;
  for (index_t n : edge_sizes()) {
    CAPTURE(n);
    const auto xv = rounded<T>(random_values(n, 64)), yv = rounded<T>(random_values(n, 65));
    auto x = make_tensor<T, B>(shape<1>{{n}}, xv), y = make_tensor<T, B>(shape<1>{{n}}, yv);
    std::vector<double> expected(yv);
    for (std::size_t i = 0; i < expected.size(); ++i) expected[i] = 3 * (yv[i] + 0.5 * xv[i]);
    axpy(B{}, y.view(), T(0.5), x.cview());
    scale(B{}, y.view(), T(3));
    require_close<T>(values_of(y), expected, 4);
    double squares = 0;
    for (double v : xv) squares += v * v;
    require_close<T>({double(squared_norm(B{}, x.cview()))}, {squares}, double(std::max<index_t>(n, 1)));
    copy(B{}, y.view(), x.cview());
    REQUIRE(values_of(y) == xv);
    fill(B{}, y.view(), T(-1));
    REQUIRE(values_of(y) == std::vector<double>(std::size_t(n), -1.0));
  }
}

#if defined(WFC_HAVE_CPU) && defined(_OPENMP)
TEST_CASE("cpu reductions give bit-identical results for any thread count", "[kernels][reduce][cpu]") {
  const auto xv = random_values(300000, 63);
  auto x = make_tensor<float, cpu>(shape<2>{{600, 500}}, xv);
  tensor<float, 1, cpu> cols1(shape<1>{{500}}), cols2(shape<1>{{500}});
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  const float s1 = sum(cpu{}, x.cview()), n1 = squared_norm(cpu{}, x.cview());
  sum_rows(cpu{}, cols1.view(), x.cview());
  omp_set_num_threads(std::max(2, threads));
  const float s2 = sum(cpu{}, x.cview()), n2 = squared_norm(cpu{}, x.cview());
  sum_rows(cpu{}, cols2.view(), x.cview());
  omp_set_num_threads(threads);
  REQUIRE(s1 == s2);
  REQUIRE(n1 == n2);
  REQUIRE(cols1.to_host() == cols2.to_host());
}

TEST_CASE("cpu layernorm and scatter-add gradients are bit-identical for any thread count", "[kernels][reduce][cpu]") {
  // 1100×256 rows also takes scatter_add_rows past its threshold for threads.
  const index_t r = 1100, c = 256, vocab = 50;
  auto x = make_tensor<float, cpu>(shape<2>{{r, c}}, random_values(r * c, 66));
  auto dy = make_tensor<float, cpu>(shape<2>{{r, c}}, random_values(r * c, 67));
  auto gamma = make_tensor<float, cpu>(shape<1>{{c}}, random_values(c, 68)), beta = make_tensor<float, cpu>(shape<1>{{c}}, random_values(c, 69));
  std::vector<token_id> ids_host;
  for (index_t i = 0; i < r; ++i) ids_host.push_back(token_id((i * 13) % vocab));
  tensor<token_id, 1, cpu> ids(shape<1>{{r}}, ids_host);
  tensor<float, 2, cpu> y(shape<2>{{r, c}});
  tensor<float, 1, cpu> mean(shape<1>{{r}}), rstd(shape<1>{{r}});
  layernorm_forward(cpu{}, y.view(), mean.view(), rstd.view(), x.cview(), gamma.cview(), beta.cview());
  auto run = [&](int threads) {
    omp_set_num_threads(threads);
    tensor<float, 2, cpu> dx(shape<2>{{r, c}}), table(shape<2>{{vocab, c}});
    tensor<float, 1, cpu> dgamma(shape<1>{{c}}), dbeta(shape<1>{{c}});
    layernorm_backward(cpu{}, dx.view(), dgamma.view(), dbeta.view(), dy.cview(), x.cview(), mean.cview(), rstd.cview(), gamma.cview());
    scatter_add_rows(cpu{}, table.view(), dy.cview(), ids.cview());
    return std::vector<std::vector<float>>{dx.to_host(), dgamma.to_host(), dbeta.to_host(), table.to_host()};
  };
  const int threads = omp_get_max_threads();
  const auto one = run(1), two = run(std::max(2, threads));
  omp_set_num_threads(threads);
  REQUIRE(one == two);
  // and the scatter-add equals the reference
  tensor<float, 2, reference> rtable(shape<2>{{vocab, c}});
  scatter_add_rows(reference{}, rtable.view(), dy.cview(), ids.cview());
  require_close<float>(convert<double>(one[3]), values_of(rtable), 64);
}
#endif

TEMPLATE_LIST_TEST_CASE("adamw_step matches the reference over several steps", "[kernels][adamw]", backend_configs) {
  using B = typename TestType::backend;
  using T = typename TestType::value_type;
  for (index_t n : edge_sizes()) {
    CAPTURE(n);
    const auto pv = rounded<T>(random_values(n, 71)), gv = rounded<T>(random_values(n, 72));
    auto p = make_tensor<T, B>(shape<1>{{n}}, pv);
    auto g = make_tensor<T, B>(shape<1>{{n}}, gv);
    tensor<T, 1, B> m(shape<1>{{n}}), v(shape<1>{{n}});
    auto rp = make_tensor<double, reference>(shape<1>{{n}}, pv);
    auto rg = make_tensor<double, reference>(shape<1>{{n}}, gv);
    tensor<double, 1, reference> rm(shape<1>{{n}}), rv(shape<1>{{n}});
    adamw_options opt;
    opt.lr = 1e-2;
    opt.beta2 = 0.99;
    opt.weight_decay = 0.1;
    for (opt.step = 1; opt.step <= 3; ++opt.step) {
      adamw_step(B{}, p.view(), g.cview(), m.view(), v.view(), opt);
      adamw_step(reference{}, rp.view(), rg.cview(), rm.view(), rv.view(), opt);
    }
    require_close<T>(values_of(p), values_of(rp), 16);
    require_close<T>(values_of(m), values_of(rm), 16);
    require_close<T>(values_of(v), values_of(rv), 16);
  }
}

TEMPLATE_LIST_TEST_CASE("adamw's first step moves each weight by lr against its gradient's sign", "[kernels][adamw]",
                        backend_configs) {
  using B = typename TestType::backend;
  using T = typename TestType::value_type;
  auto p = make_tensor<T, B>(shape<1>{{3}}, {1.0, 1.0, 1.0});
  auto g = make_tensor<T, B>(shape<1>{{3}}, {0.5, -2.0, 1e-3});
  tensor<T, 1, B> m(shape<1>{{3}}), v(shape<1>{{3}});
  adamw_options opt;
  opt.lr = 0.01;
  adamw_step(B{}, p.view(), g.cview(), m.view(), v.view(), opt);
  const auto got = values_of(p);
  require_close_scalar(got[0], 0.99, 1e-5, 0);
  require_close_scalar(got[1], 1.01, 1e-5, 0);
  require_close_scalar(got[2], 0.99, 1e-4, 0);
}

TEMPLATE_LIST_TEST_CASE("adamw rejects bad settings and mismatched buffers", "[kernels][adamw][errors]", backend_configs) {
  using B = typename TestType::backend;
  using T = typename TestType::value_type;
  tensor<T, 1, B> p(shape<1>{{4}}), g(shape<1>{{4}}), m(shape<1>{{4}}), v(shape<1>{{3}});
  REQUIRE_THROWS_AS(adamw_step(B{}, p.view(), g.cview(), m.view(), v.view(), {}), shape_error);
  tensor<T, 1, B> v4(shape<1>{{4}});
  adamw_options bad;
  bad.step = 0;
  REQUIRE_THROWS_AS(adamw_step(B{}, p.view(), g.cview(), m.view(), v4.view(), bad), value_error);
  bad.step = 1;
  bad.beta1 = 1.0;
  REQUIRE_THROWS_AS(adamw_step(B{}, p.view(), g.cview(), m.view(), v4.view(), bad), value_error);
}
