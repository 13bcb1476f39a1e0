#pragma once
// The model compositions the wfc program is built with, picked at run time by name (each is its
// own instantiation of the templates): the GPT with learned or rotary positions, and the WFC model
// with a pinned or drifting past and learned or rotary positions (bidirectional future mask). A
// program of your own can compose any other; `train_wfc` has the other masks.
#include <wfc/wfc.hpp>

#include <string>
#include <type_traits>

#include "support/console.hpp"

namespace wfc_cli {

using backend = wfc_examples::host_backend;

struct model_choice {
  std::string kind = "gpt";  // gpt or wfc
  std::string positions = "learned", past = "pinned", future_mask = "bidirectional";

  void validate() const {
    if (kind != "gpt" && kind != "wfc") throw wfc::config_error("--model must be gpt or wfc, got '" + kind + "'");
    if (positions != "learned" && positions != "rotary")
      throw wfc::config_error("--positions must be learned or rotary, got '" + positions + "'");
    if (kind == "gpt") return;
    if (past != "pinned" && past != "drifting") throw wfc::config_error("--past must be pinned or drifting, got '" + past + "'");
    if (future_mask != "bidirectional")
      throw wfc::config_error("the wfc program builds the bidirectional future mask only, got '" + future_mask +
                              "' (train_wfc has causal and window2)");
  }

  static model_choice of(const wfc::checkpoint& c) {
    model_choice m;
    m.kind = c.kind();
    m.positions = c.policy("positions");
    if (m.kind == "wfc") m.past = c.policy("past"), m.future_mask = c.policy("future_mask");
    m.validate();
    return m;
  }
};

template <class M>
struct model_tag {
  using type = M;
};

template <class Model>
constexpr bool is_gpt = std::is_same_v<Model, wfc::gpt<float, backend, typename Model::positions_policy>>;

// f(model_tag<Model>{}) for the composition `c` names.
template <class F>
auto with_model_type(const model_choice& c, F&& f) {
  using namespace wfc;
  c.validate();
  if (c.kind == "gpt") {
    if (c.positions == "rotary") return f(model_tag<gpt<float, backend, rotary_positions>>{});
    return f(model_tag<gpt<float, backend, learned_positions>>{});
  }
  using mask = masks::bidirectional;
  if (c.past == "drifting") {
    if (c.positions == "rotary") return f(model_tag<wfc_model<float, backend, past::drifting, mask, rotary_positions>>{});
    return f(model_tag<wfc_model<float, backend, past::drifting, mask, learned_positions>>{});
  }
  if (c.positions == "rotary") return f(model_tag<wfc_model<float, backend, past::pinned, mask, rotary_positions>>{});
  return f(model_tag<wfc_model<float, backend, past::pinned, mask, learned_positions>>{});
}

// A model of the checkpoint's configuration (its weights still to be restored).
template <class Model>
Model model_from(const wfc::checkpoint& c) {
  if constexpr (is_gpt<Model>) {
    return Model(c.gpt());
  } else {
    const wfc::wfc_objective o = c.objective();
    return Model(c.wfc(), o, wfc::solvers::fixed_steps{o.steps, c.damping()});
  }
}

}  // namespace wfc_cli
