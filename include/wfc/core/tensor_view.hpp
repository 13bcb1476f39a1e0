#pragma once
// A non-owning, trivially copyable view: pointer + extents + strides (in elements, row-major by
// default). Device kernels capture it by value. Slicing and transposition only change strides.
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>

#include "wfc/core/error.hpp"
#include "wfc/core/host_device.hpp"

namespace wfc {

using index_t = std::int64_t;
using token_id = std::int32_t;
// A target that a loss skips (a revealed slot, padding), as in PyTorch's ignore_index.
inline constexpr token_id ignore_index = -1;

// A fixed number of indices: the extents or the strides of a view.
template <std::size_t Rank>
struct shape {
  index_t dim[Rank] = {};

  WFC_HOST_DEVICE constexpr index_t operator[](std::size_t i) const { return dim[i]; }
  WFC_HOST_DEVICE constexpr index_t& operator[](std::size_t i) { return dim[i]; }
  WFC_HOST_DEVICE constexpr index_t size() const {
    index_t n = 1;
    for (std::size_t i = 0; i < Rank; ++i) n *= dim[i];
    return n;
  }
  friend constexpr bool operator==(const shape& a, const shape& b) {
    for (std::size_t i = 0; i < Rank; ++i)
      if (a.dim[i] != b.dim[i]) return false;
    return true;
  }
  friend constexpr bool operator!=(const shape& a, const shape& b) { return !(a == b); }
};

template <class... I>
shape(I...) -> shape<sizeof...(I)>;

template <std::size_t Rank>
std::string to_string(const shape<Rank>& s) {
  std::string out = "[";
  for (std::size_t i = 0; i < Rank; ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

// Row-major strides of a contiguous tensor with these extents.
template <std::size_t Rank>
constexpr shape<Rank> contiguous_strides(const shape<Rank>& extents) {
  shape<Rank> strides;
  index_t s = 1;
  for (std::size_t i = Rank; i-- > 0;) {
    strides[i] = s;
    s *= extents[i];
  }
  return strides;
}

template <class T, std::size_t Rank>
class tensor_view {
  static_assert(Rank >= 1, "wfc::tensor_view: Rank must be at least 1");

 public:
  using element_type = T;
  using value_type = std::remove_cv_t<T>;
  static constexpr std::size_t rank = Rank;

  constexpr tensor_view() = default;
  constexpr tensor_view(T* data, shape<Rank> extents)
      : data_(data), extents_(extents), strides_(contiguous_strides(extents)) {}
  constexpr tensor_view(T* data, shape<Rank> extents, shape<Rank> strides)
      : data_(data), extents_(extents), strides_(strides) {}

  // A view of T converts to a view of const T.
  template <class U, class = std::enable_if_t<std::is_same_v<const U, T> && !std::is_const_v<U>>>
  constexpr tensor_view(const tensor_view<U, Rank>& other)
      : data_(other.data()), extents_(other.extents()), strides_(other.strides()) {}

  WFC_HOST_DEVICE constexpr T* data() const { return data_; }
  WFC_HOST_DEVICE constexpr const shape<Rank>& extents() const { return extents_; }
  WFC_HOST_DEVICE constexpr const shape<Rank>& strides() const { return strides_; }
  WFC_HOST_DEVICE constexpr index_t extent(std::size_t d) const { return extents_[d]; }
  WFC_HOST_DEVICE constexpr index_t stride(std::size_t d) const { return strides_[d]; }
  WFC_HOST_DEVICE constexpr index_t size() const { return extents_.size(); }
  WFC_HOST_DEVICE constexpr bool empty() const { return size() == 0; }

  // True when the elements are dense and row-major, so the view is one flat array.
  constexpr bool is_contiguous() const {
    index_t s = 1;
    for (std::size_t i = Rank; i-- > 0;) {
      if (extents_[i] != 1 && strides_[i] != s) return false;
      s *= extents_[i];
    }
    return true;
  }

  template <class... I>
  WFC_HOST_DEVICE constexpr T& operator()(I... i) const {
    static_assert(sizeof...(I) == Rank, "wfc::tensor_view: give one index per dimension");
    const index_t idx[Rank] = {static_cast<index_t>(i)...};
    index_t off = 0;
    for (std::size_t d = 0; d < Rank; ++d) off += idx[d] * strides_[d];
    return data_[off];
  }

  // Elements [begin, end) along dimension `dim`; the result shares memory with this view.
  tensor_view slice(std::size_t dim, index_t begin, index_t end) const {
    if (dim >= Rank || begin < 0 || end < begin || end > extents_[dim])
      throw shape_error("tensor_view::slice: range [" + std::to_string(begin) + ", " +
                        std::to_string(end) + ") on dimension " + std::to_string(dim) +
                        " does not fit a view of shape " + to_string(extents_));
    tensor_view v = *this;
    v.data_ += begin * strides_[dim];
    v.extents_[dim] = end - begin;
    return v;
  }

  // The sub-view at index i of the first dimension (one rank less).
  template <std::size_t R = Rank, class = std::enable_if_t<(R > 1)>>
  tensor_view<T, Rank - 1> operator[](index_t i) const {
    if (i < 0 || i >= extents_[0])
      throw shape_error("tensor_view[" + std::to_string(i) + "]: out of range for shape " +
                        to_string(extents_));
    shape<Rank - 1> e, s;
    for (std::size_t d = 1; d < Rank; ++d) {
      e[d - 1] = extents_[d];
      s[d - 1] = strides_[d];
    }
    return {data_ + i * strides_[0], e, s};
  }

 private:
  T* data_ = nullptr;
  shape<Rank> extents_{};
  shape<Rank> strides_{};
};

// The last two dimensions swapped, without copying: what a GEMM needs for Aᵀ.
template <class T, std::size_t Rank>
constexpr tensor_view<T, Rank> transpose(const tensor_view<T, Rank>& v) {
  static_assert(Rank >= 2, "wfc::transpose: needs a view of rank 2 or more");
  shape<Rank> e = v.extents(), s = v.strides();
  e[Rank - 1] = v.extent(Rank - 2);
  e[Rank - 2] = v.extent(Rank - 1);
  s[Rank - 1] = v.stride(Rank - 2);
  s[Rank - 2] = v.stride(Rank - 1);
  return {v.data(), e, s};
}

// A contiguous view seen with other extents of the same size (e.g. [B*T, C] as [B, T, C]).
template <std::size_t NewRank, class T, std::size_t Rank>
tensor_view<T, NewRank> reshape(const tensor_view<T, Rank>& v, shape<NewRank> extents) {
  if (!v.is_contiguous())
    throw shape_error("wfc::reshape: a view of shape " + to_string(v.extents()) +
                      " is not contiguous; copy it first");
  if (extents.size() != v.size())
    throw shape_error("wfc::reshape: cannot view shape " + to_string(v.extents()) + " as " +
                      to_string(extents));
  return {v.data(), extents};
}

// Pointer to the first element of row r of the first dimension (no dereference, so it is valid
// for empty rows too).
template <class T, std::size_t Rank>
WFC_HOST_DEVICE constexpr T* row_data(const tensor_view<T, Rank>& v, index_t r) {
  return v.data() + r * v.stride(0);
}

// Pointer to row r of matrix b of a batch of matrices.
template <class T>
WFC_HOST_DEVICE constexpr T* row_data(const tensor_view<T, 3>& v, index_t b, index_t r) {
  return v.data() + b * v.stride(0) + r * v.stride(1);
}

// Read-only view of the same memory.
template <class T, std::size_t Rank>
constexpr tensor_view<const T, Rank> as_const(const tensor_view<T, Rank>& v) {
  return v;
}

// A vector seen as a 1×n matrix, so row kernels also serve flat buffers.
template <class T>
constexpr tensor_view<T, 2> as_row(const tensor_view<T, 1>& v) {
  return {v.data(), shape<2>{{1, v.extent(0)}}, shape<2>{{v.extent(0) * v.stride(0), v.stride(0)}}};
}

// A matrix seen as a batch of one, so batched kernels also serve single matrices.
template <class T>
constexpr tensor_view<T, 3> as_batch(const tensor_view<T, 2>& v) {
  return {v.data(), shape<3>{{1, v.extent(0), v.extent(1)}},
          shape<3>{{v.extent(0) * v.stride(0), v.stride(0), v.stride(1)}}};
}

namespace detail {
template <class T>
struct type_identity {
  using type = T;
};
// Blocks template argument deduction, so T is deduced from a kernel's output alone and inputs
// may be passed as views of T or of const T.
template <class T>
using same_t = typename type_identity<T>::type;
}  // namespace detail

// A kernel's read-only argument: its element type is taken from the kernel's output.
template <class T, std::size_t Rank>
using in_view = tensor_view<const detail::same_t<T>, Rank>;

}  // namespace wfc
