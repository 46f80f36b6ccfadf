# SPDX-License-Identifier: Apache-2.0
"""Categorical features (issue 12): calibrisk against LightGBM, XGBoost and CatBoost on
high-cardinality diagnosis codes, in one process, 2 threads, 100 trees, learning rate 0.1.

Cases
- codes: the synthetic readmission cohort with codes (``make_readmission_cohort(with_codes=True)``,
  200,000 encounters): 13 numeric features plus ``primary_dx`` and ``secondary_dx`` (about 2,000
  ICD-10-like codes each, Zipf frequencies) and ``admission_source`` (6 levels). Split patient-
  disjoint and in time order at the coding-update day (75 % of the window): training = the
  encounters before it; test = every encounter of the patients first seen on or after it. The
  update's new codes therefore occur only in the test part (unseen at scoring). Rows: calibrisk
  and LightGBM on ordinal codes (labels sorted, codes learnt on the training part, unseen -> NaN),
  LightGBM native categorical, XGBoost ``enable_categorical``, CatBoost (ordered target
  statistics; skipped with a note when ``catboost`` is not importable), calibrisk native
  partitions (``cat_encoding="partition"``) and calibrisk's built-in target statistics (the
  default for these columns) on codes, on text labels and with the dotted hierarchy declared;
  the built-in rows carry their fit CPU / wall ratio to LightGBM native categorical. Figures: fit wall
  and CPU seconds, test ROC AUC and log loss, and the AUC/log loss of the true risk (the ceiling).
- one-hot clinical: the same cohort hand-encoded as clinicians' extracts often are: 93,750
  encounters, the first 80 % (75,000 x 171) for training, with ~94 % one-hot indicator columns
  (ICD chapter of both diagnoses, the 86 most frequent primary categories + other, the 15 most
  frequent secondary categories + other, admission source, discharge disposition, admission
  type, age band, sex) and 10 numeric columns: fit time of calibrisk and LightGBM (issue 12
  reports 2.05x on real data).
- single row: one ``predict_proba`` of a (1, 16) row from Python through the core binding, a model
  fitted on the coded cohort (ordinal or native codes) against one fitted on 16 numeric columns.

A real data set with code columns would be loaded from ``$CALIBRISK_CODES_CSV`` (a CSV with a 0/1
``label`` column, a ``split`` column of ``train``/``test``, and ``*_dx`` text columns); none ships
inside a PyPI or Debian package this project can use (see benchmarks/results/categorical.md).

``--quick`` shrinks everything to seconds (CI smoke run).
"""

import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from compare import timed  # noqa: E402

THREADS = 2
N_TREES = 100
CODE_COLUMNS = ["primary_dx", "secondary_dx", "admission_source"]


def _timed_cpu(fn):
    c0 = time.process_time()
    wall, result = timed(fn, 1)
    return wall, time.process_time() - c0, result


def cohort_split(n_encounters, seed=0):
    """The coded cohort as a DataFrame and the patient-disjoint temporal split at the update."""
    from calibrisk.datasets import make_readmission_cohort

    df = make_readmission_cohort(n_encounters=n_encounters, seed=seed, with_codes=True,
                                 as_frame=True)
    day = (df["encounter_day"] - df["encounter_day"].min()).to_numpy()
    cut = int(np.floor(0.75 * 730))
    first = df.groupby("patient_id")["encounter_day"].transform("min").to_numpy()
    first = first - df["encounter_day"].min()
    train = day < cut
    test = first >= cut
    assert not (train & test).any()
    return df, train, test


def _levels(train_values):
    return np.array(sorted({v for v in train_values if isinstance(v, str)}), dtype=object)


def ordinal(df, train, columns):
    """Codes of labels sorted on the training part; unseen and missing -> NaN."""
    out = {}
    for c in columns:
        levels = _levels(df[c].astype(object)[train])
        values = df[c].astype(object).to_numpy()
        idx = np.searchsorted(levels, np.where([isinstance(v, str) for v in values], values, ""))
        idx = np.minimum(idx, len(levels) - 1)
        ok = np.array([isinstance(v, str) for v in values]) & (levels[idx] == values)
        out[c] = np.where(ok, idx, np.nan).astype(np.float64)
    return out


def _design(df, train, kind):
    """X for one encoding: 'ordinal' -> float matrix; 'pandas' -> DataFrame with category dtypes
    (categories of the training part, unseen -> NaN); 'strings' -> DataFrame of str codes."""
    import pandas as pd

    from calibrisk.datasets import READMISSION_FEATURES

    num = df[READMISSION_FEATURES].astype(np.float64)
    if kind == "ordinal":
        codes = ordinal(df, train, CODE_COLUMNS)
        return np.ascontiguousarray(np.column_stack([num.to_numpy()] + [codes[c] for c in CODE_COLUMNS]))
    out = num.copy()
    for c in CODE_COLUMNS:
        s = df[c].astype(object)
        if kind == "labels":  # calibrisk's own label encoding (text columns)
            out[c] = s.where(s.notna(), None).map(lambda v: v if v is None else str(v))
        elif kind == "pandas":
            out[c] = pd.Categorical(s, categories=_levels(s[train]))
        else:  # CatBoost: strings, missing as its own label
            out[c] = s.fillna("NA").astype(str)
    return out


def _gbdt_params():
    return dict(n_estimators=N_TREES, learning_rate=0.1, max_leaf_nodes=31, min_samples_leaf=20,
                l2_regularization=1.0, n_threads=THREADS, random_state=0)


def _candidates(n_trees, n_num):
    """(library label, encoding, factory) rows; factories import lazily."""
    import calibrisk as cr

    p = _gbdt_params()
    p["n_estimators"] = n_trees
    cat_idx = list(range(n_num, n_num + len(CODE_COLUMNS)))
    rows = [("calibrisk (ordinal codes)", "ordinal", lambda: cr.GradientBoostingClassifier(**p))]
    if "categorical_features" in cr.GradientBoostingClassifier().get_params():
        rows.append(("calibrisk (native partitions)", "ordinal",
                     lambda: cr.GradientBoostingClassifier(categorical_features=cat_idx,
                                                           cat_encoding="partition", **p)))
    if "cat_encoding" in cr.GradientBoostingClassifier().get_params():
        # The default: target statistics inside the booster for the high-cardinality columns.
        rows.append(("calibrisk (categorical, built-in target statistics)", "ordinal",
                     lambda: cr.GradientBoostingClassifier(categorical_features=cat_idx, **p)))
        # Text label columns, no hierarchy declared: the labels are dotted codes, so the
        # booster also uses their dotted prefixes (cat_ts_infer_hierarchy, the default).
        rows.append(("calibrisk (built-in target statistics, text labels)", "labels",
                     lambda: cr.GradientBoostingClassifier(categorical_features=CODE_COLUMNS,
                                                           **p)))
        # The same on the label columns with the dotted code hierarchy declared.
        rows.append(("calibrisk (built-in target statistics + dotted hierarchy)", "labels",
                     lambda: cr.GradientBoostingClassifier(
                         code_hierarchy={c: None for c in CODE_COLUMNS[:2]},
                         categorical_features=CODE_COLUMNS, **p)))

    def lgbm(**kw):
        import lightgbm as lgb

        return lgb.LGBMClassifier(n_estimators=n_trees, learning_rate=0.1, num_leaves=31,
                                  min_child_samples=20, reg_lambda=1.0, n_jobs=THREADS,
                                  verbose=-1, random_state=0, **kw)

    rows.append(("lightgbm (ordinal codes)", "ordinal", lambda: lgbm()))
    rows.append(("lightgbm (native categorical)", "pandas", lambda: lgbm()))

    def xgbm():
        import xgboost as xgb

        return xgb.XGBClassifier(n_estimators=n_trees, learning_rate=0.1, tree_method="hist",
                                 grow_policy="lossguide", max_leaves=31, max_depth=0,
                                 reg_lambda=1.0, n_jobs=THREADS, random_state=0,
                                 enable_categorical=True)

    rows.append(("xgboost (enable_categorical)", "pandas", xgbm))

    def catb():
        import catboost

        return catboost.CatBoostClassifier(iterations=n_trees, learning_rate=0.1,
                                           thread_count=THREADS, random_seed=0, verbose=False,
                                           allow_writing_files=False,
                                           cat_features=CODE_COLUMNS)

    rows.append(("catboost (ordered target statistics)", "strings", catb))
    return rows


def _fit_predict(label, model, X, y, Xte):
    wall, cpu, _ = _timed_cpu(lambda: model.fit(X, y))
    return wall, cpu, model.predict_proba(Xte)[:, 1]


def run_codes(n_encounters, n_trees, rows):
    from sklearn.metrics import log_loss, roc_auc_score

    from calibrisk.datasets import READMISSION_FEATURES, readmission_code_list

    df, train, test = cohort_split(n_encounters)
    y = df["readmitted"].to_numpy().astype(np.float64)
    late = set(readmission_code_list()[2000:])
    unseen = df["primary_dx"].astype(object)[test].isin(late).mean()
    case = (f"codes: cohort {int(train.sum())} train / {int(test.sum())} test rows, "
            f"{n_trees} trees ({unseen:.1%} of test rows with an update code)")
    truth = df["true_risk"].to_numpy()[test]
    rows.append({"area": "categorical", "case": case, "library": "true risk (ceiling)",
                 "seconds": 0.0, "test_auc": float(roc_auc_score(y[test], truth)),
                 "test_log_loss": float(log_loss(y[test], truth))})
    designs = {}
    for label, kind, factory in _candidates(n_trees, len(READMISSION_FEATURES)):
        if kind == "strings":
            try:
                import catboost  # noqa: F401
            except ImportError:
                print(f"  skipped {label}: catboost is not importable "
                      "(pip install 'calibrisk[bench]')", flush=True)
                continue
        if kind not in designs:
            designs[kind] = _design(df, train, kind)
        X = designs[kind]
        Xtr = X[train] if isinstance(X, np.ndarray) else X.loc[train]
        Xte = X[test] if isinstance(X, np.ndarray) else X.loc[test]
        wall, cpu, p = _fit_predict(label, factory(), Xtr, y[train], Xte)
        rows.append({"area": "categorical", "case": case, "library": label, "seconds": wall,
                     "cpu_seconds": cpu, "test_auc": float(roc_auc_score(y[test], p)),
                     "test_log_loss": float(log_loss(y[test], p))})
    ref = {r["library"]: r for r in rows if r["case"] == case}
    lgb_native = ref.get("lightgbm (native categorical)")
    for name in ("calibrisk (categorical, built-in target statistics)",
                 "calibrisk (built-in target statistics, text labels)",
                 "calibrisk (built-in target statistics + dotted hierarchy)"):
        if name in ref and lgb_native:
            r = ref[name]
            r["cpu_vs_lightgbm_native"] = r["cpu_seconds"] / lgb_native["cpu_seconds"]
            r["wall_vs_lightgbm_native"] = r["seconds"] / lgb_native["seconds"]
    rows_ref = [r for r in rows if r["case"] == case]
    # compare.py computes ratios against the row named "calibrisk".
    for r in rows_ref:
        if r["library"] == "calibrisk (ordinal codes)":
            r["library"] = "calibrisk"
            r["encoding"] = "ordinal codes"
    return df


def one_hot_clinical(df):
    """~94 % one-hot indicator columns from a few categorical variables + 10 numeric labs."""
    import pandas as pd

    primary = df["primary_dx"].astype(str)
    secondary = df["secondary_dx"].astype(object).fillna("none").astype(str)
    cat1, cat2 = primary.str[:3], secondary.str[:3]
    top1 = cat1.value_counts().index[:86]
    top2 = cat2[cat2 != "non"].value_counts().index[:15]
    parts = {
        "dx1_chapter": primary.str[0],
        "dx2_chapter": secondary.where(secondary != "none", "none").str[0],
        "dx1_category": cat1.where(cat1.isin(top1), "other"),
        "dx2_category": cat2.where(cat2.isin(top2), "other"),
        "admission_source": df["admission_source"].astype(str),
        "discharge_disposition": df["discharge_disposition"].astype(str),
        "admission_type": df["admission_type"].astype(str),
        "age_band": df["age_band"].astype(str),
    }
    blocks = [pd.get_dummies(pd.Series(v, name=k), prefix=k, dtype=np.float32)
              for k, v in parts.items()]
    numeric = df[["sex", "age", "length_of_stay", "prior_admissions", "prior_ed_visits",
                  "n_diagnoses", "n_medications", "hba1c", "creatinine", "haemoglobin",
                  "sodium"]].astype(np.float32)
    X = pd.concat(blocks + [numeric.reset_index(drop=True)], axis=1)
    n_indicator = sum(b.shape[1] for b in blocks) + 1  # sex is an indicator too
    return np.ascontiguousarray(X.to_numpy(np.float32)), n_indicator


def run_one_hot(n_encounters, n_trees, rows):
    import lightgbm as lgb
    from sklearn.metrics import roc_auc_score

    import calibrisk as cr
    from calibrisk.datasets import make_readmission_cohort

    df = make_readmission_cohort(n_encounters=n_encounters, seed=1, with_codes=True,
                                 as_frame=True)
    X, n_ind = one_hot_clinical(df)
    y = df["readmitted"].to_numpy().astype(np.float64)
    n_tr = int(0.8 * len(y))
    case = (f"one-hot clinical: train {n_tr}x{X.shape[1]} ({n_ind / X.shape[1]:.0%} one-hot "
            f"indicators), {n_trees} trees")
    p = _gbdt_params()
    p["n_estimators"] = n_trees
    models = {
        "calibrisk": cr.GradientBoostingClassifier(**p),
        "lightgbm": lgb.LGBMClassifier(n_estimators=n_trees, learning_rate=0.1, num_leaves=31,
                                       min_child_samples=20, reg_lambda=1.0, n_jobs=THREADS,
                                       verbose=-1, random_state=0),
    }
    for name, model in models.items():
        wall, cpu, prob = _fit_predict(name, model, X[:n_tr], y[:n_tr], X[n_tr:])
        rows.append({"area": "categorical", "case": case, "library": name, "seconds": wall,
                     "cpu_seconds": cpu, "test_auc": float(roc_auc_score(y[n_tr:], prob))})


def _median_call(fn, repeat):
    fn()
    times = np.empty(repeat)
    for i in range(repeat):
        t0 = time.perf_counter()
        fn()
        times[i] = time.perf_counter() - t0
    return float(np.median(times))


def run_single_row(df_rows, n_trees, rows, repeat):
    import calibrisk as cr
    from calibrisk.datasets import READMISSION_FEATURES

    df, train, _ = cohort_split(df_rows)
    y = df["readmitted"].to_numpy().astype(np.float64)[train]
    X = _design(df, train, "ordinal")[train]
    p = _gbdt_params()
    p["n_estimators"] = n_trees
    case = f"single-row predict_proba from Python (1 x {X.shape[1]}), _core binding"
    fits = [("calibrisk (row with ordinal codes)", X, {})]
    if "categorical_features" in cr.GradientBoostingClassifier().get_params():
        n_num = len(READMISSION_FEATURES)
        idx = list(range(n_num, n_num + len(CODE_COLUMNS)))
        fits.append(("calibrisk (row with native categorical codes)", X,
                     {"categorical_features": idx}))
    rng = np.random.default_rng(0)
    Xn = rng.standard_normal(X.shape)
    fits.append(("calibrisk", Xn, {}))  # the all-numeric reference row of the same width
    for label, data, extra in fits:
        model = cr.GradientBoostingClassifier(**p, **extra).fit(data, y)
        row = np.ascontiguousarray(data[:1])
        core = model._model
        per_call = _median_call(lambda: core.predict_proba(row), repeat)
        rows.append({"area": "categorical", "case": case, "library": label,
                     "row": "all numeric" if label == "calibrisk" else "categorical codes",
                     "seconds": per_call, "microseconds": per_call * 1e6})


def run_real_csv(path, n_trees, rows):
    """A user-provided real data set with code columns (see the module docstring)."""
    import pandas as pd
    from sklearn.metrics import log_loss, roc_auc_score

    import calibrisk as cr

    df = pd.read_csv(path, dtype={c: str for c in pd.read_csv(path, nrows=0).columns
                                  if c.endswith("_dx")})
    train = (df.pop("split") == "train").to_numpy()
    y = df.pop("label").to_numpy().astype(np.float64)
    codes = [c for c in df.columns if c.endswith("_dx")]
    enc = ordinal(df, train, codes)
    num = df.drop(columns=codes).select_dtypes("number").to_numpy(np.float64)
    X = np.column_stack([num] + [enc[c] for c in codes])
    p = _gbdt_params()
    p["n_estimators"] = n_trees
    wall, cpu, prob = _fit_predict("calibrisk", cr.GradientBoostingClassifier(**p), X[train],
                                   y[train], X[~train])
    rows.append({"area": "categorical", "case": f"real codes: {os.path.basename(path)}",
                 "library": "calibrisk", "seconds": wall, "cpu_seconds": cpu,
                 "test_auc": float(roc_auc_score(y[~train], prob)),
                 "test_log_loss": float(log_loss(y[~train], prob))})


def run(quick: bool) -> list:
    rows = []
    if quick:
        n_codes_rows, n_one_hot, n_trees, repeat = 20_000, 10_000, 10, 50
    else:
        n_codes_rows, n_one_hot, n_trees, repeat = 200_000, 93_750, N_TREES, 2000
    run_codes(n_codes_rows, n_trees, rows)
    run_one_hot(n_one_hot, n_trees, rows)
    run_single_row(min(n_codes_rows, 50_000), n_trees, rows, repeat)
    real = os.environ.get("CALIBRISK_CODES_CSV")
    if real:
        run_real_csv(real, n_trees, rows)
    return rows
