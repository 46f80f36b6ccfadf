# SPDX-License-Identifier: Apache-2.0
"""Model files written by earlier releases keep loading and scoring bit-identically.

tests/golden/v<release>/ holds the files one release wrote (tests/golden/make_golden.py) with the
scores that release computed: the CLI-trained files are scored here through ``calibrisk predict``
(schema with a categorical column, every calibrator, an operating point), the Python-assembled ones
through ``calibrisk.load`` and through the CLI. Equality is exact: a hospital that upgrades must get
the same numbers from the same file.
"""
import csv
import os
import pathlib
import subprocess

import numpy as np
import pytest

import calibrisk as cr

REPO = pathlib.Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "golden"
CLI = pathlib.Path(os.environ.get("CALIBRISK_CLI", REPO / "build" / "bin" / "calibrisk"))
MODELS = sorted(GOLDEN.glob("v*/*.json"))


def _read(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_golden_files_are_present():
    assert len(MODELS) >= 10


@pytest.mark.parametrize("model", MODELS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_golden_file_scores_bit_identically_through_the_cli(model, tmp_path):
    assert CLI.exists(), f"the calibrisk executable is not at {CLI}; build it or set CALIBRISK_CLI"
    rows = model.parent / ("rows_numeric.csv" if model.stem.startswith("py_") else "rows.csv")
    out = tmp_path / "scores.csv"
    subprocess.run([str(CLI), "predict", "--model", str(model), "--data", str(rows),
                    "--out", str(out), "--quiet"], check=True, capture_output=True)
    got = _read(out)
    want = _read(model.with_suffix("").with_suffix(".scores.csv"))
    assert len(got) == len(want) > 0
    for i, (g, w) in enumerate(zip(got, want)):
        assert float(g["risk"]) == float(w["risk"]), f"row {i}"
        if "flag" in w:
            assert g["flag"] == w["flag"], f"row {i}"


@pytest.mark.parametrize("model", [m for m in MODELS if m.stem.startswith("py_")],
                         ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_golden_file_scores_bit_identically_from_python(model):
    pipe = cr.load(str(model))
    X = np.genfromtxt(model.parent / "rows_numeric.csv", delimiter=",", skip_header=1)
    want = np.array([float(r["risk"]) for r in _read(model.with_suffix("").with_suffix(".scores.csv"))])
    np.testing.assert_array_equal(pipe.predict_proba(X)[:, 1], want)
    np.testing.assert_array_equal([pipe.predict_proba_row(r) for r in X], want)


def test_unseen_label_in_an_old_file_is_scored_as_missing(tmp_path):
    # A 1.0 file stores no unseen_as_missing flag: the loader derives it from the category labels,
    # so a site label training never saw is scored like a missing site, not like site "A".
    model = GOLDEN / "v0.1.0" / "lr_platt.json"
    with open(model.parent / "rows.csv", newline="") as f:
        rows = list(csv.reader(f))
    header, first = rows[0], rows[1]
    site = header.index("site")
    data = tmp_path / "rows.csv"
    variants = {"unseen": "Z", "missing": "", "A": "A"}
    with open(data, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        for label in variants.values():
            w.writerow(first[:site] + [label] + first[site + 1:])
    out = tmp_path / "scores.csv"
    subprocess.run([str(CLI), "predict", "--model", str(model), "--data", str(data),
                    "--out", str(out), "--quiet"], check=True, capture_output=True)
    risk = dict(zip(variants, (float(r["risk"]) for r in _read(out))))
    assert risk["unseen"] == risk["missing"]
    assert risk["unseen"] != risk["A"]


def test_format_1_8_standardized_lr_scores_bit_identically(tmp_path):
    # tests/golden/format-1.8/README.md: the workflow LR with penalty_scale = standardized.
    d = GOLDEN / "format-1.8"
    out = tmp_path / "scores.csv"
    subprocess.run([str(CLI), "predict", "--model", str(d / "lr_standardized.json"), "--data",
                    str(d / "rows.csv"), "--out", str(out), "--quiet"], check=True,
                   capture_output=True)
    got, want = _read(out), _read(d / "lr_standardized.scores.csv")
    assert len(got) == len(want) >= 20
    for i, (g, w) in enumerate(zip(got, want)):
        assert float(g["risk"]) == float(w["risk"]) and g["flag"] == w["flag"], f"row {i}"
    pipe = cr.load(str(d / "lr_standardized.json"))
    assert pipe.to_string() == (d / "lr_standardized.json").read_text()
