// SPDX-License-Identifier: Apache-2.0
// From CSV to column roles, features and labels in the command-line tool.
#include <doctest/doctest.h>

#include "cli/data.hpp"
#include "cli/errors.hpp"

#include <calibrisk/core/error.hpp>

#include <unistd.h>
#include <cmath>
#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
using namespace calibrisk;
using namespace calibrisk::cli;

namespace {
fs::path write_temp(const std::string& name, const std::string& text) {
  const fs::path p =
      fs::temp_directory_path() / ("calibrisk_cli_data_" + std::to_string(::getpid()) + "_" + name);
  std::ofstream(p, std::ios::binary) << text;
  return p;
}
}  // namespace

TEST_CASE("cli data: the header line with a BOM, quotes, spaces and CRLF") {
  const fs::path p =
      write_temp("h.csv", "\xEF\xBB\xBF\n id ,\"a, b\",\"say \"\"hi\"\"\",y\r\n1,2,3,4\r\n");
  const auto h = read_csv_header(p.string());
  REQUIRE(h.size() == 4);
  CHECK(h[0] == "id");
  CHECK(h[1] == "a, b");
  CHECK(h[2] == "say \"hi\"");
  CHECK(h[3] == "y");
  fs::remove(p);
  const fs::path e = write_temp("e.csv", "\n\n");
  CHECK_THROWS_WITH_AS(read_csv_header(e.string()), doctest::Contains("is empty"), InvalidInput);
  fs::remove(e);
  CHECK_THROWS_WITH_AS(read_csv_header("/nonexistent/x.csv"), doctest::Contains("cannot open"),
                       InvalidInput);
}

TEST_CASE("cli data: roles give read options; unknown or clashing columns are named") {
  const std::vector<std::string> header{"pid", "date", "site", "age", "note", "y"};
  ColumnRoles r;
  r.label = "y";
  r.group = "pid";
  r.time = "date";
  r.categorical = {"site"};
  r.drop = {"note"};
  const CsvReadOptions o = training_read_options(r, header);
  CHECK(o.time_column == "date");
  CHECK(o.required_columns == std::vector<std::string>{"y"});
  // group and dropped columns may hold text: read as labels
  CHECK(o.categorical == std::vector<std::string>{"note", "pid", "site"});

  ColumnRoles bad = r;
  bad.label = "outcome";
  CHECK_THROWS_WITH_AS(training_read_options(bad, header),
                       doctest::Contains("--label outcome: the file has no column 'outcome'; its "
                                         "columns are: pid, date, site, age, note, y."),
                       InvalidInput);
  bad = r;
  bad.drop = {"y"};
  CHECK_THROWS_WITH_AS(training_read_options(bad, header),
                       doctest::Contains("both --label and --drop"), InvalidParams);
  bad = r;
  bad.group = "y";
  CHECK_THROWS_WITH_AS(training_read_options(bad, header), doctest::Contains("one role"),
                       InvalidParams);
  bad = r;
  bad.categorical = {"date"};
  CHECK_THROWS_WITH_AS(training_read_options(bad, header),
                       doctest::Contains("--time-column and --categorical"), InvalidParams);
}

TEST_CASE("cli data: features, labels and category labels from a table") {
  ColumnRoles r;
  r.label = "y";
  r.group = "pid";
  r.time = "date";
  r.categorical = {"site"};
  r.drop = {"note"};
  const std::string text =
      "pid,date,site,age,note,y\n"
      "p1,2023-01-01,B,50,x,0\n"
      "p1,2023-02-01,A,51,,1\n"
      "p2,2023-01-15,B,NA,z,0\n";
  const Table t =
      parse_csv(text, training_read_options(r, {"pid", "date", "site", "age", "note", "y"}));
  const auto f = feature_columns(t, r);
  CHECK(f == std::vector<std::string>{"site", "age"});
  CHECK(label_values(t, "y", true) == std::vector<double>{0, 1, 0});
  const auto cats = feature_category_labels(t, f);
  REQUIRE(cats.count("site") == 1);
  CHECK(cats.at("site") == std::vector<std::string>{"A", "B"});
  CHECK(column_labels(t, "site", {0, 2}) == std::vector<std::string>{"B", "B"});
  CHECK(column_labels(t, "age", {2}) == std::vector<std::string>{""});

  ColumnRoles only_ids = r;
  only_ids.drop = {"note", "site", "age"};
  CHECK_THROWS_WITH_AS(feature_columns(t, only_ids), doctest::Contains("no feature columns"),
                       InvalidInput);

  const RowMatrixXd X = t.to_matrix(f);
  const RowMatrixXd sub = take_rows(X, {2, 0});
  CHECK(sub(0, 0) == 1.0);
  CHECK(std::isnan(sub(0, 1)));
  CHECK(sub(1, 1) == 50.0);
}

TEST_CASE("cli data: bad labels name the column, row and fix") {
  const Table one = parse_csv("x,y\n1,0\n2,0\n");
  CHECK_THROWS_WITH_AS(label_values(one, "y", true),
                       doctest::Contains("only class 0 in all 2 rows"), InvalidInput);
  CHECK(label_values(one, "y", false).size() == 2);
  const Table two = parse_csv("x,y\n1,0\n2,2\n");
  CHECK_THROWS_WITH_AS(label_values(two, "y", true), doctest::Contains("value 2 at data row 2"),
                       InvalidInput);
  const Table miss = parse_csv("x,y\n1,0\n2,\n");
  CHECK_THROWS_WITH_AS(label_values(miss, "y", true), doctest::Contains("missing at data row 2"),
                       InvalidInput);
}

TEST_CASE("cli data: a label of two text values is 0/1 by --positive or a yes/no pair") {
  CsvReadOptions o;
  o.categorical = {"y"};
  const Table yes_no = parse_csv("x,y\n1,No\n2,YES\n3,No\n", o);
  CHECK(label_values(yes_no, "y", true) == std::vector<double>{0, 1, 0});
  CHECK(binary_positive_label({"F", "t"}, "", "y") == "t");
  CHECK(binary_positive_label({"n", "Y"}, "", "y") == "Y");
  CHECK(binary_positive_label({"false", "TRUE"}, "", "y") == "TRUE");
  CHECK(binary_positive_label({"yes"}, "", "y") == "yes");
  // Any other pair needs --positive; --positive picks the event (also against a yes/no pair).
  const Table other = parse_csv("x,y\n1,<30\n2,NO\n3,<30\n", o);
  CHECK_THROWS_WITH_AS(label_values(other, "y", true),
                       doctest::Contains("holds the text labels '<30' and 'NO'; say which is the "
                                         "event (coded 1) with --positive LABEL"),
                       InvalidInput);
  CHECK(label_values(other, "y", true, "<30") == std::vector<double>{1, 0, 1});
  CHECK(label_values(yes_no, "y", true, "No") == std::vector<double>{1, 0, 1});
  CHECK_THROWS_WITH_AS(label_values(other, "y", true, "yes"),
                       doctest::Contains("--positive 'yes': label column 'y' holds '<30' and "
                                         "'NO', not that label"),
                       InvalidInput);
  CHECK_THROWS_WITH_AS(binary_positive_label({"no", "maybe"}, "", "y"),
                       doctest::Contains("holds the text labels 'no' and 'maybe'"), InvalidInput);
  // Numbers: --positive other than 1 is refused rather than ignored.
  const Table coded = parse_csv("x,y\n1,0\n2,1\n");
  CHECK(label_values(coded, "y", true, "1") == std::vector<double>{0, 1});
  CHECK_THROWS_WITH_AS(label_values(coded, "y", true, "0"),
                       doctest::Contains("holds numbers, whose event is 1"), InvalidInput);
  // Scoring a model trained on ("no", "yes"): those labels map as in training, 0/1 codes are read
  // as numbers, another label is named.
  CHECK(label_values(yes_no, "y", true, "YES", "No") == std::vector<double>{0, 1, 0});
  const Table scored = parse_csv("x,y\n1,1\n2,0\n", o);
  CHECK(label_values(scored, "y", true, "yes", "no") == std::vector<double>{1, 0});
  CHECK_THROWS_WITH_AS(label_values(other, "y", false, "yes", "no"),
                       doctest::Contains("holds '<30', which the model was not trained on: its "
                                         "labels are 'no' (0) and 'yes' (1)"),
                       InvalidInput);
  // Three labels are not binary; a missing label is named.
  const Table three = parse_csv("x,y\n1,a\n2,b\n3,c\n", o);
  CHECK_THROWS_WITH_AS(label_values(three, "y", true), doctest::Contains("it holds 3"),
                       InvalidInput);
  const Table miss = parse_csv("x,y\n1,yes\n2,\n", o);
  CHECK_THROWS_WITH_AS(label_values(miss, "y", true), doctest::Contains("missing at data row 2"),
                       InvalidInput);
  const Table only = parse_csv("x,y\n1,yes\n2,yes\n", o);
  CHECK_THROWS_WITH_AS(label_values(only, "y", true),
                       doctest::Contains("holds only 'yes' in all 2 rows"), InvalidInput);
}

TEST_CASE("cli data: identifier-like columns are detected") {
  std::string text = "id,x,y\n";
  for (int i = 0; i < 150; ++i) {
    text +=
        std::to_string(1000 + i) + "," + std::to_string(i % 3) + "," + std::to_string(i % 2) + "\n";
  }
  const Table t = parse_csv(text);
  CHECK(identifier_like_columns(t, {"id", "x"}) == std::vector<std::string>{"id"});
}

TEST_CASE("cli data: text in a numeric column gets the command-line fix appended") {
  const fs::path p = write_temp("t.csv", "x,y\n1,0\nabc,1\n");
  CHECK_THROWS_WITH_AS(read_table(p.string(), {}), doctest::Contains("--categorical COLUMN"),
                       InvalidInput);
  fs::remove(p);
}

TEST_CASE("cli data: numeric subgroup columns with many values are cut into 5 bands") {
  std::string text = "age,flag\n";
  for (int i = 0; i < 100; ++i) text += std::to_string(20 + i) + "," + std::to_string(i % 3) + "\n";
  text += ",1\n";
  const Table t = parse_csv(text);
  std::vector<Index> rows(101);
  for (Index i = 0; i < 101; ++i) rows[static_cast<std::size_t>(i)] = i;
  const auto age = subgroup_labels(t, "age", rows);
  CHECK(age[0] == "1: 20-39");
  CHECK(age[19] == "1: 20-39");
  CHECK(age[20] == "2: 40-59");
  CHECK(age[99] == "5: 100-119");
  CHECK(age[100] == "");                               // missing
  const auto flag = subgroup_labels(t, "flag", rows);  // few values: kept as they are
  CHECK(flag[0] == "0");
  CHECK(flag[2] == "2");
}
