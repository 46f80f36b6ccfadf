# SPDX-License-Identifier: Apache-2.0
"""Subgroups (issue 15 §3): intersections, the level cap and the per-group tests with their
multiplicity adjustment, against statsmodels (multipletests, proportions_ztest,
proportion_confint, a Binomial GLM with offset) on the same data; the CLI's --subgroup a*b; the
HTML rendering of data-borne intersection labels in headless Chromium."""
import json
import os
import pathlib
import subprocess

import numpy as np
import pytest
from scipy.special import logit

from calibrisk import InvalidInputError, InvalidParamsError
from calibrisk.report import evaluate

sm = pytest.importorskip("statsmodels.api")
from statsmodels.stats.multitest import multipletests  # noqa: E402
from statsmodels.stats.proportion import proportion_confint, proportions_ztest  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[2]
CLI = pathlib.Path(os.environ.get("CALIBRISK_CLI", REPO / "build" / "bin" / "calibrisk"))


def _data(seed=3, n=3000):
    """Six groups; groups 4 and 5 are truly miscalibrated, so the p-values spread out."""
    rng = np.random.default_rng(seed)
    g = rng.integers(0, 6, n)
    p = rng.uniform(0.05, 0.7, n)
    shift = np.where(g == 4, 0.8, np.where(g == 5, -0.6, 0.0))
    y = (rng.random(n) < 1 / (1 + np.exp(-(logit(p) + shift)))).astype(float)
    sex = np.where(rng.random(n) < 0.5, "F", "M")
    return y, p, g, sex


def _raw_p(report):
    out = []
    for row in report["subgroups"]["rows"]:
        for key in ("recall_p", "calibration_p"):
            if row[key] is not None:
                out.append((row, key))
    return out


@pytest.mark.parametrize("method, sm_method", [("holm", "holm"), ("bh", "fdr_bh")])
def test_adjusted_p_values_match_statsmodels_multipletests(method, sm_method):
    y, p, g, sex = _data()
    report = evaluate(y, p, threshold=0.3, subgroups={"g": g, "sex": sex, "g*sex": None},
                      n_bootstrap=0, min_subgroup_size=40, multiplicity=method)
    tests = _raw_p(report)
    assert report["subgroups"]["n_tests"] == len(tests) > 20
    assert report["subgroups"]["multiplicity"] == method
    raw = np.array([row[key] for row, key in tests])
    _, expected, _, _ = multipletests(raw, alpha=0.05, method=sm_method)
    got = np.array([row[key + "_adjusted"] for row, key in tests])
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0)
    none = evaluate(y, p, threshold=0.3, subgroups={"g": g}, n_bootstrap=0, multiplicity="none")
    for row, key in _raw_p(none):
        assert row[key + "_adjusted"] == row[key]


def test_raw_p_values_and_intervals_match_statsmodels():
    y, p, g, _ = _data()
    thr = 0.3
    report = evaluate(y, p, threshold=thr, subgroups={"g": g}, n_bootstrap=0)
    flagged = p >= thr
    for k, row in enumerate(report["subgroups"]["rows"]):
        m = g == k
        assert row["level"] == str(k) and row["n"] == m.sum()
        # Recall vs the other rows: two-proportion z test (pooled), two-sided.
        tp = np.array([(flagged & m & (y == 1)).sum(), (flagged & ~m & (y == 1)).sum()])
        pos = np.array([(m & (y == 1)).sum(), (~m & (y == 1)).sum()])
        _, p_recall = proportions_ztest(tp, pos)
        assert row["recall_p"] == pytest.approx(p_recall, rel=1e-10)
        assert row["recall_others"] == pytest.approx(tp[1] / pos[1], rel=1e-12)
        lo, hi = proportion_confint(tp[0], pos[0], alpha=0.05, method="wilson")
        assert (row["recall_lower"], row["recall_upper"]) == pytest.approx((lo, hi), rel=1e-9)
        # Calibration: the score test of intercept = 0 in the Binomial GLM with offset logit(p).
        glm = sm.GLM(y[m], np.ones((m.sum(), 1)), family=sm.families.Binomial(),
                     offset=logit(p[m]))
        chi2, p_cal, _ = glm.score_test(np.array([0.0]), k_constraints=1)
        assert row["calibration_z"] ** 2 == pytest.approx(chi2[0], rel=1e-9)
        assert row["calibration_p"] == pytest.approx(p_cal[0], rel=1e-9)
        # The intercept and its Wald interval: the GLM fit.
        fit = glm.fit()
        assert row["calibration_intercept"] == pytest.approx(fit.params[0], abs=1e-7)
        ci = fit.conf_int(0.05)[0]
        assert row["calibration_intercept_lower"] == pytest.approx(ci[0], abs=1e-6)
        assert row["calibration_intercept_upper"] == pytest.approx(ci[1], abs=1e-6)
    # The truly shifted groups are flagged (Holm), each flag with its interval and adjusted p.
    rows = report["subgroups"]["rows"]
    assert rows[4]["flagged"] and rows[5]["flagged"]
    assert "under-predicted" in rows[4]["flags"][0] and "95% CI" in rows[4]["flags"][0]
    assert "adjusted p = " in rows[5]["flags"][0] and "(Holm, " in rows[5]["flags"][0]


def test_intersections_from_python():
    y, p, g, sex = _data(n=600)
    age = np.where(np.arange(600) % 3 == 0, "70+", "<70").astype(object)
    age[5] = None
    by_dict = evaluate(y, p, subgroups={"age": age, "sex": sex, "age*sex": None}, n_bootstrap=0)
    by_tuple = evaluate(y, p, subgroups={"age * sex": (age, sex)}, n_bootstrap=0)
    crossed = [r for r in by_dict["subgroups"]["rows"] if r["column"] == "age*sex"]
    assert [r["level"] for r in crossed] == [
        "age=70+ & sex=F", "age=70+ & sex=M", "age=<70 & sex=F", "age=<70 & sex=M",
        "age=(missing) & sex=" + sex[5]]
    assert [r["n"] for r in crossed] == [r["n"] for r in by_tuple["subgroups"]["rows"]]
    assert sum(r["n"] for r in crossed) == 600
    # A key that names a column wins, even with '*' in it.
    star = evaluate(y, p, subgroups={"a*b": sex}, n_bootstrap=0)
    assert {r["column"] for r in star["subgroups"]["rows"]} == {"a*b"}
    with pytest.raises(InvalidInputError, match=r"subgroups\['age\*sx'\]: there is no column 'sx'"):
        evaluate(y, p, subgroups={"age": age, "age*sx": None}, n_bootstrap=0)
    with pytest.raises(InvalidInputError, match="the key names 2 columns but the tuple holds 3"):
        evaluate(y, p, subgroups={"age*sex": (age, sex, sex)}, n_bootstrap=0)
    with pytest.raises(InvalidInputError, match="appears twice"):
        evaluate(y, p, subgroups={"sex": sex, "sex*sex": None}, n_bootstrap=0)
    with pytest.raises(InvalidParamsError, match="multiplicity must be 'holm', 'bh' or 'none'"):
        evaluate(y, p, subgroups={"sex": sex}, multiplicity="bonferroni")


def test_hundreds_of_levels_are_capped_with_a_note():
    rng = np.random.default_rng(0)
    n = 5000
    y = (rng.random(n) < 0.2).astype(float)
    p = np.full(n, 0.2)
    zip_code = rng.integers(0, 400, n)
    report = evaluate(y, p, subgroups={"zip": zip_code}, n_bootstrap=0, max_subgroup_levels=20)
    rows = report["subgroups"]["rows"]
    counts = np.bincount(zip_code)
    assert len(rows) == 21
    assert sorted(r["n"] for r in rows[:20]) == sorted(np.sort(counts)[-20:].tolist())
    other = n - sum(r["n"] for r in rows[:20])
    assert rows[-1]["level"] == f"({len(counts) - 20} other levels)" and rows[-1]["n"] == other
    (note,) = report["subgroups"]["notes"]
    assert note.startswith(f"Subgroup column 'zip' has {len(counts)} levels, more than "
                           "max_subgroup_levels = 20")
    assert f"({other} rows)" in note
    assert "other levels)" in report.to_html()


def _cli(*args):
    return subprocess.run([str(CLI), *map(str, args)], capture_output=True, text=True,
                          timeout=600)


def test_cli_subgroup_intersection(tmp_path):
    if not CLI.exists():
        pytest.skip("the CLI is not built")
    data = tmp_path / "c.csv"
    assert _cli("generate", "--rows", "4000", "--out", data).returncode == 0
    res = _cli("train", "--data", data, "--label", "readmitted", "--group-column", "patient_id",
               "--time-column", "encounter_date", "--drop", "encounter_id", "--drop",
               "true_risk", "--drop", "site", "--drop", "age_band", "--subgroup", "age_band*sex",
               "--model", "lr", "--out", tmp_path / "m.json", "--report", tmp_path / "r.html",
               "--json", tmp_path / "r.json")
    assert res.returncode == 0, res.stderr
    doc = json.loads((tmp_path / "r.json").read_text())
    rows = [r for r in doc["subgroups"]["rows"] if r["column"] == "age_band*sex"]
    assert rows and all(" & sex=" in r["level"] and r["level"].startswith("age_band=")
                        for r in rows)
    assert doc["subgroups"]["multiplicity"] == "holm"
    res = _cli("evaluate", "--model", tmp_path / "m.json", "--data", data, "--label",
               "readmitted", "--subgroup", "age_band*sx", "--report", tmp_path / "r2.html")
    assert res.returncode == 3
    assert "--subgroup age_band*sx (in" in res.stderr and "there is no column 'sx'" in res.stderr
    res = _cli("evaluate", "--model", tmp_path / "m.json", "--data", data, "--label",
               "readmitted", "--subgroup", "site*age_band", "--report", tmp_path / "r3.html",
               "--json", tmp_path / "r3.json")
    assert res.returncode == 0, res.stderr
    doc = json.loads((tmp_path / "r3.json").read_text())
    assert any(r["level"] == "site=C & age_band=80+" for r in doc["subgroups"]["rows"])


def test_hostile_intersection_labels_render_inert(tmp_path):
    from _chromium import dump_dom, require_chromium
    from test_report_injection import PAYLOADS, TITLE, _assert_inert

    require_chromium()
    rng = np.random.default_rng(5)
    n = 600
    y = (rng.random(n) < 0.3).astype(float)
    p = np.clip(0.3 + rng.normal(0, 0.1, n), 0.01, 0.99)
    a = np.array(PAYLOADS[:4], dtype=object)[np.arange(n) % 4]
    b = np.array(PAYLOADS[4:6], dtype=object)[np.arange(n) % 2]
    report = evaluate(y, p, threshold=0.3, subgroups={PAYLOADS[0] + "*" + PAYLOADS[2]: (a, b)},
                      title=TITLE, n_bootstrap=0, max_subgroup_levels=3)
    page = tmp_path / "r.html"
    report.to_html(page)
    levels = [r["level"] for r in report["subgroups"]["rows"]]
    assert any(PAYLOADS[4] in lv for lv in levels)
    _assert_inert(dump_dom(page), levels[:3])
