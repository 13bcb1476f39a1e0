#pragma once
// The contract of every kernel, checked once on the host before any backend runs it. Each
// backend's entry point calls the check of its kernel first, so all backends fail alike.
#include <string>
#include <type_traits>

#include "wfc/core/tensor_view.hpp"

namespace wfc::detail {

// `what` is the message, or a callable that makes it: kernels check on every call, so a message
// is built only when its check fails.
template <class Message>
void require(bool ok, const char* op, const Message& what) {
  if (ok) return;
  if constexpr (std::is_invocable_v<const Message&>)
    throw shape_error(std::string(op) + ": " + std::string(what()));
  else
    throw shape_error(std::string(op) + ": " + std::string(what));
}

template <class A, class B>
void require_same_shape(const char* op, const char* a_name, const A& a, const char* b_name, const B& b) {
  if constexpr (A::rank != B::rank) {
    require(false, op, [&] { return std::string(a_name) + " and " + b_name + " differ in rank"; });
  } else {
    require(a.extents() == b.extents(), op,
            [&] { return std::string(a_name) + " has shape " + to_string(a.extents()) + " but " + b_name +
                " has shape " + to_string(b.extents()); });
  }
}

template <class V>
void require_extent(const char* op, const char* name, const V& v, std::size_t dim, index_t expected,
                    const char* meaning) {
  require(v.extent(dim) == expected, op,
          [&] { return std::string(name) + " has shape " + to_string(v.extents()) + ", but its dimension " +
              std::to_string(dim) + " must be " + std::to_string(expected) + " (" + meaning + ")"; });
}

template <class C, class A, class B>
void check_gemm(const char* op, const C& c, const A& a, const B& b) {
  constexpr std::size_t r = C::rank;
  const bool ok = a.extent(r - 2) == c.extent(r - 2) && b.extent(r - 1) == c.extent(r - 1) &&
                  a.extent(r - 1) == b.extent(r - 2);
  require(ok, op,
          [&] { return "c has shape " + to_string(c.extents()) + " but a has shape " + to_string(a.extents()) +
              " and b has shape " + to_string(b.extents()) + " (need a [m, k], b [k, n], c [m, n])"; });
  bool batches_match = true;
  for (std::size_t d = 0; d + 2 < r; ++d)
    batches_match = batches_match && a.extent(d) == c.extent(d) && b.extent(d) == c.extent(d);
  if constexpr (r >= 3) {
    require(batches_match, op,
            [&] { return "batch sizes differ: c " + to_string(c.extents()) + ", a " + to_string(a.extents()) +
                ", b " + to_string(b.extents()); });
  }
}

template <class Y, class X, class Mean, class Rstd, class G>
void check_layernorm(const char* op, const Y& y, const X& x, const Mean& mean, const Rstd& rstd,
                     const G& gamma) {
  require_same_shape(op, "output", y, "x", x);
  require_extent(op, "mean", mean, 0, x.extent(0), "one per row of x");
  require_extent(op, "rstd", rstd, 0, x.extent(0), "one per row of x");
  require_extent(op, "gamma", gamma, 0, x.extent(1), "one per column of x");
  require(x.extent(0) == 0 || x.extent(1) > 0, op, [&] { return "rows of width 0 (x is " + to_string(x.extents()) + ") have no mean"; });
}

// LayerNorm's shift (beta) and its gradient: one per column, or empty for a norm without a shift.
template <class V>
void require_optional_shift(const char* op, const char* name, const V& v, index_t width) {
  require(v.empty() || v.extent(0) == width, op, [&] {
    return std::string(name) + " has shape " + to_string(v.extents()) + ", but must have one entry per column of x (" +
           std::to_string(width) + "), or none for a norm without a shift";
  });
}

template <class Y, class X, class M>
void check_softmax_mask(const char* op, const Y& y, const X& x, const M& mask) {
  require_same_shape(op, "y", y, "x", x);
  require(mask.extent(0) == x.extent(1) && mask.extent(1) == x.extent(2), op,
          [&] { return "mask has shape " + to_string(mask.extents()) + " but each batch of x is [" +
              std::to_string(x.extent(1)) + ", " + std::to_string(x.extent(2)) + "]"; });
}

template <class Rows, class Logits>
void check_row_values(const char* op, const char* name, const Rows& rows, const Logits& logits) {
  require_extent(op, name, rows, 0, logits.extent(0), "one per row of the logits");
  require(logits.extent(0) == 0 || logits.extent(1) > 0, op,
          [&] { return "logits of shape " + to_string(logits.extents()) + " have rows but no classes"; });
}

// Token ids index rows of a table: every id must lie in [0, rows), or be the ignore index where a
// loss allows it. validate_ids_on_host reads host memory; device backends run id_is_valid in a
// reduction instead.
WFC_HOST_DEVICE bool id_is_valid(token_id id, index_t rows, bool allow_ignore) {
  return (id >= 0 && id < rows) || (allow_ignore && id == ignore_index);
}

inline void id_error(const char* op, index_t row, token_id id, index_t rows) {
  throw value_error(std::string(op) + ": id " + std::to_string(id) + " at row " + std::to_string(row) +
                    " is outside [0, " + std::to_string(rows) + ")");
}

inline void validate_ids_on_host(const char* op, tensor_view<const token_id, 1> ids, index_t rows,
                                 bool allow_ignore = false) {
  for (index_t r = 0; r < ids.extent(0); ++r) {
    const token_id id = ids(r);
    if (!id_is_valid(id, rows, allow_ignore)) id_error(op, r, id, rows);
  }
}

}  // namespace wfc::detail
