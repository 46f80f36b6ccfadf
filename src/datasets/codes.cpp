// SPDX-License-Identifier: Apache-2.0
// Internal: the diagnosis code universe shared by the synthetic cohorts (see codes.hpp).
#include "datasets/codes.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

namespace calibrisk::detail {

namespace {

// The code list does not depend on a cohort's seed: a fixed stream draws it.
constexpr std::uint64_t kCodeListSeed = 0x1CD10ULL;

void add_category_leaves(Rng& rng, const std::string& cat, std::vector<std::string>& leaves) {
  if (rng.uniform() < 0.25) {  // a three-character code with no subdivisions ("I10")
    leaves.push_back(cat);
    return;
  }
  int digits[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  const int m4 = 1 + static_cast<int>(rng.below(6));
  rng.shuffle(digits, 10);
  std::sort(digits, digits + m4);
  for (int a = 0; a < m4; ++a) {
    const std::string sub = cat + "." + static_cast<char>('0' + digits[a]);
    if (rng.uniform() < 0.3) {  // subdivided once more: "E11.65"
      int more[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
      const int m5 = 2 + static_cast<int>(rng.below(4));
      rng.shuffle(more, 10);
      std::sort(more, more + m5);
      for (int b = 0; b < m5; ++b) leaves.push_back(sub + static_cast<char>('0' + more[b]));
    } else {
      leaves.push_back(sub);
    }
  }
}

}  // namespace

double code_hash_uniform(const std::string& text) {
  std::uint64_t h = 0xCBF29CE484222325ULL;
  for (unsigned char ch : text) {
    h ^= ch;
    h *= 0x100000001B3ULL;
  }
  h ^= h >> 30;
  h *= 0xBF58476D1CE4E5B9ULL;
  h ^= h >> 27;
  h *= 0x94D049BB133111EBULL;
  h ^= h >> 31;
  return static_cast<double>(h >> 11) * 0x1.0p-53;
}

CodeList make_code_list(int n_codes, double zipf_exponent) {
  Rng rng(kCodeListSeed, 0);
  std::vector<std::string> leaves;
  std::set<std::string> used;
  const auto n = static_cast<std::size_t>(n_codes);
  while (leaves.size() < n && used.size() < 19 * 100) {
    const char ch = kChapters[rng.below(19)];
    const auto num = static_cast<int>(rng.below(100));
    const std::string cat{ch, static_cast<char>('0' + num / 10), static_cast<char>('0' + num % 10)};
    if (!used.insert(cat).second) continue;
    add_category_leaves(rng, cat, leaves);
  }
  leaves.resize(std::min(leaves.size(), n));
  rng.shuffle(leaves.data(), static_cast<Index>(leaves.size()));  // Zipf ranks

  CodeList list;
  list.n_leaves = static_cast<int>(leaves.size());
  list.codes = leaves;
  list.split.assign(leaves.size(), -1);
  // The coding update splits the K = max(1, n_codes / 100) most frequent four-character leaves
  // from rank 11 on into children "1", "2" and "9".
  const int k_split = std::max(1, n_codes / 100);
  int done = 0;
  for (std::size_t r = 10; r < leaves.size() && done < k_split; ++r) {
    if (leaves[r].size() != 5) continue;
    list.split[r] = static_cast<int>(list.codes.size());
    for (char c : {'1', '2', '9'}) list.codes.push_back(leaves[r] + c);
    ++done;
  }
  list.cdf = zipf_cdf(list.n_leaves, zipf_exponent);
  return list;
}

int zipf_rank(Rng& rng, const CodeList& list) {
  const double u = rng.uniform() * list.cdf.back();
  const auto it = std::upper_bound(list.cdf.begin(), list.cdf.end(), u);
  return static_cast<int>(std::min<std::ptrdiff_t>(it - list.cdf.begin(), list.n_leaves - 1));
}

std::vector<double> zipf_cdf(int n, double s) {
  std::vector<double> cdf(static_cast<std::size_t>(n));
  double acc = 0;
  for (int r = 0; r < n; ++r) {
    acc += std::pow(static_cast<double>(r + 1), -s);
    cdf[static_cast<std::size_t>(r)] = acc;
  }
  return cdf;
}

int zipf_draw(Rng& rng, const std::vector<double>& cdf) {
  const double u = rng.uniform() * cdf.back();
  const auto it = std::upper_bound(cdf.begin(), cdf.end(), u);
  return static_cast<int>(
      std::min<std::ptrdiff_t>(it - cdf.begin(), static_cast<std::ptrdiff_t>(cdf.size()) - 1));
}

int poisson(Rng& rng, double lambda) {
  lambda = std::min(lambda, 30.0);
  const double limit = std::exp(-lambda);
  int k = 0;
  double prod = rng.uniform();
  while (prod > limit) {
    ++k;
    prod *= rng.uniform();
  }
  return k;
}

// A categorical column of text labels: codes into the sorted distinct labels, "" = missing.
Column text_column(const std::string& name, const std::vector<std::string>& labels) {
  std::vector<std::string> levels;
  for (const auto& l : labels) {
    if (!l.empty()) levels.push_back(l);
  }
  std::sort(levels.begin(), levels.end());
  levels.erase(std::unique(levels.begin(), levels.end()), levels.end());
  std::vector<double> codes;
  codes.reserve(labels.size());
  for (const auto& l : labels) {
    codes.push_back(l.empty()
                        ? std::numeric_limits<double>::quiet_NaN()
                        : static_cast<double>(std::lower_bound(levels.begin(), levels.end(), l) -
                                              levels.begin()));
  }
  return Column::categorical(name, std::move(codes), std::move(levels));
}

}  // namespace calibrisk::detail
