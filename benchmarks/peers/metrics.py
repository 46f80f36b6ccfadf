# SPDX-License-Identifier: Apache-2.0
"""Metrics and threshold selection: calibrisk against sklearn.metrics on the same scores.

Cases (full size; ``quick`` shrinks them for the CI smoke):
- AUC + AP + PR curve on 10M scores (target: calibrisk >= 5x faster than scikit-learn);
- threshold selection with intervals on 10M scores against one numpy sort of the scores
  (target: <= 1.5x a std::sort; numpy's sort is the closest Python-side yardstick);
- a 1,000-replicate bootstrap of AUC + ECE on 100k rows against 1,000 plain AUC + ECE computations
  (target: the bootstrap costs no more), and against a scikit-learn resampling loop.
"""

import numpy as np

from compare import timed


def _data(n, seed=1):
    rng = np.random.default_rng(seed)
    lp = rng.normal(size=n) - 1.0
    p = 1.0 / (1.0 + np.exp(-lp))
    y = (rng.random(n) < p).astype(np.float64)
    return y, p


def _sk_ece(y, p, n_bins=10):
    ids = np.searchsorted(np.linspace(0, 1, n_bins + 1)[1:-1], p)
    cnt = np.bincount(ids, minlength=n_bins)
    nz = cnt > 0
    gap = np.abs(np.bincount(ids, y, n_bins)[nz] - np.bincount(ids, p, n_bins)[nz]) / cnt[nz]
    return float(np.sum(cnt[nz] / len(p) * gap))


def run(quick):
    import sklearn.metrics as skm

    from calibrisk import _core
    from calibrisk import metrics as cm
    from calibrisk import select_threshold

    rows = []
    n = 200_000 if quick else 10_000_000
    y, p = _data(n)
    case = f"AUC + AP + PR curve, {n:,} scores"
    t_cr, r_cr = timed(lambda: _core.metrics_ranking_bundle(y, p, None), repeat=3)
    rows.append(dict(area="metrics", case=case, library="calibrisk", seconds=t_cr,
                     auc=r_cr[0], ap=r_cr[1]))

    def sk():
        auc = skm.roc_auc_score(y, p)
        ap = skm.average_precision_score(y, p)
        pr = skm.precision_recall_curve(y, p)
        return auc, ap, pr

    t_sk, r_sk = timed(sk, repeat=1 if not quick else 2)
    rows.append(dict(area="metrics", case=case, library="scikit-learn", seconds=t_sk,
                     auc=r_sk[0], ap=r_sk[1], speedup=t_sk / t_cr))

    case = f"threshold selection (min_recall=0.8, intervals), {n:,} scores"
    t_sel, op = timed(lambda: select_threshold(y, p, min_recall=0.8), repeat=3)
    rows.append(dict(area="threshold", case=case, library="calibrisk", seconds=t_sel,
                     threshold=op.threshold, precision=op.precision))
    t_sort, _ = timed(lambda: np.sort(p), repeat=3)
    rows.append(dict(area="threshold", case=case, library="numpy.sort (yardstick)",
                     seconds=t_sort, ratio_to_sort=t_sel / t_sort))

    m = 20_000 if quick else 100_000
    reps = 100 if quick else 1000
    yb, pb = _data(m, seed=2)
    case = f"bootstrap AUC + ECE, {reps} replicates x {m:,} rows"
    t_boot, res = timed(lambda: cm.bootstrap(yb, pb, ["roc_auc", "ece"], n_replicates=reps,
                                             random_state=0, n_threads=0), repeat=1)
    rows.append(dict(area="metrics", case=case, library="calibrisk", seconds=t_boot,
                     auc_lower=res["roc_auc"].lower, auc_upper=res["roc_auc"].upper))

    def plain():
        for _ in range(reps):
            cm.roc_auc_score(yb, pb)
            cm.expected_calibration_error(yb, pb)

    t_plain, _ = timed(plain, repeat=1)
    rows.append(dict(area="metrics", case=case, library=f"calibrisk ({reps} plain AUC+ECE)",
                     seconds=t_plain))
    sk_reps = max(10, reps // 20)
    rng = np.random.default_rng(0)

    def sk_boot():
        for _ in range(sk_reps):
            i = rng.integers(0, m, size=m)
            skm.roc_auc_score(yb[i], pb[i])
            _sk_ece(yb[i], pb[i])

    t_skb, _ = timed(sk_boot, repeat=1)
    rows.append(dict(area="metrics", case=case,
                     library=f"scikit-learn loop (extrapolated from {sk_reps})",
                     seconds=t_skb * reps / sk_reps))
    return rows
