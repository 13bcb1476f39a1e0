#pragma once
// The Kokkos backend: the same kernels as functors over views, on whatever execution space the
// user's Kokkos provides (Serial, OpenMP, CUDA, HIP). Tensors own a Kokkos::View of that space.
#include <Kokkos_Core.hpp>

#include "wfc/core/tensor.hpp"

namespace wfc {

template <class ExecSpace = Kokkos::DefaultExecutionSpace>
struct kokkos {
  using execution_space = ExecSpace;
  using memory_space = typename ExecSpace::memory_space;
  static constexpr const char* name = "kokkos";
};

template <class ExecSpace>
struct backend_memory<kokkos<ExecSpace>> {
  using memory_space = typename ExecSpace::memory_space;
  template <class T>
  using buffer = Kokkos::View<T*, memory_space>;
  // Whether a host library (MPI) may read and write it in place, and waiting for the kernels to finish.
  static constexpr bool host_accessible = Kokkos::SpaceAccessibility<Kokkos::HostSpace, memory_space>::accessible;
  static void fence() { ExecSpace().fence(); }

  template <class T>
  static buffer<T> allocate(index_t n) {
    if (n < 0) throw value_error("wfc: cannot allocate a negative number of elements");
    return buffer<T>("wfc::tensor", static_cast<std::size_t>(n));  // Kokkos zero-fills
  }
  template <class T>
  static T* data(const buffer<T>& b) { return b.data(); }
  template <class T>
  static void to_host(T* host_dst, const T* src, index_t n) {
    Kokkos::View<T*, Kokkos::HostSpace, Kokkos::MemoryUnmanaged> dst(host_dst, std::size_t(n));
    Kokkos::View<const T*, memory_space, Kokkos::MemoryUnmanaged> from(src, std::size_t(n));
    Kokkos::deep_copy(dst, from);
  }
  template <class T>
  static void from_host(T* dst, const T* host_src, index_t n) {
    Kokkos::View<T*, memory_space, Kokkos::MemoryUnmanaged> to(dst, std::size_t(n));
    Kokkos::View<const T*, Kokkos::HostSpace, Kokkos::MemoryUnmanaged> from(host_src, std::size_t(n));
    Kokkos::deep_copy(to, from);
  }
  // Within the backend's memory (no trip through the host).
  template <class T>
  static void copy(T* dst, const T* src, index_t n) {
    Kokkos::View<T*, memory_space, Kokkos::MemoryUnmanaged> to(dst, std::size_t(n));
    Kokkos::View<const T*, memory_space, Kokkos::MemoryUnmanaged> from(src, std::size_t(n));
    Kokkos::deep_copy(to, from);
  }
};

}  // namespace wfc
