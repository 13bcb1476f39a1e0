// A two-layer MLP trained on interleaved spirals with nothing but wfc kernels: the forward and
// backward passes of linear → GELU → linear → cross-entropy, and AdamW. The same function runs on
// every backend; pass `reference`, `cpu` or `kokkos` to choose (default: cpu).
//
//   ./mlp_spirals [backend] [steps]
#include <wfc/wfc.hpp>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

namespace {

constexpr wfc::index_t classes = 3, points = 768, hidden = 128;

// Three interleaved spirals in the plane, with a little seeded noise.
void make_spirals(std::vector<float>& xy, std::vector<wfc::token_id>& label) {
  const wfc::counter_rng rng(1);
  for (wfc::index_t i = 0; i < points; ++i) {
    const auto c = wfc::token_id(i % classes);
    const double r = double(i / classes) / double(points / classes);
    const double angle = 4.0 * r + 2.0943951 * c + 0.2 * rng.normal<double>(std::uint64_t(i));
    xy.push_back(float(r * std::cos(angle)));
    xy.push_back(float(r * std::sin(angle)));
    label.push_back(c);
  }
}

template <class B>
int train(int steps) {
  using namespace wfc;
  const B be{};
  std::vector<float> xy_host;
  std::vector<token_id> label_host;
  make_spirals(xy_host, label_host);
  tensor<float, 2, B> x(shape<2>{{points, 2}}, xy_host);
  tensor<token_id, 1, B> labels(shape<1>{{points}}, label_host);

  // All parameters in one flat buffer (one AdamW call), seen as matrices through views.
  const index_t n1 = 2 * hidden, n2 = hidden * classes, total = n1 + hidden + n2 + classes;
  tensor<float, 1, B> params(shape<1>{{total}}), grads(shape<1>{{total}}), m(shape<1>{{total}}), v(shape<1>{{total}});
  auto part = [](tensor_view<float, 1> flat, index_t offset, index_t rows, index_t cols) {
    return tensor_view<float, 2>(flat.data() + offset, shape<2>{{rows, cols}});
  };
  auto w1 = part(params.view(), 0, 2, hidden), w2 = part(params.view(), n1 + hidden, hidden, classes);
  auto b1 = params.view().slice(0, n1, n1 + hidden), b2 = params.view().slice(0, total - classes, total);
  auto dw1 = part(grads.view(), 0, 2, hidden), dw2 = part(grads.view(), n1 + hidden, hidden, classes);
  auto db1 = grads.view().slice(0, n1, n1 + hidden), db2 = grads.view().slice(0, total - classes, total);
  fill_normal(be, w1, counter_rng(2), 0.f, 1.f);
  fill_normal(be, w2, counter_rng(3), 0.f, 1.f / std::sqrt(float(hidden)));

  tensor<float, 2, B> pre(shape<2>{{points, hidden}}), act(shape<2>{{points, hidden}}), logits(shape<2>{{points, classes}});
  tensor<float, 2, B> dlogits(shape<2>{{points, classes}}), dact(shape<2>{{points, hidden}}), dpre(shape<2>{{points, hidden}});
  tensor<float, 1, B> loss(shape<1>{{points}}), dloss(shape<1>{{points}});
  fill(be, dloss.view(), 1.f / float(points));  // d(mean loss)/d(loss_i)

  const auto start = std::chrono::steady_clock::now();
  float mean_loss = 0;
  for (int step = 1; step <= steps; ++step) {
    gemm(be, pre.view(), x.cview(), as_const(w1));  // forward
    add_bias(be, pre.view(), as_const(b1));
    gelu_forward(be, act.view(), pre.cview());
    gemm(be, logits.view(), act.cview(), as_const(w2));
    add_bias(be, logits.view(), as_const(b2));
    cross_entropy_forward(be, loss.view(), logits.cview(), labels.cview());
    mean_loss = sum(be, loss.cview()) / float(points);

    fill(be, grads.view(), 0.f);  // backward: every kernel accumulates
    fill(be, dlogits.view(), 0.f);
    fill(be, dpre.view(), 0.f);
    cross_entropy_backward(be, dlogits.view(), dloss.cview(), logits.cview(), labels.cview());
    gemm(be, dw2, transpose(act.cview()), dlogits.cview());
    sum_rows(be, db2, dlogits.cview());
    gemm(be, dact.view(), dlogits.cview(), transpose(as_const(w2)));
    gelu_backward(be, dpre.view(), dact.cview(), pre.cview());
    gemm(be, dw1, transpose(x.cview()), dpre.cview());
    sum_rows(be, db1, dpre.cview());

    adamw_options opt;
    opt.lr = 0.01 * 0.5 * (1 + std::cos(3.14159265 * step / steps));  // cosine decay
    opt.step = step;
    adamw_step(be, params.view(), grads.cview(), m.view(), v.view(), opt);
    if (step == 1 || step % (steps / 10 > 0 ? steps / 10 : 1) == 0)
      std::printf("step %4d  loss %.4f\n", step, double(mean_loss));
  }
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();

  // Accuracy: the arg-max class of each point's logits.
  const auto host_logits = logits.to_host();
  int correct = 0;
  for (index_t i = 0; i < points; ++i) {
    index_t best = 0;
    for (index_t c = 1; c < classes; ++c)
      if (host_logits[std::size_t(i * classes + c)] > host_logits[std::size_t(i * classes + best)]) best = c;
    correct += best == label_host[std::size_t(i)];
  }
  std::printf("%s backend: %d steps in %.0f ms, final loss %.4f, accuracy %.1f%%\n", B::name, steps, ms,
              double(mean_loss), 100.0 * correct / points);
  return mean_loss < 0.5f ? 0 : 1;  // a working stack separates the spirals
}

}  // namespace

int main(int argc, char** argv) {
  const std::string backend = argc > 1 ? argv[1] : "cpu";
  try {
    if (argc > 3) throw wfc::config_error("usage: mlp_spirals [backend] [steps]; got " + std::to_string(argc - 1) + " arguments");
    // A whole number and nothing else: "1e3" or "10x" are refused, not read as 1 or 10.
    const std::string given = argc > 2 ? argv[2] : "1000";
    char* end = nullptr;
    errno = 0;
    const long long parsed = std::strtoll(given.c_str(), &end, 10);
    if (given.empty() || *end != '\0' || errno == ERANGE || parsed < 1 || parsed > std::numeric_limits<int>::max())
      throw wfc::value_error("steps must be a whole number from 1 to " + std::to_string(std::numeric_limits<int>::max()) + ", got '" +
                             given + "'");
    const int steps = int(parsed);
    if (backend == "reference") return train<wfc::reference>(steps);
#if defined(WFC_HAVE_CPU)
    if (backend == "cpu") return train<wfc::cpu>(steps);
#endif
#if defined(WFC_HAVE_KOKKOS)
    if (backend == "kokkos") {
      Kokkos::ScopeGuard guard(argc, argv);
      return train<wfc::kokkos<>>(steps);
    }
#endif
    throw wfc::config_error("unknown or unbuilt backend '" + backend + "' (this build has: reference"
#if defined(WFC_HAVE_CPU)
                            ", cpu"
#endif
#if defined(WFC_HAVE_KOKKOS)
                            ", kokkos"
#endif
                            ")");
  } catch (const wfc::error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  }
}
