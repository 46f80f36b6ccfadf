# SPDX-License-Identifier: Apache-2.0
"""``calibrisk train`` / ``predict`` / ``evaluate`` on a multiclass label (issue 13 item 6), end to
end on ``calibrisk generate --dataset claims`` data.

Oracles: scikit-learn's multinomial ``LogisticRegression`` (same objective, the training rows
imputed with their means as calibrisk does) followed by scikit-learn's temperature scaling
(``CalibratedClassifierCV(method="temperature")`` on the frozen model, fitted on the calibration
rows) gives the test probabilities; the review threshold is recomputed by brute force over every
candidate confidence of the calibration rows; routes are recomputed from the probabilities.
"""

import csv
import json
import pathlib

import numpy as np
import pytest

from test_cli import CLI, EXIT_DATA, EXIT_USAGE, provenance, run  # noqa: F401

FEATURES = ["member_age", "billed_amount", "units", "prior_authorization",
            "days_to_submission", "same_service_claims"]
CLASSES = sorted(["paid", "missing_prior_auth", "not_medically_necessary", "coding_error",
                  "timely_filing", "duplicate"])


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def drop_flags(header):
    keep = set(FEATURES) | {"outcome"}
    out = []
    for c in header:
        if c not in keep:
            out += ["--drop", c]
    return out


@pytest.fixture(scope="module")
def claims(tmp_path_factory):
    d = tmp_path_factory.mktemp("claims")
    data = d / "claims.csv"
    run("generate", "--dataset", "claims", "--rows", 3000, "--seed", 5, "--out", data, check=0)
    return data


@pytest.fixture(scope="module")
def trained(claims):
    d = claims.parent
    header = next(csv.reader(open(claims)))
    model = d / "mc.json"
    proc = run("train", "--data", claims, "--label", "outcome", "--model", "lr",
               "--policy", "min-accuracy=0.85", *drop_flags(header), "--out", model, check=0)
    pred = d / "pred.csv"
    run("predict", "--model", model, "--data", claims, "--out", pred, check=0)
    return model, pred, proc


def test_train_detects_the_multiclass_label_and_writes_format_1_8(trained):
    model, _, proc = trained
    doc = json.loads(model.read_text())
    # 1.7: the K-class monitoring reference (and the categorical encoding when the data has one);
    # 1.8: the workflow's logistic regression has penalty_scale = standardized
    assert doc["format_version"] == "1.8" and "reference" in doc
    assert doc["model"]["params"]["penalty_scale"] == "standardized"
    assert doc["classes"] == CLASSES  # sorted unique labels, as scikit-learn's classes_
    assert doc["calibrator"]["type"] == "temperature"  # the multiclass default
    assert doc["review"]["kind"] == "threshold"
    p = provenance(model)
    assert p["task"] == "multiclass" and p["policy"] == "min_accuracy=0.85"
    assert "6 classes" in proc.stdout


def test_probabilities_match_sklearn_multinomial_lr_with_temperature_scaling(claims, trained):
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.frozen import FrozenEstimator
    from sklearn.linear_model import LogisticRegression

    model, pred, _ = trained
    rows = read_csv(claims)
    X = np.array([[float(r[f]) if r[f] not in ("", "NA") else np.nan for f in FEATURES]
                  for r in rows])
    y = np.array([r["outcome"] for r in rows])
    p = provenance(model)
    n_train = int(p["split.train.rows"])
    n_cal = int(p["split.calibration.rows"])
    # No group or time column: the parts are consecutive blocks of the file.
    tr, ca, te = slice(0, n_train), slice(n_train, n_train + n_cal), slice(n_train + n_cal, None)
    mean = np.nanmean(X[tr], axis=0)  # calibrisk's missing = mean, learned on the training rows
    Xi = np.where(np.isnan(X), mean, X)
    # The same objective: the workflow's LR penalises standardized coefficients
    # (penalty_scale = standardized), i.e. scikit-learn on StandardScaler output of the training
    # rows, solved by exact Newton steps.
    from sklearn.preprocessing import StandardScaler

    sc = StandardScaler().fit(Xi[tr])
    Xi = sc.transform(Xi)
    lr = LogisticRegression(C=1.0, solver="newton-cholesky", tol=1e-12, max_iter=1000)
    lr.fit(Xi[tr], y[tr])
    assert list(lr.classes_) == CLASSES
    cal = CalibratedClassifierCV(FrozenEstimator(lr), method="temperature")
    cal.fit(Xi[ca], y[ca])
    want = cal.predict_proba(Xi[te])
    got_rows = read_csv(pred)
    got = np.array([[float(r["p_" + c]) for c in CLASSES] for r in got_rows])[te]
    np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(got, want, atol=1e-7)  # measured 7.6e-10
    labels = np.array([r["label"] for r in got_rows])[te]
    assert (labels == np.array(CLASSES)[got.argmax(axis=1)]).all()


def test_review_threshold_and_routes_follow_the_policy(claims, trained):
    model, pred, _ = trained
    doc = json.loads(model.read_text())
    t = doc["review"]["thresholds"][0]
    p = provenance(model)
    n_train, n_cal = int(p["split.train.rows"]), int(p["split.calibration.rows"])
    got_rows = read_csv(pred)
    P = np.array([[float(r["p_" + c]) for c in CLASSES] for r in got_rows])
    y = np.array([CLASSES.index(r["outcome"]) for r in read_csv(claims)])
    # Routes: auto exactly where the confidence reaches the stored threshold.
    route = np.array([r["route"] for r in got_rows])
    assert (route == np.where(P.max(axis=1) >= t, "auto", "review")).all()
    # Brute force on the calibration rows: the lowest threshold (smallest review rate) whose
    # auto-routed accuracy is at least 0.85.
    Pc, yc = P[n_train:n_train + n_cal], y[n_train:n_train + n_cal]
    conf, right = Pc.max(axis=1), Pc.argmax(axis=1) == yc
    best = None
    for c in np.unique(conf):
        auto = conf >= c
        if right[auto].mean() >= 0.85 and (best is None or c < best):
            best = c
    assert best is not None and t == best


def test_explain_names_the_top_features_of_the_predicted_class(claims, trained, tmp_path):
    model, _, _ = trained
    out = tmp_path / "explain.csv"
    run("predict", "--model", model, "--data", claims, "--out", out, "--explain", 2, check=0)
    rows = read_csv(out)[:50]
    doc = json.loads(model.read_text())
    st = doc["model"]["state"]
    B = np.array(st["class_coef"]).reshape(len(CLASSES), len(FEATURES))
    b = np.array(st["class_intercept"])
    m = np.array(st["impute_values"])
    for r in rows:
        k = CLASSES.index(r["label"])
        assert r["explain_scale"] == "class_logit"
        # baseline = b_k + B_k . m, the predicted class's logit at the training means.
        assert float(r["explain_baseline"]) == pytest.approx(b[k] + B[k] @ m, rel=1e-12, abs=1e-12)
        assert r["top1_feature"] in FEATURES and r["top2_feature"] in FEATURES
        assert abs(float(r["top1_contribution"])) >= abs(float(r["top2_contribution"]))


def test_bad_multiclass_inputs_get_clear_errors(claims, trained, tmp_path):
    model, _, _ = trained
    header = next(csv.reader(open(claims)))
    # A binary policy on a multiclass label.
    proc = run("train", "--data", claims, "--label", "outcome", "--model", "lr",
               "--policy", "min-recall=0.8", *drop_flags(header), "--out", tmp_path / "m.json")
    assert proc.returncode == EXIT_USAGE and "review-queue" in proc.stderr
    assert not (tmp_path / "m.json").exists()
    # A binary calibrator.
    proc = run("train", "--data", claims, "--label", "outcome", "--model", "lr",
               "--calibration", "beta", *drop_flags(header), "--out", tmp_path / "m.json")
    assert proc.returncode == EXIT_USAGE and "temperature" in proc.stderr
    # Monotone constraints are refused by the softmax trees.
    proc = run("train", "--data", claims, "--label", "outcome", "--model", "gbdt", "--param",
               "monotonic_cst=1", *drop_flags(header), "--out", tmp_path / "m.json")
    assert proc.returncode != 0 and "monoton" in proc.stderr
    assert not (tmp_path / "m.json").exists()
    # One class only.
    one = tmp_path / "one.csv"
    rows = read_csv(claims)[:200]
    with open(one, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=header)
        w.writeheader()
        for r in rows:
            r["outcome"] = "paid"
            w.writerow(r)
    proc = run("train", "--data", one, "--label", "outcome", "--model", "lr", "--task",
               "multiclass", *drop_flags(header), "--out", tmp_path / "m.json")
    assert proc.returncode == EXIT_DATA and "1 class" in proc.stderr
    # A class seen only at scoring (evaluate's label column).
    odd = tmp_path / "odd.csv"
    with open(odd, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=header)
        w.writeheader()
        for i, r in enumerate(read_csv(claims)[:100]):
            if i == 7:
                r["outcome"] = "appeal_won"
            w.writerow(r)
    proc = run("evaluate", "--model", model, "--data", odd, "--label", "outcome", "--report",
               tmp_path / "r.html")
    assert proc.returncode == EXIT_DATA and "appeal_won" in proc.stderr and "row 8" in proc.stderr
    # An infeasible accuracy floor: the best achievable is reported, the model still written.
    proc = run("train", "--data", claims, "--label", "outcome", "--model", "lr",
               "--policy", "min-accuracy=0.99,confidence=0.95", *drop_flags(header), "--out", tmp_path / "m2.json")
    assert proc.returncode == 0 and "not met" in proc.stderr
    doc = json.loads((tmp_path / "m2.json").read_text())
    assert doc["threshold"]["figures"]["feasible"] == 0


def test_python_train_writes_the_cli_bytes(claims, trained):
    """calibrisk.train and `calibrisk train` run the same library function: same file, byte for
    byte, from the same data and settings."""
    import calibrisk as cr

    model, _, _ = trained
    header = next(csv.reader(open(claims)))
    drop = [c for c in header if c not in set(FEATURES) | {"outcome"}]
    r = cr.train(str(claims), label="outcome", model="lr", drop=drop, min_accuracy=0.85)
    assert r.n_classes == 6 and r.classes == CLASSES
    assert r.pipeline.to_string() == model.read_text()
    assert r.test.P.shape == (len(r.test.rows), 6)
    # The test part's report: its figures are scikit-learn's on the same probabilities.
    from sklearn.metrics import accuracy_score, log_loss

    report = r.evaluate(n_bootstrap=0)
    y = np.asarray(r.test.y, dtype=int)
    assert report["summary"]["rows"] == len(y)
    assert report["summary"]["class_names"] == CLASSES
    assert report["summary"]["log_loss"]["value"] == pytest.approx(
        log_loss(y, r.test.P, labels=range(6)), rel=1e-12)
    assert report["summary"]["accuracy"]["value"] == pytest.approx(
        accuracy_score(y, r.test.P.argmax(axis=1)), rel=1e-12)
    # The review threshold of the calibration part, re-measured on the test part.
    t = r.pipeline.review_policy["thresholds"][0]
    routed = r.test.P.max(axis=1) >= t
    assert report["review"]["thresholds"] == [t]
    assert report["review"]["n_auto"] == int(routed.sum())


def test_train_and_evaluate_write_the_multiclass_report(claims, trained, tmp_path):
    """`train --report/--json` on a multiclass label writes the K-class report of the test part,
    and `evaluate --report --json` that of the given rows; figures against scikit-learn on the
    probabilities `predict` writes."""
    from sklearn.metrics import confusion_matrix, log_loss

    model, pred, _ = trained
    header = next(csv.reader(open(claims)))
    html, js = tmp_path / "train.html", tmp_path / "train.json"
    run("train", "--data", claims, "--label", "outcome", "--model", "lr", "--policy",
        "min-accuracy=0.85", *drop_flags(header), "--out", tmp_path / "m.json", "--report", html,
        "--json", js, check=0)
    doc = json.loads(js.read_text())
    assert doc["format"] == "calibrisk-multiclass-report" and doc["summary"]["n_classes"] == 6
    assert doc["calibration"]["before"] is not None  # the uncalibrated softmax is compared
    assert "<svg" in html.read_text() and "Confusion" in html.read_text()
    assert (tmp_path / "m.json").read_bytes() == model.read_bytes()
    # evaluate on the whole file: every figure from the probabilities predict wrote.
    html2, js2 = tmp_path / "ev.html", tmp_path / "ev.json"
    run("evaluate", "--model", model, "--data", claims, "--label", "outcome", "--report", html2,
        "--json", js2, check=0)
    ev = json.loads(js2.read_text())
    rows = read_csv(pred)
    P = np.array([[float(r["p_" + c]) for c in CLASSES] for r in rows])
    y = np.array([CLASSES.index(r["outcome"]) for r in read_csv(claims)])
    assert ev["summary"]["rows"] == len(y)
    assert ev["summary"]["log_loss"]["value"] == pytest.approx(log_loss(y, P), rel=1e-9)
    cm = confusion_matrix(y, P.argmax(axis=1), labels=range(6))
    assert np.array_equal(np.array(ev["confusion_matrix"]["counts"]), cm)
    assert ev["review"]["n_auto"] == sum(r["route"] == "auto" for r in rows)


def test_softmax_trees_train_predict_and_explain(claims, tmp_path):
    """`train --model gbdt` on a multiclass label: a K-class tree pipeline whose predictions are
    a probability per class (rows summing to 1, label = argmax, route from the saved threshold)
    and whose explanations name the predicted class's features."""
    header = next(csv.reader(open(claims)))
    model = tmp_path / "trees.json"
    run("train", "--data", claims, "--label", "outcome", "--model", "gbdt", "--policy",
        "min-accuracy=0.85", *drop_flags(header), "--out", model, check=0)
    doc = json.loads(model.read_text())
    assert doc["format_version"] == "1.7" and doc["classes"] == CLASSES
    pred = tmp_path / "pred.csv"
    run("predict", "--model", model, "--data", claims, "--out", pred, "--explain", 2, check=0)
    rows = read_csv(pred)
    P = np.array([[float(r["p_" + c]) for c in CLASSES] for r in rows])
    np.testing.assert_allclose(P.sum(axis=1), 1.0, atol=1e-12)
    assert [r["label"] for r in rows] == [CLASSES[k] for k in P.argmax(axis=1)]
    t = doc["review"]["thresholds"][0]
    assert [r["route"] for r in rows] == ["auto" if p >= t else "review" for p in P.max(axis=1)]
    assert all(r["top1_feature"] in FEATURES for r in rows)


def test_conformal_policy_routes_one_label_sets_and_monitor_recounts(claims, tmp_path):
    """`--policy conformal=0.9`: the saved LAC quantile q decides the route of every row `predict`
    writes (auto exactly when {k : 1 - P_k <= q} holds one class, recomputed here from the written
    probabilities); the report shows the conformal policy and its set coverage; `monitor` of the
    K-class model with the class labels recounts the review rate and the auto-routed accuracy."""
    header = next(csv.reader(open(claims)))
    model, js = tmp_path / "conformal.json", tmp_path / "report.json"
    proc = run("train", "--data", claims, "--label", "outcome", "--model", "lr", "--policy",
               "conformal=0.9", *drop_flags(header), "--out", model, "--json", js, check=0)
    assert "conformal" in proc.stdout and "set coverage" in proc.stdout
    doc = json.loads(model.read_text())
    assert doc["format_version"] == "1.8"  # the workflow LR's penalty_scale (1.7: the review)
    assert doc["review"]["kind"] == "conformal" and doc["review"]["method"] == "lac"
    assert doc["review"]["alpha"] == pytest.approx(0.1)
    q = float(doc["review"]["quantile"])
    rep = json.loads(js.read_text())
    assert rep["review"]["kind"] == "conformal"
    assert rep["review"]["conformal_alpha"] == pytest.approx(0.1)
    pred = tmp_path / "pred.csv"
    run("predict", "--model", model, "--data", claims, "--out", pred, check=0)
    rows = read_csv(pred)
    P = np.array([[float(r["p_" + c]) for c in CLASSES] for r in rows])
    sizes = ((1.0 - P) <= q).sum(axis=1)
    assert [r["route"] for r in rows] == ["auto" if s == 1 else "review" for s in sizes]
    y = np.array([CLASSES.index(r["outcome"]) for r in read_csv(claims)])
    mon = tmp_path / "monitor.json"
    run("monitor", "--model", model, "--data", claims, "--label", "outcome", "--json", mon)
    m = json.loads(mon.read_text())
    assert m["n_classes"] == 6
    auto = sizes == 1
    assert m["review_rate"]["observed"] == pytest.approx(1.0 - auto.mean(), rel=1e-12)
    acc = (P.argmax(axis=1) == y)[auto].mean()
    assert m["labels"]["auto_accuracy"]["observed"] == pytest.approx(acc, rel=1e-12)


def test_bad_conformal_policies_are_usage_errors(claims, tmp_path):
    header = next(csv.reader(open(claims)))
    for policy in ("conformal=1.2", "conformal=0.9,method=raps", "conformal=0.9,min-accuracy=0.9"):
        proc = run("train", "--data", claims, "--label", "outcome", "--policy", policy,
                   *drop_flags(header), "--out", tmp_path / "m.json")
        assert proc.returncode == EXIT_USAGE, proc.stderr
        assert "--policy" in proc.stderr
