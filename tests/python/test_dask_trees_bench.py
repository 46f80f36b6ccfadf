# SPDX-License-Identifier: Apache-2.0
"""Smoke check of benchmarks/dask_trees.py (the distributed-trees benchmark of docs/distributed.md):
a tiny --quick run, calibrisk only, writes the documented JSON; the determinism check reports the
calibrisk models identical on every cluster and to the single-process fit when the Dask trees
estimator exists, and says why the Dask fit was skipped when it does not. Figures are not checked
(no timed tests)."""

import json
import os
import pathlib
import subprocess
import sys

import pytest

pytest.importorskip("dask")
pytest.importorskip("distributed")

import calibrisk.dask as cdask  # noqa: E402

SCRIPT = pathlib.Path(__file__).resolve().parents[2] / "benchmarks" / "dask_trees.py"


def test_quick_run_writes_the_documented_json(tmp_path):
    out = tmp_path / "out.json"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    subprocess.run([sys.executable, str(SCRIPT), "--quick", "--rows", "3000", "--features", "5",
                    "--rounds", "5", "--libraries", "calibrisk", "--no-three", "--json", str(out)],
                   check=True, env=env, timeout=300, capture_output=True)
    r = json.loads(out.read_text())
    assert {"config", "settings", "environment", "data", "fit", "determinism", "communication",
            "cost_model", "targets"} <= set(r)
    assert r["data"]["rows"] == 3000 and r["data"]["features"] == 5
    assert r["environment"]["loadavg_start"] and r["environment"]["loadavg_end"]

    # histogram bytes per split = total bins x 24 (int64 g, h, n); 5 features of <= 256 bins
    comm = r["communication"]
    assert 5 * 2 <= comm["total_bins"] <= 5 * 256
    assert comm["bytes_per_split_per_worker"] == comm["total_bins"] * 24
    assert comm["bytes_per_tree_per_worker"] == comm["bytes_per_split_per_worker"] * 31
    assert comm["measured_split_round_trip_s"] > 0
    assert [row["workers"] for row in r["cost_model"]["table"]] == [16, 32, 64]

    single = r["fit"]["calibrisk"]["single_2_threads"]
    assert single["seconds"] > 0 and 0.5 < single["roc_auc"] <= 1
    det = r["determinism"]["calibrisk"]
    local = [run for run in det["runs"] if not run["dask"]]
    assert [run["threads"] for run in local] == [1, 2]
    assert local[0]["sha256"] == local[1]["sha256"]  # the thread count never changes the model

    if hasattr(cdask, "DaskGradientBoostingClassifier"):
        dask_runs = [run for run in det["runs"] if run["dask"]]
        assert len(dask_runs) == 2 and all("sha256" in run for run in dask_runs)
        assert det["failed_fits"] == 0
        assert det["identical_across_clusters"] is True
        assert det["identical_to_single_process"] is True
        assert all(run["max_abs_dprob_vs_1_worker"] == 0.0 for run in det["runs"])
        assert r["fit"]["calibrisk"]["dask_2x1"]["seconds"] > 0
    else:
        assert "DaskGradientBoostingClassifier" in det["skipped"]
        assert "DaskGradientBoostingClassifier" in r["fit"]["calibrisk"]["dask_2x1"]["skipped"]
