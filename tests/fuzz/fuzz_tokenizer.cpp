// libFuzzer target: UTF-8 decoding and the character tokenizer on arbitrary bytes. The input is a
// training text, then (after the first NUL byte, if any) a text to encode. Bad UTF-8 and unknown
// characters must be wfc::errors; a text that trains a tokenizer must encode with it; and what
// encodes must decode to the same bytes. Anything else aborts (libFuzzer reports it as a crash).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "wfc/data/char_tokenizer.hpp"
#include "wfc/data/utf8.hpp"

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_tokenizer: %s\n", what);
  std::abort();
}

// decode(encode(text)) == text whenever encode succeeds.
void round_trip(const wfc::char_tokenizer& tokenizer, std::string_view text) {
  const std::vector<wfc::token_id> ids = tokenizer.encode(text);
  for (wfc::token_id id : ids)
    if (id < 0 || id >= tokenizer.vocab_size()) fail("encode returned an id outside the vocabulary");
  if (tokenizer.decode(ids) != text) fail("decode(encode(text)) differs from the text");
}

void run(std::string_view input) {
  const std::size_t nul = input.find('\0');
  const std::string_view training = input.substr(0, nul);
  const std::string_view other = nul == std::string_view::npos ? std::string_view() : input.substr(nul + 1);

  // UTF-8 alone: what decodes re-encodes to the same bytes, and every character describes itself.
  try {
    std::string again;
    for (char32_t c : wfc::utf8::decode(other)) {
      again += wfc::utf8::encode(c);
      (void)wfc::utf8::describe(c);
    }
    if (again != other) fail("utf8::encode(utf8::decode(text)) differs from the text");
  } catch (const wfc::error&) {
  }

  wfc::char_tokenizer tokenizer = [&] {
    try {
      return wfc::char_tokenizer::from_text(training);
    } catch (const wfc::error&) {
      return wfc::char_tokenizer({U'a'});  // bad UTF-8 or an empty text: go on with a one-letter vocabulary
    }
  }();
  if (tokenizer.vocab_size() < 1) fail("a tokenizer with an empty vocabulary");

  // Its own training text always encodes (when it is valid UTF-8 and trained this tokenizer).
  try {
    (void)wfc::char_tokenizer::from_text(training);
    round_trip(tokenizer, training);
  } catch (const wfc::error&) {
  }
  // Another text encodes or names the character it lacks.
  try {
    round_trip(tokenizer, other);
  } catch (const wfc::error&) {
  }
  // Arbitrary ids: decode refuses those outside the vocabulary.
  std::vector<wfc::token_id> ids;
  for (std::size_t i = 0; i + 1 < other.size() && ids.size() < 64; i += 2)
    ids.push_back(wfc::token_id(std::int8_t(other[i])) * 256 + wfc::token_id(static_cast<unsigned char>(other[i + 1])));
  try {
    (void)tokenizer.decode(ids);
  } catch (const wfc::error&) {
  }
  // A saved vocabulary (a checkpoint's, whose loader checks the code points): Unicode scalar values
  // from the bytes, refused unless sorted and unique.
  std::vector<char32_t> vocabulary;
  for (std::size_t i = 0; i + 2 < training.size() && vocabulary.size() < 64; i += 3) {
    char32_t c = (char32_t(static_cast<unsigned char>(training[i])) << 16 | char32_t(static_cast<unsigned char>(training[i + 1])) << 8 |
                  static_cast<unsigned char>(training[i + 2])) % 0x110000;
    if (c >= 0xD800 && c <= 0xDFFF) c -= 0x800;
    vocabulary.push_back(c);
  }
  try {
    const wfc::char_tokenizer saved(vocabulary);
    for (std::size_t i = 1; i < vocabulary.size(); ++i)
      if (!(vocabulary[i - 1] < vocabulary[i])) fail("an unsorted vocabulary was accepted");
    std::vector<wfc::token_id> all(vocabulary.size());
    for (std::size_t i = 0; i < all.size(); ++i) all[i] = wfc::token_id(i);
    const std::string text = saved.decode(all);
    round_trip(saved, text);  // its own characters always encode
  } catch (const wfc::error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  run(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
