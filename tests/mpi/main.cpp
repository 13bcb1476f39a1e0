// The MPI tests' main: MPI up for the whole run (every rank runs every test case, in the same order,
// so their collectives meet), then Catch2.
#if __has_include(<catch2/catch_session.hpp>)
#include <catch2/catch_session.hpp>
#else
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#endif

#include "wfc/mpi/process_group.hpp"

#if defined(WFC_HAVE_KOKKOS)
#include <Kokkos_Core.hpp>
#endif

int main(int argc, char* argv[]) {
  wfc::mpi::environment mpi(argc, argv);
#if defined(WFC_HAVE_KOKKOS)
  Kokkos::ScopeGuard kokkos(argc, argv);
#endif
  return Catch::Session().run(argc, argv);
}
