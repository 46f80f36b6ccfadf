# SPDX-License-Identifier: Apache-2.0
"""Evaluation reports: discrimination, calibration, the operating point, subgroups, time, provenance.

``evaluate(y, p, ...)`` computes the report in C++ (the same code as ``calibrisk evaluate``) and
returns a :class:`Report`: dict-like access to every section, ``to_json()``, ``to_html(path)``.
"""

import json as _json
import numbers
import os
from collections.abc import Mapping

import numpy as np

from . import _core
from ._validation import group_codes, int_param, quote

__all__ = ["evaluate", "Report", "evaluate_multiclass", "MulticlassReport"]


class _JsonDocument(Mapping):
    """A read-only mapping over a report's JSON document (``_text``, ``_doc``), with
    ``from_json``, ``to_dict``, ``to_json``, ``to_html`` and Jupyter display. Subclasses set
    ``_NORMALIZE`` (the C++ reader: validates, naming the bad JSON path, and canonicalises) and
    ``_HTML`` (the C++ renderer of the document)."""

    def _load(self, document):
        if isinstance(document, (str, bytes)):
            text = document.decode() if isinstance(document, bytes) else document
        else:
            text = _json.dumps(document)
        self._text = type(self)._NORMALIZE(text)
        self._doc = _json.loads(self._text)

    @classmethod
    def from_json(cls, path_or_text):
        """Load a report written by :meth:`to_json` (a path or the JSON text itself)."""
        if isinstance(path_or_text, (str, os.PathLike)) and os.path.exists(path_or_text):
            with open(path_or_text, encoding="utf-8") as f:
                return cls(f.read())
        return cls(path_or_text)

    def __getitem__(self, key):
        return self._doc[key]

    def __iter__(self):
        return iter(self._doc)

    def __len__(self):
        return len(self._doc)

    def to_dict(self):
        """A deep copy of the document as plain Python objects."""
        return _json.loads(self._text)

    def to_json(self, path=None, *, indent=2):
        """The JSON text; also written to ``path`` when given."""
        text = _json.dumps(self._doc, indent=indent, ensure_ascii=False)
        if path is not None:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text + "\n")
        return text

    def _page(self):
        return type(self)._HTML(self._text)

    def to_html(self, path=None):
        """One self-contained HTML page (inline CSS and SVG charts); written to ``path`` if given."""
        html = self._page()
        if path is not None:
            with open(path, "w", encoding="utf-8") as f:
                f.write(html)
        return html

    def _repr_html_(self):  # Jupyter displays the page inline
        return self._page()


class Report(_JsonDocument):
    """An evaluation report: a read-only mapping over its JSON document.

    Sections (keys): ``data``, ``discrimination``, ``calibration`` (``before``/``after``),
    ``operating_point``, ``decision_curve``, ``subgroups``, ``over_time``, ``top_features``,
    ``provenance``, ``notes``, and ``title``, ``confidence``, ``n_bootstrap``. Missing numbers are
    ``None``. See docs/report.md for every field.
    """

    _NORMALIZE = staticmethod(_core._report_normalize)
    _HTML = staticmethod(_core._report_html)

    def __init__(self, document):
        # Validates the document (InvalidInputError naming the bad path) and canonicalises it.
        self._load(document)

    @property
    def flagged_subgroups(self):
        """Rows of the subgroup table that are flagged (a list of dicts)."""
        return [row for row in self._doc["subgroups"]["rows"] if row["flagged"]]

    def __repr__(self):
        d = self._doc
        auc = d["discrimination"]["roc_auc"]["value"]
        ece = d["calibration"]["after"]["ece"]["value"]
        return (
            f"<Report {d['title']!r}: {d['data']['rows']} rows, ROC AUC {auc:.3f}, ECE {ece:.4f}, "
            f"{len(self.flagged_subgroups)} flagged subgroups>"
        )


def _as_1d(name, values, n):
    a = np.asarray(values)
    if a.ndim != 1:
        raise _invalid(f"evaluate: {name} must be 1-D, got shape {a.shape}")
    if len(a) != n:
        raise _invalid(f"evaluate: {name} has {len(a)} values but y has {n}; pass one per row.")
    return a


def _invalid(message):
    from .exceptions import InvalidInputError

    return InvalidInputError(message)


def _is_missing(v):
    return v is None or (isinstance(v, float) and np.isnan(v)) or v is getattr(np, "nan", None)


def _encode_subgroup(name, values, n):
    """(codes as float64 with NaN = missing, labels) for any 1-D column."""
    cat = getattr(values, "cat", None)  # pandas Series of dtype category
    if cat is not None:
        codes = np.asarray(cat.codes, dtype=np.float64)
        codes[codes < 0] = np.nan
        _as_1d(f"subgroups[{name!r}]", codes, n)
        return codes, [str(c) for c in cat.categories]
    a = _as_1d(f"subgroups[{name!r}]", values, n)
    if a.dtype.kind in "biuf":
        af = a.astype(np.float64)
        levels = np.unique(af[~np.isnan(af)])
        codes = np.full(n, np.nan)
        ok = ~np.isnan(af)
        codes[ok] = np.searchsorted(levels, af[ok])
        labels = [str(int(v)) if float(v).is_integer() else repr(float(v)) for v in levels]
        return codes, labels
    missing = np.array([_is_missing(v) for v in a.tolist()], dtype=bool)
    text = np.array(["" if m else str(v) for v, m in zip(a.tolist(), missing)], dtype=object)
    levels = sorted(set(text[~missing].tolist()))
    index = {v: k for k, v in enumerate(levels)}
    codes = np.array([np.nan if m else index[v] for v, m in zip(text.tolist(), missing)], dtype=float)
    return codes, levels


def _subgroup_args(subgroups, n):
    """[(name, [(column, codes, labels), ...])]: one part per column, several per intersection.

    A value that is None or a tuple makes its key an intersection spec "a*b": None crosses the
    dict's own columns a and b, a tuple holds one array per name of the key. Any other value is
    one column (even when its name contains '*')."""
    items = [(str(k), v) for k, v in (subgroups or {}).items()]
    columns = {k: v for k, v in items if v is not None and not isinstance(v, tuple)}
    encoded = {}

    def encode(name):  # each of the dict's columns once
        if name not in encoded:
            encoded[name] = (name, *_encode_subgroup(name, columns[name], n))
        return encoded[name]

    out = []
    for key, values in items:
        where = f"evaluate: subgroups[{key!r}]"
        if values is None:
            names = _core._subgroup_spec_columns(key, list(columns), where)
            out.append((key, [encode(c) for c in names]))
        elif isinstance(values, tuple):
            parts = [s.strip() for s in key.split("*")]
            names = _core._subgroup_spec_columns(key, parts, where)
            if len(names) != len(values):
                raise _invalid(
                    f"{where}: the key names {len(names)} columns but the tuple holds "
                    f"{len(values)} arrays; pass one array per name (e.g. "
                    "{'age_band*sex': (age_band, sex)})."
                )
            out.append((key, [(c, *_encode_subgroup(c, v, n)) for c, v in zip(names, values)]))
        else:
            out.append((key, [encode(key)]))
    return out


def _threshold(threshold):
    """The decision threshold as a probability in [0, 1]; NaN, inf, text or bool are errors."""
    if isinstance(threshold, (bool, np.bool_)) or not isinstance(threshold, numbers.Real):
        raise _invalid(
            f"evaluate: threshold must be a number in [0, 1], got {quote(threshold)}; pass None "
            "for no operating point."
        )
    thr = float(threshold)
    if not 0.0 <= thr <= 1.0:  # also catches NaN
        raise _invalid(
            f"evaluate: threshold is {thr!r}, outside [0, 1]; pass a probability (a case is "
            "flagged when p >= threshold) or None for no operating point."
        )
    return thr


def _encode_time(time, n):
    """(keys as float64, in_days) from datetimes, ISO strings or numbers."""
    if hasattr(time, "to_numpy"):
        time = time.to_numpy()
    a = _as_1d("time", time, n)
    if a.dtype.kind == "M":
        seconds = a.astype("datetime64[s]")
        if np.isnat(seconds).any():
            raise _invalid("evaluate: time has missing values (NaT); every row needs a time key.")
        return seconds.astype(np.int64).astype(np.float64) / 86400.0, True
    if a.dtype.kind in "OUS":
        try:
            parsed = np.asarray([np.datetime64(str(v), "s") for v in a.tolist()])
        except ValueError as exc:
            raise _invalid(
                f"evaluate: time holds text that is not an ISO 8601 date/date-time ({exc}); "
                "pass dates, datetime64 values or numbers."
            ) from None
        if np.isnat(parsed).any():
            raise _invalid("evaluate: time has missing values; every row needs a time key.")
        return parsed.astype(np.int64).astype(np.float64) / 86400.0, True
    return a.astype(np.float64), False


def _missingness_matrix(frame):
    """A DataFrame as float64 for the missingness table: numeric columns as they are, any other
    column (text, pandas category, object) as 0.0 where a value is present and NaN where missing,
    so that label columns of categorical features are accepted."""
    import pandas as pd  # a frame was passed, so pandas is installed

    out = np.empty((len(frame), frame.shape[1]), dtype=np.float64)
    for j in range(frame.shape[1]):
        col = frame.iloc[:, j]
        if pd.api.types.is_numeric_dtype(col.dtype):
            out[:, j] = col.to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            out[:, j] = np.where(col.isna().to_numpy(), np.nan, 0.0)
    return out


def evaluate(
    y,
    p,
    *,
    p_uncalibrated=None,
    threshold=None,
    operating_point=None,
    policy="",
    subgroups=None,
    time=None,
    groups=None,
    X=None,
    feature_names=None,
    feature_importances=None,
    importance_kind="",
    provenance=None,
    title="",
    n_bootstrap=200,
    confidence=0.95,
    n_bins=10,
    strategy="uniform",
    random_state=0,
    n_threads=0,
    intercept_tolerance=0.4,
    recall_tolerance=0.10,
    ece_tolerance=0.0,
    min_subgroup_size=50,
    max_subgroup_levels=100,
    multiplicity="holm",
    time_granularity="auto",
    n_time_bins=8,
    decision_curve_max=0.5,
    n_top_features=15,
):
    """Evaluate probabilities against labels and return a :class:`Report`.

    Parameters
    ----------
    y : array-like of shape (n,)
        Labels 0/1 (both classes needed).
    p : array-like of shape (n,)
        Final (calibrated) probabilities in [0, 1].
    p_uncalibrated : array-like of shape (n,), optional
        Probabilities before calibration: the report shows calibration before and after.
    threshold : float in [0, 1], optional
        Flag a case when ``p >= threshold`` (NaN or a value outside [0, 1] is an error). Alternatively ``operating_point``: any object with a
        ``threshold`` attribute (and optionally ``policy``) such as the result of
        ``calibrisk.select_threshold``, or a dict with those keys. Counts and intervals are
        recomputed on this data.
    policy : str
        How the threshold was chosen (shown in the report).
    subgroups : dict, optional
        Subgroup variables. ``name -> array-like``: a column (any dtype: numbers, strings, pandas
        categoricals; None/NaN = missing). Intersections: ``"a*b" -> None`` crosses the dict's
        own columns ``a`` and ``b`` (e.g. ``{"age_band": age, "sex": sex, "age_band*sex":
        None}``), ``"a*b" -> (array_a, array_b)`` crosses the arrays of the tuple (one per name,
        in order). Levels read ``"age_band=70+ & sex=F"``; empty combinations are absent. A key
        whose value is an array is one column even when its name contains ``*``.
    time : array-like, optional
        Time key: datetime64 values, ISO 8601 strings (periods are months or quarters) or numbers
        (equal-count bins).
    groups : array-like, optional
        Patient ids (any hashable values, none missing: None/NaN/pd.NA is an error): counted,
        and the bootstrap resamples whole patients.
    X, feature_names : optional
        Features for the missingness table.
    feature_importances : dict of str -> float, or list of (name, value), optional
    importance_kind : str
    provenance : dict of str -> str, optional
        Shown first in the provenance table (data fingerprint, parameters, versions, ...).
    n_bootstrap, confidence, n_bins, strategy, random_state, n_threads
        Bootstrap replicates (0 = none), interval level, reliability bins ("uniform" or
        "quantile"), seed and threads (results do not depend on the thread count).
    intercept_tolerance, recall_tolerance, ece_tolerance, min_subgroup_size, max_subgroup_levels
        Subgroup flagging rules (see docs/report.md); a variable with more than
        ``max_subgroup_levels`` levels keeps the largest and pools the others (with a note).
    multiplicity : {"holm", "bh", "none"}
        Adjustment of the subgroup p-values over all tests (Holm by default; "bh" =
        Benjamini-Hochberg).
    time_granularity : {"auto", "month", "quarter", "bins"}
    n_time_bins, decision_curve_max, n_top_features

    Returns
    -------
    Report
    """
    y_arr = np.asarray(y)
    if y_arr.ndim != 1:
        raise _invalid(f"evaluate: y must be 1-D, got shape {y_arr.shape}")
    n = len(y_arr)
    if operating_point is not None:
        if threshold is not None:
            raise _invalid("evaluate: pass either threshold or operating_point, not both.")
        if isinstance(operating_point, Mapping):
            threshold = operating_point["threshold"]
            policy = policy or operating_point.get("policy", "")
        else:
            threshold = operating_point.threshold
            policy = policy or getattr(operating_point, "policy", "")
    thr = float("nan") if threshold is None else _threshold(threshold)

    subgroup_args = _subgroup_args(subgroups, n)

    time_keys, in_days = (None, True) if time is None else _encode_time(time, n)

    codes = None if groups is None else group_codes(groups, n, "evaluate")

    names = [] if feature_names is None else [str(f) for f in feature_names]
    if X is not None and hasattr(X, "columns") and feature_names is None:
        names = [str(c) for c in X.columns]
    if X is not None and hasattr(X, "columns"):
        X = _missingness_matrix(X)

    if feature_importances is None:
        importances = []
    elif isinstance(feature_importances, Mapping):
        importances = [(str(k), float(v)) for k, v in feature_importances.items()]
    else:
        importances = [(str(k), float(v)) for k, v in feature_importances]

    settings = dict(
        n_bootstrap=int_param("n_bootstrap", n_bootstrap, "evaluate"),
        confidence=float(confidence),
        n_bins=int_param("n_bins", n_bins, "evaluate"),
        strategy=str(strategy),
        random_state=int_param("random_state", random_state, "evaluate"),
        n_threads=int_param("n_threads", n_threads, "evaluate"),
        intercept_tolerance=float(intercept_tolerance),
        recall_tolerance=float(recall_tolerance),
        ece_tolerance=float(ece_tolerance),
        min_subgroup_size=int_param("min_subgroup_size", min_subgroup_size, "evaluate"),
        max_subgroup_levels=int_param("max_subgroup_levels", max_subgroup_levels, "evaluate"),
        multiplicity=str(multiplicity),
        time_granularity=str(time_granularity),
        n_time_bins=int_param("n_time_bins", n_time_bins, "evaluate"),
        decision_curve_max=float(decision_curve_max),
        n_top_features=int_param("n_top_features", n_top_features, "evaluate"),
    )
    text = _core._evaluate(
        y_arr,
        p,
        p_uncalibrated,
        thr,
        str(policy),
        subgroup_args,
        time_keys,
        in_days,
        codes,
        X,
        names,
        importances,
        str(importance_kind),
        [(str(k), str(v)) for k, v in (provenance or {}).items()],
        str(title),
        settings,
    )
    return Report(text)


# ---- multiclass ---------------------------------------------------------------------------------


class MulticlassReport(_JsonDocument):
    """The evaluation report of a K-class model: a read-only mapping over its JSON document, with
    the HTML page rendered by the same C++ call.

    Keys: ``summary`` (rows, n_classes, class_names, class_counts, log_loss, brier, accuracy,
    macro_f1, top_label_ece, classwise_ece, each ``{"value", "lower", "upper"}``),
    ``calibration`` (``before``/``after``), ``per_class`` (every class), ``shown_classes``,
    ``confusion_matrix`` (shown classes, the others pooled; ``labels`` null = "(other classes)"),
    ``review``, ``risk_coverage``, ``provenance``, ``notes``. See docs/report.md ("Multiclass
    report").
    """

    _NORMALIZE = staticmethod(_core._multiclass_report_normalize)
    _HTML = staticmethod(_core._multiclass_report_html)

    def __init__(self, document, html=None):
        # A document from JSON is validated and canonicalised by the C++ reader (InvalidInputError
        # naming the bad path); evaluate_multiclass passes the page it rendered with the text.
        if html is None:
            self._load(document)
        else:
            self._text = document
            self._doc = _json.loads(document)
        self._html = html

    def _page(self):
        if self._html is None:
            self._html = _core._multiclass_report_html(self._text)
        return self._html

    def __repr__(self):
        s = self._doc["summary"]
        return (
            f"<MulticlassReport {self._doc['title']!r}: {s['rows']} rows, {s['n_classes']} "
            f"classes, accuracy {s['accuracy']['value']:.3f}, log loss "
            f"{s['log_loss']['value']:.4f}>"
        )


def _utf8(value):
    """Text as UTF-8 bytes; lone surrogates (undecodable bytes of a file name or label) pass through
    and are shown as U+FFFD by the report."""
    return str(value).encode("utf-8", "surrogatepass")


_REVIEW_KEYS = ("min_accuracy", "max_review_rate", "confidence", "per_class")


def _review_args(review_policy):
    """(kind, thresholds, per_class, policy, min_accuracy, max_review_rate, confidence)."""
    none = ("", [], False, "", None, None, None)
    if review_policy is None:
        return none
    if isinstance(review_policy, Mapping):
        unknown = sorted(set(review_policy) - set(_REVIEW_KEYS))
        if unknown:
            raise _invalid(
                f"evaluate_multiclass: review_policy has unknown keys {unknown}; use "
                f"{list(_REVIEW_KEYS)} (thresholds are then chosen on this data) or pass the "
                "result of calibrisk.select_review_threshold."
            )

        def opt(k):
            v = review_policy.get(k)
            return None if v is None else float(v)

        return ("options", [], bool(review_policy.get("per_class", False)), "",
                opt("min_accuracy"), opt("max_review_rate"), opt("confidence"))
    if hasattr(review_policy, "threshold") and hasattr(review_policy, "per_class"):
        per_class = review_policy.per_class is not None
        t = np.atleast_1d(np.asarray(review_policy.threshold, dtype=np.float64))
        return ("thresholds", [float(v) for v in t], per_class,
                str(getattr(review_policy, "policy", "")), None, None, None)
    if isinstance(review_policy, numbers.Real) and not isinstance(review_policy, bool):
        t = float(review_policy)
        return ("thresholds", [t], False, f"threshold={t:g}", None, None, None)
    raise _invalid(
        "evaluate_multiclass: review_policy must be None, a dict of options "
        f"({', '.join(_REVIEW_KEYS)}), a confidence threshold, or the result of "
        f"calibrisk.select_review_threshold; got {type(review_policy).__name__}."
    )


def evaluate_multiclass(
    y,
    P,
    *,
    classes=None,
    P_uncalibrated=None,
    review_policy=None,
    provenance=None,
    title="",
    n_bootstrap=200,
    confidence=0.95,
    n_bins=10,
    strategy="uniform",
    random_state=0,
    n_threads=0,
    max_classes_shown=30,
):
    """Evaluate K-class probabilities against labels and return a :class:`MulticlassReport`.

    Parameters
    ----------
    y : array-like of shape (n,)
        Labels: mapped through ``classes`` (the label of each column of P, e.g. ``clf.classes_``)
        or, without ``classes``, the column indices 0..K-1. A class may be absent.
    P : array-like of shape (n, K)
        Final (calibrated) probabilities, rows summing to 1 (as ``predict_proba``).
    classes : array-like of shape (K,), optional
        Label of each column of P; their text (``str``) names the classes in the report.
    P_uncalibrated : array-like of shape (n, K), optional
        Probabilities before calibration: the report compares both.
    review_policy : optional
        The review queue: the result of ``calibrisk.select_review_threshold`` (chosen on
        calibration data; its thresholds are re-measured here), a confidence threshold, or a dict
        of options (``min_accuracy``, ``max_review_rate``, ``confidence``, ``per_class``) to
        choose the threshold on this data (in-sample; the report says so).
    provenance : dict of str -> str, optional
    title : str
    n_bootstrap, confidence, n_bins, strategy, random_state, n_threads
        Bootstrap replicates (0 = none), interval level, reliability bins ("uniform" or
        "quantile"), seed and threads (results do not depend on the thread count). The bootstrap
        resamples rows without class strata, so accuracy, Brier, log loss and ECE intervals have
        the binomial width even when the model mostly predicts the majority class; F1 intervals
        leave out replicates that lack the class (a note names such classes).
    max_classes_shown : int
        Classes with their own confusion-matrix row/column, reliability curve and HTML table row
        (the most frequent; the others are pooled), in [2, 1000].

    Returns
    -------
    MulticlassReport
    """
    from .threshold import _class_indices

    where = "evaluate_multiclass"
    P_arr = np.asarray(P)
    if P_arr.ndim != 2:
        raise _invalid(f"{where}: P must be 2-D (n_samples, n_classes), got shape {P_arr.shape}.")
    K = P_arr.shape[1]
    yi = _class_indices(y, K, classes, where)
    names = [] if classes is None else [_utf8(c) for c in np.asarray(classes).tolist()]
    settings = dict(
        n_bootstrap=int_param("n_bootstrap", n_bootstrap, where),
        confidence=float(confidence),
        n_bins=int_param("n_bins", n_bins, where),
        strategy=str(strategy),
        random_state=int_param("random_state", random_state, where),
        n_threads=int_param("n_threads", n_threads, where),
        max_classes_shown=int_param("max_classes_shown", max_classes_shown, where),
    )
    kind, thresholds, per_class, policy, min_acc, max_rr, conf = _review_args(review_policy)
    text, html = _core._evaluate_multiclass(
        yi,
        P_arr,
        P_uncalibrated,
        names,
        kind,
        thresholds,
        per_class,
        _utf8(policy),
        min_acc,
        max_rr,
        conf,
        [(_utf8(k), _utf8(v)) for k, v in (provenance or {}).items()],
        _utf8(title),
        settings,
    )
    return MulticlassReport(text, html)
