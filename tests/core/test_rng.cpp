// The counter-based RNG: Random123's published Philox4x32-10 answers, sane distributions, and the
// same numbers from every backend and thread count.
#include "support/testing.hpp"

#if defined(_OPENMP)
#include <omp.h>
#endif

using namespace wfc;
using namespace wfc::testing;

TEST_CASE("philox4x32_10 reproduces Random123's known-answer vectors", "[core][rng]") {
  struct kat {
    philox_block ctr;
    std::uint32_t k0, k1;
    philox_block expected;
  };
  const kat cases[] = {
      {{{0, 0, 0, 0}}, 0, 0, {{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}}},
      {{{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}}, 0xffffffff, 0xffffffff, {{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}}},
      {{{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}}, 0xa4093822, 0x299f31d0, {{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}}},
  };
  for (const auto& k : cases) {
    const philox_block got = philox4x32_10(k.ctr, k.k0, k.k1);
    for (int i = 0; i < 4; ++i) REQUIRE(got.v[i] == k.expected.v[i]);
  }
}

TEST_CASE("uniform and normal draws have the right range and moments", "[core][rng]") {
  const counter_rng rng(2024, 3);
  const int n = 200000;
  double su = 0, sn = 0, sn2 = 0;
  for (int i = 0; i < n; ++i) {
    const float u = rng.uniform<float>(std::uint64_t(i));
    const double ud = rng.uniform<double>(std::uint64_t(i));
    REQUIRE((u >= 0.0f && u < 1.0f));
    REQUIRE((ud >= 0.0 && ud < 1.0));
    su += ud;
    const double z = rng.normal<double>(std::uint64_t(i));
    sn += z;
    sn2 += z * z;
  }
  REQUIRE(std::abs(su / n - 0.5) < 0.005);
  REQUIRE(std::abs(sn / n) < 0.01);
  REQUIRE(std::abs(sn2 / n - 1.0) < 0.02);
  REQUIRE(rng.uniform<double>(5) != rng.with_stream(4).uniform<double>(5));
  REQUIRE(rng.uniform<double>(5) != counter_rng(2025, 3).uniform<double>(5));
  REQUIRE(rng.uniform<double>(5) == counter_rng(2024, 3).uniform<double>(5));
}

TEMPLATE_LIST_TEST_CASE("random fills give the reference's numbers on every backend", "[core][rng]", backend_configs) {
  using B = typename TestType::backend;
  using T = typename TestType::value_type;
  const counter_rng rng(7);
  for (const auto& s : matrix_cases()) {
    CAPTURE(s.rows, s.cols, s.pad);
    padded_matrix<T, B> u(s.rows, s.cols, std::vector<double>(std::size_t(s.rows * s.cols)), s.pad);
    padded_matrix<T, B> z(s.rows, s.cols, std::vector<double>(std::size_t(s.rows * s.cols)), s.pad);
    tensor<T, 2, reference> ru(shape<2>{{s.rows, s.cols}}), rz(shape<2>{{s.rows, s.cols}});
    fill_uniform(B{}, u.view(), rng, T(-1), T(3), 100);
    fill_normal(B{}, z.view(), rng, T(1), T(0.5), 100);
    fill_uniform(reference{}, ru.view(), rng, T(-1), T(3), 100);
    fill_normal(reference{}, rz.view(), rng, T(1), T(0.5), 100);
    require_close<T>(u.values(), values_of(ru));
    require_close<T>(z.values(), values_of(rz));
    REQUIRE(u.padding_intact());
  }
}

#if defined(WFC_HAVE_CPU) && defined(_OPENMP)
TEST_CASE("cpu random fills do not depend on the thread count", "[core][rng][cpu]") {
  tensor<float, 2, cpu> a(shape<2>{{512, 300}}), b(shape<2>{{512, 300}});
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  fill_normal(cpu{}, a.view(), counter_rng(9), 0.f, 1.f);
  omp_set_num_threads(std::max(2, threads));
  fill_normal(cpu{}, b.view(), counter_rng(9), 0.f, 1.f);
  omp_set_num_threads(threads);
  REQUIRE(a.to_host() == b.to_host());
}
#endif
