# SPDX-License-Identifier: Apache-2.0
"""GradientBoostingClassifier(categorical_features=...): the scikit-learn HistGradientBoosting
conventions (indices, boolean mask, names), parity with LightGBM's native categorical splits on
the same codes and matched regularisation, routing of unseen codes, and the 1.4 golden file
scored by an independent walk of its JSON trees."""

import json
import math
import pathlib

import numpy as np
import pytest

import calibrisk as cr
from calibrisk.exceptions import InvalidInputError, InvalidParamsError

GOLDEN = pathlib.Path(__file__).resolve().parents[1] / "golden" / "format-1.4"


def _codes(n, n_levels, seed, missing=0.0):
    rng = np.random.default_rng(seed)
    effect = rng.normal(size=n_levels)
    codes = rng.integers(0, n_levels, size=n).astype(float)
    x1 = rng.normal(size=n)
    z = 1.5 * effect[codes.astype(int)] + 0.7 * x1 - 0.2
    if missing:
        codes[rng.random(n) < missing] = np.nan
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    return np.column_stack([codes, x1]), y


def test_indices_mask_and_names_select_the_same_columns():
    pd = pytest.importorskip("pandas")
    X, y = _codes(2000, 30, 0)
    kw = dict(n_estimators=10, n_threads=1, min_data_per_category=5)
    by_index = cr.GradientBoostingClassifier(categorical_features=[0], **kw).fit(X, y)
    by_mask = cr.GradientBoostingClassifier(categorical_features=[True, False], **kw).fit(X, y)
    df = pd.DataFrame({"dx": X[:, 0], "lab": X[:, 1]})
    by_name = cr.GradientBoostingClassifier(categorical_features=["dx"], **kw).fit(df, y)
    p = by_index.predict_proba(X)[:, 1]
    np.testing.assert_array_equal(p, by_mask.predict_proba(X)[:, 1])
    np.testing.assert_array_equal(p, by_name.predict_proba(df)[:, 1])
    numeric = cr.GradientBoostingClassifier(**kw).fit(X, y)
    assert not np.array_equal(p, numeric.predict_proba(X)[:, 1])
    saved = json.loads(by_index._model.to_bytes())
    assert saved["params"]["categorical_features"] == [0]
    assert saved["state"]["cardinality"] == [30, 0]


def test_bad_categorical_features_are_refused_by_name():
    X, y = _codes(300, 5, 1)
    with pytest.raises(InvalidParamsError, match="lists column 2, outside \\[0, 2\\)"):
        cr.GradientBoostingClassifier(categorical_features=[2], n_estimators=2).fit(X, y)
    with pytest.raises(InvalidParamsError, match="boolean mask of length 3"):
        cr.GradientBoostingClassifier(categorical_features=[True, False, True]).fit(X, y)
    with pytest.raises(InvalidParamsError, match="no column names"):
        cr.GradientBoostingClassifier(categorical_features=["dx"]).fit(X, y)
    with pytest.raises(InvalidParamsError, match="monotonic"):
        cr.GradientBoostingClassifier(categorical_features=[0], monotonic_cst=[1, 0]).fit(X, y)
    bad = X.copy()
    bad[4, 0] = -3
    with pytest.raises(InvalidInputError, match="categorical column 0 has the value -3 at row 4"):
        cr.GradientBoostingClassifier(categorical_features=[0], n_estimators=2).fit(bad, y)


def test_unseen_codes_score_like_missing():
    X, y = _codes(3000, 20, 2, missing=0.05)
    m = cr.GradientBoostingClassifier(categorical_features=[0], n_estimators=20,
                                      n_threads=1).fit(X, y)
    rows = np.array([[np.nan, 0.4], [20, 0.4], [1e6, 0.4], [-1, 0.4], [3.5, 0.4]])
    p = m.predict_proba(rows)[:, 1]
    assert np.all(p == p[0])


def _lgb_left_set(tree):
    node = tree["tree_structure"]
    assert node["decision_type"] == "=="
    return {int(c) for c in str(node["threshold"]).split("||")}


def test_first_split_and_log_loss_match_lightgbm_native_categorical():
    lgb = pytest.importorskip("lightgbm")
    from sklearn.metrics import log_loss

    # 12 levels of >= ~100 rows each: no pooling in either library; matched regularisation.
    X, y = _codes(6000, 12, 3)
    Xte, yte = _codes(4000, 12, 3)[0], _codes(4000, 12, 3)[1]
    common = dict(n_estimators=50, learning_rate=0.1)
    ours = cr.GradientBoostingClassifier(
        categorical_features=[0], max_leaf_nodes=31, min_samples_leaf=20, max_bins=255,
        l2_regularization=0.0, cat_smooth=10.0, cat_l2=10.0, max_cat_threshold=32,
        max_cat_to_onehot=4, min_data_per_category=1, n_threads=1, **common).fit(X[:, :1], y)
    theirs = lgb.LGBMClassifier(
        num_leaves=31, min_child_samples=20, max_bin=255, reg_lambda=0.0, cat_smooth=10.0,
        cat_l2=10.0, max_cat_threshold=32, max_cat_to_onehot=4, min_data_per_group=1,
        min_child_weight=1e-3, subsample_for_bin=200000, n_jobs=1, verbose=-1,
        **common).fit(X[:, :1], y, categorical_feature=[0])
    dump = theirs.booster_.dump_model()["tree_info"][0]
    lgb_left = _lgb_left_set(dump)
    tree = json.loads(ours._model.to_bytes())["state"]["trees"][0]
    words = tree["cat_bits"][tree["cat_begin"][0]:tree["cat_end"][0]]
    our_left = {c for c in range(12) if c // 32 < len(words) and (words[c // 32] >> (c % 32)) & 1}
    assert our_left in (lgb_left, set(range(12)) - lgb_left)
    ll_ours = log_loss(yte, ours.predict_proba(Xte[:, :1])[:, 1])
    ll_lgb = log_loss(yte, theirs.predict_proba(Xte[:, :1])[:, 1])
    assert abs(ll_ours - ll_lgb) < 2e-3, (ll_ours, ll_lgb)


def _walk(state, row):
    """Margin of one row by the documented routing rule, straight from the JSON arrays."""
    card = state.get("cardinality", [0] * state["n_features"])
    m = state["base_score"]
    m = float.fromhex(m) if isinstance(m, str) else m
    for t in state["trees"]:
        k = 0
        while t["left"][k] >= 0:
            f = t["feature"][k]
            x = row[f]
            if "cat_begin" in t and t["cat_end"][k] > t["cat_begin"][k]:
                if math.isnan(x) or x < 0 or x >= card[f] or x != math.floor(x):
                    left = t["missing_left"][k] == 1
                else:
                    c = int(x)
                    w = t["cat_bits"][t["cat_begin"][k]:t["cat_end"][k]]
                    left = c // 32 < len(w) and (w[c // 32] >> (c % 32)) & 1 == 1
            else:
                thr = t["threshold"][k]
                thr = float.fromhex(thr) if isinstance(thr, str) else thr
                left = t["missing_left"][k] == 1 if math.isnan(x) else x <= thr
            k = t["left"][k] if left else t["right"][k]
        v = t["value"][k]
        m += float.fromhex(v) if isinstance(v, str) else v
    return m


def test_golden_1_4_categorical_file_scores_as_an_independent_tree_walk():
    path = GOLDEN / "py_gbdt_categorical.json"
    doc = json.loads(path.read_text())
    assert doc["format_version"] == "1.4"
    pipe = cr.load(str(path))
    rows = np.genfromtxt(GOLDEN / "rows_numeric.csv", delimiter=",", skip_header=1)
    frozen = np.loadtxt(GOLDEN / "py_gbdt_categorical.scores.csv", skiprows=1)
    state = doc["model"]["state"]
    for row, expected in zip(rows, frozen):
        got = pipe.predict_proba_row(row)
        assert got == expected  # frozen at 1.4: bit-identical
        margin = _walk(state, list(row))
        assert got == pytest.approx(1 / (1 + math.exp(-margin)), rel=1e-14, abs=1e-300)
