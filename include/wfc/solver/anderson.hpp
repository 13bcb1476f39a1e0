#pragma once
// Anderson acceleration for a fixed-point iteration x = x + v(x) on a backend's tensors (Walker & Ni,
// "Anderson acceleration for fixed-point iterations", 2011; type II, without the difference form).
// The caller computes v(x) (for WFC, one pass of the stack); step() turns it into the accelerated
// update. Its only host work is the small Gram system: one row of dot products read back per step.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "wfc/core/error.hpp"
#include "wfc/core/tensor.hpp"

namespace wfc {

// Anderson mixing over the last memory + 1 iterates x_j and their velocities v_j: the weights α
// (Σ α = 1) minimise ‖Σ α_j·v_j‖, from the velocities' Gram matrix kept on the host, and the step
// is Σ α_j·(x_j + η·v_j) − x. The iterates are one ring [memory + 1, rows, width], so each step's
// new Gram row v_newest·v_j is one matrix product and one read back, whatever the memory.
template <class T, class Backend>
struct anderson_mixing {
  index_t memory = 0, rows = 0, width = 0, count = 0, newest = -1;
  tensor<T, 3, Backend> x, v;       // [memory + 1, rows, width], ring indices
  tensor<T, 2, Backend> products;   // [1, memory + 1]: the newest velocity's dot with each
  std::vector<double> gram;         // [(memory + 1)²], ring indices

  anderson_mixing() = default;
  anderson_mixing(index_t m, index_t r, index_t w) : memory(m), rows(r), width(w) {
    if (m == 0) return;
    x = tensor<T, 3, Backend>(shape<3>{{m + 1, r, w}});
    v = tensor<T, 3, Backend>(shape<3>{{m + 1, r, w}});
    products = tensor<T, 2, Backend>(shape<2>{{1, m + 1}});
    gram.assign(std::size_t((m + 1) * (m + 1)), 0.0);
  }

  void restart() {
    count = 0;
    newest = -1;
  }

  // `velocity` holds v(x) on entry and the step on return; at most `rows` rows, the same in every
  // step since the last restart().
  void step(const Backend& be, tensor_view<T, 2> velocity, tensor_view<const T, 2> state, T eta) {
    const index_t slots = memory + 1, n = velocity.extent(0);
    if (n > rows) throw shape_error("anderson_mixing: " + std::to_string(n) + " rows exceed the " + std::to_string(rows) + " it holds");
    newest = (newest + 1) % slots;
    count = std::min(count + 1, slots);
    const auto entry = [n](auto& ring, index_t j) { return ring.view()[j].slice(0, 0, n); };
    copy(be, entry(x, newest), state);
    copy(be, entry(v, newest), as_const(velocity));
    // products = v_newest · [v_0 … v_memory] over the first n rows: [1, n·width] × [n·width, slots]
    // (entries not written since restart() are multiplied too, and never read)
    const tensor_view<const T, 2> ring_rows(v.data(), shape<2>{{slots, n * width}}, shape<2>{{rows * width, 1}});
    const auto newest_row = reshape(as_const(entry(v, newest)), shape<2>{{1, n * width}});
    gemm(be, products.view(), newest_row, transpose(ring_rows));
    const auto dots = to_host<Backend>(products.cview());
    std::vector<index_t> live;
    for (index_t i = 0; i < count; ++i) live.push_back((newest - i + slots) % slots);
    for (index_t j : live) gram[std::size_t(newest * slots + j)] = gram[std::size_t(j * slots + newest)] = double(dots[std::size_t(j)]);
    const auto alpha = weights(live);
    fill(be, velocity, T(0));
    axpy(be, velocity, T(-1), state);
    for (std::size_t i = 0; i < live.size(); ++i) {
      axpy(be, velocity, T(alpha[i]), as_const(entry(x, live[i])));
      axpy(be, velocity, T(alpha[i]) * eta, as_const(entry(v, live[i])));
    }
  }

  // α ∝ (G + λI)⁻¹·1, normalised to sum 1; the plain step (α = 1 on the newest) when that fails.
  std::vector<double> weights(const std::vector<index_t>& live) const {
    const std::size_t n = live.size(), slots = std::size_t(memory + 1);
    std::vector<double> a(n * (n + 1));  // augmented [G + λI | 1]
    double scale = 0;
    for (std::size_t i = 0; i < n; ++i) scale = std::max(scale, gram[std::size_t(live[i]) * slots + std::size_t(live[i])]);
    for (std::size_t i = 0; i < n; ++i) {
      for (std::size_t j = 0; j < n; ++j) a[i * (n + 1) + j] = gram[std::size_t(live[i]) * slots + std::size_t(live[j])];
      a[i * (n + 1) + i] += 1e-10 * scale;
      a[i * (n + 1) + n] = 1;
    }
    for (std::size_t c = 0; c < n; ++c) {  // Gaussian elimination with partial pivoting
      std::size_t pivot = c;
      for (std::size_t r = c + 1; r < n; ++r)
        if (std::abs(a[r * (n + 1) + c]) > std::abs(a[pivot * (n + 1) + c])) pivot = r;
      for (std::size_t j = 0; j <= n; ++j) std::swap(a[c * (n + 1) + j], a[pivot * (n + 1) + j]);
      if (a[c * (n + 1) + c] == 0) return plain(n);
      for (std::size_t r = 0; r < n; ++r) {
        if (r == c) continue;
        const double factor = a[r * (n + 1) + c] / a[c * (n + 1) + c];
        for (std::size_t j = c; j <= n; ++j) a[r * (n + 1) + j] -= factor * a[c * (n + 1) + j];
      }
    }
    std::vector<double> alpha(n);
    double total = 0;
    for (std::size_t i = 0; i < n; ++i) total += alpha[i] = a[i * (n + 1) + n] / a[i * (n + 1) + i];
    if (!std::isfinite(total) || std::abs(total) < 1e-300) return plain(n);
    for (double& w : alpha) w /= total;
    return alpha;
  }
  static std::vector<double> plain(std::size_t n) {
    std::vector<double> alpha(n, 0.0);
    alpha[0] = 1;
    return alpha;
  }
};

}  // namespace wfc
