# SPDX-License-Identifier: Apache-2.0
"""calibrisk.Pipeline: assembly from fitted estimators, save / load through the C++ loader with
bit-identical scores, pickling, drift checks and load errors."""

import os
import pathlib
import pickle
import subprocess
import sys

import numpy as np
import pytest

import calibrisk
from calibrisk import ModelFormatError
from calibrisk.exceptions import InvalidInputError
from calibrisk.pipeline import _calibrated_to_pipeline

REPO = pathlib.Path(__file__).resolve().parents[2]


def _data(n=1200, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    X[:, 3] = rng.integers(0, 4, size=n)  # an integer-coded category
    X[rng.random(n) < 0.1, 1] = np.nan     # missing values
    z = 1.2 * X[:, 0] - 0.8 * np.nan_to_num(X[:, 1]) + 0.4 * X[:, 3] - 0.5
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(np.int64)
    return X, y


@pytest.fixture(scope="module")
def data():
    X, y = _data()
    return X[:600], y[:600], X[600:900], y[600:900], X[900:], y[900:]


def _same_bits(a, b):
    a = np.ascontiguousarray(a, dtype=np.float64)
    b = np.ascontiguousarray(b, dtype=np.float64)
    return a.shape == b.shape and a.tobytes() == b.tobytes()


def _models():
    return {
        "lr": calibrisk.LogisticRegression(C=0.5, n_threads=1),
        "gbdt": calibrisk.GradientBoostingClassifier(n_estimators=15, max_leaf_nodes=7,
                                                     n_threads=1, random_state=3),
    }


def _calibrators():
    return {
        "none": (None, None),
        "platt-margin": (calibrisk.PlattCalibrator(input="margin"), "margin"),
        "platt-probability": (calibrisk.PlattCalibrator(input="probability"), "probability"),
        "isotonic": (calibrisk.IsotonicCalibrator(), "probability"),
        "isotonic-margin": (calibrisk.IsotonicCalibrator(), "margin"),
        "beta": (calibrisk.BetaCalibrator(), "probability"),
    }


@pytest.mark.parametrize("model_name", ["lr", "gbdt"])
@pytest.mark.parametrize("cal_name", list(_calibrators()))
def test_saved_file_scores_exactly_like_the_estimators(data, tmp_path, model_name, cal_name):
    X_fit, y_fit, X_cal, y_cal, X_test, y_test = data
    model = _models()[model_name].fit(X_fit, y_fit)
    cal, kind = _calibrators()[cal_name]

    def scores(X):
        return model.decision_function(X) if kind == "margin" else model.predict_proba(X)[:, 1]

    if cal is not None:
        cal.fit(scores(X_cal), y_cal)
        expected = cal.predict(scores(X_test))  # oracle: the fitted parts composed in Python
    else:
        expected = model.predict_proba(X_test)[:, 1]
    op = calibrisk.select_threshold(y_cal, cal.predict(scores(X_cal)) if cal is not None
                                    else model.predict_proba(X_cal)[:, 1], min_recall=0.7)
    pipe = calibrisk.Pipeline.from_estimators(model, cal, op, X_train=X_fit, y_train=y_fit,
                                              calibrator_input=kind)
    assert _same_bits(pipe.predict_risk(X_test), expected)

    path = tmp_path / "model.calibrisk.json"
    pipe.save(path)
    loaded = calibrisk.load(path)  # the C++ loader
    assert _same_bits(loaded.predict_risk(X_test), expected)
    assert _same_bits(loaded.decision_function(X_test), model.decision_function(X_test))
    # One row at a time through the allocation-free C++ row path: the same bits.
    rows = np.array([loaded.predict_proba_row(r) for r in X_test])
    assert _same_bits(rows, expected)
    # Thresholded flags and the scikit-learn shaped probabilities.
    assert np.array_equal(loaded.predict(X_test), (expected >= op.threshold).astype(np.int64))
    proba = loaded.predict_proba(X_test)
    assert proba.shape == (len(X_test), 2)
    assert np.allclose(proba.sum(axis=1), 1.0)
    # The file is deterministic: saving the loaded pipeline reproduces it byte for byte.
    assert loaded.to_string() == path.read_text()
    assert loaded.operating_point["threshold"] == op.threshold
    assert loaded.operating_point["policy"] == op.policy
    assert loaded.operating_point["figures"]["recall"] == op.recall
    assert loaded.calibrator_input == (kind or "probability")


def test_schema_provenance_and_fingerprint(data):
    X_fit, y_fit, *_ = data
    model = calibrisk.LogisticRegression(n_threads=1).fit(X_fit, y_fit)
    names = ["age", "lab", "bp", "source", "score"]
    pipe = calibrisk.Pipeline.from_estimators(model, feature_names=names, X_train=X_fit,
                                              y_train=y_fit, created_at="2026-01-01T00:00:00Z")
    assert pipe.feature_names_in_ == names
    schema = pipe.schema
    assert schema[0]["min"] == np.nanmin(X_fit[:, 0]) and schema[0]["max"] == np.nanmax(X_fit[:, 0])
    assert schema[1]["missing_rate"] == pytest.approx(np.isnan(X_fit[:, 1]).mean(), abs=1e-15)
    assert schema[3]["categorical"] and schema[3]["categories"] == [0, 1, 2, 3]
    assert not schema[0]["categorical"]
    prov = pipe.provenance
    assert prov["training_data"]["rows"] == 600 and prov["training_data"]["cols"] == 5
    assert prov["training_data"]["prevalence"] == pytest.approx(y_fit.mean())
    assert len(prov["training_data"]["sha256"]) == 64
    assert prov["parameters"]["model.class"] == "LogisticRegression"
    assert prov["created_at"] == "2026-01-01T00:00:00Z"
    assert pipe.threshold == 0.5 and pipe.operating_point["policy"] == "default"
    # Same data in float32 Fortran order: same fingerprint (values equal as float64 after cast).
    Xf = np.asfortranarray(X_fit.astype(np.float32))
    fa = calibrisk._core._fingerprint_data(Xf, y_fit.astype(np.float64))
    fb = calibrisk._core._fingerprint_data(Xf.astype(np.float64), y_fit.astype(np.float64))
    assert fa["sha256"] == fb["sha256"]


def test_dataframe_columns_are_matched_by_name(data):
    pd = pytest.importorskip("pandas")
    X_fit, y_fit, _, _, X_test, _ = data
    names = ["a", "b", "c", "d", "e"]
    model = calibrisk.LogisticRegression(n_threads=1).fit(pd.DataFrame(X_fit, columns=names), y_fit)
    pipe = calibrisk.Pipeline.from_estimators(model)
    assert pipe.feature_names_in_ == names
    df = pd.DataFrame(X_test, columns=names)
    shuffled = df[["c", "a", "e", "b", "d"]]
    assert _same_bits(pipe.predict_risk(shuffled), pipe.predict_risk(X_test))
    with pytest.raises(InvalidInputError, match="missing"):
        pipe.predict_risk(df.drop(columns=["b"]))


def test_pickle_round_trip_is_exact(data):
    X_fit, y_fit, X_cal, y_cal, X_test, _ = data
    model = _models()["gbdt"].fit(X_fit, y_fit)
    cal = calibrisk.IsotonicCalibrator().fit(model.predict_proba(X_cal)[:, 1], y_cal)
    pipe = calibrisk.Pipeline.from_estimators(model, cal, 0.3, X_train=X_fit)
    clone = pickle.loads(pickle.dumps(pipe))
    assert _same_bits(clone.predict_risk(X_test), pipe.predict_risk(X_test))
    assert clone.to_string() == pipe.to_string()
    assert clone.threshold == 0.3 and clone.operating_point["policy"] == "fixed"


def test_check_inputs_reports_drift_without_changing_scores(data):
    X_fit, y_fit, *_ , X_test, _ = data
    model = calibrisk.LogisticRegression(n_threads=1).fit(X_fit, y_fit)
    # x3 is declared categorical (an unseen code is then scored as missing and counted once, as
    # unseen); the other integer columns are detected automatically and stay numbers.
    pipe = calibrisk.Pipeline.from_estimators(model, X_train=X_fit, y_train=y_fit, categorical=[3])
    clean = pipe.check_inputs(X_fit)
    assert clean["ok"] and not clean["has_drift"]
    drifted = X_test.copy()
    drifted[:5, 0] = 100.0           # far outside the training range
    drifted[:, 3][:3] = 9            # unseen category code
    drifted[:150, 2] = np.nan        # 50% missing where training had none
    before = pipe.predict_risk(X_test[5:])
    report = pipe.check_inputs(drifted)
    assert report["ok"] and report["has_drift"]
    by_name = {f["name"]: f for f in report["features"]}
    natural = int((X_test[5:, 0] > np.nanmax(X_fit[:, 0])).sum())  # already above in test data
    assert by_name["x0"]["n_above_max"] == 5 + natural
    assert by_name["x0"]["example_rows"][:2] == [0, 1]
    assert by_name["x3"]["n_unseen_category"] == 3
    assert by_name["x2"]["missing_rate_drift"] and by_name["x2"]["missing_rate"] == 0.5
    assert "unseen category" in report["summary"]
    assert _same_bits(pipe.predict_risk(X_test[5:]), before)
    wrong = pipe.check_inputs(X_test[:, :4])
    assert not wrong["ok"] and "4 columns" in wrong["errors"][0]


def test_calibrated_classifier_exports_one_pipeline(data):
    X_fit, y_fit, X_cal, y_cal, X_test, _ = data
    X = np.vstack([X_fit, X_cal])
    y = np.concatenate([y_fit, y_cal])
    for method in ("isotonic", "sigmoid", "beta"):
        clf = calibrisk.CalibratedClassifier(calibrisk.LogisticRegression(n_threads=1),
                                             method=method, cv=3, ensemble=False).fit(X, y)
        pipe = (clf.to_pipeline() if hasattr(clf, "to_pipeline")
                else _calibrated_to_pipeline(clf))
        assert _same_bits(pipe.predict_risk(X_test), clf.predict_proba(X_test)[:, 1]), method
        assert calibrisk.loads(pipe.to_string()).calibrator_type == {
            "isotonic": "isotonic", "sigmoid": "platt", "beta": "beta"}[method]
        assert pipe.provenance["parameters"]["calibrated_classifier.method"] == repr(method)
    ens = calibrisk.CalibratedClassifier(calibrisk.LogisticRegression(n_threads=1), cv=3,
                                         ensemble=True).fit(X, y)
    with pytest.raises(InvalidInputError, match="ensemble=False"):
        _calibrated_to_pipeline(ens)


def test_load_errors_are_model_format_errors(data, tmp_path):
    X_fit, y_fit, *_ = data
    model = calibrisk.LogisticRegression(n_threads=1).fit(X_fit, y_fit)
    text = calibrisk.Pipeline.from_estimators(model).to_string()
    assert issubclass(ModelFormatError, ValueError)
    with pytest.raises(ModelFormatError, match="invalid JSON at byte"):
        calibrisk.loads(text[: len(text) // 2])
    with pytest.raises(ModelFormatError, match="checksum does not match"):
        calibrisk.loads(text.replace('"policy": "default"', '"policy": "edited"'))
    with pytest.raises(ModelFormatError, match="newer major format version"):
        calibrisk.loads(text.replace(f'"format_version": "{calibrisk.pipeline.FORMAT_VERSION}"',
                                     '"format_version": "9.0"'),
                        verify_checksum=False)
    with pytest.raises(ModelFormatError, match="cannot open"):
        calibrisk.load(tmp_path / "missing.json")
    with pytest.raises(ModelFormatError, match="empty"):
        calibrisk.loads("")
    bad = tmp_path / "bad.json"
    bad.write_bytes(text.encode()[:100])
    with pytest.raises(ValueError):
        calibrisk.load(bad)
    # Not errors of the file: wrong inputs and unsupported estimators.
    pipe = calibrisk.loads(text)
    with pytest.raises(InvalidInputError, match="columns"):
        pipe.predict_risk(X_fit[:, :3])
    from sklearn.linear_model import LogisticRegression as SkLR

    with pytest.raises(InvalidInputError, match="calibrisk LogisticRegression"):
        calibrisk.Pipeline.from_estimators(SkLR().fit(np.nan_to_num(X_fit), y_fit))
    with pytest.raises(InvalidInputError):
        calibrisk.Pipeline.from_estimators(model, operating_point=float("nan"))


def test_exports():
    from calibrisk import pipeline

    assert set(pipeline.__all__) == {"Pipeline", "Explanation", "load", "loads", "generate_key_pair"}
    assert calibrisk.load is pipeline.load and calibrisk.loads is pipeline.loads


# ---- issue 11: hostile input, save errors, thread count, signatures ---------------------------

def _lr_pipeline(data):
    X_fit, y_fit, *_ = data
    model = calibrisk.LogisticRegression(n_threads=1).fit(X_fit, y_fit)
    return calibrisk.Pipeline.from_estimators(model)


def test_save_failures_raise_oserror(data, tmp_path):
    # The example: save() onto a directory or into a missing directory raised an internal
    # error; it is an OSError with errno, like Python's own file functions.
    pipe = _lr_pipeline(data)
    with pytest.raises(IsADirectoryError, match="Is a directory"):
        pipe.save(tmp_path)
    with pytest.raises(FileNotFoundError, match="missing"):
        pipe.save(tmp_path / "missing" / "model.json")
    with pytest.raises(ModelFormatError, match="is a directory"):
        calibrisk.load(tmp_path)


def test_duplicate_keys_are_rejected(data):
    text = _lr_pipeline(data).to_string()
    twice = text.replace('"value": ', '"value": 0.99, "value": ', 1)
    with pytest.raises(ModelFormatError, match="/threshold/value appears twice"):
        calibrisk.loads(twice, verify_checksum=False)


# Peak RSS from /proc/self/status (VmHWM, kB): getrusage's ru_maxrss survives execve, so a child of
# a large pytest process would report the parent's peak.
_BOMB = """
import calibrisk
try:
    calibrisk.loads("[" * (10 << 20))
except calibrisk.ModelFormatError as e:
    assert "nests deeper than 64 levels" in str(e), str(e)
    with open("/proc/self/status") as f:
        print(next(int(l.split()[1]) for l in f if l.startswith("VmHWM:")))
"""


def test_nesting_bomb_is_rejected_in_modest_memory():
    # The example: 10 MB of '[' took 755 MB to reject. Peak RSS of a fresh interpreter
    # (numpy and the extension imported: about 60-100 MB) must stay far below that.
    # The child imports calibrisk the way this process did (same environment).
    out = subprocess.run([sys.executable, "-c", _BOMB], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    peak_mb = int(out.strip()) / 1024
    assert peak_mb < 250, peak_mb


def _cli():
    # As in test_cli.py: $CALIBRISK_CLI, else the setup build's executable; never skipped.
    cli = pathlib.Path(os.environ.get("CALIBRISK_CLI", REPO / "build" / "bin" / "calibrisk"))
    assert cli.exists(), f"the calibrisk executable is not at {cli}; build it or set CALIBRISK_CLI"
    return str(cli)


@pytest.fixture(scope="module")
def cli_models(tmp_path_factory):
    """The same GBDT model trained by the CLI with --threads 1 and --threads 2."""
    cli = _cli()
    d = tmp_path_factory.mktemp("cli_models")
    csv = d / "cohort.csv"
    subprocess.run([cli, "generate", "--rows", "3000", "--seed", "3", "--out", str(csv), "--quiet"],
                   check=True)
    models = []
    for threads in (1, 2):
        out = d / f"model{threads}.json"
        subprocess.run([cli, "train", "--data", str(csv), "--label", "readmitted",
                        "--drop", "age_band",
                        "--group-column", "patient_id", "--time-column", "encounter_date",
                        "--drop", "encounter_id", "--drop", "true_risk", "--categorical", "site",
                        "--model", "gbdt", "--calibration", "isotonic", "--param",
                        "n_estimators=30", "--out", str(out), "--quiet", "--threads",
                        str(threads)], check=True)
        models.append(out)
    return csv, models


def test_thread_count_does_not_change_the_model_file(cli_models):
    # The example: --threads 1 and --threads 2 gave different model files.
    _, (one, two) = cli_models
    assert b"n_threads" not in one.read_bytes()
    assert one.read_bytes() == two.read_bytes()


def _compact(text):
    """The JSON text without whitespace outside strings. The writer renders every scalar exactly
    as its compact serialisation does, so this reproduces the canonical content byte for byte
    (Python's own float formatting differs from nlohmann's in the 17th digit)."""
    out, in_string, escaped = [], False, False
    for ch in text:
        if in_string:
            out.append(ch)
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
            out.append(ch)
        elif not ch.isspace():
            out.append(ch)
    return "".join(out)


def _reseal(text):
    """A model file's text with its checksum recomputed as the C++ writer does."""
    import hashlib
    import re
    body = re.sub(r'\n  "checksum": "sha256:[0-9a-f]{64}",', "", text)
    digest = hashlib.sha256(_compact(body).encode()).hexdigest()
    return re.sub(r'"sha256:[0-9a-f]{64}"', f'"sha256:{digest}"', text, count=1)


def test_category_labels_contradicting_the_schema_are_model_file_errors(cli_models, tmp_path):
    # A label listed twice used to be a usage error (exit 2) raised by the CSV reader; it is a
    # model file error (exit 4) found by the loader. From format 1.4 the labels are the schema's
    # level table (docs/categorical.md).
    import json
    csv, (model, _) = cli_models
    text = model.read_text()
    assert _reseal(text) == text  # the helper reproduces the writer's checksum
    site = [f for f in json.loads(text)["schema"]["features"] if f["name"] == "site"][0]
    labels = site["labels"]
    old = '"labels": ' + json.dumps(labels)
    assert old in text
    new = '"labels": ' + json.dumps(labels[:-1] + [labels[0]])
    bad = tmp_path / "bad.json"
    bad.write_text(_reseal(text.replace(old, new)))
    proc = subprocess.run([_cli(), "predict", "--model", str(bad), "--data", str(csv), "--out",
                           str(tmp_path / "scores.csv"), "--quiet"], capture_output=True,
                          text=True)
    assert proc.returncode == 4, proc.stderr
    assert "not sorted by bytes and unique" in proc.stderr


def test_cli_sign_and_verify(cli_models, tmp_path):
    _, (model, _) = cli_models
    cli = _cli()
    key = tmp_path / "team.key"
    subprocess.run([cli, "keygen", "--out", str(key)], check=True, capture_output=True)
    assert os.stat(key).st_mode & 0o077 == 0
    signed = tmp_path / "signed.json"
    subprocess.run([cli, "sign", "--key", str(key), "--model", str(model), "--out", str(signed)],
                   check=True, capture_output=True)
    ok = subprocess.run([cli, "verify", "--key", f"{key}.pub", "--model", str(signed)],
                        capture_output=True, text=True)
    assert ok.returncode == 0 and "signature valid" in ok.stdout, ok.stderr
    unsigned = subprocess.run([cli, "verify", "--key", f"{key}.pub", "--model", str(model)],
                              capture_output=True, text=True)
    assert unsigned.returncode == 4 and "not signed" in unsigned.stderr
    no_key = subprocess.run([cli, "verify", "--key", str(tmp_path / "nope.pub"), "--model",
                             str(signed)], capture_output=True, text=True)
    assert no_key.returncode == 2, no_key.stderr
    assert calibrisk.load(signed, public_key=f"{key}.pub").threshold == \
        calibrisk.load(model).threshold
    key_bytes = key.read_bytes()
    over_key = subprocess.run([cli, "sign", "--key", str(key), "--model", str(model), "--out",
                               str(key)], capture_output=True, text=True)
    assert over_key.returncode == 2 and "--out" in over_key.stderr, over_key.stderr
    assert key.read_bytes() == key_bytes  # the secret key was not replaced by a model file


def test_signatures(data, tmp_path):
    pipe = _lr_pipeline(data)
    secret, public = tmp_path / "key", tmp_path / "key.pub"
    calibrisk.generate_key_pair(secret, public)
    assert os.stat(secret).st_mode & 0o077 == 0
    with pytest.raises(FileExistsError):
        calibrisk.generate_key_pair(secret, tmp_path / "other.pub")
    signed = tmp_path / "signed.json"
    pipe.save(signed, signing_key=secret)
    loaded = calibrisk.load(signed, public_key=public)
    assert _same_bits(loaded.predict_risk(data[2]), pipe.predict_risk(data[2]))
    unsigned = tmp_path / "unsigned.json"
    pipe.save(unsigned)
    calibrisk.load(unsigned)  # no key asked: loads
    with pytest.raises(ModelFormatError, match="not signed"):
        calibrisk.load(unsigned, public_key=public)
    # Tampering with the threshold (whose checksum anyone can recompute; here it is just not
    # checked) is caught by the signature.
    head, _, tail = signed.read_text().rpartition('"value": ')  # /threshold/value: the last key
    tampered = head + '"value": 0.0' + tail.lstrip("0123456789.e-")
    assert calibrisk.loads(tampered, verify_checksum=False).threshold != pipe.threshold
    with pytest.raises(ModelFormatError, match="modified after it was signed"):
        calibrisk.loads(tampered, verify_checksum=False, public_key=public)
    with pytest.raises(FileNotFoundError):
        calibrisk.load(signed, public_key=tmp_path / "missing.pub")
