#pragma once
// A text's fingerprint, so that a run resumed on other data can be told from one resumed on its
// own: the size in bytes and a 64-bit FNV-1a hash, of every byte when the text is small, of its
// size and 64 fixed samples of 4 KiB when it is large (a multi-gigabyte corpus then costs
// microseconds, and a changed size is still caught). FNV-1a is a few lines and fully specified, so
// any tool can recompute it; it detects accidents, not adversaries.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "wfc/core/error.hpp"

namespace wfc {

struct data_fingerprint {
  static constexpr std::uint64_t whole_limit = std::uint64_t(64) << 20;  // hash every byte up to 64 MiB
  static constexpr std::uint64_t samples = 64, sample_bytes = 4096;

  std::uint64_t size = 0;  // bytes
  std::string method;      // "fnv1a64" (every byte) or "fnv1a64-sampled"
  std::string hash;        // 16 hexadecimal digits

  bool operator==(const data_fingerprint& o) const { return size == o.size && method == o.method && hash == o.hash; }
  bool operator!=(const data_fingerprint& o) const { return !(*this == o); }

  std::string describe() const { return std::to_string(size) + " bytes, " + method + " " + hash; }

  static data_fingerprint of(std::string_view bytes) {
    data_fingerprint f;
    f.size = bytes.size();
    std::uint64_t h = 14695981039346656037ull;  // FNV-1a 64 offset basis
    const auto add = [&h](std::string_view part) {
      for (const char c : part) h = (h ^ std::uint64_t(static_cast<unsigned char>(c))) * 1099511628211ull;
    };
    if (f.size <= whole_limit) {
      f.method = "fnv1a64";
      add(bytes);
    } else {
      f.method = "fnv1a64-sampled";
      add(std::to_string(f.size));
      for (std::uint64_t k = 0; k < samples; ++k)  // evenly spaced, the first at 0, the last ending at the end
        add(bytes.substr(std::size_t(k * (f.size - sample_bytes) / (samples - 1)), std::size_t(sample_bytes)));
    }
    char digits[17];
    std::snprintf(digits, sizeof digits, "%016llx", static_cast<unsigned long long>(h));
    f.hash = digits;
    return f;
  }

  nlohmann::json to_json() const { return {{"size", size}, {"method", method}, {"hash", hash}}; }
  static data_fingerprint from_json(const nlohmann::json& j, const std::string& where) {
    data_fingerprint f;
    try {
      f.size = j.at("size").get<std::uint64_t>();
      f.method = j.at("method").get<std::string>();
      f.hash = j.at("hash").get<std::string>();
    } catch (const nlohmann::json::exception& e) {
      throw io_error(where + ": a data fingerprint needs size, method and hash (" + e.what() + ")");
    }
    return f;
  }
};

}  // namespace wfc
