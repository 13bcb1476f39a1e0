#pragma once
// main() of every benchmark executable. Kokkos, when built, is initialised around the whole run
// (before any benchmark allocates a tensor on it, finalised after the last one is freed), and the
// benchmarks are registered at run time by the executable's register_benchmarks().
#include <benchmark/benchmark.h>

#include <string>

#if defined(_OPENMP)
#include <omp.h>
#endif
#if defined(WFC_HAVE_KOKKOS)
#include <Kokkos_Core.hpp>
#endif

namespace wfc_bench {
void register_benchmarks();  // one per executable
}  // namespace wfc_bench

int main(int argc, char** argv) {
#if defined(WFC_HAVE_KOKKOS)
  Kokkos::ScopeGuard kokkos(argc, argv);  // takes its own --kokkos-* arguments out of argv
  benchmark::AddCustomContext("wfc_kokkos_execution_space", Kokkos::DefaultExecutionSpace::name());
#endif
#if defined(_OPENMP)
  benchmark::AddCustomContext("wfc_openmp_threads", std::to_string(omp_get_max_threads()));
#endif
  std::string backends = "reference";
#if defined(WFC_HAVE_CPU)
  backends += ",cpu";
#endif
#if defined(WFC_HAVE_KOKKOS)
  backends += ",kokkos";
#endif
  benchmark::AddCustomContext("wfc_backends", backends);

  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  wfc_bench::register_benchmarks();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
