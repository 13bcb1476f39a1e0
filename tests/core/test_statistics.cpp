// Pearson's r, ranks with ties, Spearman's ρ: known values, and NaN where no correlation exists.
#include <cmath>

#include "support/catch.hpp"
#include "wfc/core/statistics.hpp"

using namespace wfc;

TEST_CASE("statistics: ranks average their ties, and Spearman's rho is Pearson's r of the ranks", "[core]") {
  CHECK(ranks({3.0, 1.0, 2.0, 2.0}) == std::vector<double>{3.0, 0.0, 1.5, 1.5});
  CHECK(spearman({1, 2, 3, 4}, {10, 20, 30, 400}) == Approx(1.0));  // monotone, not linear
  CHECK(pearson({1, 2, 3, 4}, {10, 20, 30, 400}) < 0.9);
  CHECK(spearman({1, 2, 3, 4}, {4, 3, 2, 1}) == Approx(-1.0));
  // x = 1…5, y's ranks 1 3 2 5 4: ρ = 1 − 6·Σd²/(n(n²−1)) = 1 − 6·4/120 = 0.8
  CHECK(spearman({1, 2, 3, 4, 5}, {1, 3, 2, 5, 4}) == Approx(0.8));
  CHECK(std::isnan(spearman({1, 2, 3}, {7, 7, 7})));  // a constant sample: nothing to correlate
  CHECK(std::isnan(spearman({}, {})));
  CHECK_THROWS_AS(pearson({1, 2}, {1}), shape_error);
}
