# SPDX-License-Identifier: Apache-2.0
"""Encodings of high-cardinality diagnosis codes, measured against each other (issue 12, item 3).

Data: a seeded synthetic admissions table with three ICD-like diagnosis columns (Zipf-distributed
codes over a prefix hierarchy chapter -> category -> code; risk from the chapter, the category and
specific codes; rare codes; a block of codes that exist only in the later period) plus four numeric
columns; a patient-disjoint temporal split (patients ordered by their first admission: the first
70 % train, the rest test). Labels -> codes: the sorted training labels (a label never seen in
training -> NaN, the unseen-category policy of issue 12).

Rows (all 100 trees, learning rate 0.1, 2 threads, 31 leaves, >= 20 rows per leaf, L2 = 1):
- calibrisk's built-in encoding (GradientBoostingClassifier with the code columns categorical,
  cat_encoding="auto": target statistics inside the booster): on codes, on text labels (dotted
  prefixes inferred), with a declared hierarchy (chapter, category), with patient groups; and
  cat_encoding="partition" (native partitions);
- calibrisk / LightGBM on the ordinal codes;
- calibrisk on out-of-fold target statistics (5 folds grouped by patient) and on ordered target
  statistics (calibrisk.preprocessing.target_statistics), test rows encoded by the full-data table;
- LightGBM native categorical (categorical_feature), XGBoost native categorical
  (enable_categorical, hist, lossguide), CatBoost on the raw labels (ordered TS, its defaults
  otherwise, depth 6).
Reported: test AUC, test log loss, fit wall and CPU seconds (encoding included for the TS rows).

Usage: OMP_WAIT_POLICY=passive PYTHONPATH=build/python python benchmarks/categorical_encodings.py
       [--rows 150000] [--seeds 0,1,2] [--smoothing 1,0.3,3] [--quick] [--only SUBSTR,...]
       [--threshold-sweep] [--json out.json]
CatBoost is optional (skipped with a note when it is not importable). On a loaded machine set
OMP_WAIT_POLICY=passive: spinning OpenMP workers of one library otherwise steal the cores of the
next one and the times become meaningless (the quality figures do not change).
"""

import argparse
import json
import os
import time

import numpy as np

THREADS = 2
N_TREES = 100
LR = 0.1


# ----------------------------------------------------------------------------------------------
# data


def make_code_cohort(n_rows, seed=0):
    """An admissions table with ICD-like codes. Returns a dict of numpy arrays and label arrays."""
    rng = np.random.default_rng(seed)
    n_chapters, cats_per_chapter, max_sub = 20, 30, 12
    # The code universe: chapter letter + 2-digit category + optional ".d" subcode.
    chapters = [chr(ord("A") + c) for c in range(n_chapters)]
    labels, chap_of, cat_of = [], [], []
    for c, ch in enumerate(chapters):
        for k in range(cats_per_chapter):
            cat = c * cats_per_chapter + k
            n_sub = rng.integers(1, max_sub + 1)
            for s in range(n_sub):
                labels.append(f"{ch}{k:02d}" if s == 0 else f"{ch}{k:02d}.{s - 1}")
                chap_of.append(c)
                cat_of.append(cat)
    labels = np.array(labels)
    chap_of = np.array(chap_of)
    cat_of = np.array(cat_of)
    n_codes = len(labels)
    # Zipf frequencies over a random rank order (exponent 1.1): a few hundred common codes and a
    # long tail of rare ones.
    rank = rng.permutation(n_codes) + 1
    freq = 1.0 / rank**1.1
    # Codes that exist only in the later period (a new code release): 8 % of the universe, and
    # one in ten of the moderately common codes (ranks 20-400), so that unseen codes matter.
    late = (rng.random(n_codes) < 0.08) | (
        (rank >= 20) & (rank < 400) & (rng.random(n_codes) < 0.1))
    # Risk: chapter effect + category effect + a specific effect for 15 % of the codes.
    chap_eff = rng.normal(0, 0.45, n_chapters)
    cat_eff = rng.normal(0, 0.30, n_chapters * cats_per_chapter)
    code_eff = np.where(rng.random(n_codes) < 0.15, rng.normal(0, 0.8, n_codes), 0.0)
    effect = chap_eff[chap_of] + cat_eff[cat_of] + code_eff

    n_pat = n_rows // 3
    entry = rng.uniform(0.0, 3.0, n_pat)  # years
    frailty = rng.normal(0, 1, n_pat)
    age = np.clip(rng.normal(65, 14, n_pat), 18, 100)
    visits = 1 + rng.poisson(2.0, n_pat)
    pid = np.repeat(np.arange(n_pat), visits)[:n_rows]
    if len(pid) < n_rows:  # top up with single-visit patients
        extra = n_rows - len(pid)
        pid = np.concatenate([pid, rng.integers(0, n_pat, extra)])
    pid = np.sort(pid)
    t = entry[pid] + rng.exponential(0.4, n_rows)
    n = n_rows
    p_early = np.where(late, 0.0, freq)
    p_early /= p_early.sum()
    p_late = freq / freq.sum()

    def draw(tt):
        out = np.empty(n, dtype=np.int64)
        is_late = tt > 2.5
        out[~is_late] = rng.choice(n_codes, size=(~is_late).sum(), p=p_early)
        out[is_late] = rng.choice(n_codes, size=is_late.sum(), p=p_late)
        return out

    dx = [draw(t) for _ in range(3)]
    missing = [np.zeros(n, bool), rng.random(n) < 0.25, rng.random(n) < 0.5]
    lab = rng.normal(0, 1, n) + 0.3 * frailty[pid]
    lab[rng.random(n) < 0.2] = np.nan
    los = rng.gamma(2.0, 2.0, n)
    prior_visits = np.zeros(n)
    # rank of the visit within the patient (rows are sorted by pid, times are random)
    order = np.lexsort((t, pid))
    first = np.r_[True, pid[order][1:] != pid[order][:-1]]
    cnt = np.arange(n) - np.maximum.accumulate(np.where(first, np.arange(n), 0))
    prior_visits[order] = cnt
    logit = (
        -2.3 + 0.45 * frailty[pid] + 0.015 * (age[pid] - 65) + 0.05 * los
        + 0.25 * np.nan_to_num(lab) + 0.1 * prior_visits
        + effect[dx[0]] + np.where(missing[1], 0, 0.6 * effect[dx[1]])
        + np.where(missing[2], 0, 0.4 * effect[dx[2]])
    )
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.float64)
    dx_labels = []
    for d, m in zip(dx, missing):
        lab_d = labels[d].astype(object)
        lab_d[m] = None
        dx_labels.append(lab_d)
    X_num = np.column_stack([age[pid], los, lab, prior_visits])
    return dict(X_num=X_num, dx=dx_labels, y=y, pid=pid.astype(np.float64), t=t,
                entry=entry[pid], n_codes=n_codes)


def temporal_patient_split(entry, pid, frac=0.7):
    """Patients ordered by entry: the first `frac` of them train, the rest test."""
    pats = np.unique(pid)
    pe = np.zeros(int(pats.max()) + 1)
    pe[pid.astype(np.int64)] = entry
    order = pats[np.argsort(pe[pats.astype(np.int64)], kind="stable")]
    train_pats = set(order[: int(frac * len(order))].tolist())
    tr = np.array([p in train_pats for p in pid])
    return tr, ~tr


def codes_from_labels(train_labels, labels):
    """Sorted training labels -> codes 0..K-1; missing and unseen labels -> NaN."""
    seen = sorted({x for x in train_labels if x is not None})
    index = {s: i for i, s in enumerate(seen)}
    return np.array([np.nan if x is None else index.get(x, np.nan) for x in labels], dtype=float)


# ----------------------------------------------------------------------------------------------
# models


def _timed(fn):
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w0, time.process_time() - c0


def _metrics(y, p):
    from sklearn.metrics import log_loss, roc_auc_score

    return roc_auc_score(y, p), log_loss(y, p)


def _calibrisk(seed):
    import calibrisk as cr

    return cr.GradientBoostingClassifier(
        n_estimators=N_TREES, learning_rate=LR, max_leaf_nodes=31, max_bins=255,
        min_samples_leaf=20, l2_regularization=1.0, n_threads=THREADS, random_state=seed,
    )


def _ts_proba(ts_model, parts, codes):
    """P(y = 1) of a model fitted on [parts..., TS columns]: the test codes go through the
    full-data tables."""
    ts, model = ts_model
    return model.predict_proba(np.column_stack([*parts, ts.transform(codes)]))[:, 1]


def _builtin(seed, **kw):
    """calibrisk with its built-in encoding of categorical columns (GBDTParams.cat_encoding)."""
    import calibrisk as cr

    return cr.GradientBoostingClassifier(
        n_estimators=N_TREES, learning_rate=LR, max_leaf_nodes=31, max_bins=255,
        min_samples_leaf=20, l2_regularization=1.0, n_threads=THREADS, random_state=seed, **kw)


def run(n_rows, seed, smoothings, with_catboost=True, quick=False, only=()):
    import lightgbm as lgb
    import pandas as pd
    import xgboost as xgb

    from calibrisk.preprocessing import target_statistics

    d = make_code_cohort(n_rows, seed)
    tr, te = temporal_patient_split(d["entry"], d["pid"])
    y_tr, y_te = d["y"][tr], d["y"][te]
    codes = [codes_from_labels(lab[tr], lab) for lab in d["dx"]]
    C = np.column_stack(codes)
    Xn = d["X_num"]
    rows = []
    info = dict(
        rows=int(n_rows), train=int(tr.sum()), test=int(te.sum()),
        train_pos=float(y_tr.mean()), test_pos=float(y_te.mean()),
        universe=int(d["n_codes"]),
        levels_train=[int(np.nanmax(c[tr]) + 1) for c in codes],
        test_unseen_frac=[float(np.mean(np.isnan(c[te]) & (lab[te] != None)))  # noqa: E711
                          for c, lab in zip(codes, d["dx"])],
    )

    def add(name, fit_fn, pred_fn):
        if only and not any(o in name for o in only):
            return
        model, wall, cpu = _timed(fit_fn)
        auc, ll = _metrics(y_te, pred_fn(model))
        rows.append(dict(model=name, auc=auc, log_loss=ll, fit_wall_s=wall, fit_cpu_s=cpu))
        print(f"{name:48s} AUC {auc:.4f}  log loss {ll:.4f}  fit {wall:6.2f} s wall "
              f"{cpu:6.2f} s CPU", flush=True)

    X_ord = np.column_stack([Xn, C])
    add("calibrisk, ordinal codes",
        lambda: _calibrisk(seed).fit(X_ord[tr], y_tr),
        lambda m: m.predict_proba(X_ord[te])[:, 1])

    # The booster's built-in encoding: the code columns declared categorical; the default
    # cat_encoding="auto" grows them on target statistics (+ the ordinal code, + each ancestor
    # level of a declared hierarchy) and stores category sets; the test rows are raw codes.
    cat_cols = list(range(Xn.shape[1], X_ord.shape[1]))
    add("calibrisk built-in (cat_encoding=auto), no hierarchy",
        lambda: _builtin(seed, categorical_features=cat_cols).fit(X_ord[tr], y_tr),
        lambda m: m.predict_proba(X_ord[te])[:, 1])
    add("calibrisk built-in, no hierarchy, groups=patient",
        lambda: _builtin(seed, categorical_features=cat_cols).fit(X_ord[tr], y_tr,
                                                                  groups=d["pid"][tr]),
        lambda m: m.predict_proba(X_ord[te])[:, 1])
    if not quick:
        add("calibrisk built-in, no hierarchy, TS without ordinal",
            lambda: _builtin(seed, categorical_features=cat_cols, cat_ts_ordinal=False).fit(
                X_ord[tr], y_tr),
            lambda m: m.predict_proba(X_ord[te])[:, 1])
    add("calibrisk native partitions (cat_encoding=partition)",
        lambda: _builtin(seed, categorical_features=cat_cols, cat_encoding="partition").fit(
            X_ord[tr], y_tr),
        lambda m: m.predict_proba(X_ord[te])[:, 1])

    def label_frame(mask):
        df = pd.DataFrame(Xn[mask], columns=["age", "los", "lab", "prior_visits"])
        for j, lab in enumerate(d["dx"]):
            df[f"dx{j + 1}"] = pd.Series(lab[mask], dtype=object)
        return df

    lf_tr, lf_te = label_frame(tr), label_frame(te)
    # Text labels without a declared hierarchy: the labels are dotted codes ("A05.3"), so the
    # booster's target statistics also use their dotted prefix ("A05") (cat_ts_infer_hierarchy).
    add("calibrisk built-in, text labels, no declared hierarchy",
        lambda: _builtin(seed, categorical_features=[f"dx{j + 1}" for j in range(3)]).fit(
            lf_tr, y_tr),
        lambda m: m.predict_proba(lf_te)[:, 1])
    hier = {f"dx{j + 1}": [1, 3] for j in range(3)}  # "A05.3" -> "A05" -> chapter "A"
    for min_count in (1, 10):
        pooling = "no pooling" if min_count == 1 else f"labels < {min_count} rows pooled"
        add(f"calibrisk built-in, hierarchy (chapter, category), {pooling}",
            lambda mc=min_count: _builtin(seed, code_hierarchy=hier, hierarchy_min_count=mc).fit(
                lf_tr, y_tr),
            lambda m: m.predict_proba(lf_te)[:, 1])
    add("calibrisk built-in, hierarchy, no pooling, groups=patient",
        lambda: _builtin(seed, code_hierarchy=hier, hierarchy_min_count=1).fit(
            lf_tr, y_tr, groups=d["pid"][tr]),
        lambda m: m.predict_proba(lf_te)[:, 1])

    for scheme in (() if quick else ("out_of_fold", "ordered")):
        for a in smoothings:
            def fit_ts(scheme=scheme, a=a):
                ts = target_statistics(C[tr], y_tr, groups=d["pid"][tr], scheme=scheme,
                                       smoothing=a, seed=seed, n_threads=THREADS)
                m = _calibrisk(seed).fit(np.column_stack([Xn[tr], ts.encoded]), y_tr)
                return ts, m

            add(f"calibrisk, {scheme.replace('_', '-')} TS (a={a:g})", fit_ts,
                lambda tm: _ts_proba(tm, [Xn[te]], C[te]))

    a0 = smoothings[0]

    def fit_both():
        ts = target_statistics(C[tr], y_tr, groups=d["pid"][tr], smoothing=a0, seed=seed,
                               n_threads=THREADS)
        m = _calibrisk(seed).fit(np.column_stack([Xn[tr], C[tr], ts.encoded]), y_tr)
        return ts, m

    if not quick:
        add(f"calibrisk, ordinal codes + out-of-fold TS (a={a0:g})", fit_both,
            lambda tm: _ts_proba(tm, [Xn[te], C[te]], C[te]))

    # Hierarchy levels as extra target-statistics columns: the category (3-character prefix) and
    # the chapter (letter) of each code, so a rare code's row also carries its ancestors' risk.
    def prefix_codes(n_chars):
        cols = []
        for lab in d["dx"]:
            pre = np.array([None if x is None else x[:n_chars] for x in lab], dtype=object)
            cols.append(codes_from_labels(pre[tr], pre))
        return np.column_stack(cols)

    C_h = np.column_stack([C, prefix_codes(3), prefix_codes(1)])
    for scheme in (("out_of_fold",) if quick else ("out_of_fold", "ordered")):
        def fit_h(scheme=scheme):
            ts = target_statistics(C_h[tr], y_tr, groups=d["pid"][tr], scheme=scheme, smoothing=a0,
                                   seed=seed, n_threads=THREADS)
            m = _calibrisk(seed).fit(np.column_stack([Xn[tr], ts.encoded]), y_tr)
            return ts, m

        add(f"calibrisk, {scheme.replace('_', '-')} TS of code+category+chapter (a={a0:g})", fit_h,
            lambda tm: _ts_proba(tm, [Xn[te]], C_h[te]))

    lgb_params = dict(n_estimators=N_TREES, learning_rate=LR, num_leaves=31, max_bin=255,
                      min_child_samples=20, reg_lambda=1.0, n_jobs=THREADS, verbose=-1,
                      random_state=seed)
    add("LightGBM, ordinal codes",
        lambda: lgb.LGBMClassifier(**lgb_params).fit(X_ord[tr], y_tr),
        lambda m: m.predict_proba(X_ord[te])[:, 1])
    cat_idx = list(range(Xn.shape[1], X_ord.shape[1]))
    add("LightGBM, native categorical",
        lambda: lgb.LGBMClassifier(**lgb_params).fit(X_ord[tr], y_tr, categorical_feature=cat_idx),
        lambda m: m.predict_proba(X_ord[te])[:, 1])

    def frame(mask):
        df = pd.DataFrame(Xn[mask], columns=["age", "los", "lab", "prior_visits"])
        for j, c in enumerate(codes):
            k = int(np.nanmax(c[tr]) + 1)
            df[f"dx{j + 1}"] = pd.Categorical.from_codes(
                np.where(np.isnan(c[mask]), -1, c[mask]).astype(int), categories=range(k))
        return df

    df_tr, df_te = frame(tr), frame(te)
    add("XGBoost, native categorical",
        lambda: xgb.XGBClassifier(
            n_estimators=N_TREES, learning_rate=LR, tree_method="hist", grow_policy="lossguide",
            max_leaves=31, max_depth=0, max_bin=256, reg_lambda=1.0, n_jobs=THREADS,
            random_state=seed, enable_categorical=True).fit(df_tr, y_tr),
        lambda m: m.predict_proba(df_te)[:, 1])

    if with_catboost:
        try:
            import catboost as cb
        except ImportError:
            print("catboost not importable: row skipped")
            cb = None
        if cb is not None:
            def cat_frame(mask):
                df = pd.DataFrame(Xn[mask], columns=["age", "los", "lab", "prior_visits"])
                for j, lab in enumerate(d["dx"]):
                    df[f"dx{j + 1}"] = np.where(lab[mask] == None, "NA", lab[mask])  # noqa: E711
                return df

            cf_tr, cf_te = cat_frame(tr), cat_frame(te)
            add("CatBoost (ordered TS), raw labels",
                lambda: cb.CatBoostClassifier(
                    iterations=N_TREES, learning_rate=LR, thread_count=THREADS, random_seed=seed,
                    verbose=False, allow_writing_files=False,
                    cat_features=[f"dx{j + 1}" for j in range(3)]).fit(cf_tr, y_tr),
                lambda m: m.predict_proba(cf_te)[:, 1])
            # The same booster on numbers, to separate CatBoost's trees from its encoding.
            if quick:
                return info, rows
            add("CatBoost, ordinal codes as numbers",
                lambda: cb.CatBoostClassifier(
                    iterations=N_TREES, learning_rate=LR, thread_count=THREADS, random_seed=seed,
                    verbose=False, allow_writing_files=False).fit(X_ord[tr], y_tr),
                lambda m: m.predict_proba(X_ord[te])[:, 1])

            def fit_cb_ts():
                ts = target_statistics(C[tr], y_tr, groups=d["pid"][tr], smoothing=a0, seed=seed,
                                       n_threads=THREADS)
                m = cb.CatBoostClassifier(
                    iterations=N_TREES, learning_rate=LR, thread_count=THREADS, random_seed=seed,
                    verbose=False, allow_writing_files=False).fit(
                        np.column_stack([Xn[tr], ts.encoded]), y_tr)
                return ts, m

            add(f"CatBoost, calibrisk out-of-fold TS as numbers (a={a0:g})", fit_cb_ts,
                lambda tm: _ts_proba(tm, [Xn[te]], C[te]))
    return info, rows


def threshold_sweep(seeds, n_rows=30000):
    """Native partitions against built-in target statistics on one categorical column of K
    levels (a normal effect per level, Zipf(1.1) frequencies) plus two numeric columns: the
    held-out log loss per K, to place cat_ts_min_levels."""
    import calibrisk as cr
    from sklearn.metrics import log_loss

    print("| K levels | partition log loss | target statistics log loss | difference |")
    print("|---|---|---|---|")
    out = []
    for k in (4, 8, 16, 32, 64, 128, 256):
        diffs, lp, lt = [], [], []
        for seed in seeds:
            rng = np.random.default_rng(1000 + seed)
            eff = rng.normal(0, 0.5, k)
            w = 1.0 / np.arange(1, k + 1) ** 1.1
            code = rng.choice(k, size=2 * n_rows, p=w / w.sum()).astype(float)
            x = rng.normal(size=(2 * n_rows, 2))
            z = -1.5 + eff[code.astype(int)] + 0.5 * x[:, 0] - 0.3 * x[:, 1]
            y = (rng.random(2 * n_rows) < 1 / (1 + np.exp(-z))).astype(int)
            X = np.column_stack([code, x])
            tr, te = slice(0, n_rows), slice(n_rows, None)
            losses = []
            for enc in ("partition", "target_stats"):
                m = _builtin(seed, categorical_features=[0], cat_encoding=enc).fit(X[tr], y[tr])
                losses.append(log_loss(y[te], m.predict_proba(X[te])[:, 1]))
            lp.append(losses[0])
            lt.append(losses[1])
            diffs.append(losses[1] - losses[0])
        print(f"| {k} | {np.mean(lp):.5f} | {np.mean(lt):.5f} | {np.mean(diffs):+.5f} |",
              flush=True)
        out.append(dict(k=k, partition=float(np.mean(lp)), target_stats=float(np.mean(lt))))
    return out


def _summary(per_seed):
    """Mean and standard deviation over seeds of every row, in the order of the first seed."""
    names = [r["model"] for r in per_seed[0]]
    out = []
    for name in names:
        rs = [r for rows in per_seed for r in rows if r["model"] == name]
        out.append(dict(model=name, **{
            f"{k}_{stat}": float(fn([r[k] for r in rs]))
            for k in ("auc", "log_loss", "fit_wall_s", "fit_cpu_s")
            for stat, fn in (("mean", np.mean), ("sd", np.std))}))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=150000)
    ap.add_argument("--seeds", default="0", help="comma-separated seeds (data and models)")
    ap.add_argument("--smoothing", default="1",
                    help="comma-separated target-statistics smoothing values (the first is used "
                         "by the combined rows)")
    ap.add_argument("--no-catboost", action="store_true")
    ap.add_argument("--quick", action="store_true",
                    help="only the built-in rows, ordinal codes, the peers and the TS of code + "
                         "category + chapter")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--only", default="",
                    help="comma-separated substrings: run only the rows whose name holds one")
    ap.add_argument("--threshold-sweep", action="store_true",
                    help="only the partition / target statistics sweep over the level count")
    args = ap.parse_args(argv)
    if args.threshold_sweep:
        threshold_sweep([int(s) for s in args.seeds.split(",")])
        return
    smoothings = [float(s) for s in args.smoothing.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    print(f"load average before: {os.getloadavg()}")
    infos, per_seed = [], []
    for seed in seeds:
        print(f"--- seed {seed}")
        info, rows = run(args.rows, seed, smoothings, not args.no_catboost, args.quick,
                         [o for o in args.only.split(",") if o])
        print(json.dumps(info))
        infos.append(info)
        per_seed.append(rows)
    summary = _summary(per_seed)
    print(f"--- mean (sd) over seeds {seeds}")
    print(f"| model | test AUC | test log loss | fit wall s | fit CPU s |")
    print("|---|---|---|---|---|")
    for r in summary:
        print(f"| {r['model']} | {r['auc_mean']:.4f} ({r['auc_sd']:.4f}) | "
              f"{r['log_loss_mean']:.4f} ({r['log_loss_sd']:.4f}) | {r['fit_wall_s_mean']:.2f} | "
              f"{r['fit_cpu_s_mean']:.2f} |")
    print(f"load average after: {os.getloadavg()}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(info=infos, per_seed=per_seed, summary=summary, seeds=seeds), f,
                      indent=1)


if __name__ == "__main__":
    main()
