// SPDX-License-Identifier: Apache-2.0
// SHA-256 against the NIST FIPS 180-4 example vectors (csrc.nist.gov, "SHA256.pdf" examples and
// the long-message vector), plus incremental-update invariance.
#include <doctest/doctest.h>

#include <calibrisk/core/random.hpp>

#include "artifact/sha256.hpp"

#include <string>

using calibrisk::detail::sha256_hex;

TEST_CASE("sha256: NIST example vectors") {
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(
      sha256_hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopq"
                 "klmnopqrlmnopqrsmnopqrstnopqrstu") ==
      "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
  CHECK(sha256_hex(std::string(1000000, 'a')) ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("sha256: padding boundaries 55, 56, 63, 64 and 65 bytes differ and are stable") {
  // Lengths around the 56-byte padding boundary exercise the one- and two-block final padding.
  std::string prev;
  for (std::size_t n : {55u, 56u, 63u, 64u, 65u}) {
    const std::string h = sha256_hex(std::string(n, 'x'));
    CHECK(h.size() == 64);
    CHECK(h != prev);
    CHECK(h == sha256_hex(std::string(n, 'x')));
    prev = h;
  }
}

TEST_CASE("sha256: incremental updates in random pieces equal the one-shot digest") {
  calibrisk::Rng rng(3);
  std::string msg(5000, '\0');
  for (auto& c : msg) c = static_cast<char>(rng.below(256));
  const std::string want = sha256_hex(msg);
  for (int trial = 0; trial < 20; ++trial) {
    calibrisk::detail::Sha256 h;
    std::size_t pos = 0;
    while (pos < msg.size()) {
      const std::size_t take = std::min<std::size_t>(msg.size() - pos, rng.below(130));
      h.update(msg.data() + pos, take);
      pos += take;
    }
    CHECK(h.finish_hex() == want);
  }
}
