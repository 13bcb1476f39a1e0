#pragma once
// tensor<T, Rank, Backend>: owns contiguous, zero-initialised memory where Backend's kernels can
// reach it (aligned host memory on the CPU, a Kokkos::View on Kokkos). Move-only: copies are
// explicit (clone), because a hidden deep copy of a device buffer is a performance bug.
#include <algorithm>
#include <iterator>
#include <limits>
#include <memory>
#include <type_traits>
#include <vector>

#include "wfc/core/tensor_view.hpp"

namespace wfc {

// Each backend tag specialises this with its buffer type and host transfers.
template <class Backend>
struct backend_memory;

template <class T, std::size_t Rank, class Backend>
class tensor {
  static_assert(std::is_arithmetic_v<T>, "wfc::tensor holds arithmetic values (float, double, int32, bool)");
  using memory = backend_memory<Backend>;

 public:
  using value_type = T;
  using backend_type = Backend;
  static constexpr std::size_t rank = Rank;

  tensor() = default;
  explicit tensor(shape<Rank> extents) : extents_(checked(extents)), buffer_(memory::template allocate<T>(extents.size())) {}
  // tensor<float, 2, cpu> t(rows, cols);
  template <class... I, class = std::enable_if_t<sizeof...(I) == Rank && (std::is_integral_v<I> && ...)>>
  explicit tensor(I... extents) : tensor(shape<Rank>{{static_cast<index_t>(extents)...}}) {}
  // A tensor holding host values (any sized range of values convertible to T), row-major.
  template <class Range>
  tensor(shape<Rank> extents, const Range& host_values) : tensor(extents) {
    copy_from_host(host_values);
  }

  tensor(tensor&&) noexcept = default;
  tensor& operator=(tensor&&) noexcept = default;
  tensor(const tensor&) = delete;
  tensor& operator=(const tensor&) = delete;

  tensor clone() const {
    tensor t(extents_);
    memory::copy(t.data(), data(), size());
    return t;
  }

  const shape<Rank>& extents() const { return extents_; }
  index_t extent(std::size_t d) const { return extents_[d]; }
  index_t size() const { return extents_.size(); }
  bool empty() const { return size() == 0; }
  T* data() const { return memory::data(buffer_); }

  tensor_view<T, Rank> view() { return {data(), extents_}; }
  tensor_view<const T, Rank> view() const { return {data(), extents_}; }
  tensor_view<const T, Rank> cview() const { return {data(), extents_}; }
  operator tensor_view<T, Rank>() { return view(); }
  operator tensor_view<const T, Rank>() const { return cview(); }

  std::vector<T> to_host() const {
    if constexpr (std::is_same_v<T, bool>) {  // std::vector<bool> has no data()
      std::unique_ptr<bool[]> tmp(new bool[std::size_t(size())]);
      memory::to_host(tmp.get(), data(), size());
      return std::vector<bool>(tmp.get(), tmp.get() + size());
    } else {
      std::vector<T> out(static_cast<std::size_t>(size()));
      memory::to_host(out.data(), data(), size());
      return out;
    }
  }

  template <class Range>
  void copy_from_host(const Range& values) {
    const auto n = static_cast<index_t>(std::size(values));
    if (n != size())
      throw shape_error("tensor::copy_from_host: " + std::to_string(n) + " values for a tensor of shape " +
                        to_string(extents_) + " (" + std::to_string(size()) + " elements)");
    if constexpr (std::is_same_v<Range, std::vector<T>> && !std::is_same_v<T, bool>) {
      memory::from_host(data(), values.data(), size());
    } else {  // convert element by element into a staging buffer
      std::unique_ptr<T[]> tmp(new T[std::size_t(n)]);
      std::copy(std::begin(values), std::end(values), tmp.get());
      memory::from_host(data(), tmp.get(), size());
    }
  }

 private:
  static shape<Rank> checked(shape<Rank> e) {
    index_t bytes = sizeof(T);
    for (std::size_t d = 0; d < Rank; ++d) {
      if (e[d] < 0) throw shape_error("wfc::tensor: negative extent in shape " + to_string(e));
      if (e[d] > 0 && bytes > std::numeric_limits<index_t>::max() / e[d])
        throw shape_error("wfc::tensor: shape " + to_string(e) + " does not fit in memory");
      bytes *= e[d] > 0 ? e[d] : 1;
    }
    return e;
  }
  shape<Rank> extents_{};
  typename memory::template buffer<T> buffer_{};
};

// The values of a contiguous view into Backend's memory, copied to the host (reading a few results,
// e.g. one row of logits, without copying the whole tensor).
template <class Backend, class T, std::size_t Rank>
std::vector<std::remove_const_t<T>> to_host(tensor_view<T, Rank> v) {
  static_assert(!std::is_same_v<std::remove_const_t<T>, bool>, "wfc::to_host(view): use tensor::to_host for bool tensors");
  if (!v.is_contiguous())
    throw shape_error("wfc::to_host: a view of shape " + to_string(v.extents()) + " is not contiguous; copy it first");
  std::vector<std::remove_const_t<T>> out(static_cast<std::size_t>(v.size()));
  backend_memory<Backend>::to_host(out.data(), v.data(), v.size());
  return out;
}

}  // namespace wfc
