// Cross-entropy forward/backward (with ignored rows) and softmax entropy on every backend.
#include <limits>

#include "support/testing.hpp"

using namespace wfc;
using namespace wfc::testing;

namespace {
std::vector<token_id> some_targets(index_t rows, index_t vocab) {
  std::vector<token_id> t;
  for (index_t r = 0; r < rows; ++r) t.push_back(r % 4 == 3 ? ignore_index : token_id((r * 7 + 3) % vocab));
  return t;
}
}  // namespace

TEMPLATE_LIST_TEST_CASE("cross-entropy and softmax entropy match the reference", "[kernels][losses]", backend_configs) {
  using B = typename TestType::backend;
  using T = typename TestType::value_type;
  for (const auto& s : matrix_cases()) {
    if (s.cols == 0) continue;  // no classes: rejected, tested below
    const index_t r = s.rows, v = s.cols;
    CAPTURE(r, v, s.pad);
    auto lv = rounded<T>(random_values(r * v, 51, -10, 10));
    if (r * v > 2) lv[1] = -std::numeric_limits<double>::infinity();  // a class that can never occur
    const auto gv = rounded<T>(random_values(r * v, 52)), dlv = rounded<T>(random_values(r, 53, 0.1, 1));
    const auto targets_host = some_targets(r, v);
    tensor<token_id, 1, B> targets(shape<1>{{r}}, targets_host);
    tensor<token_id, 1, reference> rtargets(shape<1>{{r}}, targets_host);
    if (r * v > 2 && targets_host[0] == 1) continue;  // a target with −inf logit has infinite loss

    padded_matrix<T, B> logits(r, v, lv, s.pad), dlogits(r, v, gv, s.pad);
    padded_matrix<double, reference> rlogits(r, v, lv, 0), rdlogits(r, v, gv, 0);
    tensor<T, 1, B> loss(shape<1>{{r}}), h(shape<1>{{r}});
    tensor<double, 1, reference> rloss(shape<1>{{r}}), rh(shape<1>{{r}});
    auto dloss = make_tensor<T, B>(shape<1>{{r}}, dlv);
    auto rdloss = make_tensor<double, reference>(shape<1>{{r}}, dlv);

    cross_entropy_forward(B{}, loss.view(), logits.view(), targets.cview());
    cross_entropy_forward(reference{}, rloss.view(), rlogits.view(), rtargets.cview());
    require_close<T>(values_of(loss), values_of(rloss), 16);

    cross_entropy_backward(B{}, dlogits.view(), dloss.cview(), logits.view(), targets.cview());
    cross_entropy_backward(reference{}, rdlogits.view(), rdloss.cview(), rlogits.view(), rtargets.cview());
    require_close<T>(dlogits.values(), rdlogits.values(), 8);
    REQUIRE(dlogits.padding_intact());

    softmax_entropy(B{}, h.view(), logits.view());
    softmax_entropy(reference{}, rh.view(), rlogits.view());
    require_close<T>(values_of(h), values_of(rh), 64);
    for (double e : values_of(h)) REQUIRE(std::isfinite(e));
  }
}

TEMPLATE_LIST_TEST_CASE("entropy is log V for uniform logits and 0 for a one-hot", "[kernels][losses]", backend_configs) {
  using B = typename TestType::backend;
  using T = typename TestType::value_type;
  const double inf = std::numeric_limits<double>::infinity();
  auto logits = make_tensor<T, B>(shape<2>{{2, 4}}, {0.5, 0.5, 0.5, 0.5, -inf, 3, -inf, -inf});
  tensor<T, 1, B> h(shape<1>{{2}});
  softmax_entropy(B{}, h.view(), logits.cview());
  const auto v = values_of(h);
  require_close_scalar(v[0], std::log(4.0), 1e-6, 1e-6);
  require_close_scalar(v[1], 0.0, 0, 1e-6);
}

TEMPLATE_LIST_TEST_CASE("cross-entropy rejects targets outside the vocabulary, naming the row", "[kernels][losses][errors]",
                        backend_configs) {
  using B = typename TestType::backend;
  using T = typename TestType::value_type;
  tensor<T, 2, B> logits(shape<2>{{3, 5}}), dlogits(shape<2>{{3, 5}});
  tensor<T, 1, B> loss(shape<1>{{3}});
  for (token_id bad : {5, -2, 1000}) {
    tensor<token_id, 1, B> targets(shape<1>{{3}}, std::vector<token_id>{0, bad, 1});
    try {
      cross_entropy_forward(B{}, loss.view(), logits.cview(), targets.cview());
      FAIL("no exception");
    } catch (const value_error& e) {
      const std::string msg = e.what();
      REQUIRE(msg.find("row 1") != std::string::npos);
      REQUIRE(msg.find(std::to_string(bad)) != std::string::npos);
    }
    REQUIRE_THROWS_AS(cross_entropy_backward(B{}, dlogits.view(), loss.cview(), logits.cview(), targets.cview()), value_error);
  }
  tensor<token_id, 1, B> short_targets(shape<1>{{2}});
  REQUIRE_THROWS_AS(cross_entropy_forward(B{}, loss.view(), logits.cview(), short_targets.cview()), shape_error);
  tensor<T, 2, B> no_classes(shape<2>{{3, 0}});
  tensor<token_id, 1, B> targets(shape<1>{{3}});
  REQUIRE_THROWS_AS(softmax_entropy(B{}, loss.view(), no_classes.cview()), shape_error);
  REQUIRE_THROWS_AS(cross_entropy_forward(B{}, loss.view(), no_classes.cview(), targets.cview()), shape_error);
}
