#pragma once
// A tokenized text split as nanoGPT splits it (first 90% train, last 10% validation) and random
// batches of (inputs, targets = inputs shifted by one) drawn from a split. Batch k of a run with a
// given seed is always the same, however many batches came before it.
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "wfc/core/rng.hpp"
#include "wfc/core/tensor_view.hpp"

namespace wfc {

// The whole file; io_error when it cannot be read.
inline std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw io_error("cannot open '" + path + "' for reading");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw io_error("error while reading '" + path + "'");
  return text.str();
}

enum class split { train, validation };

class text_dataset {
 public:
  text_dataset(std::vector<token_id> tokens, double train_fraction = 0.9) : tokens_(std::move(tokens)) {
    if (!(train_fraction > 0 && train_fraction < 1))
      throw value_error("text_dataset: the training fraction must lie in (0, 1), got " + std::to_string(train_fraction));
    train_size_ = index_t(double(tokens_.size()) * train_fraction);
  }

  index_t size(split s) const { return s == split::train ? train_size_ : index_t(tokens_.size()) - train_size_; }
  const token_id* begin(split s) const { return tokens_.data() + (s == split::train ? 0 : train_size_); }

  // Fills inputs and targets ([batch·block] each, row-major) with `batch` windows of `block`
  // tokens at random offsets of split s: batch number `step` of the generator `rng`.
  void sample(split s, index_t batch, index_t block, const counter_rng& rng, std::uint64_t step,
              std::vector<token_id>& inputs, std::vector<token_id>& targets) const {
    sample_rows(s, batch, 0, batch, block, rng, step, inputs, targets);
  }

  // Rows [first, first + count) of that batch (one process's share of a batch split across
  // processes): row b depends on (step, batch, b) alone.
  void sample_rows(split s, index_t batch, index_t first, index_t count, index_t block, const counter_rng& rng, std::uint64_t step,
                   std::vector<token_id>& inputs, std::vector<token_id>& targets) const {
    const index_t n = size(s);
    if (batch <= 0 || block <= 0) throw value_error("text_dataset::sample: batch and block must be positive");
    if (first < 0 || count < 1 || first + count > batch)
      throw value_error("text_dataset::sample_rows: rows " + std::to_string(first) + " to " + std::to_string(first + count) +
                        " are not rows of a batch of " + std::to_string(batch));
    if (n < block + 1)
      throw value_error(std::string("text_dataset: the ") + (s == split::train ? "training" : "validation") + " split has " +
                        std::to_string(n) + " tokens, a window needs block + 1 = " + std::to_string(block + 1) +
                        ": use more text or a shorter block");
    inputs.resize(std::size_t(count * block));
    targets.resize(std::size_t(count * block));
    const token_id* data = begin(s);
    for (index_t i = 0; i < count; ++i) {
      const index_t b = first + i;
      const auto start = index_t(rng.uniform<double>(step * std::uint64_t(batch) + std::uint64_t(b)) * double(n - block));
      for (index_t t = 0; t < block; ++t) {
        inputs[std::size_t(i * block + t)] = data[start + t];
        targets[std::size_t(i * block + t)] = data[start + t + 1];
      }
    }
  }

 private:
  std::vector<token_id> tokens_;
  index_t train_size_ = 0;
};

}  // namespace wfc
