#pragma once
// All of a model's parameters live in one flat buffer, and their gradients in a second buffer of
// the same layout (llm.c's layout): one AdamW call updates everything, one memset clears every
// gradient, a checkpoint is one array. A parameter_layout is the size table built while modules
// are constructed; each module keeps only the offsets of its tensors and views either buffer.
#include <string>
#include <vector>

#include "wfc/core/tensor.hpp"
#include "wfc/core/tensor_view.hpp"

namespace wfc::nn {

struct parameter_spec {
  std::string name;
  std::vector<index_t> extents;
  index_t offset;     // into the flat buffer, in elements
  index_t size;       // number of elements
  bool weight_decay;  // AdamW decays matrices, not biases or norm gains
};

class parameter_layout {
 public:
  // Reserves a tensor and returns its offset. Names are unique ("h.0.attn.qkv.weight").
  index_t add(std::string name, std::vector<index_t> extents, bool weight_decay) {
    index_t n = 1;
    for (index_t e : extents) {
      if (e < 0) throw shape_error("parameter_layout: negative extent in " + name);
      n *= e;
    }
    for (const auto& s : specs_)
      if (s.name == name) throw config_error("parameter_layout: two parameters named " + name);
    specs_.push_back({std::move(name), std::move(extents), size_, n, weight_decay});
    size_ += n;
    return specs_.back().offset;
  }
  index_t size() const { return size_; }
  const std::vector<parameter_spec>& specs() const { return specs_; }

 private:
  std::vector<parameter_spec> specs_;
  index_t size_ = 0;
};

// Views of one parameter tensor inside a flat buffer (parameters or gradients alike).
template <class T>
tensor_view<T, 2> matrix_at(tensor_view<T, 1> flat, index_t offset, index_t rows, index_t cols) {
  if (flat.stride(0) != 1 || offset < 0 || offset + rows * cols > flat.extent(0))
    throw shape_error("parameter view [" + std::to_string(rows) + ", " + std::to_string(cols) + "] at offset " +
                      std::to_string(offset) + " does not fit a flat buffer of shape " + to_string(flat.extents()));
  return {flat.data() + offset, shape<2>{{rows, cols}}};
}
template <class T>
tensor_view<T, 1> vector_at(tensor_view<T, 1> flat, index_t offset, index_t n) {
  return matrix_at(flat, offset, 1, n)[0];
}

}  // namespace wfc::nn
