#pragma once
// The reference backend, counting every time a result comes back to the host: a copy to the host
// or a reduction to a scalar. On a GPU each one is a synchronisation, so a loop's count per
// iteration is what its latency floor is made of, and tests can pin it down.
#include <type_traits>

#include "wfc/backend/reference.hpp"

namespace wfc::testing {

struct counting_reference : reference {
  static constexpr const char* name = "counting reference";
};

// Results read back since the last reset (one counter: the tests that use it run one model at a time).
inline index_t& host_reads() {
  static index_t count = 0;
  return count;
}

// Every other kernel is the reference's, reached through the base class.
template <class T>
std::remove_const_t<T> sum(counting_reference, tensor_view<T, 2> x) {
  ++host_reads();
  return sum(reference{}, x);
}
template <class T>
std::remove_const_t<T> squared_norm(counting_reference, tensor_view<T, 2> x) {
  ++host_reads();
  return squared_norm(reference{}, x);
}
template <class T>
T dot(counting_reference, tensor_view<const T, 2> a, in_view<T, 2> b) {
  ++host_reads();
  return dot(reference{}, a, b);
}

}  // namespace wfc::testing

namespace wfc {
template <>
struct backend_memory<testing::counting_reference> : host_memory {
  template <class T>
  static void to_host(T* host_dst, const T* src, index_t n) {
    ++testing::host_reads();
    host_memory::to_host(host_dst, src, n);
  }
};
}  // namespace wfc
