// GEMM and batched GEMM on every backend against the double-precision reference, with every
// operand layout (dense, padded, transposed), alpha/beta, and shape errors.
#include "support/testing.hpp"

#if defined(_OPENMP)
#include <omp.h>
#endif

using namespace wfc;
using namespace wfc::testing;

namespace {

// An operand of logical shape [r, c], stored dense, padded, or as the transpose of a [c, r] buffer.
enum class layout { dense, padded, transposed };

template <class T, class B>
struct gemm_operand {
  index_t rows, cols;
  layout how;
  padded_matrix<T, B> store;
  gemm_operand(index_t r, index_t c, layout l, const std::vector<double>& logical)
      : rows(r), cols(c), how(l),
        store(l == layout::transposed ? c : r, l == layout::transposed ? r : c,
              l == layout::transposed ? transposed_values(r, c, logical) : logical, l == layout::padded ? 2 : 0) {}
  tensor_view<T, 2> view() { return how == layout::transposed ? transpose(store.view()) : store.view(); }
  std::vector<double> logical_values() const {
    return how == layout::transposed ? transposed_values(cols, rows, store.values()) : store.values();
  }
  static std::vector<double> transposed_values(index_t r, index_t c, const std::vector<double>& v) {
    std::vector<double> t(v.size());
    for (index_t i = 0; i < r; ++i)
      for (index_t j = 0; j < c; ++j) t[std::size_t(j * r + i)] = v[std::size_t(i * c + j)];
    return t;
  }
};

std::vector<double> reference_gemm(index_t m, index_t n, index_t k, const std::vector<double>& a,
                                   const std::vector<double>& b, const std::vector<double>& c, double alpha, double beta) {
  auto ta = make_tensor<double, reference>(shape<2>{{m, k}}, a);
  auto tb = make_tensor<double, reference>(shape<2>{{k, n}}, b);
  auto tc = make_tensor<double, reference>(shape<2>{{m, n}}, c);
  gemm(reference{}, tc.view(), ta.cview(), tb.cview(), alpha, beta);
  return values_of(tc);
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("gemm matches the reference for every layout, size and alpha/beta", "[kernels][gemm]", backend_configs) {
  using B = typename TestType::backend;
  using T = typename TestType::value_type;
  // {130, 70, 33}: several output tiles in both directions on tiled backends (Kokkos: 64-wide);
  // {1, 70, 130} and {4, 65, 33}: a few rows (a token at a time), which Kokkos computes as dot products.
  const index_t mnk[][3] = {{0, 3, 4},    {3, 0, 4},   {3, 4, 0},    {1, 1, 1},    {7, 7, 7},
                            {64, 7, 1031}, {33, 64, 64}, {130, 70, 33}, {1, 70, 130}, {4, 65, 33}};
  const layout layouts[] = {layout::dense, layout::padded, layout::transposed};
  for (const auto& s : mnk)
    for (layout la : layouts)
      for (layout lb : layouts)
        for (layout lc : {layout::dense, layout::padded, layout::transposed}) {
          const index_t m = s[0], n = s[1], k = s[2];
          CAPTURE(m, n, k, int(la), int(lb), int(lc));
          const auto av = rounded<T>(random_values(m * k, 1)), bv = rounded<T>(random_values(k * n, 2)),
                     cv = rounded<T>(random_values(m * n, 3));
          gemm_operand<T, B> a(m, k, la, av), b(k, n, lb, bv), c(m, n, lc, cv);
          for (auto [alpha, beta] : {std::pair<double, double>{1, 0}, {0.5, 1}, {-1.5, 0.25}}) {
            CAPTURE(alpha, beta);
            gemm_operand<T, B> cc(m, n, lc, cv);
            gemm(B{}, cc.view(), a.view(), b.view(), T(alpha), T(beta));
            require_close<T>(cc.logical_values(), reference_gemm(m, n, k, av, bv, cv, alpha, beta), double(std::max<index_t>(k, 1)));
            REQUIRE(cc.store.padding_intact());
          }
          (void)c;
        }
}

TEMPLATE_LIST_TEST_CASE("gemm with beta = 0 ignores NaN in c, as BLAS does", "[kernels][gemm]", backend_configs) {
  using B = typename TestType::backend;
  using T = typename TestType::value_type;
  auto a = make_tensor<T, B>(shape<2>{{4, 5}}, random_values(20, 4));
  auto b = make_tensor<T, B>(shape<2>{{5, 6}}, random_values(30, 5));
  auto c = make_tensor<T, B>(shape<2>{{4, 6}}, std::vector<double>(24, std::nan("")));
  gemm(B{}, c.view(), a.cview(), b.cview());
  for (double v : values_of(c)) REQUIRE(std::isfinite(v));
}

TEMPLATE_LIST_TEST_CASE("batched gemm matches per-batch reference gemm, with per-head strided views", "[kernels][gemm]",
                        backend_configs) {
  using B = typename TestType::backend;
  using T = typename TestType::value_type;
  // Q and K as [T, H·dh] row-major buffers seen as [H, T, dh] without copying, as attention does.
  const index_t heads = 3, steps = 70, dh = 5;  // 70 steps: more than one 64-wide tile
  for (bool transpose_b : {false, true}) {
    const auto qv = rounded<T>(random_values(steps * heads * dh, 6)), kv = rounded<T>(random_values(steps * heads * dh, 7));
    auto q = make_tensor<T, B>(shape<2>{{steps, heads * dh}}, qv);
    auto k = make_tensor<T, B>(shape<2>{{steps, heads * dh}}, kv);
    const shape<3> per_head{{heads, steps, dh}}, strides{{dh, heads * dh, 1}};
    tensor_view<const T, 3> qh(q.data(), per_head, strides), kh(k.data(), per_head, strides);
    // transpose_b: scores = Q·Kᵀ [H, T, T]; else Qᵀ·K [H, dh, dh]
    const index_t rows = transpose_b ? steps : dh;
    tensor<T, 3, B> out(shape<3>{{heads, rows, rows}});
    if (transpose_b)
      batched_gemm(B{}, out.view(), qh, transpose(kh), T(0.5));
    else
      batched_gemm(B{}, out.view(), transpose(qh), kh, T(0.5));
    const auto got = values_of(out);
    for (index_t h = 0; h < heads; ++h) {
      std::vector<double> qa, ka;
      for (index_t t = 0; t < steps; ++t)
        for (index_t d = 0; d < dh; ++d) {
          qa.push_back(qv[std::size_t(t * heads * dh + h * dh + d)]);
          ka.push_back(kv[std::size_t(t * heads * dh + h * dh + d)]);
        }
      const auto ktr = gemm_operand<double, reference>::transposed_values(steps, dh, ka);
      const auto qtr = gemm_operand<double, reference>::transposed_values(steps, dh, qa);
      const auto expected = transpose_b ? reference_gemm(steps, steps, dh, qa, ktr, std::vector<double>(std::size_t(steps * steps)), 0.5, 0)
                                        : reference_gemm(dh, dh, steps, qtr, ka, std::vector<double>(std::size_t(dh * dh)), 0.5, 0);
      const std::vector<double> head(got.begin() + h * rows * rows, got.begin() + (h + 1) * rows * rows);
      require_close<T>(head, expected, double(steps));
    }
  }
}

TEMPLATE_LIST_TEST_CASE("batched gemm over two batch dimensions matches the rank-3 one on each slice", "[kernels][gemm]",
                        backend_configs) {
  using B = typename TestType::backend;
  using T = typename TestType::value_type;
  // Attention's layout: [sequences·steps, heads·dh] buffers seen as [sequences, heads, steps, dh].
  const index_t seqs = 3, heads = 2, steps = 9, dh = 4;
  const auto qv = rounded<T>(random_values(seqs * steps * heads * dh, 12)), kv = rounded<T>(random_values(seqs * steps * heads * dh, 13));
  auto q = make_tensor<T, B>(shape<2>{{seqs * steps, heads * dh}}, qv), k = make_tensor<T, B>(shape<2>{{seqs * steps, heads * dh}}, kv);
  const shape<4> ext{{seqs, heads, steps, dh}}, str{{steps * heads * dh, dh, heads * dh, 1}};
  tensor_view<const T, 4> q4(q.data(), ext, str), k4(k.data(), ext, str);
  tensor<T, 4, B> s4(shape<4>{{seqs, heads, steps, steps}});
  batched_gemm(B{}, s4.view(), q4, transpose(k4), T(0.5));
  tensor<T, 3, B> s3(shape<3>{{heads, steps, steps}});
  const auto all = values_of(s4);
  for (index_t s = 0; s < seqs; ++s) {
    batched_gemm(B{}, s3.view(), q4[s], transpose(k4[s]), T(0.5));
    const std::vector<double> slice(all.begin() + s * heads * steps * steps, all.begin() + (s + 1) * heads * steps * steps);
    REQUIRE(slice == values_of(s3));
  }
  tensor<T, 4, B> bad(shape<4>{{seqs, heads + 1, steps, steps}});
  REQUIRE_THROWS_AS(batched_gemm(B{}, bad.view(), q4, transpose(k4)), shape_error);
}

#if defined(WFC_HAVE_CPU) && defined(_OPENMP)
TEST_CASE("cpu gemm gives bit-identical results for any thread count", "[kernels][gemm][cpu]") {
  // Shapes that split c by rows and by columns, a depth of several packed blocks, transposed
  // operands, partial edge tiles and beta = 1.
  const index_t shapes[][3] = {{301, 67, 129}, {37, 290, 600}, {130, 515, 70}};
  for (const auto& s : shapes)
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        const index_t m = s[0], n = s[1], k = s[2];
        CAPTURE(m, n, k, ta, tb);
        auto a = make_tensor<float, cpu>(ta ? shape<2>{{k, m}} : shape<2>{{m, k}}, random_values(m * k, 14));
        auto b = make_tensor<float, cpu>(tb ? shape<2>{{n, k}} : shape<2>{{k, n}}, random_values(k * n, 15));
        const auto cv = random_values(m * n, 16);
        auto run = [&](int threads) {
          omp_set_num_threads(threads);
          auto c = make_tensor<float, cpu>(shape<2>{{m, n}}, cv);
          gemm(cpu{}, c.view(), ta ? transpose(a.cview()) : a.cview(), tb ? transpose(b.cview()) : b.cview(), 0.5f, 1.f);
          return c.to_host();
        };
        const int threads = omp_get_max_threads();
        const auto one = run(1), two = run(std::max(2, threads)), three = run(3);
        omp_set_num_threads(threads);
        REQUIRE(one == two);
        REQUIRE(one == three);
      }
}
#endif

TEMPLATE_LIST_TEST_CASE("gemm rejects mismatched shapes with both shapes in the message", "[kernels][gemm][errors]",
                        backend_configs) {
  using B = typename TestType::backend;
  using T = typename TestType::value_type;
  tensor<T, 2, B> a(shape<2>{{4, 5}}), b(shape<2>{{6, 3}}), c(shape<2>{{4, 3}});
  try {
    gemm(B{}, c.view(), a.cview(), b.cview());
    FAIL("no exception");
  } catch (const shape_error& e) {
    const std::string msg = e.what();
    REQUIRE(msg.find("[4, 5]") != std::string::npos);
    REQUIRE(msg.find("[6, 3]") != std::string::npos);
  }
  tensor<T, 3, B> a3(shape<3>{{2, 4, 5}}), b3(shape<3>{{3, 5, 3}}), c3(shape<3>{{2, 4, 3}});
  REQUIRE_THROWS_AS(batched_gemm(B{}, c3.view(), a3.cview(), b3.cview()), shape_error);
}

TEMPLATE_LIST_TEST_CASE("gemm accepts views with no unit stride at all", "[kernels][gemm]", backend_configs) {
  using B = typename TestType::backend;
  using T = typename TestType::value_type;
  // Every other element of every other row: strides (2·2·cols, 2), no dimension is contiguous.
  auto strided = [](tensor<T, 2, B>& storage, index_t rows, index_t cols) {
    return tensor_view<T, 2>(storage.data(), shape<2>{{rows, cols}}, shape<2>{{4 * cols, 2}});
  };
  const index_t m = 5, n = 6, k = 7;
  const auto av = rounded<T>(random_values(4 * m * k, 9)), bv = rounded<T>(random_values(4 * k * n, 10));
  const auto cv = rounded<T>(random_values(4 * m * n, 11));
  auto as = make_tensor<T, B>(shape<2>{{2 * m, 2 * k}}, av), bs = make_tensor<T, B>(shape<2>{{2 * k, 2 * n}}, bv);
  auto cs = make_tensor<T, B>(shape<2>{{2 * m, 2 * n}}, cv);
  auto logical = [](const std::vector<double>& v, index_t rows, index_t cols) {
    std::vector<double> out;
    for (index_t i = 0; i < rows; ++i)
      for (index_t j = 0; j < cols; ++j) out.push_back(v[std::size_t(i * 4 * cols + 2 * j)]);
    return out;
  };
  gemm(B{}, strided(cs, m, n), as_const(strided(as, m, k)), as_const(strided(bs, k, n)), T(2), T(-1));
  const auto expected = reference_gemm(m, n, k, logical(av, m, k), logical(bv, k, n), logical(cv, m, n), 2, -1);
  const auto all = values_of(cs);
  require_close<T>(logical(all, m, n), expected, double(k));
  for (std::size_t i = 0; i < all.size(); ++i)  // elements between the strided ones are untouched
    if (!((i / std::size_t(2 * n)) % 2 == 0 && i % 2 == 0)) REQUIRE(all[i] == cv[i]);
}
