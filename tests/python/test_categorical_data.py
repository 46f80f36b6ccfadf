# SPDX-License-Identifier: Apache-2.0
"""Categorical columns from Python (calibrisk._categorical over the C++ encoder): detection and
``categorical_features`` by index / name / mask, hand-computed level tables and code-hierarchy
pooling, the unseen policy, bad labels, and the agreement between Python and the CSV reader in
both directions (train in Python, score the CSV with ``calibrisk predict``; train with the CLI,
score the DataFrame in Python). Docs: docs/categorical.md."""
import json
import os
import pathlib
import pickle
import subprocess

import numpy as np
import pytest

import calibrisk as cr
from calibrisk import _categorical, _core
from calibrisk.exceptions import InvalidInputError, InvalidParamsError

pd = pytest.importorskip("pandas")

REPO = pathlib.Path(__file__).resolve().parents[2]
CLI = pathlib.Path(os.environ.get("CALIBRISK_CLI", REPO / "build" / "bin" / "calibrisk"))
GOLDEN = REPO / "tests" / "golden" / "format-1.4"

needs_cli = pytest.mark.skipif(not CLI.exists(), reason=f"no calibrisk executable at {CLI}")


def run(*args):
    return subprocess.run([str(CLI), *map(str, args)], check=True, capture_output=True, text=True)


def scores(path):
    return pd.read_csv(path)["risk"].to_numpy()


def frame(n=800, seed=0):
    rng = np.random.default_rng(seed)
    dx = rng.choice(["250.01", "250.02", "250.9", "401.1", "401.9", "428.0", ""], n,
                    p=[0.3, 0.1, 0.05, 0.05, 0.3, 0.15, 0.05])
    site = rng.choice(["North", "<b>South</b>", 'Clinic "A"', "Zürich, Ost"], n)
    age = np.round(rng.normal(60, 10, n), 1)
    z = -1 + 0.04 * (age - 60) + np.where(np.char.startswith(dx.astype(str), "428"), 1.0, 0.0)
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    df = pd.DataFrame({"age": age, "dx": dx, "site": site})
    df.loc[df["dx"] == "", "dx"] = None
    return df, y


# ---- detection and declaration -------------------------------------------------------------

def test_categorical_features_by_auto_index_name_and_mask():
    df = pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"], "c": pd.Categorical(["u", "v"]),
                       "d": [3, 4]})
    assert _categorical.resolve_indices(df, "auto", "t") == [1, 2]
    assert _categorical.resolve_indices(df, [3, 1], "t") == [1, 3]
    assert _categorical.resolve_indices(df, ["d"], "t") == [3]
    assert _categorical.resolve_indices(df, [False, False, False, True], "t") == [3]
    assert _categorical.resolve_indices(np.zeros((2, 3)), "auto", "t") == []
    with pytest.raises(InvalidParamsError, match="column 'zz'"):
        _categorical.resolve_indices(df, ["zz"], "t")
    with pytest.raises(InvalidParamsError, match="mask of length 2"):
        _categorical.resolve_indices(df, [True, False], "t")


def test_levels_are_byte_sorted_labels_with_counts_and_missing_markers():
    # Hand-computed: "NA", "?", "" and None are missing; spaces trimmed; bytes order puts
    # upper case before lower case and "é" (0xC3 0xA9) last.
    labels = ["b", " a", "Z", "NA", None, "?", "a", "é", ""]
    lev, codes = _core._category_fit("c", _categorical.labels_of(pd.Series(labels)))
    assert list(lev.labels) == ["Z", "a", "b", "é"]
    assert list(lev.counts) == [1, 2, 1, 1]
    np.testing.assert_array_equal(codes, [2, 1, 0, np.nan, np.nan, np.nan, 1, 3, np.nan])


def test_numbers_declared_categorical_become_their_shortest_text():
    assert _categorical.labels_of(pd.Series([7.0, 0.5, np.nan, 250.01])) == \
        ["7", "0.5", None, "250.01"]
    assert _categorical.labels_of(np.array([3, 12])) == ["3", "12"]


def test_code_hierarchy_pools_rare_codes_hand_computed():
    # min_count 3: 250.01 x5 and 401.9 x6 are levels; 250.02, 250.03 (2 rows under 250.0, too
    # few) and 250.9 pool into 250 (3 rows); 401.1 (1 row under 401) and V10 stay themselves.
    labels = ["250.01"] * 5 + ["401.9"] * 6 + ["250.02", "250.03", "250.9", "401.1", "V10"]
    lev, codes = _core._category_fit("dx1", labels, [], 3)
    assert list(lev.labels) == ["250", "250.01", "401.1", "401.9", "V10"]
    assert list(lev.counts) == [3, 5, 1, 6, 1]
    assert codes[-5:].tolist() == [0, 0, 0, 2, 4]
    assert list(lev.pooled) == ["250.02", "250.03", "250.9"]
    new, unseen = lev.encode(["250.07", "401.5", "V10", "250.9"])
    assert new[0] == 0 and np.isnan(new[1]) and new[2] == 4  # ancestor 250; 401 not a level
    assert new[3] == 0 and unseen == 2  # 250.9 was seen (pooled), not unseen


def test_bad_labels_name_the_column():
    with pytest.raises(InvalidInputError, match="column 'city'.*not valid UTF-8"):
        _core._category_fit("city", ["ok", "Gen\udce8ve"])  # a lone surrogate (bad bytes)
    with pytest.raises(InvalidInputError, match="column 'id' has more than 2 distinct labels"):
        _core._category_fit("id", ["a", "b", "c"], None, 10, 2)
    # object dtype: pandas >= 3 stores str columns in Arrow, which refuses a lone surrogate itself
    city = pd.Series(["ok", "Gen\udce8ve"], dtype=object)
    df = pd.DataFrame({"city": city, "x": [1.0, 2.0]})
    with pytest.raises(InvalidInputError, match="city"):
        cr.GradientBoostingClassifier(n_estimators=2).fit(df, [0, 1])


# ---- estimators and the pipeline -----------------------------------------------------------

def test_estimators_encode_string_columns_and_unseen_labels_score_as_missing():
    df, y = frame()
    for est in (cr.GradientBoostingClassifier(n_estimators=15, random_state=1),
                cr.LogisticRegression()):
        est.fit(df, y)
        assert est.categorical_encoding_.indices == [1, 2]
        assert list(est.feature_names_in_) == ["age", "dx", "site"]
        new = df.iloc[:5].copy()
        new["dx"] = ["493.1"] * 5  # never seen, no hierarchy: missing
        missing = df.iloc[:5].copy()
        missing["dx"] = None
        np.testing.assert_array_equal(est.predict_proba(new), est.predict_proba(missing))
        again = pickle.loads(pickle.dumps(est))
        np.testing.assert_array_equal(again.predict_proba(df), est.predict_proba(df))


def test_hostile_labels_reach_the_model_file_and_back_unchanged():
    df, y = frame()
    gb = cr.GradientBoostingClassifier(n_estimators=5).fit(df, y)
    pipe = cr.Pipeline.from_estimators(gb, X_train=df, y_train=y)
    doc = json.loads(pipe.to_string())
    assert doc["format_version"] == "1.4"
    assert doc["schema"]["features"][2]["labels"] == \
        ['<b>South</b>', 'Clinic "A"', "North", "Zürich, Ost"]
    back = cr.loads(pipe.to_string())
    np.testing.assert_array_equal(back.predict_risk(df), pipe.predict_risk(df))
    np.testing.assert_array_equal(pipe.predict_risk(df), gb.predict_proba(df)[:, 1])


def test_calibrated_classifier_and_text_rows():
    df, y = frame(1200, 3)
    clf = cr.CalibratedClassifier(cr.GradientBoostingClassifier(n_estimators=10),
                                  method="isotonic", cv=3, ensemble=False).fit(df, y)
    pipe = clf.to_pipeline(X_train=df, y_train=y)
    np.testing.assert_allclose(pipe.predict_risk(df), clf.predict_proba(df)[:, 1], rtol=0,
                               atol=1e-12)
    rows = [["61.5", "250.01", "North"], ["70", "999.9", "North"]]
    X = pipe.encode_rows(rows)
    assert np.isnan(X[1, 1])
    errors, unseen, _ = pipe.check_text_rows(rows)
    assert errors == [] and unseen["dx"] == 1


# ---- Python <-> CSV agreement ------------------------------------------------------------------

@needs_cli
def test_trained_in_python_scored_from_csv_identically(tmp_path):
    df, y = frame()
    df["ward"] = np.where(np.arange(len(df)) % 3 == 0, 7, 12)  # numbers declared categorical
    gb = cr.GradientBoostingClassifier(n_estimators=20, random_state=2)
    gb.set_params(categorical_features=["dx", "site", "ward"])
    gb.fit(df, y)
    pipe = cr.Pipeline.from_estimators(gb, X_train=df, y_train=y)
    model = tmp_path / "m.json"
    pipe.save(str(model))
    test = frame(300, 9)[0]
    test["ward"] = np.where(np.arange(len(test)) % 2 == 0, 7, 12)
    test.loc[5, "dx"] = "250.07"  # unseen on both sides
    test.to_csv(tmp_path / "rows.csv", index=False)  # ints as "7", None as empty
    run("predict", "--model", model, "--data", tmp_path / "rows.csv", "--out", tmp_path / "s.csv")
    np.testing.assert_array_equal(scores(tmp_path / "s.csv"), pipe.predict_risk(test))
    np.testing.assert_array_equal(scores(tmp_path / "s.csv"), gb.predict_proba(test)[:, 1])


@needs_cli
def test_trained_from_csv_scored_in_python_identically(tmp_path):
    df, y = frame(1500, 4)
    df["y"] = y
    df.to_csv(tmp_path / "train.csv", index=False)
    run("train", "--data", tmp_path / "train.csv", "--label", "y", "--categorical", "site",
        "--code-hierarchy", "dx", "--hierarchy-min-count", "100", "--param", "n_estimators=15",
        "--calibration", "isotonic", "--out", tmp_path / "m.json")
    test = frame(200, 5)[0]
    test.loc[3, "dx"] = "428.7"  # unseen: its ancestor 428 is a level only if 428.* was pooled
    test.loc[4, "dx"] = "250.05"
    test.to_csv(tmp_path / "rows.csv", index=False)
    run("predict", "--model", tmp_path / "m.json", "--data", tmp_path / "rows.csv", "--out",
        tmp_path / "s.csv")
    pipe = cr.load(str(tmp_path / "m.json"))
    np.testing.assert_array_equal(pipe.predict_risk(test), scores(tmp_path / "s.csv"))
    # The same file from calibrisk.train on the DataFrame (same CSV reader underneath).
    res = cr.train(df, label="y", code_hierarchy={"dx": None}, hierarchy_min_count=100,
                   params={"n_estimators": 15}, calibration="isotonic", source="train.csv")
    np.testing.assert_array_equal(res.pipeline.predict_risk(test), scores(tmp_path / "s.csv"))
    doc = json.loads((tmp_path / "m.json").read_text())
    dx = doc["schema"]["features"][1]
    # The CSV reader's levels are the Python encoder's on the same labels (the pooling rule itself
    # is checked by hand in test_code_hierarchy_pools_rare_codes_hand_computed).
    lev, _ = _core._category_fit("dx", _categorical.labels_of(df["dx"]), [], 100)
    assert dx["labels"] == list(lev.labels)
    assert dx["code_hierarchy"] == {"prefix_lengths": [], "pooled": list(lev.pooled)}


@needs_cli
def test_golden_format_1_4_scores_identically_from_cli_and_python(tmp_path):
    run("predict", "--model", GOLDEN / "gbdt_labels.json", "--data", GOLDEN / "rows.csv",
        "--out", tmp_path / "s.csv")
    expected = scores(GOLDEN / "gbdt_labels.scores.csv")
    np.testing.assert_array_equal(scores(tmp_path / "s.csv"), expected)
    rows = pd.read_csv(GOLDEN / "rows.csv", dtype={"dx": str, "site": str}, keep_default_na=False)
    pipe = cr.load(str(GOLDEN / "gbdt_labels.json"))
    np.testing.assert_array_equal(pipe.predict_risk(rows), expected)
