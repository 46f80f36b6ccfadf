# SPDX-License-Identifier: Apache-2.0
"""Pipeline.explain on the calibrated log-odds scale, against independent oracles: numpy's
logit of the pipeline's risk (sum property), numpy's coef * (x - training mean) for logistic
regression, Platt's a * phi + b by hand, LightGBM's pred_contrib for TreeSHAP (on LightGBM's own
trees loaded into a calibrisk model), numpy's mean |contribution|; and the CLI's
``predict --explain`` output equals these values."""

import csv
import json
import os
import pathlib
import subprocess

import numpy as np
import pytest

import calibrisk as cr
from calibrisk import _core
from calibrisk.exceptions import InvalidInputError

REPO = pathlib.Path(__file__).resolve().parents[2]
CLI = pathlib.Path(os.environ.get("CALIBRISK_CLI", REPO / "build" / "bin" / "calibrisk"))


def logit(p):
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return np.log(p) - np.log1p(-p)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(3)
    n = 1500
    X = np.column_stack([rng.normal(size=n), rng.normal(size=n) * 3 + 10,
                         rng.integers(0, 4, size=n).astype(float), rng.normal(size=n)])
    z = 1.1 * X[:, 0] - 0.3 * (X[:, 1] - 10) + 0.5 * X[:, 2] - 1.0
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-z))).astype(float)
    return X[:800], y[:800], X[800:1200], y[800:1200], X[1200:]


def _pipeline(model, calibration, data):
    X_fit, y_fit, X_cal, y_cal, _ = data
    model.fit(X_fit, y_fit)
    margin = model.decision_function(X_cal)
    proba = model.predict_proba(X_cal)[:, 1]
    cal = {"none": None,
           "platt": cr.PlattCalibrator(),
           "isotonic": cr.IsotonicCalibrator(),
           "beta": cr.BetaCalibrator()}[calibration]
    if cal is not None:
        cal.fit(margin if calibration == "platt" else proba, y_cal)
    names = ["a", "b", "c", "d"]
    return cr.Pipeline.from_estimators(model, cal, 0.3, feature_names=names, X_train=X_fit,
                                       y_train=y_fit), cal


MODELS = {"lr": lambda: cr.LogisticRegression(C=1.0),
          "gbdt": lambda: cr.GradientBoostingClassifier(n_estimators=30, random_state=0)}


@pytest.mark.parametrize("model", sorted(MODELS))
@pytest.mark.parametrize("calibration", ["none", "platt", "isotonic", "beta"])
def test_contributions_add_up_to_the_logit_of_the_risk(model, calibration, data):
    pipe, _ = _pipeline(MODELS[model](), calibration, data)
    X = data[4]
    e = pipe.explain(X)
    assert e.scale == "calibrated log-odds"
    assert e.contributions.shape == X.shape
    np.testing.assert_allclose(e.baseline + e.contributions.sum(axis=1),
                               logit(pipe.predict_risk(X)), rtol=0, atol=1e-9)
    m = pipe.explain(X, scale="margin")
    assert m.scale == "margin log-odds"
    np.testing.assert_allclose(m.baseline + m.contributions.sum(axis=1),
                               pipe.decision_function(X), rtol=0, atol=1e-9)


@pytest.mark.parametrize("model", sorted(MODELS))
def test_platt_is_a_times_the_margin_contributions_plus_b(model, data):
    pipe, platt = _pipeline(MODELS[model](), "platt", data)
    X = data[4]
    m, c = pipe.explain(X, scale="margin"), pipe.explain(X)
    np.testing.assert_array_equal(c.contributions, platt.a_ * m.contributions)
    assert c.baseline == platt.a_ * m.baseline + platt.b_


def test_logistic_regression_is_coef_times_value_minus_training_mean(data):
    lr = cr.LogisticRegression(C=1.0)
    pipe, platt = _pipeline(lr, "platt", data)
    X_fit, X = data[0], data[4]
    mean = X_fit.mean(axis=0)
    phi = lr.coef_.ravel() * (X - mean)
    m = pipe.explain(X, scale="margin")
    np.testing.assert_allclose(m.contributions, phi, rtol=1e-12, atol=1e-12)
    assert m.baseline == pytest.approx(lr.intercept_[0] + lr.coef_.ravel() @ mean, abs=1e-12)
    c = pipe.explain(X)
    np.testing.assert_allclose(c.contributions, platt.a_ * phi, rtol=1e-12, atol=1e-12)


def test_treeshap_matches_lightgbm_pred_contrib_through_the_pipeline(data):
    lgb = pytest.importorskip("lightgbm")
    from test_trees_api import _lightgbm_as_state

    X_fit, y_fit, X_cal, y_cal, X = data
    booster = lgb.LGBMClassifier(n_estimators=20, num_leaves=7, verbose=-1, n_jobs=1).fit(
        X_fit, y_fit).booster_
    gb = cr.GradientBoostingClassifier(n_estimators=1).fit(X_fit, y_fit)
    params = json.loads(gb._model.to_bytes())
    section = {"type": "gradient_boosted_trees", "params": params["params"],
               "state": _lightgbm_as_state(booster, X.shape[1])}
    gb._model = _core.GradientBoostedTrees.from_bytes(json.dumps(section).encode())
    platt = cr.PlattCalibrator().fit(booster.predict(X_cal, raw_score=True), y_cal)
    pipe = cr.Pipeline.from_estimators(gb, platt, 0.3, X_train=X_fit, y_train=y_fit)
    theirs = booster.predict(X, pred_contrib=True)
    m = pipe.explain(X, scale="margin")
    np.testing.assert_allclose(m.contributions, theirs[:, :-1], rtol=0, atol=1e-8)
    np.testing.assert_allclose(m.baseline, theirs[0, -1], rtol=0, atol=1e-8)
    c = pipe.explain(X)
    np.testing.assert_allclose(c.contributions, platt.a_ * theirs[:, :-1], rtol=0, atol=1e-8)
    assert c.baseline == pytest.approx(platt.a_ * theirs[0, -1] + platt.b_, abs=1e-8)


def test_top_k_and_importance_follow_the_matrix(data):
    pipe, _ = _pipeline(MODELS["gbdt"](), "isotonic", data)
    X = data[4]
    e = pipe.explain(X, k=2)
    for row, top in zip(e.contributions, e.top):
        order = sorted(range(4), key=lambda j: (-abs(row[j]), j))[:2]
        assert top == [(e.feature_names[j], row[j]) for j in order]
    np.testing.assert_allclose(e.log_odds, logit(pipe.predict_risk(X)), rtol=0, atol=1e-9)
    np.testing.assert_allclose(pipe.explain_importance(X), np.abs(e.contributions).mean(axis=0),
                               rtol=1e-12, atol=0)
    assert pipe.explain(X, k=0).top == [[] for _ in range(len(X))]


def test_bad_arguments_are_refused(data):
    pipe, _ = _pipeline(MODELS["lr"](), "beta", data)
    with pytest.raises(InvalidInputError, match='explain scale "probability" is not known'):
        pipe.explain(data[4], scale="probability")
    with pytest.raises(InvalidInputError, match="k must be a whole number"):
        pipe.explain(data[4], k=-1)
    with pytest.raises(InvalidInputError, match="pipeline expects 4 features"):
        pipe.explain(data[4][:, :3])


def test_train_result_report_shows_mean_abs_calibrated_contribution():
    df_rng = np.random.default_rng(5)
    import pandas as pd

    n = 1200
    df = pd.DataFrame({"x1": df_rng.normal(size=n), "x2": df_rng.normal(size=n)})
    df["y"] = (df_rng.uniform(size=n) < 1 / (1 + np.exp(-(2 * df.x1 - 1)))).astype(int)
    res = cr.train(df, label="y", model="lr", calibration="isotonic", seed=1)
    report = json.loads(res.evaluate().to_json())
    top = report["top_features"]
    assert top["kind"] == "mean |contribution| (calibrated log-odds)"
    want = np.abs(res.pipeline.explain(res.test.X).contributions).mean(axis=0)
    got = {f["name"]: f["value"] for f in top["features"]}
    assert got == pytest.approx(dict(zip(res.features, want)), rel=1e-12)


def test_cli_predict_explain_equals_python(data, tmp_path):
    if not CLI.exists():
        pytest.skip(f"the calibrisk executable is not at {CLI}")
    pipe, _ = _pipeline(MODELS["gbdt"](), "beta", data)
    model = tmp_path / "m.json"
    pipe.save(model)
    X = data[4][:200]
    rows = tmp_path / "rows.csv"
    with open(rows, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(pipe.feature_names_in_)
        w.writerows([[repr(float(v)) for v in r] for r in X])
    for scale in ("calibrated", "margin"):
        out = tmp_path / f"s-{scale}.csv"
        subprocess.run([str(CLI), "predict", "--model", str(model), "--data", str(rows), "--out",
                        str(out), "--explain", "3", "--explain-scale", scale], check=True,
                       capture_output=True)
        got = list(csv.DictReader(open(out, newline="")))
        e = pipe.explain(X, k=3, scale=scale)
        for r, top, lo in zip(got, e.top, e.log_odds):
            assert r["explain_scale"] == e.scale
            assert float(r["explain_baseline"]) == e.baseline
            assert float(r["explain_log_odds"]) == pytest.approx(lo, abs=1e-12)
            for k, (name, value) in enumerate(top, start=1):
                assert r[f"top{k}_feature"] == name
                assert float(r[f"top{k}_contribution"]) == value


def test_cli_evaluate_report_shows_the_python_mean_abs_contribution(data, tmp_path):
    if not CLI.exists():
        pytest.skip(f"the calibrisk executable is not at {CLI}")
    pipe, _ = _pipeline(MODELS["lr"](), "isotonic", data)
    model = tmp_path / "m.json"
    pipe.save(model)
    X, y = data[2], data[3]
    rows = tmp_path / "labelled.csv"
    with open(rows, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(pipe.feature_names_in_ + ["y"])
        w.writerows([[repr(float(v)) for v in r] + [int(t)] for r, t in zip(X, y)])
    out = tmp_path / "r.json"
    subprocess.run([str(CLI), "evaluate", "--model", str(model), "--data", str(rows), "--label",
                    "y", "--report", str(tmp_path / "r.html"), "--json", str(out)], check=True,
                   capture_output=True)
    top = json.loads(out.read_text())["top_features"]
    assert top["kind"] == "mean |contribution| (calibrated log-odds)"
    want = dict(zip(pipe.feature_names_in_, np.abs(pipe.explain(X).contributions).mean(axis=0)))
    got = {f["name"]: f["value"] for f in top["features"]}
    assert got == pytest.approx({k: want[k] for k in got}, rel=1e-12)
    assert len(got) >= 3
