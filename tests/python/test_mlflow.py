# SPDX-License-Identifier: Apache-2.0
"""calibrisk.mlflow: the MLflow flavor against a temporary local file store. The oracle is the
original pipeline file and the calibrisk Pipeline that reads it: the logged artifact must be the
same bytes, load_model must score identically, and pyfunc must return the Pipeline's own risk and
flag. Skipped when MLflow is not installed (it is the optional ``mlflow`` extra)."""

import os
import subprocess
import sys

import numpy as np
import pytest

mlflow = pytest.importorskip("mlflow")
pd = pytest.importorskip("pandas")

import calibrisk  # noqa: E402
import calibrisk.mlflow as crm  # noqa: E402
from calibrisk import ModelFormatError  # noqa: E402
from calibrisk.exceptions import InvalidInputError  # noqa: E402

NAMES = ["age", "lab", "visits", "ward"]


def _data(n=900, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    X[:, 3] = rng.integers(0, 3, size=n)
    X[rng.random(n) < 0.1, 1] = np.nan
    z = 1.1 * X[:, 0] - 0.7 * np.nan_to_num(X[:, 1]) + 0.3 * X[:, 3] - 0.6
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(np.int64)
    return X, y


@pytest.fixture(scope="module")
def pipe():
    X, y = _data()
    model = calibrisk.GradientBoostingClassifier(n_estimators=20, max_leaf_nodes=7, n_threads=1,
                                                 random_state=1).fit(X[:600], y[:600])
    cal = calibrisk.PlattCalibrator(input="margin").fit(model.decision_function(X[600:]),
                                                        y[600:])
    return calibrisk.Pipeline.from_estimators(model, cal, 0.3, feature_names=NAMES,
                                              X_train=X[:600], y_train=y[:600])


@pytest.fixture()
def store(tmp_path, monkeypatch):
    # MLflow 3 keeps the file store in maintenance mode behind this switch; mlflow-skinny has no
    # SQLAlchemy for a sqlite store, and a file store is what the flavor needs to be tested with.
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    old = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri("file:" + str(tmp_path / "mlruns"))
    yield tmp_path
    mlflow.set_tracking_uri(old)


def _frame(n=50, seed=5):
    X, _ = _data(n, seed)
    return pd.DataFrame(X, columns=NAMES)


def _local_file(model_uri, tmp):
    path = mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=str(tmp))
    return os.path.join(path, crm.MODEL_FILE_NAME)


def test_logged_file_is_the_original_bytes_and_scores_identically(pipe, store):
    original = store / "m.json"
    pipe.save(original)
    with mlflow.start_run():
        info = crm.log_model(str(original), name="model")
    stored = _local_file(info.model_uri, store / "dl")
    assert open(stored, "rb").read() == original.read_bytes()
    loaded = crm.load_model(info.model_uri)
    assert isinstance(loaded, calibrisk.Pipeline)
    df = _frame()
    ref = calibrisk.load(original).predict_proba(df.to_numpy())
    assert loaded.predict_proba(df.to_numpy()).tobytes() == ref.tobytes()


def test_pipeline_object_is_stored_as_its_file_text(pipe, store):
    with mlflow.start_run():
        info = crm.log_model(pipe, name="model")
    stored = _local_file(info.model_uri, store / "dl")
    assert open(stored, "rb").read() == pipe.to_string().encode("utf-8")
    conf = mlflow.models.Model.load(info.model_uri).flavors
    assert conf["calibrisk"]["data"] == crm.MODEL_FILE_NAME
    assert conf["python_function"]["loader_module"] == "calibrisk.mlflow"


def test_pyfunc_predict_returns_pipeline_risk_and_flag(pipe, store):
    with mlflow.start_run():
        info = crm.log_model(pipe, name="model")
    model = mlflow.pyfunc.load_model(info.model_uri)
    df = _frame()
    out = model.predict(df)
    assert list(out.columns) == ["risk", "flag"]
    assert out["risk"].to_numpy().tobytes() == pipe.predict_risk(df.to_numpy()).tobytes()
    np.testing.assert_array_equal(out["flag"].to_numpy(), pipe.predict(df.to_numpy()))
    assert 0 < out["flag"].sum() < len(df)  # the threshold 0.3 splits this batch
    # columns are matched by name, not position
    shuffled = df[NAMES[::-1]]
    assert model.predict(shuffled)["risk"].to_numpy().tobytes() == out["risk"].to_numpy().tobytes()


def test_pyfunc_names_missing_columns(pipe, store):
    with mlflow.start_run():
        info = crm.log_model(pipe, name="model", signature=False)
    model = mlflow.pyfunc.load_model(info.model_uri)
    with pytest.raises(InvalidInputError, match=r"lacks 1 model feature.*'lab'"):
        model.predict(_frame().drop(columns=["lab"]))
    with pytest.raises(InvalidInputError, match="not numeric"):
        model.predict(_frame().assign(age="old"))
    # with the default signature MLflow's own schema check names the column
    with mlflow.start_run():
        info = crm.log_model(pipe, name="model2")
    with pytest.raises(Exception, match="lab"):
        mlflow.pyfunc.load_model(info.model_uri).predict(_frame().drop(columns=["lab"]))


def _tamper(path, old, new):
    text = open(path, "rb").read()
    assert old in text
    with open(path, "wb") as f:
        f.write(text.replace(old, new, 1))


def test_tampered_artifact_is_refused(pipe, store, tmp_path):
    path = tmp_path / "saved"
    crm.save_model(pipe, path)
    assert isinstance(crm.load_model(str(path)), calibrisk.Pipeline)
    threshold = repr(pipe.threshold).encode()
    _tamper(path / crm.MODEL_FILE_NAME, threshold, b"0.9")
    with pytest.raises(ModelFormatError, match="changed after it was logged"):
        crm.load_model(str(path))
    with pytest.raises(ModelFormatError, match="changed after it was logged"):
        mlflow.pyfunc.load_model(str(path))


def test_tampered_file_with_matching_sha_is_refused_by_checksum(pipe, tmp_path):
    import hashlib

    path = tmp_path / "saved"
    crm.save_model(pipe, path)
    model_file = path / crm.MODEL_FILE_NAME
    _tamper(model_file, repr(pipe.threshold).encode(), b"0.9")
    digest = hashlib.sha256(model_file.read_bytes()).hexdigest()
    mlmodel = path / "MLmodel"
    text = mlmodel.read_text()
    old = mlflow.models.Model.load(str(path)).flavors["calibrisk"]["sha256"]
    mlmodel.write_text(text.replace(old, digest))
    with pytest.raises(ModelFormatError):
        crm.load_model(str(path))


def test_signed_file_keeps_signature(pipe, tmp_path):
    secret, public = tmp_path / "k.secret", tmp_path / "k.public"
    calibrisk.generate_key_pair(secret, public)
    signed = tmp_path / "signed.json"
    pipe.save(signed, signing_key=secret)
    crm.save_model(str(signed), tmp_path / "m")
    assert (tmp_path / "m" / crm.MODEL_FILE_NAME).read_bytes() == signed.read_bytes()
    assert crm.load_model(str(tmp_path / "m"), public_key=public).threshold == pipe.threshold
    crm.save_model(pipe, tmp_path / "unsigned")
    with pytest.raises(ModelFormatError):
        crm.load_model(str(tmp_path / "unsigned"), public_key=public)


def test_bad_pipeline_argument(tmp_path):
    with pytest.raises(InvalidInputError, match="calibrisk.Pipeline or the path"):
        crm.save_model(object(), tmp_path / "x")


def test_import_without_mlflow_says_how_to_install(tmp_path):
    blocker = tmp_path / "block"
    blocker.mkdir()
    (blocker / "mlflow.py").write_text("raise ImportError('blocked for the test')\n")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(blocker), os.path.dirname(calibrisk.__path__[0])])
    r = subprocess.run([sys.executable, "-c", "import calibrisk.mlflow"], env=env,
                       capture_output=True, text=True)
    assert r.returncode != 0
    assert "pip install calibrisk[mlflow]" in r.stderr
