# SPDX-License-Identifier: Apache-2.0
"""Native categorical columns of a distributed tree fit (docs/distributed.md, "Categorical
columns"): the level tables and the categorical bins of the single-process fit, built from the
partitions by rules that do not depend on the partitioning.

- Level table of a label column: the union of the partitions' label sets, sorted as the
  single-process encoder sorts them (``CategoryLevels::fit``: UTF-8 byte order). A column is a
  label column when it is one on the gathered frame: a pandas ``category`` / ``object`` /
  ``string`` column holding a non-number in some partition (``categorical_features="auto"``), or
  a non-numeric column listed in ``categorical_features``.
- Categorical bins (which codes get a bin of their own, the pooled bin): from the code counts of
  the training rows, counted per partition and summed (exact integers), then
  ``make_categorical_from_counts``, the single-process rule on the summed counts.

Both are computed once per fit and travel once: the encoding with each partition's encode task,
the categorical bins inside the broadcast bin mapper.
"""

import numpy as np

from . import _categorical, _core
from .exceptions import InvalidInputError, InvalidParamsError

_WHERE = "DaskGradientBoostingClassifier.fit"


# ------------------------------------------------------------------------------------------------
# per-partition work (runs on the workers)


def _part_labels(x, spec, index):
    """This partition's candidate label columns: {column: (holds a non-number, its sorted level
    table)}. With "auto" every text-dtype column is a candidate (a column of numbers stored as
    objects in this partition may hold text in another)."""
    if not _categorical._is_frame(x):
        return {}
    auto = spec is None or (isinstance(spec, str) and spec in ("auto", "from_dtype"))
    if auto:
        cand = {j: not _categorical._numbers_as_objects(x.iloc[:, j])
                for j, dt in enumerate(x.dtypes) if _categorical._text_dtype(dt)}
    else:
        cand = {j: True for j in _categorical.resolve_indices(x, spec, _WHERE)
                if not _categorical._is_numeric_column(x, j)}
    out = {}
    for j, text in cand.items():
        name = str(x.columns[j])
        try:
            lev, _ = _core._category_fit(name, _categorical.labels_of(x.iloc[:, j]), None)
        except InvalidInputError as e:
            raise InvalidInputError(f"{_WHERE}: partition {index} of X: {e}") from e
        out[j] = (text, list(lev.labels))
    return out


def _encode_part(x, enc):
    """The partition with its label columns replaced by codes (float64; NaN = missing/unseen)."""
    return x if enc is None else enc.transform(x, _WHERE)


def _part_counts(x, features, rows=None):
    """Per categorical feature: this partition's code counts (over ``rows``, local indices; all
    rows when None) and whether a counted row is missing. Checks the codes of every row."""
    from ._dask_trees import _matrix

    X, _ = _matrix(x, -1)
    counts, missing = _core._dist_category_counts(X, list(features), rows)
    return [np.asarray(c, dtype=np.int64) for c in counts], list(missing)


# ------------------------------------------------------------------------------------------------
# the client side


def fit_encoding(client, est, X, xf):
    """The encoding (``_categorical.CategoricalEncoding`` or None) of X's label columns from the
    partitions ``xf`` (futures), as ``_categorical.fit_encode`` on the gathered frame would
    fit it. Raises like the single-process fit on a code hierarchy (not supported here)."""
    spec = est.categorical_features
    meta = getattr(X, "_meta", None)
    if meta is None or not _categorical._is_frame(meta):
        return None  # an array: numeric columns listed in categorical_features are codes already
    parts = client.gather([client.submit(_part_labels, f, spec, k, pure=False)
                           for k, f in enumerate(xf)])
    text, labels = {}, {}
    for p in parts:
        for j, (t, lab) in p.items():
            text[j] = text.get(j, False) or t
            labels.setdefault(j, set()).update(lab)
    indices = sorted(j for j, t in text.items() if t)
    if not indices:
        return None
    names = [str(c) for c in meta.columns]
    levels = []
    for j in indices:
        # The union of the partitions' level tables: fitting it gives the table of all rows (no
        # hierarchy: a level table is the sorted set of the labels).
        lev, _ = _core._category_fit(names[j], sorted(labels[j]), None)
        levels.append(lev)
    return _categorical.CategoricalEncoding(indices, [names[j] for j in indices], levels)


def encode_parts(client, enc, xf):
    """Futures of the partitions with their label columns encoded (``xf`` itself without)."""
    if enc is None:
        return xf
    return [client.submit(_encode_part, f, enc, pure=False) for f in xf]


def categorical_mapper(client, est, mapper, params, xf, rows=None):
    """The numeric bin mapper with the categorical features of ``params`` binned as the
    single-process fit bins them, from the summed code counts of the partitions ``xf`` (over
    ``rows[k]``, local indices, for partition k when given: the training rows). Refuses the
    features the single-process fit would encode by target statistics."""
    feats = [int(f) for f in params.categorical_features]
    if not feats:
        return mapper
    futs = [client.submit(_part_counts, f, feats, None if rows is None else rows[k], pure=False)
            for k, f in enumerate(xf)]
    parts = client.gather(futs)
    counts, missing = [], []
    for q in range(len(feats)):
        size = max((p[0][q].size for p in parts), default=0)
        c = np.zeros(size, dtype=np.int64)
        for p in parts:
            c[:p[0][q].size] += p[0][q]
        counts.append(c)
        missing.append(any(p[1][q] for p in parts))
    _check_native(est, params, feats, counts)
    return _core._dist_make_categorical(mapper, feats, counts, missing,
                                        int(params.min_data_per_category))


def _check_native(est, params, feats, counts):
    """Target statistics (cat_encoding="target_stats", or "auto" above cat_ts_min_levels training
    levels) are not available distributed: an error naming the column and the alternatives."""
    enc = str(params.cat_encoding)
    for f, c in zip(feats, counts):
        levels = int(np.count_nonzero(c))
        if enc == "target_stats" or (enc == "auto" and levels > int(params.cat_ts_min_levels)):
            why = ("cat_encoding='target_stats'" if enc == "target_stats" else
                   f"{levels} training levels > cat_ts_min_levels={int(params.cat_ts_min_levels)}")
            raise InvalidParamsError(
                f"DaskGradientBoostingClassifier: categorical column {f} would be encoded by "
                f"target statistics ({why}), which is not supported distributed; set "
                "cat_encoding='partition' (native category splits, LightGBM's algorithm), or fit "
                "calibrisk.GradientBoostingClassifier on the gathered data.")
