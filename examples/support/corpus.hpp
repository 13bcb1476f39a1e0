#pragma once
// A default corpus generated in code, so the examples run on a fresh machine without a data file:
// a small play in the shape of tinyshakespeare (a speaker's name, a colon, a few lines, a blank
// line), its sentences drawn from a little grammar with a seeded generator. It is regular enough
// for a small model to learn in a minute, and varied enough that the future is uncertain.
#include <cctype>
#include <cstdint>
#include <string>
#include <vector>

#include "wfc/core/rng.hpp"

namespace wfc_examples {

inline std::string generated_play(std::size_t chars = 300000, std::uint64_t seed = 2024) {
  using words = std::vector<const char*>;
  const words speakers{"KING", "QUEEN", "HAMLET", "ROMEO", "JULIET", "FOOL", "NURSE", "DUKE"};
  const words names{"my lord", "good sir", "sweet lady", "fair cousin", "old friend", "my liege"};
  const words adjectives{"cold", "dark", "gentle", "bitter", "golden", "quiet", "noble", "wild"};
  const words nouns{"night", "sea", "crown", "heart", "sword", "rose", "moon", "tide", "grave", "field"};
  const words verbs{"loves", "fears", "keeps", "seeks", "follows", "remembers", "forgets", "calls"};
  const words my_verbs{"love", "fear", "know", "trust", "follow", "remember", "forget", "call"};
  const words persons{"the king", "the queen", "my father", "thy mother", "the fool", "our duke"};
  const wfc::counter_rng rng(seed);
  std::uint64_t draw = 0;
  auto pick = [&](const words& w) { return std::string(w[std::size_t(rng.uniform<double>(draw++) * double(w.size())) % w.size()]); };
  auto sentence = [&]() -> std::string {
    switch (std::size_t(rng.uniform<double>(draw++) * 5)) {
      case 0: return "The " + pick(nouns) + " is " + pick(adjectives) + " and the " + pick(nouns) + " is " + pick(adjectives) + ".";
      case 1: return pick(persons) + " " + pick(verbs) + " the " + pick(adjectives) + " " + pick(nouns) + ".";
      case 2: return "O " + pick(names) + ", I " + pick(my_verbs) + " thee not.";
      case 3: return "What " + pick(nouns) + " is this, " + pick(names) + "?";
      default: return "Come, " + pick(names) + ": the " + pick(nouns) + " " + pick(verbs) + " us.";
    }
  };
  std::string text;
  while (text.size() < chars) {
    text += pick(speakers) + ":\n";
    const std::size_t lines = 1 + std::size_t(rng.uniform<double>(draw++) * 3);
    for (std::size_t i = 0; i < lines; ++i) {
      std::string s = sentence();
      s[0] = char(std::toupper(static_cast<unsigned char>(s[0])));
      text += s + "\n";
    }
    text += "\n";
  }
  return text;
}

}  // namespace wfc_examples
