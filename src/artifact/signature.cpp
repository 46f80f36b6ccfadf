// SPDX-License-Identifier: Apache-2.0
// Ed25519 signing and key files on libsodium (Debian libsodium-dev).
#include "artifact/signature.hpp"

#include <calibrisk/core/error.hpp>

#include "artifact/file_io.hpp"
#include "artifact/sha256.hpp"

#include <sodium.h>

#include <string>
#include <vector>

namespace calibrisk::detail::artifact {
namespace {

static_assert(crypto_sign_SECRETKEYBYTES == 64 && crypto_sign_PUBLICKEYBYTES == 32 &&
                  crypto_sign_BYTES == 64,
              "Ed25519 sizes");

constexpr const char* kSecretHeader = "calibrisk-ed25519-secret-key";
constexpr const char* kPublicHeader = "calibrisk-ed25519-public-key";
constexpr const char* kDomain = "calibrisk-pipeline-signature-v1\n";

void init_sodium() {
  if (sodium_init() < 0) throw Error("libsodium could not be initialised (sodium_init failed).");
}

std::string to_hex(const unsigned char* p, std::size_t n) {
  std::string out(2 * n + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), p, n);
  out.pop_back();
  return out;
}

// Exactly 2 * n lower- or upper-case hex digits into out; false otherwise.
bool from_hex(const std::string& hex, unsigned char* out, std::size_t n) {
  if (hex.size() != 2 * n) return false;
  std::size_t len = 0;
  const char* end = nullptr;
  return sodium_hex2bin(out, n, hex.data(), hex.size(), nullptr, &len, &end) == 0 && len == n &&
         end == hex.data() + hex.size();
}

std::string key_id_of(const unsigned char* pk) {
  return sha256_hex(std::string_view(reinterpret_cast<const char*>(pk), 32)).substr(0, 16);
}

// "HEADER\nHEX\n" -> HEX, checked against the header; a trailing newline is optional.
std::string key_hex(const std::string& path, const char* header, const char* what) {
  std::string text = read_small_file(path, 4096, what);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  const std::string head = std::string(header) + "\n";
  if (text.compare(0, head.size(), head) != 0) {
    throw InvalidInput(std::string(what) + ": '" + path + "' does not start with the line \"" +
                       header + "\"; pass a key file written by `calibrisk keygen`.");
  }
  return text.substr(head.size());
}

}  // namespace

SecretKey::~SecretKey() { sodium_memzero(bytes.data(), bytes.size()); }

SecretKey read_secret_key(const std::string& path) {
  init_sodium();
  SecretKey k;
  std::string hex = key_hex(path, kSecretHeader, "secret key");
  const bool ok = from_hex(hex, k.bytes.data(), k.bytes.size());
  sodium_memzero(hex.data(), hex.size());
  if (!ok) {
    throw InvalidInput("secret key: '" + path +
                       "' does not hold 128 hex digits after its first line; the key file is "
                       "damaged.");
  }
  unsigned char pk[32];
  crypto_sign_ed25519_sk_to_pk(pk, k.bytes.data());
  k.key_id = key_id_of(pk);
  return k;
}

PublicKey read_public_key(const std::string& path) {
  init_sodium();
  PublicKey k;
  const std::string hex = key_hex(path, kPublicHeader, "public key");
  if (!from_hex(hex, k.bytes.data(), k.bytes.size())) {
    throw InvalidInput("public key: '" + path +
                       "' does not hold 64 hex digits after its first line; the key file is "
                       "damaged.");
  }
  k.key_id = key_id_of(k.bytes.data());
  return k;
}

void write_key_pair(const std::string& secret_path, const std::string& public_path) {
  init_sodium();
  if (secret_path == public_path) {
    throw InvalidInput("keygen: the secret and the public key file are both '" + secret_path +
                       "'; give two paths.");
  }
  SecretKey sk;
  unsigned char pk[32];
  crypto_sign_keypair(pk, sk.bytes.data());
  std::string secret_text = std::string(kSecretHeader) + "\n" + to_hex(sk.bytes.data(), 64) + "\n";
  const std::string public_text = std::string(kPublicHeader) + "\n" + to_hex(pk, 32) + "\n";
  try {
    write_file(secret_path, secret_text, 0600, /*exclusive=*/true, "keygen");
  } catch (...) {
    sodium_memzero(secret_text.data(), secret_text.size());
    throw;
  }
  sodium_memzero(secret_text.data(), secret_text.size());
  write_file(public_path, public_text, 0644, /*exclusive=*/true, "keygen");
}

std::string signed_message(std::string_view canonical) {
  std::string m(kDomain);
  m.append(canonical.data(), canonical.size());
  return m;
}

std::string sign_hex(std::string_view message, const SecretKey& key) {
  init_sodium();
  unsigned char sig[crypto_sign_BYTES];
  crypto_sign_detached(sig, nullptr, reinterpret_cast<const unsigned char*>(message.data()),
                       message.size(), key.bytes.data());
  return to_hex(sig, sizeof sig);
}

bool verify_hex(std::string_view message, const std::string& signature_hex, const PublicKey& key) {
  init_sodium();
  unsigned char sig[crypto_sign_BYTES];
  if (!from_hex(signature_hex, sig, sizeof sig)) return false;
  return crypto_sign_verify_detached(sig, reinterpret_cast<const unsigned char*>(message.data()),
                                     message.size(), key.bytes.data()) == 0;
}

}  // namespace calibrisk::detail::artifact
