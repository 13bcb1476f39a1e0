// Tensors and views: layout, slicing without copies, transposition, reshape, host round trips on
// every backend, and the errors bad shapes raise.
#include <type_traits>

#include "support/testing.hpp"

using namespace wfc;
using namespace wfc::testing;

static_assert(std::is_trivially_copyable_v<tensor_view<float, 3>>, "views are captured by value in device kernels");
static_assert(std::is_trivially_copyable_v<tensor_view<const double, 1>>);
static_assert(std::is_convertible_v<tensor_view<float, 2>, tensor_view<const float, 2>>);
static_assert(!std::is_convertible_v<tensor_view<const float, 2>, tensor_view<float, 2>>, "const must not be dropped");
static_assert(!std::is_copy_constructible_v<tensor<float, 2, reference>>, "tensors copy only through clone()");
static_assert(std::is_base_of_v<error, shape_error> && std::is_base_of_v<error, value_error> &&
              std::is_base_of_v<error, config_error> && std::is_base_of_v<error, io_error> &&
              std::is_base_of_v<std::runtime_error, error>);

TEST_CASE("a view indexes row-major and slices, transposes and reshapes without copying", "[core][tensor]") {
  tensor<int, 2, reference> t(shape<2>{{3, 4}}, std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  auto v = t.view();
  REQUIRE(v.extent(0) == 3);
  REQUIRE(v.stride(0) == 4);
  REQUIRE(v(2, 1) == 9);
  REQUIRE(v.is_contiguous());

  auto cols = v.slice(1, 1, 3);  // columns 1 and 2
  REQUIRE(cols.extents() == shape<2>{{3, 2}});
  REQUIRE(cols(2, 0) == 9);
  REQUIRE(cols.data() == t.data() + 1);
  REQUIRE_FALSE(cols.is_contiguous());
  cols(0, 1) = 42;
  REQUIRE(t.to_host()[2] == 42);

  auto rows = v.slice(0, 1, 3);
  REQUIRE(rows.is_contiguous());
  REQUIRE(rows(0, 0) == 4);

  auto tr = transpose(v);
  REQUIRE(tr.extents() == shape<2>{{4, 3}});
  REQUIRE(tr(1, 2) == v(2, 1));

  auto row = v[1];
  REQUIRE(row.extent(0) == 4);
  REQUIRE(row(3) == 7);

  auto cube = reshape(v, shape<3>{{2, 3, 2}});
  REQUIRE(cube(1, 2, 1) == 11);
  REQUIRE_THROWS_AS(reshape(cols, shape<1>{{6}}), shape_error);
  REQUIRE_THROWS_AS(reshape(v, shape<2>{{5, 2}}), shape_error);
  REQUIRE_THROWS_AS(v.slice(1, 2, 5), shape_error);
  REQUIRE_THROWS_AS(v.slice(0, 2, 1), shape_error);
  REQUIRE_THROWS_AS(v[3], shape_error);
  REQUIRE(to_string(v.extents()) == "[3, 4]");
  REQUIRE(tensor<float, 3, reference>(2, 3, 4).extents() == shape<3>{{2, 3, 4}});
}

TEST_CASE("host tensors are 64-byte aligned and zero-initialised", "[core][tensor]") {
  for (index_t n : edge_sizes()) {
    tensor<float, 1, reference> a(shape<1>{{n}});
    if (n > 0) REQUIRE(reinterpret_cast<std::uintptr_t>(a.data()) % 64 == 0);
    for (float x : a.to_host()) REQUIRE(x == 0.0f);
  }
#if defined(WFC_HAVE_CPU)
  tensor<double, 2, cpu> b(shape<2>{{7, 9}});
  REQUIRE(reinterpret_cast<std::uintptr_t>(b.data()) % 64 == 0);
#endif
  REQUIRE_THROWS_AS((tensor<float, 2, reference>(shape<2>{{-1, 3}})), shape_error);
  require_throws_containing<shape_error>([] { tensor<float, 2, reference>(index_t(1) << 40, index_t(1) << 30); }, "does not fit");
}

TEMPLATE_LIST_TEST_CASE("tensors round-trip host values, clone deeply and reject wrong sizes", "[core][tensor]", backend_configs) {
  using B = typename TestType::backend;
  using T = typename TestType::value_type;
  const auto values = convert<T>(random_values(35, 1));
  tensor<T, 2, B> t(shape<2>{{5, 7}}, values);
  REQUIRE(t.to_host() == values);
  auto c = t.clone();
  REQUIRE(c.data() != t.data());
  REQUIRE(c.to_host() == values);
  fill(B{}, t.view(), T(1));
  REQUIRE(c.to_host() == values);
  require_throws_containing<shape_error>([&] { t.copy_from_host(std::vector<T>(34)); }, "[5, 7]");
  tensor<T, 2, B> moved = std::move(t);
  REQUIRE(moved.size() == 35);
  tensor<T, 2, B> empty(shape<2>{{0, 3}});
  REQUIRE(empty.empty());
  REQUIRE(empty.to_host().empty());
}
