# SPDX-License-Identifier: Apache-2.0
"""One codec for all saved state: every estimator pickles as the codec bytes of its section of a
pipeline file (calibrisk::encode_* in C++), Pipeline.from_estimators and to_pipeline assemble
from those bytes, and damaged or outdated bytes give ModelFormatError naming the JSON path."""

import importlib.util
import json
import pathlib
import pickle

import numpy as np
import pytest

import calibrisk as cr
from calibrisk import _core
from calibrisk.exceptions import ModelFormatError

from _json_compare import assert_same_up_to_float_rounding

GOLDEN = pathlib.Path(__file__).resolve().parents[1] / "golden" / "v0.1.0"


def _bits(a):
    return np.ascontiguousarray(a, dtype=np.float64).view(np.uint64)


def _same_bits(a, b):
    return np.array_equal(_bits(a), _bits(b))


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(3)
    n, p = 1200, 5
    X = rng.normal(size=(n, p))
    X[rng.random(n) < 0.1, 1] = np.nan
    z = 0.8 * X[:, 0] - 0.6 * np.nan_to_num(X[:, 1]) + 0.3 * X[:, 2] - 0.4
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    return X, y


@pytest.fixture(scope="module")
def fitted(data):
    X, y = data
    lr = cr.LogisticRegression(C=0.3, missing="mean_with_indicator", n_threads=1)
    lr.fit(X[:800], y[:800])
    gb = cr.GradientBoostingClassifier(n_estimators=12, max_leaf_nodes=6, random_state=5,
                                       n_threads=1).fit(X[:800], y[:800])
    p = lr.predict_proba(X[800:])[:, 1]
    m = lr.decision_function(X[800:])
    cals = {
        "platt_margin": cr.PlattCalibrator().fit(m, y[800:]),
        "platt_probability": cr.PlattCalibrator(input="probability").fit(p, y[800:]),
        "isotonic": cr.IsotonicCalibrator().fit(p, y[800:]),
        "beta": cr.BetaCalibrator().fit(p, y[800:]),
        "venn_abers": cr.VennAbersCalibrator().fit(p, y[800:]),
    }
    return lr, gb, cals


def _round_trip(obj):
    return pickle.loads(pickle.dumps(obj))


# ---------------------------------------------------------------- pickling through the codec
def test_models_pickle_bit_identically_through_their_codec_bytes(data, fitted):
    X, _ = data
    for est in fitted[:2]:
        back = _round_trip(est)
        assert _same_bits(back.predict_proba(X), est.predict_proba(X))
        assert _same_bits(back.decision_function(X), est.decision_function(X))
        assert back.get_params() == est.get_params()
        # Same pickling shape for both models: the C++ part's state is its codec bytes.
        assert est._model.__getstate__() == (est._model.to_bytes(),)
        assert back._model.to_bytes() == est._model.to_bytes()


def test_calibrators_pickle_bit_identically_through_their_codec_bytes(data, fitted):
    X, _ = data
    scores = np.linspace(-3, 3, 101)
    probs = np.linspace(0, 1, 101)
    for name, cal in fitted[2].items():
        s = scores if name == "platt_margin" else probs
        back = _round_trip(cal)
        assert _same_bits(back.predict(s), cal.predict(s)), name
        assert cal._cal.__getstate__() == (cal._cal.to_bytes(),), name
        assert back.get_params() == cal.get_params()
    va = fitted[2]["venn_abers"]
    for a, b in zip(_round_trip(va).predict_interval(probs), va.predict_interval(probs)):
        assert _same_bits(a, b)
    iso = fitted[2]["isotonic"]
    assert _same_bits(_round_trip(iso).X_thresholds_, iso.X_thresholds_)


def test_calibrated_classifier_and_pipeline_pickle_bit_identically(data):
    X, y = data
    for method in ("sigmoid", "isotonic", "beta", "venn_abers"):
        clf = cr.CalibratedClassifier(cr.LogisticRegression(n_threads=1), method=method,
                                      cv=3).fit(X, y)
        assert _same_bits(_round_trip(clf).predict_proba(X), clf.predict_proba(X)), method
    clf = cr.CalibratedClassifier(cr.GradientBoostingClassifier(n_estimators=5, n_threads=1),
                                  method="isotonic", cv=3, ensemble=False).fit(X, y)
    pipe = clf.to_pipeline()
    back = _round_trip(pipe)
    assert _same_bits(back.predict_risk(X), pipe.predict_risk(X))
    assert back.to_string() == pipe.to_string()


def test_the_thread_count_is_not_saved_but_restored_from_the_estimator(data):
    X, y = data
    for est in (cr.LogisticRegression(n_threads=2), cr.GradientBoostingClassifier(n_estimators=3,
                                                                                  n_threads=2)):
        est.fit(X, y)
        assert est._model.n_threads == 2
        assert "n_threads" not in json.loads(est._model.to_bytes())["params"]
        core = type(est._model)  # rebuilt from bytes alone: all threads
        assert core.from_bytes(est._model.to_bytes()).n_threads == 0
        back = _round_trip(est)
        assert back._model.n_threads == 2
        assert _same_bits(back.predict_proba(X), est.predict_proba(X))


def test_unfitted_estimators_still_pickle():
    assert _round_trip(cr.LogisticRegression(C=2.0)).C == 2.0
    assert _round_trip(cr.GradientBoostingClassifier(n_estimators=7)).n_estimators == 7
    assert _round_trip(cr.IsotonicCalibrator(y_max=0.9)).y_max == 0.9


# ---------------------------------------------------------------- the codec bytes are the file's
def test_codec_bytes_are_the_sections_of_a_saved_pipeline(data, fitted):
    X, y = data
    lr, gb, cals = fitted
    op = {"threshold": 0.3, "policy": "fixed"}
    for model, cal, name in ((lr, cals["platt_margin"], "platt"), (gb, cals["isotonic"], "isotonic"),
                             (lr, cals["beta"], "beta")):
        pipe = cr.Pipeline.from_estimators(model, cal, op, X_train=X[:800], y_train=y[:800])
        doc = json.loads(pipe.to_string())
        assert json.loads(model._model.to_bytes()) == doc["model"]
        assert json.loads(cal._cal.to_bytes()) == doc["calibrator"], name
        assert doc["calibrator"]["type"] == name


def test_to_pipeline_goes_through_the_codec(data):
    X, y = data
    clf = cr.CalibratedClassifier(cr.LogisticRegression(n_threads=1), method="sigmoid", cv=3,
                                  ensemble=False).fit(X, y)
    member = clf.calibrated_classifiers_[0]
    doc = json.loads(clf.to_pipeline().to_string())
    assert doc["model"] == json.loads(member.estimator._model.to_bytes())
    cal = json.loads(member.calibrator._cal.to_bytes())
    assert doc["calibrator"]["state"] == cal["state"]
    assert doc["calibrator"]["params"] == cal["params"]


def test_from_estimators_writes_the_golden_files_again(tmp_path):
    # The recipe of the Python-assembled golden files, run with this build. Format 1.0 (the
    # golden release) wrote n_threads and its own version strings; everything else, and the scores,
    # must be identical.
    spec = importlib.util.spec_from_file_location("make_golden", GOLDEN.parent / "make_golden.py")
    make_golden = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_golden)
    make_golden.python_files(tmp_path)
    for name in ("py_lr_nocal_noop", "py_gbdt_isotonic_noop"):
        ours = json.loads((tmp_path / f"{name}.json").read_text())
        gold = json.loads((GOLDEN / f"{name}.json").read_text())
        gold["model"]["params"].pop("n_threads", None)
        gold["calibrator"].get("params", {}).pop("n_threads", None)
        # Estimator parameters added since (e.g. max_model_nodes) appear in the provenance only.
        params = ours["provenance"]["parameters"]
        for key in set(params) - set(gold["provenance"]["parameters"]):
            assert key.startswith("model."), key
            del params[key]
        for doc in (ours, gold):
            for key in ("checksum", "format_version"):
                doc.pop(key)
            doc.pop("reference", None)  # the monitoring reference, written from format 1.3
            for key in ("format_version", "library_version"):
                doc["provenance"].pop(key)
            for f in doc["schema"]["features"]:
                f.pop("unseen_as_missing", None)  # written from format 1.1
        if name.startswith("py_gbdt"):
            # Fixed-point gradient sums (issue 14): the same trees, floats to 1e-6, same scores.
            assert_same_up_to_float_rounding(ours, gold, name)
        else:
            assert ours == gold, name
        assert (tmp_path / f"{name}.scores.csv").read_bytes() == \
            (GOLDEN / f"{name}.scores.csv").read_bytes()



# ---------------------------------------------------------------- damaged or outdated bytes
def _damage(blob, old, new):
    assert len(old) == len(new) and blob.count(old) == 1, old  # pickle frames keep their length
    return blob.replace(old, new)


def test_a_damaged_pickle_names_the_json_path(fitted):
    lr, gb, cals = fitted
    blob = _damage(pickle.dumps(lr), b'"penalized":true', b'"penalized":1234')
    with pytest.raises(ModelFormatError, match="/model/state/penalized is an integer"):
        pickle.loads(blob)
    blob = _damage(pickle.dumps(gb), b'"early_stopping":false', b'"early_stopping":0.125')
    with pytest.raises(ModelFormatError, match="/model/params/early_stopping is a number"):
        pickle.loads(blob)
    blob = _damage(pickle.dumps(cals["beta"]), b'"type":"beta"', b'"type":"zeta"')
    with pytest.raises(ModelFormatError, match='/calibrator/type is "zeta"'):
        pickle.loads(blob)


def test_damaged_codec_bytes_name_the_json_path(fitted):
    lr, gb, cals = fitted
    section = json.loads(lr._model.to_bytes())
    section["state"]["coef"] = section["state"]["coef"][:-1]
    with pytest.raises(ModelFormatError, match="/model/state/coef has"):
        _core.LogisticRegressionModel.from_bytes(json.dumps(section).encode())
    with pytest.raises(ModelFormatError, match="invalid JSON at byte"):
        _core.GradientBoostedTrees.from_bytes(gb._model.to_bytes()[:-5])
    with pytest.raises(ModelFormatError, match="max_json_depth"):
        _core._IsotonicCalibrator.from_bytes(b"[" * 100000)
    # Bytes of another kind of part are refused, not misread.
    with pytest.raises(ModelFormatError, match='/model/type is not "gradient_boosted_trees"'):
        _core.GradientBoostedTrees.from_bytes(lr._model.to_bytes())
    with pytest.raises(ModelFormatError, match='/calibrator/type is not "platt"'):
        _core._PlattCalibrator.from_bytes(cals["isotonic"]._cal.to_bytes())
    section = json.loads(cals["venn_abers"]._cal.to_bytes())
    section["state"]["x"] = section["state"]["x"][::-1]
    with pytest.raises(ModelFormatError, match="/calibrator/state is invalid"):
        _core._VennAbersCalibrator.from_bytes(json.dumps(section).encode())


def test_pickles_of_the_previous_release_fail_clearly(fitted):
    lr, gb, cals = fitted
    # The 0.1 pickle states: LR (parameter tuple, state dict), trees and calibrators as dicts.
    old_lr = ((1.0, True, 100, 1e-6, "none", 1.0, 1.0, "mean", True, 0), {"coef": [0.5]})
    m = _core.LogisticRegressionModel.__new__(_core.LogisticRegressionModel)
    with pytest.raises(ModelFormatError, match="earlier calibrisk release"):
        m.__setstate__(old_lr)
    old_gb = dict(gb.__getstate__(), _model_state={"base_score": 0.0, "trees": []})
    old_gb.pop("_model")
    with pytest.raises(ModelFormatError, match="earlier calibrisk release"):
        cr.GradientBoostingClassifier.__new__(cr.GradientBoostingClassifier).__setstate__(old_gb)
    old_cal = {"_cal_state": (1.0, 0.0, "margin", 1e-12)}
    with pytest.raises(ModelFormatError, match="earlier calibrisk release"):
        cr.PlattCalibrator.__new__(cr.PlattCalibrator).__setstate__(old_cal)


def test_unfitted_parts_have_no_bytes():
    with pytest.raises(cr.NotFittedError):
        _core.GradientBoostedTrees(_core.GBDTParams()).to_bytes()
    with pytest.raises(cr.NotFittedError):
        _core._BetaCalibrator().to_bytes()
