#pragma once
// The CPU backend: Eigen for GEMM, xsimd for element-wise and row kernels, OpenMP over rows.
#include "wfc/core/host_memory.hpp"
#include "wfc/core/tensor.hpp"

namespace wfc {

struct cpu {
  static constexpr const char* name = "cpu";
};

template <>
struct backend_memory<cpu> : host_memory {};

}  // namespace wfc
