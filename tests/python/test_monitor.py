# SPDX-License-Identifier: Apache-2.0
"""Monitoring (docs/monitoring.md): Pipeline.monitor against a numpy computation of the PSI from
the stored reference, `calibrisk monitor` exit codes and JSON equal to Python's, the HTML page
(escaped, rendered in headless Chromium) and models saved before format 1.3."""
import csv
import json
import os
import pathlib
import shutil
import subprocess

import numpy as np
import pytest
from statsmodels.nonparametric.smoothers_lowess import lowess

import calibrisk as cr

REPO = pathlib.Path(__file__).resolve().parents[2]
CLI = pathlib.Path(os.environ.get("CALIBRISK_CLI", REPO / "build" / "bin" / "calibrisk"))
GOLDEN = REPO / "tests" / "golden"
EXIT_DATA, EXIT_ALARM = 3, 5
ODD = "x<2>&"  # a feature name that must be escaped in HTML


def run(*args):
    assert CLI.is_file(), f"the calibrisk executable is not at {CLI}; set CALIBRISK_CLI"
    return subprocess.run([str(CLI), *map(str, args)], capture_output=True, text=True,
                          timeout=600)


def draw(n, seed, x0_shift=0.0, x2_shift=0.0):
    """x0, x1 (risk factors), x2 (unused) ~ N(0, 1); y ~ Bernoulli(sigmoid(-1 + x0 + 0.5 x1))."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    X[:, 0] += x0_shift
    X[:, 2] += x2_shift
    p = 1 / (1 + np.exp(-(-1 + X[:, 0] + 0.5 * X[:, 1])))
    return X, (rng.uniform(size=n) < p).astype(np.float64)


def write_csv(path, X, y=None):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["x0", "x1", ODD] + (["y"] if y is not None else []))
        for i in range(len(X)):
            w.writerow([repr(float(v)) for v in X[i]] + ([int(y[i])] if y is not None else []))


def numpy_psi(expected, actual, eps=1e-4):
    e, a = np.maximum(expected, eps), np.maximum(actual, eps)
    return float(np.sum((a - e) * np.log(a / e)))


@pytest.fixture(scope="module")
def pipe():
    X, y = draw(4000, 1)
    model = cr.LogisticRegression().fit(X, y)
    return cr.Pipeline.from_estimators(model, operating_point=0.3, feature_names=["x0", "x1", ODD],
                                       X_train=X, y_train=y)


def test_psi_equals_a_numpy_computation_from_the_stored_reference(pipe):
    ref = json.loads(pipe.to_string())["reference"]
    assert json.loads(pipe.to_string())["format_version"] == "1.3"
    Xb, _ = draw(2000, 5, x2_shift=0.7)
    Xb[:50, 1] = np.nan
    result = pipe.monitor(Xb)
    for j, feat in enumerate(ref["features"]):
        x = Xb[:, j]
        edges = np.asarray(feat["edges"])
        present = x[~np.isnan(x)]
        # bin b holds e_b < x <= e_{b+1}: the number of edges strictly below x
        counts = np.bincount(np.searchsorted(edges, present, side="left"),
                             minlength=len(edges) + 1)
        actual = np.append(counts, np.isnan(x).sum()) / len(x)
        expected = np.append(feat["shares"], feat["missing_share"])
        assert result["features"][j]["psi"] == pytest.approx(numpy_psi(expected, actual), rel=1e-12)
    # The risk distribution: from_estimators takes it on the training rows themselves.
    sc = ref["score"]
    risk = pipe.predict_risk(Xb)
    counts = np.bincount(np.searchsorted(sc["edges"], risk, side="left"),
                         minlength=len(sc["edges"]) + 1)
    assert result["score"]["psi"] == pytest.approx(numpy_psi(sc["shares"], counts / len(risk)),
                                                   rel=1e-12)
    assert result["features"][2]["psi_status"] == "alarm"  # PSI about 0.49 (delta^2)
    assert result["features"][0]["status"] == "ok"


def test_thresholds_are_keywords_and_unknown_ones_are_refused(pipe):
    Xb, _ = draw(2000, 6, x2_shift=0.7)
    assert pipe.monitor(Xb)["features"][2]["psi_status"] == "alarm"
    relaxed = pipe.monitor(Xb, psi_warn=5.0, psi_alarm=10.0)
    assert relaxed["features"][2]["psi_status"] == "ok"
    assert relaxed["thresholds"]["psi_alarm"] == 10.0
    with pytest.raises(cr.InvalidParamsError, match="psi_alarm"):
        pipe.monitor(Xb, psi_alarm=-1.0)
    with pytest.raises(cr.InvalidParamsError, match="unknown threshold"):
        pipe.monitor(Xb, psi_alarmm=0.3)


def test_golden_models_without_reference_get_a_note():
    models = sorted(GOLDEN.glob("v*/py_*.json"))
    assert models
    for model in models:
        p = cr.load(model)
        rows = np.genfromtxt(model.parent / "rows_numeric.csv", delimiter=",", skip_header=1)
        r = p.monitor(rows)
        assert r["has_reference"] is False
        assert r["score"]["psi"] is None
        assert any("needs a model trained with this release" in n for n in r["notes"])


@pytest.fixture(scope="module")
def cli_model(tmp_path_factory):
    d = tmp_path_factory.mktemp("monitor")
    X, y = draw(6000, 2)
    write_csv(d / "train.csv", X, y)
    proc = run("train", "--data", d / "train.csv", "--label", "y", "--model", "lr",
               "--calibration", "platt", "--out", d / "model.json", "--quiet")
    assert proc.returncode == 0, proc.stderr
    return d


def test_cli_json_equals_python_and_exit_codes(cli_model):
    d = cli_model
    Xb, yb = draw(3000, 3)
    write_csv(d / "same.csv", Xb, yb)
    proc = run("monitor", "--model", d / "model.json", "--data", d / "same.csv", "--label", "y",
               "--json", d / "same.json", "--quiet")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    cli = json.loads((d / "same.json").read_text())
    py = cr.load(d / "model.json").monitor(Xb, yb)
    assert cli == py
    assert cli["status"] != "alarm"
    # ICI against statsmodels' lowess of y on the risk (frac 2/3, it=0; binned fit within 2e-4).
    risk = cr.load(d / "model.json").predict_proba(Xb)[:, 1]
    sm = lowess(yb, risk, frac=2.0 / 3.0, it=0, delta=0.0, return_sorted=False)
    assert cli["labels"]["ici"] == pytest.approx(np.mean(np.abs(sm - risk)), abs=2e-4)

    Xs, ys = draw(3000, 4, x0_shift=0.8)
    write_csv(d / "shifted.csv", Xs, ys)
    proc = run("monitor", "--model", d / "model.json", "--data", d / "shifted.csv", "--quiet")
    assert proc.returncode == EXIT_ALARM, proc.stdout + proc.stderr
    assert "x0: PSI" in proc.stdout
    assert "alert rate" in proc.stdout


def test_cli_fail_on_warn(cli_model):
    d = cli_model
    Xb, _ = draw(3000, 7, x2_shift=0.4)  # PSI about 0.16 (delta^2): a warning, not an alarm
    write_csv(d / "mild.csv", Xb)
    proc = run("monitor", "--model", d / "model.json", "--data", d / "mild.csv", "--json",
               d / "mild.json", "--quiet")
    res = json.loads((d / "mild.json").read_text())
    assert res["features"][2]["psi_status"] == "warn"
    assert [f["status"] for f in res["features"][:2]] == ["ok", "ok"]
    # Exit 5 only on an alarm by default (the rate checks may also see sampling noise here).
    assert proc.returncode == (EXIT_ALARM if res["status"] == "alarm" else 0)
    proc = run("monitor", "--model", d / "model.json", "--data", d / "mild.csv", "--fail-on",
               "warn", "--quiet")
    assert proc.returncode == EXIT_ALARM


def test_cli_missing_feature_is_a_data_error(cli_model):
    d = cli_model
    (d / "partial.csv").write_text("x0,x1\n0.1,0.2\n")
    proc = run("monitor", "--model", d / "model.json", "--data", d / "partial.csv",
               "--json", d / "partial.json", "--quiet")
    assert proc.returncode == EXIT_DATA
    assert "data error" in proc.stderr
    assert "x<2>&" in proc.stderr and "lacks the column" in proc.stderr
    assert not (d / "partial.json").exists()


_CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def test_html_page_is_escaped_and_renders(cli_model):
    d = cli_model
    Xs, _ = draw(2000, 8, x2_shift=1.0)
    write_csv(d / "page.csv", Xs)
    proc = run("monitor", "--model", d / "model.json", "--data", d / "page.csv", "--report",
               d / "page.html", "--quiet")
    assert proc.returncode == EXIT_ALARM
    html = (d / "page.html").read_text()
    assert "x&lt;2&gt;&amp;" in html and "x<2>&" not in html
    assert html.rstrip().endswith("</html>")
    if _CHROMIUM is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed — required in CI")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    cmd = [_CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
           "--disable-extensions", "--dump-dom", (d / "page.html").as_uri()]
    dom = subprocess.run(cmd, capture_output=True, text=True, timeout=90)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "<svg" in dom.stdout
    assert "x&lt;2&gt;&amp;" in dom.stdout
    assert "<script" not in dom.stdout


def test_format_13_golden_file_scores_bit_identically_and_keeps_its_bytes(tmp_path):
    gold = GOLDEN / "format-1.3"
    model = gold / "gbdt_beta_reference.json"
    assert cr.load(model).to_string() == model.read_text()
    proc = run("predict", "--model", model, "--data", gold / "rows.csv", "--out",
               tmp_path / "s.csv", "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "s.csv").read_text() == (gold / "gbdt_beta_reference.scores.csv").read_text()


def test_rate_checks_use_newcombe_intervals_like_statsmodels(pipe):
    from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

    Xb, _ = draw(1500, 9, x0_shift=0.3)
    r = pipe.monitor(Xb)["alert_rate"]
    x2 = round(r["expected"] * r["expected_n"])
    lo, hi = confint_proportions_2indep(r["successes"], r["n"], x2, r["expected_n"],
                                        method="newcomb", compare="diff", alpha=0.01)
    assert r["difference_interval"] == pytest.approx([lo, hi], abs=1e-9)
    assert r["alarm_interval"] == pytest.approx(
        list(proportion_confint(r["successes"], r["n"], alpha=0.01, method="wilson")), abs=1e-9)
    assert r["status"] == ("alarm" if lo > 0 or hi < 0 else r["status"])


def test_cli_counts_unseen_labels_of_a_categorical_column(tmp_path):
    # A model trained by the CLI on a label column (format 1.4 level table): a batch where 30% of
    # the rows carry a label the training file never had. The scoring policy would read those as
    # missing; the monitor counts them as unseen categories (and the PSI's unseen bin holds them).
    rng = np.random.default_rng(11)
    n = 3000
    sites = np.array(["north", "south", "east"])

    def table(path, site, with_label=True):
        x = rng.normal(size=len(site))
        y = (rng.uniform(size=len(site)) < 1 / (1 + np.exp(-(x - 1)))).astype(int)
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["x", "site"] + (["y"] if with_label else []))
            for i in range(len(site)):
                w.writerow([repr(float(x[i])), site[i]] + ([y[i]] if with_label else []))

    table(tmp_path / "train.csv", sites[rng.integers(0, 3, n)])
    proc = run("train", "--data", tmp_path / "train.csv", "--label", "y", "--model", "lr",
               "--categorical", "site", "--out", tmp_path / "model.json", "--quiet")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    batch = sites[rng.integers(0, 3, 1000)].astype(object)
    batch[:300] = "west"
    table(tmp_path / "batch.csv", batch, with_label=False)
    proc = run("monitor", "--model", tmp_path / "model.json", "--data", tmp_path / "batch.csv",
               "--json", tmp_path / "batch.json", "--quiet")
    res = json.loads((tmp_path / "batch.json").read_text())
    site = next(f for f in res["features"] if f["name"] == "site")
    assert site["n_unseen_category"] == 300
    assert site["unseen_rate"] == pytest.approx(0.3)
    assert site["unseen_status"] == "alarm"
    assert site["missing_rate"] == 0
    assert proc.returncode == EXIT_ALARM
