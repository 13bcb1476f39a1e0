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
