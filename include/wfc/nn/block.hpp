#pragma once
// A pre-LayerNorm transformer block (GPT-2): x + attn(ln1(x)), then that + mlp(ln2(that)).
#include "wfc/nn/attention.hpp"
#include "wfc/nn/layer_norm.hpp"
#include "wfc/nn/mlp.hpp"

namespace wfc::nn {

struct transformer_block {
  // Declared in parameter order (GPT-2's names): ln_1, attn, ln_2, mlp.
  layer_norm ln1;
  attention attn;
  layer_norm ln2;
  mlp ff;

  transformer_block() = default;
  // bias: whether the linear layers and norms have biases (GPT-2: yes; nanoGPT's default: no).
  transformer_block(parameter_layout& layout, const std::string& name, index_t width, index_t heads, index_t hidden,
                    bool bias = true)
      : ln1(layout, name + ".ln_1", width, bias), attn(layout, name + ".attn", width, heads, bias),
        ln2(layout, name + ".ln_2", width, bias), ff(layout, name + ".mlp", width, hidden, bias) {}

  template <class B, class T>
  void initialise_norms(B be, tensor_view<T, 1> params) const {
    ln1.initialise(be, params);
    ln2.initialise(be, params);
  }

  // Written by forward, read by backward. [N, width] unless noted; mean/rstd [N].
  template <class T>
  struct activations {
    tensor_view<T, 2> ln1_out, mid, ln2_out;  // mid = x + attn(ln1(x))
    tensor_view<T, 1> ln1_mean, ln1_rstd, ln2_mean, ln2_rstd;
    attention::activations<T> attn;
    mlp::activations<T> ff;
  };
  // Overwritten by backward.
  template <class T>
  struct scratch {
    tensor_view<T, 2> d_mid, d_norm;  // [N, width]
    attention::scratch<T> attn;
    mlp::activations<T> ff;
  };

  template <class B, class T>
  void forward(B be, tensor_view<T, 2> out, activations<T> a, in_view<T, 2> x, const attention_context<T>& c,
               in_view<T, 1> params) const {
    ln1.forward(be, a.ln1_out, a.ln1_mean, a.ln1_rstd, x, params);
    attn.forward(be, a.mid, a.attn, as_const(a.ln1_out), c, params);
    axpy(be, a.mid, T(1), x);
    ln2.forward(be, a.ln2_out, a.ln2_mean, a.ln2_rstd, as_const(a.mid), params);
    ff.forward(be, out, a.ff, as_const(a.ln2_out), params);
    axpy(be, out, T(1), as_const(a.mid));
  }

  // dx += ∂L/∂x, grads += ∂L/∂params (and the attention's past segment's gradients into dpast
  // where given; kv: later consumers' gradients of this block's own keys and values): the residual
  // paths carry dout straight through.
  template <class B, class T>
  void backward(B be, tensor_view<T, 2> dx, tensor_view<T, 1> grads, scratch<T> s, in_view<T, 2> dout, in_view<T, 2> x,
                const activations<T>& a, const attention_context<T>& c, in_view<T, 1> params,
                past_gradients<T> dpast = {}, own_kv_gradients<T> kv = {}) const {
    copy(be, s.d_mid, dout);
    ff.backward(be, s.d_norm, grads, s.ff, dout, as_const(a.ln2_out), constant(a.ff), params, T(0));  // overwrites d_norm
    ln2.backward(be, s.d_mid, grads, as_const(s.d_norm), as_const(a.mid), as_const(a.ln2_mean), as_const(a.ln2_rstd), params);
    axpy(be, dx, T(1), as_const(s.d_mid));
    attn.backward(be, s.d_norm, grads, s.attn, as_const(s.d_mid), as_const(a.ln1_out),
                  attention::activations<const T>{a.attn.qkv, a.attn.probs, a.attn.y}, c, params, dpast, T(0), kv);  // overwrites d_norm
    ln1.backward(be, dx, grads, as_const(s.d_norm), x, as_const(a.ln1_mean), as_const(a.ln1_rstd), params);
  }

 private:
  template <class T>
  static mlp::activations<const T> constant(const mlp::activations<T>& a) {
    return {a.pre, a.post};
  }
};

}  // namespace wfc::nn
