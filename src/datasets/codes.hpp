// SPDX-License-Identifier: Apache-2.0
// Internal: the ICD-10-like diagnosis code universe (code list with a prefix hierarchy, Zipf
// frequencies, the coding update) and small table helpers shared by the synthetic cohorts
// (readmission, claims). docs/datasets.md, "Diagnosis codes", documents every step.
#pragma once

#include <calibrisk/core/random.hpp>
#include <calibrisk/io/table.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace calibrisk::detail {

/// Chapter letters of the diagnosis codes.
inline constexpr char kChapters[] = "ABCDEFGHIJKLMNORSTZ";

/// FNV-1a 64 of the bytes, then the SplitMix64 finaliser, as a uniform in [0, 1).
double code_hash_uniform(const std::string& text);

/// The code list: leaves in Zipf rank order, then the update's children; `split[r]` is the index
/// of the first of rank r's three children (or -1), `n_leaves` the Zipf part.
struct CodeList {
  std::vector<std::string> codes;
  std::vector<int> split;
  std::vector<double> cdf;  // cumulative Zipf weights of the leaves (not normalised)
  int n_leaves = 0;
};

/// The code list for `n_codes` leaves drawn with Zipf exponent `zipf_exponent`; the same for
/// every seed (a fixed stream draws it).
CodeList make_code_list(int n_codes, double zipf_exponent);

/// A Zipf draw of a leaf rank (0-based) from the list's cumulative weights.
int zipf_rank(Rng& rng, const CodeList& list);

/// Cumulative (unnormalised) Zipf weights r^-s of ranks 1..n.
std::vector<double> zipf_cdf(int n, double s);

/// A draw of a 0-based rank from `zipf_cdf` weights: one uniform.
int zipf_draw(Rng& rng, const std::vector<double>& cdf);

/// A Poisson draw by Knuth's multiplication method; the rate is capped at 30, where the method
/// is exact and fast.
int poisson(Rng& rng, double lambda);

/// A categorical column of text labels: codes into the sorted distinct labels, "" = missing.
Column text_column(const std::string& name, const std::vector<std::string>& labels);

}  // namespace calibrisk::detail
