// GEMM and batched GEMM at the shapes of one transformer layer, forward and backward, on every
// backend; Eigen called directly is the yardstick the CPU backend (which maps our buffers onto
// Eigen) is read against.
//
// Names: gemm/<form>_m<M>_k<K>_n<N>/<backend> computes c [M, N] = a [M, K] · b [K, N], where the
// form says which operand is stored the other way round and passed as wfc::transpose(view):
// nn (neither: a forward pass), tn (aᵀ·b: a weight gradient), nt (a·bᵀ: an input gradient).
#include "common.hpp"
#include "main.hpp"

#if defined(WFC_HAVE_CPU)
#include <Eigen/Core>
#endif

namespace wfc_bench {
namespace {

enum class form { nn, tn, nt };

const char* form_name(form f) {
  switch (f) {
    case form::tn: return "tn";
    case form::nt: return "nt";
    default: return "nn";
  }
}

struct gemm_case {
  const char* role;  // what it computes in the model
  index_t batch;     // 1 for a plain GEMM
  index_t m, k, n;
  form f;

  double flops() const { return 2.0 * double(batch) * double(m) * double(n) * double(k); }
  // How the operands are stored (before any transpose).
  wfc::shape<2> a_stored() const { return f == form::tn ? wfc::shape<2>{{k, m}} : wfc::shape<2>{{m, k}}; }
  wfc::shape<2> b_stored() const { return f == form::nt ? wfc::shape<2>{{n, k}} : wfc::shape<2>{{k, n}}; }
  std::string shape() const {
    std::string s = form_name(f);
    if (batch > 1) s.append("_").append(dims({{"b", batch}}));
    return s.append("_").append(dims({{"m", m}, {"k", k}, {"n", n}}));
  }
};

using namespace gpt;

// x [768, 128] · w_fc [128, 512] (the MLP's up-projection), h [768, 512] · w_proj [512, 128]
// (its down-projection), each with the two products of its backward pass; and 512³.
const gemm_case gemm_cases[] = {
    {"square", 1, 512, 512, 512, form::nn},
    {"square, a transposed", 1, 512, 512, 512, form::tn},
    {"square, b transposed", 1, 512, 512, 512, form::nt},
    {"mlp up: h = x*w", 1, rows, channels, hidden, form::nn},
    {"mlp up: dx = dh*w^T", 1, rows, hidden, channels, form::nt},
    {"mlp up: dw = x^T*dh", 1, channels, rows, hidden, form::tn},
    {"mlp down: y = h*w", 1, rows, hidden, channels, form::nn},
    {"mlp down: dh = dy*w^T", 1, rows, channels, hidden, form::nt},
    {"mlp down: dw = h^T*dy", 1, hidden, rows, channels, form::tn},
};

// Attention over 48 = heads·batch matrices: scores = q·kᵀ, out = att·v, dv = attᵀ·dout (the
// other backward products have the same shapes and forms).
const gemm_case batched_cases[] = {
    {"attention: att = q*k^T", attention_batch, block, head_dim, block, form::nt},
    {"attention: out = att*v", attention_batch, block, block, head_dim, form::nn},
    {"attention: dv = att^T*dout", attention_batch, block, block, head_dim, form::tn},
};

template <class V>
V transposed_if(bool t, V v) {
  return t ? wfc::transpose(v) : v;
}

template <class B>
void bm_gemm(benchmark::State& state, const gemm_case& g) {
  const auto a = random_tensor<float, 2, B>(g.a_stored(), 1);
  const auto b = random_tensor<float, 2, B>(g.b_stored(), 2);
  wfc::tensor<float, 2, B> c(wfc::shape<2>{{g.m, g.n}});
  const auto av = transposed_if(g.f == form::tn, a.cview());
  const auto bv = transposed_if(g.f == form::nt, b.cview());
  time_kernel<B>(state, [&] { wfc::gemm(B{}, c.view(), av, bv); });
  count_flops(state, g.flops());
  state.SetLabel(g.role);
}

template <class B>
void bm_batched_gemm(benchmark::State& state, const gemm_case& g) {
  const auto stored3 = [&](wfc::shape<2> s) { return wfc::shape<3>{{g.batch, s[0], s[1]}}; };
  const auto a = random_tensor<float, 3, B>(stored3(g.a_stored()), 1);
  const auto b = random_tensor<float, 3, B>(stored3(g.b_stored()), 2);
  wfc::tensor<float, 3, B> c(wfc::shape<3>{{g.batch, g.m, g.n}});
  const auto av = transposed_if(g.f == form::tn, a.cview());
  const auto bv = transposed_if(g.f == form::nt, b.cview());
  time_kernel<B>(state, [&] { wfc::batched_gemm(B{}, c.view(), av, bv); });
  count_flops(state, g.flops());
  state.SetLabel(g.role);
}

#if defined(WFC_HAVE_CPU)
// Eigen on its own row-major matrices, holding the same values as the wfc operands.
using row_matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

row_matrix random_matrix(wfc::shape<2> s, std::uint64_t stream) {
  const std::vector<float> values = random_values<float>(s.size(), stream);
  return Eigen::Map<const row_matrix>(values.data(), s[0], s[1]);
}

void bm_eigen_gemm(benchmark::State& state, const gemm_case& g) {
  const row_matrix a = random_matrix(g.a_stored(), 1);
  const row_matrix b = random_matrix(g.b_stored(), 2);
  row_matrix c(g.m, g.n);
  for (auto _ : state) {
    switch (g.f) {
      case form::nn: c.noalias() = a * b; break;
      case form::tn: c.noalias() = a.transpose() * b; break;
      case form::nt: c.noalias() = a * b.transpose(); break;
    }
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  count_flops(state, g.flops());
  state.SetLabel(g.role);
}
#endif

}  // namespace

void register_benchmarks() {
  for (const gemm_case& g : gemm_cases) {
    add_all("gemm", g.shape(), [&g](auto be) { return [&g](benchmark::State& s) { bm_gemm<decltype(be)>(s, g); }; },
            g.flops());
#if defined(WFC_HAVE_CPU)
    add("gemm", g.shape(), "eigen", [&g](benchmark::State& s) { bm_eigen_gemm(s, g); });
#endif
  }
  for (const gemm_case& g : batched_cases)
    add_all("batched_gemm", g.shape(),
            [&g](auto be) { return [&g](benchmark::State& s) { bm_batched_gemm<decltype(be)>(s, g); }; }, g.flops());
}

}  // namespace wfc_bench
