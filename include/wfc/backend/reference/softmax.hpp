#pragma once
// Row softmax over the last dimension of [batch, rows, cols], optionally masked by a [rows, cols]
// mask shared by every batch: additive (added to x) or boolean (false = excluded, probability 0).
// A row with nothing left to attend to comes out all zeros, never NaN. y may be x (in place).
#include <cmath>
#include <limits>

#include "wfc/backend/reference/tag.hpp"
#include "wfc/kernels/checks.hpp"

namespace wfc {

namespace detail {
// logit(b, r, c) returns x plus the mask's term, or -inf where the mask excludes the entry.
template <class T, class Logit>
void reference_softmax(tensor_view<T, 3> y, Logit logit) {
  const T neg_inf = -std::numeric_limits<T>::infinity();
  for (index_t b = 0; b < y.extent(0); ++b)
    for (index_t r = 0; r < y.extent(1); ++r) {
      T m = neg_inf;
      for (index_t c = 0; c < y.extent(2); ++c) m = std::max(m, logit(b, r, c));
      if (m == neg_inf) {
        for (index_t c = 0; c < y.extent(2); ++c) y(b, r, c) = 0;
        continue;
      }
      T s = 0;
      for (index_t c = 0; c < y.extent(2); ++c) s += (y(b, r, c) = std::exp(logit(b, r, c) - m));
      for (index_t c = 0; c < y.extent(2); ++c) y(b, r, c) /= s;
    }
}
}  // namespace detail

template <class T>
void softmax_forward(reference, tensor_view<T, 3> y, in_view<T, 3> x) {
  detail::require_same_shape("softmax_forward", "y", y, "x", x);
  detail::reference_softmax(y, [&](index_t b, index_t r, index_t c) { return x(b, r, c); });
}

template <class T>
void softmax_forward(reference, tensor_view<T, 3> y, in_view<T, 3> x, in_view<T, 2> additive_mask) {
  detail::check_softmax_mask("softmax_forward", y, x, additive_mask);
  detail::reference_softmax(y, [&](index_t b, index_t r, index_t c) { return x(b, r, c) + additive_mask(r, c); });
}

template <class T>
void softmax_forward(reference, tensor_view<T, 3> y, in_view<T, 3> x, tensor_view<const bool, 2> keep) {
  detail::check_softmax_mask("softmax_forward", y, x, keep);
  const T neg_inf = -std::numeric_limits<T>::infinity();
  detail::reference_softmax(y, [&](index_t b, index_t r, index_t c) { return keep(r, c) ? x(b, r, c) : neg_inf; });
}

// dx = y ⊙ (dy − Σ_c dy·y) + beta·dx: beta 1 (the default) accumulates, 0 overwrites without reading dx.
template <class T>
void softmax_backward(reference, tensor_view<T, 3> dx, in_view<T, 3> dy, in_view<T, 3> y, detail::same_t<T> beta = 1) {
  detail::require_same_shape("softmax_backward", "dx", dx, "y", y);
  detail::require_same_shape("softmax_backward", "dy", dy, "y", y);
  for (index_t b = 0; b < y.extent(0); ++b)
    for (index_t r = 0; r < y.extent(1); ++r) {
      T dot = 0;
      for (index_t c = 0; c < y.extent(2); ++c) dot += dy(b, r, c) * y(b, r, c);
      for (index_t c = 0; c < y.extent(2); ++c)
        dx(b, r, c) = y(b, r, c) * (dy(b, r, c) - dot) + (beta == T(0) ? T(0) : beta * dx(b, r, c));
    }
}

}  // namespace wfc
