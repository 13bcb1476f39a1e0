// Rotary position embedding on every backend: against the double-precision reference (dense,
// padded, transposed, and the q/k column slices of a qkv buffer), inverse after forward, the
// relative-position property that is the point of RoPE, one entry by hand, and the errors.
#include <type_traits>

#include "support/testing.hpp"

using namespace wfc;
using namespace wfc::testing;

namespace {

std::vector<token_id> some_positions(index_t rows) {
  std::vector<token_id> out;
  for (index_t r = 0; r < rows; ++r) out.push_back(token_id((r * 37 + 5) % 1500));  // 0 … 1499, unordered
  if (rows > 0) out[0] = 0;
  return out;
}

struct rotary_case {
  index_t rows, heads, head_width, pad;
  double base;
};

}  // namespace

TEMPLATE_LIST_TEST_CASE("rotary_embedding matches the reference", "[kernels][rotary]", backend_configs) {
  using B = typename TestType::backend;
  using T = typename TestType::value_type;
  const rotary_case cases[] = {{0, 2, 4, 0, 1e4}, {3, 0, 4, 3, 1e4}, {1, 1, 2, 0, 1e4},   {3, 2, 8, 3, 1e4},
                               {7, 3, 6, 0, 500}, {64, 4, 16, 3, 1e4}, {33, 2, 64, 0, 1e4}, {300, 4, 32, 3, 1e4}};
  for (const auto& s : cases) {
    const index_t rows = s.rows, cols = s.heads * s.head_width;
    CAPTURE(rows, s.heads, s.head_width, s.pad, s.base);
    const auto pos = some_positions(rows);
    tensor<token_id, 1, B> positions(shape<1>{{rows}}, pos);
    tensor<token_id, 1, reference> rpositions(shape<1>{{rows}}, pos);
    const auto xv = rounded<T>(random_values(rows * cols, 301));
    padded_matrix<T, B> x(rows, cols, xv, s.pad);
    padded_matrix<double, reference> rx(rows, cols, xv, 0);
    for (bool inverse : {false, true}) {
      CAPTURE(inverse);
      rotary_embedding(B{}, x.view(), positions.cview(), s.head_width, s.base, inverse);
      rotary_embedding(reference{}, rx.view(), rpositions.cview(), s.head_width, s.base, inverse);
      require_close<T>(x.values(), rx.values());
      REQUIRE(x.padding_intact());
    }
  }
}

TEMPLATE_LIST_TEST_CASE("rotary_embedding on the q and k slices of a qkv buffer, and on transposed storage",
                        "[kernels][rotary][strided]", backend_configs) {
  using B = typename TestType::backend;
  using T = typename TestType::value_type;
  const index_t rows = 9, heads = 3, head_width = 8, width = heads * head_width;
  const auto pos = some_positions(rows);
  tensor<token_id, 1, B> positions(shape<1>{{rows}}, pos);
  tensor<token_id, 1, reference> rpositions(shape<1>{{rows}}, pos);

  SECTION("column slices of [N, 3·width]") {
    const auto qkv_values = rounded<T>(random_values(rows * 3 * width, 311));
    auto qkv = make_tensor<T, B>(shape<2>{{rows, 3 * width}}, qkv_values);
    auto rqkv = make_tensor<double, reference>(shape<2>{{rows, 3 * width}}, qkv_values);
    for (index_t part : {0, 1}) {  // q, then k; v must stay as it was
      rotary_embedding(B{}, qkv.view().slice(1, part * width, (part + 1) * width), positions.cview(), head_width, 1e4, false);
      rotary_embedding(reference{}, rqkv.view().slice(1, part * width, (part + 1) * width), rpositions.cview(), head_width,
                       1e4, false);
    }
    const auto got = values_of(qkv), expected = values_of(rqkv);
    require_close<T>(got, expected);
    for (index_t r = 0; r < rows; ++r)
      for (index_t c = 2 * width; c < 3 * width; ++c) {
        const auto i = std::size_t(r * 3 * width + c);
        REQUIRE(got[i] == qkv_values[i]);
      }
  }

  SECTION("rows that are not contiguous") {
    const auto xv = rounded<T>(random_values(rows * width, 312));
    transposed_matrix<T, B> x(rows, width, xv);
    auto rx = make_tensor<double, reference>(shape<2>{{rows, width}}, xv);
    rotary_embedding(B{}, x.view(), positions.cview(), head_width, 1e4, false);
    rotary_embedding(reference{}, rx.view(), rpositions.cview(), head_width, 1e4, false);
    require_close<T>(x.values(), values_of(rx));
  }
}

TEMPLATE_LIST_TEST_CASE("rotary_embedding on a batch of sequences (positions repeating) matches the reference and each row alone",
                        "[kernels][rotary]", backend_configs) {
  using B = typename TestType::backend;
  using T = typename TestType::value_type;
  // 4 sequences of 13 positions from 7 on (a window after a warm start): the CPU backend computes
  // each position's angles once here, and row by row where every row is alone.
  const index_t sequences = 4, steps = 13, rows = sequences * steps, heads = 2, head_width = 16, cols = heads * head_width;
  std::vector<token_id> pos;
  for (index_t r = 0; r < rows; ++r) pos.push_back(token_id(7 + r % steps));
  tensor<token_id, 1, B> positions(shape<1>{{rows}}, pos);
  tensor<token_id, 1, reference> rpositions(shape<1>{{rows}}, pos);
  const auto xv = rounded<T>(random_values(rows * cols, 331));
  for (bool inverse : {false, true}) {
    CAPTURE(inverse);
    padded_matrix<T, B> x(rows, cols, xv, 3);
    padded_matrix<double, reference> rx(rows, cols, xv, 0);
    rotary_embedding(B{}, x.view(), positions.cview(), head_width, 1e4, inverse);
    rotary_embedding(reference{}, rx.view(), rpositions.cview(), head_width, 1e4, inverse);
    require_close<T>(x.values(), rx.values());
    REQUIRE(x.padding_intact());
    // Row by row (one position each): the very same values.
    auto one = make_tensor<T, B>(shape<2>{{rows, cols}}, xv);
    for (index_t r = 0; r < rows; ++r) {
      tensor<token_id, 1, B> at(shape<1>{{1}}, std::vector<token_id>{pos[std::size_t(r)]});
      rotary_embedding(B{}, one.view().slice(0, r, r + 1), at.cview(), head_width, 1e4, inverse);
    }
    REQUIRE(values_of(one) == x.values());
  }
}

TEMPLATE_LIST_TEST_CASE("rotary_embedding inverse undoes forward", "[kernels][rotary]", backend_configs) {
  using B = typename TestType::backend;
  using T = typename TestType::value_type;
  const index_t rows = 50, heads = 4, head_width = 16, cols = heads * head_width;
  tensor<token_id, 1, B> positions(shape<1>{{rows}}, some_positions(rows));
  const auto xv = rounded<T>(random_values(rows * cols, 321));
  padded_matrix<T, B> x(rows, cols, xv, 2);
  rotary_embedding(B{}, x.view(), positions.cview(), head_width, 1e4, false);
  rotary_embedding(B{}, x.view(), positions.cview(), head_width, 1e4, true);
  require_close<T>(x.values(), xv, 4);
  REQUIRE(x.padding_intact());
}

TEMPLATE_LIST_TEST_CASE("rotary_embedding makes q·k depend on the offset only; position 0 is the identity",
                        "[kernels][rotary]", backend_configs) {
  using B = typename TestType::backend;
  using T = typename TestType::value_type;
  const index_t heads = 3, head_width = 8, cols = heads * head_width;
  // The same q in every row (and the same k), at positions m (q) and n (k):
  // rows 0 and 1 have m − n = 3, rows 2 and 3 have m − n = 0 and row 3 is not rotated at all.
  const std::vector<token_id> m = {5, 113, 41, 0}, n = {2, 110, 41, 0};
  const index_t rows = index_t(m.size());
  const auto q1 = rounded<T>(random_values(cols, 331)), k1 = rounded<T>(random_values(cols, 332));
  std::vector<double> qv, kv;
  for (index_t r = 0; r < rows; ++r) {
    qv.insert(qv.end(), q1.begin(), q1.end());
    kv.insert(kv.end(), k1.begin(), k1.end());
  }
  auto q = make_tensor<T, B>(shape<2>{{rows, cols}}, qv), k = make_tensor<T, B>(shape<2>{{rows, cols}}, kv);
  tensor<token_id, 1, B> qpos(shape<1>{{rows}}, m), kpos(shape<1>{{rows}}, n);
  rotary_embedding(B{}, q.view(), qpos.cview(), head_width, 1e4, false);
  rotary_embedding(B{}, k.view(), kpos.cview(), head_width, 1e4, false);
  const auto qr = values_of(q), kr = values_of(k);

  // Position 0 turns by angle 0: cos 1, sin 0, every value exactly as it was.
  for (index_t c = 0; c < cols; ++c) {
    REQUIRE(qr[std::size_t(3 * cols + c)] == q1[std::size_t(c)]);
    REQUIRE(kr[std::size_t(3 * cols + c)] == k1[std::size_t(c)]);
  }
  const double tol = std::is_same_v<T, float> ? 5e-5 : 1e-12;
  for (index_t h = 0; h < heads; ++h) {
    CAPTURE(h);
    double dot[4] = {0, 0, 0, 0};
    for (index_t r = 0; r < rows; ++r)
      for (index_t c = h * head_width; c < (h + 1) * head_width; ++c)
        dot[r] += qr[std::size_t(r * cols + c)] * kr[std::size_t(r * cols + c)];
    require_close_scalar(dot[1], dot[0], tol, tol);
    require_close_scalar(dot[2], dot[3], tol, tol);
    // and the offset matters: a turn of 3 steps changes the product
    REQUIRE(std::abs(dot[0] - dot[3]) > 1e-3);
  }
}

TEMPLATE_LIST_TEST_CASE("rotary_embedding by hand: pairs (i, i + head_width/2) turn by pos·base^(−2i/head_width)",
                        "[kernels][rotary]", backend_configs) {
  using B = typename TestType::backend;
  using T = typename TestType::value_type;
  const index_t heads = 2, head_width = 8, cols = heads * head_width;
  const auto xv = rounded<T>(random_values(2 * cols, 341));
  auto x = make_tensor<T, B>(shape<2>{{2, cols}}, xv);
  tensor<token_id, 1, B> positions(shape<1>{{2}}, std::vector<token_id>{0, 7});
  rotary_embedding(B{}, x.view(), positions.cview(), head_width, 100.0, false);
  const auto got = values_of(x);
  // Row 1, head 1, pair i = 2: features 8 + 2 and 8 + 2 + 4; angle 7·100^(−4/8) = 0.7.
  const std::size_t ia = std::size_t(cols + 10), ib = std::size_t(cols + 14);
  const double a = xv[ia], b = xv[ib], angle = 0.7;
  const double rel = tolerance<T>::rel, abs = tolerance<T>::abs;
  require_close_scalar(got[ia], a * std::cos(angle) - b * std::sin(angle), rel, abs);
  require_close_scalar(got[ib], a * std::sin(angle) + b * std::cos(angle), rel, abs);
  // pair i = 0 turns by the position itself (7 radians)
  const std::size_t ja = std::size_t(cols + 0), jb = std::size_t(cols + 4);
  require_close_scalar(got[ja], xv[ja] * std::cos(7.0) - xv[jb] * std::sin(7.0), rel, abs);
  require_close_scalar(got[jb], xv[ja] * std::sin(7.0) + xv[jb] * std::cos(7.0), rel, abs);
}

TEMPLATE_LIST_TEST_CASE("rotary_embedding rejects bad head widths, shapes and positions", "[kernels][rotary][errors]",
                        backend_configs) {
  using B = typename TestType::backend;
  using T = typename TestType::value_type;
  const auto xv = random_values(2 * 14, 351);
  auto x = make_tensor<T, B>(shape<2>{{2, 14}}, xv);
  tensor<token_id, 1, B> two(shape<1>{{2}}, std::vector<token_id>{0, 1}), three(shape<1>{{3}});
  const auto call = [&](index_t head_width, const tensor<token_id, 1, B>& positions) {
    rotary_embedding(B{}, x.view(), positions.cview(), head_width, 1e4, false);
  };
  require_throws_containing<config_error>([&] { call(7, two); }, "head_width must be positive and even");
  require_throws_containing<config_error>([&] { call(0, two); }, "got 0");
  require_throws_containing<shape_error>([&] { call(4, two); },
                                         "x has shape [2, 14], whose 14 columns are not a whole number of heads of width 4");
  require_throws_containing<shape_error>([&] { call(14, three); }, "positions has shape [3] but x has shape [2, 14]");
  require_throws_containing<config_error>(
      [&] { rotary_embedding(B{}, x.view(), two.cview(), 2, -1.0, false); }, "base must be positive");
  tensor<token_id, 1, B> negative(shape<1>{{2}}, std::vector<token_id>{3, -2});
  require_throws_containing<value_error>([&] { call(2, negative); }, "position -2 at row 1");
  REQUIRE(values_of(x) == rounded<T>(xv));  // nothing was touched
}
