# SPDX-License-Identifier: Apache-2.0
"""calibrisk.report.evaluate / Report: parity with scikit-learn, the cohort's known shifts, JSON and
HTML output, and a headless-Chromium rendering check of the page."""

import json
import os
import shutil
import subprocess

import numpy as np
import pytest
from sklearn.calibration import calibration_curve
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    log_loss,
    roc_auc_score,
)

import calibrisk
from calibrisk.datasets import make_readmission_cohort
from calibrisk.report import Report, evaluate


def _logit(p):
    return np.log(p / (1 - p))


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


@pytest.fixture(scope="module")
def cohort():
    c = make_readmission_cohort(n_patients=12000, seed=3)
    day = (c["encounter_day"] - c["encounter_day"].min()) / 365.0
    # Knows every feature effect, but neither the site shift nor the drift.
    c["p_blind"] = _sigmoid(_logit(c["true_risk"]) - 0.4 * (day - 1.0) - 0.8 * (c["site"] == 2))
    c["p_over"] = _sigmoid(2 * _logit(c["true_risk"]) + 1)
    return c


@pytest.fixture(scope="module")
def report(cohort):
    site_names = np.array(list("ABCDE"))[cohort["site"]]
    age_band = np.where(cohort["age"] < 65, "<65", np.where(cohort["age"] < 80, "65-79", "80+"))
    return evaluate(
        cohort["readmitted"],
        cohort["p_blind"],
        p_uncalibrated=cohort["p_over"],
        threshold=0.12,
        policy="min_recall=0.6",
        subgroups={"site": site_names, "age_band": age_band},
        time=cohort["encounter_date"],
        groups=cohort["patient_id"],
        X=np.column_stack([cohort["age"], cohort["hba1c"]]),
        feature_names=["age", "hba1c"],
        feature_importances={"prior_admissions": 0.5, "age": 0.2, "hba1c": 0.1},
        importance_kind="gain",
        provenance={"model": "oracle without site/time", "seed": "3"},
        title="Test report",
        n_bootstrap=100,
    )


def test_public_names():
    from calibrisk import report as mod

    assert mod.__all__ == ["evaluate", "Report", "evaluate_multiclass", "MulticlassReport"]


def test_discrimination_and_calibration_match_sklearn(report, cohort):
    y, p, p0 = cohort["readmitted"], cohort["p_blind"], cohort["p_over"]
    d = report["discrimination"]
    assert d["roc_auc"]["value"] == pytest.approx(roc_auc_score(y, p), abs=1e-12)
    assert d["average_precision"]["value"] == pytest.approx(average_precision_score(y, p), abs=1e-12)
    assert d["roc_auc"]["lower"] < d["roc_auc"]["value"] < d["roc_auc"]["upper"]
    after, before = report["calibration"]["after"], report["calibration"]["before"]
    assert after["brier"] == pytest.approx(brier_score_loss(y, p), abs=1e-12)
    assert after["log_loss"] == pytest.approx(log_loss(y, p), abs=1e-12)
    assert before["roc_auc"] == pytest.approx(roc_auc_score(y, p0), abs=1e-12)
    prob_true, prob_pred = calibration_curve(y, p, n_bins=10, strategy="uniform")
    np.testing.assert_allclose([b["observed"] for b in after["bins"]], prob_true, atol=1e-12)
    np.testing.assert_allclose([b["mean_predicted"] for b in after["bins"]], prob_pred, atol=1e-12)
    # ECE by hand from the same bins.
    counts = np.array([b["count"] for b in after["bins"]])
    ece = np.sum(counts * np.abs(prob_true - prob_pred)) / counts.sum()
    assert after["ece"]["value"] == pytest.approx(ece, abs=1e-12)
    assert before["ece"]["value"] > after["ece"]["value"]
    assert before["slope"] == pytest.approx(0.5, abs=0.05)  # the logit was doubled


def test_operating_point_counts(report, cohort):
    y, p = cohort["readmitted"], cohort["p_blind"]
    flag = p >= 0.12
    op = report["operating_point"]
    assert op["tp"] == int(np.sum(flag & (y == 1)))
    assert op["fp"] == int(np.sum(flag & (y == 0)))
    assert op["fn"] == int(np.sum(~flag & (y == 1)))
    assert op["tn"] == int(np.sum(~flag & (y == 0)))
    assert op["recall"]["value"] == pytest.approx(op["tp"] / (op["tp"] + op["fn"]))
    assert op["alert_rate"]["value"] == pytest.approx(flag.mean())
    assert op["recall"]["lower"] < op["recall"]["value"] < op["recall"]["upper"]
    assert op["policy"] == "min_recall=0.6"


def test_shifted_site_flagged_and_subgroup_auc(report, cohort):
    rows = {(r["column"], r["level"]): r for r in report["subgroups"]["rows"]}
    assert rows[("site", "C")]["flagged"]
    assert any("calibration intercept" in f for f in rows[("site", "C")]["flags"])
    for s in "ABDE":
        assert not any("calibration intercept" in f for f in rows[("site", s)]["flags"]), s
    y, p = cohort["readmitted"], cohort["p_blind"]
    m = cohort["site"] == 0
    assert rows[("site", "A")]["roc_auc"] == pytest.approx(roc_auc_score(y[m], p[m]), abs=1e-12)
    assert rows[("site", "A")]["n"] == int(m.sum())
    assert {r["level"] for r in report["subgroups"]["rows"] if r["column"] == "age_band"} == {
        "<65",
        "65-79",
        "80+",
    }


def test_over_time_quarters_show_drift(report):
    t = report["over_time"]
    assert t["granularity"] == "quarter"
    assert [r["period"] for r in t["rows"]][:2] == ["2022-Q1", "2022-Q2"]
    last = t["rows"][-1]
    assert last["prevalence"] - last["mean_predicted"] > 0.02


def test_summary_features_provenance(report, cohort):
    d = report["data"]
    assert d["rows"] == len(cohort["readmitted"])
    assert d["patients"] == len(np.unique(cohort["patient_id"]))
    assert d["time_min"] == str(cohort["encounter_date"].min())
    miss = {m["name"]: m["missing_fraction"] for m in d["missingness"]}
    assert miss["hba1c"] == pytest.approx(np.isnan(cohort["hba1c"]).mean())
    assert [f["name"] for f in report["top_features"]["features"]] == [
        "prior_admissions",
        "age",
        "hba1c",
    ]
    prov = report["provenance"]
    assert list(prov)[:2] == ["model", "seed"]
    assert "evaluated by" in prov


def test_json_round_trip_and_files(report, tmp_path):
    text = report.to_json(tmp_path / "r.json")
    assert json.loads(text)["format"] == "calibrisk-report"
    again = Report.from_json(str(tmp_path / "r.json"))
    assert again.to_dict() == report.to_dict()
    html = report.to_html(tmp_path / "r.html")
    assert (tmp_path / "r.html").read_text(encoding="utf-8") == html
    assert html.startswith("<!DOCTYPE html>")
    assert "<script" not in html
    assert "Test report" in repr(report)


def test_deterministic_and_thread_independent(cohort):
    kw = dict(threshold=0.12, n_bootstrap=40, random_state=7)
    a = evaluate(cohort["readmitted"], cohort["p_blind"], n_threads=1, **kw)
    b = evaluate(cohort["readmitted"], cohort["p_blind"], n_threads=2, **kw)
    assert a.to_dict() == b.to_dict()


def test_input_forms():
    pd = pytest.importorskip("pandas")
    y = np.array([0, 1, 0, 1, 0, 1, 1, 0])
    p = np.array([0.1, 0.8, 0.3, 0.6, 0.2, 0.9, 0.4, 0.5])
    r = evaluate(
        y,
        p,
        operating_point={"threshold": 0.5, "policy": "max_f=1"},
        subgroups={
            "cat": pd.Series(list("aabbccab"), dtype="category"),
            "obj": np.array(["x", None, "y", "x", "y", "x", np.nan, "y"], dtype=object),
            "num": [1, 1, 2, 2, 3, 3, 1, 2],
        },
        time=["2023-01-05", "2023-01-09", "2023-02-01T10:00", "2023-02-10", "2023-03-01",
              "2023-03-02", "2023-03-03", "2023-03-04"],
        n_bootstrap=0,
    )
    assert r["operating_point"]["policy"] == "max_f=1"
    levels = [(row["column"], row["level"]) for row in r["subgroups"]["rows"]]
    assert ("obj", "(missing)") in levels
    assert ("num", "3") in levels
    assert ("cat", "c") in levels
    assert [row["period"] for row in r["over_time"]["rows"]] == ["2023-01", "2023-02", "2023-03"]
    numbers = evaluate(y, p, time=np.arange(8.0), n_bootstrap=0, n_time_bins=2)
    assert numbers["over_time"]["granularity"] == "equal-count bins"


def test_degenerate_predictions_are_undefined_not_errors():
    """Issue 11 §2: all predictions 0.5 (and a one-class subgroup) must not abort evaluate."""
    y = np.array([0, 1, 0, 1, 0, 0, 1, 0, 0, 0])
    p = np.full(10, 0.5)
    site = np.array(list("AAAABBBBCC"))  # C has only class 0
    r = evaluate(y, p, p_uncalibrated=p, threshold=0.5, subgroups={"site": site}, n_bootstrap=20)
    after = r["calibration"]["after"]
    assert after["spiegelhalter_z"] is None and after["spiegelhalter_p"] is None
    assert after["undefined"]["spiegelhalter_z"] == "its variance is zero: every prediction is 0, 0.5 or 1"
    assert after["slope"] is None and "every prediction is the same" in after["undefined"]["slope"]
    # Defined statistics keep sklearn's values.
    assert after["brier"] == pytest.approx(brier_score_loss(y, p), abs=1e-12)
    assert after["log_loss"] == pytest.approx(log_loss(y, p), abs=1e-12)
    assert after["roc_auc"] == pytest.approx(roc_auc_score(y, p), abs=1e-12)
    assert after["intercept"] == pytest.approx(np.log(3 / 7), abs=1e-9)
    c = [row for row in r["subgroups"]["rows"] if row["level"] == "C"][0]
    assert c["roc_auc"] is None and c["undefined"]["roc_auc"] == "the group has only class 0"
    html = r.to_html()
    assert "undefined (its variance is zero: every prediction is 0, 0.5 or 1)" in html
    assert "undefined (the group has only class 0)" in html


def test_reversing_calibrator_is_flagged():
    """Issue 11 §4: a hand-built Platt calibrator with a negative slope inverts the ranking."""
    rng = np.random.default_rng(2)
    raw = rng.uniform(0.05, 0.95, 300)
    y = (rng.random(300) < raw).astype(float)
    reversed_ = _sigmoid(-1.5 * _logit(raw) - 0.2)
    r = evaluate(y, reversed_, p_uncalibrated=raw, n_bootstrap=0)
    ranking = r["calibration"]["ranking"]
    assert ranking["status"] == "reversed" and ranking["flagged"]
    assert "reverses the model's ranking" in ranking["explanation"]
    assert r["calibration"]["after"]["roc_auc"] == pytest.approx(1 - roc_auc_score(y, raw), abs=1e-12)
    assert any(n.startswith("Warning: Calibration reverses") for n in r["notes"])
    assert "ranking reversed" in r.to_html()
    ok = evaluate(y, _sigmoid(0.8 * _logit(raw)), p_uncalibrated=raw, n_bootstrap=0)
    assert ok["calibration"]["ranking"] == {
        "status": "preserved",
        "flagged": False,
        "explanation": ok["calibration"]["ranking"]["explanation"],
    }
    assert evaluate(y, raw, n_bootstrap=0)["calibration"]["ranking"] is None


def test_bad_input():
    y = np.array([0, 1, 0, 1])
    p = np.array([0.1, 0.8, 0.3, 0.6])
    with pytest.raises(calibrisk.InvalidInputError, match="p has 3 values but y has 4"):
        evaluate(y, p[:3])
    with pytest.raises(calibrisk.InvalidInputError, match="only class 0"):
        evaluate(np.zeros(4), p)
    with pytest.raises(calibrisk.InvalidInputError, match=r"probabilities must lie in \[0, 1\]"):
        evaluate(y, p * 2)
    with pytest.raises(calibrisk.InvalidInputError, match="either threshold or operating_point"):
        evaluate(y, p, threshold=0.5, operating_point={"threshold": 0.5})
    with pytest.raises(calibrisk.InvalidInputError, match="not an ISO 8601"):
        evaluate(y, p, time=["2023-01-01", "soon", "2023-01-03", "2023-01-04"])
    with pytest.raises(calibrisk.InvalidParamsError, match="time_granularity"):
        evaluate(y, p, time=[1, 2, 3, 4], time_granularity="week")
    with pytest.raises(calibrisk.InvalidParamsError, match="n_bootstrap"):
        evaluate(y, p, n_bootstrap=-5)
    with pytest.raises(calibrisk.InvalidInputError, match="/format"):
        Report('{"format": "something else"}')


# --- rendering in headless Chromium ---------------------------------------------------------

_CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
_CHART_IDS = [
    "chart-roc",
    "chart-pr",
    "chart-reliability",
    "chart-decision-curve",
    "chart-subgroup-1",  # site (ids are generated, never derived from column names)
    "chart-subgroup-2",  # age_band
    "chart-time-rates",
    "chart-time-quality",
    "chart-features",
]


def _chromium(*args, timeout=90):
    cmd = [_CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
           "--no-first-run", "--disable-extensions", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def _load_png(path):
    try:
        from PIL import Image

        return np.asarray(Image.open(path).convert("RGB"), dtype=np.int16)
    except ImportError:  # matplotlib reads PNG without Pillow
        import matplotlib.image

        return (matplotlib.image.imread(str(path))[..., :3] * 255).astype(np.int16)


def test_page_renders_in_headless_chromium(report, tmp_path):
    if _CHROMIUM is None:  # a skipped check is a defect in CI (scripts/install-deps.sh installs it)
        message = "chromium is not installed (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " — required in CI")
        pytest.skip(message)
    page = tmp_path / "report.html"
    html = report.to_html(page)

    # 1. The page loads and parses: the DOM as Chromium built it holds every chart as an SVG.
    dom = _chromium("--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert dom.stdout.rstrip().endswith("</html>")
    for chart_id in _CHART_IDS:
        assert f'id="{chart_id}"' in dom.stdout, chart_id
    assert dom.stdout.count("<svg") >= len(_CHART_IDS)
    assert "Test report" in dom.stdout

    # 2. Every chart draws visible ink: each figure is placed in its own cell of a fixed grid
    #    (same CSS, same SVG), screenshotted once, and each cell is checked for non-background,
    #    coloured pixels.
    style = html[html.index("<style>") : html.index("</style>") + len("</style>")]
    cells = []
    w, h = 460, 340
    for k, chart_id in enumerate(_CHART_IDS):
        start = html.index(f'<figure id="{chart_id}"')
        end = html.index("</figure>", start) + len("</figure>")
        x, y = (k % 3) * w, (k // 3) * h
        cells.append((chart_id, x, y))
        html_cell = f'<div style="position:absolute;left:{x}px;top:{y}px;width:{w}px;height:{h}px">'
        cells[-1] = (chart_id, x, y, html_cell + html[start:end] + "</div>")
    grid = tmp_path / "grid.html"
    grid.write_text(
        "<!DOCTYPE html><html><head><meta charset='utf-8'>" + style + "</head>"
        "<body style='margin:0;background:#fff'>" + "".join(c[3] for c in cells) + "</body></html>",
        encoding="utf-8",
    )
    shot = tmp_path / "grid.png"
    rows = (len(_CHART_IDS) + 2) // 3
    res = _chromium(f"--screenshot={shot}", f"--window-size={3 * w},{rows * h}", grid.as_uri())
    assert res.returncode == 0 and shot.exists(), res.stderr[-2000:]
    img = _load_png(shot)
    assert img.shape[0] >= rows * h and img.shape[1] >= 3 * w
    for chart_id, x, y, _ in cells:
        cell = img[y + 5 : y + h - 5, x + 5 : x + w - 5]
        ink = np.any(cell < 235, axis=2).mean()  # anything darker than near-white
        spread = cell.max(axis=2) - cell.min(axis=2)
        coloured = (spread > 60).mean()  # palette colours, not only grey axes and text
        assert ink > 0.01, f"{chart_id}: blank ({ink:.4f} of pixels inked)"
        assert coloured > 0.0005, f"{chart_id}: no coloured marks ({coloured:.5f})"

    # 3. The full page screenshots without error and is not blank.
    full = tmp_path / "full.png"
    res = _chromium(f"--screenshot={full}", "--window-size=1280,3000", page.as_uri())
    assert res.returncode == 0 and full.exists(), res.stderr[-2000:]
    assert np.any(_load_png(full) < 235, axis=2).mean() > 0.02


def test_missingness_accepts_label_columns():
    # A frame with text and pandas category columns (categorical features as labels): the
    # missingness table counts their missing values like a numeric column's NaN (hand-counted).
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(3)
    n = 400
    y = (rng.random(n) < 0.3).astype(float)
    p = np.clip(0.3 + 0.2 * (y - 0.3) + 0.05 * rng.standard_normal(n), 0.01, 0.99)
    dx = np.where(np.arange(n) % 4 == 0, None, "I10")
    frame = pd.DataFrame({
        "age": np.where(np.arange(n) % 5 == 0, np.nan, 60.0),
        "dx": dx,
        "source": pd.Categorical(np.where(np.arange(n) % 8 == 0, None, "ER")),
    })
    d = evaluate(y, p, X=frame, n_bootstrap=0)["data"]
    miss = {m["name"]: m["missing_fraction"] for m in d["missingness"]}
    assert miss == {"age": pytest.approx(0.2), "dx": pytest.approx(0.25),
                    "source": pytest.approx(0.125)}
