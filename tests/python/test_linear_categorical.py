# SPDX-License-Identifier: Apache-2.0
"""LogisticRegression(categorical_features=...): parity with scikit-learn and statsmodels on the
one-hot design built by hand (reference level dropped, rare levels pooled, missing indicator),
unseen codes, the file round trip, threads and bad input."""

import json
import pickle

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression as SkLogisticRegression

import calibrisk
from calibrisk import LogisticRegression, _core

pd = pytest.importorskip("pandas")


def _cohort(n=4000, seed=0, levels=(7, 40, 4), nan_rate=0.03):
    """Numeric columns 0-2, then categorical code columns with Zipf-like frequencies."""
    rng = np.random.default_rng(seed)
    num = rng.normal(size=(n, 3)) * [1.0, 3.0, 0.5] + [0.0, 10.0, -1.0]
    cats = []
    z = -0.5 + num @ np.array([0.4, -0.1, 0.8])
    for c, k in enumerate(levels):
        code = np.minimum(k - 1, np.floor(k * rng.uniform(size=n) ** 2)).astype(float)
        effect = np.sin(1.0 + np.arange(k) * (c + 1.0)) * 0.8
        z += effect[code.astype(int)]
        code[rng.uniform(size=n) < nan_rate] = np.nan
        z += np.where(np.isnan(code), 0.6, 0.0)
        cats.append(code)
    X = np.column_stack([num] + cats)
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-z))).astype(int)
    return X, y


def _expand_by_hand(X, y_unused, cat_cols, min_count, names):
    """The one-hot design a user would build with pandas: per categorical column, the most
    frequent code is the reference (dropped), codes with fewer than min_count rows are pooled
    into one 'other' column, NaN gets its own column (when present). Returns (design, names)."""
    df = pd.DataFrame(X, columns=names)
    parts = [df.drop(columns=[names[j] for j in cat_cols])]
    for j in cat_cols:
        col = df[names[j]]
        counts = col.value_counts(dropna=True)
        ref = counts[counts == counts.max()].index.min()
        kept = sorted(c for c, m in counts.items() if m >= min_count and c != ref)
        pooled = sorted(c for c, m in counts.items() if m < min_count and c != ref)
        block = {f"{names[j]}={int(c)}": (col == c).astype(float) for c in kept}
        if pooled:
            block[f"{names[j]}=other"] = col.isin(pooled).astype(float)
        if col.isna().any():
            block[f"{names[j]}=missing"] = col.isna().astype(float)
        parts.append(pd.DataFrame(block))
    design = pd.concat(parts, axis=1)
    return design.to_numpy(), list(design.columns)


NAMES = ["age", "los", "lab", "admission_source", "primary_dx", "payer"]
CATS = [3, 4, 5]


@pytest.mark.parametrize("C", [0.3, 5.0])
def test_matches_sklearn_on_hand_expanded_design(C):
    X, y = _cohort()
    df = pd.DataFrame(X, columns=NAMES)
    ours = LogisticRegression(C=C, tol=1e-10, categorical_features=CATS,
                              min_category_count=30).fit(df, y)
    E, enames = _expand_by_hand(X, y, CATS, 30, NAMES)
    assert list(ours.get_feature_names_out()) == enames
    sk = SkLogisticRegression(C=C, tol=1e-12, solver="newton-cg", max_iter=2000).fit(E, y)
    np.testing.assert_allclose(ours.coef_, sk.coef_, rtol=0, atol=1e-6)
    np.testing.assert_allclose(ours.intercept_, sk.intercept_, rtol=0, atol=1e-6)
    np.testing.assert_allclose(ours.predict_proba(df), sk.predict_proba(E), rtol=0, atol=1e-8)


def test_standard_errors_match_statsmodels():
    sm = pytest.importorskip("statsmodels.api")
    X, y = _cohort(n=6000, seed=1, levels=(5, 12, 3))
    ours = LogisticRegression(C=np.inf, tol=1e-12, categorical_features=[NAMES[j] for j in CATS],
                              min_category_count=40).fit(pd.DataFrame(X, columns=NAMES), y)
    E, enames = _expand_by_hand(X, y, CATS, 40, NAMES)
    res = sm.Logit(y, sm.add_constant(E)).fit(disp=0, method="newton", tol=1e-12, maxiter=100)
    table = ours.summary()
    assert list(table.index) == ["(intercept)"] + enames
    assert "admission_source=1" in table.index and "payer=missing" in table.index
    np.testing.assert_allclose(table["estimate"].to_numpy(), res.params, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(table["std_error"].to_numpy(), res.bse, rtol=1e-6)
    np.testing.assert_allclose(table["odds_ratio"].to_numpy(), np.exp(res.params), rtol=1e-6)
    ci = res.conf_int(alpha=0.05)
    np.testing.assert_allclose(table["ci_lower"].to_numpy(), ci[:, 0], rtol=1e-6, atol=1e-9)


def test_mask_and_indices_give_the_same_model():
    X, y = _cohort(n=1500, seed=2)
    a = LogisticRegression(categorical_features=CATS).fit(X, y)
    mask = np.zeros(X.shape[1], bool)
    mask[CATS] = True
    b = LogisticRegression(categorical_features=mask).fit(X, y)
    c = LogisticRegression(categorical_features=[-1, 3, 4]).fit(X, y)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    np.testing.assert_array_equal(a.coef_, c.coef_)
    assert a.get_feature_names_out()[3].startswith("x3=")


def test_unseen_codes_score_as_the_reference():
    X, y = _cohort(n=3000, seed=3, nan_rate=0.0)
    est = LogisticRegression(categorical_features=CATS).fit(X, y)
    ref = [int(v) for v in est.get_state()["category_reference"]]
    base = X[:5].copy()
    base[:, CATS] = ref
    for unseen in (999.0, -3.0, 2.5, np.nan):  # NaN: no missing level was seen in training
        Xu = X[:5].copy()
        Xu[:, 4] = unseen
        Xr = X[:5].copy()
        Xr[:, 4] = ref[1]
        np.testing.assert_array_equal(est.predict_proba(Xu), est.predict_proba(Xr))
    # At the reference codes only the numeric part and the intercept remain.
    z = est.intercept_[0] + base[:, :3] @ est.coef_[0, :3]
    np.testing.assert_allclose(est.decision_function(base), z, rtol=1e-12)


def test_file_round_trip_is_bit_identical_and_old_files_keep_their_bytes(tmp_path):
    X, y = _cohort(n=2000, seed=4)
    est = LogisticRegression(C=0.7, categorical_features=CATS, min_category_count=15).fit(X, y)
    text = est._model.to_bytes()
    section = json.loads(text)
    assert section["params"]["categorical_features"] == CATS
    assert section["params"]["min_category_count"] == 15
    assert section["state"]["categorical_features"] == CATS
    again = _core.LogisticRegressionModel.from_bytes(text)
    assert again.to_bytes() == text
    pickled = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(pickled.predict_proba(X), est.predict_proba(X))
    assert list(pickled.get_feature_names_out()) == list(est.get_feature_names_out())
    np.testing.assert_array_equal(again.predict_proba(X), est.predict_proba(X)[:, 1])
    pipe = calibrisk.Pipeline.from_estimators(est, feature_names=NAMES)
    path = tmp_path / "lr.json"
    pipe.save(path)
    assert json.loads(path.read_text())["format_version"] == "1.4"
    loaded = calibrisk.load(path)
    np.testing.assert_array_equal(loaded.predict_risk(X), pipe.predict_risk(X))
    # A model without categorical features writes no 1.4 field.
    plain = LogisticRegression(C=0.7).fit(X[:, :3], y)
    section = json.loads(plain._model.to_bytes())
    assert "categorical_features" not in section["params"]
    assert "categorical_features" not in section["state"]
    # A corrupted expansion is refused with the field's name.
    bad = json.loads(text)
    bad["state"]["category_levels"] = bad["state"]["category_levels"][:-1]
    with pytest.raises(calibrisk.ModelFormatError, match="category"):
        _core.LogisticRegressionModel.from_bytes(json.dumps(bad).encode())


def test_explanations_sum_to_the_margin():
    X, y = _cohort(n=2000, seed=5)
    est = LogisticRegression(categorical_features=CATS).fit(X, y)
    pipe = calibrisk.Pipeline.from_estimators(est, feature_names=NAMES)
    ex = pipe.explain(X[:20], scale="margin")
    phi = np.asarray(ex.contributions)
    np.testing.assert_allclose(phi.sum(axis=1) + ex.baseline, est.decision_function(X[:20]),
                               rtol=1e-10, atol=1e-10)


def test_thread_count_does_not_change_the_model():
    X, y = _cohort(n=70000, seed=6, levels=(300, 20, 60))
    a = LogisticRegression(categorical_features=CATS, n_threads=1).fit(X, y)
    b = LogisticRegression(categorical_features=CATS, n_threads=2).fit(X, y)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    assert a._model.to_bytes() == b._model.to_bytes()


def test_bad_input_names_the_column_and_row():
    X, y = _cohort(n=200, seed=7)
    Xb = X.copy()
    Xb[17, 4] = -2.0
    with pytest.raises(calibrisk.InvalidInputError, match=r"categorical feature 4 has X\[17, 4\]"):
        LogisticRegression(categorical_features=CATS).fit(Xb, y)
    Xb[17, 4] = 1.5
    with pytest.raises(calibrisk.InvalidInputError, match="integers >= 0"):
        LogisticRegression(categorical_features=CATS).fit(Xb, y)
    Xb[17, 4] = 5e6
    with pytest.raises(calibrisk.InvalidInputError, match="below 1000000"):
        LogisticRegression(categorical_features=CATS).fit(Xb, y)
    with pytest.raises(calibrisk.InvalidParamsError, match="lists column 9"):
        LogisticRegression(categorical_features=[9]).fit(X, y)
    with pytest.raises(calibrisk.InvalidParamsError, match="boolean mask of length 2"):
        LogisticRegression(categorical_features=[True, False]).fit(X, y)
    with pytest.raises(calibrisk.InvalidParamsError, match="no column names"):
        LogisticRegression(categorical_features=["payer"]).fit(X, y)
