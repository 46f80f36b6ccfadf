# SPDX-License-Identifier: Apache-2.0
"""Issue 11 §8 (Python): hostile and messy input gets the same, clear treatment from every public
estimator and function. Each test starts from the example in the issue text.

Conventions under test (docs/python.md "Input conventions"):
- a DataFrame column that is not numeric is named in the error;
- ``groups`` with a missing id (None, NaN, pd.NA) is an InvalidInputError naming the row;
- ``predict_proba`` on 0 rows returns an empty (0, 2) array (``predict`` / ``decision_function``
  / a calibrator's ``predict``: an empty (0,) array), for every estimator;
- a scalar ``sample_weight`` is broadcast to every row (scikit-learn's ``_check_sample_weight``),
  i.e. the fit equals the fit with ``np.full(n, w)``;
- ``evaluate(threshold=...)`` outside [0, 1] or NaN is an error;
- ``CalibratedClassifier(cv=...)`` takes an iterable of (train, test) index pairs.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression as SkLogisticRegression
from sklearn.model_selection import GroupKFold, StratifiedKFold
from sklearn.utils.estimator_checks import check_fit2d_1feature

import calibrisk as cr

N = 300


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(N, 3))
    y = (rng.random(N) < 1 / (1 + np.exp(-(2 * X[:, 0] - X[:, 1])))).astype(int)
    return X, y


def _gbdt():
    return cr.GradientBoostingClassifier(n_estimators=5, n_threads=1)


ESTIMATORS = {
    "LogisticRegression": lambda: cr.LogisticRegression(),
    "GradientBoostingClassifier": _gbdt,
    "CalibratedClassifier": lambda: cr.CalibratedClassifier(cr.LogisticRegression(), cv=3),
    "CalibratedClassifier-ensemble=False": lambda: cr.CalibratedClassifier(
        cr.LogisticRegression(), method="sigmoid", cv=3, ensemble=False
    ),
    "CalibratedClassifier-sklearn-venn_abers": lambda: cr.CalibratedClassifier(
        SkLogisticRegression(), method="venn_abers", cv=3
    ),
}

CALIBRATORS = {
    "PlattCalibrator": cr.PlattCalibrator,
    "IsotonicCalibrator": cr.IsotonicCalibrator,
    "BetaCalibrator": cr.BetaCalibrator,
    "VennAbersCalibrator": cr.VennAbersCalibrator,
}


def _fit_quiet(est, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(*args, **kwargs)


# ------------------------------------------------------------------ a text column is a category
@pytest.mark.parametrize("make", [ESTIMATORS["LogisticRegression"], _gbdt], ids=["LR", "GBDT"])
def test_dataframe_text_column_is_read_as_a_categorical_feature(data, make):
    X, y = data
    df = pd.DataFrame(X, columns=["age", "ward", "los"])
    df["ward"] = np.where(X[:, 1] > 0, "ICU", "general")  # the example: a text column
    got = _fit_quiet(make(), df, y).predict_proba(df)
    # The same model as on the codes of the byte-sorted labels ("ICU" = 0, "general" = 1) declared
    # categorical.
    codes = pd.DataFrame(X, columns=["age", "ward", "los"])
    codes["ward"] = np.where(X[:, 1] > 0, 0.0, 1.0)
    ref = _fit_quiet(make().set_params(categorical_features=["ward"]), codes, y)
    np.testing.assert_array_equal(got, ref.predict_proba(codes))
    fitted = _fit_quiet(make(), pd.DataFrame(X, columns=["age", "ward", "los"]), y)
    with pytest.raises(cr.InvalidInputError, match="column 'ward'"):
        fitted.predict_proba(df)


def test_category_column_through_calibrated_classifier(data):
    X, y = data
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    df["c"] = pd.Categorical(np.where(X[:, 2] > 0, "hi", "lo"))
    got = cr.CalibratedClassifier(cr.LogisticRegression(), cv=3).fit(df, y).predict_proba(df)
    codes = pd.DataFrame(X, columns=["a", "b", "c"])
    codes["c"] = np.where(X[:, 2] > 0, 0.0, 1.0)  # "hi" = 0, "lo" = 1
    ref = cr.CalibratedClassifier(cr.LogisticRegression(categorical_features=["c"]), cv=3)
    np.testing.assert_array_equal(got, ref.fit(codes, y).predict_proba(codes))


def test_numeric_object_and_nullable_columns_still_work(data):
    X, y = data
    Xn = X.copy()
    Xn[::7, 1] = np.nan
    df = pd.DataFrame(Xn, columns=["a", "b", "c"]).astype("Float64")  # NaN becomes pd.NA
    assert df["b"].isna().sum() == len(range(0, N, 7))
    expected = cr.LogisticRegression().fit(Xn, y).predict_proba(Xn)
    got = cr.LogisticRegression().fit(df, y).predict_proba(df)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    obj = pd.DataFrame(X, columns=["a", "b", "c"]).astype(object)  # numbers stored as objects
    np.testing.assert_allclose(
        cr.LogisticRegression().fit(obj, y).predict_proba(X),
        cr.LogisticRegression().fit(X, y).predict_proba(X),
        rtol=0,
        atol=1e-12,
    )


@pytest.mark.parametrize("make", [ESTIMATORS["LogisticRegression"], _gbdt], ids=["LR", "GBDT"])
def test_1d_X_error_is_short_and_says_how_to_reshape(data, make):
    X, y = data
    with pytest.raises(cr.InvalidInputError, match="Reshape your data") as info:
        make().fit(np.arange(5000.0), np.arange(5000) % 2)
    assert len(str(info.value)) < 300  # no dump of the 5000 values
    fitted = _fit_quiet(make(), X, y)
    with pytest.raises(cr.InvalidInputError, match=r"1D array of shape \(3,\)"):
        fitted.predict_proba(X[0])


# ------------------------------------------------------------------ groups with None
GROUPS_WITH_MISSING = {
    "None": lambda g: np.array([None if i == 4 else f"p{v}" for i, v in enumerate(g)], dtype=object),
    "NaN": lambda g: np.where(np.arange(len(g)) == 4, np.nan, g.astype(float)),
    "pd.NA": lambda g: pd.array([None if i == 4 else int(v) for i, v in enumerate(g)], dtype="Int64"),
    "Series-None": lambda g: pd.Series([None if i == 4 else f"p{v}" for i, v in enumerate(g)]),
}


def _group_calls(X, y):
    p = 1 / (1 + np.exp(-(2 * X[:, 0] - X[:, 1])))
    return {
        "CalibratedClassifier.fit": lambda groups: cr.CalibratedClassifier(
            cr.LogisticRegression(), cv=3
        ).fit(X, y, groups=groups),
        "bootstrap": lambda groups: cr.metrics.bootstrap(y, p, groups=groups, n_replicates=10),
        "evaluate": lambda groups: cr.evaluate(y, p, groups=groups, n_bootstrap=0),
    }


@pytest.mark.parametrize("kind", sorted(GROUPS_WITH_MISSING))
@pytest.mark.parametrize("call", ["CalibratedClassifier.fit", "bootstrap", "evaluate"])
def test_groups_containing_none_is_a_clear_error(data, call, kind):
    X, y = data
    groups = GROUPS_WITH_MISSING[kind](np.arange(N) // 3)
    with pytest.raises(cr.InvalidInputError, match=r"groups\[4\] is .*every row needs a group id"):
        _group_calls(X, y)[call](groups)


@pytest.mark.parametrize("call", ["CalibratedClassifier.fit", "bootstrap", "evaluate"])
def test_group_ids_of_mixed_types_are_distinct_groups(data, call):
    X, y = data
    ints = np.arange(N) // 3
    mixed = np.array([int(v) if v % 2 else f"s{v}" for v in ints], dtype=object)  # 1, "s2", ...
    _group_calls(X, y)[call](mixed)  # np.unique cannot sort these; no TypeError


def test_string_group_ids_split_like_their_integer_codes(data):
    X, y = data
    ints = np.arange(N) // 4
    names = np.array([f"patient-{v:03d}" for v in ints])  # same sort order as the integers
    a = cr.CalibratedClassifier(cr.LogisticRegression(), cv=3).fit(X, y, groups=ints)
    b = cr.CalibratedClassifier(cr.LogisticRegression(), cv=3).fit(X, y, groups=names)
    np.testing.assert_array_equal(a.split_, b.split_)
    for g in np.unique(ints):  # grouped cross-fitting: a group never spans two folds
        assert np.unique(a.split_[ints == g]).size == 1


# ------------------------------------------------------------------ predict_proba on 0 rows
def _pipeline(X, y):
    lr = cr.LogisticRegression().fit(X, y)
    cal = cr.PlattCalibrator().fit(lr.decision_function(X), y)
    return cr.Pipeline.from_estimators(lr, cal)


@pytest.mark.parametrize("name", sorted(ESTIMATORS) + ["Pipeline", "CalibratedClassifier-prefit"])
def test_predict_proba_on_zero_rows_is_empty_for_every_estimator(data, name):
    X, y = data
    if name == "Pipeline":
        est = _pipeline(X, y)
    elif name == "CalibratedClassifier-prefit":
        inner = SkLogisticRegression().fit(X, y)  # scikit-learn's raises on 0 rows itself
        est = cr.CalibratedClassifier(inner, cv="prefit").fit(X, y)
    else:
        est = _fit_quiet(ESTIMATORS[name](), X, y)
    empty = np.empty((0, X.shape[1]))
    proba = est.predict_proba(empty)
    assert proba.shape == (0, 2) and proba.dtype == np.float64
    assert est.predict(empty).shape == (0,)
    if hasattr(est, "decision_function"):
        assert est.decision_function(empty).shape == (0,)
    if hasattr(est, "predict_interval") and getattr(est, "method", "") == "venn_abers":
        p0, p1 = est.predict_interval(empty)
        assert p0.shape == p1.shape == (0,)
    with pytest.raises(ValueError, match="features"):  # the width is still checked
        est.predict_proba(np.empty((0, X.shape[1] + 1)))


@pytest.mark.parametrize("name", sorted(CALIBRATORS))
def test_calibrator_predict_on_zero_scores_is_empty(data, name):
    X, y = data
    cal = _fit_quiet(CALIBRATORS[name](), 1 / (1 + np.exp(-X[:, 0])), y)
    out = cal.predict(np.empty(0))
    assert out.shape == (0,) and out.dtype == np.float64


# ------------------------------------------------------------------ scalar sample_weight
def _outputs(est, X):
    return est.predict_proba(X) if hasattr(est, "predict_proba") else est.predict(X)


@pytest.mark.parametrize("name", sorted(ESTIMATORS) + sorted(CALIBRATORS))
def test_scalar_sample_weight_is_broadcast_by_every_estimator(data, name):
    X, y = data
    if name in CALIBRATORS:
        make, inputs = CALIBRATORS[name], 1 / (1 + np.exp(-X[:, 0]))
    else:
        make, inputs = ESTIMATORS[name], X
    scalar = _fit_quiet(make(), inputs, y, sample_weight=2.5)
    full = _fit_quiet(make(), inputs, y, sample_weight=np.full(N, 2.5))
    np.testing.assert_array_equal(_outputs(scalar, inputs), _outputs(full, inputs))
    # A 0-d array is a scalar too; text or bool is not a weight.
    zero_d = _fit_quiet(make(), inputs, y, sample_weight=np.array(2.5))
    np.testing.assert_array_equal(_outputs(zero_d, inputs), _outputs(full, inputs))
    for bad in ("2", True, [[1.0]]):
        with pytest.raises(cr.InvalidInputError, match="sample_weight"):
            _fit_quiet(make(), inputs, y, sample_weight=bad)
    with pytest.raises(cr.InvalidInputError, match="sample_weight has 5 values but X has 300 rows"):
        _fit_quiet(make(), inputs, y, sample_weight=np.ones(5))


# ------------------------------------------------------------------ evaluate(threshold=...)
@pytest.mark.parametrize("threshold", [1.5, -0.1, float("nan"), float("inf"), "0.5", True])
def test_evaluate_threshold_outside_unit_interval_or_nan_is_an_error(data, threshold):
    X, y = data
    p = 1 / (1 + np.exp(-X[:, 0]))
    with pytest.raises(cr.InvalidInputError, match="evaluate: threshold"):
        cr.evaluate(y, p, threshold=threshold, n_bootstrap=0)
    with pytest.raises(cr.InvalidInputError, match="evaluate: threshold"):
        cr.evaluate(y, p, operating_point={"threshold": threshold}, n_bootstrap=0)


@pytest.mark.parametrize("threshold", [0.0, 0.3, 1.0, np.float32(0.25)])
def test_evaluate_threshold_in_unit_interval_is_used(data, threshold):
    X, y = data
    p = 1 / (1 + np.exp(-X[:, 0]))
    report = cr.evaluate(y, p, threshold=threshold, n_bootstrap=0)
    op = report["operating_point"]
    assert op["threshold"] == pytest.approx(float(threshold))
    assert op["tp"] + op["fp"] == int(np.sum(p >= float(threshold)))  # the oracle: count flags


def test_plotting_helpers_reject_nan_thresholds(data):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    X, y = data
    p = 1 / (1 + np.exp(-X[:, 0]))
    with pytest.raises(cr.InvalidInputError, match=r"thresholds\[1\] is nan"):
        cr.plot_decision_curve(y, p, [0.1, np.nan, 0.3])


# ------------------------------------------------------------------ CalibratedClassifier cv pairs
def _pairs(X, y, k=3):
    return list(StratifiedKFold(k).split(X, y))


@pytest.mark.parametrize("ensemble", [True, False])
def test_cv_accepts_index_pairs_like_the_equivalent_splitter(data, ensemble):
    X, y = data
    make = lambda cv: cr.CalibratedClassifier(  # noqa: E731
        cr.LogisticRegression(), method="sigmoid", cv=cv, ensemble=ensemble
    )
    oracle = make(StratifiedKFold(3)).fit(X, y)
    for cv in (_pairs(X, y), tuple(_pairs(X, y)), (pair for pair in _pairs(X, y))):
        got = make(cv).fit(X, y)
        np.testing.assert_array_equal(got.predict_proba(X), oracle.predict_proba(X))
        np.testing.assert_array_equal(got.split_, oracle.split_)


def test_cv_generator_is_read_once(data):
    X, y = data
    clf = cr.CalibratedClassifier(cr.LogisticRegression(), cv=(p for p in _pairs(X, y)))
    clf.fit(X, y)
    assert len(clf.calibrated_classifiers_) == 3
    with pytest.raises(cr.InvalidInputError, match="no \\(train, test\\) pairs.*pass a list"):
        clf.fit(X, y)


def test_cv_index_pairs_are_validated(data):
    X, y = data
    (tr, te), rest = _pairs(X, y)[0], _pairs(X, y)[1:]

    def fit(cv, **kw):
        return cr.CalibratedClassifier(cr.LogisticRegression(), cv=cv, **kw).fit(X, y)

    with pytest.raises(cr.InvalidInputError, match=r"fold 0 holds row index 300, outside \[0, 300\)"):
        fit([(tr, np.append(te, N))] + rest)
    with pytest.raises(cr.InvalidInputError, match="fold 0 holds row index -1"):
        fit([(np.append(tr, -1), te)] + rest)
    with pytest.raises(cr.InvalidInputError, match=f"row {te[0]} is in both the train and the test"):
        fit([(np.append(tr, te[0]), te)] + rest)
    one_class = np.flatnonzero(y == 1)[:20]
    with pytest.raises(cr.InvalidInputError, match="calibration part of fold 0 has one class"):
        fit([(np.setdiff1d(np.arange(N), one_class), one_class)])
    with pytest.raises(cr.InvalidInputError, match="fitting part of fold 0 has one class"):
        fit([(one_class, np.setdiff1d(np.arange(N), one_class))])
    with pytest.raises(cr.InvalidInputError, match="not a \\(train_indices, test_indices\\) pair"):
        fit([tr])
    with pytest.raises(cr.InvalidInputError, match="must be a 1-D array of row indices"):
        fit([(tr.astype(float), te)])
    with pytest.raises(cr.InvalidInputError, match="test part of fold 0 is empty"):
        fit([(tr, np.array([], dtype=int))])
    with pytest.raises(cr.InvalidInputError, match="no \\(train, test\\) pairs"):
        fit([])
    with pytest.raises(cr.InvalidInputError, match="ensemble=False.*cover every row exactly once"):
        fit([(tr, te)], ensemble=False)  # two thirds of the rows would get no out-of-fold score
    with pytest.raises(cr.InvalidParamsError, match="iterable of \\(train, test\\)"):
        fit("folds")
    with pytest.raises(cr.InvalidParamsError, match="iterable of \\(train, test\\)"):
        fit(2.5)


def test_cv_boolean_masks_and_rows_in_no_fold(data):
    X, y = data
    (tr, te) = _pairs(X, y)[0]
    mask_tr, mask_te = np.isin(np.arange(N), tr), np.isin(np.arange(N), te)
    a = cr.CalibratedClassifier(cr.LogisticRegression(), cv=[(tr, te)]).fit(X, y)
    b = cr.CalibratedClassifier(cr.LogisticRegression(), cv=[(mask_tr, mask_te)]).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert set(np.unique(a.split_[tr])) == {-1} and set(np.unique(a.split_[te])) == {0}


def test_grouped_splitter_and_time_cross_fitting_unaffected(data):
    X, y = data
    groups = np.arange(N) // 5
    clf = cr.CalibratedClassifier(cr.LogisticRegression(), cv=GroupKFold(3)).fit(X, y, groups=groups)
    for g in np.unique(groups):
        assert np.unique(clf.split_[groups == g]).size == 1
    t = np.arange(N, dtype=float)
    timed = cr.CalibratedClassifier(cr.LogisticRegression(), cv="time").fit(X, y, time=t)
    assert timed.split_[: N - 60].sum() == 0 and timed.split_[N - 60 :].min() == 1


def test_default_calibrated_classifier_passes_check_fit2d_1feature():
    # Before: "class 1 has 3 samples but cv=5 folds need at least one each", which the check
    # does not accept. The message now states the data shape (n_samples=10, n_features=1).
    check_fit2d_1feature("CalibratedClassifier", cr.CalibratedClassifier())
    X = 3 * np.random.RandomState(0).uniform(size=(10, 1))
    y = np.where(X[:, 0].astype(int) == 1, 1, 2)
    with pytest.raises(
        cr.InvalidInputError, match="class 2 has 3 samples but cv=5.*n_samples=10, n_features=1"
    ):
        cr.CalibratedClassifier().fit(X, y)


# ------------------------------------------------------------------ integer parameters
@pytest.mark.parametrize("bad", [2.7, float("nan"), "10", True])
def test_integer_parameters_are_not_silently_truncated(data, bad):
    X, y = data
    p = 1 / (1 + np.exp(-X[:, 0]))
    calls = [
        lambda: cr.metrics.expected_calibration_error(y, p, n_bins=bad),
        lambda: cr.metrics.max_calibration_error(y, p, n_bins=bad),
        lambda: cr.metrics.reliability_curve(y, p, n_bins=bad),
        lambda: cr.metrics.calibration_intercept_slope(y, p, max_iter=bad),
        lambda: cr.metrics.bootstrap(y, p, n_replicates=bad),
        lambda: cr.evaluate(y, p, n_bootstrap=bad),
        lambda: cr.evaluate(y, p, n_bins=bad, n_bootstrap=0),
    ]
    for call in calls:
        with pytest.raises(cr.InvalidParamsError, match="must be an integer"):
            call()
    # An integral float (1e1) and numpy ints are integers.
    assert cr.metrics.expected_calibration_error(y, p, n_bins=1e1) == pytest.approx(
        cr.metrics.expected_calibration_error(y, p, n_bins=np.int64(10)), abs=0
    )
