# SPDX-License-Identifier: Apache-2.0
"""Shared input handling of the scikit-learn style estimators and the functions over labels,
scores and group ids: one place for the conventions every public entry point follows.

- X: 2-D numbers; a non-numeric DataFrame column is named in the error; NaN (also pandas'
  ``pd.NA``) means missing; 0 rows are accepted at prediction time and give empty results.
- sample_weight: None, a scalar (broadcast to every row, as scikit-learn's
  ``_check_sample_weight``) or one value per row.
- groups: one id per row, never missing (None, NaN, ``pd.NA``).
"""

import inspect
import numbers

import numpy as np

__all__ = []

FLOAT_DTYPES = (np.float64, np.float32)
_MAX_QUOTE = 40  # characters of a data value quoted in an error message


def _invalid(message):
    from .exceptions import InvalidInputError

    return InvalidInputError(message)


def quote(value):
    """repr(value) cut to a short length for error messages."""
    text = repr(value)
    return text if len(text) <= _MAX_QUOTE else text[: _MAX_QUOTE - 3] + "..."


def class_weight_args(class_weight):
    """Maps scikit-learn's class_weight (None, "balanced", {0: w0, 1: w1}) to (kind, w0, w1)."""
    from .exceptions import InvalidParamsError

    if class_weight is None:
        return "none", 1.0, 1.0
    if isinstance(class_weight, str):
        if class_weight == "balanced":
            return "balanced", 1.0, 1.0
        raise InvalidParamsError(
            f"class_weight must be None, 'balanced' or a dict {{0: w0, 1: w1}}, got {class_weight!r}."
        )
    if isinstance(class_weight, dict):
        keys = set(class_weight)
        extra = keys - {0, 1}
        if extra:
            raise InvalidParamsError(
                f"class_weight has keys {sorted(extra, key=repr)} that are not classes; "
                "use the labels 0 and 1 as keys."
            )
        return "explicit", float(class_weight.get(0, 1.0)), float(class_weight.get(1, 1.0))
    raise InvalidParamsError(
        f"class_weight must be None, 'balanced' or a dict {{0: w0, 1: w1}}, got {class_weight!r}."
    )


def class_weight_value(class_weight):
    """class_weight checked by class_weight_args, as a Params attribute takes it (None,
    "balanced" or {0: w0, 1: w1})."""
    kind, w0, w1 = class_weight_args(class_weight)
    return {"none": None, "balanced": "balanced"}.get(kind, {0: w0, 1: w1})


def as_float_matrix(X):
    """Returns X unchanged when it is a float32/float64 ndarray (viewed in place by the core),
    else a float64 array (one conversion at the boundary)."""
    if isinstance(X, np.ndarray) and X.dtype in (np.float32, np.float64):
        return X
    return np.asarray(X, dtype=np.float64)


def _non_numeric_column(X):
    """(name, dtype, example) of the first DataFrame column that does not convert to float, or
    None. Only called after a conversion failed, so the happy path pays nothing."""
    columns = getattr(X, "columns", None)
    if columns is None or not hasattr(X, "iloc"):
        return None
    for j, name in enumerate(columns):
        col = X.iloc[:, j]
        try:
            col.to_numpy(dtype=np.float64, na_value=np.nan)
            continue
        except (TypeError, ValueError):
            pass
        for v in col.tolist():
            try:
                float(v)
            except (TypeError, ValueError):
                return name, col.dtype, v
        return name, col.dtype, None
    return None


def _is_1d(X):
    if hasattr(X, "columns"):
        return False
    try:
        return np.ndim(X) == 1
    except TypeError:  # an object refusing numpy's array functions (converted by __array__)
        return np.asarray(X).ndim == 1
    except ValueError:  # ragged nested lists: validate_data names the problem
        return False


def check_X(est, X, y="no_validation", *, reset, where, **kwargs):
    """scikit-learn's validate_data with calibrisk's conventions (float32/float64 kept, NaN =
    missing, inf left to the C++ check, 0 rows allowed when predicting), raising
    InvalidInputError whose message names a non-numeric column or the expected shape. With y
    (fit), returns (X, y) as validate_data does."""
    from sklearn.utils.validation import validate_data

    from .exceptions import InvalidInputError

    if _is_1d(X):
        shape = np.shape(X)
        raise InvalidInputError(
            f"{where}: Expected 2D array, got 1D array of shape {shape} instead. Reshape your "
            "data either using X.reshape(-1, 1) if it has a single feature or X.reshape(1, -1) "
            "if it is a single sample."
        )
    try:
        return validate_data(
            est,
            X,
            y,
            reset=reset,
            accept_sparse=False,
            dtype=FLOAT_DTYPES,
            ensure_all_finite=False,  # NaN = missing; inf is named by the C++ validation
            ensure_min_samples=1 if reset else 0,
            **kwargs,
        )
    except InvalidInputError:
        raise
    except (TypeError, ValueError) as e:
        bad = _non_numeric_column(X)
        if bad is not None:
            name, dtype, example = bad
            raise InvalidInputError(
                f"{where}: column {name!r} of X is not numeric (dtype {dtype}"
                + ("" if example is None else f", value {quote(example)}")
                + "); encode it as numbers (one-hot or ordinal codes) or drop it."
            ) from e
        if isinstance(e, TypeError):
            raise
        raise InvalidInputError(f"{where}: {e}") from e


def check_fit_data(est, X, y, *, where):
    """check_X for fit (reset=True) and scikit-learn's check of classification targets; every
    problem is an InvalidInputError whose message starts with `where`. Returns (X, y)."""
    from sklearn.utils.multiclass import check_classification_targets

    from .exceptions import InvalidInputError

    X, y = check_X(est, X, y, reset=True, where=where)
    try:
        check_classification_targets(y)
    except ValueError as e:
        raise InvalidInputError(f"{where}: {e}") from e
    return X, y


def sample_weights(sample_weight, n, where):
    """None, or float64 weights of length n. A scalar is broadcast to every row (as
    scikit-learn's _check_sample_weight); values (finite, >= 0) are checked by the C++ core."""
    if sample_weight is None:
        return None
    a = np.asarray(sample_weight)
    if a.ndim == 0:
        if a.dtype.kind not in "iuf":  # text, bool, None, objects
            raise _invalid(
                f"{where}: sample_weight must be None, a number or one number per row, got "
                f"{quote(sample_weight)}."
            )
        return np.full(n, float(a))
    try:
        w = a.astype(np.float64, copy=False)
    except (TypeError, ValueError):
        raise _invalid(f"{where}: sample_weight must hold numbers, got dtype {a.dtype}.") from None
    if w.ndim != 1:
        raise _invalid(f"{where}: sample_weight must be 1-D, got shape {w.shape}.")
    if w.shape[0] != n:
        raise _invalid(
            f"{where}: sample_weight has {w.shape[0]} values but X has {n} rows; pass one weight "
            "per row (or one number for all)."
        )
    return w


def _is_missing(v):
    if v is None:
        return True
    try:
        import pandas as pd

        if v is pd.NA or v is pd.NaT:
            return True
    except ImportError:  # pragma: no cover - pandas is a test dependency
        pass
    return isinstance(v, (float, np.floating)) and np.isnan(v)


def group_codes(groups, n, where):
    """Integer codes 0..k-1 of one group id per row (any hashable ids: numbers, strings, mixed).
    A missing id (None, NaN, pd.NA, NaT) is an error: every row must belong to a group."""
    if hasattr(groups, "to_numpy"):
        groups = groups.to_numpy()
    g = np.asarray(groups)
    if g.ndim != 1 or g.shape[0] != n:
        raise _invalid(
            f"{where}: groups has shape {g.shape} but y has {n} values; pass one group key per "
            "row."
        )
    if g.dtype.kind in "fc":
        bad = np.flatnonzero(np.isnan(g))
    elif g.dtype.kind == "M":
        bad = np.flatnonzero(np.isnat(g))
    elif g.dtype.kind == "O":
        bad = np.flatnonzero([_is_missing(v) for v in g.tolist()])
    else:
        bad = np.empty(0, dtype=np.intp)
    if bad.size:
        raise _invalid(
            f"{where}: groups[{int(bad[0])}] is {quote(g[bad[0]])} ({bad.size} missing group ids); "
            "every row needs a group id (e.g. the patient id): fill or drop those rows."
        )
    try:
        codes = np.unique(g, return_inverse=True)[1]
    except TypeError:  # ids of mixed types (e.g. 3 and "3"): codes by first appearance
        index = {}
        try:
            codes = np.array([index.setdefault(v, len(index)) for v in g.tolist()])
        except TypeError:
            raise _invalid(
                f"{where}: groups holds unhashable ids (e.g. {quote(g[0])}); pass numbers or "
                "strings."
            ) from None
    return codes.astype(np.int64).ravel()


def int_param(name, value, where):
    """An integer parameter: an int (numpy ints too) or an integral float such as 1e3. Text,
    bool, NaN and fractions are InvalidParamsError rather than silently truncated by int()."""
    from .exceptions import InvalidParamsError

    if isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_)):
        return int(value)
    if isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)):
        if np.isfinite(value) and float(value).is_integer():
            return int(value)
    raise InvalidParamsError(f"{where}: {name} must be an integer, got {quote(value)}.")


# ---------------------------------------------------------------------------------------------
# Estimator parameters from the C++ field declarations (issue 10 §1)
#
# Every Params struct declares its fields once in C++ (name, default, range, doc); the bindings
# expose them as ``_core.<Params>.fields``. ``params_from_fields`` builds an estimator's
# ``__init__`` (with an explicit signature, so scikit-learn's get_params / clone / set_params /
# repr see every parameter) and its "Parameters" docstring section from that table, so a new C++
# field needs no Python edit. Parameters Python spells differently (None for "unlimited", dicts
# keyed by label, "auto", RandomState) or that exist only in Python are declared with PyParam.


class PyParam:
    """A parameter declared in Python: its default and its docstring text (first line = type)."""

    def __init__(self, default, doc):
        self.default = default
        self.doc = doc


def _field_doc(field):
    return (f"default={field['default']!r}, {field['range']}", field["doc"])


def params_from_fields(params_cls, python=(), skip=()):
    """Class decorator: the estimator's keyword-only parameters are the fields of ``params_cls``
    (C++ defaults and docs), except ``skip``; ``python`` (a dict name -> PyParam) replaces a field
    of the same name in place or adds a Python-only parameter after the fields."""
    python = dict(python)
    entries = []  # (name, default, type line, doc)
    for field in params_cls.fields:
        name = field["name"]
        if name in skip:
            continue
        if name in python:
            p = python.pop(name)
            head, _, body = p.doc.partition("\n")
            entries.append((name, p.default, head, body or field["doc"]))
        else:
            head, body = _field_doc(field)
            entries.append((name, field["default"], head, body))
    for name, p in python.items():
        head, _, body = p.doc.partition("\n")
        entries.append((name, p.default, head, body))

    kw = inspect.Parameter.KEYWORD_ONLY
    signature = inspect.Signature(
        [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        + [inspect.Parameter(name, kw, default=default) for name, default, _, _ in entries]
    )
    names = [e[0] for e in entries]

    def decorate(cls):
        def __init__(self, **kwargs):
            bound = signature.bind(self, **kwargs)  # TypeError naming an unknown keyword
            bound.apply_defaults()
            for name in names:
                setattr(self, name, bound.arguments[name])

        __init__.__signature__ = signature
        __init__.__qualname__ = f"{cls.__qualname__}.__init__"
        __init__.__module__ = cls.__module__
        __init__.__doc__ = f"Sets the parameters; see {cls.__name__}'s docstring."
        cls.__init__ = __init__
        lines = ["", "    Parameters", "    ----------"]
        for name, _, head, body in entries:
            lines.append(f"    {name} : {head}")
            lines.extend(f"        {line.strip()}" for line in body.splitlines() if line.strip())
        doc = (cls.__doc__ or "").rstrip() + "\n"
        at = doc.find("\n    Attributes\n")  # numpydoc order: Parameters before Attributes
        section = "\n".join(lines) + "\n"
        cls.__doc__ = doc + section if at < 0 else doc[:at] + section + doc[at:]
        return cls

    return decorate


def typed_param(where, name, value, default):
    """``value`` of parameter ``name`` checked against the type of its C++ default."""
    from .exceptions import InvalidParamsError

    if isinstance(default, bool):
        if not isinstance(value, (bool, np.bool_)):
            raise InvalidParamsError(f"{where}{name} must be a bool, got {quote(value)}.")
        return bool(value)
    if isinstance(value, (bool, np.bool_)):
        kind = "an int" if isinstance(default, int) else "a number"
        raise InvalidParamsError(f"{where}{name} must be {kind}, got {quote(value)}.")
    if isinstance(default, int):
        if not isinstance(value, numbers.Integral):
            raise InvalidParamsError(f"{where}{name} must be an int, got {quote(value)}.")
        return int(value)
    if isinstance(default, float):
        if not isinstance(value, numbers.Real):
            raise InvalidParamsError(f"{where}{name} must be a number, got {quote(value)}.")
        return float(value)
    return value  # enum text and the like: the Params attribute checks it


def make_params(est, params_cls, special=(), where=""):
    """The C++ Params of estimator ``est``: one pass over the declared fields. ``special`` maps a
    field to a function giving its C++ value (None: the caller sets it)."""
    special = dict(special)
    p = params_cls()
    for field in params_cls.fields:
        name = field["name"]
        if name in special:
            if special[name] is not None:
                setattr(p, name, special[name]())
            continue
        # A field added after format 1.0 may be absent from an estimator pickled before it
        # existed: it then keeps its documented default.
        value = (getattr(est, name) if field["since"] == "1.0"
                 else getattr(est, name, field["default"]))
        setattr(p, name, typed_param(where, name, value, field["default"]))
    return p
