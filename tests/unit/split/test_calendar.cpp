// SPDX-License-Identifier: Apache-2.0
// The calendar split and the time periods on hand-built rows: every expected assignment and
// count below is worked out by hand from the rows in the comments.
#include <doctest/doctest.h>

#include <calibrisk/core/error.hpp>
#include <calibrisk/io/date.hpp>
#include <calibrisk/split/periods.hpp>
#include <calibrisk/split/split.hpp>

#include <limits>
#include <string>
#include <vector>

using namespace calibrisk;

namespace {

// row: time, patient. Cuts 4 and 7: train t < 4, calibration 4 <= t < 7, test t >= 7.
//   0: 1 A (train)   1: 5 A (cal, A seen in train)   2: 9 A (test, A seen)
//   3: 4 B (cal, on the cut)   4: 8 B (test, B seen in cal)   5: 2 C (train)
//   6: 7 D (test, on the cut)  7: 6 E (cal)   8: 10 F (test)
const std::vector<double> kTime = {1, 5, 9, 4, 8, 2, 7, 6, 10};
const std::vector<double> kGroup = {0, 0, 0, 1, 1, 2, 3, 4, 5};  // A..F

std::vector<Index> rows(const TimeGroupSplit& s, SplitPart p) { return s.rows_of(p); }

}  // namespace

TEST_CASE("calendar split: exclude keeps each patient in the first part they appear in") {
  const TimeGroupSplit s = split_by_calendar(kTime, kGroup, 4, 7, CalendarPatients::kExclude);
  CHECK(s.rule == SplitRule::kCalendar);
  CHECK(rows(s, SplitPart::kTrain) == std::vector<Index>{0, 5});
  CHECK(rows(s, SplitPart::kCalibration) == std::vector<Index>{3, 7});
  CHECK(rows(s, SplitPart::kTest) == std::vector<Index>{6, 8});
  CHECK(rows(s, SplitPart::kExcluded) == std::vector<Index>{1, 2, 4});
  CHECK(s.rows_dropped[1] == 1);         // A's row 1
  CHECK(s.rows_dropped[2] == 2);         // A's row 2, B's row 4
  CHECK(s.groups_seen_earlier[1] == 1);  // A
  CHECK(s.groups_seen_earlier[2] == 2);  // A, B
  CHECK(s.summary[0].rows == 2);
  CHECK(s.summary[0].groups == 2);
  CHECK(s.summary[1].first_time == 4);
  CHECK(s.summary[1].last_time == 6);
  CHECK(s.summary[2].groups == 2);  // D, F
  CHECK(s.summary[2].first_time == 7);
}

TEST_CASE("calendar split: later-only keeps every row in the part of its date") {
  const TimeGroupSplit s = split_by_calendar(kTime, kGroup, 4, 7, CalendarPatients::kLaterOnly);
  CHECK(rows(s, SplitPart::kTrain) == std::vector<Index>{0, 5});
  CHECK(rows(s, SplitPart::kCalibration) == std::vector<Index>{1, 3, 7});
  CHECK(rows(s, SplitPart::kTest) == std::vector<Index>{2, 4, 6, 8});
  CHECK(rows(s, SplitPart::kExcluded).empty());
  CHECK(s.rows_dropped[1] + s.rows_dropped[2] == 0);
  CHECK(s.groups_seen_earlier[1] == 1);
  CHECK(s.groups_seen_earlier[2] == 2);
  CHECK(s.summary[2].groups == 4);       // A, B, D, F
  CHECK(s.summary[1].entry_first == 1);  // A entered at 1
}

TEST_CASE("calendar split: rows at or after `end` are out; no groups = every row its own") {
  const TimeGroupSplit s = split_by_calendar(kTime, {}, 4, 7, CalendarPatients::kExclude, 10);
  CHECK(rows(s, SplitPart::kTest) == std::vector<Index>{2, 4, 6});
  CHECK(rows(s, SplitPart::kExcluded) == std::vector<Index>{8});
  CHECK(s.rows_after_end == 1);
  CHECK(s.groups_seen_earlier[2] == 0);
  CHECK_THROWS_WITH_AS(split_by_calendar({1, std::numeric_limits<double>::quiet_NaN()}, {}, 1, 2,
                                         CalendarPatients::kExclude),
                       doctest::Contains("missing at data row 2"), InvalidInput);
}

TEST_CASE("calendar split: cuts as dates, numbers and fractions of the range") {
  const double d0 = static_cast<double>(days_from_civil(2022, 1, 1));
  const double d1 = static_cast<double>(days_from_civil(2023, 12, 31));
  const std::vector<double> days = {d0, d1, d0 + 100};
  CalendarSpec c;
  c.cuts = {"2023-01-01", "2023-07-01"};
  auto k = calendar_cut_keys(c, days, true);
  CHECK(k[0] == static_cast<double>(days_from_civil(2023, 1, 1)));
  CHECK(k[1] == static_cast<double>(days_from_civil(2023, 7, 1)));
  CHECK(time_key_text(k[0], true) == "2023-01-01");
  // Fractions of the range [0, 100]: 60 and 80; of the date range: rounded down to a day.
  CalendarSpec f;
  f.cut_fractions = {0.6, 0.8};
  k = calendar_cut_keys(f, {0, 100, 50}, false);
  CHECK(k[0] == doctest::Approx(60));
  CHECK(k[1] == doctest::Approx(80));
  f.cut_fractions = {0.5, 0.75};  // 729 days: 364.5 -> 364, 546.75 -> 546
  k = calendar_cut_keys(f, days, true);
  CHECK(k[0] == d0 + 364);
  CHECK(k[1] == d0 + 546);
  CalendarSpec n;
  n.cuts = {"20", "30.5"};
  k = calendar_cut_keys(n, {0, 100}, false);
  CHECK(k[1] == 30.5);
}

TEST_CASE("calendar split: bad cuts name the cut, the data's range and the fix") {
  const std::vector<double> days = {static_cast<double>(days_from_civil(2022, 1, 1)),
                                    static_cast<double>(days_from_civil(2023, 12, 31))};
  auto spec = [](std::vector<std::string> cuts) {
    CalendarSpec c;
    c.cuts = std::move(cuts);
    return c;
  };
  CHECK_THROWS_WITH_AS(calendar_cut_keys(spec({"2023-07-01", "2023-01-01"}), days, true),
                       doctest::Contains("cut 1 (2023-07-01) is not before cut 2 (2023-01-01)"),
                       InvalidParams);
  CHECK_THROWS_WITH_AS(calendar_cut_keys(spec({"2021-06-01", "2023-01-01"}), days, true),
                       doctest::Contains("the data span 2022-01-01 to 2023-12-31"), InvalidInput);
  CHECK_THROWS_WITH_AS(calendar_cut_keys(spec({"2022-01-01", "2023-01-01"}), days, true),
                       doctest::Contains("training part (rows before cut 1) would be empty"),
                       InvalidInput);
  CHECK_THROWS_WITH_AS(calendar_cut_keys(spec({"2023-01-01", "2024-02-01"}), days, true),
                       doctest::Contains("cut 2 (2024-02-01) is after the latest row"),
                       InvalidInput);
  CHECK_THROWS_WITH_AS(calendar_cut_keys(spec({"2023-02-30", "2023-07-01"}), days, true),
                       doctest::Contains("cut 1 '2023-02-30' is not a date"), InvalidParams);
  CHECK_THROWS_WITH_AS(calendar_cut_keys(spec({"abc", "5"}), {0, 10}, false),
                       doctest::Contains("cut 1 'abc' is not a number"), InvalidParams);
  CHECK_THROWS_WITH_AS(calendar_cut_keys(spec({"2023-01-01"}), days, true),
                       doctest::Contains("1 cuts given; give exactly two"), InvalidParams);
  CHECK_THROWS_WITH_AS(calendar_cut_keys(CalendarSpec{}, days, true),
                       doctest::Contains("(none given)"), InvalidParams);
  CalendarSpec f;
  f.cut_fractions = {0.0, 0.5};
  CHECK_THROWS_WITH_AS(calendar_cut_keys(f, days, true), doctest::Contains("cut fraction 1 is 0"),
                       InvalidParams);
}

TEST_CASE("periods: months, quarters, years and equal-count bins with their starts") {
  auto day = [](int y, unsigned m, unsigned d) {
    return static_cast<double>(days_from_civil(y, m, d));
  };
  // 2022-12-31, 2023-01-15, 2023-03-31, 2023-04-01, 2024-02-29
  const std::vector<double> t = {day(2023, 4, 1), day(2022, 12, 31), day(2023, 1, 15),
                                 day(2024, 2, 29), day(2023, 3, 31)};
  std::string g;
  auto q = time_periods(VectorView<const double>(t), true, TimeGranularity::kQuarter, 8, g);
  CHECK(g == "quarter");
  REQUIRE(q.size() == 4);
  CHECK(q[0].label == "2022-Q4");
  CHECK(q[1].label == "2023-Q1");
  CHECK(q[1].rows == std::vector<Index>{2, 4});
  CHECK(q[1].start == day(2023, 1, 1));
  CHECK(q[2].start == day(2023, 4, 1));
  CHECK(q[3].label == "2024-Q1");
  auto y = time_periods(VectorView<const double>(t), true, TimeGranularity::kYear, 8, g);
  CHECK(g == "year");
  REQUIRE(y.size() == 3);
  CHECK(y[1].label == "2023");
  CHECK(y[1].rows == std::vector<Index>{2, 4, 0});
  CHECK(y[2].start == day(2024, 1, 1));
  auto m = time_periods(VectorView<const double>(t), true, TimeGranularity::kMonth, 8, g);
  CHECK(m.size() == 5);
  CHECK(m[3].label == "2023-04");
  // Bins of a number key: 6 rows in 3 bins of 2 (the two rows at 4 share a bin).
  const std::vector<double> k = {1, 2, 4, 4, 5, 6};
  auto b = time_periods(VectorView<const double>(k), false, TimeGranularity::kBins, 3, g);
  CHECK(g == "equal-count bins");
  REQUIRE(b.size() == 3);
  CHECK(b[0].rows == std::vector<Index>{0, 1});
  CHECK(b[1].rows == std::vector<Index>{2, 3});
  CHECK(b[2].start == 5);
  CHECK(b[0].label ==
        "t1 (1\xE2\x80\xA6"
        "2)");
  // Bins of a date key are labelled with dates.
  auto db = time_periods(VectorView<const double>(t), true, TimeGranularity::kBins, 2, g);
  REQUIRE(db.size() == 2);
  CHECK(db[0].label ==
        "t1 (2022-12-31\xE2\x80\xA6"
        "2023-01-15)");
  CHECK(db[1].rows == std::vector<Index>{4, 0, 3});
}
