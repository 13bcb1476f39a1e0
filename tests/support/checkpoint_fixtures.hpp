#pragma once
// What the checkpoint and run-safety tests share: a small alphabet, a small GPT, a short run on a
// text of short words over that alphabet, and scratch files named after the process.
#include <fstream>
#include <sstream>
#include <string>

#include <unistd.h>

#include "support/testing.hpp"

namespace wfc::testing {

inline const char_tokenizer& small_tokenizer() {
  static const char_tokenizer t = char_tokenizer::from_text("abcdefg .\n");
  return t;
}

inline gpt_config small_gpt() {
  gpt_config c;
  c.vocab = small_tokenizer().vocab_size();
  c.block = 16, c.width = 16, c.heads = 2, c.layers = 2;
  return c;
}

// A text of short words over the tokenizer's alphabet (deterministic), long enough to train on.
inline std::string training_text() {
  std::string text;
  const char* words[] = {"bad", "cab", "dec", "face", "bead", "fed", "gab", "age"};
  for (int i = 0; i < 600; ++i) text += std::string(words[(i * 7 + i / 3) % 8]) + (i % 9 == 8 ? ".\n" : " ");
  return text;
}

inline trainer_settings short_run() {
  trainer_settings s;
  s.iterations = 8, s.batch = 4, s.block = 16, s.warmup = 2, s.eval_interval = 4, s.eval_batches = 2, s.lr = 3e-3;
  return s;
}

inline std::string temp_path(const std::string& name) { return "wfc_test_" + std::to_string(::getpid()) + "_" + name + ".safetensors"; }

inline std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace wfc::testing
