#pragma once
// Scalar formulas shared by every backend (reference loops, SIMD tails, device kernels), so a
// formula is written once.
#include <cmath>

#include "wfc/core/host_device.hpp"

namespace wfc::detail {

// GELU, tanh form (as GPT-2): 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
inline constexpr double gelu_c = 0.7978845608028654;  // √(2/π)
inline constexpr double gelu_a = 0.044715;

template <class T>
WFC_HOST_DEVICE T gelu(T x) {
  using std::tanh;
  const T u = T(gelu_c) * (x + T(gelu_a) * x * x * x);
  return T(0.5) * x * (T(1) + tanh(u));
}

template <class T>
WFC_HOST_DEVICE T gelu_derivative(T x) {
  using std::tanh;
  const T u = T(gelu_c) * (x + T(gelu_a) * x * x * x);
  const T t = tanh(u);
  const T du = T(gelu_c) * (T(1) + T(3 * gelu_a) * x * x);
  return T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * du;
}

}  // namespace wfc::detail
