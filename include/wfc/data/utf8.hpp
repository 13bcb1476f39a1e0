#pragma once
// UTF-8 to code points and back: the character tokenizer works on characters, not bytes.
#include <string>
#include <string_view>
#include <vector>

#include "wfc/core/error.hpp"

namespace wfc::utf8 {

// Decodes UTF-8; malformed input (a stray continuation byte, a truncated sequence, an overlong
// form, a surrogate, a value above U+10FFFF) throws value_error naming the byte offset.
inline std::vector<char32_t> decode(std::string_view text) {
  std::vector<char32_t> out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const auto b0 = static_cast<unsigned char>(text[i]);
    const int length = b0 < 0x80 ? 1 : (b0 >> 5) == 0x6 ? 2 : (b0 >> 4) == 0xE ? 3 : (b0 >> 3) == 0x1E ? 4 : 0;
    auto fail = [&](const char* what) {
      throw value_error("invalid UTF-8 at byte " + std::to_string(i) + ": " + what);
    };
    if (length == 0) fail("not the first byte of a character");
    if (i + std::size_t(length) > text.size()) fail("the text ends inside a character");
    char32_t c = length == 1 ? b0 : length == 2 ? (b0 & 0x1F) : length == 3 ? (b0 & 0x0F) : (b0 & 0x07);
    for (int k = 1; k < length; ++k) {
      const auto b = static_cast<unsigned char>(text[i + std::size_t(k)]);
      if ((b >> 6) != 0x2) fail("a character is cut short");
      c = (c << 6) | (b & 0x3F);
    }
    const char32_t smallest[] = {0, 0, 0x80, 0x800, 0x10000};
    if (c < smallest[length]) fail("an overlong encoding");
    if ((c >= 0xD800 && c <= 0xDFFF) || c > 0x10FFFF) fail("not a Unicode scalar value");
    out.push_back(c);
    i += std::size_t(length);
  }
  return out;
}

inline std::string encode(char32_t c) {
  std::string s;
  if (c < 0x80) {
    s += char(c);
  } else if (c < 0x800) {
    s += char(0xC0 | (c >> 6));
    s += char(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    s += char(0xE0 | (c >> 12));
    s += char(0x80 | ((c >> 6) & 0x3F));
    s += char(0x80 | (c & 0x3F));
  } else {
    s += char(0xF0 | (c >> 18));
    s += char(0x80 | ((c >> 12) & 0x3F));
    s += char(0x80 | ((c >> 6) & 0x3F));
    s += char(0x80 | (c & 0x3F));
  }
  return s;
}

// How a character reads in an error message: itself when printable ASCII, plus its code point.
inline std::string describe(char32_t c) {
  static const char* hex = "0123456789ABCDEF";
  std::string code = "U+";
  for (int shift = c > 0xFFFF ? 20 : 12; shift >= 0; shift -= 4) code += hex[(c >> shift) & 0xF];
  if (c < 0x20 || c >= 0x7F) return code;
  std::string out = "'";  // built by appending: GCC 12's -Wrestrict misfires on a chain of +
  out.append(1, char(c)).append("' (").append(code).append(")");
  return out;
}

}  // namespace wfc::utf8
