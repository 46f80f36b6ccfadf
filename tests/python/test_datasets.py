# SPDX-License-Identifier: Apache-2.0
"""calibrisk.datasets.make_readmission_cohort: columns, the documented properties, determinism."""

import numpy as np
import pytest

import calibrisk
from calibrisk.datasets import READMISSION_FEATURES, make_readmission_cohort


@pytest.fixture(scope="module")
def cohort():
    return make_readmission_cohort(n_patients=20000, seed=11)


def test_public_names():
    assert "make_readmission_cohort" in calibrisk.datasets.__all__
    assert calibrisk.datasets.make_readmission_cohort is make_readmission_cohort
    assert len(READMISSION_FEATURES) == 13


def test_columns_and_types(cohort):
    n = len(cohort["patient_id"])
    assert all(len(v) == n for v in cohort.values())
    expected = ["encounter_id", "patient_id", "encounter_date", "encounter_day", "site"]
    expected += READMISSION_FEATURES + ["age_band", "readmitted", "true_risk"]
    assert sorted(cohort) == sorted(expected)
    assert cohort["encounter_date"].dtype == np.dtype("datetime64[D]")
    assert str(cohort["encounter_date"][0]) >= "2022-01-01"
    assert str(cohort["encounter_date"][-1]) <= "2023-12-31"
    assert np.all(np.diff(cohort["encounter_day"]) >= 0)
    assert set(np.unique(cohort["readmitted"])) == {0, 1}
    assert np.all((cohort["true_risk"] > 0) & (cohort["true_risk"] < 1))
    assert len(np.unique(cohort["patient_id"])) == 20000
    age, band = cohort["age"], cohort["age_band"]
    assert set(band[age < 45]) <= {"18-44"}
    assert set(band[(age >= 65) & (age < 80)]) == {"65-79"}
    assert set(band[age >= 80]) == {"80+"}
    assert n > 25000  # repeat encounters


def test_prevalence_drift_site_and_missingness(cohort):
    y = cohort["readmitted"]
    assert 0.10 <= y.mean() <= 0.15
    day = cohort["encounter_day"] - cohort["encounter_day"].min()
    early, late = y[day < 182].mean(), y[day >= 730 - 182].mean()
    assert late - early > 0.03
    site = cohort["site"]
    shifted = y[site == 2].mean()
    for s in (0, 1, 3, 4):
        assert shifted - y[site == s].mean() > 0.05
    sick = cohort["true_risk"] >= np.quantile(cohort["true_risk"], 0.75)
    for lab in ("hba1c", "creatinine", "haemoglobin", "sodium"):
        measured = ~np.isnan(cohort[lab])
        assert measured[sick].mean() - measured[~sick].mean() > 0.05, lab


def test_true_risk_is_calibrated_by_construction(cohort):
    # Deciles of the true risk: observed rate within 4 standard errors of the mean risk.
    p, y = cohort["true_risk"], cohort["readmitted"]
    edges = np.quantile(p, np.linspace(0, 1, 11))
    idx = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, 9)
    for b in range(10):
        m = idx == b
        se = np.sqrt(p[m].mean() * (1 - p[m].mean()) / m.sum())
        assert abs(y[m].mean() - p[m].mean()) < 4 * se + 1e-3


def test_true_risk_is_learnable_but_not_trivial(cohort):
    from sklearn.metrics import roc_auc_score

    auc = roc_auc_score(cohort["readmitted"], cohort["true_risk"])
    assert 0.70 < auc < 0.90


def test_deterministic_for_a_seed():
    a = make_readmission_cohort(n_patients=2000, seed=5)
    b = make_readmission_cohort(n_patients=2000, seed=5)
    c = make_readmission_cohort(n_patients=2000, seed=6)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    assert not np.array_equal(a["true_risk"][:100], c["true_risk"][:100])


def test_n_encounters_and_frame():
    pd = pytest.importorskip("pandas")
    df = make_readmission_cohort(n_encounters=777, seed=1, as_frame=True)
    assert isinstance(df, pd.DataFrame)
    assert len(df) == 777
    assert "true_risk" in df.columns
    assert np.isfinite(df.attrs["intercept"])
    assert df["hba1c"].isna().any()


def test_bad_arguments():
    with pytest.raises(calibrisk.InvalidParamsError, match="n_patients must be in"):
        make_readmission_cohort(n_patients=0)
    with pytest.raises(calibrisk.InvalidParamsError, match="shifted_site"):
        make_readmission_cohort(n_patients=10, n_sites=3, shifted_site=3)
    with pytest.raises(calibrisk.InvalidParamsError, match="start_date"):
        make_readmission_cohort(n_patients=10, start_date="2022-13-01")
    with pytest.raises(TypeError, match="n_patients must be an int"):
        make_readmission_cohort(n_patients=10.5)
    with pytest.raises(ValueError, match="seed must be >= 0"):
        make_readmission_cohort(n_patients=10, seed=-1)
