# SPDX-License-Identifier: Apache-2.0
"""The defaults of calibrisk.train (docs/defaults.md): the workflow's benchmarked tree settings and
early stopping from 10,000 training rows, recorded in the provenance; the estimator keeps
scikit-learn's HistGradientBoostingClassifier defaults (the oracle)."""

import warnings

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

import calibrisk

ROLES = dict(label="readmitted", group_column="patient_id", time_column="encounter_date",
             drop=["encounter_id", "true_risk", "site", "age_band", "encounter_day"])


def _train(n_encounters, **kw):
    kw.setdefault("model", "gbdt")  # the trees' defaults (model="auto" may pick lr)
    df = calibrisk.datasets.make_readmission_cohort(n_encounters=n_encounters, seed=4,
                                                    as_frame=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = calibrisk.train(df, n_threads=1, **ROLES, **kw)
    return df, r, r.pipeline.provenance["parameters"]


def test_estimator_keeps_scikit_learn_defaults():
    ours = calibrisk.GradientBoostingClassifier().get_params()
    theirs = HistGradientBoostingClassifier().get_params()
    assert ours["min_samples_leaf"] == theirs["min_samples_leaf"] == 20
    assert ours["learning_rate"] == theirs["learning_rate"]
    assert ours["l2_regularization"] == theirs["l2_regularization"]


def test_small_training_part_no_early_stopping():
    _, r, prov = _train(2000)
    assert prov["model.min_samples_leaf"] == "100"
    assert prov["model.early_stopping"] == "true"
    assert prov["fit.early_stopping"] == "off"
    assert "fewer than 10,000" in prov["fit.early_stopping.reason"]
    assert prov["fit.rows"] == str(len(r.train.y))
    assert prov["fit.rounds_kept"] == "100"
    _, _, prov = _train(2000, params={"early_stopping": False, "min_samples_leaf": 20})
    assert prov["fit.early_stopping.reason"] == "early_stopping=false"
    assert prov["model.min_samples_leaf"] == "20"


@pytest.mark.slow
def test_large_training_part_stops_early_on_the_latest_patients():
    df, r, prov = _train(17000)
    n_train = len(r.train.y)
    assert n_train >= 10000
    assert prov["fit.early_stopping"] == "on"
    fit_rows, valid_rows = int(prov["fit.rows"]), int(prov["fit.validation_rows"])
    # The rounds chosen on the held-out patients, then the trees refitted on every training row.
    assert fit_rows == n_train
    assert prov["fit.refit"] == "same"
    assert prov["fit.refit_rounds"] == prov["fit.rounds_kept"]
    assert abs(valid_rows - 0.1 * n_train) < 0.01 * n_train  # whole patients: about 10%
    assert int(prov["fit.rounds_kept"]) <= int(prov["fit.rounds_run"]) <= 100
    # Oracle: the validation part is the training patients entering last, holding ~10% of rows.
    train = df.iloc[np.asarray(r.train.rows)]
    entry = train.groupby("patient_id", sort=False)["encounter_date"].min()
    late = entry.sort_values(kind="stable").index[-int(prov["fit.validation_groups"]):]
    assert train["patient_id"].isin(late).sum() == valid_rows
    # Oracle for the refit: the estimator with that many trees, no early stopping, on all rows.
    m = calibrisk.GradientBoostingClassifier(min_samples_leaf=100, early_stopping=False,
                                             n_estimators=int(prov["fit.refit_rounds"]),
                                             random_state=int(prov["model.random_state"]),
                                             n_threads=1)
    m.fit(r.train.X, r.train.y)
    np.testing.assert_array_equal(m.predict_proba(r.test.X)[:, 1], r.test.p_model)


def test_auto_chooses_the_calibration_unless_one_is_named():
    # model="auto" with calibration unset: the method is chosen on held-out training rows and is
    # the one the pipeline uses; a named calibration is kept and no choice is recorded.
    _, r, prov = _train(2000, model="auto")
    chosen = prov["selection.calibration.chosen"]
    assert chosen in ("none", "platt", "beta", "isotonic")
    assert prov["calibration"] == chosen
    losses = {m: float(prov[f"selection.calibration.{m}.log_loss"])
              for m in ("none", "platt", "beta", "isotonic")}
    # The simplest within noise of the best: every simpler method has a higher loss than the best.
    order = ["none", "platt", "beta", "isotonic"]
    assert all(losses[m] > min(losses.values()) for m in order[:order.index(chosen)])
    _, _, prov = _train(2000, model="auto", calibration="beta")
    assert prov["calibration"] == "beta"
    assert "selection.calibration.chosen" not in prov
    _, _, prov = _train(2000, model="lr")  # an explicit model: beta, as before
    assert prov["calibration"] == "beta"
