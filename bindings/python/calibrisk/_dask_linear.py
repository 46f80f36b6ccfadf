# SPDX-License-Identifier: Apache-2.0
"""DaskLogisticRegression beyond the binary dense case (docs/distributed.md): the multinomial
(softmax) model for K >= 3 classes and scipy.sparse CSR partitions, for K = 2 and K >= 3.

The same scheme as the binary dense path in calibrisk/dask.py: every statistic the client's
Newton iteration needs is a sum of per-row values quantised to fixed point with scales derived
from global bounds only, summed as int64 limbs (exact, associative), so the fitted model is the
same bytes for any number of workers and any partitioning of the rows. The model has ``M``
coefficient vectors over the design ``A = [X, 1]`` (``q = d + 1`` columns): ``M = 1`` (sigmoid)
for two classes, ``M = K`` (softmax) for K classes. A pass returns the loss, the gradient
``A^T w (P - Y)`` (``M q`` sums) and, for Newton, the ``M (M + 1) / 2`` Hessian blocks
``A^T diag(w (P_k [k = l] - P_k P_l)) A``; wider models use Newton-CG (the single-process
multinomial and sparse method) on exact gradient and Hessian-vector passes.
"""

import math
import warnings

import dask
import numpy as np
from sklearn.exceptions import ConvergenceWarning

from . import _core
from .dask import (
    _HESSIAN_BLOCK_BITS,
    _LIMB,
    _LIMB_MASK,
    HESSIAN_BITS,
    _as_matrix,
    _as_vector,
    _label_stats,
    _line_search,
    _qsum,
    _scale,
    _tree_sum,
)
from .exceptions import InvalidInputError, InvalidParamsError

#: Newton (the full (M q) x (M q) Hessian summed every pass) up to this many model coefficients;
#: above it, Newton-CG: conjugate gradients on exact Hessian-vector passes.
NEWTON_MAX_COEFS = 512
_WHERE = "DaskLogisticRegression.fit"


# ------------------------------------------------------------------------------------------------
# per-partition work (runs on the workers)


def _csr(x):
    """A partition as canonical CSR float64 (sorted, no duplicates): every row's nonzeros are
    read in column order, so a row's margin is the same bits in any partition."""
    import scipy.sparse as sp

    X = sp.csr_matrix(x, dtype=np.float64)
    if not X.has_canonical_format:
        X = X.copy()
        X.sum_duplicates()
        X.sort_indices()
    return X


def sparse_stats(x, y, w, index, where=_WHERE):
    """Pass 1 of a scipy.sparse partition: shape, labels, per-column range (implicit zeros
    included), weight bound; an explicitly stored NaN/inf is an error naming the entry."""
    X = _csr(x)
    yv = _as_vector(y)
    n, d = X.shape
    if yv.ndim != 1 or yv.shape[0] != n:
        raise InvalidInputError(
            f"{where}: partition {index} has {n} rows of X but {yv.shape[0]} labels; "
            "X and y must be partitioned alike (the same rows in each partition).")
    bad = ~np.isfinite(X.data)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        row = int(np.searchsorted(X.indptr, k, side="right") - 1)
        raise InvalidInputError(
            f"{where}: the sparse X has an explicitly stored {X.data[k]} in partition {index}, "
            f"row {row} of the partition, column {int(X.indices[k])}; sparse input has no "
            "missing values: replace NaN/inf, or pass dense partitions where NaN means missing.")
    out = {"rows": n, "cols": d, "names": None, "sparse": True}
    _label_stats(out, yv, w, n, where, index)
    if n:
        out["min"] = X.min(axis=0).toarray().ravel()
        out["max"] = X.max(axis=0).toarray().ravel()
    else:
        out["min"], out["max"] = np.full(d, np.inf), np.full(d, -np.inf)
    out["has_nan"] = np.zeros(d, dtype=bool)
    return out


def _class_index(yv, classes):
    """Each label's position in the sorted global ``classes``."""
    yv = np.asarray(yv)
    if yv.size == 0:
        return np.zeros(0, dtype=np.intp)
    return np.searchsorted(classes, yv).astype(np.intp)


def _class_sums(x, y, w, classes, scale_w, scale_wx, sparse):
    """Pass 2: per class, fixed-point sums of w (and for dense partitions of w over observed
    values and of w * x over observed values, for the imputation means): (K, 2 limbs, m)."""
    yi = _class_index(_as_vector(y), classes)
    n = yi.shape[0]
    wv = np.ones(n) if w is None else np.asarray(_as_vector(w), dtype=np.float64)
    if not sparse:
        X, _ = _as_matrix(x, _WHERE, -1)
        obs = ~np.isnan(X)
        Xz = np.where(obs, X, 0.0)
    out = []
    for c in range(classes.size):
        m = yi == c
        wc = wv[m]
        blocks = [_qsum(wc[:, None], scale_w)]
        if not sparse:
            blocks += [_qsum(wc[:, None] * obs[m], scale_w), _qsum(wc[:, None] * Xz[m], scale_wx)]
        out.append(np.concatenate(blocks, axis=1))
    return np.stack(out)


def _prepare(x, y, w, classes, class_w, impute, sparse):
    """Pass 3 (persisted): (A = [X, 1] with NaN imputed, Fortran dense or canonical CSR; class
    index per row; combined weights sample_weight * class_weight[y])."""
    yi = _class_index(_as_vector(y), classes)
    n = yi.shape[0]
    wv = np.ones(n) if w is None else np.asarray(_as_vector(w), dtype=np.float64)
    wv = wv * np.asarray(class_w)[yi]
    if sparse:
        import scipy.sparse as sp

        X = _csr(x)
        A = sp.hstack([X, np.ones((n, 1))], format="csr", dtype=np.float64)
        return _csr(A), yi, wv, True
    X, _ = _as_matrix(x, _WHERE, -1)
    A = np.empty((n, X.shape[1] + 1), dtype=np.float64, order="F")
    A[:, :-1] = np.where(np.isnan(X), impute, X)
    A[:, -1] = 1.0
    return A, yi, wv, False


def _margins(A, theta, sparse):
    """Z = A theta^T (n, M). Dense: column by column (no BLAS blocking); sparse: scipy's CSR
    product, which adds each row's nonzeros in column order. Either way a row's value does not
    depend on the other rows of its partition."""
    if sparse:
        return np.asarray(A @ theta.T, dtype=np.float64).reshape(A.shape[0], theta.shape[0])
    Z = np.zeros((A.shape[0], theta.shape[0]), dtype=np.float64)
    for k in range(theta.shape[0]):
        z = Z[:, k]
        for j in range(A.shape[1]):
            if theta[k, j] != 0.0:
                z += A[:, j] * theta[k, j]
    return Z


def _probabilities(Z, yi, w):
    """(per-row loss, P (n, M), Y (n, M)) for the sigmoid (M = 1) or the softmax model."""
    n, M = Z.shape
    if M == 1:
        z = Z[:, 0]
        y = (yi == 1).astype(np.float64)
        with np.errstate(over="ignore"):
            p = 1.0 / (1.0 + np.exp(-z))
        return w * (np.logaddexp(0.0, z) - y * z), p[:, None], y[:, None]
    zmax = Z[:, 0].copy()
    for k in range(1, M):
        np.maximum(zmax, Z[:, k], out=zmax)
    E = np.exp(Z - zmax[:, None])
    s = E[:, 0].copy()
    for k in range(1, M):  # a fixed order per row (no pairwise reduction)
        s += E[:, k]
    P = E / s[:, None]
    Y = np.zeros((n, M))
    Y[np.arange(n), yi] = 1.0
    loss = w * (zmax + np.log(s) - Z[np.arange(n), yi])
    return loss, P, Y


def _column_qsum(A, r, scale, sparse):
    """(2 limbs, q) exact sums over rows of rint(r_i A_ij scale_j)."""
    if not sparse:
        return _qsum(r[:, None] * A, scale)
    rows = np.repeat(np.arange(A.shape[0]), np.diff(A.indptr))
    q = np.rint(A.data * r[rows] * scale[A.indices]).astype(np.int64)
    out = np.zeros((2, A.shape[1]), dtype=np.int64)
    step = 1 << 26  # limbs < 2**26: float64 bincounts of 2**26 of them stay exact integers
    for lo in range(0, q.size, step):
        idx, qb = A.indices[lo:lo + step], q[lo:lo + step]
        out[0] += np.rint(np.bincount(idx, weights=qb >> _LIMB, minlength=A.shape[1])).astype(
            np.int64)
        out[1] += np.rint(np.bincount(idx, weights=qb & _LIMB_MASK, minlength=A.shape[1])).astype(
            np.int64)
    return out


def _hessian_block(A, h, s_u, s_v, sparse):
    """(2 limbs, q, q) exact sums of rint(h_i A_ij s_u_j) * rint(A_ik s_v_k): integer products
    below 2**40 summed in float64 over row blocks of 2**12 (exact in any order), then int64."""
    n, q = A.shape
    acc = np.zeros((2, q, q), dtype=np.int64)
    step = 1 << _HESSIAN_BLOCK_BITS
    for lo in range(0, n, step):
        if sparse:
            Ab = A[lo:lo + step]
            hr = np.repeat(h[lo:lo + step], np.diff(Ab.indptr))
            U, V = Ab.copy(), Ab.copy()
            U.data = np.rint(Ab.data * hr * s_u[Ab.indices])
            V.data = np.rint(Ab.data * s_v[Ab.indices])
            block = (U.T @ V).toarray()
        else:
            U = np.rint(h[lo:lo + step, None] * A[lo:lo + step] * s_u)
            V = np.rint(A[lo:lo + step] * s_v)
            block = np.einsum("ij,ik->jk", U, V, optimize=False)  # no BLAS (see dask.py)
        block = block.astype(np.int64)
        acc[0] += block >> _LIMB
        acc[1] += block & _LIMB_MASK
    return acc


def _pass(part, theta, scales, hessian):
    """One partition's fixed-point sums at theta (M, q): [loss | gradient (M q) | Hessian blocks
    (k <= l, q * q each)] as (2 limbs, m) int64."""
    A, yi, w, sparse = part
    n, q = A.shape
    M = theta.shape[0]
    s_loss, s_grad, s_u, s_v = scales
    m = 1 + M * q + (M * (M + 1) // 2 * q * q if hessian else 0)
    if n == 0:
        return np.zeros((2, m), dtype=np.int64)
    loss, P, Y = _probabilities(_margins(A, theta, sparse), yi, w)
    R = w[:, None] * (P - Y)
    out = [_qsum(loss[:, None], s_loss)]
    out += [_column_qsum(A, R[:, k], s_grad, sparse) for k in range(M)]
    if hessian:
        for k in range(M):
            for l in range(k, M):
                h = w * P[:, k] * (1.0 - P[:, k]) if k == l else -w * P[:, k] * P[:, l]
                out.append(_hessian_block(A, h, s_u, s_v, sparse).reshape(2, q * q))
    return np.concatenate(out, axis=1)


def _hvp_pass(part, theta, V, scale):
    """One partition's fixed-point Hessian-vector product at theta along V (M, q): (2 limbs,
    M q) int64, ``A^T (w p (1 - p) u)`` (sigmoid) or ``A^T (w P_k (u_k - sum_l P_l u_l))``
    (softmax) with ``u = A V^T``, every row's value elementwise (no reduction across rows)."""
    A, yi, w, sparse = part
    n, q = A.shape
    M = theta.shape[0]
    if n == 0:
        return np.zeros((2, M * q), dtype=np.int64)
    _, P, _ = _probabilities(_margins(A, theta, sparse), yi, w)
    U = _margins(A, V, sparse)
    if M == 1:
        T = (w * P[:, 0] * (1.0 - P[:, 0]) * U[:, 0])[:, None]
    else:
        s = P[:, 0] * U[:, 0]
        for k in range(1, M):  # a fixed order per row
            s += P[:, k] * U[:, k]
        T = w[:, None] * P * (U - s[:, None])
    return np.concatenate([_column_qsum(A, T[:, k], scale, sparse) for k in range(M)], axis=1)


# ------------------------------------------------------------------------------------------------
# the client side


def _values(hl, scale):
    """float64 values of (hi, lo) limb sums: the exact integer total, rounded once, scaled by a
    power of two (vectorised over Python integers)."""
    hl = np.asarray(hl, dtype=np.int64)
    total = (hl[0].astype(object) << _LIMB) + hl[1].astype(object)
    return total.astype(np.float64) / np.broadcast_to(scale, total.shape)


def class_weights(est, W, classes):
    """One multiplier per class: None -> 1; "balanced" -> sum(W) / (K W_c) on sample-weight
    totals; a dict keyed by the labels (0/1 also accepted for two classes)."""
    K = classes.size
    cw = est.class_weight
    if cw is None:
        return np.ones(K)
    if cw == "balanced":
        if not (W > 0).all():
            c = classes[int(np.flatnonzero(~(W > 0))[0])]
            raise InvalidInputError(
                f"{_WHERE}: class {c!r} has zero total sample weight; class_weight=\"balanced\" "
                "needs positive weight in every class.")
        return W.sum() / (K * W)
    out = np.ones(K)
    for key, val in cw.items():
        hits = np.flatnonzero(classes == key)
        if hits.size == 0 and K == 2 and key in (0, 1):
            hits = np.array([int(key)])
        if hits.size == 0:
            raise InvalidParamsError(
                f"DaskLogisticRegression: class_weight has key {key!r}, which is not one of the "
                f"classes {classes.tolist()}; use the labels as keys.")
        out[int(hits[0])] = float(val)
    return out


def fit_general(est, xs, ys, wl, info):
    """DaskLogisticRegression.fit for K >= 3 classes or sparse partitions (after pass 1)."""
    classes, d, sparse = info["classes"], info["d"], info["sparse"]
    K = classes.size
    wmax, maxabs = info["wmax"], info["maxabs"]
    s_w = _scale(wmax)
    s_wx = np.array([_scale(wmax * a) for a in maxabs])
    sums = dask.compute(_tree_sum([dask.delayed(_class_sums)(x, y, w, classes, s_w, s_wx, sparse)
                                   for x, y, w in zip(xs, ys, wl)]))[0]
    W = np.array([_values(sums[c][:, :1], s_w)[0] for c in range(K)])
    cw = class_weights(est, W, classes)
    if sparse:
        impute = np.zeros(d)
    else:  # means of the observed values weighted by sample_weight only, as the single-process
        # multinomial solver (its binary solver applies the class weights too: dask.py)
        total = sums.sum(axis=0)  # int64 limbs over the classes: still exact
        sw_obs = _values(total[:, 1:1 + d], s_w)
        swx = _values(total[:, 1 + d:], s_wx)
        with np.errstate(invalid="ignore", divide="ignore"):
            impute = np.where(sw_obs > 0, swx / np.where(sw_obs > 0, sw_obs, 1.0), 0.0)
    est._class_weight_values = cw
    prepared = dask.persist(*[dask.delayed(_prepare)(x, y, w, classes, cw, impute, sparse)
                              for x, y, w in zip(xs, ys, wl)])
    lo = np.where(info["has_nan"], np.minimum(info["min"], impute), info["min"])
    hi = np.where(info["has_nan"], np.maximum(info["max"], impute), info["max"])
    est.impute_values_ = impute
    _Solver(est, prepared, 1 if K == 2 else K, d, wmax * max(cw.max(), 0.0),
            np.maximum(np.abs(lo), np.abs(hi)), lo == hi, float(np.dot(cw, W))).solve()


class _Solver:
    """Newton with backtracking (Newton-CG when wide) from the client on exact pass sums."""

    def __init__(self, est, prepared, M, d, wbound, maxabs, constant, sum_w):
        self.est, self.prepared, self.M, self.d = est, prepared, M, d
        q = self.q = d + 1
        self.wbound, self.maxabs = wbound, maxabs
        C = float(est.C)
        self.pen = 0.0 if math.isinf(C) else 1.0 / C
        self.fit_b = bool(est.fit_intercept)
        col = np.append(maxabs, 1.0)
        self.s_grad = np.array([_scale(wbound * b) for b in col])
        self.s_u = np.array([_scale(0.25 * wbound * b, HESSIAN_BITS) for b in col])
        self.s_v = np.array([_scale(b, HESSIAN_BITS) for b in col])
        free = np.ones((M, q), dtype=bool)
        if self.fit_b:
            free[:, :d] &= ~constant  # collinear with the intercept: held at 0
        else:
            free[:, d] = False
        if M > 1:  # softmax: one shift of the intercepts (and without penalty, of the coefs)
            free[M - 1, d] = False
            if self.pen == 0.0:
                free[M - 1, :d] = False
        self.free = free.ravel()
        self.is_coef = np.tile(np.arange(q) < d, M)
        self.newton = M * q <= NEWTON_MAX_COEFS
        self.scale_g = sum_w if sum_w > 0 else 1.0
        nb = 1 + M * q + (M * (M + 1) // 2 * q * q if self.newton else 0)
        est.n_bytes_per_pass_ = 2 * 8 * nb

    def run(self, theta, hessian=True):
        """(objective, gradient with the penalty and 0 at held coefficients, Hessian or None)."""
        M, q, d = self.M, self.q, self.d
        T = theta.reshape(M, q)
        zb = float(np.max(np.abs(T[:, d]) + np.abs(T[:, :d]) @ self.maxabs))
        s_loss = _scale(self.wbound * (2.0 * zb + math.log(max(M, 2)) + 1.0))
        scales = (s_loss, self.s_grad, self.s_u, self.s_v)
        out = dask.compute(_tree_sum([dask.delayed(_pass)(p, T, scales, hessian)
                                      for p in self.prepared]))[0]
        loss = float(_values(out[:, :1], s_loss)[0])
        grad = _values(out[:, 1:1 + M * q], np.tile(self.s_grad, M))
        H = self._hessian(out[:, 1 + M * q:]) if hessian else None
        coef = theta[self.is_coef]
        obj = loss + 0.5 * self.pen * float(np.dot(coef, coef))
        g = grad.copy()
        g[self.is_coef] += self.pen * coef
        g[~self.free] = 0.0
        return obj, g, H

    def _hessian(self, flat):
        M, q = self.M, self.q
        H = np.zeros((M * q, M * q))
        scale = self.s_u[:, None] * self.s_v[None, :]
        iu, ju = np.triu_indices(q)
        pos = 0
        for k in range(M):
            for l in range(k, M):
                B = _values(flat[:, pos:pos + q * q].reshape(2, q, q), scale)
                pos += q * q
                rk, rl = slice(k * q, (k + 1) * q), slice(l * q, (l + 1) * q)
                if k == l:  # the upper triangle, mirrored (the quantised block is not symmetric)
                    S = np.zeros((q, q))
                    S[iu, ju] = B[iu, ju]
                    S[ju, iu] = B[iu, ju]
                    H[rk, rk] = S
                else:
                    H[rk, rl] = B
                    H[rl, rk] = B.T
        return H

    def solve(self):
        theta = np.zeros(self.M * self.q)
        if self.newton:
            theta, obj, g, H, n_iter, converged = self._newton(theta)
        else:
            theta, obj, g, n_iter, converged = self._newton_cg(theta)
            H = None
        self._finish(theta, obj, g, H, n_iter, converged)

    def _newton(self, theta):
        free, tol = self.free, float(self.est.tol)
        obj, g, H = self.run(theta)
        n_iter, converged = 0, False
        for n_iter in range(1, int(self.est.max_iter) + 1):
            if np.max(np.abs(g)) / self.scale_g <= tol:
                return theta, obj, g, H, n_iter - 1, True
            Hf = H[np.ix_(free, free)] + np.diag(np.where(self.is_coef[free], self.pen, 0.0))
            try:
                step_f = np.linalg.solve(Hf, -g[free])
            except np.linalg.LinAlgError:
                step_f = np.linalg.lstsq(Hf, -g[free], rcond=None)[0]
            step = np.zeros_like(theta)
            step[free] = step_f
            cand, res = _line_search(self.run, theta, obj, g, step)
            if cand is None:  # no decrease at the fixed-point resolution: the optimum
                break
            c_obj, c_g, c_H = res
            theta, obj, g, H = cand, c_obj, c_g, c_H
        converged = np.max(np.abs(g)) / self.scale_g <= tol
        return theta, obj, g, H, n_iter, converged

    def hvp(self, theta, v):
        """(H + penalty) v on the free coefficients, from one exact pass."""
        M, q = self.M, self.q
        V = np.where(self.free, v, 0.0).reshape(M, q)
        ub = float(np.max(np.abs(V) @ np.append(self.maxabs, 1.0)))
        scale = np.array([_scale(2.0 * self.wbound * ub * b)
                          for b in np.append(self.maxabs, 1.0)])
        T = theta.reshape(M, q)
        out = dask.compute(_tree_sum([dask.delayed(_hvp_pass)(p, T, V, scale)
                                      for p in self.prepared]))[0]
        hv = _values(out, np.tile(scale, M)) + np.where(self.is_coef, self.pen, 0.0) * V.ravel()
        return np.where(self.free, hv, 0.0)

    def _cg(self, theta, g):
        """Truncated conjugate gradients for (H + penalty) s = -g (forcing term
        min(0.5, sqrt(|g|)) |g|, as the single-process Newton-CG)."""
        r = -g.copy()
        s = np.zeros_like(g)
        d = r.copy()
        rr = float(np.dot(r, r))
        gnorm = math.sqrt(rr)
        eta = min(0.5, math.sqrt(gnorm / self.scale_g)) * gnorm
        for _ in range(min(100, int(self.free.sum()))):  # each step is one pass
            if math.sqrt(rr) <= eta or rr == 0.0:
                break
            Hd = self.hvp(theta, d)
            dHd = float(np.dot(d, Hd))
            if not dHd > 0.0:
                break
            a = rr / dHd
            s += a * d
            r -= a * Hd
            rr_new = float(np.dot(r, r))
            d = r + (rr_new / rr) * d
            rr = rr_new
        return s if np.any(s) else -g

    def _newton_cg(self, theta):
        tol = float(self.est.tol)
        obj, g, _ = self.run(theta, hessian=False)
        n_iter = 0
        for n_iter in range(1, int(self.est.max_iter) + 1):
            if np.max(np.abs(g)) / self.scale_g <= tol:
                return theta, obj, g, n_iter - 1, True
            step = self._cg(theta, g)
            cand, res = _line_search(lambda th: self.run(th, hessian=False), theta, obj, g, step)
            if cand is None:  # no decrease at the fixed-point resolution: the optimum
                break
            c_obj, c_g, _ = res
            theta, obj, g = cand, c_obj, c_g
        return theta, obj, g, n_iter, np.max(np.abs(g)) / self.scale_g <= tol

    def _finish(self, theta, obj, g, H, n_iter, converged):
        est, M, q, d = self.est, self.M, self.q, self.d
        if not converged:
            warnings.warn(
                f"DaskLogisticRegression: did not converge in {n_iter} iterations "
                f"(max|gradient| / sum(w) = {np.max(np.abs(g)) / self.scale_g:.3g} > tol = "
                f"{est.tol}); raise max_iter, or the classes may be separable (lower C).",
                ConvergenceWarning, stacklevel=4)
        T = theta.reshape(M, q).copy()
        if M > 1:  # the softmax gauge, as the single-process solver: centred intercepts
            if self.fit_b:
                T[:, d] -= T[:, d].mean()
            if self.pen == 0.0:
                T[:, :d] -= T[:, :d].mean(axis=0)
        est.coef_ = T[:, :d].copy()
        est.intercept_ = T[:, d].copy() if self.fit_b else np.zeros(M)
        est.n_iter_ = np.array([n_iter], dtype=np.int32)
        est.objective_ = float(obj)
        est.converged_ = bool(converged)
        est._hessian = H
        est._free = self.free


def multinomial_state(est):
    """The saved model of a K-class fit: a probe model of the same parameters (fitted on K tiny
    rows) with its state replaced by the fitted coefficients, read back through the codec."""
    import json

    from .linear import LogisticRegression

    loc = LogisticRegression(C=est.C, fit_intercept=est.fit_intercept, max_iter=est.max_iter,
                             tol=est.tol, class_weight=est.class_weight, missing="mean",
                             standardize=est.standardize)
    classes = est.classes_
    K = classes.size
    probe = _core.LogisticRegressionModel(loc._core_params(classes))
    Xp = np.tile(np.array([[0.0], [1.0]]), (K, 1))
    yp = np.repeat(np.arange(K, dtype=np.float64), 2)
    probe.fit(Xp, yp, np.ones(2 * K), K, loc._per_class_weights(classes))
    doc = json.loads(probe.to_bytes())
    doc["state"].update({
        "n_features": est.n_features_in_,
        "class_coef": [float(v) for v in est.coef_.ravel()],
        "class_intercept": [float(v) for v in est.intercept_],
        "impute_values": [float(v) for v in est.impute_values_],
    })
    model = _core.LogisticRegressionModel.from_bytes(json.dumps(doc, sort_keys=True).encode())
    loc._model = model
    loc.coef_ = np.asarray(model.class_coef, dtype=np.float64)
    loc.intercept_ = np.asarray(model.class_intercept, dtype=np.float64)
    return loc
