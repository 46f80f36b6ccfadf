# SPDX-License-Identifier: Apache-2.0
"""The deployable pipeline: schema + model + calibrator + operating point + provenance in one
versioned file that scores identically from Python and from the C++ backend.

>>> pipe = calibrisk.Pipeline.from_estimators(model, calibrator, op, X_train=X, y_train=y)
>>> pipe.save("readmission.calibrisk.json")
>>> calibrisk.load("readmission.calibrisk.json").predict_risk(X_new)
"""

import datetime
import json
import numbers

import numpy as np

from . import _core
from .exceptions import InvalidInputError

__all__ = ["Pipeline", "Explanation", "load", "loads", "generate_key_pair"]

#: The file format version this build writes ("MAJOR.MINOR"; see docs/artifact.md).
FORMAT_VERSION = _core._ARTIFACT_FORMAT_VERSION

def saved_state(core):
    """The ``state`` object of a fitted C++ part's codec section (``core.to_bytes()``), as plain
    Python values: how the estimators read their fitted attributes from the one codec."""
    return json.loads(core.to_bytes())["state"]


def restore_n_threads(est):
    """After unpickling: the thread count is an execution setting, not saved state, so the C++
    model rebuilt from the codec bytes gets the estimator's ``n_threads`` back."""
    n = getattr(est, "n_threads", 0)
    model = est.__dict__.get("_model")
    if model is not None and isinstance(n, numbers.Integral) and not isinstance(n, bool) and n > 0:
        est._model = model.with_n_threads(int(n))


def _on_dask(X):
    """A dask.array / dask dataframe: scored partition by partition by calibrisk.dask."""
    return hasattr(X, "__dask_graph__")


def _dask_call(name, pipe, X, **kwargs):
    from . import dask as calibrisk_dask  # needs the optional extra calibrisk[dask]

    return getattr(calibrisk_dask, name)(pipe, X, **kwargs)


def _model_arg(model):
    """The codec bytes of a fitted calibrisk model (its "model" section)."""
    from .ensemble import GradientBoostingClassifier
    from .linear import LogisticRegression

    if isinstance(model, (LogisticRegression, GradientBoostingClassifier)):
        if not hasattr(model, "_model"):
            from .exceptions import NotFittedError

            raise NotFittedError(f"Pipeline.from_estimators: the {type(model).__name__} is not "
                                 "fitted; call fit first.")
        return model._model.to_bytes()
    raise InvalidInputError(
        f"Pipeline.from_estimators: model must be a fitted calibrisk LogisticRegression or "
        f"GradientBoostingClassifier, got {type(model).__name__}; other models cannot be "
        "serialised into the pipeline format."
    )


def _is_multiclass_calibrator(calibrator):
    from .calibration import DirichletCalibrator, OneVsRestCalibrator, TemperatureScaling

    return isinstance(calibrator, (TemperatureScaling, OneVsRestCalibrator, DirichletCalibrator))


def _review_arg(review, n_classes):
    """(policy, per_class, thresholds) of a ReviewThreshold from select_review_threshold."""
    if review is None:
        return None
    from .threshold import ReviewThreshold

    if not isinstance(review, ReviewThreshold):
        raise InvalidInputError(
            "Pipeline.from_estimators: review must be the ReviewThreshold returned by "
            f"calibrisk.select_review_threshold (or None), got {type(review).__name__}."
        )
    t = np.atleast_1d(np.asarray(review.threshold, dtype=np.float64))
    return (str(review.policy), review.per_class is not None, [float(v) for v in t])


def _calibrator_arg(calibrator):
    from .calibration import BetaCalibrator, IsotonicCalibrator, PlattCalibrator

    if calibrator is None:
        return None, None
    if isinstance(calibrator, (PlattCalibrator, IsotonicCalibrator, BetaCalibrator)):
        core = calibrator._fitted()
        default_input = calibrator.input if isinstance(calibrator, PlattCalibrator) else "probability"
        return core.to_bytes(), default_input
    raise InvalidInputError(
        f"Pipeline.from_estimators: calibrator must be a fitted calibrisk PlattCalibrator, "
        f"IsotonicCalibrator or BetaCalibrator (or None), got {type(calibrator).__name__}."
    )


def _operating_point_arg(op):
    """(threshold, policy, figures) from an OperatingPoint, a dict, a number or None."""
    if op is None:
        return 0.5, "default", []
    if isinstance(op, numbers.Real) and not isinstance(op, bool):
        return float(op), "fixed", []
    d = op.to_dict() if hasattr(op, "to_dict") else op
    if not isinstance(d, dict) or "threshold" not in d:
        raise InvalidInputError(
            "Pipeline.from_estimators: operating_point must be a calibrisk OperatingPoint, a dict "
            "with a 'threshold', a number or None."
        )
    figures = []
    for k, v in d.items():
        if k in ("threshold", "policy"):
            continue
        if isinstance(v, (list, tuple)) and len(v) == 2:
            figures.append((f"{k}_lower", float(v[0])))
            figures.append((f"{k}_upper", float(v[1])))
        elif isinstance(v, numbers.Real) and not isinstance(v, bool):
            figures.append((str(k), float(v)))
    if isinstance(d.get("figures"), dict):
        figures.extend((str(k), float(v)) for k, v in d["figures"].items())
    policy = str(d.get("policy") or "unspecified")
    return float(d["threshold"]), policy, figures


def _params_of(prefix, est):
    out = [(f"{prefix}.class", type(est).__name__)]
    if hasattr(est, "get_params"):
        for k, v in sorted(est.get_params(deep=False).items()):
            out.append((f"{prefix}.{k}", repr(v)))
    return out


class Pipeline:
    """A fitted, calibrated, thresholded model with the schema it expects (``classes_ = [0, 1]``).

    Build one with :meth:`from_estimators` (or ``CalibratedClassifier.to_pipeline``), or read one
    with :func:`calibrisk.load` / :func:`calibrisk.loads`. Scoring runs in C++ with the GIL
    released; probabilities are bit-identical to the C++ ``calibrisk::Pipeline`` loaded from the
    same file. Pickling stores the artifact text.
    """

    def __init__(self, core_pipeline):
        if not isinstance(core_pipeline, _core._Pipeline):
            raise InvalidInputError(
                "Pipeline(...) wraps a loaded pipeline; use Pipeline.from_estimators, "
                "calibrisk.load or calibrisk.loads."
            )
        self._p = core_pipeline

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_estimators(cls, model, calibrator=None, operating_point=None, feature_names=None,
                        X_train=None, y_train=None, *, calibrator_input=None, categorical=None,
                        auto_categorical=True, created_at=None, parameters=None, review=None):
        """Assembles a pipeline from fitted calibrisk estimators.

        Parameters
        ----------
        model : fitted calibrisk ``LogisticRegression`` or ``GradientBoostingClassifier``.
        calibrator : fitted ``PlattCalibrator``, ``IsotonicCalibrator``, ``BetaCalibrator`` or None.
        operating_point : ``OperatingPoint`` from ``select_threshold``, a dict with ``threshold``
            (and ``policy``), a number, or None (threshold 0.5, policy "default").
        feature_names : names in column order; default: the model's ``feature_names_in_``,
            else ``x0, x1, ...``.
        X_train, y_train : the training table, to record per-feature ranges, missing rates and
            category codes (drift checks) and the data fingerprint. Optional.
        calibrator_input : "margin" or "probability": what the calibrator was fitted on.
            Default: a Platt calibrator's own ``input``; "probability" otherwise.
        categorical : column indices of integer-coded categories (auto-detected small integer
            columns are added unless ``auto_categorical=False``).
        created_at : None (no timestamp: saving is deterministic), True (now, UTC) or a string.
        parameters : extra provenance entries {name: text}.
        review : K-class models: the ``ReviewThreshold`` of ``select_review_threshold`` that
            routes items (``route``); None routes every item automatically.

        A multinomial ``LogisticRegression`` (more than two ``classes_``) makes a K-class pipeline
        (format 1.6): ``calibrator`` is then None or a fitted ``TemperatureScaling``,
        ``OneVsRestCalibrator`` or ``DirichletCalibrator`` (fitted on the model's
        ``decision_function`` for margin input, ``predict_proba`` for probability input), and the
        class labels are stored as text.
        """
        model_arg = _model_arg(model)
        model_classes = getattr(model, "classes_", np.array([0, 1]))
        multiclass = len(model_classes) > 2
        mc_calibrator = None
        if multiclass or _is_multiclass_calibrator(calibrator):
            if not multiclass:
                raise InvalidInputError(
                    "Pipeline.from_estimators: a multiclass calibrator needs a model with more "
                    "than two classes_.")
            if calibrator is not None and not _is_multiclass_calibrator(calibrator):
                raise InvalidInputError(
                    "Pipeline.from_estimators: a K-class model takes a TemperatureScaling, "
                    "OneVsRestCalibrator or DirichletCalibrator (or None), got "
                    f"{type(calibrator).__name__}.")
            mc_calibrator, calibrator = calibrator, None
        elif review is not None:
            raise InvalidInputError(
                "Pipeline.from_estimators: review routes K-class models; this model is binary "
                "(use operating_point).")
        cal_arg, default_input = _calibrator_arg(calibrator)
        cal_input = calibrator_input or default_input or "probability"
        threshold, policy, figures = _operating_point_arg(operating_point)
        if feature_names is None and hasattr(model, "feature_names_in_"):
            feature_names = list(model.feature_names_in_)
        names = [str(n) for n in feature_names] if feature_names is not None else []
        # Categorical columns encoded at fit (calibrisk._categorical): the training table is
        # encoded with the model's levels, and the level tables go into the schema (format 1.4).
        encoding = getattr(model, "categorical_encoding_", None)
        if encoding is not None:
            categorical = sorted(set(categorical or []) | set(encoding.indices))
            if X_train is not None:
                X_train = encoding.transform(X_train, "Pipeline.from_estimators: X_train")
        if X_train is not None and hasattr(X_train, "columns"):
            if not names:
                names = [str(c) for c in X_train.columns]
            X_train = X_train.to_numpy(dtype=np.float64)
        if X_train is not None:
            X_train = np.asarray(X_train)
            if X_train.dtype not in (np.float32, np.float64):
                X_train = X_train.astype(np.float64)
        if y_train is not None:
            y_train = np.asarray(y_train)
            classes = getattr(model, "classes_", np.array([0, 1]))
            if multiclass:
                y_train = np.searchsorted(classes, y_train).astype(np.float64)
            else:
                y_train = (y_train == classes[-1]).astype(np.float64)
        params = _params_of("model", model)
        if calibrator is not None:
            params += _params_of("calibrator", calibrator)
        params.append(("calibrator.input", cal_input))
        params.append(("threshold.policy", policy))
        if parameters:
            params += [(str(k), str(v)) for k, v in parameters.items()]
        seen = {}
        for k, v in params:
            seen[k] = v
        seed = getattr(model, "random_state", 0)
        seed = int(seed) if isinstance(seed, numbers.Integral) and seed >= 0 else 0
        if created_at is True:
            created_at = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        core = _core._pipeline_build(
            model_arg, cal_arg, cal_input, names, X_train, y_train,
            [int(c) for c in (categorical or [])], bool(auto_categorical), threshold, policy,
            figures, sorted(seen.items()), seed, str(created_at or ""),
        )
        if encoding is not None:
            core = _core._pipeline_with_labels(core, encoding.tables)
        if multiclass:
            core = _core._pipeline_with_multiclass(
                core, None if mc_calibrator is None else mc_calibrator._fitted().to_bytes(),
                [str(c) for c in model_classes], _review_arg(review, len(model_classes)))
        return cls(core)

    # ------------------------------------------------------------------ scoring
    def _X(self, X):
        if hasattr(X, "columns"):
            names = self.feature_names_in_
            cols = [str(c) for c in X.columns]
            if cols != names:
                missing = [n for n in names if n not in cols]
                if missing or len(cols) != len(names):
                    raise InvalidInputError(
                        f"Pipeline: X has columns {cols[:5]}{'...' if len(cols) > 5 else ''} but "
                        f"the pipeline expects {names[:5]}{'...' if len(names) > 5 else ''}"
                        + (f"; missing: {missing[:5]}" if missing else "") + "."
                    )
                X = X[names]
            levels = _core._pipeline_levels(self._p)
            if levels:
                # Labelled categorical features (format 1.4): labels -> codes by the C++
                # encoder, with the unseen policy (nearest level ancestor or missing).
                from ._categorical import _replace, labels_of
                X = _replace(X, {j: lev.encode(labels_of(X.iloc[:, j]))[0]
                                 for j, lev in levels.items()})
            X = X.to_numpy(dtype=np.float64)
        return X

    def encode_rows(self, rows):
        """Rows given as text (one str per feature, schema order) as the float64 matrix the
        pipeline scores: labels of categorical features through their level tables (unseen
        policy), numbers parsed as the CSV reader does. The C++ ``Pipeline::encode_rows``."""
        return _core._pipeline_encode_rows(self._p, [[str(v) for v in r] for r in rows])

    def check_text_rows(self, rows):
        """check_inputs of rows given as text: (errors, {feature: unseen labels}, summary);
        labels that are not levels count as unseen categories (drift)."""
        return _core._pipeline_check_text_rows(self._p, [[str(v) for v in r] for r in rows])

    @property
    def n_classes(self):
        """2 for a binary pipeline, K for a K-class one."""
        return self._p.n_classes

    @property
    def classes_(self):
        """``[0, 1]`` for a binary pipeline; the K class labels (text, as stored) otherwise."""
        if self._p.n_classes > 2:
            return np.array(self._p.class_labels())
        return np.array([0, 1])

    @property
    def review_policy(self):
        """The review policy of a K-class pipeline as a dict (kind, policy, per_class,
        thresholds), or None (every item auto-routed)."""
        return self._p.review_policy

    def predict_risk(self, X):
        """Calibrated P(y = 1) per row, shape (n_samples,) (binary pipelines). A dask.array /
        dask dataframe gives a dask.array scored on the cluster (docs/distributed.md)."""
        if _on_dask(X):
            return _dask_call("predict_risk", self, X)
        return self._p.predict_proba(self._X(X))

    def predict_proba(self, X):
        """(n_samples, K) class probabilities in ``classes_`` order, as scikit-learn: for a
        binary pipeline [1 - risk, risk]. Dask input: a dask.array (docs/distributed.md)."""
        if _on_dask(X):
            return _dask_call("predict_proba", self, X)
        if self._p.n_classes > 2:
            return self._p.predict_proba_matrix(self._X(X))
        p = self.predict_risk(X)
        return np.column_stack([1.0 - p, p])

    def predict(self, X):
        """Binary: flags (1 where the calibrated risk >= threshold, else 0). K-class: the label
        (from ``classes_``) of the largest probability per row (ties: the first class).
        Dask input: a dask.array (docs/distributed.md)."""
        if _on_dask(X):
            return _dask_call("predict", self, X)
        if self._p.n_classes > 2:
            label, _ = self._p.route(self.predict_proba(X))
            return self.classes_[label]
        return (self.predict_risk(X) >= self.threshold).astype(np.int64)

    def route(self, X):
        """K-class pipelines: "auto" where the review policy routes the row automatically (its
        confidence max_k P reaches the threshold of its predicted class), "review" otherwise;
        every row is "auto" without a review policy. Binary pipelines: all "auto"."""
        P = np.ascontiguousarray(self.predict_proba(X), dtype=np.float64)
        if self._p.n_classes == 2:
            return np.full(len(P), "auto")
        _, routed = self._p.route(P)
        return np.where(routed, "auto", "review")

    def decision_function(self, X):
        """The model's raw margin (log-odds before calibration) per row."""
        if _on_dask(X):
            return _dask_call("decision_function", self, X)
        return self._p.decision_function(self._X(X))

    def predict_proba_row(self, row):
        """Calibrated P(y = 1) of one row through the allocation-free C++ single-row path."""
        return self._p.predict_proba_row(np.asarray(row, dtype=np.float64))

    def explain(self, X, k=None, *, scale="calibrated"):
        """Per-feature contributions of every row, as an :class:`Explanation`.

        ``scale="calibrated"`` (default): contributions to the calibrated log-odds, so that
        ``baseline + contributions.sum(axis=1) == logit(predict_risk(X))`` (to rounding; isotonic
        risks of exactly 0 or 1 clipped to 1e-12 from them). Exact for Platt scaling on the
        margin (``a * phi_j``, baseline ``a * phi_0 + b``) and without a calibrator; for beta,
        isotonic and Platt on probabilities each row's margin contributions are scaled by one
        common factor (docs/serving.md, "Explanations"). ``scale="margin"``: contributions to the
        model's log-odds before calibration. Margin contributions: exact TreeSHAP for trees;
        ``coef_j * (x_j - training mean_j)`` for logistic regression (missing values imputed as
        the model does, the missing indicator's term added to its feature). ``k``: also list each
        row's ``k`` largest ``|contribution|`` in ``Explanation.top`` (as ``calibrisk predict
        --explain K`` and the scoring service's ``explain=K``)."""
        if k is not None and (isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 0):
            raise InvalidInputError(f"Pipeline.explain: k must be a whole number >= 0, got {k!r}.")
        if _on_dask(X):  # a calibrisk.dask.DaskExplanation (docs/distributed.md)
            return _dask_call("explain", self, X, k=k, scale=scale)
        contributions, baseline = self._p.explain(self._X(X), str(scale))
        return Explanation(contributions, baseline, scale, self.feature_names_in_, k)

    def explain_importance(self, X, *, scale="calibrated"):
        """Global importance: the mean ``|contribution|`` of each feature over the rows of ``X``
        (1-D, in feature order) on ``scale`` (see :meth:`explain`)."""
        return self._p.mean_abs_contributions(self._X(X), str(scale))

    def check_inputs(self, X, *, missing_rate_tolerance=0.05, missing_z=3.0, max_examples=5):
        """Drift and consistency report of a batch, as a dict: ``ok`` (every row can be scored),
        ``errors``, ``has_drift``, per-feature ``features`` signals (values outside the training
        range, unseen category codes, missing rate departing from training by more than
        ``missing_rate_tolerance`` with a two-proportion |z| > ``missing_z``) and ``summary``.
        Never changes the scores."""
        return self._p.check_inputs(self._X(X), missing_rate_tolerance, missing_z, max_examples)

    def monitor(self, X, y=None, **thresholds):
        """Monitoring checks of a batch against what the model saw in training, as a dict (the
        document ``calibrisk monitor --json`` writes; docs/monitoring.md): overall ``status``
        ("ok", "warn" or "alarm"), per-feature ``features`` (PSI, missing rate, out-of-range and
        unseen-category rates, each with a status), ``score`` (PSI of the risk distribution),
        ``alert_rate`` (vs the rate expected at the operating point, Wilson intervals) and, when
        ``y`` (0/1) is given, ``labels`` (calibration intercept with intervals, ``ici``, recall at
        the threshold). ``thresholds``: any ``MonitorOptions`` field, e.g. ``psi_alarm=0.2``.
        Models saved before format 1.3 have no reference: PSI is None and ``notes`` says why."""
        y_arr = None if y is None else np.asarray(y, dtype=np.float64)
        return json.loads(_core._monitor_json(self._p, self._X(X), y_arr, dict(thresholds)))

    # ------------------------------------------------------------------ persistence
    def to_string(self, *, signing_key=None):
        """The pipeline file as text (JSON, deterministic). ``signing_key``: path of a secret key
        file (:func:`generate_key_pair`) to add an Ed25519 signature."""
        return self._p.to_string(_key_path(signing_key))

    def save(self, path, *, signing_key=None):
        """Writes the pipeline file (atomically: temporary file renamed into place), signed with
        the secret key file ``signing_key`` when given. Raises ``OSError`` when the file cannot
        be written (a missing directory, a path that is a directory, no permission)."""
        self._p.save(str(path), _key_path(signing_key))

    def __getstate__(self):
        return {"artifact": self._p.to_string()}

    def __setstate__(self, state):
        self._p = _core._pipeline_loads(state["artifact"])

    # ------------------------------------------------------------------ introspection
    @property
    def threshold(self):
        return self._p.threshold

    @property
    def feature_names_in_(self):
        return list(self._p.feature_names)

    @property
    def n_features_in_(self):
        return self._p.n_features

    @property
    def model_type(self):
        return self._p.model_type

    @property
    def calibrator_type(self):
        return self._p.calibrator_type

    @property
    def calibrator_input(self):
        return self._p.calibrator_input

    @property
    def schema(self):
        """Per feature: name, min, max, missing_rate, categorical, categories."""
        return self._p.schema

    @property
    def operating_point(self):
        """{"threshold", "policy", "figures"}."""
        return self._p.operating_point

    @property
    def provenance(self):
        return self._p.provenance

    def __repr__(self):
        return (f"Pipeline(model={self.model_type}, calibrator={self.calibrator_type}, "
                f"threshold={self.threshold:.6g}, features={self.n_features_in_}, "
                f"policy={self.operating_point['policy']!r})")


class Explanation:
    """The result of :meth:`Pipeline.explain`.

    Attributes
    ----------
    contributions : ndarray (n_samples, n_features)
        Per-feature contributions on ``scale``.
    baseline : float
        The value every row starts from (the same for all rows).
    log_odds : ndarray (n_samples,)
        ``baseline + contributions.sum(axis=1)``: the calibrated log-odds of each risk (or the
        model's margin on the margin scale).
    scale : str
        ``"calibrated log-odds"`` or ``"margin log-odds"``.
    feature_names : list of str
    top : list or None
        With ``k``: per row, the ``k`` largest ``|contribution|`` as ``(feature name, value)``
        pairs, largest first (ties: lower column first).
    """

    _LABELS = {"calibrated": "calibrated log-odds", "margin": "margin log-odds"}

    def __init__(self, contributions, baseline, scale, feature_names, k=None):
        self.contributions = contributions
        self.baseline = float(baseline)
        self.scale = self._LABELS[scale]
        self.feature_names = list(feature_names)
        self.log_odds = self.baseline + contributions.sum(axis=1)
        self.top = None if k is None else self.top_k(k)

    def top_k(self, k):
        """Per row, the ``k`` largest ``|contribution|`` as ``(name, value)`` pairs."""
        k = min(int(k), self.contributions.shape[1])
        order = np.argsort(-np.abs(self.contributions), axis=1, kind="stable")[:, :k]
        names = self.feature_names
        return [[(names[j], float(row[j])) for j in idx]
                for row, idx in zip(self.contributions, order)]

    def __repr__(self):
        n, p = self.contributions.shape
        return (f"Explanation({n} rows x {p} features, scale={self.scale!r}, "
                f"baseline={self.baseline:.6g})")


def _key_path(key):
    return "" if key is None else str(key)


def load(path, *, verify_checksum=True, public_key=None):
    """Reads a pipeline file. Raises ``calibrisk.ModelFormatError`` (a ``ValueError``) naming the
    JSON path or byte offset when the file is truncated, edited, corrupt or from a newer major
    format version. With ``public_key`` (path of a public key file from
    :func:`generate_key_pair`), the file must carry a valid Ed25519 signature by that key:
    unsigned, tampered or otherwise signed files raise ``ModelFormatError``. The checksum alone
    only detects accidents; anyone can recompute it."""
    return Pipeline(_core._pipeline_load(str(path), bool(verify_checksum), _key_path(public_key)))


def loads(text, *, verify_checksum=True, public_key=None):
    """Parses a pipeline document from a string (or bytes); errors as :func:`load`."""
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8", errors="strict")
    return Pipeline(_core._pipeline_loads(text, bool(verify_checksum), _key_path(public_key)))


def generate_key_pair(secret_key, public_key):
    """Writes a new Ed25519 key pair: the secret key file (permissions 0600, never overwriting an
    existing file) and the public key file. Sign with ``Pipeline.save(path, signing_key=...)``,
    check with ``load(path, public_key=...)``. Raises ``OSError``."""
    _core._generate_key_pair(str(secret_key), str(public_key))


def _calibrated_to_pipeline(clf, operating_point=None, **kwargs):
    """``CalibratedClassifier.to_pipeline``: one calibrated calibrisk model (``ensemble=False``,
    ``cv="prefit"`` or ``cv="time"``) with a Platt, isotonic or beta calibrator, or (K classes)
    a temperature, one-vs-rest or Dirichlet one and an optional ``review`` policy."""
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(clf, "calibrated_classifiers_")
    members = clf.calibrated_classifiers_
    if len(members) != 1:
        raise InvalidInputError(
            f"CalibratedClassifier.to_pipeline: the classifier holds {len(members)} calibrated "
            "models (ensemble=True); refit with ensemble=False (one model refitted on all rows and "
            "one calibrator on out-of-fold scores) to export a single pipeline."
        )
    m = members[0]
    kwargs.setdefault("parameters", {})
    for k, v in sorted(clf.get_params(deep=False).items()):
        if k != "estimator":
            kwargs["parameters"][f"calibrated_classifier.{k}"] = repr(v)
    return Pipeline.from_estimators(m.estimator, m.calibrator, operating_point,
                                    calibrator_input=m.score_kind, **kwargs)
