# SPDX-License-Identifier: Apache-2.0
"""calibrisk.train: the library's train_pipeline from Python gives the same model file, byte for
byte, as ``calibrisk train`` on the same data and settings (from the CSV path and from a pandas
DataFrame), and reports bad settings and data as the command does.

The executable is ``$CALIBRISK_CLI`` when set, else ``<repo>/build/bin/calibrisk``.
"""

import csv
import os
import pathlib
import subprocess

import numpy as np
import pytest

import calibrisk
from calibrisk import InvalidInputError, InvalidParamsError

REPO = pathlib.Path(__file__).resolve().parents[2]
CLI = pathlib.Path(os.environ.get("CALIBRISK_CLI", REPO / "build" / "bin" / "calibrisk"))

ROLES = dict(label="readmitted", group_column="patient_id", time_column="encounter_date",
             drop=["encounter_id", "true_risk"], categorical=["site", "age_band"])
ROLE_FLAGS = ["--label", "readmitted", "--group-column", "patient_id", "--time-column",
              "encounter_date", "--drop", "encounter_id", "--drop", "true_risk",
              "--categorical", "site", "--categorical", "age_band"]


def run(*args):
    assert CLI.is_file(), f"the calibrisk executable is not at {CLI}; build it or set CALIBRISK_CLI"
    proc = subprocess.run([str(CLI), *map(str, args)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    path = tmp_path_factory.mktemp("workflow") / "cohort.csv"
    run("generate", "--rows", 2500, "--seed", 5, "--out", path)
    return path


# (CLI flags, calibrisk.train keywords): LR and trees, four calibrators, four policies.
CASES = {
    # no model flag: both default to model auto (the same choice and file), with its parameters
    "auto-defaults": (
        ["--param", "C=0.5", "--param", "n_estimators=40"],
        dict(params={"C": 0.5, "n_estimators": 40}),
    ),
    "gbdt-isotonic-min-recall": (
        ["--model", "gbdt", "--calibration", "isotonic", "--policy", "min-recall=0.8",
         "--param", "n_estimators=30"],
        dict(model="gbdt", calibration="isotonic", min_recall=0.8, params={"n_estimators": 30}),
    ),
    "lr-platt-cost": (
        ["--model", "lr", "--calibration", "platt", "--policy", "cost-fp=1,cost-fn=10",
         "--param", "class_weight=balanced", "--param", "C=0.5"],
        dict(model="lr", calibration="platt", cost_fp=1, cost_fn=10,
             params={"class_weight": "balanced", "C": 0.5}),
    ),
    "gbdt-beta-alert-budget-early-stopping": (
        ["--model", "gbdt", "--calibration", "beta", "--policy", "max-alert-rate=0.2",
         "--param", "early_stopping=true", "--param", "n_estimators=60",
         "--param", "n_iter_no_change=60", "--param", "learning_rate=0.05",
         "--param", "max_leaf_nodes=4", "--seed", "7"],
        dict(model="gbdt", calibration="beta", max_alert_rate=0.2, seed=7,
             params={"early_stopping": True, "n_estimators": 60, "n_iter_no_change": 60,
                     "learning_rate": 0.05, "max_leaf_nodes": 4}),
    ),
    "lr-none-fbeta-split": (
        ["--model", "lr", "--calibration", "none", "--policy", "max-f=2",
         "--split", "train=0.5,calibration=0.3,test=0.2", "--param", "missing=mean_with_indicator"],
        dict(model="lr", calibration="none", fbeta=2, split=(0.5, 0.3, 0.2),
             params={"missing": "mean_with_indicator"}),
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_cli_and_python_write_the_same_model_file(cohort, tmp_path, case):
    flags, kwargs = CASES[case]
    cli_model = tmp_path / "cli.json"
    run("train", "--data", cohort, *ROLE_FLAGS, *flags, "--out", cli_model, "--quiet")
    expected = cli_model.read_bytes()

    from_path = calibrisk.train(str(cohort), **ROLES, **kwargs)
    py_model = tmp_path / "py.json"
    from_path.pipeline.save(py_model)
    assert py_model.read_bytes() == expected

    pd = pytest.importorskip("pandas")
    df = pd.read_csv(cohort)
    from_frame = calibrisk.train(df, **ROLES, **kwargs, source="cohort.csv")
    frame_model = tmp_path / "frame.json"
    from_frame.pipeline.save(frame_model)
    assert frame_model.read_bytes() == expected


def test_the_result_holds_the_parts_and_scores_the_test_part_as_the_pipeline(cohort):
    r = calibrisk.train(cohort, **ROLES, model="lr", calibration="isotonic")
    n = len(r.train.rows) + len(r.calibration.rows) + len(r.test.rows)
    assert n == 2500
    assert sorted(np.concatenate([r.train.rows, r.calibration.rows, r.test.rows])) == list(range(n))
    assert {k: v["rows"] for k, v in r.split.items()} == {
        "train": len(r.train.rows), "calibration": len(r.calibration.rows), "test": len(r.test.rows)}
    np.testing.assert_array_equal(r.pipeline.predict_proba(r.test.X)[:, 1], r.test.p)
    assert r.features == r.pipeline.feature_names_in_
    assert r.threshold == r.pipeline.threshold
    # min_recall=0.8 is the default policy: it holds on the calibration part.
    op = calibrisk.operating_point_at(r.calibration.y, r.calibration.p, r.threshold)
    assert op.recall >= 0.8
    report = r.evaluate()
    assert report is not None


def test_text_columns_of_a_csv_are_read_as_categorical_as_the_command_does(cohort, tmp_path):
    """Without categorical=, the text columns site and age_band of the CSV are inferred: the same
    model file as the command's (whose stderr notes them), the provenance lists them, and the
    pipeline scores the test part as when they are declared."""
    roles = {k: v for k, v in ROLES.items() if k != "categorical"}
    flags = ROLE_FLAGS[:ROLE_FLAGS.index("--categorical")]
    cli_model = tmp_path / "cli.json"
    run("train", "--data", cohort, *flags, "--model", "lr", "--out", cli_model)
    with pytest.warns(UserWarning, match="columns of text read as categorical features: 'site'"):
        r = calibrisk.train(cohort, **roles, model="lr")
    r.pipeline.save(tmp_path / "py.json")
    assert (tmp_path / "py.json").read_bytes() == cli_model.read_bytes()
    prov = dict(r.pipeline.provenance["parameters"])
    assert prov["data.inferred_categorical"] == '["site","age_band"]'
    declared = calibrisk.train(cohort, **ROLES, model="lr")
    np.testing.assert_array_equal(r.test.p, declared.test.p)
    with pytest.raises(InvalidInputError, match="column 'site' has the non-numeric value"):
        calibrisk.train(cohort, **roles, text_columns="error")
    with pytest.raises(InvalidParamsError, match="text_columns must be 'categorical'"):
        calibrisk.train(cohort, **roles, text_columns="guess")
    pd = pytest.importorskip("pandas")
    with pytest.raises(InvalidInputError, match="column 'site' has the non-numeric value"):
        calibrisk.train(pd.read_csv(cohort), **roles, text_columns="error")


def test_a_label_of_two_text_values_needs_positive_unless_yes_no(cohort, tmp_path):
    rows = list(csv.DictReader(open(cohort, newline="")))
    path = tmp_path / "text_label.csv"
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        for r in rows:
            w.writerow({**r, "readmitted": "back" if r["readmitted"] == "1" else "home"})
    with pytest.raises(InvalidInputError, match="'back' and 'home'; say which is the event"):
        calibrisk.train(path, **ROLES, model="lr")
    r = calibrisk.train(path, **ROLES, model="lr", positive="back")
    coded = calibrisk.train(cohort, **ROLES, model="lr")
    np.testing.assert_array_equal(r.test.p, coded.test.p)
    np.testing.assert_array_equal(r.test.y, coded.test.y)
    prov = dict(r.pipeline.provenance["parameters"])
    assert (prov["data.positive_label"], prov["data.negative_label"]) == ("back", "home")
    with pytest.raises(InvalidInputError, match="--positive 'yes': label column"):
        calibrisk.train(path, **ROLES, model="lr", positive="yes")


def test_bad_settings_and_data_are_named(cohort, tmp_path):
    with pytest.raises(InvalidParamsError, match="model must be 'auto', 'lr' or 'gbdt'"):
        calibrisk.train(cohort, **ROLES, model="xgb")
    with pytest.raises(InvalidParamsError, match="'max_leaves' is not a parameter of gbdt"):
        calibrisk.train(cohort, **ROLES, model="gbdt", params={"max_leaves": 3})
    with pytest.raises(InvalidParamsError, match="'max_leaves' is not a parameter of lr .* or gbdt"):
        calibrisk.train(cohort, **ROLES, params={"max_leaves": 3})
    with pytest.raises(InvalidParamsError, match="n_estimators must be >= 1"):
        calibrisk.train(cohort, **ROLES, params={"n_estimators": 0})
    with pytest.raises(InvalidParamsError, match="at most one policy"):
        calibrisk.train(cohort, **ROLES, min_recall=0.8, fbeta=1)
    with pytest.raises(InvalidParamsError, match="sum to"):
        calibrisk.train(cohort, **ROLES, split=(0.5, 0.5, 0.5))
    with pytest.raises(InvalidParamsError, match="CSV path or a pandas DataFrame"):
        calibrisk.train(np.zeros((3, 3)), **ROLES)
    small = tmp_path / "small.csv"
    small.write_text("x,y\n" + "".join(f"{i},{i % 2}\n" for i in range(10)))
    with pytest.raises(InvalidInputError, match="too few for --split"):
        calibrisk.train(small, label="y")
    with pytest.raises(InvalidInputError, match="has no column 'outcome'"):
        calibrisk.train(small, label="outcome")


def test_calibrated_classifier_time_split_uses_the_split_module():
    # Times with ties: the latest quarter (6 rows) ends inside the tie at time 7, so the cut moves
    # back over both rows at 7: exactly the rows with time >= 7 calibrate (worked by hand).
    t = np.array([(i * 13) % 10 for i in range(24)], dtype=float)
    y = np.array([1 if (i * 7 % 11) < 4 else 0 for i in range(24)])
    X = np.column_stack([y + 0.1 * (np.arange(24) % 5), t])
    clf = calibrisk.CalibratedClassifier(calibrisk.LogisticRegression(), cv="time",
                                         calibration_fraction=0.25).fit(X, y, time=t)
    np.testing.assert_array_equal(clf.split_, (t >= 7).astype(int))
    with pytest.raises(InvalidInputError, match="every row falls in the calibration part"):
        calibrisk.CalibratedClassifier(calibrisk.LogisticRegression(), cv="time").fit(
            X, y, time=np.ones(24))
