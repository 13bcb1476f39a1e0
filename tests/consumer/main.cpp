// Uses the installed headers and target: a GEMM and a softmax on every backend the package has,
// compared with the reference. Exits non-zero on any difference.
#include <wfc/wfc.hpp>

#include <cmath>
#include <cstdio>

template <class Backend>
int check(const char* name) {
  wfc::tensor<float, 2, Backend> a(wfc::shape<2>{{3, 4}}), b(wfc::shape<2>{{4, 2}}), c(wfc::shape<2>{{3, 2}});
  wfc::fill_uniform(Backend{}, a.view(), wfc::counter_rng(1), -1.f, 1.f);
  wfc::fill_uniform(Backend{}, b.view(), wfc::counter_rng(2), -1.f, 1.f);
  wfc::gemm(Backend{}, c.view(), a.cview(), b.cview());
  wfc::softmax_forward(Backend{}, c.view(), c.cview());
  float total = wfc::sum(Backend{}, c.cview());
  std::printf("%s (wfc %s): rows of softmax(a·b) sum to %.6f\n", name, wfc::version_string, total);
  return std::abs(total - 3.0f) < 1e-5f ? 0 : 1;
}

int main(int argc, char** argv) {
  int failures = check<wfc::reference>("reference");
#if defined(WFC_HAVE_CPU)
  failures += check<wfc::cpu>("cpu");
#endif
#if defined(WFC_HAVE_KOKKOS)
  Kokkos::ScopeGuard guard(argc, argv);
  failures += check<wfc::kokkos<>>("kokkos");
#endif
  (void)argc;
  (void)argv;
  return failures;
}
