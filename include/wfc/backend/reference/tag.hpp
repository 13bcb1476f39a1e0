#pragma once
// The reference backend: plain scalar loops on host memory. It is the specification every other
// backend is tested against, and the baseline benchmarks report speed-ups over.
#include "wfc/core/host_memory.hpp"
#include "wfc/core/tensor.hpp"

namespace wfc {

struct reference {
  static constexpr const char* name = "reference";
};

template <>
struct backend_memory<reference> : host_memory {};

}  // namespace wfc
