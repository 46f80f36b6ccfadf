# SPDX-License-Identifier: Apache-2.0
"""calibrisk on an existing Dask cluster (docs/distributed.md).

- :class:`DaskLogisticRegression`: L2 logistic regression fitted where the data lives. Every
  statistic the client's Newton iteration needs (loss, gradient, Hessian, class totals, column
  means) is summed from per-row contributions quantised to fixed point with scales derived from
  global quantities only, and the sums are int64 (exact, associative), so the fitted model is the
  same bytes for any number of workers and any partitioning of the same rows.
- :func:`predict_proba`, :func:`predict_risk`, :func:`predict`, :func:`decision_function`,
  :func:`explain`: a :class:`calibrisk.Pipeline` scoring dask.array / dask.dataframe
  collections partition by partition, the model file shipped once per worker. ``Pipeline``'s own
  methods dispatch here when given a Dask collection.
- :func:`point_metrics` (exact ROC AUC, average precision, log loss, Brier, operating point
  counts, computed distributed) and :func:`evaluate` (the full report of
  :func:`calibrisk.evaluate` on the gathered columns, up to ``max_rows`` rows).

Needs the optional packages ``dask`` and ``distributed``: ``pip install calibrisk[dask]``.
"""

try:
    import dask
    import dask.array as da
    import distributed  # noqa: F401  (the cluster this module is written for)
except ImportError as _e:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(
        "calibrisk.dask needs the optional packages dask and distributed, which are not "
        f"installed ({_e}); install them with `pip install calibrisk[dask]`."
    ) from _e

import hashlib
import math
import numbers
import threading
import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning

from . import _core
from .exceptions import InvalidInputError, InvalidParamsError, NotFittedError

__all__ = [
    "DaskLogisticRegression",
    "DaskGradientBoostingClassifier",
    "predict_proba",
    "predict_risk",
    "predict",
    "decision_function",
    "explain",
    "DaskExplanation",
    "point_metrics",
    "evaluate",
    "DEFAULT_MAX_ROWS",
    "FIXED_POINT_BITS",
]

#: Per-row contributions are quantised so that the largest possible one is 2**FIXED_POINT_BITS
#: units: a row's rounding error is at most 2**-(FIXED_POINT_BITS + 1) of that bound.
FIXED_POINT_BITS = 52
_LIMB = 26  # each quantised value is split into (hi, lo) 26-bit limbs summed in int64
_LIMB_MASK = (1 << _LIMB) - 1
#: Rows one fit can take: n * 2**26 < 2**63 keeps every int64 limb sum exact.
MAX_ROWS_FIT = 1 << 36
#: evaluate() gathers the columns to the client up to this many rows (then: point_metrics).
DEFAULT_MAX_ROWS = 20_000_000
_MAX_CLASSES = 1000  # as calibrisk.LogisticRegression (kMaxClasses in core/dataset.hpp)

# ------------------------------------------------------------------------------------------------
# exact fixed-point sums


#: The Hessian's factors h_i x_ij and x_ik are quantised to HESSIAN_BITS each; their products
#: are summed exactly in float64 blocks of 2**_HESSIAN_BLOCK_BITS rows (every partial sum an
#: integer below 2**53, so the sum is exact in any order).
HESSIAN_BITS = 20
_HESSIAN_BLOCK_BITS = 53 - 1 - 2 * HESSIAN_BITS


def _scale(bound, bits=FIXED_POINT_BITS):
    """The power of two s with bound * s <= 2**bits (bound <= 0 or not finite: 1)."""
    bound = float(bound)
    if not (bound > 0.0 and math.isfinite(bound)):
        bound = 1.0
    bound = max(bound, 2.0 ** -900)
    _, e = math.frexp(bound)  # bound <= 2**e
    return math.ldexp(1.0, bits - e)


def _qsum(values, scale):
    """(hi, lo) int64 sums over axis 0 of rint(values * scale): an exact, order-free sum of the
    quantised values (scale broadcasts over the trailing axes)."""
    q = np.rint(np.asarray(values, dtype=np.float64) * scale).astype(np.int64)
    return np.stack([(q >> _LIMB).sum(axis=0), (q & _LIMB_MASK).sum(axis=0)])


def _qvalue(hl, scale):
    """The float64 values of (hi, lo) limb sums (exact integer, one rounding, exact scaling)."""
    hl = np.asarray(hl, dtype=np.int64)
    scale = np.broadcast_to(np.asarray(scale, dtype=np.float64), hl.shape[1:])
    out = np.empty(hl.shape[1:], dtype=np.float64)
    for idx in np.ndindex(*hl.shape[1:]):
        total = (int(hl[(0, *idx)]) << _LIMB) + int(hl[(1, *idx)])
        out[idx] = float(total) / float(scale[idx])
    return out


def _tree_sum(parts, fan_in=8):
    """Delayed sum of int64 arrays (exact, so the tree's shape does not matter)."""
    parts = list(parts)
    if not parts:
        return None
    while len(parts) > 1:
        parts = [dask.delayed(_add_all)(*parts[i:i + fan_in]) for i in range(0, len(parts), fan_in)]
    return parts[0]


def _add_all(*arrays):
    out = np.array(arrays[0], dtype=np.int64, copy=True)
    for a in arrays[1:]:
        out += a
    return out


# ------------------------------------------------------------------------------------------------
# collections -> lists of per-partition delayed objects


def is_dask_collection(obj):
    """True for dask.array / dask.dataframe collections (without importing anything)."""
    return dask.is_dask_collection(obj)


def _kind(obj):
    if isinstance(obj, da.Array):
        return "array"
    mod = type(obj).__module__ or ""
    if mod.startswith("dask") and hasattr(obj, "npartitions"):
        return "dataframe"
    return None


def _blocks(obj, name, *, ndim, like=None):
    """Per-partition delayed objects of a dask.array (2-D: one chunk across columns) or a dask
    dataframe/series; a numpy array is split like ``like`` (a dask.array with known chunks)."""
    kind = _kind(obj)
    if kind is None and like is not None and isinstance(like, da.Array) and obj is not None:
        arr = np.asarray(obj)
        if arr.shape[0] != like.shape[0]:
            raise InvalidInputError(
                f"calibrisk.dask: {name} has {arr.shape[0]} rows but X has {like.shape[0]}; "
                "pass one value per row.")
        obj = da.from_array(arr, chunks=(like.chunks[0],) + arr.shape[1:])
        kind = "array"
    if kind is None:
        raise InvalidInputError(
            f"calibrisk.dask: {name} must be a dask.array or dask.dataframe collection, got "
            f"{type(obj).__name__}; wrap it with dask.array.from_array or "
            "dask.dataframe.from_pandas (or use the single-process calibrisk API).")
    if kind == "array":
        if obj.ndim != ndim and not (ndim == 1 and obj.ndim == 2 and obj.shape[1] == 1):
            raise InvalidInputError(
                f"calibrisk.dask: {name} must be {ndim}-D, got shape {obj.shape}.")
        if obj.ndim == 2 and obj.numblocks[1] != 1:
            obj = obj.rechunk({1: -1})
        if like is not None and isinstance(like, da.Array) and obj.chunks[0] != like.chunks[0]:
            unknown = any(math.isnan(c) for c in obj.chunks[0] + like.chunks[0])
            if unknown and obj.numblocks[0] == like.numblocks[0]:
                return list(obj.to_delayed().ravel())  # row counts are checked per partition
            if unknown:
                raise InvalidInputError(
                    f"calibrisk.dask: {name} and X have different row partitions of unknown "
                    "sizes; give them the same chunks (compute_chunk_sizes()).")
            if obj.shape[0] != like.shape[0]:
                raise InvalidInputError(
                    f"calibrisk.dask: {name} has {obj.shape[0]} rows but X has "
                    f"{like.shape[0]}; pass one value per row.")
            obj = obj.rechunk({0: like.chunks[0]})
        return list(obj.to_delayed().ravel())
    return list(obj.to_delayed())


_LR_NON_NUMERIC = "DaskLogisticRegression takes numeric columns (encode categories first)."


def _as_matrix(part, where, index, non_numeric=_LR_NON_NUMERIC, trees=False):
    """A partition of X as a 2-D float ndarray and its column names (None for an array);
    non-numeric columns are errors ending in `non_numeric`. float64 in any memory order for the
    logistic regression; for the trees (`trees`) C-ordered, and float32 when every column is
    float32 (binned as it is: the same codes as its exact float64 values, without a float64 copy).
    No copy when the partition already is such an array."""
    if hasattr(part, "dtypes") and hasattr(part, "columns"):
        bad = [(str(c), str(t)) for c, t in part.dtypes.items() if t.kind not in "biuf"]
        if bad:
            raise InvalidInputError(
                f"{where}: partition {index} of X has non-numeric columns "
                f"{[c for c, _ in bad[:5]]} (dtypes {[t for _, t in bad[:5]]}); {non_numeric}")
        arr = part.to_numpy(dtype=_float_dtype(list(part.dtypes), trees), na_value=np.nan)
        names = [str(c) for c in part.columns]
    else:
        arr, names = np.asarray(part), None
        if arr.dtype.kind not in "biuf":
            raise InvalidInputError(
                f"{where}: partition {index} of X has dtype {arr.dtype}; pass numbers "
                "(float or int).")
        if arr.ndim != 2:
            raise InvalidInputError(
                f"{where}: partition {index} of X is {arr.ndim}-D; X must be 2-D.")
    dt = _float_dtype([arr.dtype], trees)
    return (np.ascontiguousarray(arr, dtype=dt) if trees else arr.astype(dt, copy=False)), names


def _float_dtype(dtypes, float32_ok):
    """float32 when allowed and every column is float32, else float64."""
    f32 = float32_ok and dtypes and all(t == np.float32 for t in dtypes)
    return np.float32 if f32 else np.float64


def _as_vector(part):
    if hasattr(part, "to_numpy"):
        return part.to_numpy()
    a = np.asarray(part)
    return a.reshape(-1) if a.ndim == 2 and a.shape[1] == 1 else a


# ------------------------------------------------------------------------------------------------
# per-partition work of the fit (runs on the workers)


def _stats(x, y, w, index):
    """Pass 1: shapes, labels, ranges, weight bounds of one partition (raises on bad input)."""
    where = "DaskLogisticRegression.fit"
    if _issparse(x):
        return _dl.sparse_stats(x, y, w, index, where)
    X, names = _as_matrix(x, where, index)
    yv = _as_vector(y)
    if yv.ndim != 1 or yv.shape[0] != X.shape[0]:
        raise InvalidInputError(
            f"{where}: partition {index} has {X.shape[0]} rows of X but {yv.shape[0]} labels; "
            "X and y must be partitioned alike (the same rows in each partition).")
    out = {"rows": X.shape[0], "cols": X.shape[1], "names": names}
    if np.isinf(X).any():
        r, c = np.argwhere(np.isinf(X))[0]
        raise InvalidInputError(
            f"{where}: X has an infinite value in partition {index}, row {r} of the partition, "
            f"column {c}; replace it (NaN means missing).")
    _label_stats(out, yv, w, X.shape[0], where, index)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns
        out["min"] = np.nanmin(X, axis=0) if X.shape[0] else np.full(X.shape[1], np.inf)
        out["max"] = np.nanmax(X, axis=0) if X.shape[0] else np.full(X.shape[1], -np.inf)
    out["has_nan"] = np.isnan(X).any(axis=0)
    out["sparse"] = False
    return out


def _issparse(x):
    try:
        import scipy.sparse
    except ImportError:  # pragma: no cover - scipy comes with scikit-learn
        return False
    return scipy.sparse.issparse(x)


def _label_stats(out, yv, w, n, where, index):
    """Labels (kind, distinct values) and weight bound of one partition into ``out``."""
    if yv.dtype.kind == "f" and np.isnan(yv).any():
        raise InvalidInputError(f"{where}: y has a missing label in partition {index}.")
    if yv.dtype.kind == "O" and any(v is None for v in yv.tolist()):
        raise InvalidInputError(f"{where}: y has a missing label in partition {index}.")
    out["label_kind"] = _label_kind(yv, where, index)
    out["labels"] = np.unique(yv) if n else yv[:0]
    if w is not None:
        wv = np.asarray(_as_vector(w), dtype=np.float64)
        if wv.shape[0] != n:
            raise InvalidInputError(
                f"{where}: partition {index} has {n} rows of X but {wv.shape[0]} "
                "sample weights; partition sample_weight like X.")
        if not np.all(np.isfinite(wv)) or (wv < 0).any():
            raise InvalidInputError(
                f"{where}: sample_weight in partition {index} has a negative or non-finite "
                "value; weights must be finite and >= 0.")
        out["wmax"] = float(wv.max()) if wv.size else 0.0
    else:
        out["wmax"] = 1.0 if n else 0.0


def _label_kind(yv, where, index):
    """"number" or "text"; a partition mixing both is an error."""
    if yv.dtype.kind in "biuf":
        return "number"
    if yv.dtype.kind in "US":
        return "text"
    is_text = {isinstance(v, str) for v in yv.tolist()}
    if len(is_text) > 1:
        raise InvalidInputError(
            f"{where}: y holds numbers and text in partition {index}; use one type of label.")
    return "text" if is_text == {True} else "number"


def _labels01(yv, classes):
    return (yv == classes[1]).astype(np.float64)


def _class_sums(x, y, w, classes, scale_w, scale_wx):
    """Pass 2: per class, fixed-point sums of w and of w * x over observed values (means)."""
    X, _ = _as_matrix(x, "DaskLogisticRegression.fit", -1)
    y01 = _labels01(_as_vector(y), classes)
    wv = np.ones(X.shape[0]) if w is None else np.asarray(_as_vector(w), dtype=np.float64)
    obs = ~np.isnan(X)
    Xz = np.where(obs, X, 0.0)
    out = []
    for c in (0.0, 1.0):
        m = (y01 == c)
        wc = wv[m]
        out.append(np.concatenate([
            _qsum(wc[:, None], scale_w),                                  # (2, 1)
            _qsum(wc[:, None] * obs[m], scale_w),                         # (2, d)
            _qsum(wc[:, None] * Xz[m], scale_wx),                         # (2, d)
        ], axis=1))
    return np.stack(out)  # (2 classes, 2 limbs, 1 + 2d)


def _prepare(x, y, w, classes, class_w, impute):
    """Pass 3 (persisted): (X Fortran float64 with NaN imputed, y 0/1, combined weights)."""
    X, _ = _as_matrix(x, "DaskLogisticRegression.fit", -1)
    X = np.asfortranarray(np.where(np.isnan(X), impute, X))
    y01 = _labels01(_as_vector(y), classes)
    wv = np.ones(X.shape[0]) if w is None else np.asarray(_as_vector(w), dtype=np.float64)
    wv = wv * np.where(y01 == 1.0, class_w[1], class_w[0])
    return X, y01, wv


def _margin(X, beta, b):
    """z = b + sum_j x_j beta_j, one column at a time: every row's value is the same whatever
    partition it is in (no BLAS blocking)."""
    z = np.full(X.shape[0], b, dtype=np.float64)
    for j in range(X.shape[1]):
        if beta[j] != 0.0:
            z += X[:, j] * beta[j]
    return z


def _newton_pass(part, theta, scales, fit_intercept, hessian):
    """Fixed-point sums of one partition at theta: [loss | gradient (d + 1) | upper-triangular
    Hessian of [X, 1] ((d + 1)(d + 2) / 2)] as (2 limbs, m) int64."""
    X, y, w = part
    n, d = X.shape
    s_loss, s_grad, s_hess = scales
    q = d + 1
    m = 1 + q + (q * (q + 1) // 2 if hessian else 0)
    if n == 0:
        return np.zeros((2, m), dtype=np.int64)
    z = _margin(X, theta[:d], theta[d] if fit_intercept else 0.0)
    with np.errstate(over="ignore"):
        p = 1.0 / (1.0 + np.exp(-z))
    loss = w * (np.logaddexp(0.0, z) - y * z)
    r = w * (p - y)
    parts = [_qsum(loss[:, None], s_loss)]
    A = np.empty((n, q), dtype=np.float64, order="F")
    A[:, :d] = X
    A[:, d] = 1.0
    parts.append(_qsum(r[:, None] * A, s_grad))
    if hessian:
        s_u, s_v = s_hess
        h = w * p * (1.0 - p)
        iu, ju = np.triu_indices(q)
        acc = np.zeros((2, q, q), dtype=np.int64)
        step = 1 << _HESSIAN_BLOCK_BITS
        for lo in range(0, n, step):
            U = np.rint(h[lo:lo + step, None] * A[lo:lo + step] * s_u)  # |U| <= 2**20
            V = np.rint(A[lo:lo + step] * s_v)                          # |V| <= 2**20
            # Exact in any summation order (integers below 2**53). einsum's own loop, not BLAS:
            # a multi-threaded BLAS on a worker already running one task per core spin-waits.
            block = np.einsum("ij,ik->jk", U, V, optimize=False).astype(np.int64)
            acc[0] += block >> _LIMB
            acc[1] += block & _LIMB_MASK
        parts.append(acc[:, iu, ju])
    return np.concatenate(parts, axis=1)


# ------------------------------------------------------------------------------------------------
# the estimator


def _line_search(run, theta, obj, g, step):
    """Backtracking from the full step of a (damped) Newton iteration: Armijo; or, at the
    fixed-point resolution of the objective, a full step that halves the gradient without raising
    the objective beyond rounding. ``run(theta)`` returns (objective, gradient, ...). Returns
    (the accepted point, run's result there), or (None, None) when no step decreases the
    objective (the optimum at the sums' resolution)."""
    slope = float(np.dot(g, step))
    t = 1.0
    for _ in range(40):
        cand = theta + t * step
        res = run(cand)
        c_obj, c_g = res[0], res[1]
        if c_obj <= obj + 1e-4 * t * slope or (
                t == 1.0 and np.max(np.abs(c_g)) <= 0.5 * np.max(np.abs(g))
                and c_obj - obj <= 1e-12 * abs(obj)):
            return cand, res
        t *= 0.5
    return None, None


_D = _core.LogisticRegressionParams()


class DaskLogisticRegression(ClassifierMixin, BaseEstimator):
    """L2 logistic regression (binary, or multinomial for K >= 3 classes; dense or scipy.sparse
    CSR partitions) fitted on a Dask cluster; the same objective and optimum
    as :class:`calibrisk.LogisticRegression` (scikit-learn's ``penalty="l2"``), and the same
    fitted bytes whatever the number of workers or the partitioning of the rows.

    Minimises ``sum_i w_i * logloss(y_i, p_i) + ||coef||^2 / (2 C)`` (intercept unpenalised),
    ``w_i = sample_weight_i * class_weight[y_i]``, by Newton's method with a backtracking line
    search driven from the client. Each pass computes, where each partition lives, the loss, the
    gradient and the Hessian as per-row contributions quantised to fixed point
    (scales from global bounds only: ``n``, per-column max |x|, the largest weight) and sums them
    exactly; only these sums travel. K classes: the softmax model with the (K d)-square Hessian,
    or Newton-CG on Hessian-vector passes when K (d + 1) > 512; CSR chunks are never densified
    (calibrisk/_dask_linear.py). See docs/distributed.md for the bytes per iteration and the
    fixed-point resolution.

    Parameters are those of :class:`calibrisk.LogisticRegression` that apply: ``C``,
    ``fit_intercept``, ``max_iter``, ``tol`` (stop when ``max|gradient| / sum(w) <= tol``),
    ``class_weight`` (None, "balanced" or {label: weight}), ``missing`` ("mean": NaN replaced by
    the sample-weighted training mean of the column; sparse input has no missing values),
    ``standardize`` (kept for :meth:`to_local`; the optimum does not depend on it). Up to 1000
    classes, as single-process.

    Attributes: ``coef_`` (1 or K, n_features), ``intercept_`` (1 or K; K: centred),
    ``classes_``, ``n_features_in_``,
    ``feature_names_in_`` (dask dataframes), ``n_iter_``, ``impute_values_``, ``objective_``,
    ``converged_``, ``n_rows_``, ``n_partitions_``.
    """

    def __init__(self, C=_D.C, fit_intercept=_D.fit_intercept, max_iter=_D.max_iter, tol=_D.tol,
                 class_weight=None, missing="mean", standardize=_D.standardize):
        self.C = C
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.class_weight = class_weight
        self.missing = missing
        self.standardize = standardize

    # -- checks ----------------------------------------------------------------------------------

    def _check_params(self):
        where = "DaskLogisticRegression"
        C = self.C
        if isinstance(C, bool) or not isinstance(C, numbers.Real) or not C > 0:
            raise InvalidParamsError(f"{where}: C must be a number > 0 (inf allowed), got {C!r}.")
        it = self.max_iter
        if isinstance(it, bool) or not isinstance(it, numbers.Integral) or it < 1:
            raise InvalidParamsError(f"{where}: max_iter must be an integer >= 1, got {it!r}.")
        tol = self.tol
        if isinstance(tol, bool) or not isinstance(tol, numbers.Real) or not tol >= 0:
            raise InvalidParamsError(f"{where}: tol must be a number >= 0, got {tol!r}.")
        if self.missing != "mean":
            raise InvalidParamsError(
                f"{where}: missing must be \"mean\", got {self.missing!r} (missing indicators are "
                "not available distributed; add indicator columns to X yourself).")
        cw = self.class_weight
        if not (cw is None or cw == "balanced" or isinstance(cw, dict)):
            raise InvalidParamsError(
                f"{where}: class_weight must be None, \"balanced\" or a dict {{label: weight}}, "
                f"got {cw!r}.")

    # -- fitting ---------------------------------------------------------------------------------

    def fit(self, X, y, sample_weight=None):
        """Fits on X (a dask.array (n, d) of numbers or of scipy.sparse chunks, or a
        dask.dataframe of numeric columns) and labels y
        (a dask.array / dask Series partitioned like X; a numpy array is split like a dask.array
        X), with optional ``sample_weight`` partitioned the same way; returns self."""
        self._check_params()
        where = "DaskLogisticRegression.fit"
        xs = _blocks(X, "X", ndim=2)
        ys = _blocks(y, "y", ndim=1, like=X)
        ws = None if sample_weight is None else _blocks(sample_weight, "sample_weight", ndim=1,
                                                        like=X)
        for name, lst in (("y", ys), ("sample_weight", ws)):
            if lst is not None and len(lst) != len(xs):
                raise InvalidInputError(
                    f"{where}: X has {len(xs)} partitions but {name} has {len(lst)}; partition "
                    f"{name} like X (the same rows in each partition).")
        wl = ws if ws is not None else [None] * len(xs)
        stats = dask.compute(*[dask.delayed(_stats)(x, yy, w, k)
                               for k, (x, yy, w) in enumerate(zip(xs, ys, wl))])[0:]
        info = self._merge_stats(stats, where)
        classes, d = info["classes"], info["d"]
        self._set_fit_info(info, len(xs))
        if info["sparse"] or classes.size > 2:  # softmax and/or CSR partitions
            _dl.fit_general(self, xs, ys, wl, info)
            return self
        # Pass 2: class totals and column means (exact sums).
        wmax, maxabs = info["wmax"], info["maxabs"]
        s_w = _scale(wmax)
        s_wx = np.array([_scale(wmax * a) for a in maxabs])
        sums = dask.compute(_tree_sum([dask.delayed(_class_sums)(x, yy, w, classes, s_w, s_wx)
                                       for x, yy, w in zip(xs, ys, wl)]))[0]
        class_w, impute = self._weights_and_means(sums, s_w, s_wx, classes, d)
        prepared = dask.persist(*[dask.delayed(_prepare)(x, yy, w, classes, class_w, impute)
                                  for x, yy, w in zip(xs, ys, wl)])
        self.impute_values_ = impute
        lo = np.where(info["has_nan"], np.minimum(info["min"], impute), info["min"])
        hi = np.where(info["has_nan"], np.maximum(info["max"], impute), info["max"])
        self._solve(prepared, d, max(wmax * max(class_w), 0.0), np.maximum(np.abs(lo), np.abs(hi)),
                    lo == hi, float(sums_total(sums, s_w, class_w)))
        return self

    def _set_fit_info(self, info, n_partitions):
        self.classes_ = info["classes"]
        self.n_features_in_ = info["d"]
        if info["names"] is not None:
            self.feature_names_in_ = np.asarray(info["names"], dtype=object)
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        self.n_rows_ = info["n"]
        self.n_partitions_ = n_partitions

    def _merge_stats(self, stats, where):
        n = sum(s["rows"] for s in stats)
        if n == 0:
            raise InvalidInputError(f"{where}: X has no rows; pass at least one row per class.")
        if n > MAX_ROWS_FIT:
            raise InvalidInputError(
                f"{where}: {n} rows exceed the {MAX_ROWS_FIT} a fit can sum exactly.")
        d = stats[0]["cols"]
        for k, s in enumerate(stats):
            if s["cols"] != d:
                raise InvalidInputError(
                    f"{where}: partition {k} of X has {s['cols']} columns but partition 0 has "
                    f"{d}; every partition must hold the same columns.")
            if s["sparse"] != stats[0]["sparse"]:
                kinds = ("dense", "scipy.sparse")
                raise InvalidInputError(
                    f"{where}: partition {k} of X is {kinds[s['sparse']]} but partition 0 is "
                    f"{kinds[stats[0]['sparse']]}; make every partition one kind.")
        if d == 0:
            raise InvalidInputError(f"{where}: X has no columns.")
        names = [s["names"] for s in stats]
        if any(nm != names[0] for nm in names):
            raise InvalidInputError(
                f"{where}: the partitions of X have different column names; every partition "
                "must hold the same columns in the same order.")
        kinds = {s["label_kind"] for s in stats if s["rows"]}
        if len(kinds) > 1:
            raise InvalidInputError(
                f"{where}: y holds numbers in some partitions and text in others; use one type "
                "of label throughout.")
        classes = np.unique(np.concatenate([np.asarray(s["labels"]) for s in stats if s["rows"]]))
        if classes.size < 2:
            raise InvalidInputError(
                f"{where}: y contains only one class ({classes[0]!r}) across all partitions; at "
                "least two classes are needed to train.")
        if classes.size > _MAX_CLASSES:
            raise InvalidInputError(
                f"{where}: y has {classes.size} classes, more than the limit of {_MAX_CLASSES} "
                "(as calibrisk.LogisticRegression); a label with that many values is likely an "
                "identifier, not an outcome.")
        mins = np.min([s["min"] for s in stats], axis=0)
        maxs = np.max([s["max"] for s in stats], axis=0)
        has_nan = np.any([s["has_nan"] for s in stats], axis=0)
        allnan = ~np.isfinite(mins)
        mins = np.where(allnan, 0.0, mins)
        maxs = np.where(allnan, 0.0, maxs)
        wmax = max(s["wmax"] for s in stats)
        if not wmax > 0:
            raise InvalidInputError(f"{where}: every sample weight is 0; nothing to fit.")
        return {"n": n, "d": d, "names": names[0], "classes": classes, "min": mins, "max": maxs,
                "sparse": bool(stats[0]["sparse"]),
                "has_nan": has_nan, "wmax": wmax,
                "maxabs": np.maximum(np.abs(mins), np.abs(maxs))}

    def _weights_and_means(self, sums, s_w, s_wx, classes, d):
        """Class multipliers (balanced: W / (2 W_c) on sample-weight totals) and the weighted
        column means of the observed values (sample weights only)."""
        W = np.array([_qvalue(sums[c][:, :1], s_w)[0] for c in (0, 1)])
        from ._dask_linear import class_weights  # the K-class rule; it imports this module

        cw = class_weights(self, W, np.asarray(classes))
        # Means over observed values weighted by sample_weight only, as the single-process
        # solver (column_stats in src/linear/logistic.cpp): the exact int64 limb totals.
        total = np.asarray(sums).sum(axis=0)
        sw_obs = _qvalue(total[:, 1:1 + d], s_w)
        swx = _qvalue(total[:, 1 + d:], s_wx)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(sw_obs > 0, swx / np.where(sw_obs > 0, sw_obs, 1.0), 0.0)
        self._class_weight_values = cw
        return cw, mean

    def _solve(self, prepared, d, wbound, maxabs, constant, sum_w):
        """Newton with backtracking from the client; every pass returns exact sums."""
        C = float(self.C)
        pen = 0.0 if math.isinf(C) else 1.0 / C
        fit_b = bool(self.fit_intercept)
        q = d + 1
        col_bound = np.append(maxabs, 1.0)
        iu, ju = np.triu_indices(q)
        s_grad = np.array([_scale(wbound * b) for b in col_bound])
        s_u = np.array([_scale(0.25 * wbound * b, HESSIAN_BITS) for b in col_bound])
        s_v = np.array([_scale(b, HESSIAN_BITS) for b in col_bound])
        s_hess = (s_u, s_v)
        free = np.ones(q, dtype=bool)
        if fit_b:
            free[:d] &= ~constant  # collinear with the intercept: held at 0 (as the C++ solver)
        else:
            free[d] = False
        self.n_bytes_per_pass_ = 2 * 8 * (1 + q + iu.size)

        def run(theta, hessian=True):
            zb = abs(theta[d]) + float(np.sum(np.abs(theta[:d]) * maxabs))
            s_loss = _scale(wbound * (zb + 1.0))
            out = dask.compute(_tree_sum([dask.delayed(_newton_pass)(
                p, theta, (s_loss, s_grad, s_hess), fit_b, hessian) for p in prepared]))[0]
            loss = _qvalue(out[:, :1], s_loss)[0]
            grad = _qvalue(out[:, 1:1 + q], s_grad)
            H = None
            if hessian:
                hv = _qvalue(out[:, 1 + q:], s_u[iu] * s_v[ju])
                H = np.zeros((q, q))
                H[iu, ju] = hv
                H[ju, iu] = hv
            beta = theta[:d]
            obj = loss + 0.5 * pen * float(np.dot(beta, beta))
            g = grad.copy()
            g[:d] += pen * beta
            g[~free] = 0.0
            return obj, g, H

        theta = np.zeros(q)
        obj, g, H = run(theta)
        n_iter, converged = 0, False
        scale_g = sum_w if sum_w > 0 else 1.0
        for n_iter in range(1, int(self.max_iter) + 1):
            if np.max(np.abs(g)) / scale_g <= float(self.tol):
                converged, n_iter = True, n_iter - 1
                break
            Hf = H[np.ix_(free, free)] + np.diag(np.where(np.arange(q)[free] < d, pen, 0.0))
            try:
                step_f = np.linalg.solve(Hf, -g[free])
            except np.linalg.LinAlgError:
                step_f = np.linalg.lstsq(Hf, -g[free], rcond=None)[0]
            step = np.zeros(q)
            step[free] = step_f
            cand, res = _line_search(run, theta, obj, g, step)
            if cand is None:  # no decrease at the fixed-point resolution: the optimum is reached
                converged = np.max(np.abs(g)) / scale_g <= float(self.tol)
                break
            c_obj, c_g, c_H = res
            theta, obj, g, H = cand, c_obj, c_g, c_H
        else:
            converged = np.max(np.abs(g)) / scale_g <= float(self.tol)
        if not converged:
            warnings.warn(
                f"DaskLogisticRegression: did not converge in {n_iter} iterations "
                f"(max|gradient| / sum(w) = {np.max(np.abs(g)) / scale_g:.3g} > tol = {self.tol}); "
                "raise max_iter, or the classes may be separable (lower C).",
                ConvergenceWarning, stacklevel=3)
        self.coef_ = theta[:d].reshape(1, -1).copy()
        self.intercept_ = np.array([theta[d]])
        self.n_iter_ = np.array([n_iter], dtype=np.int32)
        self.objective_ = float(obj)
        self.converged_ = bool(converged)
        self._hessian = H
        self._free = free

    # -- use -------------------------------------------------------------------------------------

    def __sklearn_is_fitted__(self):
        return hasattr(self, "coef_")

    def to_local(self):
        """The fitted model as a :class:`calibrisk.LogisticRegression` (the same coefficients,
        intercept and imputation values; its ``to_bytes`` / pipeline files are the model's saved
        form), for single-process scoring, Pipelines and calibration."""
        if not self.__sklearn_is_fitted__():
            raise NotFittedError("This DaskLogisticRegression instance is not fitted yet; call "
                                 "'fit' first.")
        d = self.n_features_in_
        est = _dl.multinomial_state(self) if self.classes_.size > 2 else self._local_binary()
        est.classes_ = self.classes_.copy()
        est.n_features_in_ = d
        if hasattr(self, "feature_names_in_"):
            est.feature_names_in_ = self.feature_names_in_.copy()
        est.categorical_encoding_ = None
        est.feature_names_out_ = np.asarray(est._model.design_names(est._input_names(), []),
                                            dtype=object)
        est.n_iter_ = self.n_iter_.copy()
        est.missing_indicator_features_ = np.zeros(0, dtype=np.intp)
        return est

    def _local_binary(self):
        import json

        from .linear import LogisticRegression

        est = LogisticRegression(C=self.C, fit_intercept=self.fit_intercept,
                                 max_iter=self.max_iter, tol=self.tol,
                                 class_weight=self.class_weight, missing="mean",
                                 standardize=self.standardize)
        p = est._core_params(self.classes_)
        probe = _core.LogisticRegressionModel(p)
        Xp = np.array([[0.0], [1.0], [0.0], [1.0]])
        probe.fit(Xp, np.array([0.0, 0.0, 1.0, 1.0]), np.ones(4), 2, [])
        doc = json.loads(probe.to_bytes())
        d = self.n_features_in_
        st = doc["state"]
        st.update({
            "n_features": d,
            "coef": [float(v) for v in self.coef_[0]],
            "intercept": float(self.intercept_[0]),
            "impute_values": [float(v) for v in self.impute_values_],
            "indicator_features": [],
            "feature_mean": [],
            "feature_scale": [],
        })
        st.update(self._std_errors())
        model = _core.LogisticRegressionModel.from_bytes(
            json.dumps(doc, sort_keys=True).encode())
        est._model = model
        est.coef_ = np.asarray(model.design_coef, dtype=np.float64).reshape(1, -1)
        est.intercept_ = np.array([model.intercept], dtype=np.float64)
        return est

    def _std_errors(self):
        """Wald standard errors from the inverse of the penalised Hessian at the solution (the
        last pass's; exact with C = inf, approximate otherwise, as the single-process table);
        NaN for coefficients held at 0 and without an intercept."""
        H, d = self._hessian, self.n_features_in_
        free = self._free
        if H is None:  # fitted by Newton-CG (wide model): no Hessian, as single-process
            return {"coef_std_error": ["NaN"] * d, "intercept_std_error": "NaN"}
        pen = 0.0 if math.isinf(float(self.C)) else 1.0 / float(self.C)
        Hf = H[np.ix_(free, free)] + np.diag(np.where(np.arange(d + 1)[free] < d, pen, 0.0))
        se = np.full(d + 1, np.nan)
        try:
            se[free] = np.sqrt(np.diag(np.linalg.inv(Hf)))
        except np.linalg.LinAlgError:
            return {"coef_std_error": [], "intercept_std_error": "NaN"}

        def num(v):
            return float(v) if np.isfinite(v) else "NaN"

        return {"coef_std_error": [num(v) for v in se[:d]], "intercept_std_error": num(se[d])}

    def to_bytes(self):
        """The saved model (the "model" section of a pipeline file) of :meth:`to_local`."""
        return self.to_local()._model.to_bytes()

    def decision_function(self, X):
        """Log odds of ``classes_[1]`` (K classes: the (n, K) margins): a dask.array for Dask
        input, else an ndarray."""
        return self._apply(X, "decision_function")

    def predict_proba(self, X):
        """(n, K) probabilities in ``classes_`` order; Dask input (dense or CSR chunks) gives a
        dask.array scored partition by partition."""
        return self._apply(X, "predict_proba")

    def predict(self, X):
        return self._apply(X, "predict")

    def _apply(self, X, method):
        local = self.to_local()
        if not is_dask_collection(X):
            return getattr(local, method)(X)
        blob = _shipped(local._model.to_bytes())
        K = self.classes_.size
        cols = 2 if method == "predict_proba" and K == 2 else K
        two_d = method == "predict_proba" or (method == "decision_function" and K > 2)
        dtype = self.classes_.dtype if method == "predict" else np.float64
        meta = np.empty((0, cols) if two_d else (0,), dtype=dtype)
        if _kind(X) == "array":
            X = X.rechunk({1: -1}) if X.ndim == 2 else X
            if two_d:
                return X.map_blocks(_lr_apply, blob, method, self.classes_, dtype=dtype,
                                    chunks=(X.chunks[0], (cols,)), meta=meta)
            return X.map_blocks(_lr_apply, blob, method, self.classes_, dtype=dtype,
                                drop_axis=1, meta=meta)
        return _frame_apply(X, _lr_apply_frame, blob, meta, method, self.classes_)


def sums_total(sums, s_w, class_w):
    """sum_i w_i (class weights applied) from the pass-2 sums."""
    return sum(class_w[c] * _qvalue(sums[c][:, :1], s_w)[0] for c in (0, 1))


# ------------------------------------------------------------------------------------------------
# shipping a model once per worker


_CACHE = {}  # on workers: parsed models
_SHIPPED = {}  # on the client: the scattered model of each (client, model)
_CACHE_LOCK = threading.Lock()


def _shipped(blob):
    """The model bytes/text as one object per worker: scattered with broadcast=True when a
    distributed Client is active (one copy per worker, tasks refer to it by key; kept for the
    next call with the same model), else one delayed value shared by all tasks of the graph."""
    try:
        from distributed import get_client

        client = get_client()
    except (ImportError, ValueError):
        client = None
    if client is None:
        return dask.delayed(blob, pure=True)
    # One scattered copy per (client, model), reused by later calls: scattering the same bytes
    # again under a content key races with the scheduler forgetting the previous copy.
    key = (client.id, hashlib.sha256(blob if isinstance(blob, bytes) else blob.encode()).digest())
    with _CACHE_LOCK:
        fut = _SHIPPED.get(key)
    if fut is None or fut.status != "finished":
        fut = client.scatter(blob, broadcast=True, hash=False)
        with _CACHE_LOCK:
            if len(_SHIPPED) >= 8:
                _SHIPPED.pop(next(iter(_SHIPPED)))
            _SHIPPED[key] = fut
    return fut


def _cached(blob, loader):
    """Parses the shipped model once per worker process (keyed by its SHA-256)."""
    key = (loader.__name__, hashlib.sha256(blob if isinstance(blob, bytes)
                                           else blob.encode()).hexdigest())
    with _CACHE_LOCK:
        obj = _CACHE.get(key)
    if obj is None:
        obj = loader(blob)
        with _CACHE_LOCK:
            if len(_CACHE) > 16:
                _CACHE.clear()
            _CACHE[key] = obj
    return obj


def _load_lr(blob):
    return _core.LogisticRegressionModel.from_bytes(blob)


def _load_pipeline(text):
    from .pipeline import loads

    return loads(text)


def _lr_apply(part, blob, method, classes):
    model = _cached(blob, _load_lr)
    if _issparse(part):  # CSR chunks: scored without densifying
        from .linear import _sparse_tuple

        X = _sparse_tuple(_dl._csr(part))
    else:
        X = part.to_numpy(dtype=np.float64, na_value=np.nan) if hasattr(part, "columns") else \
            np.asarray(part, dtype=np.float64)
    if classes.size > 2 or isinstance(X, tuple):
        if method == "predict_proba":
            return model.predict_proba_matrix(X)
        Z = model.decision_matrix(X)
        if method == "decision_function":
            return Z if classes.size > 2 else Z[:, 0]
        return classes[np.argmax(Z, axis=1)] if classes.size > 2 else \
            classes[(Z[:, 0] > 0).astype(np.intp)]
    if method == "predict_proba":
        return model.predict_proba_2col(X)
    z = model.decision_function(X)
    if method == "decision_function":
        return z
    return classes[(z > 0).astype(np.intp)]


def _frame_apply(X, fn, blob, meta, *args):
    """A dask dataframe's partitions through fn(pandas partition, model, *args) into a dask.array
    with unknown chunk sizes (rows stay in partition order)."""
    return X.map_partitions(fn, blob, *args, meta=meta, enforce_metadata=False)


def _lr_apply_frame(part, blob, method, classes):
    return _lr_apply(part, blob, method, classes)


# ------------------------------------------------------------------------------------------------
# Pipeline scoring on Dask collections (Pipeline.predict_proba & co. dispatch here)


def _pipe_apply(part, text, method, options):
    pipe = _cached(text, _load_pipeline)
    if method == "explain":
        contributions, _ = pipe._p.explain(pipe._X(part), options["scale"])
        return contributions
    return getattr(pipe, method)(part)


def _pipe_map(pipe, X, method, **options):
    """``method`` of a Pipeline over every partition of X, as a dask.array (rows in order)."""
    kind = _kind(X)
    if kind is None:
        raise InvalidInputError(
            f"Pipeline.{method}: X is a Dask collection of type {type(X).__name__}; pass a "
            "dask.array or a dask dataframe.")
    # The pipeline itself on zero rows checks the columns (names, count) before any task runs
    # and gives the result's dtype and trailing shape.
    if kind == "array":
        if X.ndim != 2:
            raise InvalidInputError(f"Pipeline.{method}: X must be 2-D, got shape {X.shape}.")
        if X.shape[1] != pipe.n_features_in_:
            raise InvalidInputError(
                f"Pipeline.{method}: X has {X.shape[1]} columns but the pipeline expects "
                f"{pipe.n_features_in_}.")
        sample = np.empty((0, X.shape[1]), dtype=np.float64)
    else:
        sample = X._meta
    meta = _pipe_apply_local(pipe, sample, method, options)
    blob = _shipped(pipe.to_string())
    if kind == "array":
        X = X.rechunk({1: -1})
        if meta.ndim == 1:
            return X.map_blocks(_pipe_apply, blob, method, options, dtype=meta.dtype,
                                drop_axis=1)
        return X.map_blocks(_pipe_apply, blob, method, options, dtype=meta.dtype,
                            chunks=(X.chunks[0], (meta.shape[1],)))
    return X.map_partitions(_pipe_apply, blob, method, options, meta=meta,
                            enforce_metadata=False)


def _pipe_apply_local(pipe, sample, method, options):
    if method == "explain":
        return pipe._p.explain(pipe._X(sample), options["scale"])[0]
    return np.asarray(getattr(pipe, method)(sample))


def predict_risk(pipe, X):
    """``pipe.predict_risk`` of a dask.array / dask dataframe: a 1-D dask.array, bit-identical
    to scoring the rows in one process (the pipeline file is shipped once per worker)."""
    return _pipe_map(pipe, X, "predict_risk")


def predict_proba(pipe, X):
    """``pipe.predict_proba`` of a Dask collection: a dask.array (n, K)."""
    return _pipe_map(pipe, X, "predict_proba")


def predict(pipe, X):
    """``pipe.predict`` of a Dask collection: a 1-D dask.array (flags, or class labels)."""
    return _pipe_map(pipe, X, "predict")


def decision_function(pipe, X):
    """``pipe.decision_function`` of a Dask collection: a dask.array."""
    return _pipe_map(pipe, X, "decision_function")


class DaskExplanation:
    """``Pipeline.explain`` of a Dask collection: ``contributions`` is a dask.array
    (n, n_features); ``baseline``, ``scale`` and ``feature_names`` as in
    :class:`calibrisk.Explanation`; :meth:`compute` gives that Explanation."""

    def __init__(self, contributions, baseline, scale, feature_names, k):
        from .pipeline import Explanation

        self.contributions = contributions
        self.baseline = float(baseline)
        self.scale = Explanation._LABELS[scale]
        self._scale = scale
        self.feature_names = list(feature_names)
        self._k = k

    @property
    def log_odds(self):
        """``baseline + contributions.sum(axis=1)`` as a dask.array."""
        return self.baseline + self.contributions.sum(axis=1)

    def compute(self, **kwargs):
        """The :class:`calibrisk.Explanation` of all rows (gathers the contributions)."""
        from .pipeline import Explanation

        c = self.contributions.compute(**kwargs)
        return Explanation(c, self.baseline, self._scale, self.feature_names, self._k)

    def __repr__(self):
        return (f"DaskExplanation({self.contributions.shape[0]} rows x "
                f"{len(self.feature_names)} features, scale={self.scale!r}, "
                f"baseline={self.baseline:.6g})")


def explain(pipe, X, k=None, *, scale="calibrated"):
    """``pipe.explain`` of a Dask collection, computed where the partitions live."""
    if k is not None and (isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 0):
        raise InvalidInputError(f"Pipeline.explain: k must be a whole number >= 0, got {k!r}.")
    d = pipe.n_features_in_
    _, baseline = pipe._p.explain(np.zeros((1, d)), str(scale))
    contributions = _pipe_map(pipe, X, "explain", scale=str(scale))
    return DaskExplanation(contributions, baseline, str(scale), pipe.feature_names_in_, k)


# ------------------------------------------------------------------------------------------------
# distributed evaluation


_LOG_LOSS_EPS = float(np.finfo(np.float64).eps)


def _metric_part(y, p, w, threshold, index):
    """One partition's exact summary: distinct scores (ascending) with their positive and
    negative weights (int64 counts without weights), and the sums of the point metrics."""
    where = "calibrisk.dask.point_metrics"
    yv = np.asarray(_as_vector(y), dtype=np.float64)
    pv = np.asarray(_as_vector(p), dtype=np.float64)
    if yv.shape != pv.shape or yv.ndim != 1:
        raise InvalidInputError(
            f"{where}: partition {index} has {yv.size} labels but {pv.size} scores; partition y "
            "and p alike.")
    if not np.isin(yv, (0.0, 1.0)).all():
        raise InvalidInputError(f"{where}: y must hold 0/1 labels (partition {index}).")
    if np.isnan(pv).any() or (pv < 0).any() or (pv > 1).any():
        raise InvalidInputError(
            f"{where}: p must hold probabilities in [0, 1] (partition {index} has NaN or a value "
            "outside).")
    weighted = w is not None
    if weighted:
        wv = np.asarray(_as_vector(w), dtype=np.float64)
        if wv.shape != yv.shape:
            raise InvalidInputError(f"{where}: sample_weight in partition {index} has "
                                    f"{wv.size} values for {yv.size} rows.")
        if not np.isfinite(wv).all() or (wv < 0).any():
            raise InvalidInputError(f"{where}: sample_weight must be finite and >= 0.")
    else:
        wv = np.ones_like(yv)
    u, inv = np.unique(pv + 0.0, return_inverse=True)
    pos = yv == 1.0
    if weighted:
        bp = np.bincount(inv, weights=np.where(pos, wv, 0.0), minlength=u.size)
        bn = np.bincount(inv, weights=np.where(pos, 0.0, wv), minlength=u.size)
    else:
        bp = np.bincount(inv[pos], minlength=u.size).astype(np.int64)
        bn = np.bincount(inv[~pos], minlength=u.size).astype(np.int64)
    q = np.where(pos, pv, 1.0 - pv)
    ll = -np.log(np.clip(q, _LOG_LOSS_EPS, 1.0 - _LOG_LOSS_EPS))
    out = {"u": u, "bp": bp, "bn": bn,
           "ll": [math.fsum(wv * ll)], "brier": [math.fsum(wv * (yv - pv) ** 2)],
           "w": [math.fsum(wv)]}
    if threshold is not None:
        alert = pv >= threshold
        out["tp"] = [math.fsum(wv[alert & pos])]
        out["fp"] = [math.fsum(wv[alert & ~pos])]
    return out


def _merge_metric(*summaries):
    """Exact merge of summaries (score sets united; counts added; sums kept as lists)."""
    u = np.unique(np.concatenate([s["u"] for s in summaries]))
    out = {"u": u}
    for key in ("bp", "bn"):
        acc = np.zeros(u.size, dtype=summaries[0][key].dtype)
        for s in summaries:
            np.add.at(acc, np.searchsorted(u, s["u"]), s[key])
        out[key] = acc
    for key in ("ll", "brier", "w", "tp", "fp"):
        if key in summaries[0]:
            out[key] = [v for s in summaries for v in s[key]]
    return out


def _ranking_metrics(u, bp, bn):
    """ROC AUC and average precision by the tie-block kernels of the C++ metrics (descending
    scores, ties counted one half), on the merged exact summary."""
    bp = np.asarray(bp, dtype=np.float64)[::-1]
    bn = np.asarray(bn, dtype=np.float64)[::-1]
    keep = (bp > 0) | (bn > 0)
    bp, bn = bp[keep], bn[keep]
    tp = np.add.accumulate(bp)
    fp = np.add.accumulate(bn)
    tp_before = np.concatenate([[0.0], tp[:-1]])
    area = np.add.accumulate(bn * (tp_before + 0.5 * bp))[-1] if bp.size else 0.0
    P, N = (tp[-1], fp[-1]) if bp.size else (0.0, 0.0)
    auc = area / (P * N) if P > 0 and N > 0 else float("nan")
    prec = tp / (tp + fp)
    terms = np.where(bp > 0.0, bp * prec, 0.0)
    ap = max(0.0, np.add.accumulate(terms)[-1] / P) if P > 0 else float("nan")
    return float(auc), float(ap), float(P), float(N)


def _metric_blocks(y, p, sample_weight):
    ys = _blocks(y, "y", ndim=1)
    like = p if isinstance(p, da.Array) else None
    ps = _blocks(p, "p", ndim=1, like=y if isinstance(y, da.Array) else like)
    ws = None if sample_weight is None else _blocks(sample_weight, "sample_weight", ndim=1,
                                                    like=y if isinstance(y, da.Array) else None)
    for name, lst in (("p", ps), ("sample_weight", ws)):
        if lst is not None and len(lst) != len(ys):
            raise InvalidInputError(
                f"calibrisk.dask: y has {len(ys)} partitions but {name} has {len(lst)}; "
                f"partition {name} like y.")
    return ys, ps, ws if ws is not None else [None] * len(ys)


def point_metrics(y, p, *, sample_weight=None, threshold=None):
    """Exact point metrics of 0/1 labels ``y`` and probabilities ``p`` (Dask collections
    partitioned alike), computed where the partitions live and merged exactly.

    Returns a dict: ``n`` (rows), ``prevalence``, ``roc_auc``, ``average_precision``,
    ``log_loss``, ``brier_score``, and with ``threshold`` (flag when p >= threshold):
    ``alert_rate``, ``recall``, ``precision``, ``specificity``, ``tp``, ``fp``, ``fn``, ``tn``
    (weighted when ``sample_weight`` is given). No binning: each partition sends its distinct
    scores with their positive / negative counts (24 bytes per distinct score), the summaries are
    merged in a tree and the area sums run on the client exactly as ``calibrisk.metrics`` does, so
    without weights ROC AUC, average precision and the operating-point counts equal the
    single-process values bit for bit; log loss and Brier are correctly rounded per partition and
    summed with ``math.fsum`` (equal to rounding).
    """
    if threshold is not None:
        from .report import _threshold

        threshold = _threshold(threshold)
    ys, ps, ws = _metric_blocks(y, p, sample_weight)
    parts = [dask.delayed(_metric_part)(a, b, c, threshold, k)
             for k, (a, b, c) in enumerate(zip(ys, ps, ws))]
    while len(parts) > 1:
        parts = [dask.delayed(_merge_metric)(*parts[i:i + 8]) for i in range(0, len(parts), 8)]
    s = dask.compute(parts[0])[0]
    auc, ap, P, N = _ranking_metrics(s["u"], s["bp"], s["bn"])
    W = math.fsum(s["w"])
    if not W > 0:
        raise InvalidInputError("calibrisk.dask.point_metrics: no rows (or zero total weight).")
    if not (P > 0 and N > 0):
        raise InvalidInputError(
            "calibrisk.dask.point_metrics: y contains only one class across all partitions; "
            "ROC AUC needs both.")
    out = {"n": int(np.sum(s["bp"]) + np.sum(s["bn"])) if sample_weight is None else None,
           "prevalence": P / (P + N), "roc_auc": auc, "average_precision": ap,
           "log_loss": math.fsum(s["ll"]) / W, "brier_score": math.fsum(s["brier"]) / W}
    if sample_weight is not None:
        out["n"] = int(dask.compute(sum(dask.delayed(len)(a) for a in ys))[0])
    if threshold is not None:
        tp, fp = math.fsum(s["tp"]), math.fsum(s["fp"])
        fn, tn = P - tp, N - fp
        out.update({"threshold": threshold, "tp": tp, "fp": fp, "fn": fn, "tn": tn,
                    "alert_rate": (tp + fp) / (P + N), "recall": tp / P,
                    "precision": tp / (tp + fp) if tp + fp > 0 else float("nan"),
                    "specificity": tn / N})
    return out


def evaluate(y, p, *, max_rows=DEFAULT_MAX_ROWS, **kwargs):
    """The full :func:`calibrisk.evaluate` report of Dask columns: ``y``, ``p`` and the
    row-aligned arguments (``p_uncalibrated``, ``groups``, ``time``, ``subgroups`` values, ``X``)
    are gathered to the client and the single-process evaluation runs on them, so the report is
    the same document as single-process. Bootstrap intervals and subgroup tests need all rows in
    one place: above ``max_rows`` rows this raises and points to :func:`point_metrics` (exact
    point metrics computed distributed, no intervals). Other arguments are passed through."""
    from .report import evaluate as local_evaluate

    if isinstance(max_rows, bool) or not isinstance(max_rows, numbers.Integral) or max_rows < 1:
        raise InvalidParamsError(
            f"calibrisk.dask.evaluate: max_rows must be an integer >= 1, got {max_rows!r}.")
    ys = _blocks(y, "y", ndim=1)
    n = int(dask.compute(sum(dask.delayed(len)(a) for a in ys))[0])
    if n > max_rows:
        raise InvalidInputError(
            f"calibrisk.dask.evaluate: {n} rows exceed max_rows={max_rows}; the full report "
            "(bootstrap intervals, subgroups, calibration curves) is computed in one process on "
            "the gathered columns. Raise max_rows if the client has the memory, or use "
            "calibrisk.dask.point_metrics(y, p, threshold=...) for the exact point metrics "
            "computed on the cluster.")
    row_args = {k: kwargs[k] for k in ("p_uncalibrated", "groups", "time", "X") if
                kwargs.get(k) is not None and is_dask_collection(kwargs[k])}
    subgroups = kwargs.get("subgroups") or {}
    sub_dask = {k: v for k, v in subgroups.items() if is_dask_collection(v)}
    y_l, p_l, rows, subs = dask.compute(y, p, row_args, sub_dask)
    kwargs.update(rows)
    if subgroups:
        kwargs["subgroups"] = {k: subs.get(k, v) for k, v in subgroups.items()}
    return local_evaluate(_local(y_l), _local(p_l), **kwargs)


def _local(v):
    return v.to_numpy() if hasattr(v, "to_numpy") else np.asarray(v)


from . import _dask_linear as _dl  # noqa: E402  (uses the helpers above)
from ._dask_trees import DaskGradientBoostingClassifier  # noqa: E402  (uses the helpers above)
