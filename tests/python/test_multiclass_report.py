# SPDX-License-Identifier: Apache-2.0
"""Issue 13 item 6: the multiclass evaluation report (calibrisk.report.evaluate_multiclass).

Oracles: scikit-learn's log_loss, multiclass brier_score_loss, accuracy_score, confusion_matrix and
precision_recall_fscore_support on a fixed synthetic case; numpy routing and scipy's beta quantiles
(Clopper-Pearson) for the review queue; the HTML is parsed with html.parser and rendered in
headless Chromium with hostile class names (nothing may execute)."""

import html as htmllib
import json
import re
from html.parser import HTMLParser

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import (
    accuracy_score,
    brier_score_loss,
    confusion_matrix,
    log_loss,
    precision_recall_fscore_support,
)

from calibrisk.exceptions import InvalidInputError
from calibrisk.report import MulticlassReport, evaluate_multiclass
from calibrisk.threshold import select_review_threshold

CLASSES = np.array(["denied-auth", "denied-coding", "denied-other", "paid"])


def _softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _case(n=800, seed=3, K=4):
    """Labels drawn from known class probabilities; P = those probabilities, overconfident
    (temperature 0.6) as the model's output, and the true ones as the calibrated output."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 1.6, size=(n, K)) + np.log(np.arange(1, K + 1))[None, :]
    true = _softmax(logits)
    y = np.array([rng.choice(K, p=row) for row in true])
    return y, true, _softmax(logits / 0.6)


@pytest.fixture(scope="module")
def case():
    return _case()


@pytest.fixture(scope="module")
def report(case):
    y, P, P_raw = case
    return evaluate_multiclass(CLASSES[y], P, classes=CLASSES, P_uncalibrated=P_raw,
                               review_policy={"min_accuracy": 0.8}, n_bootstrap=100,
                               random_state=1, title="claims")


def test_summary_matches_scikit_learn(case, report):
    y, P, P_raw = case
    s = report["summary"]
    assert s["rows"] == len(y) and s["n_classes"] == 4
    assert s["class_names"] == CLASSES.tolist()
    assert s["class_counts"] == np.bincount(y, minlength=4).tolist()
    assert s["log_loss"]["value"] == pytest.approx(log_loss(y, P, labels=range(4)), rel=1e-12)
    assert s["brier"]["value"] == pytest.approx(brier_score_loss(y, P, labels=range(4)),
                                                rel=1e-12)
    assert s["accuracy"]["value"] == pytest.approx(accuracy_score(y, P.argmax(1)), rel=1e-12)
    before = report["calibration"]["before"]
    assert before["log_loss"]["value"] == pytest.approx(log_loss(y, P_raw), rel=1e-12)
    assert before["brier"]["value"] == pytest.approx(brier_score_loss(y, P_raw, labels=range(4)),
                                                     rel=1e-12)
    # (Not the ECEs: resampling inflates binned ECE, so a well-calibrated model's percentile
    # interval can lie above its point estimate.)
    for key in ("log_loss", "brier", "accuracy", "macro_f1"):
        e = s[key]
        assert e["lower"] <= e["value"] <= e["upper"], key
    for key in ("top_label_ece", "classwise_ece"):
        assert s[key]["lower"] < s[key]["upper"], key
    # The overconfident scores are worse calibrated than the true probabilities.
    assert before["top_label_ece"]["value"] > s["top_label_ece"]["value"]


def test_top_label_ece_matches_numpy(case, report):
    y, P, _ = case
    conf, correct = P.max(1), (P.argmax(1) == y).astype(float)
    bins = np.clip(np.searchsorted(np.linspace(0, 1, 11)[1:-1], conf, side="left"), 0, 9)
    ece = sum(abs(correct[bins == b].mean() - conf[bins == b].mean()) * (bins == b).mean()
              for b in range(10) if (bins == b).any())
    assert report["summary"]["top_label_ece"]["value"] == pytest.approx(ece, rel=1e-9)


def test_per_class_table_and_confusion_match_scikit_learn(case, report):
    y, P, _ = case
    pred = P.argmax(1)
    prec, rec, f1, support = precision_recall_fscore_support(y, pred, labels=range(4),
                                                             zero_division=0)
    rows = report["per_class"]
    assert [r["name"] for r in rows] == CLASSES.tolist()
    for k, r in enumerate(rows):
        assert r["support"] == support[k]
        assert r["precision"]["value"] == pytest.approx(prec[k], rel=1e-12)
        assert r["recall"]["value"] == pytest.approx(rec[k], rel=1e-12)
        assert r["f1"]["value"] == pytest.approx(f1[k], rel=1e-12)
        assert r["precision"]["lower"] <= prec[k] <= r["precision"]["upper"]
        assert r["f1"]["lower"] <= f1[k] <= r["f1"]["upper"]
    assert report["summary"]["macro_f1"]["value"] == pytest.approx(f1.mean(), rel=1e-12)
    cm = report["confusion_matrix"]
    assert cm["labels"] == [0, 1, 2, 3]
    np.testing.assert_array_equal(np.array(cm["counts"]), confusion_matrix(y, pred))
    np.testing.assert_allclose(np.array(cm["row_normalized"]),
                               confusion_matrix(y, pred, normalize="true"), rtol=1e-12)


def _cp(k, n, level=0.95):
    a = 1 - level
    lo = 0.0 if k == 0 else stats.beta.ppf(a / 2, k, n - k + 1)
    hi = 1.0 if k == n else stats.beta.ppf(1 - a / 2, k + 1, n - k)
    return lo, hi


def test_review_thresholds_from_calibration_data_are_remeasured(case):
    y, P, _ = case
    y_cal, P_cal, _ = _case(n=600, seed=11)
    chosen = select_review_threshold(CLASSES[y_cal], P_cal, min_accuracy=0.85, classes=CLASSES)
    r = evaluate_multiclass(CLASSES[y], P, classes=CLASSES, review_policy=chosen, n_bootstrap=0)
    rv = r["review"]
    auto = P.max(1) >= chosen.threshold
    n_auto, n_correct = int(auto.sum()), int((P.argmax(1)[auto] == y[auto]).sum())
    assert rv["source"] == "given" and rv["policy"] == chosen.policy
    assert rv["thresholds"] == [pytest.approx(chosen.threshold)]
    assert (rv["n_auto"], rv["n_correct"]) == (n_auto, n_correct)
    assert rv["accuracy"]["value"] == pytest.approx(n_correct / n_auto)
    lo, hi = _cp(n_correct, n_auto)
    assert rv["accuracy"]["lower"] == pytest.approx(lo, rel=1e-6)
    assert rv["accuracy"]["upper"] == pytest.approx(hi, rel=1e-6)
    lo, hi = _cp(len(y) - n_auto, len(y))
    assert rv["review_rate"]["value"] == pytest.approx(1 - n_auto / len(y))
    assert rv["review_rate"]["lower"] == pytest.approx(lo, rel=1e-6)
    assert not any("in-sample" in n for n in r["notes"])


def test_per_class_review_thresholds(case):
    y, P, _ = case
    y_cal, P_cal, _ = _case(n=600, seed=11)
    chosen = select_review_threshold(y_cal, P_cal, min_accuracy=0.8, per_class=True)
    r = evaluate_multiclass(y, P, review_policy=chosen, n_bootstrap=0)
    pred = P.argmax(1)
    auto = P.max(1) >= chosen.threshold[pred]
    assert r["review"]["per_class"]
    assert r["review"]["n_auto"] == int(auto.sum())
    for k, c in enumerate(r["review"]["classes"]):
        assert c["n"] == int((pred == k).sum())
        assert c["n_auto"] == int((auto & (pred == k)).sum())


def test_review_options_choose_on_this_data_and_say_so(case, report):
    y, P, _ = case
    chosen = select_review_threshold(y, P, min_accuracy=0.8)
    rv = report["review"]
    assert rv["source"] == "selected"
    assert rv["thresholds"] == [pytest.approx(chosen.threshold)]
    assert rv["accuracy"]["value"] == pytest.approx(chosen.accuracy)
    assert rv["review_rate"]["value"] == pytest.approx(chosen.review_rate)
    assert any("in-sample" in n for n in report["notes"])
    rc = report["risk_coverage"]
    assert rc["coverage"][-1] == pytest.approx(1.0)
    assert rc["risk"][-1] == pytest.approx(1 - accuracy_score(y, P.argmax(1)))


class _Outline(HTMLParser):
    """Section ids, figure ids, table shapes and every tag name of a page."""

    def __init__(self):
        super().__init__()
        self.sections, self.figures, self.tags, self.tables = [], [], set(), {}
        self._table = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.add(tag)
        if tag == "section":
            self.sections.append(a.get("id"))
        if tag == "figure":
            self.figures.append(a.get("id"))
        if tag == "table" and a.get("id"):
            self._table = a["id"]
            self.tables[self._table] = []
        if tag == "tr" and self._table:
            self.tables[self._table].append(0)
        if tag in ("td", "th") and self._table:
            self.tables[self._table][-1] += 1

    def handle_endtag(self, tag):
        if tag == "table":
            self._table = None


def test_html_structure(report):
    page = report.to_html()
    o = _Outline()
    o.feed(page)
    assert o.sections == ["data", "calibration", "per-class", "confusion", "review-queue"]
    for fig in ("chart-top-label", "chart-confidence-histogram", "chart-risk-coverage"):
        assert fig in o.figures
    assert [f for f in o.figures if f.startswith("chart-class-")] == [
        f"chart-class-{k}" for k in range(1, 5)]
    # Counts and row-normalised matrices: a header row and a header column around 4 x 4 cells.
    assert o.tables["confusion-counts"] == [5] * 5
    assert o.tables["confusion-normalized"] == [5] * 5
    assert "script" not in o.tags
    assert "default-src 'none'" in page
    assert page.count("<svg") >= 4 + 4 + 3


def test_to_json_and_to_html_write_files(report, tmp_path):
    report.to_html(tmp_path / "r.html")
    report.to_json(tmp_path / "r.json")
    assert (tmp_path / "r.html").read_text(encoding="utf-8") == report.to_html()
    assert json.loads((tmp_path / "r.json").read_text(encoding="utf-8")) == report.to_dict()
    assert isinstance(report, MulticlassReport) and "K" not in report
    assert "4 classes" in repr(report)


HOSTILE = [
    '"><img src=x id=pwned onerror="document.title=\'PWNED\'">',
    "</script><script>document.title='PWNED'</script>",
    "</title><script>document.title='PWNED'</script>",
    "</style><p id=pwned>styled</p>",
    "<!--",
    "&lt;b id=pwned&gt; &amp; 'single' \"double\"",
    "\u202e RTL override \u0000 nul",
    "bad utf-8 \udcff\udcfe",
    "x" * 3000 + "<b id=pwned>long</b>",
]


def _hostile_page(tmp_path):
    K = len(HOSTILE)
    y, P, P_raw = _case(n=400, seed=5, K=K)
    labels = np.array(HOSTILE, dtype=object)
    r = evaluate_multiclass(labels[y], P, classes=labels, P_uncalibrated=P_raw, review_policy=0.5,
                            provenance={HOSTILE[0]: HOSTILE[1]}, title="injection battery",
                            n_bootstrap=0)
    page = tmp_path / "mc.html"
    r.to_html(page)
    return r, page


def test_hostile_class_names_are_escaped(tmp_path):
    r, page = _hostile_page(tmp_path)
    source = page.read_text(encoding="utf-8")
    for tag in ("<img", "<script", "<b id", "<p id", "<!--"):
        assert tag not in source, tag
    assert "&lt;/script&gt;&lt;script&gt;" in source
    assert "&quot;double&quot;" in source and "&#39;single&#39;" in source
    assert "bad utf-8 \ufffd" in source and "override \ufffd nul" in source
    names = r["summary"]["class_names"]
    assert names[0] == HOSTILE[0]
    assert names[7].startswith("bad utf-8 ") and "\ufffd" in names[7]


def test_hostile_class_names_execute_nothing_in_chromium(tmp_path):
    from _chromium import dump_dom

    _, page = _hostile_page(tmp_path)
    dom = dump_dom(page)
    title = re.search(r"<title>(.*?)</title>", dom, re.S)
    assert htmllib.unescape(title.group(1)) == "injection battery"
    assert 'id="pwned"' not in dom
    for tag in ("<img", "<script", "<b id", "<p id"):
        assert tag not in dom, tag
    text = htmllib.unescape(re.sub(r"<[^>]*>", " ", dom))
    for name in HOSTILE[:7] + HOSTILE[8:]:
        assert name.replace("\u0000", "\ufffd") in text, name[:60]


def test_one_thousand_classes_stay_bounded():
    K, n = 1000, 3000
    rng = np.random.default_rng(0)
    y = np.arange(n) % K
    P = rng.random((n, K))
    P[np.arange(n), y] += 3
    P /= P.sum(1, keepdims=True)
    names = np.array([f"class {k}" for k in range(K)])
    r = evaluate_multiclass(names[y], P, classes=names, n_bootstrap=0)
    assert len(r["per_class"]) == K
    assert len(r["shown_classes"]) == 30
    assert r["confusion_matrix"]["labels"][-1] is None
    assert len(r["confusion_matrix"]["counts"]) == 31
    assert sum(map(sum, r["confusion_matrix"]["counts"])) == n
    assert len(r.to_html()) < 1_500_000 and len(r.to_json(indent=None)) < 1_500_000
    assert any("1000 classes" in note for note in r["notes"])
    o = _Outline()
    o.feed(r.to_html())
    assert o.tables["confusion-counts"] == [32] * 32


def test_bad_input_is_rejected_by_name(case):
    y, P, _ = case
    with pytest.raises(InvalidInputError, match="pass classes="):
        evaluate_multiclass(CLASSES[y], P)
    with pytest.raises(InvalidInputError, match="classes has 3 labels"):
        evaluate_multiclass(CLASSES[y], P, classes=CLASSES[:3])
    with pytest.raises(InvalidInputError, match="sums to"):
        evaluate_multiclass(y, P * 1.1)
    with pytest.raises(InvalidInputError, match="unknown keys"):
        evaluate_multiclass(y, P, review_policy={"min_acc": 0.9})
    with pytest.raises(ValueError, match="max_classes_shown"):
        evaluate_multiclass(y, P, max_classes_shown=1)


def test_intervals_have_the_binomial_width_when_the_majority_class_dominates():
    # The report's bootstrap resamples rows without class strata: with the model predicting the
    # majority class for most rows, the accuracy interval's width is within 0.75-1.25x of the
    # Wilson interval's (statsmodels), where fixing the class mix gave about 0.6x; recall's is
    # Wilson on the class's own rows; the same seed gives the same report for 1 and 2 threads.
    proportion_confint = pytest.importorskip("statsmodels.stats.proportion").proportion_confint
    rng = np.random.default_rng(3)
    n = 400
    y = rng.choice(3, size=n, p=[0.75, 0.18, 0.07])
    logits = rng.normal(size=(n, 3)) * 0.8
    logits[:, 0] += 1.5
    logits[np.arange(n), y] += 0.8
    P = np.exp(logits)
    P /= P.sum(1, keepdims=True)
    pred = P.argmax(1)
    assert (pred == 0).mean() > 0.85
    r = evaluate_multiclass(y, P, n_bootstrap=2000, random_state=1, n_threads=1).to_dict()
    acc = r["summary"]["accuracy"]
    lo, hi = proportion_confint(int((pred == y).sum()), n, alpha=0.05, method="wilson")
    assert 0.75 * (hi - lo) < acc["upper"] - acc["lower"] < 1.25 * (hi - lo)
    for k, row in enumerate(r["per_class"]):
        rows = y == k
        lo, hi = proportion_confint(int((pred[rows] == k).sum()), int(rows.sum()), alpha=0.05,
                                    method="wilson")
        assert (row["recall"]["lower"], row["recall"]["upper"]) == pytest.approx((lo, hi),
                                                                                 rel=1e-9, abs=1e-12)
    again = evaluate_multiclass(y, P, n_bootstrap=2000, random_state=1, n_threads=2).to_dict()
    assert again["summary"] == r["summary"] and again["per_class"] == r["per_class"]
