# SPDX-License-Identifier: Apache-2.0
"""Interim demo: calibrisk logistic regression on scikit-learn's Wisconsin breast-cancer data.

Standardises the features, splits 70/30 stratified (seeded), fits calibrisk.LogisticRegression
and prints test ROC AUC, log loss and Brier score, plus the strongest odds ratios.
"""

from sklearn.datasets import load_breast_cancer
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import calibrisk


def main():
    data = load_breast_cancer(as_frame=True)
    X, y = data.data, data.target
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=0
    )
    model = make_pipeline(StandardScaler(), calibrisk.LogisticRegression(C=1.0))
    model.set_output(transform="pandas")  # keep column names for the coefficient table
    model.fit(X_train, y_train)
    p = model.predict_proba(X_test)[:, 1]

    print(f"breast cancer: {len(y_train)} train / {len(y_test)} test rows, {X.shape[1]} features")
    print(f"test ROC AUC     {roc_auc_score(y_test, p):.4f}")
    print(f"test log loss    {log_loss(y_test, p):.4f}")
    print(f"test Brier score {brier_score_loss(y_test, p):.4f}")

    lr = model[-1]
    table = lr.summary(confidence=0.95)
    table = table.drop(index="(intercept)")
    top = table.reindex(table["estimate"].abs().sort_values(ascending=False).index).head(5)
    kind = "approximate (penalised)" if table.attrs["approximate"] else "exact"
    print(f"\nlargest effects per standard deviation ({kind} 95% Wald intervals):")
    for name, row in top.iterrows():
        print(f"  {name:<22} OR {row.odds_ratio:6.3f}  [{row.odds_ratio_lower:6.3f}, "
              f"{row.odds_ratio_upper:6.3f}]")


if __name__ == "__main__":
    main()
