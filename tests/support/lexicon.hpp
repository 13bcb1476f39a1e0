#pragma once
// A small synthetic language for training tests: words from a lexicon of nine, in a seeded order,
// so every character inside a word is predictable and a small model learns it in a few steps.
#include <cstdint>
#include <string>

#include "wfc/core/rng.hpp"

namespace wfc::testing {

inline std::string lexicon_text(std::size_t chars) {
  const char* words[] = {"the ", "cat ", "sat ", "on ", "a ", "mat ", "and ", "dog ", "ran "};
  std::string text;
  const counter_rng pick(5);
  for (std::uint64_t i = 0; text.size() < chars; ++i) text += words[std::size_t(pick.uniform<double>(i) * 9)];
  return text;
}

}  // namespace wfc::testing
