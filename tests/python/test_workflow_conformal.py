# SPDX-License-Identifier: Apache-2.0
"""``calibrisk.train(conformal=..., conformal_method=...)``: the split-conformal review queue of a
multiclass label from Python, as ``calibrisk train --policy conformal=C,method=M`` (issue 13 item 6).

Oracles: the command line writes the same file byte for byte from the same data and seed; the
saved quantile is recomputed here as the ceil((n + 1)(1 - alpha))-th smallest LAC score
1 - P[y] of the calibration rows (Vovk et al.; Angelopoulos & Bates 2021, eq. 1); the coverage of
the LAC sets on fresh rows drawn from the same generator is compared with the split-conformal
guarantee: given the calibration part, coverage is Beta(n + 1 - l, l) with l = floor((n + 1) alpha)
(Vovk 2012), measured on m fresh rows with binomial noise on top.
"""

import csv
import json
import math

import numpy as np
import pytest

import calibrisk as cr
from test_cli import run

FEATURES = ["member_age", "billed_amount", "units", "prior_authorization",
            "days_to_submission", "same_service_claims"]


@pytest.fixture(scope="module")
def claims(tmp_path_factory):
    d = tmp_path_factory.mktemp("claims_conformal")
    run("generate", "--dataset", "claims", "--rows", 4000, "--seed", 11, "--out", d / "c.csv",
        check=0)
    run("generate", "--dataset", "claims", "--rows", 6000, "--seed", 12, "--out",
        d / "fresh.csv", check=0)
    header = next(csv.reader(open(d / "c.csv")))
    drop = [c for c in header if c not in set(FEATURES) | {"outcome"}]
    return d, drop


@pytest.mark.parametrize("method", ["lac", "aps"])
def test_python_and_cli_write_the_same_conformal_model(claims, method):
    d, drop = claims
    out = d / f"cli_{method}.json"
    flags = [a for c in drop for a in ("--drop", c)]
    run("train", "--data", d / "c.csv", "--label", "outcome", "--model", "lr", "--seed", 7,
        "--policy", f"conformal=0.85,method={method}", *flags, "--out", out, check=0)
    r = cr.train(str(d / "c.csv"), label="outcome", model="lr", drop=drop, seed=7,
                 conformal=0.85, conformal_method=method)
    assert r.pipeline.to_string() == out.read_text()  # the same bytes
    doc = json.loads(out.read_text())
    assert doc["review"]["kind"] == "conformal" and doc["review"]["method"] == method
    assert r.pipeline.review_policy["policy"] == f"conformal=0.85,method={method}"
    saved = json.loads(r.pipeline.to_string())["review"]["quantile"]
    assert saved == doc["review"]["quantile"]


def _lac_quantile(y, P, alpha):
    scores = np.sort(1.0 - P[np.arange(len(y)), y])
    k = math.ceil((len(y) + 1) * (1 - alpha))
    return scores[k - 1] if k <= len(y) else math.inf


def test_lac_quantile_and_fresh_coverage_meet_the_split_conformal_guarantee(claims):
    d, drop = claims
    coverage = 0.9
    r = cr.train(str(d / "c.csv"), label="outcome", model="lr", drop=drop, conformal=coverage)
    y_cal = np.asarray(r.calibration.y, dtype=int)
    q = json.loads(r.pipeline.to_string())["review"]["quantile"]
    assert q == _lac_quantile(y_cal, r.calibration.P, 1 - coverage)
    # Fresh rows of the same generator: the LAC set {k : 1 - P[k] <= q} holds the true label.
    fresh = list(csv.DictReader(open(d / "fresh.csv")))
    X = np.array([[float(row[f] or "nan") for f in r.features] for row in fresh])  # "" = missing
    classes = list(r.classes)
    y = np.array([classes.index(row["outcome"]) for row in fresh])
    P = r.pipeline.predict_proba(X)
    covered = (1.0 - P[np.arange(len(y)), y]) <= q
    m, n = len(y), len(y_cal)
    l = math.floor((n + 1) * (1 - coverage))
    a, b = n + 1 - l, l
    mean = a / (a + b)
    var_beta = a * b / ((a + b) ** 2 * (a + b + 1))
    sd = math.sqrt(var_beta + mean * (1 - mean) / m)
    assert abs(covered.mean() - mean) <= 4 * sd, (covered.mean(), mean, sd)
    # The route agrees: auto exactly where the set holds one label.
    one = ((1.0 - P) <= q).sum(axis=1) == 1
    assert np.array_equal(r.pipeline.route(X) == "auto", one)


@pytest.mark.parametrize("kw, match", [
    ({"conformal": 1.0}, r"conformal is the coverage .* in \(0, 1\), got 1"),
    ({"conformal": 0.0}, r"in \(0, 1\), got 0"),
    ({"conformal": 0.9, "conformal_method": "raps"}, "conformal_method must be 'lac' or 'aps'"),
    ({"conformal": 0.9, "min_accuracy": 0.9}, "does not go with min_accuracy"),
])
def test_bad_conformal_settings_are_named(claims, kw, match):
    d, drop = claims
    with pytest.raises(cr.InvalidParamsError, match=match):
        cr.train(str(d / "c.csv"), label="outcome", model="lr", drop=drop, **kw)


def test_conformal_on_a_binary_label_is_refused(claims):
    d, drop = claims
    with pytest.raises(cr.InvalidParamsError, match="review queue for multiclass labels.*binary"):
        cr.train(str(d / "c.csv"), label="denied", model="lr",
                 drop=[c for c in drop if c != "denied"] + ["outcome"], conformal=0.9)
