# SPDX-License-Identifier: Apache-2.0
"""Temporal validation: the calendar split of ``calibrisk train`` / ``calibrisk.train`` and
rolling-origin validation (``calibrisk validate``, ``calibrisk.validate``,
``calibrisk.split.RollingOriginSplit``).

Oracles: dates and patients recounted with pandas from the CSV, split indices written out by
hand, per-period AUC from ``sklearn.metrics.roc_auc_score`` on the same rows.
The executable is ``$CALIBRISK_CLI`` when set, else ``<repo>/build/bin/calibrisk``.
"""

import json
import os
import pathlib
import shutil
import subprocess

import numpy as np
import pytest
from statsmodels.nonparametric.smoothers_lowess import lowess

import calibrisk
from calibrisk import InvalidInputError, InvalidParamsError
from calibrisk.split import RollingOriginSplit

pd = pytest.importorskip("pandas")
sklearn_metrics = pytest.importorskip("sklearn.metrics")

REPO = pathlib.Path(__file__).resolve().parents[2]
CLI = pathlib.Path(os.environ.get("CALIBRISK_CLI", REPO / "build" / "bin" / "calibrisk"))
EXIT_USAGE, EXIT_DATA = 2, 3

ROLES = dict(label="readmitted", group_column="patient_id", time_column="encounter_date",
             drop=["encounter_id", "true_risk"], categorical=["site", "age_band"])
ROLE_FLAGS = ["--label", "readmitted", "--group-column", "patient_id", "--time-column",
              "encounter_date", "--drop", "encounter_id", "--drop", "true_risk",
              "--categorical", "site", "--categorical", "age_band"]


def run(*args, check=0):
    assert CLI.is_file(), f"the calibrisk executable is not at {CLI}; build it or set CALIBRISK_CLI"
    proc = subprocess.run([str(CLI), *map(str, args)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == check, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


def provenance(model_path):
    doc = json.loads(pathlib.Path(model_path).read_text())
    params = doc["provenance"]["parameters"]
    if isinstance(params, list):
        return {(p.get("key") if isinstance(p, dict) else p[0]):
                (p["value"] if isinstance(p, dict) else p[1]) for p in params}
    return dict(params)


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    path = tmp_path_factory.mktemp("temporal") / "cohort.csv"
    run("generate", "--rows", 6000, "--seed", 3, "--out", path)
    return path


@pytest.fixture(scope="module")
def frame(cohort):
    df = pd.read_csv(cohort)
    df["date"] = pd.to_datetime(df["encounter_date"])
    return df


# ---------------------------------------------------------------- calendar split


def test_calendar_split_dates_and_patients_from_the_cli(cohort, frame, tmp_path):
    model = tmp_path / "m.json"
    proc = run("train", "--data", cohort, *ROLE_FLAGS, "--model", "lr", "--split-rule",
               "calendar", "--cut", "2023-01-01,2023-07-01", "--out", model)
    prov = provenance(model)
    c1, c2 = pd.Timestamp("2023-01-01"), pd.Timestamp("2023-07-01")
    # The oracle: each part recomputed from the CSV with the "exclude" rule.
    first = frame.groupby("patient_id")["date"].transform("min")
    part = np.where(frame["date"] < c1, 0, np.where(frame["date"] < c2, 1, 2))
    first_part = np.where(first < c1, 0, np.where(first < c2, 1, 2))
    kept = part == first_part
    for k, name in enumerate(["train", "calibration", "test"]):
        rows = frame[kept & (part == k)]
        assert int(prov[f"split.{name}.rows"]) == len(rows)
        assert int(prov[f"split.{name}.groups"]) == rows["patient_id"].nunique()
        if k > 0:
            assert int(prov[f"split.{name}.rows_left_out"]) == int(((part == k) & ~kept).sum())
    assert pd.Timestamp(prov["split.train.last"]) < c1 <= pd.Timestamp(prov["split.calibration.first"])
    assert pd.Timestamp(prov["split.calibration.last"]) < c2 <= pd.Timestamp(prov["split.test.first"])
    assert prov["split.cuts"] == "2023-01-01,2023-07-01"
    assert prov["split.calendar_patients"] == "exclude"
    assert "split.fractions" not in prov
    assert "rows left out (--calendar-patients exclude)" in proc.stderr

    # Python gives the same model file, byte for byte; later-only keeps every row.
    r = calibrisk.train(cohort, **ROLES, model="lr", split_rule="calendar",
                        cuts=["2023-01-01", "2023-07-01"])
    py_model = tmp_path / "py.json"
    r.pipeline.save(py_model)
    assert py_model.read_bytes() == model.read_bytes()
    dates = frame["date"].to_numpy()
    assert dates[r.train.rows].max() < c1 <= dates[r.calibration.rows].min()
    assert dates[r.test.rows].min() >= c2
    later = calibrisk.train(cohort, **ROLES, model="lr", split_rule="calendar",
                            cut_fractions=[0.5, 0.75], calendar_patients="later-only")
    total = sum(len(p.rows) for p in (later.train, later.calibration, later.test))
    assert total == len(frame)
    assert later.split["test"]["rows_left_out"] == 0
    assert later.split["test"]["groups_seen_earlier"] > 0


def test_entry_rule_is_unchanged(cohort, tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    run("train", "--data", cohort, *ROLE_FLAGS, "--model", "lr", "--out", a)
    run("train", "--data", cohort, *ROLE_FLAGS, "--model", "lr", "--split-rule", "entry",
        "--out", b)
    assert a.read_bytes() == b.read_bytes()
    assert "split.cuts" not in provenance(a)


@pytest.mark.parametrize("flags, code, fragment", [
    (["--split-rule", "calendar", "--cut", "2023-07-01,2023-01-01"], EXIT_USAGE,
     "cut 1 (2023-07-01) is not before cut 2 (2023-01-01)"),
    (["--split-rule", "calendar", "--cut", "2023-01-01,2025-01-01"], EXIT_DATA,
     "cut 2 (2025-01-01) is after the latest row"),
    (["--split-rule", "calendar", "--cut", "2021-01-01,2023-01-01"], EXIT_DATA,
     "the data span 2022-01-01 to 2023-12-31"),
    (["--split-rule", "calendar", "--cut", "2023-01-01,2023-12-31"], EXIT_DATA,
     "the test part (rows from 2023-12-31) has"),
    (["--split-rule", "calendar", "--cut", "2023-13-01,2023-07-01"], EXIT_USAGE,
     "is not a date"),
    (["--split-rule", "calendar", "--cut", "2023-01-01"], EXIT_USAGE, "give two cuts"),
    (["--split-rule", "calendar"], EXIT_USAGE, "needs the two cuts"),
    (["--cut", "2023-01-01,2023-07-01"], EXIT_USAGE, "add --split-rule calendar"),
    (["--split-rule", "calendar", "--cut", "2023-01-01,2023-07-01", "--cut-fractions",
      "0.5,0.7"], EXIT_USAGE, "not both"),
])
def test_calendar_split_bad_input(cohort, tmp_path, flags, code, fragment):
    out = tmp_path / "m.json"
    proc = run("train", "--data", cohort, *ROLE_FLAGS, "--model", "lr", *flags, "--out", out,
               check=code)
    assert fragment in proc.stderr
    assert not out.exists()


def test_calendar_split_bad_input_from_python(cohort):
    with pytest.raises(InvalidInputError, match="after the latest row"):
        calibrisk.train(cohort, **ROLES, model="lr", split_rule="calendar",
                        cuts=["2023-01-01", "2024-06-01"])
    with pytest.raises(InvalidParamsError, match="split_rule='calendar'"):
        calibrisk.train(cohort, **ROLES, model="lr", cuts=["2023-01-01", "2023-07-01"])
    with pytest.raises(InvalidParamsError, match="two values"):
        calibrisk.train(cohort, **ROLES, model="lr", split_rule="calendar", cuts=["2023-01-01"])


# ---------------------------------------------------------------- rolling-origin splitter


def test_splitter_indices_by_hand():
    # Quarters of 2023: Q1 rows 0, 1, 5; Q2 rows 2, 6; Q3 rows 3, 7; Q4 row 4.
    # Patients: row 7 is patient "a" (seen in Q1 at row 0), the others are their own.
    time = np.array(["2023-01-05", "2023-02-01", "2023-04-10", "2023-07-01", "2023-12-31",
                     "2023-03-31", "2023-06-30", "2023-09-30"], dtype="datetime64[D]")
    groups = np.array(["a", "b", "c", "d", "e", "f", "g", "a"], dtype=object)
    cv = RollingOriginSplit(period="quarter", min_train_periods=2)
    folds = list(cv.split(np.zeros((8, 1)), groups=groups, time=time))
    assert len(folds) == cv.get_n_splits(groups=groups, time=time) == 2
    # Test Q3: train Q1 + Q2; row 7 (patient a, seen in Q1) is left out.
    np.testing.assert_array_equal(folds[0][0], [0, 1, 2, 5, 6])
    np.testing.assert_array_equal(folds[0][1], [3])
    # Test Q4: train Q1..Q3.
    np.testing.assert_array_equal(folds[1][0], [0, 1, 2, 3, 5, 6, 7])
    np.testing.assert_array_equal(folds[1][1], [4])
    keep = list(RollingOriginSplit(calendar_patients="later-only").split(time=time, groups=groups))
    np.testing.assert_array_equal(keep[0][1], [3, 7])
    o = cv.origins(groups=groups, time=time)[0]
    assert (o["fit_periods"], o["calibration_period"], o["test_period"]) == \
        ("2023-Q1..2023-Q1", "2023-Q2", "2023-Q3")
    np.testing.assert_array_equal(o["calibration"], [2, 6])
    # calibrisk.validate's parts of the last origin: patient a's Q3 row leaves calibration.
    last = cv.origins(groups=groups, time=time)[1]
    np.testing.assert_array_equal(last["fit"], [0, 1, 2, 5, 6])
    np.testing.assert_array_equal(last["calibration"], [3])
    # Numeric keys need bins; too few periods is a data error naming the count.
    bins = list(RollingOriginSplit(period="bins", n_bins=4).split(time=np.arange(8.0)))
    assert [list(t) for _, t in bins] == [[4, 5], [6, 7]]
    with pytest.raises(InvalidParamsError, match="use period='bins'"):
        list(RollingOriginSplit().split(time=np.arange(8.0)))
    with pytest.raises(InvalidInputError, match="fall in 1 year period"):
        list(RollingOriginSplit(period="year").split(time=time))


def test_validate_auc_equals_sklearn_on_the_same_rows(cohort, frame):
    table, preds = calibrisk.validate(cohort, **ROLES, model="lr", period="quarter",
                                      n_bootstrap=50, return_predictions=True)
    assert list(table.columns) == list(calibrisk.workflow.VALIDATE_COLUMNS)
    assert list(table["period"]) == ["2022-Q3", "2022-Q4", "2023-Q1", "2023-Q2", "2023-Q3",
                                     "2023-Q4"]
    y = frame["readmitted"].to_numpy()
    folds = list(RollingOriginSplit(period="quarter").split(
        groups=frame["patient_id"].to_numpy(), time=frame["encounter_date"].to_numpy()))
    assert len(folds) == len(table)
    for k, (rows, p) in enumerate(preds):
        np.testing.assert_array_equal(rows, folds[k][1])
        assert table["auc"][k] == pytest.approx(sklearn_metrics.roc_auc_score(y[rows], p),
                                                abs=1e-12)
        assert table["n_test"][k] == len(rows)
        assert table["events_test"][k] == int(y[rows].sum())
        assert table["auc_lower"][k] <= table["auc"][k] <= table["auc_upper"][k]
        # ICI = mean |lowess(y on p) - p| (frac 2/3, no robustness iterations), from statsmodels;
        # calibrisk fits on <= 1000 bins for larger data, within 2e-4 (metrics.md).
        sm = lowess(y[rows], p, frac=2.0 / 3.0, it=0, delta=0.0, return_sorted=False)
        assert table["ici"][k] == pytest.approx(np.mean(np.abs(sm - p)), abs=2e-4)
    assert table["start"][0] == np.datetime64("2022-07-01")


# ---------------------------------------------------------------- calibrisk validate


def test_validate_cli_table_json_and_counts(cohort, frame, tmp_path):
    js = tmp_path / "v.json"
    proc = run("validate", "--data", cohort, *ROLE_FLAGS, "--model", "lr", "--period", "year",
               "--min-train-periods", 2, "--json", js, check=EXIT_DATA)
    assert "fall in 2 year period(s)" in proc.stderr and not js.exists()
    proc = run("validate", "--data", cohort, *ROLE_FLAGS, "--model", "lr", "--period", "quarter",
               "--min-train-periods", 4, "--json", js)
    doc = json.loads(js.read_text())
    periods = doc["periods"]
    assert [p["period"] for p in periods] == ["2023-Q1", "2023-Q2", "2023-Q3", "2023-Q4"]
    assert doc["granularity"] == "quarter" and doc["calendar_patients"] == "exclude"
    q = frame["date"].dt.to_period("Q")
    first = frame.groupby("patient_id")["date"].transform("min")
    for p in periods:
        start = pd.Period(p["period"].replace("-", ""), freq="Q")
        in_q = q == start
        new = first >= start.start_time
        assert p["n_test"] == int((in_q & new).sum())
        assert p["test_rows_left_out"] == int((in_q & ~new).sum())
        assert p["events_test"] == int(frame.loc[in_q & new, "readmitted"].sum())
        assert p["ici"] is not None and 0 <= p["ici"] < 0.2
        assert p["period"] in proc.stdout
    assert "AUC [95% CI]" in proc.stdout


_CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def test_validate_html_escapes_and_renders(cohort, tmp_path):
    hostile = tmp_path / "<img src=x onerror=alert(1)>.csv"
    shutil.copy(cohort, hostile)
    page = tmp_path / "v.html"
    run("validate", "--data", hostile, *ROLE_FLAGS, "--model", "lr", "--report", page)
    html = page.read_text()
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;.csv" in html
    assert html.count("<tr>") == 1 + 6
    if _CHROMIUM is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed — required in CI")
        pytest.skip("chromium is not installed")
    dom = subprocess.run([_CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                          "--dump-dom", page.as_uri()], capture_output=True, text=True,
                         timeout=90)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "<svg" in dom.stdout and "<img" not in dom.stdout
    assert dom.stdout.count("<tr>") == 7


def test_splitter_works_as_a_scikit_learn_cv(frame):
    model_selection = pytest.importorskip("sklearn.model_selection")
    linear_model = pytest.importorskip("sklearn.linear_model")
    X = frame[["age", "prior_admissions", "length_of_stay"]].to_numpy(float)
    y = frame["readmitted"].to_numpy()
    cv = RollingOriginSplit(period="quarter", time=frame["encounter_date"].to_numpy())
    groups = frame["patient_id"].to_numpy()
    scores = model_selection.cross_val_score(linear_model.LogisticRegression(), X, y,
                                             groups=groups, cv=cv, scoring="roc_auc")
    assert len(scores) == 6
    # The same folds by hand: fit on the rows before each test quarter, score the test rows.
    for k, (train, test) in enumerate(cv.split(X, y, groups)):
        m = linear_model.LogisticRegression().fit(X[train], y[train])
        auc = sklearn_metrics.roc_auc_score(y[test], m.predict_proba(X[test])[:, 1])
        assert scores[k] == pytest.approx(auc, abs=1e-12)
