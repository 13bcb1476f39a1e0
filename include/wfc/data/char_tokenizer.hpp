#pragma once
// Character-level tokenizer, as nanoGPT's shakespeare_char: the vocabulary is the sorted set of
// characters (Unicode code points) of the training text, a token id is a character's rank in it.
#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "wfc/core/tensor_view.hpp"
#include "wfc/data/utf8.hpp"

namespace wfc {

class char_tokenizer {
 public:
  // The vocabulary of a text: its distinct characters, sorted.
  static char_tokenizer from_text(std::string_view utf8_text) {
    std::vector<char32_t> chars = utf8::decode(utf8_text);
    std::sort(chars.begin(), chars.end());
    chars.erase(std::unique(chars.begin(), chars.end()), chars.end());
    return char_tokenizer(std::move(chars));
  }

  // A saved vocabulary (e.g. from a checkpoint): must be sorted and free of duplicates.
  explicit char_tokenizer(std::vector<char32_t> vocabulary) : vocabulary_(std::move(vocabulary)) {
    if (vocabulary_.empty()) throw value_error("char_tokenizer: the vocabulary is empty (no training text?)");
    for (std::size_t i = 1; i < vocabulary_.size(); ++i)
      if (!(vocabulary_[i - 1] < vocabulary_[i]))
        throw value_error("char_tokenizer: the vocabulary must be sorted and free of duplicates (entry " + std::to_string(i) +
                          ")");
  }

  index_t vocab_size() const { return index_t(vocabulary_.size()); }
  const std::vector<char32_t>& vocabulary() const { return vocabulary_; }

  // Unknown characters throw value_error naming the character and its position (in characters).
  std::vector<token_id> encode(std::string_view utf8_text) const {
    const std::vector<char32_t> chars = utf8::decode(utf8_text);
    std::vector<token_id> ids;
    ids.reserve(chars.size());
    for (std::size_t i = 0; i < chars.size(); ++i) {
      const auto it = std::lower_bound(vocabulary_.begin(), vocabulary_.end(), chars[i]);
      if (it == vocabulary_.end() || *it != chars[i])
        throw value_error("unknown character " + utf8::describe(chars[i]) + " at position " + std::to_string(i) +
                          ": the model's vocabulary (" + std::to_string(vocabulary_.size()) +
                          " characters, from its training text) does not have it");
      ids.push_back(token_id(it - vocabulary_.begin()));
    }
    return ids;
  }

  std::string decode(const std::vector<token_id>& ids) const {
    std::string out;
    for (std::size_t i = 0; i < ids.size(); ++i) {
      if (ids[i] < 0 || ids[i] >= vocab_size())
        throw value_error("char_tokenizer::decode: id " + std::to_string(ids[i]) + " at position " + std::to_string(i) +
                          " is outside the vocabulary [0, " + std::to_string(vocab_size()) + ")");
      out += utf8::encode(vocabulary_[std::size_t(ids[i])]);
    }
    return out;
  }

 private:
  std::vector<char32_t> vocabulary_;
};

}  // namespace wfc
