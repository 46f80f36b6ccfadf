# SPDX-License-Identifier: Apache-2.0
"""Rolling-origin validation on a multiclass label (issue 13 item 6): ``calibrisk validate`` and
``calibrisk.validate`` on ``calibrisk generate --dataset claims`` data.

Oracles, per test period, from the per-period predictions (``return_predictions=True``) and the
labels of the CSV: scikit-learn's ``log_loss``, ``brier_score_loss`` (multiclass, >= 1.7) and
``accuracy_score``; the top-label ECE by a numpy loop (10 uniform bins, numpy's searchsorted rule);
the review queue recounted from the saved threshold (auto-routed when max_k P >= threshold); the
fold structure from the dates and members of the CSV (test rows = the quarter's rows of members not
seen before it). The command line's JSON gives the same numbers as Python.
"""

import csv
import html.parser
import json

import numpy as np
import pytest

import calibrisk as cr
from test_cli import EXIT_USAGE, run

pd = pytest.importorskip("pandas")
metrics = pytest.importorskip("sklearn.metrics")

FEATURES = ["member_age", "billed_amount", "units", "prior_authorization",
            "days_to_submission", "same_service_claims", "payer"]
KEEP = set(FEATURES) | {"outcome", "service_date", "member_id"}
HOSTILE = '<script>alert("x")</script>, "deny"'


@pytest.fixture(scope="module")
def claims(tmp_path_factory):
    d = tmp_path_factory.mktemp("claims_validate")
    run("generate", "--dataset", "claims", "--rows", 4000, "--seed", 8, "--out", d / "c.csv",
        check=0)
    header = next(csv.reader(open(d / "c.csv")))
    return d / "c.csv", [c for c in header if c not in KEEP]


def _flags(drop, *extra):
    out = ["--label", "outcome", "--time-column", "service_date", "--group-column", "member_id",
           "--categorical", "payer", "--model", "lr", "--period", "quarter"]
    for c in drop:
        out += ["--drop", c]
    return out + list(extra)


def _kw(drop):
    return dict(label="outcome", time_column="service_date", group_column="member_id",
                categorical=["payer"], drop=drop, model="lr", period="quarter")


def _top_label_ece(y, P):
    conf, pred = P.max(axis=1), P.argmax(axis=1)
    bins = np.searchsorted(np.linspace(0.0, 1.0, 11)[1:-1], conf, side="left")
    ece = 0.0
    for b in range(10):
        m = bins == b
        ece += abs((pred[m] == y[m]).sum() - conf[m].sum())
    return ece / len(y)


def test_k_class_figures_per_period_equal_sklearn_on_the_predictions(claims, tmp_path):
    data, drop = claims
    js = tmp_path / "v.json"
    proc = run("validate", "--data", data, *_flags(drop, "--policy", "min-accuracy=0.85"),
               "--json", js, check=0)
    doc = json.loads(js.read_text())
    table, preds = cr.validate(str(data), **_kw(drop), min_accuracy=0.85,
                               return_predictions=True)
    classes = doc["classes"]
    assert table.attrs["classes"] == classes and len(classes) == 6
    assert doc["task"] == "multiclass" and doc["review_policy"] == "min_accuracy=0.85"
    assert "6 classes" in proc.stdout and "logloss" in proc.stdout
    frame = pd.read_csv(data)
    y_all = frame["outcome"].map({c: i for i, c in enumerate(classes)}).to_numpy()
    date = pd.to_datetime(frame["service_date"])
    first = date.groupby(frame["member_id"]).transform("min")
    quarter = date.dt.to_period("Q")
    measured = 0
    for p, row, (rows, P) in zip(doc["periods"], table.to_dict("records"), preds):
        # The command line and Python: the same figures.
        for k in ("log_loss", "brier", "top_label_ece", "accuracy", "auto_accuracy",
                  "review_rate", "review_threshold", "n_test", "n_auto"):
            assert (p[k] is None and np.isnan(row[k])) or p[k] == row[k], k
        # The fold structure: the quarter's rows of members first seen in it, in file order.
        start = pd.Period(p["period"].replace("-", ""), freq="Q")
        expected_rows = np.flatnonzero((quarter == start) & (first >= start.start_time))
        assert np.array_equal(rows, expected_rows)
        assert p["n_test"] == len(expected_rows)
        assert p["n_fit"] == int((date < pd.Period(p["calibration_period"].replace("-", ""),
                                                   freq="Q").start_time).sum())
        if p["skipped"]:
            assert P.size == 0
            continue
        measured += 1
        y = y_all[rows]
        assert P.shape == (len(rows), 6)
        assert p["class_counts_test"] == np.bincount(y, minlength=6).tolist()
        assert p["log_loss"] == pytest.approx(metrics.log_loss(y, P, labels=range(6)), rel=1e-12)
        assert p["brier"] == pytest.approx(metrics.brier_score_loss(y, P, labels=range(6)),
                                           rel=1e-12)
        assert p["accuracy"] == pytest.approx(metrics.accuracy_score(y, P.argmax(axis=1)),
                                              rel=1e-12)
        assert p["top_label_ece"] == pytest.approx(_top_label_ece(y, P), abs=1e-12)
        auto = P.max(axis=1) >= p["review_threshold"]
        assert p["n_auto"] == int(auto.sum())
        assert p["review_rate"] == pytest.approx(1 - auto.mean(), abs=1e-12)
        if auto.any():
            assert p["auto_accuracy"] == pytest.approx(
                (P[auto].argmax(axis=1) == y[auto]).mean(), rel=1e-12)
    assert measured >= 4


def test_conformal_policy_and_calibrator_flags(claims, tmp_path):
    data, drop = claims
    js = tmp_path / "v.json"
    run("validate", "--data", data,
        *_flags(drop, "--policy", "conformal=0.9,method=aps", "--calibration", "dirichlet"),
        "--json", js, check=0)
    doc = json.loads(js.read_text())
    assert doc["review_policy"] == "conformal=0.9,method=aps"
    assert doc["calibration"] == "dirichlet"
    table = cr.validate(str(data), **_kw(drop), calibration="dirichlet", conformal=0.9,
                        conformal_method="aps")
    measured = [p for p in doc["periods"] if not p["skipped"]]
    assert measured and all(p["review_threshold"] is None for p in measured)  # sets, no threshold
    assert table["review_rate"].tolist()[: len(doc["periods"])] == pytest.approx(
        [np.nan if p["review_rate"] is None else p["review_rate"] for p in doc["periods"]],
        nan_ok=True)


def test_binary_policy_on_a_k_class_label_is_a_usage_error(claims, tmp_path):
    data, drop = claims
    proc = run("validate", "--data", data, *_flags(drop, "--policy", "min-recall=0.8"))
    assert proc.returncode == EXIT_USAGE and "review-queue" in proc.stderr
    proc = run("validate", "--data", data, *_flags(drop, "--calibration", "beta"))
    assert proc.returncode == EXIT_USAGE and "binary only" in proc.stderr
    with pytest.raises(cr.InvalidParamsError, match="review queue for multiclass labels"):
        cr.validate(str(data), **dict(_kw(drop), label="denied",
                                      drop=[c for c in drop if c != "denied"] + ["outcome"]),
                    min_accuracy=0.9)


class _Tags(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.text = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.text.append(data)


def test_html_escapes_class_labels_and_renders(claims, tmp_path):
    data, drop = claims
    rows = list(csv.DictReader(open(data)))
    for r in rows:
        if r["outcome"] == "duplicate":
            r["outcome"] = HOSTILE
    hostile = tmp_path / "h.csv"
    with open(hostile, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    page, js = tmp_path / "v.html", tmp_path / "v.json"
    run("validate", "--data", hostile, *_flags(drop), "--report", page, "--json", js, check=0)
    assert HOSTILE in json.loads(js.read_text())["classes"]
    p = _Tags()
    p.feed(page.read_text())
    assert "script" not in p.tags and "svg" in p.tags
    assert HOSTILE in "".join(p.text)  # shown as text
    from _chromium import CHROMIUM, dump_dom
    if CHROMIUM is not None:
        dom = dump_dom(page)
        assert "<script" not in dom and "<svg" in dom
