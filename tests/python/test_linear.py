# SPDX-License-Identifier: Apache-2.0
"""calibrisk.LogisticRegression: parity with scikit-learn, sklearn conventions, zero-copy, errors."""

import json
import pickle
import subprocess
import sys
import threading
import time
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression as SkLogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import calibrisk
from calibrisk import LogisticRegression, _core

# scikit-learn estimator checks that are still expected to fail, by name, with the reason.
# (The estimator is multiclass and accepts scipy.sparse: scikit-learn runs those checks too.)
EXPECTED_FAILED_CHECKS = {}


def _oracle(X, y, C, class_weight=None, sample_weight=None):
    sk = SkLogisticRegression(solver="newton-cg", tol=1e-10, C=C, class_weight=class_weight,
                              max_iter=1000)
    sk.fit(X, y, sample_weight=sample_weight)
    return sk


def _assert_parity(ours, sk, X):
    scale = np.abs(sk.coef_).max()
    np.testing.assert_allclose(ours.coef_, sk.coef_, rtol=0, atol=1e-6 * scale)
    np.testing.assert_allclose(ours.intercept_, sk.intercept_, rtol=0, atol=1e-6 * scale)
    np.testing.assert_allclose(ours.predict_proba(X), sk.predict_proba(X), rtol=0, atol=1e-6)


@pytest.fixture(scope="module")
def breast_cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def synthetic():
    rng = np.random.default_rng(0)
    n, p = 100_000, 50
    X = rng.normal(size=(n, p)) * rng.uniform(0.5, 2.0, size=p) + rng.normal(size=p)
    beta = rng.normal(size=p) / np.sqrt(p)
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-(X @ beta - 0.7)))).astype(int)
    return X, y


@pytest.mark.parametrize("C", [0.01, 0.1, 1.0, 10.0, 1000.0])
@pytest.mark.parametrize("class_weight", [None, "balanced"])
@pytest.mark.parametrize("weighted", [False, True])
def test_breast_cancer_matches_sklearn_newton_cg(breast_cancer, C, class_weight, weighted):
    X, y = breast_cancer
    w = np.random.default_rng(1).uniform(0.1, 3.0, size=len(y)) if weighted else None
    ours = LogisticRegression(C=C, class_weight=class_weight, tol=1e-10).fit(X, y, sample_weight=w)
    assert ours.converged_
    _assert_parity(ours, _oracle(X, y, C, class_weight, w), X)


@pytest.mark.parametrize(
    "C, class_weight, weighted",
    [(0.1, None, False), (1.0, "balanced", True), (100.0, None, True), (1.0, "balanced", False)],
)
def test_synthetic_100k_x_50_matches_sklearn_newton_cg(synthetic, C, class_weight, weighted):
    X, y = synthetic
    w = np.random.default_rng(2).uniform(0.1, 3.0, size=len(y)) if weighted else None
    ours = LogisticRegression(C=C, class_weight=class_weight, tol=1e-10).fit(X, y, sample_weight=w)
    _assert_parity(ours, _oracle(X, y, C, class_weight, w), X)


def test_unpenalized_matches_sklearn_penalty_none(breast_cancer):
    X, y = breast_cancer
    Xs = X[:, :5]
    ours = LogisticRegression(C=np.inf, tol=1e-10).fit(Xs, y)
    sk = SkLogisticRegression(C=np.inf, solver="newton-cg", tol=1e-10, max_iter=1000).fit(Xs, y)
    _assert_parity(ours, sk, Xs)
    table = ours.summary()
    assert not table.attrs["approximate"]
    assert list(table.index[:2]) == ["(intercept)", "x0"]


def test_standard_errors_match_statsmodels(breast_cancer):
    sm = pytest.importorskip("statsmodels.api")
    X, y = breast_cancer
    Xs = X[:, [0, 1, 4, 8]]
    ours = LogisticRegression(C=np.inf, tol=1e-12).fit(Xs, y)
    res = sm.Logit(y, sm.add_constant(Xs)).fit(disp=0, method="newton", tol=1e-12)
    table = ours.summary(confidence=0.9)
    np.testing.assert_allclose(table["estimate"].to_numpy(), res.params, rtol=1e-7)
    np.testing.assert_allclose(table["std_error"].to_numpy(), res.bse, rtol=1e-6)
    np.testing.assert_allclose(table["p_value"].to_numpy(), res.pvalues, rtol=1e-5, atol=1e-12)
    ci = res.conf_int(alpha=0.1)
    np.testing.assert_allclose(table["ci_lower"].to_numpy(), ci[:, 0], rtol=1e-6)
    np.testing.assert_allclose(table["odds_ratio_upper"].to_numpy(), np.exp(ci[:, 1]), rtol=1e-6)
    assert LogisticRegression(C=1.0).fit(Xs, y).summary().attrs["approximate"]


@pytest.mark.parametrize("missing, add_indicator", [("mean", False), ("mean_with_indicator", True)])
def test_nan_handling_matches_simple_imputer_pipeline(breast_cancer, missing, add_indicator):
    X, y = breast_cancer
    X = X[:, :8].copy()
    rng = np.random.default_rng(3)
    X[rng.uniform(size=X.shape) < 0.1] = np.nan
    X[:, 5] = np.where(np.isnan(X[:, 5]), 0.0, X[:, 5])  # one column without NaN
    ours = LogisticRegression(C=0.5, missing=missing, tol=1e-10).fit(X, y)
    sk = make_pipeline(
        SimpleImputer(strategy="mean", add_indicator=add_indicator),
        SkLogisticRegression(solver="newton-cg", tol=1e-10, C=0.5, max_iter=1000),
    ).fit(X, y)
    np.testing.assert_allclose(ours.coef_, sk[-1].coef_, atol=1e-6 * np.abs(sk[-1].coef_).max())
    np.testing.assert_allclose(ours.predict_proba(X), sk.predict_proba(X), atol=1e-6)
    if add_indicator:
        assert ours.missing_indicator_features_.tolist() == [0, 1, 2, 3, 4, 6, 7]


def test_float32_is_used_in_place_and_agrees_with_float64(breast_cancer):
    X, y = breast_cancer
    X32 = X.astype(np.float32)
    a = LogisticRegression(tol=1e-10).fit(X32, y)
    b = LogisticRegression(tol=1e-10).fit(X32.astype(np.float64), y)
    np.testing.assert_array_equal(a.coef_, b.coef_)  # float -> double is exact: same bits
    np.testing.assert_array_equal(a.predict_proba(X32), b.predict_proba(X32.astype(np.float64)))


# Peak RSS growth (VmHWM, kB) of fit and predict_proba on a large X, measured in a fresh
# interpreter (a child of pytest would otherwise carry the parent's peak). Writing "5" to
# /proc/self/clear_refs resets the peak to the current RSS before each call.
_PEAK_GROWTH = """
import sys
import numpy as np
import calibrisk

def peak():
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmHWM:"))

def reset():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass  # the peak then still includes X's creation, which adds little: columns are filled one by one

dtype, order = sys.argv[1], sys.argv[2]
n, p = 200_000, 50
rng = np.random.default_rng(0)
X = np.empty((n, p), dtype=dtype, order=order)
for j in range(p):
    X[:, j] = rng.standard_normal(n, dtype=np.float32)
y = (X[:, 0].astype(np.float64) + rng.standard_normal(n) > 0).astype(np.float64)
est = calibrisk.LogisticRegression(max_iter=2, n_threads=1)
est.fit(X[:2000], y[:2000])  # first call: code and thread pool set up outside the measurement
growth = []
for call in (lambda: est.fit(X, y), lambda: est.predict_proba(X)):
    reset()
    before = peak()
    call()
    growth.append(peak() - before)
print(X.nbytes // 1024, *growth)
"""


def _peak_growth_kb(dtype, order):
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", _PEAK_GROWTH, dtype, order],
                         capture_output=True, text=True, timeout=300, check=True).stdout
    x_kb, fit_kb, predict_kb = (int(v) for v in out.split())
    return x_kb, fit_kb, predict_kb


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("order", ["C", "F"])
def test_no_copy_of_float_arrays(dtype, order):
    # C- and F-ordered float32/float64 X is viewed in place: neither fit nor predict_proba raises
    # the peak memory by anything near X's size (a copy, even to float32, would add all of it).
    x_kb, fit_kb, predict_kb = _peak_growth_kb(dtype, order)
    assert fit_kb < x_kb / 2, (x_kb, fit_kb)
    assert predict_kb < x_kb / 2, (x_kb, predict_kb)


def test_the_memory_check_sees_a_copy():
    # Control for the test above: float16 is converted once to float64 (4x its size), and the
    # same measurement must see that copy, so a copy of a float32/float64 X would be seen too.
    x_kb, fit_kb, predict_kb = _peak_growth_kb("float16", "F")
    assert fit_kb > 2 * x_kb, (x_kb, fit_kb)
    assert predict_kb > 2 * x_kb, (x_kb, predict_kb)


def test_gil_is_released_during_fit(synthetic):
    X, y = synthetic
    est = LogisticRegression(n_threads=1, tol=1e-10)
    done = threading.Event()
    ticks = 0

    def work():
        est.fit(X, y)
        done.set()

    t = threading.Thread(target=work)
    t.start()
    time.sleep(0.01)
    while not done.is_set():
        ticks += 1
        time.sleep(0)
    t.join()
    assert ticks > 100  # the main thread kept running Python while C++ fitted


def test_thread_count_does_not_change_the_model(synthetic):
    X, y = synthetic
    a = LogisticRegression(n_threads=1).fit(X[:30000], y[:30000])
    b = LogisticRegression(n_threads=3).fit(X[:30000], y[:30000])
    np.testing.assert_array_equal(a.coef_, b.coef_)
    np.testing.assert_array_equal(a.intercept_, b.intercept_)


def test_any_two_labels_and_class_weight_keys(breast_cancer):
    X, y = breast_cancer
    labels = np.where(y == 1, "yes", "no")
    a = LogisticRegression(class_weight={"no": 2.0, "yes": 0.5}).fit(X, labels)
    b = LogisticRegression(class_weight={0: 2.0, 1: 0.5}).fit(X, y)
    assert a.classes_.tolist() == ["no", "yes"]
    np.testing.assert_array_equal(a.coef_, b.coef_)
    assert set(a.predict(X)) <= {"no", "yes"}
    c = LogisticRegression().fit(X, np.where(y == 1, 1, -1))
    assert c.classes_.tolist() == [-1, 1]
    with pytest.raises(calibrisk.InvalidParamsError, match="not one of the classes"):
        LogisticRegression(class_weight={"maybe": 1.0}).fit(X, labels)


def test_pickle_clone_params_and_state(breast_cancer):
    X, y = breast_cancer
    est = LogisticRegression(C=0.3, missing="mean_with_indicator", n_threads=2).fit(X, y)
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.predict_proba(X), est.predict_proba(X))
    assert again.get_params() == est.get_params()
    c = clone(est)
    assert not hasattr(c, "coef_") and c.get_params()["C"] == 0.3
    state = est.get_state()
    m = _core.LogisticRegressionModel.from_bytes(est._model.to_bytes())
    np.testing.assert_array_equal(m.predict_proba(X), est.predict_proba(X)[:, 1])
    section = json.loads(est._model.to_bytes())
    assert section["state"] == state
    bad = dict(section, state=dict(state, coef=state["coef"][:-1]))
    with pytest.raises(calibrisk.ModelFormatError, match="coef has"):
        _core.LogisticRegressionModel.from_bytes(json.dumps(bad).encode())
    bad = dict(section, state={k: v for k, v in state.items() if k != "intercept"})
    with pytest.raises(calibrisk.ModelFormatError, match="/model/state/intercept is missing"):
        _core.LogisticRegressionModel.from_bytes(json.dumps(bad).encode())
    # Unfitted estimators pickle too.
    assert pickle.loads(pickle.dumps(LogisticRegression(C=2.0))).C == 2.0


def test_dataframe_feature_names(breast_cancer):
    pd = pytest.importorskip("pandas")
    X, y = breast_cancer
    names = [f"f{i}" for i in range(X.shape[1])]
    df = pd.DataFrame(X, columns=names)
    est = LogisticRegression().fit(df, y)
    assert est.feature_names_in_.tolist() == names
    assert est.summary().index[1] == "f0"
    assert est.n_features_in_ == X.shape[1]


def test_convergence_warning_and_attributes(breast_cancer):
    X, y = breast_cancer
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        est = LogisticRegression(max_iter=1, tol=1e-14).fit(X, y)
    assert est.n_iter_.tolist() == [1]
    assert not est.converged_
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est = LogisticRegression().fit(X, y)
    assert est.coef_.shape == (1, X.shape[1]) and est.intercept_.shape == (1,)
    np.testing.assert_allclose(est.predict_proba(X).sum(axis=1), 1.0)
    np.testing.assert_array_equal(est.predict(X), (est.decision_function(X) > 0).astype(int))


X3 = np.arange(6, dtype=float).reshape(3, 2)


@pytest.mark.parametrize(
    "X, y, w, error, match",
    [
        (X3, [0, 1], None, calibrisk.InvalidInputError, "inconsistent numbers of samples"),
        (X3, [0, 1, 2], [1, 1, 0], calibrisk.InvalidInputError, "class 2 has zero weight"),
        (X3, [1, 1, 1], None, calibrisk.InvalidInputError, "only one class"),
        (X3, [0.5, 1.5, 2.5], None, calibrisk.InvalidInputError, "Unknown label type"),
        (X3, [0, 1, 1], [1, -1, 1], calibrisk.InvalidInputError, r"sample_weight\[1\] is -1"),
        (X3, [0, 1, 1], [1, np.nan, 1], calibrisk.InvalidInputError, "finite"),
        (X3, [0, 1, 1], [0, 0, 0], calibrisk.InvalidInputError, "all sample weights are zero"),
        (X3, [0, 1, 1], [1, 1], calibrisk.InvalidInputError, "one weight per row"),
        (X3, [0, 1, 1], [1, 0, 0], calibrisk.InvalidInputError, "zero sample weight"),
        (np.array([[0, 1.0], [np.inf, 1], [2, 3]]), [0, 1, 1], None, calibrisk.InvalidInputError,
         r"X\[1, 0\] is \+inf"),
        (np.zeros((0, 2)), [], None, calibrisk.InvalidInputError, "0 rows|0 sample"),
        (np.zeros((3, 0)), [0, 1, 1], None, calibrisk.InvalidInputError, "0 columns|0 feature"),
        (np.zeros(3), [0, 1, 1], None, calibrisk.InvalidInputError, "2D array"),
    ],
)
def test_bad_fit_inputs_raise_named_errors(X, y, w, error, match):
    with pytest.raises(error, match=match):
        LogisticRegression().fit(X, np.asarray(y), sample_weight=w)


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(C=0.0), "C must be > 0"),
        (dict(C=-1.0), "C must be > 0"),
        (dict(max_iter=0), "max_iter must be >= 1"),
        (dict(tol=-1.0), "tol must be finite and >= 0"),
        (dict(n_threads=-1), "n_threads must be >= 0"),
        (dict(missing="median"), "missing must be one of"),
        (dict(class_weight="auto"), "class_weight must be None"),
        (dict(class_weight={0: -1.0, 1: 1.0}), "class weights must be finite and > 0"),
        (dict(fit_intercept="yes"), "fit_intercept must be a bool"),
        (dict(C="big"), "C must be a number"),
    ],
)
def test_bad_params_raise_invalid_params(breast_cancer, params, match):
    X, y = breast_cancer
    with pytest.raises(calibrisk.InvalidParamsError, match=match):
        LogisticRegression(**params).fit(X, y)


def test_predict_errors(breast_cancer):
    X, y = breast_cancer
    with pytest.raises(calibrisk.NotFittedError):
        LogisticRegression().predict_proba(X)
    est = LogisticRegression().fit(X, y)
    with pytest.raises(calibrisk.InvalidInputError, match="features"):
        est.predict_proba(X[:, :5])
    Xi = X.copy()
    Xi[3, 2] = -np.inf
    with pytest.raises(calibrisk.InvalidInputError, match=r"X\[3, 2\] is -inf"):
        est.predict(Xi)
    with pytest.raises(calibrisk.InvalidInputError, match="confidence"):
        est.summary(confidence=1.5)
    assert est.predict_proba(X[:0]).shape == (0, 2)


@parametrize_with_checks([LogisticRegression()], expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
