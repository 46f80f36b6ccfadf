// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the pipeline loader: any input must either load or throw ModelFormatError
// (any other exception, a crash, a leak, UB or a hang is a finding). Inputs are loaded twice: with
// the checksum verified (the production path) and without it, so that mutations reach the
// structural and semantic validation behind the checksum. A loaded pipeline must score a row,
// serialise, and reload to the same text and the same score. The signature path: every input is
// also loaded with a signature required (fixed key, fuzz_key.hpp; signed seeds let mutations
// reach the verification), and a loaded pipeline signed with the key must verify. The input is
// also decoded as each single section of the codec (encode_* / decode_*), and the sections of a
// loaded pipeline must round-trip.
#include <calibrisk/artifact/io.hpp>
#include <calibrisk/calibration/venn_abers.hpp>

#include "fuzz_key.hpp"

#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace {

const calibrisk::fuzz::KeyPaths& keys() {
  static const calibrisk::fuzz::KeyPaths k = calibrisk::fuzz::write_fuzz_keys("fuzz_load_key");
  return k;
}

void exercise(const calibrisk::Pipeline& p) {
  std::vector<double> zeros(static_cast<std::size_t>(p.n_features()), 0.0);
  std::vector<double> missing(static_cast<std::size_t>(p.n_features()),
                              std::numeric_limits<double>::quiet_NaN());
  const double a = p.predict_proba_row(zeros.data());
  const double b = p.predict_proba_row(missing.data());
  const std::string text = calibrisk::to_string(p);
  const calibrisk::Pipeline q = calibrisk::load_from_string(text);  // must not throw
  if (calibrisk::to_string(q) != text) __builtin_trap();
  const double a2 = q.predict_proba_row(zeros.data()), b2 = q.predict_proba_row(missing.data());
  if (std::memcmp(&a, &a2, sizeof a) != 0 || std::memcmp(&b, &b2, sizeof b) != 0) __builtin_trap();
  calibrisk::SaveOptions so;
  so.signing_key_file = keys().secret;
  calibrisk::LoadOptions need;
  need.public_key_file = keys().pub;
  const calibrisk::Pipeline s = calibrisk::load_from_string(calibrisk::to_string(p, so), need);
  if (calibrisk::to_string(s) != text) __builtin_trap();
  (void)p.check_inputs(
      calibrisk::MatrixView<const double>::row_major(zeros.data(), 1, p.n_features()));
  // The section codec (pickles, Pipeline.from_estimators) round-trips every loaded part.
  const std::string model = calibrisk::encode_model(p.model());
  if (calibrisk::encode_model(calibrisk::decode_model(model)) != model) __builtin_trap();
  const std::string cal = calibrisk::encode_calibrator(p.calibrator(), p.calibrator_input());
  calibrisk::CalibratorInput input{};
  if (calibrisk::encode_calibrator(calibrisk::decode_calibrator(cal, &input), input) != cal) {
    __builtin_trap();
  }
  const std::string op = calibrisk::encode_operating_point(p.operating_point());
  if (calibrisk::encode_operating_point(calibrisk::decode_operating_point(op)) != op) {
    __builtin_trap();
  }
}

// Every section decoder on the raw input: it decodes or throws ModelFormatError.
template <class Decode>
void try_section(Decode&& decode) {
  try {
    decode();
  } catch (const calibrisk::ModelFormatError&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  calibrisk::LoadOptions unchecked;
  unchecked.verify_checksum = false;
  calibrisk::LoadOptions signed_only;
  signed_only.public_key_file = keys().pub;
  calibrisk::LoadOptions signed_unchecked = signed_only;
  signed_unchecked.verify_checksum = false;
  for (const calibrisk::LoadOptions& o :
       {calibrisk::LoadOptions{}, unchecked, signed_only, signed_unchecked}) {
    try {
      exercise(calibrisk::load_from_string(text, o));
    } catch (const calibrisk::ModelFormatError&) {
      // The expected outcome for a damaged file.
    }
  }
  try_section([&] { (void)calibrisk::decode_model(text); });
  try_section([&] { (void)calibrisk::decode_calibrator(text); });
  try_section([&] { (void)calibrisk::decode_operating_point(text); });
  try_section([&] { (void)calibrisk::decode_venn_abers(text); });
  return 0;
}
