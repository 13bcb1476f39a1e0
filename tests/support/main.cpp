// One main for Catch2 2 and 3 that also brings Kokkos up and down around the whole run.
#if __has_include(<catch2/catch_session.hpp>)
#include <catch2/catch_session.hpp>
#else
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#endif

#if defined(WFC_HAVE_KOKKOS)
#include <cstring>
#include <optional>

#include <Kokkos_Core.hpp>
#endif

int main(int argc, char* argv[]) {
#if defined(WFC_HAVE_KOKKOS)
  // Listing (--list-*: ctest's test discovery runs one right after the link) needs no device, so a
  // CUDA build lists its tests on a machine without a GPU; Kokkos comes up only to run tests.
  bool listing = false;
  for (int i = 1; i < argc; ++i) listing = listing || std::strncmp(argv[i], "--list", 6) == 0;
  std::optional<Kokkos::ScopeGuard> kokkos;
  if (!listing) kokkos.emplace(argc, argv);
#endif
  return Catch::Session().run(argc, argv);
}
