# SPDX-License-Identifier: Apache-2.0
"""GradientBoostingClassifier: the scikit-learn API, zero-copy inputs, pickling, explanations
(checked against LightGBM's own TreeSHAP on a converted LightGBM model), bad inputs and
scikit-learn's estimator checks."""

import json
import pickle
import threading
import time

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, make_classification
from sklearn.utils.estimator_checks import parametrize_with_checks

import calibrisk as cr
from calibrisk import _core
from calibrisk.exceptions import (
    InvalidInputError,
    InvalidParamsError,
    ModelFormatError,
    NotFittedError,
)

FAST = dict(n_estimators=20, n_threads=1)


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(
        n_samples=3000, n_features=8, n_informative=5, weights=[0.8], random_state=0
    )
    rng = np.random.default_rng(0)
    X[rng.random(X.shape) < 0.05] = np.nan
    return X, y


@pytest.fixture(scope="module")
def fitted(data):
    X, y = data
    return cr.GradientBoostingClassifier(**FAST).fit(X, y)


# ---------------------------------------------------------------- scikit-learn estimator checks
# Checks that cannot pass, each with the reason (a failing check not listed here fails the suite).
# Currently empty: every check passes. (scikit-learn itself skips check_array_api_input unless
# the environment sets SCIPY_ARRAY_API=1; that skip is scikit-learn's, not listed here.)
EXPECTED_FAILED_CHECKS = {}


@parametrize_with_checks(
    [cr.GradientBoostingClassifier(n_estimators=10, n_threads=1)],
    expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS,
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_tags_are_multiclass_and_allow_nan():
    tags = cr.GradientBoostingClassifier().__sklearn_tags__()
    assert tags.classifier_tags.multi_class is True
    assert tags.input_tags.allow_nan is True


# ---------------------------------------------------------------- predictions
def test_predict_proba_decision_function_and_predict_agree(fitted, data):
    X, _ = data
    proba = fitted.predict_proba(X)
    margin = fitted.decision_function(X)
    assert proba.shape == (len(X), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-15)
    np.testing.assert_allclose(proba[:, 1], 1.0 / (1.0 + np.exp(-margin)), rtol=1e-12)
    np.testing.assert_array_equal(fitted.predict(X), fitted.classes_[(proba[:, 1] > 0.5).astype(int)])


def test_fast_predictor_matches_reference_traversal(fitted, data):
    X, _ = data
    np.testing.assert_array_equal(fitted.decision_function(X), _core._reference_margin(fitted._model, X))
    X32 = X.astype(np.float32)
    np.testing.assert_array_equal(
        fitted.decision_function(X32), _core._reference_margin(fitted._model, X32)
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_memory_layouts_give_identical_predictions(fitted, data, dtype):
    X = data[0].astype(dtype)
    ref = fitted.decision_function(np.ascontiguousarray(X))
    np.testing.assert_array_equal(fitted.decision_function(np.asfortranarray(X)), ref)
    wide = np.zeros((X.shape[0], 2 * X.shape[1]), dtype=dtype)
    wide[:, ::2] = X
    np.testing.assert_array_equal(fitted.decision_function(wide[:, ::2]), ref)  # strided view
    np.testing.assert_array_equal(fitted.decision_function(X.tolist()), fitted.decision_function(X.astype(np.float64)))


def test_float_inputs_are_not_copied():
    X = np.asfortranarray(np.random.default_rng(1).random((50, 3)).astype(np.float32))
    addr, kind, _, _ = _core._view_info(X)
    assert addr == X.__array_interface__["data"][0] and kind == "float32"


def test_string_labels_and_classes(data):
    X, y = data
    labels = np.where(y == 1, "sick", "well")
    m = cr.GradientBoostingClassifier(**FAST).fit(X, labels)
    assert list(m.classes_) == ["sick", "well"]
    # classes_[1] ("well") is the positive class: its probability is P(y == 0) of the 0/1 fit.
    m01 = cr.GradientBoostingClassifier(**FAST).fit(X, 1 - y)
    np.testing.assert_array_equal(m.predict_proba(X), m01.predict_proba(X))
    assert set(m.predict(X)) <= {"sick", "well"}


def test_same_model_for_any_thread_count(data):
    X, y = data
    p1 = cr.GradientBoostingClassifier(n_estimators=15, n_threads=1, subsample=0.8,
                                       colsample_bytree=0.7, random_state=3).fit(X, y)
    p2 = cr.GradientBoostingClassifier(n_estimators=15, n_threads=2, subsample=0.8,
                                       colsample_bytree=0.7, random_state=3).fit(X, y)
    np.testing.assert_array_equal(p1.decision_function(X), p2.decision_function(X))


def test_attributes(fitted, data):
    X, _ = data
    assert fitted.n_features_in_ == X.shape[1]
    assert fitted.n_iter_ == 20 and fitted.best_iteration_ == 20
    imp = fitted.feature_importances_
    assert imp.shape == (X.shape[1],) and abs(imp.sum() - 1.0) < 1e-12 and np.all(imp >= 0)
    split = fitted.feature_importance("split")
    assert split.sum() == sum(
        int(np.sum(np.asarray(t["left"]) >= 0)) for t in _trees(fitted)
    )


def test_feature_names_in(data):
    pd = pytest.importorskip("pandas")
    X, y = data
    df = pd.DataFrame(X, columns=[f"lab_{i}" for i in range(X.shape[1])])
    m = cr.GradientBoostingClassifier(**FAST).fit(df, y)
    assert list(m.feature_names_in_) == list(df.columns)
    plain = cr.GradientBoostingClassifier(**FAST).fit(X, y)
    np.testing.assert_array_equal(m.predict_proba(df), plain.predict_proba(X))
    with pytest.warns(UserWarning, match="feature names"):
        m.predict_proba(X)


def test_early_stopping_with_eval_set_keeps_best_iteration():
    X, y = make_classification(n_samples=2000, n_features=10, flip_y=0.3, random_state=1)
    Xt, yt, Xv, yv = X[:1500], y[:1500], X[1500:], y[1500:]
    m = cr.GradientBoostingClassifier(n_estimators=300, learning_rate=0.3, early_stopping=True,
                                      n_iter_no_change=5, n_threads=1).fit(Xt, yt, eval_set=(Xv, yv))
    assert m.n_iter_ < 300
    assert m.best_iteration_ <= m.n_iter_
    assert m.best_iteration_ == int(np.argmin(m.validation_loss_)) + 1
    assert len(_trees(m)) == m.best_iteration_


def _trees(est):
    """The fitted trees (flat arrays) of an estimator, read from its codec bytes."""
    return json.loads(est._model.to_bytes())["state"]["trees"]


# ---------------------------------------------------------------- explanations
def test_contributions_sum_to_margin(fitted, data):
    X, _ = data
    c = fitted.contributions(X)
    assert c.shape == (len(X), X.shape[1] + 1)
    np.testing.assert_allclose(c.sum(axis=1), fitted.decision_function(X), rtol=0, atol=1e-10)
    assert np.all(c[:, -1] == c[0, -1])  # the bias is shared by every row


def _lightgbm_as_state(booster, n_features):
    """Converts a LightGBM model (no missing values in training) into calibrisk's flat arrays,
    with cover = data counts, which is what LightGBM's TreeSHAP weighs paths by."""
    dump = booster.dump_model()
    trees = []
    for info in dump["tree_info"]:
        arrays = {k: [] for k in ("left", "right", "feature", "threshold", "missing_left", "value", "gain", "cover")}

        def add(node):
            i = len(arrays["left"])
            for k in arrays:
                arrays[k].append(0)
            if "leaf_value" in node:
                arrays["left"][i] = arrays["right"][i] = arrays["feature"][i] = -1
                arrays["value"][i] = node["leaf_value"]
                arrays["cover"][i] = node["leaf_count"]
                return i
            assert node["decision_type"] == "<="
            arrays["feature"][i] = node["split_feature"]
            arrays["threshold"][i] = node["threshold"]
            arrays["missing_left"][i] = int(node["default_left"])
            arrays["value"][i] = node["internal_value"]
            arrays["gain"][i] = node["split_gain"]
            arrays["cover"][i] = node["internal_count"]
            arrays["left"][i] = add(node["left_child"])
            arrays["right"][i] = add(node["right_child"])
            return i

        add(info["tree_structure"])
        trees.append(arrays)
    return {"base_score": 0.0, "n_features": n_features, "trees": trees}


def test_prediction_and_treeshap_match_lightgbm_on_its_own_trees():
    lgb = pytest.importorskip("lightgbm")
    X, y = load_breast_cancer(return_X_y=True)
    booster = lgb.LGBMClassifier(n_estimators=30, num_leaves=15, verbose=-1, n_jobs=1).fit(X, y).booster_
    # The trees enter through the codec: a model section with LightGBM's trees as its state.
    params = json.loads(cr.GradientBoostingClassifier(n_estimators=1).fit(X, y)._model.to_bytes())
    section = {"type": "gradient_boosted_trees", "params": params["params"],
               "state": _lightgbm_as_state(booster, X.shape[1])}
    model = _core.GradientBoostedTrees.from_bytes(json.dumps(section).encode())
    np.testing.assert_allclose(model.decision_function(X), booster.predict(X, raw_score=True),
                               rtol=0, atol=1e-9)
    ours = _core.TreeExplainer(model).contributions(X, 1)
    theirs = booster.predict(X, pred_contrib=True)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-8)


# ---------------------------------------------------------------- pickling, GIL
def test_pickle_round_trip_is_bit_identical(fitted, data):
    X, _ = data
    clone = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(clone.predict_proba(X), fitted.predict_proba(X))
    np.testing.assert_array_equal(clone.contributions(X[:50]), fitted.contributions(X[:50]))
    assert clone.n_iter_ == fitted.n_iter_
    np.testing.assert_array_equal(clone.feature_importances_, fitted.feature_importances_)
    unfitted = pickle.loads(pickle.dumps(cr.GradientBoostingClassifier(n_estimators=7)))
    assert unfitted.get_params()["n_estimators"] == 7


def test_damaged_state_is_rejected(fitted):
    section = json.loads(fitted._model.to_bytes())
    section["state"]["trees"][0]["left"][0] = 10_000
    with pytest.raises(ModelFormatError, match="/model/state/trees/0/left/0 is 10000"):
        _core.GradientBoostedTrees.from_bytes(json.dumps(section).encode())
    # A shared subtree passes the range checks and is caught by the tree validation.
    broken = json.loads(fitted._model.to_bytes())
    broken["state"]["trees"][0]["right"][0] = broken["state"]["trees"][0]["left"][0]
    with pytest.raises(ModelFormatError, match="/model/state is invalid: .*trees\\[0\\]"):
        _core.GradientBoostedTrees.from_bytes(json.dumps(broken).encode())


def test_fit_releases_the_gil():
    X, y = make_classification(n_samples=20000, n_features=20, random_state=0)
    ticks = []
    est = cr.GradientBoostingClassifier(n_estimators=30, n_threads=1)
    worker = threading.Thread(target=est.fit, args=(X, y))
    worker.start()
    while worker.is_alive():
        ticks.append(time.perf_counter())
        time.sleep(0.001)
    worker.join()
    assert len(ticks) > 5  # the main thread kept running while C++ trained


# ---------------------------------------------------------------- bad inputs
def test_not_fitted():
    with pytest.raises(NotFittedError, match="not fitted"):
        cr.GradientBoostingClassifier().predict_proba(np.zeros((2, 2)))
    with pytest.raises(NotFittedError):
        cr.GradientBoostingClassifier().contributions(np.zeros((2, 2)))


def test_infinite_features_are_rejected(data):
    X, y = data
    X = X.copy()
    X[3, 2] = np.inf
    with pytest.raises(ValueError, match="(?i)infinity|inf"):
        cr.GradientBoostingClassifier(**FAST).fit(X, y)


def test_wrong_feature_count_at_predict(fitted):
    with pytest.raises(ValueError, match="features"):
        fitted.predict_proba(np.zeros((3, 5)))
    with pytest.raises(ValueError, match="features"):
        fitted.contributions(np.zeros((3, 5)))


def test_label_errors(data):
    X, y = data
    with pytest.raises(InvalidInputError, match="Unknown label type"):
        cr.GradientBoostingClassifier(**FAST).fit(X, y + 0.5 * (np.arange(len(y)) % 3 == 0))
    with pytest.raises(ValueError, match="only one class"):
        cr.GradientBoostingClassifier(**FAST).fit(X, np.zeros(len(y)))
    with pytest.raises(InvalidInputError, match="not one of the training classes"):
        cr.GradientBoostingClassifier(**FAST).fit(X, y, eval_set=(X[:10], np.full(10, 7)))


@pytest.mark.parametrize(
    "params, fragment",
    [
        (dict(n_estimators=0), "n_estimators"),
        (dict(learning_rate=0.0), "learning_rate"),
        (dict(learning_rate="fast"), "learning_rate must be a number"),
        (dict(max_leaf_nodes=1), "max_leaf_nodes"),
        (dict(max_depth=0), "max_depth"),
        (dict(max_bins=1), "max_bins"),
        (dict(bin_subsample=-1), "bin_subsample"),
        (dict(subsample=1.5), "subsample"),
        (dict(colsample_bytree=0.0), "colsample_bytree"),
        (dict(class_weight="heavy"), "class_weight"),
        (dict(class_weight={0: -1.0, 1: 1.0}), "class weights must be finite and > 0"),
        (dict(scale_pos_weight=-2.0), "scale_pos_weight"),
        (dict(monotonic_cst=[1, 0]), "monotonic_cst has shape"),
        (dict(monotonic_cst=[2] * 8), "monotonic_cst values"),
        (dict(early_stopping="sometimes"), "early_stopping"),
        (dict(validation_fraction=1.0), "validation_fraction"),
        (dict(n_iter_no_change=0), "n_iter_no_change"),
        (dict(tol=-1.0), "tol"),
        (dict(random_state=-1), "random_state"),
        (dict(n_threads=-1), "n_threads"),
        (dict(min_samples_leaf=0), "min_samples_leaf"),
        (dict(l2_regularization=-1.0), "l2_regularization"),
    ],
)
def test_bad_params_name_the_field(data, params, fragment):
    X, y = data
    with pytest.raises(InvalidParamsError, match=fragment):
        cr.GradientBoostingClassifier(**{**FAST, **params}).fit(X, y)


def test_bad_sample_weight_and_eval_set(data):
    X, y = data
    w = np.ones(len(y))
    w[4] = -1.0
    with pytest.raises(ValueError, match="(?i)negative|>= 0"):
        cr.GradientBoostingClassifier(**FAST).fit(X, y, sample_weight=w)
    with pytest.raises(InvalidInputError, match="eval_set must be"):
        cr.GradientBoostingClassifier(**FAST).fit(X, y, eval_set=X)
    with pytest.raises(InvalidInputError, match="exactly one"):
        cr.GradientBoostingClassifier(**FAST).fit(X, y, eval_set=[(X, y), (X, y)])
    with pytest.raises(ValueError, match="features"):
        cr.GradientBoostingClassifier(**FAST).fit(X, y, eval_set=(X[:, :3], y))


def test_importance_type_is_checked(fitted):
    with pytest.raises(InvalidInputError, match="importance_type must be 'gain' or 'split'"):
        fitted.feature_importance("cover")


def test_bin_subsample_zero_uses_every_row():
    # Edges from all rows: 0 and a cap above n give the same model; a small sample other edges.
    rng = np.random.default_rng(4)
    X = rng.normal(size=(3000, 4))
    y = (X[:, 0] + 0.5 * rng.normal(size=3000) > 0.8).astype(int)
    common = dict(n_estimators=5, max_bins=64, random_state=0)
    p_all = cr.GradientBoostingClassifier(bin_subsample=0, **common).fit(X, y).decision_function(X)
    p_cap = cr.GradientBoostingClassifier(bin_subsample=10**9, **common).fit(X, y).decision_function(X)
    p_few = cr.GradientBoostingClassifier(bin_subsample=200, **common).fit(X, y).decision_function(X)
    np.testing.assert_array_equal(p_all, p_cap)
    assert not np.array_equal(p_all, p_few)
