// SPDX-License-Identifier: Apache-2.0
// Calendar arithmetic and ISO 8601 parsing against hand-checked dates.
#include <calibrisk/io/date.hpp>

#include <doctest/doctest.h>

using namespace calibrisk;

TEST_CASE("date: known day numbers of the Unix epoch calendar") {
  CHECK(days_from_civil(1970, 1, 1) == 0);
  CHECK(days_from_civil(1969, 12, 31) == -1);
  CHECK(days_from_civil(2000, 3, 1) == 11017);  // 30 years incl. 7 leap days + Jan/Feb 2000
  CHECK(days_from_civil(2022, 1, 1) == 18993);  // `date -d 2022-01-01 +%s` / 86400
  CHECK(days_from_civil(2024, 2, 29) == 19782);
}

TEST_CASE("date: civil_from_days inverts days_from_civil over 800 years") {
  for (std::int64_t d = -146097; d <= 146097; d += 17) {
    const CivilDate c = civil_from_days(d);
    CHECK(is_valid_date(c.year, c.month, c.day));
    CHECK(days_from_civil(c.year, c.month, c.day) == d);
  }
}

TEST_CASE("date: leap-year rules") {
  CHECK(is_valid_date(2024, 2, 29));
  CHECK(is_valid_date(2000, 2, 29));
  CHECK_FALSE(is_valid_date(1900, 2, 29));
  CHECK_FALSE(is_valid_date(2023, 2, 29));
  CHECK_FALSE(is_valid_date(2023, 4, 31));
  CHECK_FALSE(is_valid_date(2023, 13, 1));
}

TEST_CASE("date: ISO 8601 dates and date-times parse to fractional UTC days") {
  double d = 0;
  REQUIRE(parse_iso8601("2022-01-01", d));
  CHECK(d == 18993.0);
  REQUIRE(parse_iso8601("2022-01-01T12:00", d));
  CHECK(d == 18993.5);
  REQUIRE(parse_iso8601("2022-01-01 06:00:00", d));
  CHECK(d == 18993.25);
  REQUIRE(parse_iso8601("2022-01-01T06:00:00.5Z", d));
  CHECK(d == doctest::Approx(18993.25 + 0.5 / 86400).epsilon(1e-15));
  REQUIRE(parse_iso8601("2022-01-01T02:00:00+02:00", d));  // = midnight UTC
  CHECK(d == 18993.0);
  REQUIRE(parse_iso8601("2021-12-31T22:00:00-0200", d));
  CHECK(d == 18993.0);
  SUBCASE("rejected") {
    for (const char* bad : {"2022-1-01", "2022-02-30", "22-01-01", "2022-01-01T25:00", "2022/01/01",
                            "2022-01-01T10:00:00X", "2022-01-01T", "2022-01-01Tnoon", "", "12.5"}) {
      CAPTURE(bad);
      CHECK_FALSE(parse_iso8601(bad, d));
    }
  }
}

TEST_CASE("date: formatting") {
  CHECK(format_iso_date(18993) == "2022-01-01");
  CHECK(format_iso_date(-1) == "1969-12-31");
  CHECK(format_iso_datetime(18993.0) == "2022-01-01");
  CHECK(format_iso_datetime(18993.5) == "2022-01-01T12:00:00");
  CHECK(format_iso_datetime(18993.0 + 3661.0 / 86400) == "2022-01-01T01:01:01");
}

TEST_CASE("date: why a text is not an ISO 8601 date") {
  CHECK(iso8601_problem("2023-02-28") == "");
  CHECK(iso8601_problem("2023-02-30") == "not a valid calendar date (2023-02 has 28 days)");
  CHECK(iso8601_problem("2024-02-30") == "not a valid calendar date (2024-02 has 29 days)");
  CHECK(iso8601_problem("2023-04-31") == "not a valid calendar date (2023-04 has 30 days)");
  CHECK(iso8601_problem("2023-13-01") == "month 13 is not in 01..12");
  CHECK(iso8601_problem("2023-01-01T25:00").find("the time must be") != std::string::npos);
  CHECK(iso8601_problem("yesterday").find("not an ISO 8601 date") != std::string::npos);
  CHECK(iso8601_problem(std::string("2023-01-01\0x", 12)).find("the time") == std::string::npos);
}
