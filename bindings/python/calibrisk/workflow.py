# SPDX-License-Identifier: Apache-2.0
"""The whole workflow in one call, the same as ``calibrisk train`` on the command line.

    result = calibrisk.train("encounters.csv", label="readmitted", group_column="patient_id",
                             time_column="encounter_date", drop=["encounter_id"],
                             model="gbdt", params={"n_estimators": 300}, calibration="beta",
                             min_recall=0.8)
    result.pipeline.save("readmission.model.json")   # the same bytes as `calibrisk train --out`
    report = result.evaluate()                       # the test part's evaluation

Both call the C++ library's ``train_pipeline``: the data are split in time order and by patient
into train / calibration / test, the model is fitted on the training part, the calibrator and
the threshold on the calibration part, and the test part is scored with the finished pipeline.
"""

import os
import warnings

import numpy as np

from . import _core
from .exceptions import InvalidParamsError
from .pipeline import Pipeline

__all__ = ["train", "TrainResult", "TrainPart", "validate"]


class TrainPart:
    """One part of the split: ``rows`` (indices into the data, in input order), ``X`` (its
    feature matrix), ``y`` (0/1 labels), ``p_model`` (the model's probability) and ``p`` (the
    pipeline's calibrated probability). Multiclass: ``y`` holds class indices into
    ``TrainResult.classes``, ``P`` the pipeline's (n, K) probabilities (``p_model`` and ``p`` are
    empty)."""

    __slots__ = ("rows", "X", "y", "p_model", "p", "P")

    def __init__(self, d):
        for k in self.__slots__:
            setattr(self, k, np.asarray(d[k]))

    def __repr__(self):
        return f"TrainPart({len(self.rows)} rows)"


class TrainResult:
    """What :func:`train` produced.

    Attributes: ``pipeline`` (the deployable :class:`calibrisk.Pipeline`), ``features`` (feature
    columns in the pipeline's order), ``train`` / ``calibration`` / ``test`` (:class:`TrainPart`),
    ``split`` (per part: ``rows``, ``groups``, ``first_time``, ``last_time``, ``entry_first``,
    ``entry_last``, ``rows_before_previous_part_end``, and with ``split_rule="calendar"``
    ``rows_left_out`` and ``groups_seen_earlier``; times in days since 1970 for date
    columns, row positions without a time column), ``categories`` (category labels of the
    categorical features), ``notes`` (remarks of the fits, issued as warnings except the
    early-stopping note),
    ``seconds_fit`` and, with ``model="auto"``, ``selection`` (``method``, ``held_out_rows``,
    ``candidates``: per candidate ``name``, ``model``, held-out ``log_loss`` and ``auc``;
    ``chosen``; ``seconds`` spent on the candidate fits), else None.
    """

    def __init__(self, d):
        self.pipeline = Pipeline(d["pipeline"])
        self.features = list(d["features"])
        self.notes = list(d["notes"])
        self.n_classes = int(d["n_classes"])
        self.classes = list(d["classes"])
        self.train = TrainPart(d["train"])
        self.calibration = TrainPart(d["calibration"])
        self.test = TrainPart(d["test"])
        self.split = {k: dict(v) for k, v in d["split"].items()}
        self.categories = {k: list(v) for k, v in d["categories"].items()}
        self.seconds_fit = float(d["seconds_fit"])
        self.selection = d.get("selection")

    @property
    def threshold(self):
        """The threshold chosen on the calibration part (``pipeline.threshold``)."""
        return self.pipeline.threshold

    def _evaluate_multiclass(self, **kwargs):
        """:func:`calibrisk.evaluate_multiclass` of the test part of a K-class result, with the
        review thresholds chosen on the calibration part re-measured on it."""
        from types import SimpleNamespace

        from .report import evaluate_multiclass

        policy = self.pipeline.review_policy
        if "review_policy" not in kwargs and policy is not None and policy["kind"] == "threshold":
            kwargs["review_policy"] = SimpleNamespace(
                threshold=np.asarray(policy["thresholds"], dtype=np.float64),
                per_class=True if policy["per_class"] else None,
                policy=policy["policy"],
            )
        classes = np.asarray(list(self.classes), dtype=object)
        y = classes[np.asarray(self.test.y, dtype=np.int64)]  # class indices -> labels
        return evaluate_multiclass(y, self.test.P, classes=classes, **kwargs)

    def evaluate(self, **kwargs):
        """:func:`calibrisk.evaluate` of the test part at the chosen threshold (calibrated and
        uncalibrated probabilities, features, and as feature importances the mean
        |contribution| to the calibrated log-odds on the test part); keyword arguments are passed
        on (``subgroups``, ``time``, ``groups``, ``title``, ``random_state``, ...)."""
        from .report import evaluate

        if self.n_classes > 2:
            return self._evaluate_multiclass(**kwargs)
        kwargs.setdefault("p_uncalibrated", self.test.p_model)
        kwargs.setdefault("threshold", self.threshold)
        kwargs.setdefault("X", self.test.X)
        kwargs.setdefault("feature_names", self.features)
        if "feature_importances" not in kwargs and len(self.test.y):
            # Global importance on the risk's scale (Pipeline.explain_importance).
            imp = self.pipeline.explain_importance(self.test.X)
            kwargs["feature_importances"] = dict(zip(self.features, imp.tolist()))
            kwargs.setdefault("importance_kind", "mean |contribution| (calibrated log-odds)")
        return evaluate(self.test.y, self.test.p, **kwargs)

    def __repr__(self):
        return (f"TrainResult({self.pipeline.model_type} + {self.pipeline.calibrator_type}, "
                f"threshold={self.threshold:.4g}, train/calibration/test rows "
                f"{len(self.train.rows)}/{len(self.calibration.rows)}/{len(self.test.rows)})")


def _number_text(v):
    return repr(float(v))


def _param_text(name, v):
    """A parameter value in the text form of ``calibrisk train --param name=value``."""
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if v is None and name == "class_weight":
        return "none"
    if isinstance(v, str):
        return v
    if isinstance(v, dict) and name == "class_weight":
        return f"{_number_text(v.get(0, 1.0))}:{_number_text(v.get(1, 1.0))}"
    if isinstance(v, (list, tuple, np.ndarray)):
        return ",".join(str(int(x)) for x in v)
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return _number_text(v)
    raise InvalidParamsError(
        f"train: params[{name!r}] = {v!r} is not a number, bool, string or list; use the value "
        "you would give `calibrisk train --param`."
    )


def _policy(min_recall, min_precision, max_alert_rate, cost_fp, cost_fn, fbeta):
    given = {k: v for k, v in (("min_recall", min_recall), ("min_precision", min_precision),
                               ("max_alert_rate", max_alert_rate), ("fbeta", fbeta))
             if v is not None}
    cost_given = cost_fp is not None or cost_fn is not None
    if cost_given and (cost_fp is None or cost_fn is None):
        raise InvalidParamsError(
            f"train: the cost policy needs both cost_fp and cost_fn (got cost_fp={cost_fp!r}, "
            f"cost_fn={cost_fn!r})."
        )
    if len(given) + cost_given > 1:
        names = sorted(given) + (["cost_fp/cost_fn"] if cost_given else [])
        raise InvalidParamsError(
            f"train: pass at most one policy, got {', '.join(names)}; e.g. min_recall=0.8."
        )
    if cost_given:
        return {"policy_kind": "cost", "policy_value": 0.0, "cost_fp": float(cost_fp),
                "cost_fn": float(cost_fn)}
    kind, value = next(iter(given.items())) if given else ("min_recall", 0.8)
    return {"policy_kind": kind, "policy_value": float(value), "cost_fp": 1.0, "cost_fn": 1.0}


def _split(split):
    if isinstance(split, dict):
        unknown = set(split) - {"train", "calibration", "test"}
        if unknown:
            raise InvalidParamsError(
                f"train: split has unknown part(s) {sorted(unknown)}; the parts are train, "
                "calibration and test."
            )
        split = (split.get("train", 0.6), split.get("calibration", 0.2), split.get("test", 0.2))
    try:
        f = [float(x) for x in split]
    except (TypeError, ValueError) as e:
        raise InvalidParamsError(
            f"train: split must be (train, calibration, test) fractions, got {split!r}."
        ) from e
    if len(f) != 3:
        raise InvalidParamsError(
            f"train: split must be three fractions (train, calibration, test), got {split!r}."
        )
    return f


def _cuts(cuts, cut_fractions):
    """The calendar cuts as texts (dates, numbers) and fractions for the engine."""
    def two(v, what):
        v = list(v)
        if len(v) != 2:
            raise InvalidParamsError(
                f"train: {what} must hold two values (training ends at the first, the test part "
                f"starts at the second), got {v!r}."
            )
        return v

    texts = [] if cuts is None else [_cut_text(c) for c in two(cuts, "cuts")]
    fractions = [] if cut_fractions is None else [float(f) for f in two(cut_fractions,
                                                                          "cut_fractions")]
    return texts, fractions


def _cut_text(c):
    """A cut as the command line writes it: a date as YYYY-MM-DD[THH:MM:SS], a number as text."""
    if isinstance(c, str):
        return c
    if hasattr(c, "isoformat"):  # datetime.date / datetime / pandas.Timestamp
        return c.isoformat()
    if isinstance(c, np.datetime64):
        return str(c)
    if isinstance(c, (int, float, np.integer, np.floating)) and not isinstance(c, bool):
        return _number_text(c)
    raise InvalidParamsError(f"train: a cut must be a date, a date string or a number, got {c!r}.")


def _names(v):
    if v is None:
        return []
    if isinstance(v, str):
        return [v]
    return [str(x) for x in v]


def train(data, *, label, group_column=None, time_column=None, categorical=(), drop=(),
          subgroups=(), model="auto", params=None, calibration=None, min_recall=None,
          min_precision=None, max_alert_rate=None, cost_fp=None, cost_fn=None, fbeta=None,
          split=(0.6, 0.2, 0.2), split_rule="entry", cuts=None, cut_fractions=None,
          calendar_patients="exclude", seed=0, n_threads=0, source=None, code_hierarchy=None,
          hierarchy_min_count=10, task="auto", min_accuracy=None, max_review_rate=None,
          conformal=None, conformal_method="lac", text_columns="categorical", positive=None):
    """Split -> fit -> calibrate -> threshold -> evaluate -> Pipeline, as ``calibrisk train``.

    Parameters mirror the command's flags, and the same data and settings give a byte-identical
    model file (``result.pipeline.save(path)`` writes what ``calibrisk train --out path`` writes).

    data : path of a CSV file (read exactly as the command reads it) or a pandas DataFrame
        (written to CSV text with ``to_csv(index=False)`` and read the same way; dates as ISO
        8601 text, NaN / None as missing).
    label, group_column, time_column, categorical, drop, subgroups : column roles, as
        ``--label``, ``--group-column``, ``--time-column``, ``--categorical``, ``--drop``,
        ``--subgroup``. With a DataFrame, its ``category``, ``object`` and ``string`` feature
        columns are categorical too; a numeric column listed in ``categorical`` has its values
        turned into labels as the estimators do ("7", not "7.0"; docs/categorical.md).
    positive : the event (coded 1) of a label of two text values, as ``--positive``: not needed
        for yes/no, y/n, true/false or t/f labels (any letter case), required for any other
        pair ("readmitted" / "not readmitted"); the model's provenance records both labels
        (``data.positive_label``, ``data.negative_label``).
    text_columns : "categorical" (default, as ``--text-columns``): a feature column of a CSV
        whose values are all text is read as categorical (a note says which; the model's
        provenance lists them as ``data.inferred_categorical``); a column holding both numbers
        and text is an error naming it. "error": every text feature column must be declared in
        ``categorical`` (or dropped), also a DataFrame's text columns.
    code_hierarchy : {column: None or [] (dotted codes: 250.01 -> 250.0 -> 250) or prefix
        lengths such as [3, 4]}, as ``--code-hierarchy``: rare codes (fewer than
        ``hierarchy_min_count`` training rows, ``--hierarchy-min-count``) are pooled into an
        ancestor and unseen codes scored as their nearest seen ancestor.
    model : "auto" (default, as ``calibrisk train``: logistic regression or boosted trees,
        whichever has the lower held-out log loss on the training part -- the calibration and
        test parts are not used; docs/defaults.md), "lr" (logistic regression) or "gbdt"
        (boosted trees).
    params : dict of model parameters by their C++ names (``--param``), e.g.
        ``{"n_estimators": 300, "class_weight": "balanced"}``; with ``model="auto"`` each applies
        to the candidates that have it. The workflow's switches go here too (docs/defaults.md):
        ``early_stopping_max_rounds`` (the tree cap of early-stopped fits, 300; a given
        ``n_estimators`` caps them instead), ``early_stopping_refit`` ("same", "scaled",
        "none"), ``early_stopping_min_rows`` and ``selection.<name>`` of the model choice
        (``selection.one_standard_error``, ``selection.wide_variant``,
        ``selection.additive_variant``, ``selection.folds``,
        ``selection.calibration_ece_min_rows``).
    calibration : "platt", "isotonic", "beta" or "none"; multiclass labels: "temperature" (the
        default when ``calibration`` is left unset), "ovr-sigmoid", "ovr-isotonic" ("platt",
        "sigmoid", "isotonic" mean these), "dirichlet" or "none", as ``--calibration``. Unset
        (None): beta, except that ``model="auto"`` chooses the method (none, platt, beta or
        isotonic) by cross-fitted log loss on the calibration part (docs/defaults.md).
    min_recall, min_precision, max_alert_rate, fbeta, cost_fp + cost_fn : the threshold policy
        (at most one; default ``min_recall=0.8``), as ``--policy``.
    task : "auto" (multiclass when the label has more than two distinct values), "binary" or
        "multiclass", as ``--task``. A multiclass label fits a multinomial logistic regression
        (``model="lr"``), a multiclass calibrator and a review threshold, and gives a K-class
        pipeline (docs/workflow.md "Multiclass").
    min_accuracy, max_review_rate : the review-queue policy of a multiclass label (default
        ``min_accuracy=0.95``), as ``--policy min-accuracy=A,max-review-rate=R``.
    conformal, conformal_method : instead, a split-conformal review queue for a multiclass label,
        as ``--policy conformal=COVERAGE,method=lac|aps``: prediction sets holding the true label
        with probability ``conformal`` (in (0, 1), e.g. 0.9) on exchangeable rows, calibrated on
        the calibration part with the LAC (``"lac"``, default) or APS (``"aps"``) score; an item
        is auto-routed when its set holds one label. Not combined with ``min_accuracy`` /
        ``max_review_rate``. The review keywords on a binary label are an error.
    split : (train, calibration, test) fractions or a dict of them, each > 0, summing to 1
        (``split_rule="entry"``).
    split_rule : "entry" (patients in order of entry, by ``split``) or "calendar" (rows by date:
        train before ``cuts[0]``, calibration until ``cuts[1]``, test from ``cuts[1]``), as
        ``--split-rule``.
    cuts : the two calendar cuts: dates ("2023-01-01", ``datetime.date``) for a date time column,
        numbers for a numeric one (``--cut``); or ``cut_fractions`` of the time range
        (``--cut-fractions``).
    calendar_patients : "exclude" (a patient stays in the first part they appear in) or
        "later-only" (their later rows stay in the later parts), as ``--calendar-patients``.
    seed : the model's ``random_state`` (unless ``params`` sets it) and the recorded seed.
    n_threads : worker threads (0 = all cores; never stored in the model file).
    source : the data's name recorded in the model file (default: the CSV's file name, or
        "DataFrame").

    Returns a :class:`TrainResult`. Raises InvalidParamsError for bad settings and
    InvalidInputError for unusable data, with the command's messages.
    """
    categorical = _names(categorical)
    data, categorical = _frame_categoricals(data, categorical, code_hierarchy,
                                            (label, group_column, time_column, *_names(drop)),
                                            text_columns)
    spec = _spec(label, group_column, time_column, categorical, drop, subgroups, model, params,
                 calibration, seed, n_threads, split_rule, cuts, cut_fractions, calendar_patients,
                 text_columns, positive)
    spec["code_hierarchy"] = {str(k): [] if v is None else [int(n) for n in v]
                              for k, v in (code_hierarchy or {}).items()}
    spec["hierarchy_min_count"] = int(hierarchy_min_count)
    spec["split"] = _split(split)
    spec.update(_policy(min_recall, min_precision, max_alert_rate, cost_fp, cost_fn, fbeta))
    spec["task"] = str(task)
    spec["min_accuracy"] = None if min_accuracy is None else float(min_accuracy)
    spec["max_review_rate"] = None if max_review_rate is None else float(max_review_rate)
    spec["conformal"] = None if conformal is None else float(conformal)
    spec["conformal_method"] = str(conformal_method)
    result = TrainResult(_run(_core._train_pipeline, data, spec, source, "train"))
    for note in result.notes:
        # Stopping early is the requested behaviour (as GradientBoostingClassifier.fit).
        if not note.startswith("boosted trees: early stopping"):
            warnings.warn(f"calibrisk.train: {note}", UserWarning, stacklevel=2)
    return result


def _frame_categoricals(data, categorical, code_hierarchy, not_features, text_columns):
    """A DataFrame's categorical feature columns: the declared ones plus (text_columns
    "categorical") its category / object / string columns; declared numeric columns (and those
    with a hierarchy) turned into the labels the estimators use. Returns (data, categorical
    names)."""
    if not (hasattr(data, "to_csv") and hasattr(data, "columns")):
        return data, categorical
    from ._categorical import _text_dtype, labels_of
    skip = {str(c) for c in not_features if c is not None}
    names = list(categorical)
    for c, dt in zip(data.columns, data.dtypes):
        if (text_columns == "categorical" and str(c) not in skip and str(c) not in names
                and _text_dtype(dt)):
            names.append(str(c))
    declared = set(names) | {str(c) for c in (code_hierarchy or {})}
    convert = [c for c in data.columns if str(c) in declared and not _text_dtype(data[c].dtype)]
    if convert:
        data = data.copy()
        for c in convert:
            data[c] = labels_of(data[c])
    return data, names


def _spec(label, group_column, time_column, categorical, drop, subgroups, model, params,
          calibration, seed, n_threads, split_rule, cuts, cut_fractions, calendar_patients,
          text_columns, positive):
    """The engine's spec dict of the keywords train and validate share."""
    texts, fractions = _cuts(cuts, cut_fractions)
    return {
        "text_columns": str(text_columns),
        "positive": None if positive is None else str(positive),
        "label": str(label),
        "group_column": "" if group_column is None else str(group_column),
        "time_column": "" if time_column is None else str(time_column),
        "categorical": _names(categorical),
        "drop": _names(drop),
        "subgroups": _names(subgroups),
        "model": str(model),
        "calibration": "" if calibration is None else str(calibration),
        "params": [(str(k), _param_text(str(k), v)) for k, v in (params or {}).items()],
        "seed": int(seed),
        "n_threads": int(n_threads),
        "split_rule": str(split_rule),
        "cuts": texts,
        "cut_fractions": fractions,
        "calendar_patients": str(calendar_patients),
    }


def _run(engine, data, spec, source, what):
    """Calls `engine(path, text, spec)` on a CSV path or a DataFrame (as its CSV text)."""
    if isinstance(data, (str, os.PathLike)):
        path = os.fspath(data)
        spec["source"] = os.path.basename(path) if source is None else str(source)
        spec["header"] = []
        return engine(path, "", spec)
    if hasattr(data, "to_csv") and hasattr(data, "columns"):
        spec["source"] = "DataFrame" if source is None else str(source)
        spec["header"] = [str(c) for c in data.columns]
        return engine("", data.to_csv(index=False), spec)
    raise InvalidParamsError(
        f"{what}: data must be a CSV path or a pandas DataFrame, got {type(data).__name__}."
    )


#: Columns of the table :func:`validate` returns, in order.
VALIDATE_COLUMNS = (
    "period", "start", "fit_periods", "calibration_period", "n_fit", "n_calibration", "n_test",
    "events_test", "test_rows_left_out", "test_groups_seen_earlier", "auc", "auc_lower",
    "auc_upper", "calibration_intercept", "calibration_slope", "ici", "threshold", "alert_rate",
    "expected_alert_rate", "recall", "precision", "prevalence", "mean_risk", "skipped",
)

#: Columns of the table :func:`validate` returns for a multiclass label, in order.
MULTICLASS_VALIDATE_COLUMNS = (
    "period", "start", "fit_periods", "calibration_period", "n_fit", "n_calibration", "n_test",
    "class_counts_test", "test_rows_left_out", "test_groups_seen_earlier",
    "log_loss", "log_loss_lower", "log_loss_upper", "brier", "brier_lower", "brier_upper",
    "top_label_ece", "top_label_ece_lower", "top_label_ece_upper",
    "accuracy", "accuracy_lower", "accuracy_upper", "review_threshold", "n_auto",
    "auto_accuracy", "auto_accuracy_lower", "auto_accuracy_upper",
    "review_rate", "review_rate_lower", "review_rate_upper",
    "expected_auto_accuracy", "expected_review_rate", "skipped",
)


def validate(data, *, label, time_column, group_column=None, categorical=(), drop=(),
             model="auto", params=None, calibration=None, min_recall=None, min_precision=None,
             max_alert_rate=None, cost_fp=None, cost_fn=None, fbeta=None, period="quarter",
             n_bins=8, min_train_periods=2, n_bootstrap=200, calendar_patients="exclude",
             seed=0, n_threads=0, return_predictions=False, task="auto", min_accuracy=None,
             max_review_rate=None, conformal=None, conformal_method="lac",
             text_columns="categorical", positive=None):
    """Rolling-origin validation, as ``calibrisk validate``: how the model decays over time.

    The rows are cut into periods of ``time_column`` (``period``: "month", "quarter", "year" or
    "bins", ``n_bins`` periods of about equal row counts). For each test period t + 1 from the
    ``min_train_periods + 1``-th on, the model is fitted on the periods before t, the calibrator
    and the threshold (the policy) on period t, and the pipeline is tested on period t + 1;
    patients seen in periods <= t are left out of the test period (``calendar_patients=
    "exclude"``) or keep their test-period rows (``"later-only"``). The other keywords are
    :func:`train`'s.

    Returns the per-period table (columns :data:`VALIDATE_COLUMNS`): a pandas DataFrame when
    pandas is installed, else a list of dicts. ``start`` is the test period's first day as
    ``datetime64[D]`` for a date column. With ``return_predictions``, also returns a list (one
    per period) of ``(test_rows, p)``: the test period's row indices into the data and their
    calibrated risks.

    A multiclass label (``task``, ``min_accuracy``, ``max_review_rate``, ``conformal``,
    ``conformal_method`` and a multiclass ``calibration`` as in :func:`train`) runs the
    multiclass road per origin; the table then has the columns
    :data:`MULTICLASS_VALIDATE_COLUMNS` (log loss, multiclass Brier, top-label ECE, accuracy, and
    the review queue chosen on the calibration period: its threshold, the auto-routed rows, their
    accuracy and the review rate on the test period, and the same two figures expected from the
    calibration period; each test-period figure but the threshold and the expected ones with
    ``*_lower`` / ``*_upper``, its 95 % bootstrap interval from ``n_bootstrap`` replicates that
    resample whole patients, not stratified by class, seeded by ``seed``, as the binary
    ``auc_lower`` / ``auc_upper``),
    ``table.attrs["classes"]`` (a DataFrame) names the classes, and
    ``return_predictions`` gives ``(test_rows, P)`` with the (n_test, K) calibrated
    probabilities in class order.
    """
    spec = _spec(label, group_column, time_column, categorical, drop, (), model, params,
                 calibration, seed, n_threads, "entry", None, None, calendar_patients,
                 text_columns, positive)
    spec["split"] = [0.6, 0.2, 0.2]
    spec.update(_policy(min_recall, min_precision, max_alert_rate, cost_fp, cost_fn, fbeta))
    spec.update({"period": str(period), "n_bins": int(n_bins),
                 "min_train_periods": int(min_train_periods), "n_bootstrap": int(n_bootstrap)})
    spec.update({"task": str(task),
                 "min_accuracy": None if min_accuracy is None else float(min_accuracy),
                 "max_review_rate": None if max_review_rate is None else float(max_review_rate),
                 "conformal": None if conformal is None else float(conformal),
                 "conformal_method": str(conformal_method)})
    _, in_days, periods, kind = _run(_core._validate_rolling, data, spec, None, "validate")
    multiclass = kind["n_classes"] > 2
    columns = MULTICLASS_VALIDATE_COLUMNS if multiclass else VALIDATE_COLUMNS
    rows = []
    for d in periods:
        row = {k: d[k] for k in columns}
        if in_days:
            row["start"] = np.datetime64(int(np.floor(row["start"])), "D")
        rows.append(row)
    try:
        import pandas as pd
        table = pd.DataFrame(rows, columns=list(columns))
        if multiclass:
            table.attrs["classes"] = list(kind["classes"])
            table.attrs["review_policy"] = kind["review_policy"]
    except ImportError:
        table = rows
    if return_predictions:
        key = "test_P" if multiclass else "test_p"
        return table, [(np.asarray(d["test_rows"]), np.asarray(d[key])) for d in periods]
    return table
