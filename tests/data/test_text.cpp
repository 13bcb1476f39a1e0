// UTF-8, the character tokenizer and the text dataset.
#include <cstdio>
#include <fstream>

#include "support/testing.hpp"

using namespace wfc;
using namespace wfc::testing;

TEST_CASE("utf8 decodes multi-byte characters and rejects malformed input with the byte offset", "[data][utf8]") {
  const std::string text = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80";  // a é € 😀
  REQUIRE(utf8::decode(text) == std::vector<char32_t>{U'a', U'\u00e9', U'\u20ac', U'\U0001F600'});
  std::string round;
  for (char32_t c : utf8::decode(text)) round += utf8::encode(c);
  REQUIRE(round == text);
  require_throws_containing<value_error>([] { utf8::decode("ab\x80"); }, "byte 2");
  require_throws_containing<value_error>([] { utf8::decode("\xE2\x82"); }, "ends inside");
  require_throws_containing<value_error>([] { utf8::decode("\xC0\xAF"); }, "overlong");
  require_throws_containing<value_error>([] { utf8::decode("\xED\xA0\x80"); }, "scalar");
  require_throws_containing<value_error>([] { utf8::decode("\xE2(\xA1"); }, "cut short");
}

TEST_CASE("the character tokenizer sorts unique code points, round-trips, and names unknown characters", "[data][tokenizer]") {
  const std::string text = "hello, w\xC3\xB6rld\n";
  const auto tok = char_tokenizer::from_text(text);
  REQUIRE(tok.vocabulary() == std::vector<char32_t>{U'\n', U' ', U',', U'd', U'e', U'h', U'l', U'o', U'r', U'w', U'\u00f6'});
  const auto ids = tok.encode(text);
  REQUIRE(ids.size() == 13);  // characters, not bytes
  REQUIRE(ids[0] == 5);       // 'h'
  REQUIRE(ids[8] == 10);      // 'ö'
  REQUIRE(tok.decode(ids) == text);
  require_throws_containing<value_error>([&] { tok.encode("hello!"); }, "unknown character '!' (U+0021) at position 5");
  require_throws_containing<value_error>([&] { tok.encode("w\xC3\xA9"); }, "U+00E9 at position 1");
  require_throws_containing<value_error>([&] { tok.decode({0, 11}); }, "id 11 at position 1");
  REQUIRE_THROWS_AS(char_tokenizer(std::vector<char32_t>{U'b', U'a'}), value_error);
  REQUIRE_THROWS_AS(char_tokenizer::from_text(""), value_error);
  REQUIRE(char_tokenizer(tok.vocabulary()).encode("world") == tok.encode("world"));
}

TEST_CASE("the text dataset splits 90/10 and draws reproducible shifted batches", "[data][dataset]") {
  std::vector<token_id> tokens(1000);
  for (std::size_t i = 0; i < tokens.size(); ++i) tokens[i] = token_id(i);
  const text_dataset data(tokens);
  REQUIRE(data.size(split::train) == 900);
  REQUIRE(data.size(split::validation) == 100);
  REQUIRE(*data.begin(split::validation) == 900);

  std::vector<token_id> x, y, x2, y2;
  const counter_rng rng(42);
  data.sample(split::train, 4, 16, rng, 7, x, y);
  REQUIRE(x.size() == 64);
  for (std::size_t i = 0; i < x.size(); ++i) {
    REQUIRE(y[i] == x[i] + 1);  // targets are the next tokens
    REQUIRE(x[i] < 900);
    REQUIRE(y[i] < 900);        // never crosses into validation
  }
  for (std::size_t b = 0; b < 4; ++b)
    for (std::size_t t = 1; t < 16; ++t) REQUIRE(x[b * 16 + t] == x[b * 16 + t - 1] + 1);  // contiguous windows
  data.sample(split::train, 4, 16, rng, 7, x2, y2);
  REQUIRE(x == x2);  // the same step gives the same batch
  data.sample(split::train, 4, 16, rng, 8, x2, y2);
  REQUIRE(x != x2);
  data.sample(split::validation, 2, 99, rng, 0, x2, y2);
  for (token_id v : x2) REQUIRE(v >= 900);
  require_throws_containing<value_error>([&] { data.sample(split::validation, 2, 100, rng, 0, x2, y2); }, "validation split has 100 tokens");
  REQUIRE_THROWS_AS(text_dataset(tokens, 1.5), value_error);
}

TEST_CASE("read_text_file reads bytes and reports a missing file", "[data]") {
  const std::string path = "wfc_test_text.txt";
  {
    std::ofstream out(path, std::ios::binary);
    out << "To be,\nor not";
  }
  REQUIRE(read_text_file(path) == "To be,\nor not");
  std::remove(path.c_str());
  require_throws_containing<io_error>([&] { read_text_file(path); }, "wfc_test_text.txt");
}
