// SPDX-License-Identifier: Apache-2.0
/// @file random.hpp
/// Seeded, platform-independent random streams (the standard library's distributions are not).
#pragma once

#include <calibrisk/core/matrix.hpp>

#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

namespace calibrisk {

/// xoshiro256** (Blackman & Vigna 2018) seeded through SplitMix64.
///
/// Every stream is derived from `(seed, stream)` only, never from thread ids or globals, so the
/// same seed gives the same numbers on every platform and for any thread count. Distributions are
/// implemented here (not `std::uniform_real_distribution`, whose output differs between standard
/// libraries).
class Rng {
 public:
  explicit Rng(std::uint64_t seed = 0, std::uint64_t stream = 0) noexcept {
    std::uint64_t x = seed ^ (0x9E3779B97F4A7C15ULL * (stream + 1));
    for (auto& s : s_) s = splitmix64(x);
  }

  /// Uniform 64-bit integer.
  std::uint64_t next() noexcept {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  /// Uniform double in [0, 1) with 53 random bits.
  double uniform() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

  /// Uniform integer in [0, n), n >= 1, without modulo bias (Lemire 2019).
  std::uint64_t below(std::uint64_t n) noexcept {
    __uint128_t m = static_cast<__uint128_t>(next()) * n;
    auto low = static_cast<std::uint64_t>(m);
    if (low < n) {
      const std::uint64_t threshold = (0 - n) % n;
      while (low < threshold) {
        m = static_cast<__uint128_t>(next()) * n;
        low = static_cast<std::uint64_t>(m);
      }
    }
    return static_cast<std::uint64_t>(m >> 64);
  }

  /// Standard normal by the Box-Muller transform (one value per call; the pair's twin is kept).
  double normal() noexcept {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u1 = uniform();
    while (u1 <= 0.0) u1 = uniform();
    const double u2 = uniform();
    const double r = std::sqrt(-2.0 * std::log(u1));
    const double theta = 2.0 * 3.14159265358979323846 * u2;
    spare_ = r * std::sin(theta);
    has_spare_ = true;
    return r * std::cos(theta);
  }

  /// True with probability p.
  bool bernoulli(double p) noexcept { return uniform() < p; }

  /// Fisher-Yates shuffle of [first, first + n).
  template <class T>
  void shuffle(T* first, Index n) noexcept {
    for (Index i = n - 1; i > 0; --i) {
      const auto j = static_cast<Index>(below(static_cast<std::uint64_t>(i + 1)));
      std::swap(first[i], first[j]);
    }
  }

  /// A SplitMix64 step: also usable to derive child seeds deterministically.
  static std::uint64_t splitmix64(std::uint64_t& x) noexcept {
    std::uint64_t z = (x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4]{};
  double spare_ = 0.0;
  bool has_spare_ = false;
};

}  // namespace calibrisk
