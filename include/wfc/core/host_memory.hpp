#pragma once
// 64-byte-aligned, zero-filled host buffers: a cache line, and a full AVX-512 register.
#include <cstring>
#include <memory>
#include <new>

#include "wfc/core/tensor_view.hpp"

namespace wfc {

inline constexpr std::size_t host_alignment = 64;

namespace detail {
struct aligned_free {
  void operator()(void* p) const { ::operator delete(p, std::align_val_t{host_alignment}); }
};
}  // namespace detail

// Memory of the backends whose kernels run on the host (reference, cpu).
struct host_memory {
  template <class T>
  using buffer = std::unique_ptr<T[], detail::aligned_free>;
  static constexpr bool host_accessible = true;  // a host library (MPI) may read and write it in place
  static void fence() {}                         // kernels finish before they return

  template <class T>
  static buffer<T> allocate(index_t n) {
    static_assert(std::is_trivially_copyable_v<T>, "wfc tensors hold trivially copyable values");
    if (n < 0) throw value_error("wfc: cannot allocate a negative number of elements");
    if (n == 0) return buffer<T>();
    void* p = ::operator new(static_cast<std::size_t>(n) * sizeof(T), std::align_val_t{host_alignment});
    std::memset(p, 0, static_cast<std::size_t>(n) * sizeof(T));
    return buffer<T>(static_cast<T*>(p));
  }
  template <class T>
  static T* data(const buffer<T>& b) { return b.get(); }
  template <class T>
  static void to_host(T* host_dst, const T* src, index_t n) {
    if (n > 0) std::memcpy(host_dst, src, static_cast<std::size_t>(n) * sizeof(T));
  }
  template <class T>
  static void from_host(T* dst, const T* host_src, index_t n) {
    if (n > 0) std::memcpy(dst, host_src, static_cast<std::size_t>(n) * sizeof(T));
  }
  template <class T>
  static void copy(T* dst, const T* src, index_t n) {
    from_host(dst, src, n);
  }
};

}  // namespace wfc
