#pragma once
// Shared test machinery: the backend × type grid every kernel test runs on, tolerances in one
// place, host data in double, and views with padding around them (to test strided views and to
// catch writes outside a view).
#include <cmath>
#include <cstdint>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "support/catch.hpp"
#include "wfc/wfc.hpp"

namespace wfc::testing {

template <class Backend, class T>
struct config {
  using backend = Backend;
  using value_type = T;
};

// Every compiled backend × {float, double}. The reference backend is the yardstick itself.
using backend_configs = std::tuple<
#if defined(WFC_HAVE_CPU)
    config<cpu, float>, config<cpu, double>,
#endif
#if defined(WFC_HAVE_KOKKOS)
    config<kokkos<>, float>, config<kokkos<>, double>,
#endif
    config<reference, float>, config<reference, double>>;

// How close a backend's result must be to the reference computed in double. Float kernels use
// other summation orders and vector exp/tanh, so they get a relative and an absolute slack.
template <class T>
struct tolerance;
template <>
struct tolerance<float> {
  static constexpr double rel = 2e-5, abs = 2e-6;
};
template <>
struct tolerance<double> {
  static constexpr double rel = 1e-12, abs = 1e-13;
};

// Sizes that hit empty, scalar, SIMD-tail and multi-block paths.
inline std::vector<index_t> edge_sizes() { return {0, 1, 7, 64, 1031}; }

inline std::vector<double> random_values(index_t n, std::uint64_t seed, double lo = -2.0, double hi = 2.0) {
  counter_rng rng(seed);
  std::vector<double> v(static_cast<std::size_t>(n));
  for (index_t i = 0; i < n; ++i) v[std::size_t(i)] = lo + (hi - lo) * rng.uniform<double>(std::uint64_t(i));
  return v;
}

template <class To, class From>
std::vector<To> convert(const std::vector<From>& v) {
  return std::vector<To>(v.begin(), v.end());
}

// Checks |actual − expected| ≤ abs + rel·|expected| element-wise and names the first miss.
template <class T>
void require_close(const std::vector<double>& actual, const std::vector<double>& expected, double scale = 1.0) {
  REQUIRE(actual.size() == expected.size());
  for (std::size_t i = 0; i < actual.size(); ++i) {
    const double tol = scale * (tolerance<T>::abs + tolerance<T>::rel * std::abs(expected[i]));
    if (!(std::abs(actual[i] - expected[i]) <= tol)) {
      std::ostringstream msg;
      msg.precision(17);
      msg << "element " << i << ": got " << actual[i] << ", expected " << expected[i] << " (tolerance " << tol << ")";
      FAIL(msg.str());
    }
  }
}

// f() must throw Error whose message contains `text` (the message is part of the interface).
template <class Error, class F>
void require_throws_containing(F&& f, const std::string& text) {
  try {
    f();
  } catch (const Error& e) {
    INFO("message: " << e.what());
    REQUIRE(std::string(e.what()).find(text) != std::string::npos);
    return;
  }
  FAIL("expected an exception mentioning '" << text << "'");
}

inline void require_close_scalar(double actual, double expected, double rel, double abs) {
  INFO("got " << actual << ", expected " << expected);
  REQUIRE(std::abs(actual - expected) <= abs + rel * std::abs(expected));
}

// Values as the backend sees them: rounded to T, then widened again for the double reference.
template <class T>
std::vector<double> rounded(const std::vector<double>& v) {
  return convert<double>(convert<T>(v));
}

// A [rows, cols] matrix stored inside a [rows, cols + 2·pad] buffer filled with a sentinel: with
// pad > 0 the view has a row stride larger than its width (a non-contiguous view), and
// `padding_intact` proves that a kernel wrote nothing outside it. pad = 0 is a dense matrix.
template <class T, class Backend>
struct padded_matrix {
  static constexpr double sentinel = 1234.5;
  index_t rows, cols, pad;
  tensor<T, 2, Backend> storage;

  padded_matrix(index_t r, index_t c, const std::vector<double>& values, index_t padding = 3)
      : rows(r), cols(c), pad(padding), storage(shape<2>{{r, c + 2 * padding}}) {
    std::vector<T> host(std::size_t(r * (c + 2 * pad)), T(sentinel));
    for (index_t i = 0; i < r; ++i)
      for (index_t j = 0; j < c; ++j) host[std::size_t(i * (c + 2 * pad) + pad + j)] = T(values[std::size_t(i * c + j)]);
    storage.copy_from_host(host);
  }
  tensor_view<T, 2> view() { return storage.view().slice(1, pad, pad + cols); }
  std::vector<double> values() const {
    const auto host = storage.to_host();
    std::vector<double> out;
    for (index_t i = 0; i < rows; ++i)
      for (index_t j = 0; j < cols; ++j) out.push_back(double(host[std::size_t(i * (cols + 2 * pad) + pad + j)]));
    return out;
  }
  bool padding_intact() const {
    const auto host = storage.to_host();
    for (index_t i = 0; i < rows; ++i)
      for (index_t j = 0; j < cols + 2 * pad; ++j)
        if ((j < pad || j >= pad + cols) && host[std::size_t(i * (cols + 2 * pad) + j)] != T(sentinel)) return false;
    return true;
  }
};

// A [rows, cols] matrix stored column-major (the transpose of a dense [cols, rows] buffer): its
// rows are not contiguous, which sends SIMD backends down their strided paths.
template <class T, class Backend>
struct transposed_matrix {
  index_t rows, cols;
  tensor<T, 2, Backend> storage;

  transposed_matrix(index_t r, index_t c, const std::vector<double>& values) : rows(r), cols(c), storage(shape<2>{{c, r}}) {
    std::vector<T> host(values.size());
    for (index_t i = 0; i < r; ++i)
      for (index_t j = 0; j < c; ++j) host[std::size_t(j * r + i)] = T(values[std::size_t(i * c + j)]);
    storage.copy_from_host(host);
  }
  tensor_view<T, 2> view() { return transpose(storage.view()); }
  std::vector<double> values() const {
    const auto host = storage.to_host();
    std::vector<double> out(host.size());
    for (index_t i = 0; i < rows; ++i)
      for (index_t j = 0; j < cols; ++j) out[std::size_t(i * cols + j)] = double(host[std::size_t(j * rows + i)]);
    return out;
  }
};

// The shapes every row-wise kernel is tried on: empty, single, SIMD tails, many rows (the
// threaded path), each dense and padded.
struct matrix_case {
  index_t rows, cols, pad;
};
inline std::vector<matrix_case> matrix_cases() {
  std::vector<matrix_case> out;
  const index_t shapes[][2] = {{0, 5}, {5, 0}, {1, 1}, {3, 7}, {4, 64}, {2, 1031}, {1031, 64}};
  for (const auto& s : shapes)
    for (index_t pad : {0, 3}) out.push_back({s[0], s[1], pad});
  return out;
}

// A dense tensor on Backend filled from double host values.
template <class T, class Backend, std::size_t Rank>
tensor<T, Rank, Backend> make_tensor(shape<Rank> extents, const std::vector<double>& values) {
  return tensor<T, Rank, Backend>(extents, convert<T>(values));
}

template <class T, std::size_t Rank, class Backend>
std::vector<double> values_of(const tensor<T, Rank, Backend>& t) {
  return convert<double>(t.to_host());
}

// A contiguous view's values (row-major), from any backend's memory.
template <class Backend, class T, std::size_t Rank>
std::vector<double> values_of_view(tensor_view<T, Rank> v) {
  std::vector<std::remove_const_t<T>> host(static_cast<std::size_t>(v.size()));
  backend_memory<Backend>::to_host(host.data(), v.data(), v.size());
  return convert<double>(host);
}

}  // namespace wfc::testing
