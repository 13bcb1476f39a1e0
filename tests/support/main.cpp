// One main for Catch2 2 and 3 that also brings Kokkos up and down around the whole run.
#if __has_include(<catch2/catch_session.hpp>)
#include <catch2/catch_session.hpp>
#else
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#endif

#if defined(WFC_HAVE_KOKKOS)
#include <Kokkos_Core.hpp>
#endif

int main(int argc, char* argv[]) {
#if defined(WFC_HAVE_KOKKOS)
  Kokkos::ScopeGuard kokkos(argc, argv);
#endif
  return Catch::Session().run(argc, argv);
}
