// SPDX-License-Identifier: Apache-2.0
// The scoring service's request body {"rows": [...]} parsed with nlohmann-json's SAX interface
// straight into a flat row-major buffer of doubles: no JSON document is built, so a request costs
// its body plus rows * n_features doubles (a document tree costs 10-30 times the body).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace scoring {

/// A request the service refuses; main turns it into an HTTP response {"error": message}.
struct HttpError {
  int status;
  std::string message;
};

/// Nesting deeper than this (rows sit at depth 3) is refused as soon as it is reached.
inline constexpr std::size_t kMaxJsonDepth = 8;

struct ParsedRows {
  std::vector<double> values;  ///< n_rows * n_features, row-major, NaN = missing
  std::size_t n_rows = 0;
};

class RowsParser {
 public:
  RowsParser(std::vector<std::string> feature_names, std::size_t max_rows);

  /// Parses {"rows": [row, ...]} where a row is an array of n_features numbers / nulls in schema
  /// order or an object keyed by feature name (absent or null = missing); other top-level keys
  /// are ignored. Throws HttpError{400, ...} naming the offending row, column or byte. The body
  /// is scanned twice (validate and count, then fill a buffer of exactly the right size), so a
  /// refused body allocates nothing and an accepted one never re-allocates.
  ParsedRows parse(std::string_view body) const;

 private:
  std::vector<std::string> names_;
  std::unordered_map<std::string, std::size_t> index_;
  std::size_t max_rows_;
};

/// At most ~100 characters of client data, in double quotes, for error messages.
std::string quote(std::string_view s);

}  // namespace scoring
