// Must not compile: a collapse policy without decide(). ctest builds this file and passes when the
// compiler's error carries the generator's message naming the missing member.
#include "wfc/wfc.hpp"

struct forgetful_policy {
  double tau = 1.0;  // a threshold, but no decide() to use it
};

int main() {
  wfc::wfc_model<float, wfc::reference> model(wfc::wfc_config{});
  wfc::generator<decltype(model), forgetful_policy> gen(model);
  (void)gen;
}
