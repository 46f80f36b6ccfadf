# SPDX-License-Identifier: Apache-2.0
"""The early-stopping hold-out of a distributed tree fit without ``eval_set`` (docs/trees.md,
"Early stopping"; docs/distributed.md): the single-process rule (``trees/holdout.hpp``) — per
class c, the round(validation_fraction x n_c) rows of class c with the smallest hash of (seed,
global row index) — drawn from the partitions' bottom-k rows per class (merged on the client: the
global bottom-k), so the same rows are held out for any partitioning. The held-out rows of a
partition become a validation shard on its worker; its other rows a training shard whose rows
keep their global numbers (the bag keys)."""

import numpy as np

from . import _core


def _cd():
    from . import dask

    return dask


def _candidates(y, offset, positive, k0, k1, seed):
    """This partition's bottom-k rows of each class by hold-out key: [(keys, global rows)] x 2."""
    y01 = (_cd()._as_vector(y) == positive).astype(np.float64)
    return _core._dist_holdout_candidates(y01, offset, k0, k1, seed)


def holdout_rows(client, train, info, params, positive):
    """Per partition: (training rows, held-out rows), local indices, ascending."""
    parts, stats = train
    n, n1 = info["n"], info["n1"]
    k0, k1 = _core._dist_holdout_counts(n - n1, n1, float(params.validation_fraction))
    seed = int(params.random_state)
    cands = client.gather([client.submit(_candidates, p[1], s["offset"], positive, k0, k1, seed,
                                         pure=False) for p, s in zip(parts, stats)])
    held = []
    for c, k in ((0, k0), (1, k1)):
        keys = np.concatenate([np.asarray(x[c][0], dtype=np.uint64) for x in cands])
        rows = np.concatenate([np.asarray(x[c][1], dtype=np.int64) for x in cands])
        held.append(rows[np.lexsort((rows, keys))[:k]])
    held = np.sort(np.concatenate(held))
    out = []
    for s in stats:
        lo, hi = s["offset"], s["offset"] + s["rows"]
        valid = held[(held >= lo) & (held < hi)] - lo
        out.append((np.setdiff1d(np.arange(s["rows"], dtype=np.int64), valid), valid))
    return out


def bin_candidates(rows, offset, k, seed):
    """A partition's candidates for the bin sample among its training rows (local ``rows``)."""
    return _core._dist_bin_candidates_of(np.asarray(rows, dtype=np.int64) + offset, k, seed)


def shard_of_rows(x, y, w, index, offset, mapper, positive, m0, m1, rows):
    """The shard of a partition's rows ``rows`` (local indices), numbered globally."""
    from . import _dask_trees as dt

    X, _ = dt._matrix(x, index)
    yv = _cd()._as_vector(y)
    wv = dt._weights(w, X.shape[0], index)
    rows = np.asarray(rows, dtype=np.int64)
    y01 = (np.asarray(yv)[rows] == positive).astype(np.float64)
    core = _core._DistShard(mapper, np.ascontiguousarray(X[rows]), y01,
                            None if wv is None else np.ascontiguousarray(wv[rows]), offset, m0, m1)
    core.set_global_rows(rows + offset)
    return dt._Shard(core, index)
