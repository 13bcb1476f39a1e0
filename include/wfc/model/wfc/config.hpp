#pragma once
// The WFC model's sizes (docs/design.md): a plain struct, checked once when a model is built.
#include <string>

#include "wfc/core/error.hpp"
#include "wfc/core/tensor_view.hpp"

namespace wfc {

struct wfc_config {
  index_t vocab = 65, width = 128, heads = 4, layers = 4;
  index_t future = 4;   // F: future slots in the window (and the training block size)
  index_t window = 64;  // W: positions in the window (the learned position table's rows)
  bool bias = false;    // biases in the linear layers and norms (as gpt_config::bias)

  void validate() const {
    if (vocab <= 0 || width <= 0 || heads <= 0 || layers <= 0 || window <= 0)
      throw config_error("wfc_config: vocab, width, heads, layers and window must be positive");
    if (width % heads != 0)
      throw config_error("wfc_config: " + std::to_string(heads) + " heads do not divide the width " + std::to_string(width));
    if (future < 1 || future > window)
      throw config_error("wfc_config: the future F (" + std::to_string(future) + ") must be between 1 and the window (" +
                         std::to_string(window) + ")");
  }
};

}  // namespace wfc
