// SPDX-License-Identifier: Apache-2.0
// SHA-256 (FIPS 180-4, section 6.2) for the artifact checksum and the training-data fingerprint.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace calibrisk::detail {

/// Incremental SHA-256: `update` any number of times, then `finish` once.
/// Written from FIPS 180-4 (Secure Hash Standard, 2015); tested against the NIST example vectors.
class Sha256 {
 public:
  Sha256() noexcept;
  void update(const void* data, std::size_t n) noexcept;
  void update(std::string_view s) noexcept { update(s.data(), s.size()); }
  /// The 32-byte digest. The object must not be updated afterwards.
  std::array<std::uint8_t, 32> finish() noexcept;
  /// The digest as 64 lower-case hexadecimal characters.
  std::string finish_hex();

 private:
  void compress(const std::uint8_t* block) noexcept;
  std::array<std::uint32_t, 8> h_;
  std::array<std::uint8_t, 64> buffer_{};
  std::size_t buffered_ = 0;
  std::uint64_t total_bytes_ = 0;
};

/// SHA-256 of a byte string as lower-case hex.
std::string sha256_hex(std::string_view bytes);

}  // namespace calibrisk::detail
