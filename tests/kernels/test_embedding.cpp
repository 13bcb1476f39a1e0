// Row gather (one-hot embedding) and its scatter-add backward, with repeated ids, every backend.
#include "support/testing.hpp"

using namespace wfc;
using namespace wfc::testing;

TEMPLATE_LIST_TEST_CASE("gather_rows and scatter_add_rows match the reference", "[kernels][embedding]", backend_configs) {
  using B = typename TestType::backend;
  using T = typename TestType::value_type;
  const index_t vocab = 11;
  for (const auto& s : matrix_cases()) {
    const index_t r = s.rows, d = s.cols;
    CAPTURE(r, d, s.pad);
    std::vector<token_id> ids_host;
    for (index_t i = 0; i < r; ++i) ids_host.push_back(token_id((i * i + 3) % vocab));  // repeats
    tensor<token_id, 1, B> ids(shape<1>{{r}}, ids_host);
    tensor<token_id, 1, reference> rids(shape<1>{{r}}, ids_host);
    const auto tv = rounded<T>(random_values(vocab * d, 81)), ov = rounded<T>(random_values(r * d, 82));
    const auto dtv = rounded<T>(random_values(vocab * d, 83));

    padded_matrix<T, B> table(vocab, d, tv, s.pad), out(r, d, ov, s.pad), dtable(vocab, d, dtv, s.pad);
    padded_matrix<double, reference> rtable(vocab, d, tv, 0), rout(r, d, ov, 0), rdtable(vocab, d, dtv, 0);
    gather_rows(B{}, out.view(), table.view(), ids.cview());
    gather_rows(reference{}, rout.view(), rtable.view(), rids.cview());
    require_close<T>(out.values(), rout.values());
    REQUIRE(out.padding_intact());

    scatter_add_rows(B{}, dtable.view(), out.view(), ids.cview());
    scatter_add_rows(reference{}, rdtable.view(), rout.view(), rids.cview());
    require_close<T>(dtable.values(), rdtable.values(), double(std::max<index_t>(r, 1)));
    REQUIRE(dtable.padding_intact());
  }
}

TEMPLATE_LIST_TEST_CASE("gather and scatter reject ids outside the table", "[kernels][embedding][errors]", backend_configs) {
  using B = typename TestType::backend;
  using T = typename TestType::value_type;
  tensor<T, 2, B> table(shape<2>{{5, 3}}), out(shape<2>{{2, 3}});
  for (token_id bad : {5, -1}) {
    tensor<token_id, 1, B> ids(shape<1>{{2}}, std::vector<token_id>{bad, 0});
    require_throws_containing<value_error>([&] { gather_rows(B{}, out.view(), table.cview(), ids.cview()); }, "row 0");
    REQUIRE_THROWS_AS(scatter_add_rows(B{}, table.view(), out.cview(), ids.cview()), value_error);
  }
  tensor<token_id, 1, B> three(shape<1>{{3}});
  REQUIRE_THROWS_AS(gather_rows(B{}, out.view(), table.cview(), three.cview()), shape_error);
  tensor<T, 2, B> narrow(shape<2>{{5, 2}});
  tensor<token_id, 1, B> two(shape<1>{{2}});
  REQUIRE_THROWS_AS(gather_rows(B{}, out.view(), narrow.cview(), two.cview()), shape_error);
}
