// SPDX-License-Identifier: Apache-2.0
// CSV reading and writing: parsing, missing values, categorical encoding, time columns, and every
// error path with its row number.
#include <calibrisk/io/table.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <unistd.h>

using namespace calibrisk;

TEST_CASE("csv: numbers, missing markers, quotes, CRLF and a byte-order mark") {
  const std::string text =
      "\xEF\xBB\xBF"
      "id,age, note \r\n"
      "1, 64.5 ,\"7\"\r\n"
      "2,NA,\"1,5e1\"\r\n";
  SUBCASE("a quoted field with a comma is one field, and still not a number") {
    CHECK_THROWS_WITH_AS(
        parse_csv(text),
        doctest::Contains("column 'note' has the non-numeric value '1,5e1' in data row 2"),
        InvalidInput);
  }
  SUBCASE("declared categorical") {
    CsvReadOptions o;
    o.categorical = {"note"};
    const Table t = parse_csv(text, o);
    REQUIRE(t.rows() == 2);
    REQUIRE(t.cols() == 3);
    CHECK(t.names() == std::vector<std::string>{"id", "age", "note"});
    CHECK(t.column("id").values == std::vector<double>{1, 2});
    CHECK(t.column("age").values[0] == 64.5);
    CHECK(std::isnan(t.column("age").values[1]));
    const Column& note = t.column("note");
    CHECK(note.kind == ColumnKind::kCategorical);
    CHECK(note.categories == std::vector<std::string>{"1,5e1", "7"});  // sorted labels
    CHECK(note.values == std::vector<double>{1, 0});
  }
}

TEST_CASE("csv: empty, NA and ? are missing; blank lines are skipped; no trailing newline") {
  const Table t = parse_csv("a,b\n1,\n\n?,NA\n3,4e-2");
  REQUIRE(t.rows() == 3);
  const auto& a = t.column("a").values;
  const auto& b = t.column("b").values;
  CHECK(a[0] == 1);
  CHECK(std::isnan(b[0]));
  CHECK(std::isnan(a[1]));
  CHECK(std::isnan(b[1]));
  CHECK(a[2] == 3);
  CHECK(b[2] == 0.04);
}

TEST_CASE("csv: custom missing markers and delimiter") {
  CsvReadOptions o;
  o.na_values = {"-", "missing"};
  o.delimiter = ';';
  const Table t = parse_csv("x;y\n1,5;missing\n-;2\n", [&] {
    CsvReadOptions c = o;
    c.categorical = {"x"};
    return c;
  }());
  CHECK(t.column("x").categories == std::vector<std::string>{"1,5"});
  CHECK(std::isnan(t.column("y").values[0]));
  CHECK(std::isnan(t.column("x").values[1]));
  CHECK(t.column("y").values[1] == 2);
  SUBCASE("NA is then an ordinary (non-numeric) value") {
    CHECK_THROWS_WITH_AS(parse_csv("x;y\nNA;1\n", o), doctest::Contains("non-numeric value 'NA'"),
                         InvalidInput);
  }
}

TEST_CASE("csv: strict numbers") {
  for (const char* bad : {"1.2.3", "12abc", "inf", "nan", "0x10", "1 2", "--1", "e5"}) {
    CAPTURE(bad);
    CHECK_THROWS_WITH_AS(
        parse_csv(std::string("v,w\n1,2\n3,") + bad + "\n", {}, "lab.csv"),
        doctest::Contains("read_csv: lab.csv: column 'w' has the non-numeric value"), InvalidInput);
    CHECK_THROWS_WITH_AS(parse_csv(std::string("v,w\n1,2\n3,") + bad + "\n"),
                         doctest::Contains("in data row 2; fix the value, mark it missing"),
                         InvalidInput);
  }
  const Table t = parse_csv("v\n+1.5\n-2E3\n.5\n");
  CHECK(t.column("v").values == std::vector<double>{1.5, -2000, 0.5});
}

TEST_CASE("csv: infer_categorical reads a column of text as categorical, a mixed one is an error") {
  CsvReadOptions o;
  o.infer_categorical = true;
  SUBCASE("text only (after leading missing values): categorical, byte-sorted levels") {
    const Table t = parse_csv("age,race,y\n64,,1\n70,Caucasian,0\n?,Asian,1\n51,Caucasian,0\n", o);
    const Column& race = t.column("race");
    CHECK(race.kind == ColumnKind::kCategorical);
    CHECK(race.inferred);
    CHECK(race.categories == std::vector<std::string>{"Asian", "Caucasian"});
    REQUIRE(race.values.size() == 4);
    CHECK(std::isnan(race.values[0]));
    CHECK(race.values[1] == 1.0);
    CHECK(race.values[2] == 0.0);
    CHECK(race.values[3] == 1.0);
    CHECK(race.category_counts == std::vector<Index>{1, 2});
    // Columns of numbers (with missing values) stay numeric and are not flagged.
    CHECK(t.column("age").kind == ColumnKind::kNumeric);
    CHECK_FALSE(t.column("age").inferred);
    CHECK(std::isnan(t.column("age").values[2]));
    CHECK(t.column("y").kind == ColumnKind::kNumeric);
  }
  SUBCASE("a column of missing values only stays numeric") {
    const Table t = parse_csv("a,b\n1,NA\n2,\n", o);
    CHECK(t.column("b").kind == ColumnKind::kNumeric);
    CHECK_FALSE(t.column("b").inferred);
  }
  SUBCASE("the same labels as a declared categorical column") {
    const std::string text = "x,ward\n1,ICU\n2,B\n3,ICU\n4,A\n";
    CsvReadOptions d;
    d.categorical = {"ward"};
    const Table declared = parse_csv(text, d);
    const Table inferred = parse_csv(text, o);
    CHECK(inferred.column("ward").categories == declared.column("ward").categories);
    CHECK(inferred.column("ward").values == declared.column("ward").values);
    CHECK_FALSE(declared.column("ward").inferred);
  }
  SUBCASE("numbers then text: both named with their rows") {
    CHECK_THROWS_WITH_AS(
        parse_csv("dx,y\n250.8,1\n428,0\nV57,1\n", o),
        doctest::Contains("column 'dx' (the number '250.8' in data row 1, the text 'V57' in data "
                          "row 3)"),
        InvalidInput);
  }
  SUBCASE("text then numbers: also ambiguous") {
    CHECK_THROWS_WITH_AS(parse_csv("dx,y\nV57,1\n?,0\n428,1\n", o),
                         doctest::Contains("column 'dx' (the number '428' in data row 3, the text "
                                           "'V57' in data row 1)"),
                         InvalidInput);
  }
  SUBCASE("every ambiguous column is listed at once, beyond ten counted") {
    std::string header = "y", row1 = "1", row2 = "0";
    for (int k = 0; k < 12; ++k) {
      header += ",c" + std::to_string(k);
      row1 += ",1";
      row2 += ",x";
    }
    try {
      parse_csv(header + "\n" + row1 + "\n" + row2 + "\n", o);
      FAIL("expected InvalidInput");
    } catch (const InvalidInput& e) {
      const std::string m = e.what();
      CHECK(m.find("column 'c0'") != std::string::npos);
      CHECK(m.find("column 'c9'") != std::string::npos);
      CHECK(m.find("column 'c10'") == std::string::npos);
      CHECK(m.find("and 2 more columns") != std::string::npos);
      CHECK(m.find("Declare such a column categorical") != std::string::npos);
    }
  }
  SUBCASE("numeric_columns are never inferred: the strict error") {
    o.numeric_columns = {"y"};
    CHECK_THROWS_WITH_AS(parse_csv("x,y\n1,yes\n2,no\n", o),
                         doctest::Contains("column 'y' has the non-numeric value 'yes'"),
                         InvalidInput);
  }
  SUBCASE("off (the default): the first text value is an error") {
    CHECK_THROWS_WITH_AS(parse_csv("x,ward\n1,ICU\n", CsvReadOptions{}),
                         doctest::Contains("column 'ward' has the non-numeric value 'ICU'"),
                         InvalidInput);
  }
  SUBCASE("an inferred column is bounded by max_category_levels") {
    o.max_category_levels = 2;
    CHECK_THROWS_WITH_AS(parse_csv("x,w\n1,a\n2,b\n3,c\n", o),
                         doctest::Contains("column 'w' has more than 2 distinct labels"),
                         InvalidInput);
  }
}

TEST_CASE("csv: categorical encoding is reproducible on a new file through the mapping") {
  CsvReadOptions train_opt;
  train_opt.categorical = {"site"};
  const Table train = parse_csv("site,y\nnorth,1\nsouth,0\neast,1\nnorth,0\n", train_opt);
  const auto mapping = train.category_mappings();
  REQUIRE(mapping.at("site") == std::vector<std::string>{"east", "north", "south"});
  CHECK(train.column("site").values == std::vector<double>{1, 2, 0, 1});

  CsvReadOptions new_opt;
  new_opt.category_mappings = mapping;  // no need to repeat `categorical`
  const Table fresh = parse_csv("site,y\nsouth,1\nwest,0\n,1\nnorth,0\n", new_opt);
  const auto& codes = fresh.column("site").values;
  CHECK(codes[0] == 2);
  CHECK(codes[1] == kUnseenCategory);
  CHECK(std::isnan(codes[2]));
  CHECK(codes[3] == 1);
  CHECK(fresh.column("site").categories == mapping.at("site"));
}

TEST_CASE("csv: time columns hold ISO 8601 or numbers") {
  CsvReadOptions o;
  o.time_column = "when";
  SUBCASE("dates and date-times") {
    const Table t = parse_csv("when,x\n2022-01-01,1\n2022-01-02T12:00:00,2\n", o);
    const Column& c = t.column("when");
    CHECK(c.kind == ColumnKind::kTime);
    CHECK(c.time_encoding == TimeEncoding::kDays);
    CHECK(c.values == std::vector<double>{18993.0, 18994.5});
  }
  SUBCASE("numbers are an order key") {
    const Table t = parse_csv("when,x\n3,1\n1.5,2\n", o);
    CHECK(t.column("when").time_encoding == TimeEncoding::kNumber);
    CHECK(t.column("when").values == std::vector<double>{3, 1.5});
  }
  SUBCASE("mixed or bad values name the row") {
    CHECK_THROWS_WITH_AS(parse_csv("when,x\n2022-01-01,1\n2022-02-30,2\n", o),
                         doctest::Contains("time column 'when' has '2022-02-30' in data row 2, "
                                           "which is not a valid calendar date (2022-02 has 28 "
                                           "days)"),
                         InvalidInput);
    CHECK_THROWS_WITH_AS(
        parse_csv("when,x\n2022-01-01,1\n5,2\n", o),
        doctest::Contains("in data row 2, which is not an ISO 8601 date/date-time"), InvalidInput);
  }
  SUBCASE("missing time is an error") {
    CHECK_THROWS_WITH_AS(parse_csv("when,x\n2022-01-01,1\nNA,2\n", o),
                         doctest::Contains("'when' is missing in data row 2"), InvalidInput);
  }
}

TEST_CASE("csv: structural errors are clear and carry row numbers") {
  SUBCASE("empty file") {
    CHECK_THROWS_WITH_AS(parse_csv("", {}, "e.csv"), doctest::Contains("read_csv: e.csv is empty"),
                         InvalidInput);
    CHECK_THROWS_WITH_AS(parse_csv("\n\r\n  \n"), doctest::Contains("is empty"), InvalidInput);
  }
  SUBCASE("header only") {
    CHECK_THROWS_WITH_AS(parse_csv("a,b\n"), doctest::Contains("has a header but no data rows"),
                         InvalidInput);
  }
  SUBCASE("ragged rows") {
    CHECK_THROWS_WITH_AS(parse_csv("a,b\n1,2\n3\n"),
                         doctest::Contains("data row 2 has 1 fields but the header has 2"),
                         InvalidInput);
    CHECK_THROWS_WITH_AS(parse_csv("a,b\n1,2\n3,4\n5,6,7\n"),
                         doctest::Contains("data row 3 has 3 fields but the header has 2"),
                         InvalidInput);
  }
  SUBCASE("missing declared columns list the available ones") {
    CsvReadOptions o;
    o.required_columns = {"readmitted"};
    CHECK_THROWS_WITH_AS(parse_csv("a,b\n1,2\n", o),
                         doctest::Contains("the required column 'readmitted' is not in the header; "
                                           "the columns are: a, b"),
                         InvalidInput);
    CsvReadOptions c;
    c.categorical = {"site"};
    CHECK_THROWS_WITH_AS(parse_csv("a,b\n1,2\n", c), doctest::Contains("categorical column 'site'"),
                         InvalidInput);
    CsvReadOptions tm;
    tm.time_column = "date";
    CHECK_THROWS_WITH_AS(parse_csv("a,b\n1,2\n", tm), doctest::Contains("time column 'date'"),
                         InvalidInput);
  }
  SUBCASE("bad header") {
    CHECK_THROWS_WITH_AS(parse_csv("a,a\n1,2\n"), doctest::Contains("names column 'a' twice"),
                         InvalidInput);
    CHECK_THROWS_WITH_AS(parse_csv("a,,c\n1,2,3\n"), doctest::Contains("column 2 has no name"),
                         InvalidInput);
  }
  SUBCASE("malformed quotes") {
    CHECK_THROWS_WITH_AS(parse_csv("a,b\n1,\"x\"y\n"),
                         doctest::Contains("malformed CSV near line 2"), InvalidInput);
    CHECK_THROWS_WITH_AS(parse_csv("a,b\n1,\"open\n"),
                         doctest::Contains("ends inside a quoted field"), InvalidInput);
  }
  SUBCASE("unreadable file") {
    CHECK_THROWS_WITH_AS(read_csv("/nonexistent/dir/x.csv"),
                         doctest::Contains("cannot open '/nonexistent/dir/x.csv'"), InvalidInput);
  }
  SUBCASE("bad options") {
    CsvReadOptions o;
    o.delimiter = '"';
    CHECK_THROWS_AS(parse_csv("a\n1\n", o), InvalidParams);
    CsvReadOptions d;
    d.categorical = {"t"};
    d.time_column = "t";
    CHECK_THROWS_WITH_AS(parse_csv("t\n1\n", d), doctest::Contains("both categorical and the time"),
                         InvalidParams);
    CsvReadOptions m;
    m.category_mappings["s"] = {"x", "x"};
    CHECK_THROWS_WITH_AS(parse_csv("s\nx\n", m), doctest::Contains("lists 'x' twice"),
                         InvalidParams);
  }
}

TEST_CASE("csv: write then read round-trips values exactly") {
  Table t;
  t.add_column(Column::numeric("x", {0.1, -1e-300, NAN, 1.0 / 3.0}));
  t.add_column(Column::categorical("cat", {0, 1, NAN, 0}, {"a,b", "say \"hi\""}));
  t.add_column(Column::time_days("when", {18993, 18993.5, 18994, 19000}));
  t.add_column(Column::time_number("key", {1, 2, 3, 4}));
  std::ostringstream out;
  write_csv(t, out);
  CsvReadOptions o;
  o.categorical = {"cat"};
  o.time_column = "when";
  const Table back = parse_csv(out.str(), o);
  REQUIRE(back.rows() == 4);
  const auto& x = back.column("x").values;
  CHECK(x[0] == 0.1);
  CHECK(x[1] == -1e-300);
  CHECK(std::isnan(x[2]));
  CHECK(x[3] == 1.0 / 3.0);
  CHECK(back.column("cat").categories == t.column("cat").categories);
  CHECK(back.column("cat").values[1] == 1);
  CHECK(back.column("when").values == t.column("when").values);
  CHECK(out.str().find("2022-01-01T12:00:00") != std::string::npos);

  SUBCASE("through a file") {
    const std::string path = "calibrisk_test_roundtrip.csv";
    write_csv(t, path);
    const Table f = read_csv(path, o);
    CHECK(f.column("key").values == std::vector<double>{1, 2, 3, 4});
    std::remove(path.c_str());
  }
}

TEST_CASE("csv: a one-column table with missing values reads back with every row") {
  // An empty line is not a record, so a missing value of a one-column table is written as "".
  const Table t = parse_csv("lab\n1.5\nNA\n\"\"\n2\n");
  REQUIRE(t.rows() == 4);
  std::ostringstream out;
  write_csv(t, out);
  CHECK(out.str() == "lab\n1.5\n\"\"\n\"\"\n2\n");
  const Table back = parse_csv(out.str());
  REQUIRE(back.rows() == 4);
  CHECK(back.column("lab").values[0] == 1.5);
  CHECK(std::isnan(back.column("lab").values[1]));
  CHECK(std::isnan(back.column("lab").values[2]));
  CHECK(back.column("lab").values[3] == 2.0);
  // A name starting with a byte-order mark (after the file's own, which the reader drops) is
  // quoted, so the written file does not lose it to the reader's BOM handling.
  const Table bom = parse_csv("\xEF\xBB\xBF\xEF\xBB\xBFname\n1\n");
  REQUIRE(bom.names() == std::vector<std::string>{"\xEF\xBB\xBFname"});
  std::ostringstream bom_out;
  write_csv(bom, bom_out);
  CHECK(parse_csv(bom_out.str()).names() == bom.names());
  // Two columns: a missing value stays an empty field.
  std::ostringstream two;
  write_csv(parse_csv("a,b\n1,\n"), two);
  CHECK(two.str() == "a,b\n1,\n");
}

TEST_CASE("table: construction checks and matrix conversion") {
  Table t;
  t.add_column(Column::numeric("a", {1, 2}));
  CHECK_THROWS_WITH_AS(t.add_column(Column::numeric("b", {1, 2, 3})),
                       doctest::Contains("has 3 values but the table has 2 rows"), InvalidInput);
  CHECK_THROWS_WITH_AS(t.add_column(Column::numeric("a", {1, 2})),
                       doctest::Contains("'a' already exists"), InvalidInput);
  CHECK_THROWS_WITH_AS(t.add_column(Column::categorical("c", {0, 2}, {"x", "y"})),
                       doctest::Contains("has code 2 at row 1"), InvalidInput);
  t.add_column(Column::categorical("c", {1, kUnseenCategory}, {"x", "y"}));
  CHECK_THROWS_WITH_AS(t.column("zzz"),
                       doctest::Contains("no column named 'zzz'; the columns are: a, c"),
                       InvalidInput);
  const RowMatrixXd X = t.to_matrix({"c", "a"});
  CHECK(X(0, 0) == 1);
  CHECK(X(1, 0) == -1);
  CHECK(X(1, 1) == 2);
}

TEST_CASE("csv: the file must be UTF-8; a bad byte names the row, column and byte offset") {
  SUBCASE("a Latin-1 column name, found before any data is used") {
    // "id,G\xE9n" : the bad byte is at offset 4 (after the 3-byte BOM: offset 7 in the file).
    CHECK_THROWS_WITH_AS(parse_csv("\xEF\xBB\xBFid,G\xE9n\n1,2\n", {}, "l1.csv"),
                         doctest::Contains("read_csv: l1.csv: the header's column 2 holds the "
                                           "byte 0xE9 at byte offset 7 of the file, which is not "
                                           "valid UTF-8"),
                         InvalidInput);
  }
  SUBCASE("a Latin-1 category label") {
    CsvReadOptions o;
    o.categorical = {"site"};
    const std::string text = "id,site\n1,Gen\xC3\xA8ve\n2,Gen\xE8ve\n";
    CHECK_THROWS_WITH_AS(parse_csv(text, o),
                         doctest::Contains("data row 2, column 'site' holds the byte 0xE8 at "
                                           "byte offset 23 of the file"),
                         InvalidInput);
    CHECK_THROWS_WITH_AS(parse_csv(text, o), doctest::Contains("The value is 'Gen\\xE8ve'"),
                         InvalidInput);
    CHECK_THROWS_WITH_AS(parse_csv(text, o), doctest::Contains("iconv -f latin1 -t utf-8"),
                         InvalidInput);
  }
  SUBCASE("overlong forms and surrogates are not UTF-8 either") {
    CsvReadOptions o;
    o.categorical = {"s"};
    CHECK_THROWS_WITH_AS(parse_csv("s\n\xC0\xAF\n", o), doctest::Contains("byte 0xC0"),
                         InvalidInput);
    CHECK_THROWS_WITH_AS(parse_csv("s\n\xED\xA0\x80\n", o), doctest::Contains("byte 0xED"),
                         InvalidInput);
    CHECK(parse_csv("s\n\xF0\x9F\x98\x80\n", o).column("s").categories ==
          std::vector<std::string>{"\xF0\x9F\x98\x80"});
  }
  SUBCASE("in a numeric column the encoding error wins over 'non-numeric'") {
    CHECK_THROWS_WITH_AS(parse_csv("x\n1\n\xB5\n"),
                         doctest::Contains("data row 2, column 'x' "
                                           "holds the byte 0xB5"),
                         InvalidInput);
  }
  SUBCASE("a NUL byte is named, escaped and does not cut the message") {
    CsvReadOptions o;
    o.time_column = "d";
    const std::string text("d,x\n2023-01-01\0junk,1\n", 22);
    CHECK_THROWS_WITH_AS(parse_csv(text, o),
                         doctest::Contains("holds a NUL byte at byte offset 14 of the file"),
                         InvalidInput);
    CHECK_THROWS_WITH_AS(parse_csv(text, o),
                         doctest::Contains("The value is '2023-01-01\\x00junk'"), InvalidInput);
  }
  SUBCASE("a UTF-16 file is recognised") {
    CHECK_THROWS_WITH_AS(parse_csv(std::string("\xFF\xFEi\0d\0\n\0", 8)),
                         doctest::Contains("UTF-16 byte-order mark"), InvalidInput);
  }
}

TEST_CASE("csv: a bare CR line end is an error that does not echo the file") {
  std::string text = "pid,date,x,y\r";
  for (int i = 0; i < 200; ++i) text += std::to_string(i) + ",2023-01-01,1,0\r";
  try {
    parse_csv(text, {}, "mac.csv");
    FAIL("expected InvalidInput");
  } catch (const InvalidInput& e) {
    const std::string m = e.what();
    CHECK(m.find("unsupported line ending") != std::string::npos);
    CHECK(m.find("before data row 1") != std::string::npos);
    CHECK(m.size() < 400);
  }
  // CRLF, LF, a CR inside a quoted field and a final bare CR are fine.
  CHECK(parse_csv("a,b\r\n1,2\r\n").rows() == 1);
  CsvReadOptions o;
  o.categorical = {"b"};
  CHECK(parse_csv("a,b\n1,\"x\ry\"\n2,z\n", o).column("b").categories ==
        std::vector<std::string>{"x\ry", "z"});
  CHECK(parse_csv("a,b\n1,2\r").rows() == 1);
  CHECK_THROWS_WITH_AS(parse_csv("a,b\n1,2\r3,4\n"), doctest::Contains("before data row 2"),
                       InvalidInput);
}

TEST_CASE("csv: header reading shares the reader's rules; directories are named") {
  const std::string path = "/tmp/calibrisk_io_header_test_" + std::to_string(::getpid()) + ".csv";
  { std::ofstream(path, std::ios::binary) << "\xEF\xBB\xBF\n id ,\"a, b\",y\r\n1,2,3\r\n"; }
  CHECK(read_csv_header(path) == std::vector<std::string>{"id", "a, b", "y"});
  { std::ofstream(path, std::ios::binary) << "id,y\r1,0\r2,1\r"; }
  CHECK_THROWS_WITH_AS(read_csv_header(path), doctest::Contains("unsupported line ending"),
                       InvalidInput);
  { std::ofstream(path, std::ios::binary) << "id,G\xE9n\n1,2\n"; }
  CHECK_THROWS_WITH_AS(read_csv_header(path),
                       doctest::Contains("column 2 holds the byte 0xE9 at byte offset 4"),
                       InvalidInput);
  { std::ofstream(path, std::ios::binary) << "\n\n"; }
  CHECK_THROWS_WITH_AS(read_csv_header(path), doctest::Contains("is empty"), InvalidInput);
  std::remove(path.c_str());
  CHECK_THROWS_WITH_AS(read_csv("/tmp"), doctest::Contains("'/tmp' is a directory"), InvalidInput);
  CHECK_THROWS_WITH_AS(read_csv_header("/tmp"), doctest::Contains("is a directory"), InvalidInput);
  CHECK_THROWS_WITH_AS(read_csv("/dev/zero"), doctest::Contains("not a regular file"),
                       InvalidInput);
}
