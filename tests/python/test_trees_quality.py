# SPDX-License-Identifier: Apache-2.0
"""Quality oracles of GradientBoostingClassifier: test log loss and ROC AUC against LightGBM,
scikit-learn's HistGradientBoostingClassifier and XGBoost (hist, lossguide) at matched parameters,
computed in the test; and class_weight="balanced" against scikit-learn.

Matched parameters: 100 trees, learning rate 0.1, 31 leaves, at least 20 rows and 1e-3 hessian
per leaf, L2 = 1 on leaf values, 255 value bins. XGBoost has no "rows per leaf" limit, so it is
matched on everything else."""

import numpy as np
import pytest
from scipy.stats import spearmanr
from sklearn.datasets import load_breast_cancer, make_classification
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import log_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold, train_test_split

import calibrisk as cr

lgb = pytest.importorskip("lightgbm")
xgb = pytest.importorskip("xgboost")

L2 = 1.0
THREADS = 2


def _models():
    return {
        "calibrisk": cr.GradientBoostingClassifier(l2_regularization=L2, n_threads=THREADS),
        "lightgbm": lgb.LGBMClassifier(
            n_estimators=100, learning_rate=0.1, num_leaves=31, min_child_samples=20,
            min_child_weight=1e-3, reg_lambda=L2, max_bin=255, n_jobs=THREADS, verbose=-1,
        ),
        "sklearn": HistGradientBoostingClassifier(
            max_iter=100, learning_rate=0.1, max_leaf_nodes=31, min_samples_leaf=20,
            l2_regularization=L2, max_bins=255, early_stopping=False,
        ),
        "xgboost": xgb.XGBClassifier(
            n_estimators=100, learning_rate=0.1, tree_method="hist", grow_policy="lossguide",
            max_leaves=31, max_depth=0, min_child_weight=1e-3, reg_lambda=L2, max_bin=256,
            n_jobs=THREADS,
        ),
    }


def _synthetic():
    """make_classification 200k x 30, 10 % positives, 5 % NaN in every third feature."""
    X, y = make_classification(
        n_samples=200_000, n_features=30, n_informative=12, n_redundant=6, weights=[0.9],
        flip_y=0.02, class_sep=0.8, random_state=0,
    )
    rng = np.random.default_rng(0)
    for j in range(0, 30, 3):
        X[rng.random(len(X)) < 0.05, j] = np.nan
    return train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)


@pytest.mark.slow  # ~1-5 minutes on two cores (four libraries x 150k rows); still runs in CI
def test_synthetic_200k_log_loss_and_auc_match_peers():
    Xtr, Xte, ytr, yte = _synthetic()
    assert 0.09 < ytr.mean() < 0.11
    scores = {}
    for name, model in _models().items():
        p = model.fit(Xtr, ytr).predict_proba(Xte)[:, 1]
        scores[name] = (log_loss(yte, p), roc_auc_score(yte, p))
    ours_ll, ours_auc = scores.pop("calibrisk")
    for name, (ll, auc) in scores.items():
        # Within 1 % of the peer's log loss (or better) and within 0.003 ROC AUC (or better).
        assert ours_ll <= 1.01 * ll, (name, ours_ll, ll)
        assert ours_auc >= auc - 0.003, (name, ours_auc, auc)


def test_breast_cancer_log_loss_and_auc_match_peers():
    """Repeated stratified 5-fold CV (2 x 5 folds, the same folds for every library). The data has
    569 rows, so fold-to-fold noise is several percent of the log loss: the comparison allows 1 %
    plus two standard errors of the paired per-fold difference, measured here."""
    X, y = load_breast_cancer(return_X_y=True)
    per_fold = {}
    for rep in range(2):
        for tr, te in StratifiedKFold(5, shuffle=True, random_state=rep).split(X, y):
            for name, model in _models().items():
                if name in ("calibrisk", "lightgbm", "xgboost"):
                    model.set_params(n_threads=1) if name == "calibrisk" else model.set_params(n_jobs=1)
                p = model.fit(X[tr], y[tr]).predict_proba(X[te])[:, 1]
                per_fold.setdefault(name, []).append((log_loss(y[te], p), roc_auc_score(y[te], p)))
    ours = np.asarray(per_fold.pop("calibrisk"))
    for name, rows in per_fold.items():
        theirs = np.asarray(rows)
        diff = ours[:, 0] - theirs[:, 0]
        se = diff.std(ddof=1) / np.sqrt(len(diff))
        assert ours[:, 0].mean() <= 1.01 * theirs[:, 0].mean() + 2 * se, (name, ours.mean(0), theirs.mean(0), se)
        assert ours[:, 1].mean() >= theirs[:, 1].mean() - 0.003, (name, ours.mean(0), theirs.mean(0))


def test_class_weight_balanced_behaves_as_sklearn():
    X, y = make_classification(
        n_samples=30_000, n_features=15, n_informative=8, weights=[0.9], class_sep=0.7,
        random_state=5,
    )
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
    ours = cr.GradientBoostingClassifier(class_weight="balanced", l2_regularization=L2,
                                         n_threads=THREADS).fit(Xtr, ytr)
    skl = HistGradientBoostingClassifier(class_weight="balanced", max_iter=100, max_leaf_nodes=31,
                                         min_samples_leaf=20, l2_regularization=L2,
                                         early_stopping=False).fit(Xtr, ytr)
    p_ours = ours.predict_proba(Xte)[:, 1]
    p_skl = skl.predict_proba(Xte)[:, 1]
    unweighted = cr.GradientBoostingClassifier(l2_regularization=L2, n_threads=THREADS).fit(Xtr, ytr)
    skl_unweighted = HistGradientBoostingClassifier(max_iter=100, max_leaf_nodes=31,
                                                    min_samples_leaf=20, l2_regularization=L2,
                                                    early_stopping=False).fit(Xtr, ytr)
    u_ours = unweighted.predict_proba(Xte)[:, 1]
    u_skl = skl_unweighted.predict_proba(Xte)[:, 1]
    # Ranking: weighting keeps the two libraries as close as they are without weights (two
    # boosting implementations never rank identically; their unweighted agreement is the yardstick).
    rho_balanced = spearmanr(p_ours, p_skl).statistic
    rho_unweighted = spearmanr(u_ours, u_skl).statistic
    assert rho_balanced > 0.9
    assert rho_balanced >= rho_unweighted - 0.01, (rho_balanced, rho_unweighted)
    # Mean: the same upward shift of the mean probability as scikit-learn's (within 20 %).
    assert abs(p_ours.mean() - p_skl.mean()) < 0.02, (p_ours.mean(), p_skl.mean())
    shift_ours, shift_skl = p_ours.mean() - u_ours.mean(), p_skl.mean() - u_skl.mean()
    assert shift_skl > 0.05 and abs(shift_ours - shift_skl) < 0.2 * shift_skl, (shift_ours, shift_skl)
    # "balanced" is exactly sample weights n / (2 n_c) (scikit-learn's definition).
    n, n1 = len(ytr), ytr.sum()
    w = np.where(ytr == 1, n / (2.0 * n1), n / (2.0 * (n - n1)))
    explicit = cr.GradientBoostingClassifier(l2_regularization=L2, n_threads=THREADS).fit(
        Xtr, ytr, sample_weight=w)
    np.testing.assert_array_equal(explicit.predict_proba(Xte), ours.predict_proba(Xte))
    # And the weighted training log loss of both models is close (same weighted objective).
    ll_ours = log_loss(ytr, ours.predict_proba(Xtr)[:, 1], sample_weight=w)
    ll_skl = log_loss(ytr, skl.predict_proba(Xtr)[:, 1], sample_weight=w)
    assert ll_ours <= 1.05 * ll_skl
