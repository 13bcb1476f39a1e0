#pragma once
// Counter-based random numbers (Philox4x32-10, Salmon et al. 2011): the value at index i depends
// only on (seed, stream, i), never on which thread or device asks, so initialisation and sampling
// are reproducible under any thread count or backend.
#include <cmath>
#include <cstdint>

#include "wfc/core/host_device.hpp"

namespace wfc {

struct philox_block {
  std::uint32_t v[4];
};

// One Philox4x32-10 evaluation; matches Random123's known-answer vectors.
WFC_HOST_DEVICE philox_block philox4x32_10(philox_block ctr, std::uint32_t k0, std::uint32_t k1) {
  constexpr std::uint32_t m0 = 0xD2511F53u, m1 = 0xCD9E8D57u;
  constexpr std::uint32_t w0 = 0x9E3779B9u, w1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    const std::uint64_t p0 = std::uint64_t(m0) * ctr.v[0];
    const std::uint64_t p1 = std::uint64_t(m1) * ctr.v[2];
    ctr = {{std::uint32_t(p1 >> 32) ^ ctr.v[1] ^ k0, std::uint32_t(p1),
            std::uint32_t(p0 >> 32) ^ ctr.v[3] ^ k1, std::uint32_t(p0)}};
    k0 += w0;
    k1 += w1;
  }
  return ctr;
}

class counter_rng {
 public:
  constexpr counter_rng() = default;
  constexpr explicit counter_rng(std::uint64_t seed, std::uint64_t stream = 0) : seed_(seed), stream_(stream) {}

  constexpr std::uint64_t seed() const { return seed_; }
  constexpr std::uint64_t stream() const { return stream_; }
  // An independent generator with the same seed (one per tensor, per purpose, per step).
  constexpr counter_rng with_stream(std::uint64_t stream) const { return counter_rng(seed_, stream); }

  WFC_HOST_DEVICE philox_block bits(std::uint64_t i) const {
    return philox4x32_10({{std::uint32_t(i), std::uint32_t(i >> 32), std::uint32_t(stream_),
                           std::uint32_t(stream_ >> 32)}},
                         std::uint32_t(seed_), std::uint32_t(seed_ >> 32));
  }

  // Uniform in [0, 1): 24 random bits for float, 53 for double (both exact, never 1).
  template <class T>
  WFC_HOST_DEVICE T uniform(std::uint64_t i) const {
    const philox_block b = bits(i);
    if constexpr (sizeof(T) <= 4) {
      return T(b.v[0] >> 8) * T(1.0f / 16777216.0f);
    } else {
      return T(to_unit_double(b.v[0], b.v[1]));
    }
  }

  // Standard normal (Box-Muller on two 53-bit uniforms, computed in double for every T).
  template <class T>
  WFC_HOST_DEVICE T normal(std::uint64_t i) const {
    const philox_block b = bits(i);
    const double u1 = 1.0 - to_unit_double(b.v[0], b.v[1]);  // (0, 1]: log is finite
    const double u2 = to_unit_double(b.v[2], b.v[3]);
    return T(std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2));
  }

 private:
  WFC_HOST_DEVICE static double to_unit_double(std::uint32_t hi, std::uint32_t lo) {
    const std::uint64_t x = (std::uint64_t(hi) << 21) ^ (std::uint64_t(lo) >> 11);
    return double(x & ((std::uint64_t(1) << 53) - 1)) * (1.0 / 9007199254740992.0);
  }
  std::uint64_t seed_ = 0;
  std::uint64_t stream_ = 0;
};

}  // namespace wfc
