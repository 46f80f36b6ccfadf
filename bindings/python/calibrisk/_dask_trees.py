# SPDX-License-Identifier: Apache-2.0
"""calibrisk.dask.DaskGradientBoostingClassifier: gradient-boosted trees fitted where the data
lives, the same model bytes as :class:`calibrisk.GradientBoostingClassifier` on the same rows
(docs/distributed.md, "Trees").

Every worker bins its partitions with the broadcast bin mapper and keeps them (a ``_Shard`` per
partition, held by futures of the estimator's client) in one Dask actor per worker (``_Host``).
The first worker's actor drives the fit (``_Host.drive``): each step of a tree sends the splits
decided since the last step (and those of leaves split ahead) and asks for their nodes'
histograms, one message to every other worker's actor over Dask comms (``_Peers``) while its
own partitions are stepped in process; the histograms are summed over a worker's partitions
there and over the workers on the driver (exact int64 sums), and the C++ driver grows the tree
with the single-process growth loop.
"""

import asyncio
import concurrent.futures
import math

import numpy as np

from . import _core
from . import _dask_categorical as _dcat
from . import _dask_holdout as _dhold
from .ensemble import GradientBoostingClassifier
from .exceptions import InvalidInputError, InvalidParamsError, NotFittedError

__all__ = ["DaskGradientBoostingClassifier"]


def _cd():
    """calibrisk.dask (its helpers), imported on first use: it re-exports this module's class."""
    from . import dask

    return dask

_WHERE = "DaskGradientBoostingClassifier.fit"
_LOST = ("a worker holding partition {k} lost its state (the worker died and Dask recomputed the "
         "partition from scratch, or the partition moved) {when}; the fit stopped "
         "rather than continue on different rows. Refit (the model does not depend on the "
         "number of workers).")


# A worker runs the driver's calls on its event loop when its shards hold at most this many
# values (rows x features): a full pass over them (a round's start and root histogram) then takes
# tens of milliseconds. Larger shards run them on the actor's thread (one thread hand-off per
# call, small next to their work), so the worker's event loop never stalls for seconds.
_INLINE_CELLS = 1 << 26


def _lost(k, t):
    return _LOST.format(k=k, when="during the fit" if t is None or t < 0 else f"during round {t}")


class DistributedFitError(RuntimeError):
    """A distributed fit could not finish (a worker or task was lost); no model was fitted."""


# ------------------------------------------------------------------------------------------------
# per-partition work (runs on the workers)


_CHUNK = 65_536  # rows per chunk of the partition checks (bounded scratch memory)


_NON_NUMERIC = ("they are not categorical features: declare them in categorical_features (or "
                "leave it None: category, object and string columns are detected), or encode "
                "them as numbers.")


def _matrix(part, index):
    """A partition of X as a float32 or float64 2-D C-ordered ndarray and its column names."""
    return _cd()._as_matrix(part, _WHERE, index, _NON_NUMERIC, trees=True)


def _first_inf(X):
    """(row, column) of the first infinite value of X, checked a chunk of rows at a time (no
    full-size boolean mask), or None."""
    for lo in range(0, X.shape[0], _CHUNK):
        block = X[lo:lo + _CHUNK]
        if not np.isfinite(block.sum()) and np.isinf(block).any():
            r, c = np.argwhere(np.isinf(block))[0]
            return lo + int(r), int(c)
    return None


def _weights(w, n, index, name="sample_weight"):
    if w is None:
        return None
    wv = np.asarray(_cd()._as_vector(w), dtype=np.float64)
    if wv.ndim != 1 or wv.shape[0] != n:
        raise InvalidInputError(
            f"{_WHERE}: partition {index} has {n} rows of X but {wv.shape[0]} {name} values; "
            f"partition {name} like X.")
    if not np.all(np.isfinite(wv)) or (wv < 0).any():
        raise InvalidInputError(
            f"{_WHERE}: {name} in partition {index} has a negative or non-finite value; weights "
            "must be finite and >= 0.")
    return np.ascontiguousarray(wv)


def _stats(x, y, w, index):
    """Shapes, labels and checks of one partition (raises on bad input)."""
    X, names = _matrix(x, index)
    yv = _cd()._as_vector(y)
    if yv.ndim != 1 or yv.shape[0] != X.shape[0]:
        raise InvalidInputError(
            f"{_WHERE}: partition {index} has {X.shape[0]} rows of X but {yv.shape[0]} labels; "
            "X and y must be partitioned alike (the same rows in each partition).")
    inf = _first_inf(X)
    if inf is not None:
        r, c = inf
        raise InvalidInputError(
            f"{_WHERE}: X has an infinite value in partition {index}, row {r} of the partition, "
            f"column {c}; replace it (NaN means missing).")
    if (yv.dtype.kind == "f" and np.isnan(yv).any()) or (
            yv.dtype.kind == "O" and any(v is None for v in yv.tolist())):
        raise InvalidInputError(f"{_WHERE}: y has a missing label in partition {index}.")
    _weights(w, X.shape[0], index)
    labels, counts = np.unique(yv, return_counts=True) if X.shape[0] else (yv[:0], np.zeros(0))
    return {"rows": X.shape[0], "cols": X.shape[1], "names": names,
            "kind": _cd()._label_kind(yv, _WHERE, index) if X.shape[0] else None,
            "labels": labels, "counts": counts}


def _bin_candidates(x, offset, k, seed):
    """This partition's candidates for the global bin sample: its bottom-k rows by (key, row)
    (keys and global rows only; the values of the rows kept are fetched by ``_bin_values``)."""
    X, _ = _matrix(x, -1)
    return _core._dist_bin_candidates(X.shape[0], offset, k, seed)


def _bin_values(x, rows):
    """The values of this partition's rows (local indices) in the global bin sample, as float32:
    the bin edges are computed from the values rounded to float (as the single-process fit's),
    so the rounding may as well happen here and halve what travels."""
    X, _ = _matrix(x, -1)
    return X[rows].astype(np.float32, copy=False)


class _Shard:
    """A worker's partition (the C++ shard) with a step counter: every call names the step the
    client expects, so a shard recomputed from scratch after a lost worker is detected."""

    def __init__(self, core, index):
        self.core = core
        self.index = index
        self.seq = 0
        self.nbytes = int(core.n_rows) * 64 + 1024

    def __sizeof__(self):  # tells Dask the shard is expensive to move (no work stealing)
        return self.nbytes

    def check(self, seq, t):
        if self.seq != seq:
            raise DistributedFitError(_lost(self.index, t))
        self.seq += 1


def _make_shard(x, y, w, index, offset, mapper, positive, m0, m1):
    X, _ = _matrix(x, index)
    y01 = (_cd()._as_vector(y) == positive).astype(np.float64)
    core = _core._DistShard(mapper, X, y01, _weights(w, X.shape[0], index), offset, m0, m1)
    return _Shard(core, index)


def _summary(shard, seq, t, base):
    shard.check(seq, t)
    shard.core.reset_margins(base)
    return shard.core.class_partials(0), shard.core.class_partials(1), shard.core.max_weight


def _begin(shard, seq, t, subsample, seed, w_max):
    shard.check(seq, t)
    return shard.core.begin_round(t, subsample, seed, w_max)


def _add_row(shard, seq, t, row):
    shard.check(seq, t)
    return shard.core.add_row(row)


def _step(shard, seq, t, splits, nodes, features, total_bins):
    """A step's part on one shard: the check; the shard's C++ core, which ``_Host.run`` steps
    together with the worker's other shards in one call, summed there (_dist_step_shards)."""
    shard.check(seq, t)
    return shard.core


def _add_tree(shard, seq, t, tree, loss):
    shard.check(seq, t)
    shard.core.add_tree(tree)
    return shard.core.loss_partials() if loss else None


# ------------------------------------------------------------------------------------------------
# the client side


def _client():
    try:
        from distributed import get_client

        return get_client()
    except ValueError as e:
        raise InvalidInputError(
            f"{_WHERE}: no Dask client is active; create one first (distributed.Client(...) or a "
            "LocalCluster), the fit keeps each partition's binned rows on its worker.") from e


def _close_loop(loop):
    """Cancels what is left on a fit's private event loop (the calls of a failed fit, whose comms
    are aborted) and closes it."""
    left = asyncio.all_tasks(loop)
    for task in left:
        task.cancel()
    if left:
        loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))
    loop.close()


class _Host:
    """A Dask actor, one per worker of a fit: the shards (partitions) that live on its worker.
    One message runs a list of operations on all of them in turn; a step's int64 histograms and
    counts are summed here before the reply (exact integers: any grouping gives the same bits).
    The first worker's actor also drives the fit (``drive``)."""

    def __init__(self, *shards):
        self.shards = list(shards)
        self.cancelled = False  # set by the client when it gave up on the fit (a worker left)
        self.reply = np.empty((0, 3), dtype=np.int64)  # reused by the steps' histograms

    def rows(self):
        """The rows of this worker's shards (the driver sizes its calls with them)."""
        return sum(int(s.core.n_rows) for s in self.shards)

    def run(self, ops):
        """The operations' results. A message's first step writes its histograms into this
        host's reusable reply array: the driver has consumed the previous reply (summed it, or
        received it over the comm) before it sends the next message."""
        out = []
        first = True
        for fn, seq, t, args, reduce in ops:
            res = [fn(s, seq, t, *args) for s in self.shards]
            if reduce and res:  # a step: every shard in one C++ call, summed there
                buffer = None
                if first:
                    need = len(args[1]) * int(args[3])
                    if self.reply.shape[0] < need:
                        self.reply = np.empty((need, 3), dtype=np.int64)
                    buffer, first = self.reply, False
                res = [_core._dist_step_shards(res, *args, buffer)]
            out.append(res)
        return out

    def drive(self, train_hosts, valid_hosts, mapper, params):
        """The boosting loop (``_boost``), run here on the actor's thread: this worker's hosts are
        called in process, the other workers' over Dask comms (``_Peers``). Returns the fit's
        results (the model and what the estimator reports)."""
        from distributed import get_worker

        worker = get_worker()
        loop = asyncio.new_event_loop()
        peers = []
        try:
            cols = int(mapper.n_features)
            train = _Peers(worker, train_hosts, loop, self, cols)
            peers.append(train)
            valid = None
            if valid_hosts is not None:
                valid = _Peers(worker, valid_hosts, loop, self, cols)
                peers.append(valid)
            return _boost(train, valid, mapper, params)
        finally:
            for p in peers:
                p.close()
            _close_loop(loop)


def _cancel(key, dask_worker=None):
    """Tells the driving actor ``key`` on this worker that the client gave up on its fit."""
    host = dask_worker.state.actors.get(key) if dask_worker is not None else None
    if host is not None:
        host.cancelled = True
    return host is not None


def _failed(t, e):
    """Raises the error of a call: ours as they are, anything else (a killed worker, a lost
    connection, a failed call, ...) as DistributedFitError."""
    if isinstance(e, (DistributedFitError, InvalidInputError, InvalidParamsError)):
        raise e
    when = "during the fit" if t is None or t < 0 else f"of round {t}"
    raise DistributedFitError(
        f"{_WHERE}: a task {when} failed ({type(e).__name__}: {e}); the fit stopped "
        "and no model was fitted. Refit (the model does not depend on the cluster).") from e


class _Peers:
    """The hosts (``_Host``) of one set of shards as the driving worker calls them: those on its
    own worker in process, the others over Dask comms opened from the driving thread with the
    worker's security settings (TLS and its authentication when the cluster uses them) and driven
    by a private event loop there; they run the calls on their event loop (Dask's
    ``actor_execute`` without the actor thread) when their shards are small enough for a call to
    take milliseconds (rows x features <= ``_INLINE_CELLS``), on their actor's thread otherwise
    (a worker's event loop must not stall for seconds). A call is written to every other worker
    before the local hosts run it, so all workers compute at the same time. Every operation
    names the step the driver expects, so a shard recomputed from scratch is an error; a worker
    that dies closes its comm, an error too; the client's ``_cancel`` stops a driver waiting on a
    worker that hangs."""

    def __init__(self, worker, hosts, loop, driver, cols=0):
        from distributed.comm import connect

        self.loop = loop
        self.driver = driver
        self.seq = 0
        self.local = [worker.state.actors[key] for addr, key in hosts if addr == worker.address]
        self.remote = [key for addr, key in hosts if addr != worker.address]
        self.comms = []
        self.inline = []  # per remote worker: run the calls on its event loop
        try:
            for addr, key in hosts:
                if addr != worker.address:
                    comm = loop.run_until_complete(connect(addr, **worker.connection_args))
                    self.comms.append(comm)
                    rows = loop.run_until_complete(_ask(comm, key, "rows", [], True))
                    self.inline.append(int(rows) * max(cols, 1) <= _INLINE_CELLS)
        except Exception as e:
            self.close()
            _failed(None, e)

    def close(self):
        for comm in self.comms:
            comm.abort()
        self.comms = []

    def call(self, fn, t, *args):
        """fn(shard, seq, t, *args) on every shard: the results (one per shard, or one summed
        step reply per worker for ``_step``), in no particular order."""
        return self.run([(fn, t, args)])[0]

    def run(self, ops):
        """Several (fn, t, args) operations in one message per worker, in order; their results."""
        return self.collect(self.start(ops))

    def start(self, ops):
        """Sends the operations (see ``run``) to the other workers, then runs them on this one's
        hosts; ``collect`` gets the other workers' results."""
        msg = []
        for fn, t, args in ops:
            msg.append((fn, self.seq, t, args, fn is _step))
            self.seq += 1
        t = ops[0][1]
        try:
            reads = self._send(msg) if self.comms else []
            return t, len(ops), reads, [h.run(msg) for h in self.local]
        except Exception as e:
            _failed(t, e)

    def collect(self, pending):
        t, n_ops, reads, outs = pending
        try:
            outs = outs + self._replies(reads, t)
            return [[r for out in outs for r in out[i]] for i in range(n_ops)]
        except Exception as e:
            _failed(t, e)

    def _send(self, msg):
        """Writes ``_Host.run(msg)`` to every other worker's actor (serialized once, sent as is);
        the tasks that read the replies (on the private loop, run while the driver waits)."""
        from distributed.protocol import Serialized, serialize

        body = Serialized(*serialize(msg, serializers=("dask", "pickle"), on_error="raise"))

        async def every():
            await asyncio.gather(*(_write(comm, key, "run", [body], inline) for comm, key, inline
                                   in zip(self.comms, self.remote, self.inline)))

        self.loop.run_until_complete(every())
        return [self.loop.create_task(_reply(comm)) for comm in self.comms]

    def _replies(self, reads, t):
        """The replies, checking every 2 s whether the client gave up on the fit."""
        while reads:
            _, pending = self.loop.run_until_complete(asyncio.wait(reads, timeout=2.0))
            if not pending:
                return [task.result() for task in reads]
            if self.driver.cancelled:
                raise DistributedFitError(
                    f"{_WHERE}: the client stopped the fit during round {t} (a worker left the "
                    "cluster); no model was fitted.")
        return []


async def _write(comm, key, function, args, inline):
    """Asks the actor ``key`` at the other end of ``comm`` for ``function(*args)`` (Dask's
    ``actor_execute``): on the worker's event loop when ``inline``, else on the actor's thread."""
    await comm.write({"op": "actor_execute", "function": function, "actor": key, "args": args,
                      "kwargs": {"separate_thread": not inline}, "reply": True}, on_error="raise")


async def _ask(comm, key, function, args, inline):
    await _write(comm, key, function, args, inline)
    return await _reply(comm)


async def _reply(comm):
    """The result of the call written last on ``comm`` (its error raised)."""
    r = await comm.read()
    if not isinstance(r, dict) or r.get("status") != "OK":
        exc = r.get("exception") if isinstance(r, dict) else None
        if isinstance(exc, BaseException):
            raise exc
        text = r.get("exception_text", r) if isinstance(r, dict) else r
        raise DistributedFitError(f"{_WHERE}: a worker failed a step: {text}")
    return r["result"]


def _boost(train, valid, mapper, params):
    """The boosting loop over the shards of ``train`` and ``valid`` (``_Peers``, or anything
    with their calls), on the driving worker: the C++ driver grows each tree with the
    single-process growth loop. Returns the model and what the estimator reports."""
    summ = train.call(_summary, -1, 0.0)
    sw0 = _core._dist_exact_sum([v for s in summ for v in s[0]])
    sw1 = _core._dist_exact_sum([v for s in summ for v in s[1]])
    if not (sw0 > 0.0 and sw1 > 0.0):
        raise InvalidInputError(
            f"GradientBoostedTrees::fit: after holding out the validation share, class "
            f"{'0' if sw1 > 0.0 else '1'} has zero total weight in the training rows; pass "
            "more rows of that class or an explicit validation set.")
    base = math.log(sw1 / sw0)
    train.call(_summary, -1, base)  # every margin at the base score
    w_max = max(s[2] for s in summ)
    w_sum = None
    if valid is not None:
        vs = valid.call(_summary, -1, base)
        # every partial of both classes (concatenated: adding the arrays would round)
        w_sum = _core._dist_exact_sum([v for s in vs for v in (*s[0], *s[1])])
        if not w_sum > 0.0:
            raise InvalidInputError(
                f"{_WHERE}: the validation rows have zero total weight; pass validation rows "
                "with positive sample weight.")
    driver = _core._DistDriver(mapper, params, w_max)
    total_bins = int(mapper.total_bins)
    losses, notes = [], []
    best_loss, best_iter, since = math.inf, 0, 0
    rounds = int(params.n_estimators)
    begin = (float(params.subsample), int(params.random_state), w_max)
    no_splits = np.zeros((0, 11), dtype=np.int64)
    root_node = np.zeros(1, dtype=np.int32)
    starts = train.call(_begin, 0, *begin)
    root_hist = None  # the root's histogram, when it came with the round's start
    for t in range(rounds):
        if sum(int(st[2]) for st in starts) == 0:
            root_hist = None  # an empty bag: the root is one row (_root), asked for anew
        g, h, n = _root(train, t, starts)

        def step(splits, nodes, features, t=t):
            # one (counts, hist) per worker, summed by the driver (exact int64: any order)
            return train.call(_step, t, splits, nodes, features, total_bins)

        tree = driver.grow(t, g, h, n, step, root_hist)
        stump = len(tree[0]) == 1
        ops = [(_add_tree, t, (tree, False))]
        if not (stump or t + 1 == rounds):  # the next round's start and root histogram too
            ops.append((_begin, t + 1, begin))
            ops.append((_step, t + 1, (no_splits, root_node, driver.round_features(t + 1),
                                       total_bins)))
        pending = train.start(ops)  # the training and validation shards at the same time
        if valid is not None:
            parts = valid.call(_add_tree, t, tree, True)
        res = train.collect(pending)
        if len(res) == 3:
            starts, root_hist = res[1], res[2][0][1]
            for r in res[2][1:]:  # the workers' root histograms (exact int64 sums)
                root_hist = root_hist + r[1]
        if valid is not None:
            loss = _core._dist_exact_sum([v for p in parts for v in p]) / w_sum
            losses.append(loss)
            if loss < best_loss - float(params.tol):
                best_loss, best_iter, since = loss, t + 1, 0
            else:
                since += 1
            if params.early_stopping and since >= int(params.n_iter_no_change):
                notes.append(f"early stopping after round {t + 1}: no validation improvement "
                             f"> tol in {int(params.n_iter_no_change)} rounds; kept "
                             f"{best_iter} trees.")
                break
        if stump:
            notes.append(f"stopped after round {t + 1}: no leaf could be split under the "
                         "growth rules (min_samples_leaf, min_child_weight, "
                         "min_gain_to_split, constant features).")
            break
    n_iter = int(driver.n_trees)
    if params.early_stopping and valid is not None:
        driver.keep(max(best_iter, 1))
    return {"n_iter": n_iter, "best_iteration": int(driver.n_trees),
            "validation_loss": np.asarray(losses, dtype=np.float64), "notes": notes,
            "model": driver.model(base)}


def _root(train, t, starts):
    """Round t's bag's exact sums from the shards' starts (the row with the smallest bag key
    when the bag is empty everywhere, as the single-process fit)."""
    g = sum(int(s[0]) for s in starts)
    h = sum(int(s[1]) for s in starts)
    n = sum(int(s[2]) for s in starts)
    if n == 0:
        key, row = min((int(s[3]), int(s[4])) for s in starts if s[4] >= 0)
        held = [r for r in train.call(_add_row, t, row) if r[0]]
        g, h, n = int(held[0][1]), int(held[0][2]), 1
    return g, h, n


class _Cluster:
    """The shards of one fit, on the client: each worker holding shards gets one actor
    (``_Host``, created on that worker from its shard futures: a shard is never copied). The
    first worker's actor drives the fit (``drive``); the client waits, and a worker that leaves
    the cluster meanwhile is an error, not a hang (the driver is told to stop)."""

    def __init__(self, client, shards):
        self.client = client
        self.shards = shards
        who = client.who_has(shards)
        self.where = []
        for k, f in enumerate(shards):
            addrs = list(who.get(f.key, ()))
            if not addrs:
                raise DistributedFitError(f"{_WHERE}: " + _lost(k, None))
            self.where.append(addrs[0])
        self.hosts = []  # (worker address, the actor's future, the actor)
        for addr in dict.fromkeys(self.where):
            mine = [f for f, w in zip(shards, self.where) if w == addr]
            fut = client.submit(_Host, *mine, actor=True, pure=False, workers=[addr],
                                allow_other_workers=False)
            self.hosts.append((addr, fut))
        try:
            self.hosts = [(addr, fut, self._wait(fut, [self])) for addr, fut in self.hosts]
        except DistributedFitError:
            raise
        except Exception as e:
            raise DistributedFitError(
                f"{_WHERE}: starting the actor that drives a worker's partitions failed "
                f"({type(e).__name__}: {e}); no model was fitted.") from e

    def close(self):
        """Releases the actors (and with them the shards' binned rows)."""
        self.hosts = []
        self.shards = []

    def drive(self, valid, mapper, params):
        """Runs the fit on the first worker's actor (``_Host.drive``) with this cluster's shards
        for training and ``valid``'s (a _Cluster or None) for validation; its results."""
        addr, fut, actor = self.hosts[0]
        train_hosts = [(a, f.key) for a, f, _ in self.hosts]
        valid_hosts = None if valid is None else [(a, f.key) for a, f, _ in valid.hosts]
        watched = [self] if valid is None else [self, valid]
        try:
            return self._wait(self._start_drive(actor, train_hosts, valid_hosts, mapper, params),
                              watched)
        except BaseException as e:
            try:  # a driver still waiting on a worker that hangs stops within 2 s
                if addr in self.client.nthreads():
                    self.client.run(_cancel, fut.key, workers=[addr], wait=False)
            except Exception:  # noqa: BLE001 - the driver's worker may be gone too
                pass
            if isinstance(e, Exception):
                _failed(None, e)
            raise

    @staticmethod
    def _start_drive(actor, *args):
        return actor.drive(*args)

    def _alive(self, watched):
        alive = set(self.client.nthreads())
        for c in watched:
            gone = [k for k, w in enumerate(c.where) if w not in alive]
            if gone:
                raise DistributedFitError(f"{_WHERE}: " + _lost(gone[0], None)) from None

    def _wait(self, fut, watched):
        while True:
            try:
                return fut.result(timeout=2.0)
            except (TimeoutError, concurrent.futures.TimeoutError):
                self._alive(watched)


class DaskGradientBoostingClassifier(GradientBoostingClassifier):
    """Binary gradient-boosted trees fitted on a Dask cluster; the parameters (names and defaults)
    of :class:`calibrisk.GradientBoostingClassifier`, and the same model bytes as its ``fit`` on
    the same rows in the same global order, whatever the number of workers or the partitioning.

    ``fit(X, y, sample_weight=None, eval_set=None)`` takes dask.array / dask.dataframe
    collections (y and the weights partitioned like X) of numeric columns and native categorical
    columns (pandas category / object / string columns, or ``categorical_features``: level
    tables and category bins from every partition, as the single-process fit builds them);
    ``eval_set`` is ``(X_val, y_val[, w_val])`` as Dask collections (or numpy arrays); without
    it, early stopping holds out the single-process hashed, stratified share of the rows. Needs
    an active ``distributed.Client``. Each worker bins and keeps its partitions; the first
    worker drives the fit (the client starts it and waits); only splits (a few bytes), per step
    the histograms of the node the tree needs and of the leaves split ahead (total_bins x 3
    int64 each, per worker) and a tree per round travel. Not available distributed
    (``InvalidParamsError`` naming the alternative): target statistics (``code_hierarchy``,
    ``cat_encoding="target_stats"``, or more than ``cat_ts_min_levels`` levels with
    ``cat_encoding="auto"``), more than two classes, ``groups``.

    After ``fit``: the attributes of GradientBoostingClassifier (``classes_``, ``n_iter_``,
    ``best_iteration_``, ``validation_loss_``, ...), plus ``n_partitions_`` and
    ``n_bytes_per_histogram_``; ``to_local()`` gives the single-process estimator;
    ``predict_proba`` / ``predict`` / ``decision_function`` score Dask collections partition by
    partition (numpy input: in this process).
    """

    # ------------------------------------------------------------------ checks
    def _check_distributed_params(self, n, has_eval):
        where = "DaskGradientBoostingClassifier"
        if self.code_hierarchy is not None:
            raise InvalidParamsError(
                f"{where}: code_hierarchy (target statistics of hierarchical codes) is not "
                "supported distributed; fit calibrisk.GradientBoostingClassifier on the gathered "
                "data, or pass numeric columns without code_hierarchy.")

    # ------------------------------------------------------------------ fit
    def fit(self, X, y, sample_weight=None, eval_set=None):
        """Fits on Dask collections (see the class docs); returns self."""
        client = _client()
        self.categorical_encoding_ = None

        def encode_train(xf):  # the level tables from every partition's labels, then the codes
            self.categorical_encoding_ = _dcat.fit_encoding(client, self, X, xf)
            return _dcat.encode_parts(client, self.categorical_encoding_, xf)

        train = self._parts(client, X, y, sample_weight, "X", encode_train)
        info = self._train_info(train[1])
        valid = None
        if eval_set is not None:
            valid = self._parts(client, *self._unpack_eval(eval_set), "eval_set X",
                                lambda xf: _dcat.encode_parts(client, self.categorical_encoding_,
                                                              xf))
            self._check_valid(valid[1], info)
        n, d = info["n"], info["d"]
        self._check_distributed_params(n, valid is not None)
        self.classes_ = info["classes"]
        self.n_features_in_ = d
        if info["names"] is not None:
            self.feature_names_in_ = np.asarray(info["names"], dtype=object)
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        params = self._make_params(d, n)
        _core._dist_check_model_size(params, n)  # as the single-process fit, before any work
        positive = self.classes_[1]
        # early stopping without eval_set: the single-process hashed hold-out (per partition:
        # training rows, held-out rows)
        hold = _dhold.holdout_rows(client, train, info, params, positive) \
            if params.early_stopping and valid is None else None
        rows = None if hold is None else [h[0] for h in hold]
        mapper = self._bin_mapper(client, train, params, rows)
        mapper = _dcat.categorical_mapper(client, self, mapper, params, [p[0] for p in train[0]],
                                          rows)
        n1 = info["n1"]
        m0, m1 = _core._dist_class_multipliers(params, n - n1, n1)
        shards = vshards = None
        try:
            shards = _Cluster(client, self._shards(client, train, mapper, positive, m0, m1, rows))
            if valid is not None:
                vshards = _Cluster(client, self._shards(client, valid, mapper, positive, m0, m1))
            if hold is not None:
                vshards = _Cluster(client, self._shards(client, train, mapper, positive, m0, m1,
                                                        [h[1] for h in hold]))
            del train, valid  # the raw partitions: the shards keep the binned rows
            self.n_partitions_ = len(shards.shards)
            res = shards.drive(vshards, mapper, params)
        finally:
            for c in (shards, vshards):
                if c is not None:
                    c.close()
        self.n_iter_ = res["n_iter"]
        self.best_iteration_ = res["best_iteration"]
        self.validation_loss_ = res["validation_loss"]
        self.fit_notes_ = res["notes"]
        self._model = res["model"]
        self._explainer = None
        self._explainers = None
        self.n_bytes_per_histogram_ = 3 * 8 * int(mapper.total_bins)
        return self

    @staticmethod
    def _unpack_eval(eval_set):
        if isinstance(eval_set, list):
            if len(eval_set) != 1:
                raise InvalidInputError(
                    f"{_WHERE}: eval_set is a list of {len(eval_set)} sets; pass exactly one "
                    "(X_val, y_val[, sample_weight_val]).")
            eval_set = eval_set[0]
        if not isinstance(eval_set, tuple) or len(eval_set) not in (2, 3):
            raise InvalidInputError(
                f"{_WHERE}: eval_set must be (X_val, y_val) or (X_val, y_val, sample_weight_val).")
        Xv, yv = eval_set[0], eval_set[1]
        if not _cd().is_dask_collection(Xv):
            import dask.array as da

            Xv = np.asarray(Xv)
            Xv = da.from_array(Xv, chunks=(max(1, Xv.shape[0]),) + Xv.shape[1:])
        return Xv, yv, (eval_set[2] if len(eval_set) == 3 else None)

    def _parts(self, client, X, y, w, name, encode=None):
        """(futures of the (x, y, w) partitions on the workers, their checked stats with global
        row offsets); ``encode(x futures)`` gives the partitions with label columns encoded."""
        xs = _cd()._blocks(X, name, ndim=2)
        ys = _cd()._blocks(y, "y" if name == "X" else "eval_set y", ndim=1, like=X)
        ws = None if w is None else _cd()._blocks(w, "sample_weight", ndim=1, like=X)
        for what, lst in (("y", ys), ("sample_weight", ws)):
            if lst is not None and len(lst) != len(xs):
                raise InvalidInputError(
                    f"{_WHERE}: {name} has {len(xs)} partitions but its {what} has {len(lst)}; "
                    f"partition {what} like X (the same rows in each partition).")
        xf, yf = client.compute(xs), client.compute(ys)
        if encode is not None:
            xf = encode(xf)
        wf = client.compute(ws) if ws is not None else [None] * len(xs)
        parts = list(zip(xf, yf, wf))
        stats = client.gather([client.submit(_stats, *p, k, pure=False)
                               for k, p in enumerate(parts)])
        cols = [s["cols"] for s in stats]
        if len(set(cols)) != 1:
            raise InvalidInputError(
                f"{_WHERE}: the partitions of {name} have different numbers of columns ({cols}); "
                "every partition must hold the same columns.")
        if any(s["names"] != stats[0]["names"] for s in stats):
            raise InvalidInputError(
                f"{_WHERE}: the partitions of {name} have different column names; every "
                "partition must hold the same columns in the same order.")
        kinds = {s["kind"] for s in stats if s["rows"]}
        if len(kinds) > 1:
            raise InvalidInputError(
                f"{_WHERE}: y holds numbers in some partitions and text in others; use one type "
                "of label throughout.")
        off = 0
        for s in stats:
            s["offset"] = off
            off += s["rows"]
        return parts, stats

    @staticmethod
    def _classes(stats):
        labels = [np.asarray(s["labels"]) for s in stats if s["rows"]]
        return np.unique(np.concatenate(labels)) if labels else np.zeros(0)

    def _train_info(self, stats):
        n = sum(s["rows"] for s in stats)
        d = stats[0]["cols"] if stats else 0
        if n == 0:
            raise InvalidInputError(f"{_WHERE}: X has no rows; pass rows of both classes.")
        if d == 0:
            raise InvalidInputError(f"{_WHERE}: X has no columns.")
        classes = self._classes(stats)
        if classes.size < 2:
            raise InvalidInputError(
                f"{_WHERE}: y contains only one class ({classes[0]!r}) across all partitions; "
                "both classes are needed to train.")
        if classes.size > 2:
            raise InvalidInputError(
                f"{_WHERE}: y has {classes.size} classes; DaskGradientBoostingClassifier fits "
                "binary models (fit calibrisk.GradientBoostingClassifier on the gathered data "
                "for K classes).")
        n1 = sum(int(np.asarray(s["counts"])[np.asarray(s["labels"]) == classes[1]].sum())
                 for s in stats if s["rows"])
        return {"n": n, "d": d, "names": stats[0]["names"], "classes": classes, "n1": n1}

    def _check_valid(self, stats, info):
        n = sum(s["rows"] for s in stats)
        if n == 0:
            raise InvalidInputError(
                f"{_WHERE}: eval_set's X has 0 rows; pass at least one validation sample.")
        if stats[0]["cols"] != info["d"]:
            raise InvalidInputError(
                f"{_WHERE}: eval_set's X has {stats[0]['cols']} columns but X has {info['d']}.")
        unknown = np.setdiff1d(self._classes(stats), info["classes"])
        if unknown.size:
            raise InvalidInputError(
                f"{_WHERE}: eval_set has the label {unknown[0]!r}, which is not one of the "
                f"training classes {list(info['classes'])}.")

    def _bin_mapper(self, client, train, params, train_rows=None):
        """The single-process bin mapper: the global bottom-k rows by the hash of (seed, global
        row index), merged from every partition's bottom-k (of its rows ``train_rows[k]`` when
        given: the rows not held out); edges computed on the client."""
        parts, stats = train
        k = int(params.bin_subsample)
        seed = int(params.random_state)
        if train_rows is not None:
            cands = [_dhold.bin_candidates(r, s["offset"], k, seed)
                     for r, s in zip(train_rows, stats)]
        else:
            cands = client.gather([client.submit(_bin_candidates, p[0], s["offset"], k, seed,
                                                 pure=False) for p, s in zip(parts, stats)])
        keys = np.concatenate([c[0] for c in cands])
        rows = np.concatenate([c[1] for c in cands])
        if 0 < k < keys.size:  # the bottom k by (key, row), in O(n) (the edges ignore the order)
            kth = np.partition(keys, k - 1)[k - 1]
            below = keys < kth
            tied = np.flatnonzero(keys == kth)
            tied = tied[np.argsort(rows[tied], kind="stable")[:k - int(below.sum())]]
            rows = np.sort(np.concatenate([rows[below], rows[tied]]))
        # only the sample's rows travel (not every partition's bottom-k)
        values = np.empty((rows.size, int(stats[0]["cols"])), dtype=np.float32)
        where, futs = [], []
        for p, s in zip(parts, stats):
            pos = np.flatnonzero((rows >= s["offset"]) & (rows < s["offset"] + s["rows"]))
            if pos.size:
                where.append(pos)
                futs.append(client.submit(_bin_values, p[0], rows[pos] - s["offset"],
                                          pure=False))
        for pos, v in zip(where, client.gather(futs)):
            values[pos] = v
        return _core._dist_bin_mapper(np.ascontiguousarray(values), int(params.max_bins))

    @staticmethod
    def _shards(client, data, mapper, positive, m0, m1, rows=None):
        """One persisted shard per partition (binned rows on the worker that holds the
        partition; of its rows ``rows[k]`` only, when given)."""
        parts, stats = data
        if rows is not None:
            futs = [client.submit(_dhold.shard_of_rows, p[0], p[1], p[2], k, s["offset"], mapper,
                                  positive, m0, m1, r, pure=False)
                    for k, (p, s, r) in enumerate(zip(parts, stats, rows))]
        else:
            futs = [client.submit(_make_shard, p[0], p[1], p[2], k, s["offset"], mapper,
                                  positive, m0, m1, pure=False)
                    for k, (p, s) in enumerate(zip(parts, stats))]
        from distributed import wait

        wait(futs)  # the shards stay on the workers: never gathered (not picklable)
        for f in futs:
            if f.status != "finished":
                e = f.exception()
                if isinstance(e, (InvalidInputError, InvalidParamsError)):
                    raise e
                raise DistributedFitError(f"{_WHERE}: binning a partition failed "
                                          f"({type(e).__name__}: {e}).") from e
        return futs

    # ------------------------------------------------------------------ use
    def to_local(self):
        """The fitted model as a :class:`calibrisk.GradientBoostingClassifier` (the same
        parameters and model bytes) for single-process scoring, Pipelines and calibration."""
        if not hasattr(self, "_model"):
            raise NotFittedError("This DaskGradientBoostingClassifier instance is not fitted yet; "
                                 "call 'fit' first.")
        est = GradientBoostingClassifier(**self.get_params())
        for name in ("classes_", "n_features_in_", "feature_names_in_", "categorical_encoding_",
                     "n_iter_", "best_iteration_", "validation_loss_", "fit_notes_"):
            if hasattr(self, name):
                setattr(est, name, getattr(self, name))
        est._model = _core.GradientBoostedTrees.from_bytes(self._model.to_bytes())
        est._explainer = None
        est._explainers = None
        return est

    def to_bytes(self):
        """The saved model (the "model" section of a pipeline file)."""
        if not hasattr(self, "_model"):
            raise NotFittedError("This DaskGradientBoostingClassifier instance is not fitted yet; "
                                 "call 'fit' first.")
        return self._model.to_bytes()

    def decision_function(self, X):
        if _cd().is_dask_collection(X):
            return self._apply(X, "decision_function")
        return super().decision_function(X)

    def predict_proba(self, X):
        if _cd().is_dask_collection(X):
            return self._apply(X, "predict_proba")
        return super().predict_proba(X)

    def predict(self, X):
        if _cd().is_dask_collection(X):
            return self._apply(X, "predict")
        return super().predict(X)

    def _apply(self, X, method):
        if not hasattr(self, "_model"):
            raise NotFittedError("This DaskGradientBoostingClassifier instance is not fitted yet; "
                                 "call 'fit' first.")
        blob = _cd()._shipped(self._model.to_bytes())
        enc = getattr(self, "categorical_encoding_", None)
        dtype = self.classes_.dtype if method == "predict" else np.float64
        if _cd()._kind(X) == "array":
            X = X.rechunk({1: -1})
            if method == "predict_proba":
                return X.map_blocks(_gb_apply, blob, method, self.classes_, enc, dtype=dtype,
                                    chunks=(X.chunks[0], (2,)))
            return X.map_blocks(_gb_apply, blob, method, self.classes_, enc, dtype=dtype,
                                drop_axis=1)
        meta = np.empty((0, 2) if method == "predict_proba" else (0,), dtype=dtype)
        return X.map_partitions(_gb_apply, blob, method, self.classes_, enc, meta=meta,
                                enforce_metadata=False)


def _load_gb(blob):
    return _core.GradientBoostedTrees.from_bytes(blob)


def _gb_apply(part, blob, method, classes, enc=None):
    model = _cd()._cached(blob, _load_gb)
    if enc is not None:  # label columns -> codes of the fit's level tables (unseen: missing)
        part = enc.transform(part, "DaskGradientBoostingClassifier")
    X = part.to_numpy(dtype=np.float64, na_value=np.nan) if hasattr(part, "columns") else \
        np.asarray(part, dtype=np.float64)
    if method == "predict_proba":
        p = model.predict_proba(X)
        return np.column_stack([1.0 - p, p])
    z = model.decision_function(X)
    if method == "decision_function":
        return z
    p = model.predict_proba(X)
    return classes[(p > 0.5).astype(np.intp)]
