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


# ------------------------------------------------------------------ diagnosis codes (with_codes)
# An independent re-implementation of docs/datasets.md, "Diagnosis codes": the code effect G,
# the admission-source effects and g = G(primary) + 0.5 G(secondary) + S[source].
CHAPTERS = "ABCDEFGHIJKLMNORSTZ"
CHAPTER_EFFECT = dict(zip(CHAPTERS, [0.25, 0.15, 0.55, 0.30, 0.20, 0.30, 0.10, -0.45, 0.30, 0.25,
                                     0.15, -0.10, -0.25, 0.35, -0.60, 0.00, -0.30, 0.10, -0.35]))
SOURCE_EFFECT = {"emergency_department": 0.0, "physician_referral": -0.10, "clinic_referral": -0.05,
                 "transfer_from_hospital": 0.25, "transfer_from_snf": 0.40, "other": 0.0}
CODE_RE = r"^[A-Z][0-9]{2}(\.[0-9]{1,2})?$"
M64 = (1 << 64) - 1


def _hash_uniform(text):
    h = 0xCBF29CE484222325
    for b in text.encode():
        h = ((h ^ b) * 0x100000001B3) & M64
    h ^= h >> 30
    h = (h * 0xBF58476D1CE4E5B9) & M64
    h ^= h >> 27
    h = (h * 0x94D049BB133111EB) & M64
    h ^= h >> 31
    return (h >> 11) / 2.0**53


def _code_effect(code):
    g = CHAPTER_EFFECT[code[0]] + 0.5 * (2 * _hash_uniform(code[:3]) - 1)
    if len(code) >= 5:
        g += 0.4 * (2 * _hash_uniform(code[:5]) - 1)
    if len(code) == 6:
        g += 0.3 * (2 * _hash_uniform(code) - 1)
    return g


@pytest.fixture(scope="module")
def coded():
    return make_readmission_cohort(n_patients=60000, seed=11, with_codes=True)


def test_code_columns_form_and_hierarchy(coded):
    import re

    from calibrisk.datasets import READMISSION_CODE_FEATURES

    assert READMISSION_CODE_FEATURES == ["primary_dx", "secondary_dx", "admission_source"]
    n = len(coded["patient_id"])
    assert all(len(coded[k]) == n for k in READMISSION_CODE_FEATURES)
    primary, secondary = coded["primary_dx"], coded["secondary_dx"]
    assert primary.dtype == object and all(isinstance(c, str) for c in primary)
    # Missing secondary diagnosis exactly on single-diagnosis encounters.
    assert np.array_equal(np.array([s is None for s in secondary]), coded["n_diagnoses"] == 1)
    codes = set(primary) | {s for s in secondary if s is not None}
    assert all(re.match(CODE_RE, c) and c[0] in CHAPTERS for c in codes)
    assert 500 < len(codes) <= 2060
    assert set(coded["admission_source"]) == set(SOURCE_EFFECT)
    # The admission source follows the admission type (emergency -> mostly the ED).
    ed = coded["admission_source"] == "emergency_department"
    assert ed[coded["admission_type"] == 2].mean() > 0.75
    assert ed[coded["admission_type"] == 0].mean() < 0.1


def test_code_frequencies_are_zipf_with_rare_codes(coded):
    from collections import Counter

    late = _late_codes()
    pooled = list(coded["primary_dx"]) + [c for c in coded["secondary_dx"] if c is not None]
    # The update's children fold into the code they replace: every draw is then a Zipf draw.
    counts = Counter(c[:5] if c in late else c for c in pooled)
    f = np.sort(np.array(list(counts.values()), dtype=float))[::-1]
    ranks = np.arange(1, 101)
    slope = np.polyfit(np.log(ranks), np.log(f[:100]), 1)[0]
    assert abs(-slope - 1.1) < 0.055, -slope  # rank noise of ~170k draws
    # Rare codes: a long tail. Under Zipf(1.1) over 2,000 ranks, P(rank r) < 1e-4 for r > 860,
    # i.e. for 57 % of the codes.
    assert (f < 1e-4 * f.sum()).mean() > 0.45


def _late_codes():
    from calibrisk.datasets import readmission_code_list

    return set(readmission_code_list()[2000:])


def test_update_codes_only_after_the_cut_and_parents_retired(coded):
    late = _late_codes()
    assert len(late) == 60
    parents = {c[:5] for c in late}
    day = coded["encounter_day"] - coded["encounter_day"].min()
    cut = int(np.floor(0.75 * 730))
    for col in ("primary_dx", "secondary_dx"):
        values = coded[col]
        is_late = np.array([v in late for v in values])
        is_parent = np.array([v in parents for v in values])
        assert not is_late[day < cut].any()
        assert is_late[day >= cut].mean() > 0.02
        assert not is_parent[day >= cut].any()


def test_true_risk_reproduced_from_the_documented_code_effects():
    base = make_readmission_cohort(n_patients=4000, seed=9)
    coded = make_readmission_cohort(n_patients=4000, seed=9, with_codes=True, as_frame=True)
    plain = make_readmission_cohort(n_patients=4000, seed=9, as_frame=True)
    # Every column of the cohort without codes is unchanged, apart from the risk and outcome.
    for k in base:
        if k not in ("true_risk", "readmitted"):
            np.testing.assert_array_equal(np.asarray(coded[k]), base[k], err_msg=k)
    g = np.array([
        _code_effect(p) + (0.5 * _code_effect(s) if isinstance(s, str) else 0.0)
        + SOURCE_EFFECT[a]
        for p, s, a in zip(coded["primary_dx"], coded["secondary_dx"], coded["admission_source"])
    ])

    def logit(p):
        return np.log(p / (1 - p))

    lhs = logit(coded["true_risk"].to_numpy()) - coded.attrs["intercept"]
    rhs = logit(plain["true_risk"].to_numpy()) - plain.attrs["intercept"] + g
    np.testing.assert_allclose(lhs, rhs, atol=1e-7)
    # The outcome uses the same uniform draw: a higher risk never turns a 1 into a 0.
    up = coded["true_risk"].to_numpy() >= plain["true_risk"].to_numpy()
    assert np.all(coded["readmitted"].to_numpy()[up] >= plain["readmitted"].to_numpy()[up])
    # The mean true risk is still the target prevalence (the intercept is re-solved).
    assert coded["true_risk"].mean() == pytest.approx(0.125, abs=1e-9)
    assert str(coded["primary_dx"].dtype) == "category"


def test_codes_carry_signal_by_chapter_and_by_code(coded):
    # The chapter and the specific code both move the observed rate the way G says.
    y, p = coded["readmitted"], coded["true_risk"]
    primary = coded["primary_dx"]
    g = np.array([_code_effect(c) for c in primary])
    hi, lo = g > np.quantile(g, 0.8), g < np.quantile(g, 0.2)
    assert y[hi].mean() - y[lo].mean() > 0.05
    assert p[hi].mean() > p[lo].mean()


def test_codes_deterministic_and_seed_dependent():
    a = make_readmission_cohort(n_patients=1500, seed=5, with_codes=True)
    b = make_readmission_cohort(n_patients=1500, seed=5, with_codes=True)
    c = make_readmission_cohort(n_patients=1500, seed=6, with_codes=True)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    assert not np.array_equal(a["primary_dx"][:200], c["primary_dx"][:200])


def test_code_parameters_are_checked():
    with pytest.raises(calibrisk.InvalidParamsError, match="n_codes must be in"):
        make_readmission_cohort(n_patients=10, with_codes=True, n_codes=5)
    with pytest.raises(calibrisk.InvalidParamsError, match="zipf_exponent"):
        make_readmission_cohort(n_patients=10, with_codes=True, zipf_exponent=10)
    with pytest.raises(calibrisk.InvalidParamsError, match="code_update_at"):
        make_readmission_cohort(n_patients=10, with_codes=True, code_update_at=0)


def test_python_and_the_cli_give_the_same_table(tmp_path):
    # `calibrisk generate --with-codes` (C++ write_csv) and the Python columns agree cell by cell.
    import csv
    import os
    import pathlib
    import subprocess

    repo = pathlib.Path(__file__).resolve().parents[2]
    cli = pathlib.Path(os.environ.get("CALIBRISK_CLI", repo / "build" / "bin" / "calibrisk"))
    if not cli.is_file():
        pytest.skip(f"no calibrisk executable at {cli}")
    out = tmp_path / "c.csv"
    subprocess.run([str(cli), "generate", "--rows", "3000", "--seed", "8", "--with-codes",
                    "--out", str(out)], check=True, capture_output=True)
    py = make_readmission_cohort(n_encounters=3000, seed=8, with_codes=True)
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 3000
    for k in ("primary_dx", "secondary_dx", "admission_source"):
        assert [r[k] for r in rows] == [v if v is not None else "" for v in py[k]], k
    np.testing.assert_array_equal([int(r["readmitted"]) for r in rows], py["readmitted"])
    np.testing.assert_array_equal([float(r["true_risk"]) for r in rows], py["true_risk"])
