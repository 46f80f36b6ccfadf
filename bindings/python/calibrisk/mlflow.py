# SPDX-License-Identifier: Apache-2.0
"""MLflow flavor for calibrisk pipelines (``pip install calibrisk[mlflow]``).

The MLflow model directory holds the calibrisk model file byte for byte (its checksum and, when
signed, its Ed25519 signature travel with it), an ``MLmodel`` file with a ``calibrisk`` flavor
section (file name, SHA-256 of the file, format version) and a ``python_function`` section whose
loader is this module:

>>> import calibrisk.mlflow
>>> info = calibrisk.mlflow.log_model(pipe, name="readmission")
>>> calibrisk.mlflow.load_model(info.model_uri)             # a calibrisk.Pipeline
>>> mlflow.pyfunc.load_model(info.model_uri).predict(df)    # DataFrame: risk, flag

See docs/mlflow.md.
"""

import hashlib
import os
import sys

try:
    from mlflow import pyfunc
    from mlflow.models import Model
    from mlflow.models.model import MLMODEL_FILE_NAME
except ImportError as e:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(
        "calibrisk.mlflow needs MLflow: pip install calibrisk[mlflow] "
        f"(or pip install mlflow-skinny); import failed with: {e}"
    ) from e

from .exceptions import InvalidInputError, ModelFormatError
from .pipeline import Pipeline, load, loads

__all__ = ["FLAVOR_NAME", "save_model", "log_model", "load_model", "get_default_pip_requirements"]

FLAVOR_NAME = "calibrisk"
#: The calibrisk model file inside the MLflow model directory.
MODEL_FILE_NAME = "model.calibrisk.json"


def get_default_pip_requirements():
    """The pip requirements of a model saved by this flavor: the calibrisk release that wrote it
    (scoring needs nothing else; pandas comes with MLflow's pyfunc)."""
    from . import __version__

    return [f"calibrisk=={__version__}"]


def _artifact_bytes(pipeline, signing_key):
    """The model file bytes to store: a path is copied as is (after checking that calibrisk reads
    it), a Pipeline is serialised with ``to_string`` (signed when ``signing_key`` is given)."""
    if isinstance(pipeline, Pipeline):
        return pipeline.to_string(signing_key=signing_key).encode("utf-8"), pipeline
    if isinstance(pipeline, (str, os.PathLike)):
        if signing_key is not None:
            raise InvalidInputError(
                "calibrisk.mlflow.save_model: signing_key applies to a Pipeline object; a model "
                "file given by path is stored byte for byte (sign it with Pipeline.save first)."
            )
        with open(pipeline, "rb") as f:
            data = f.read()
        return data, loads(data)
    raise InvalidInputError(
        "calibrisk.mlflow.save_model: pipeline must be a calibrisk.Pipeline or the path of a "
        f"calibrisk model file, got {type(pipeline).__name__}."
    )


def _default_signature(pipe):
    """Inputs: one double column per schema feature (NaN = missing); outputs: risk, flag."""
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

    inputs = Schema([ColSpec("double", name) for name in pipe.feature_names_in_])
    outputs = Schema([ColSpec("double", "risk"), ColSpec("long", "flag")])
    return ModelSignature(inputs=inputs, outputs=outputs)


def save_model(pipeline, path, *, signing_key=None, mlflow_model=None, signature=None,
               input_example=None, pip_requirements=None, extra_pip_requirements=None,
               metadata=None, conda_env=None, code_paths=None):
    """Saves a calibrisk pipeline as an MLflow model directory at ``path`` (must not exist).

    pipeline : a ``calibrisk.Pipeline`` or the path of a calibrisk model file (stored byte for
        byte, so a signed file keeps its signature).
    signing_key : secret key file to sign a Pipeline object's file (see ``Pipeline.save``).
    signature : MLflow ModelSignature; default: the pipeline's features as double columns in,
        ``risk`` (double) and ``flag`` (long) out. ``False``: no signature.
    The other arguments are MLflow's usual flavor arguments.
    """
    from mlflow.models.utils import _save_example
    from mlflow.utils.model_utils import (
        _validate_and_copy_code_paths,
        _validate_and_prepare_target_save_path,
    )

    data, pipe = _artifact_bytes(pipeline, signing_key)
    path = os.path.abspath(os.fspath(path))
    _validate_and_prepare_target_save_path(path)
    code_dir_subpath = _validate_and_copy_code_paths(code_paths, path)
    if mlflow_model is None:
        mlflow_model = Model()
    _save_example(mlflow_model, input_example, path)
    if signature is None:
        signature = _default_signature(pipe)
    if signature is not False:
        mlflow_model.signature = signature
    if metadata is not None:
        mlflow_model.metadata = metadata
    with open(os.path.join(path, MODEL_FILE_NAME), "wb") as f:
        f.write(data)
    from . import __version__

    pyfunc.add_to_model(mlflow_model, loader_module="calibrisk.mlflow", data=MODEL_FILE_NAME,
                        code=code_dir_subpath, conda_env="conda.yaml",
                        python_env="python_env.yaml")
    mlflow_model.add_flavor(FLAVOR_NAME, calibrisk_version=__version__, data=MODEL_FILE_NAME,
                            sha256=hashlib.sha256(data).hexdigest(), code=code_dir_subpath,
                            model_type=pipe.model_type, calibrator_type=pipe.calibrator_type)
    mlflow_model.save(os.path.join(path, MLMODEL_FILE_NAME))
    _write_environment(path, conda_env, pip_requirements, extra_pip_requirements)


def _write_environment(path, conda_env, pip_requirements, extra_pip_requirements):
    """conda.yaml, requirements.txt (+ constraints.txt) and python_env.yaml, as MLflow's own
    flavors write them."""
    import yaml
    from mlflow.utils.environment import (
        _process_conda_env,
        _process_pip_requirements,
        _PythonEnv,
        _validate_env_arguments,
    )

    _validate_env_arguments(conda_env, pip_requirements, extra_pip_requirements)
    if conda_env is None:
        default = get_default_pip_requirements() if pip_requirements is None else None
        conda_env, reqs, constraints = _process_pip_requirements(default, pip_requirements,
                                                                 extra_pip_requirements)
    else:
        conda_env, reqs, constraints = _process_conda_env(conda_env)
    with open(os.path.join(path, "conda.yaml"), "w") as f:
        yaml.safe_dump(conda_env, stream=f, default_flow_style=False)
    if constraints:
        with open(os.path.join(path, "constraints.txt"), "w") as f:
            f.write("\n".join(constraints))
    with open(os.path.join(path, "requirements.txt"), "w") as f:
        f.write("\n".join(reqs))
    _PythonEnv.current().to_yaml(os.path.join(path, "python_env.yaml"))


def log_model(pipeline, name=None, *, signing_key=None, registered_model_name=None,
              signature=None, input_example=None, pip_requirements=None,
              extra_pip_requirements=None, metadata=None, conda_env=None, code_paths=None,
              **kwargs):
    """Logs a calibrisk pipeline (or model file path) as an MLflow model of the active run (a run
    is started when none is active) and returns MLflow's ``ModelInfo`` (``.model_uri``).
    Further keyword arguments (``params``, ``tags``, ``artifact_path``...) go to
    ``mlflow.models.Model.log``."""
    return Model.log(
        artifact_path=kwargs.pop("artifact_path", None), name=name, flavor=sys.modules[__name__], registered_model_name=registered_model_name,
        pipeline=pipeline, signing_key=signing_key, signature=signature,
        input_example=input_example, pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements, metadata=metadata, conda_env=conda_env,
        code_paths=code_paths, **kwargs,
    )


def _load_file(model_file, sha256, public_key):
    """Reads the stored model file, checking the flavor's SHA-256 and calibrisk's own checksum
    (and signature when ``public_key`` is given)."""
    with open(model_file, "rb") as f:
        data = f.read()
    actual = hashlib.sha256(data).hexdigest()
    if sha256 is not None and actual != sha256:
        raise ModelFormatError(
            f"calibrisk.mlflow: {model_file} has SHA-256 {actual[:16]}... but the MLmodel file "
            f"records {str(sha256)[:16]}...: the model file was changed after it was logged; "
            "log the model again from a trusted copy."
        )
    return load(model_file, verify_checksum=True, public_key=public_key)


def load_model(model_uri, dst_path=None, *, public_key=None):
    """Loads the ``calibrisk.Pipeline`` of an MLflow model (``runs:/...``, ``models:/...``, a
    local path...). The file's SHA-256 (recorded at save time) and calibrisk checksum are
    verified; with ``public_key`` its Ed25519 signature must be valid too. Raises
    ``calibrisk.ModelFormatError`` for a changed file."""
    from mlflow.artifacts import download_artifacts
    from mlflow.utils.model_utils import _add_code_from_conf_to_system_path
    from mlflow.utils.model_utils import _get_flavor_configuration

    local = download_artifacts(artifact_uri=str(model_uri), dst_path=dst_path)
    conf = _get_flavor_configuration(model_path=local, flavor_name=FLAVOR_NAME)
    _add_code_from_conf_to_system_path(local, conf)
    model_file = os.path.join(local, conf.get("data", MODEL_FILE_NAME))
    return _load_file(model_file, conf.get("sha256"), public_key)


class _CalibriskPyfunc:
    """The ``python_function`` wrapper: ``predict(df)`` returns a DataFrame with ``risk`` (the
    calibrated probability) and ``flag`` (1 where risk >= the operating threshold)."""

    def __init__(self, pipeline):
        self.pipeline = pipeline

    def get_raw_model(self):
        return self.pipeline

    def predict(self, model_input, params=None):
        import numpy as np
        import pandas as pd

        names = self.pipeline.feature_names_in_
        if isinstance(model_input, pd.DataFrame):
            missing = [n for n in names if n not in model_input.columns]
            if missing:
                raise InvalidInputError(
                    f"calibrisk pyfunc: the input lacks {len(missing)} model feature column(s): "
                    f"{missing[:10]}{'...' if len(missing) > 10 else ''}; expected columns "
                    f"{names[:10]}{'...' if len(names) > 10 else ''}."
                )
            X = model_input[names]
            bad = [n for n in names if not (pd.api.types.is_numeric_dtype(X[n])
                                            or pd.api.types.is_bool_dtype(X[n]))]
            if bad:
                raise InvalidInputError(
                    f"calibrisk pyfunc: column(s) {bad[:10]} are not numeric; calibrisk models "
                    "take numbers (category codes as integers, NaN for missing)."
                )
            X = X.to_numpy(dtype=np.float64)
            index = model_input.index
        else:
            X = np.asarray(model_input, dtype=np.float64)
            index = None
        risk = self.pipeline.predict_risk(X)
        flag = (risk >= self.pipeline.threshold).astype(np.int64)
        return pd.DataFrame({"risk": risk, "flag": flag}, index=index)


def _load_pyfunc(path):
    """Called by ``mlflow.pyfunc.load_model`` with the path of the flavor's data file."""
    model_dir = os.path.dirname(path)
    from mlflow.utils.model_utils import _get_flavor_configuration

    conf = _get_flavor_configuration(model_path=model_dir, flavor_name=FLAVOR_NAME)
    return _CalibriskPyfunc(_load_file(path, conf.get("sha256"), None))

