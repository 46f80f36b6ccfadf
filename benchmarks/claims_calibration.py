# SPDX-License-Identifier: Apache-2.0
"""Multiclass calibration on the synthetic claims data (docs/calibration.md, "On the claims data"):
temperature scaling, one-vs-rest isotonic and Dirichlet calibration of a calibrisk multinomial
logistic regression and of scikit-learn's HistGradientBoosting, fitted / calibrated / tested on
consecutive parts of the claims in service-date order. Usage: claims_calibration.py [n_claims]."""
import sys

import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier

import calibrisk as cr

NUMERIC = ["member_age", "billed_amount", "units", "prior_authorization", "days_to_submission",
           "same_service_claims"]
ONE_HOT = ["payer", "specialty", "place_of_service"]


def features(d):
    X = pd.concat([d[NUMERIC].astype(float), pd.get_dummies(d[ONE_HOT], dtype=float)], axis=1)
    X["procedure_section"] = d["procedure_code"].astype(str).str[0].map(ord).astype(float)
    return X.to_numpy()


def main(n):
    rows = []
    for seed in (0, 1, 2):
        d = cr.datasets.make_claims(n_claims=n, seed=seed, as_frame=True).sort_values("service_day")
        labels = list(range(len(d["outcome"].cat.categories)))
        y, X = d["outcome"].cat.codes.to_numpy(), features(d)
        a, b = int(0.5 * n), int(0.75 * n)  # fit | calibrate | test, in time order
        models = {
            "calibrisk multinomial LR": cr.LogisticRegression(C=1.0),
            "HistGradientBoosting": HistGradientBoostingClassifier(
                max_iter=100, max_leaf_nodes=63, learning_rate=0.1, early_stopping=False,
                random_state=0),
        }
        for name, m in models.items():
            m.fit(X[:a], y[:a])
            Pc, Pt = m.predict_proba(X[a:b]), m.predict_proba(X[b:])
            yc, yt = y[a:b], y[b:]
            out = {
                "none": Pt,
                "temperature": cr.TemperatureScaling().fit(Pc, yc).predict_proba(Pt),
                "one-vs-rest isotonic":
                    cr.OneVsRestCalibrator(method="isotonic").fit(Pc, yc).predict_proba(Pt),
                "Dirichlet": cr.DirichletCalibrator().fit(Pc, yc).predict_proba(Pt),
            }
            for method, P in out.items():
                rows.append(dict(
                    seed=seed, model=name, method=method,
                    classwise_ece=cr.metrics.classwise_ece(yt, P, n_bins=15, labels=labels),
                    top_label_ece=cr.metrics.top_label_ece(yt, P, n_bins=15, labels=labels),
                    log_loss=cr.metrics.log_loss(yt, P, labels=labels)))
    r = pd.DataFrame(rows)
    cols = ["classwise_ece", "top_label_ece", "log_loss"]
    print(r.groupby(["model", "method"], sort=False)[cols].agg(["mean", "min", "max"])
          .round(4).to_string())
    return r


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 60000)
