# SPDX-License-Identifier: Apache-2.0
"""Bootstrap intervals of the K-class figures of ``calibrisk validate`` / ``calibrisk.validate``
(issue 13 items 4/6) on ``calibrisk generate --dataset claims`` data, grouped by member.

Oracle: an independent numpy bootstrap of each test period's rows and probabilities
(``return_predictions=True``), written here from the documented contract: replicate r draws from
the xoshiro256** stream ``Rng(seed, r)`` (ported below from ``core/random.hpp``'s specification:
SplitMix64 seeding, Lemire's unbiased ``below``); it redraws, with replacement, as many members as
the period has, from the members in ascending key (the id's text), each member with all of its
test rows (``validate`` does not stratify by class; ``metrics.multiclass_bootstrap`` with
``stratified=True`` draws within strata of the members' most frequent class, ties to the lowest
class index, in class order); the figures are
scikit-learn's on the replicate's rows (``sample_weight`` = multiplicity) and the interval is
``numpy.percentile`` at 2.5 and 97.5 of the defined replicates. The review queue's threshold is
held fixed (chosen on the calibration period).
"""

import json

import numpy as np
import pytest

import calibrisk as cr
from test_cli import run

pd = pytest.importorskip("pandas")
metrics = pytest.importorskip("sklearn.metrics")

FEATURES = ["member_age", "billed_amount", "units", "prior_authorization",
            "days_to_submission", "same_service_claims", "payer"]
KEEP = set(FEATURES) | {"outcome", "service_date", "member_id"}
FIGURES = ("log_loss", "brier", "top_label_ece", "accuracy", "auto_accuracy", "review_rate")
SEED = 5
M64 = (1 << 64) - 1


class _Xoshiro:
    """xoshiro256** seeded by SplitMix64 from (seed, stream), and Lemire's below(n)."""

    def __init__(self, seed, stream):
        x = (seed ^ ((0x9E3779B97F4A7C15 * (stream + 1)) & M64)) & M64
        self.s = []
        for _ in range(4):
            x = (x + 0x9E3779B97F4A7C15) & M64
            z = x
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
            self.s.append(z ^ (z >> 31))

    @staticmethod
    def _rotl(x, k):
        return ((x << k) | (x >> (64 - k))) & M64

    def next(self):
        s = self.s
        result = (self._rotl((s[1] * 5) & M64, 7) * 9) & M64
        t = (s[1] << 17) & M64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = self._rotl(s[3], 45)
        return result

    def below(self, n):
        m = self.next() * n
        low = m & M64
        if low < n:
            threshold = ((1 << 64) - n) % n
            while low < threshold:
                m = self.next() * n
                low = m & M64
        return m >> 64


def _figures(y, P, w, threshold):
    pred, conf = P.argmax(axis=1), P.max(axis=1)
    K = P.shape[1]
    keep = w > 0
    y, P, w, pred, conf = y[keep], P[keep], w[keep], pred[keep], conf[keep]
    right = (pred == y).astype(float)
    bins = np.searchsorted(np.linspace(0.0, 1.0, 11)[1:-1], conf, side="left")
    ece = sum(abs((w * (right - conf))[bins == b].sum()) for b in range(10)) / w.sum()
    auto = conf >= threshold
    return (metrics.log_loss(y, P, labels=range(K), sample_weight=w),
            metrics.brier_score_loss(y, P, labels=range(K), sample_weight=w),
            ece,
            np.average(right, weights=w),
            np.average(right[auto], weights=w[auto]) if (w * auto).sum() > 0 else np.nan,
            1.0 - (w * auto).sum() / w.sum())


def _oracle(y, P, members, threshold, n_replicates, seed, stratified=False):
    K = P.shape[1]
    ids = np.unique(members)  # ascending member key
    rows_of = {m: np.flatnonzero(members == m) for m in ids}
    if stratified:
        strata = [[] for _ in range(K)]
        for m in ids:
            strata[int(np.argmax(np.bincount(y[rows_of[m]], minlength=K)))].append(m)
    else:
        strata = [list(ids)]
    reps = []
    for r in range(n_replicates):
        rng = _Xoshiro(seed, r)
        w = np.zeros(len(y))
        for units in strata:
            for _ in range(len(units)):
                w[rows_of[units[rng.below(len(units))]]] += 1.0
        reps.append(_figures(y, P, w, threshold))
    reps = np.asarray(reps)
    out = {}
    for j, name in enumerate(FIGURES):
        v = reps[:, j][np.isfinite(reps[:, j])]
        out[name] = (np.percentile(v, 2.5), np.percentile(v, 97.5))
    return out


@pytest.fixture(scope="module")
def claims(tmp_path_factory):
    d = tmp_path_factory.mktemp("claims_validate_boot")
    run("generate", "--dataset", "claims", "--rows", 3000, "--seed", 8, "--out", d / "c.csv",
        check=0)
    header = pd.read_csv(d / "c.csv", nrows=0).columns
    return d / "c.csv", [c for c in header if c not in KEEP]


def _kw(drop, **extra):
    return dict(label="outcome", time_column="service_date", group_column="member_id",
                categorical=["payer"], drop=drop, model="lr", period="quarter",
                min_accuracy=0.85, seed=SEED, **extra)


def test_intervals_equal_an_independent_grouped_bootstrap(claims):
    data, drop = claims
    table, preds = cr.validate(str(data), **_kw(drop), n_bootstrap=60, return_predictions=True)
    frame = pd.read_csv(data)
    classes = table.attrs["classes"]
    y_all = frame["outcome"].map({c: i for i, c in enumerate(classes)}).to_numpy()
    # The CSV reader keys a group column by its labels as text, in sorted order ("10" < "9").
    members_all = frame["member_id"].astype(str).to_numpy()
    checked = 0
    for row, (rows, P) in zip(table.to_dict("records"), preds):
        if row["skipped"]:
            assert all(np.isnan(row[f + "_lower"]) for f in FIGURES)
            continue
        y, members = y_all[rows], members_all[rows]
        assert len(np.unique(members)) < len(rows)  # members with several claims in the period
        want = _oracle(y, P, members, row["review_threshold"], 60, SEED)
        for f in FIGURES:
            assert row[f + "_lower"] == pytest.approx(want[f][0], rel=1e-9, abs=1e-12), f
            assert row[f + "_upper"] == pytest.approx(want[f][1], rel=1e-9, abs=1e-12), f
            assert row[f + "_lower"] <= row[f] <= row[f + "_upper"], f
        checked += 1
        if checked == 2:  # the oracle's pure-Python generator is slow; two periods suffice
            break
    assert checked == 2


def test_cli_json_and_html_carry_the_same_intervals(claims, tmp_path):
    data, drop = claims
    js, page = tmp_path / "v.json", tmp_path / "v.html"
    flags = ["--label", "outcome", "--time-column", "service_date", "--group-column",
             "member_id", "--categorical", "payer", "--model", "lr", "--period", "quarter",
             "--policy", "min-accuracy=0.85", "--seed", str(SEED)]
    for c in drop:
        flags += ["--drop", c]
    proc = run("validate", "--data", data, *flags, "--json", js, "--report", page, check=0)
    doc = json.loads(js.read_text())
    table = cr.validate(str(data), **_kw(drop))
    assert list(table.columns) == list(cr.workflow.MULTICLASS_VALIDATE_COLUMNS)
    assert "95% CI: logloss [" in proc.stdout
    text = page.read_text()
    for p, row in zip(doc["periods"], table.to_dict("records")):
        for f in FIGURES:
            for end in ("_lower", "_upper"):
                got = p[f + end]
                assert (got is None and np.isnan(row[f + end])) or got == row[f + end], f + end
        if not p["skipped"]:
            cell = f"{p['log_loss']:.3f} [{p['log_loss_lower']:.3f}\u2013{p['log_loss_upper']:.3f}]"
            assert cell in text


def test_no_bootstrap_leaves_the_intervals_undefined(claims):
    data, drop = claims
    table = cr.validate(str(data), **_kw(drop), n_bootstrap=0)
    for f in FIGURES:
        assert table[f + "_lower"].isna().all() and table[f + "_upper"].isna().all()
    assert table["log_loss"].notna().any()


def test_metrics_multiclass_bootstrap_groups_and_routed_equal_the_oracle():
    rng = np.random.default_rng(0)
    n = 300
    P = rng.dirichlet([1, 1, 1], n)
    y = rng.integers(0, 3, n)
    routed = (P.max(axis=1) >= 0.5).astype(float)
    names = ["log_loss", "brier_score", "top_label_ece", "accuracy", "auto_accuracy",
             "review_rate"]
    for groups, stratified in ((None, True), (rng.integers(0, 120, n), True),
                               (rng.integers(0, 120, n), False)):
        got = cr.metrics.multiclass_bootstrap(y, P, names, n_replicates=50, random_state=5,
                                              groups=groups, routed=routed, stratified=stratified)
        want = _oracle(y, P, np.arange(n) if groups is None else groups, 0.5, 50, 5, stratified)
        for name, f in zip(names, FIGURES):
            assert got[name].lower == pytest.approx(want[f][0], rel=1e-9, abs=1e-12), name
            assert got[name].upper == pytest.approx(want[f][1], rel=1e-9, abs=1e-12), name
    with pytest.raises(ValueError, match="need `routed`"):
        cr.metrics.multiclass_bootstrap(y, P, "review_rate", n_replicates=10)


def test_card_shows_the_k_class_validation_with_its_intervals(claims, tmp_path):
    # `calibrisk validate --json` on the multiclass label, then `calibrisk card --validation`: the
    # card's temporal table has each period's accuracy and review rate with validate's interval,
    # formatted as the card formats numbers (3 significant digits, "value (lower – upper)").
    data, drop = claims
    flags = ["--label", "outcome", "--time-column", "service_date", "--group-column",
             "member_id", "--categorical", "payer", "--model", "lr", "--policy",
             "min-accuracy=0.85", "--seed", str(SEED)]
    for c in drop:
        flags += ["--drop", c]
    js, model, card = tmp_path / "v.json", tmp_path / "m.json", tmp_path / "card.html"
    run("validate", "--data", data, *flags, "--period", "quarter", "--json", js, check=0)
    run("train", "--data", data, *flags, "--out", model, check=0)
    run("card", "--model", model, "--validation", js, "--out", card, check=0)
    text = card.read_text()
    assert "Temporal stability" in text
    for h in ("accuracy", "log loss", "Brier", "top-label ECE", "auto-routed accuracy",
              "review rate"):
        assert f"<th>{h}</th>" in text, h
    doc = json.loads(js.read_text())
    shown = 0
    for p in doc["periods"]:
        if p["skipped"] or p["accuracy_lower"] is None:
            continue
        for key in ("accuracy", "review_rate", "log_loss"):
            cell = (f"<td>{p[key]:.3g} ({p[key + '_lower']:.3g} \u2013 "
                    f"{p[key + '_upper']:.3g})</td>")
            assert cell in text, (p["period"], key)
        shown += 1
    assert shown >= 2
