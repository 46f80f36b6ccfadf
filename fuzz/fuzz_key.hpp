// SPDX-License-Identifier: Apache-2.0
// A fixed Ed25519 key pair for fuzzing the signature path (written by `calibrisk keygen` once;
// public test material, never a key to trust). make_seed_corpus signs seed files with it and
// fuzz_load requires signatures by it.
#pragma once

#include <fstream>
#include <string>

namespace calibrisk::fuzz {

inline constexpr const char* kSecretKeyFile =
    "calibrisk-ed25519-secret-key\n"
    "63acdcc5611bce5aa4f22a7ac904de20d6f673ae5373584698f83513a0de0d80"
    "bf5779ed8fb37efb495763cab788302696006a2a2d5e1213fe7440c6977f5554\n";
inline constexpr const char* kPublicKeyFile =
    "calibrisk-ed25519-public-key\n"
    "bf5779ed8fb37efb495763cab788302696006a2a2d5e1213fe7440c6977f5554\n";

struct KeyPaths {
  std::string secret, pub;
};

/// Writes the key pair to `prefix` and `prefix.pub` (overwriting) and returns the paths.
inline KeyPaths write_fuzz_keys(const std::string& prefix) {
  KeyPaths k{prefix, prefix + ".pub"};
  std::ofstream(k.secret, std::ios::binary | std::ios::trunc) << kSecretKeyFile;
  std::ofstream(k.pub, std::ios::binary | std::ios::trunc) << kPublicKeyFile;
  return k;
}

}  // namespace calibrisk::fuzz
