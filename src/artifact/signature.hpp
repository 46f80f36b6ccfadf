// SPDX-License-Identifier: Apache-2.0
// Ed25519 signatures of pipeline documents (libsodium's crypto_sign_detached) and the key files.
// Internal to src/artifact/; the format is documented in docs/artifact.md.
#pragma once

#include <array>
#include <string>
#include <string_view>

namespace calibrisk::detail::artifact {

/// An Ed25519 secret key (libsodium's 64-byte form: seed followed by the public key). Wiped on
/// destruction.
struct SecretKey {
  std::array<unsigned char, 64> bytes{};
  std::string key_id;
  ~SecretKey();
};

struct PublicKey {
  std::array<unsigned char, 32> bytes{};
  std::string key_id;  ///< First 16 hex digits of the SHA-256 of the 32 key bytes.
};

/// Reads a key file written by write_key_pair. Throws FileError (unreadable) or InvalidInput (not
/// a key file of that kind, naming the expected first line).
SecretKey read_secret_key(const std::string& path);
PublicKey read_public_key(const std::string& path);

/// Creates a key pair: secret key file 0600 (never overwriting), public key file 0644.
void write_key_pair(const std::string& secret_path, const std::string& public_path);

/// The bytes a signature covers: a fixed domain-separation line, then the canonical content.
std::string signed_message(std::string_view canonical);

/// Detached Ed25519 signature of `message` as 128 lower-case hex digits.
std::string sign_hex(std::string_view message, const SecretKey& key);

/// True when `signature_hex` (128 hex digits) is a valid signature of `message` by `key`.
bool verify_hex(std::string_view message, const std::string& signature_hex, const PublicKey& key);

}  // namespace calibrisk::detail::artifact
