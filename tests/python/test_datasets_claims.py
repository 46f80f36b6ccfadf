# SPDX-License-Identifier: Apache-2.0
"""calibrisk.datasets.make_claims and `calibrisk generate --dataset claims`: the class
probabilities re-implemented from docs/datasets.md ("Claims"), the outcome drawn from them
(empirical frequencies vs mean probabilities), the documented coefficients recovered by a correctly
specified multinomial fit, the drift after the cut, schema, determinism and the CLI's atomic
write."""

import csv
import os
import pathlib
import re
import subprocess

import numpy as np
import pytest

import calibrisk
from calibrisk.datasets import (
    CLAIMS_CATEGORICAL,
    CLAIMS_CLASSES,
    claims_procedure_codes,
    claims_requires_prior_authorization,
    make_claims,
)

REPO = pathlib.Path(__file__).resolve().parents[2]
CLI = pathlib.Path(os.environ.get("CALIBRISK_CLI", REPO / "build" / "bin" / "calibrisk"))

# ---------------------------------------------------------------- docs/datasets.md, re-implemented
M64 = (1 << 64) - 1
CHAPTER_EFFECT = dict(zip("ABCDEFGHIJKLMNORSTZ", [
    0.25, 0.15, 0.55, 0.30, 0.20, 0.30, 0.10, -0.45, 0.30, 0.25, 0.15, -0.10, -0.25, 0.35, -0.60,
    0.00, -0.30, 0.10, -0.35]))
PAYERS = ["commercial_a", "commercial_b", "medicare_advantage", "medicaid_managed", "exchange"]
FILING_LIMIT = dict(zip(PAYERS, [90, 90, 365, 180, 180]))
PAYER_PA = dict(zip(PAYERS, [0.0, 0.3, 0.5, -0.2, 0.2]))
PAYER_NMN = dict(zip(PAYERS, [0.0, 0.2, 0.4, 0.1, 0.3]))
SECTIONS = [("evaluation_management", 99202, 99499), ("anesthesia", 100, 1999),
            ("surgery", 10004, 69990), ("radiology", 70010, 79999),
            ("pathology_laboratory", 80047, 89398), ("medicine", 90281, 99199)]
SPECIALTIES = ["family_medicine", "internal_medicine", "cardiology", "orthopedics", "radiology",
               "physical_therapy", "oncology", "psychiatry", "emergency_medicine",
               "anesthesiology", "laboratory"]
INTERCEPT = [0.0, -3.3, -3.8, -3.1, -4.2, -7.0]


def u(text):
    h = 0xCBF29CE484222325
    for b in text.encode():
        h = ((h ^ b) * 0x100000001B3) & M64
    h ^= h >> 30
    h = (h * 0xBF58476D1CE4E5B9) & M64
    h ^= h >> 27
    h = (h * 0x94D049BB133111EB) & M64
    h ^= h >> 31
    return (h >> 11) / 2.0**53


def code_effect(code):
    g = CHAPTER_EFFECT[code[0]] + 0.5 * (2 * u(code[:3]) - 1)
    if len(code) >= 5:
        g += 0.4 * (2 * u(code[:5]) - 1)
    if len(code) == 6:
        g += 0.3 * (2 * u(code) - 1)
    return g


def section(code):
    v = int(code)
    return next(name for name, lo, hi in SECTIONS if lo <= v <= hi)


def requires_pa(code):
    v = int(code)
    return 20000 <= v <= 69990 or 70450 <= v <= 76499 or 96360 <= v <= 96549


def procedure_effect(code):
    return 1.0 * (2 * u("cpt3:" + code[:3]) - 1) + 2.0 * (u("cpt:" + code) < 0.03)


def provider_flags(pid):
    v = u("prv:" + pid)
    return v < 0.01, 0.01 <= v < 0.02


def design(c, cut_day, drift_shift=2.5):
    """The documented features of each class score, one column per term (rows where the
    authorisation is recorded: there the recorded value is the true one)."""
    memo = {}

    def cached(f, x):
        key = (f.__name__, x)
        if key not in memo:
            memo[key] = f(x)
        return memo[key]

    pa = c["prior_authorization"]
    req = np.array([cached(requires_pa, p) for p in c["procedure_code"]], dtype=float)
    radiology = np.array([cached(section, p) == "radiology" for p in c["procedure_code"]])
    L = np.log(c["billed_amount"]) - 5.0
    payer = c["payer"]
    policy = ((c["service_day"] >= cut_day) & (payer == "commercial_b") & radiology) * (1 - pa)
    flags = np.array([cached(provider_flags, p) for p in c["provider_id"]], dtype=float)
    place = c["place_of_service"]
    delay = c["days_to_submission"].astype(float)
    limit = np.array([FILING_LIMIT[p] for p in payer])
    return {
        "req_no_pa": req * (1 - pa),
        "L": L,
        **{f"payer_{p}": (payer == p).astype(float) for p in PAYERS[1:]},
        "policy": policy,
        "G": np.array([cached(code_effect, d) for d in c["primary_dx"]]),
        "no_secondary": np.array([s is None for s in c["secondary_dx"]], dtype=float),
        "procedure": np.array([cached(procedure_effect, p) for p in c["procedure_code"]]),
        "units_1": c["units"] - 1.0,
        "telehealth": (place == "telehealth").astype(float),
        "place_missing": np.array([p is None for p in place], dtype=float),
        "coding_provider": flags[:, 0],
        "late": (delay > limit).astype(float),
        "delay": delay,
        "same_service": (c["same_service_claims"] >= 1).astype(float),
        "duplicate_provider": flags[:, 1],
    }


def documented_coefficients(drift_shift=2.5):
    """{class index: {feature: coefficient}} of docs/datasets.md (payer effects per dummy)."""
    pa = {f"payer_{p}": PAYER_PA[p] for p in PAYERS[1:]}
    nmn = {f"payer_{p}": PAYER_NMN[p] for p in PAYERS[1:]}
    return {
        1: {"req_no_pa": 3.2, "L": 0.25, "policy": drift_shift, **pa},
        2: {"L": 0.30, "G": -0.8, "no_secondary": 0.4, "procedure": 1.0, **nmn},
        3: {"units_1": 0.35, "telehealth": 0.6, "place_missing": 0.8, "coding_provider": 2.0},
        4: {"late": 4.0, "delay": 0.004},
        5: {"same_service": 8.0, "duplicate_provider": 1.5},
    }


def scores(features, drift_shift=2.5):
    coef = documented_coefficients(drift_shift)
    n = len(features["L"])
    s = np.zeros((n, 6))
    for k in range(1, 6):
        s[:, k] = INTERCEPT[k] + sum(b * features[f] for f, b in coef[k].items())
    return s


def cut_day_of(c, drift_at=0.75, n_days=730):
    return np.datetime64("2023-01-01").astype(int) + int(np.floor(drift_at * n_days))


@pytest.fixture(scope="module")
def claims():
    return make_claims(n_claims=60000, seed=7)


# ------------------------------------------------------------------------------------ the tests
def test_public_names():
    for name in ("make_claims", "CLAIMS_CLASSES", "CLAIMS_CATEGORICAL", "claims_procedure_codes",
                 "claims_requires_prior_authorization"):
        assert name in calibrisk.datasets.__all__
    assert CLAIMS_CLASSES == ["paid", "missing_prior_auth", "not_medically_necessary",
                              "coding_error", "timely_filing", "duplicate"]


def test_columns_types_and_forms(claims):
    n = len(claims["claim_id"])
    assert n == 60000 and all(len(v) == n for v in claims.values())
    expected = ["claim_id", "member_id", "service_date", "service_day", "payer", "member_age",
                "provider_id", "specialty", "place_of_service", "procedure_code", "primary_dx",
                "secondary_dx", "billed_amount", "units", "prior_authorization",
                "days_to_submission", "same_service_claims", "outcome", "denied"]
    expected += ["p_" + k for k in CLAIMS_CLASSES]
    assert list(claims) == expected
    np.testing.assert_array_equal(claims["claim_id"], np.arange(n))
    assert claims["service_date"].dtype == np.dtype("datetime64[D]")
    assert str(claims["service_date"][0]) >= "2023-01-01"
    assert str(claims["service_date"][-1]) <= "2024-12-30"
    assert np.all(np.diff(claims["service_day"]) >= 0)  # temporal splits work
    # Members have several claims.
    _, per_member = np.unique(claims["member_id"], return_counts=True)
    assert 3.8 < per_member.mean() < 4.7 and per_member.max() >= 10
    assert set(claims["payer"]) == set(PAYERS)
    assert set(claims["specialty"]) <= set(SPECIALTIES)
    assert all(re.fullmatch(r"PRV\d{5}", p) for p in claims["provider_id"])
    assert len(set(claims["provider_id"])) > 800  # high cardinality
    codes = set(claims["procedure_code"])
    assert codes <= set(claims_procedure_codes())
    assert all(re.fullmatch(r"\d{5}", c) for c in codes) and section("00100") == "anesthesia"
    assert all(re.fullmatch(r"[A-Z]\d{2}(\.\d{1,2})?", d) for d in claims["primary_dx"])
    assert np.all(claims["billed_amount"] >= 1) and np.all(claims["units"] >= 1)
    assert np.all((claims["days_to_submission"] >= 0) & (claims["days_to_submission"] <= 730))
    # Missing values where documented, at about the documented rates.
    assert abs(np.isnan(claims["prior_authorization"]).mean() - 0.03) < 0.005
    assert abs(np.mean([p is None for p in claims["place_of_service"]]) - 0.02) < 0.004
    assert abs(np.mean([s is None for s in claims["secondary_dx"]]) - 0.45) < 0.02
    P = np.column_stack([claims["p_" + k] for k in CLAIMS_CLASSES])
    np.testing.assert_allclose(P.sum(axis=1), 1.0, atol=1e-12)
    assert set(claims["outcome"]) == set(CLAIMS_CLASSES)
    np.testing.assert_array_equal(claims["denied"], claims["outcome"] != "paid")


def test_requires_prior_authorization_by_range():
    assert claims_requires_prior_authorization("27447")  # surgery beyond the integumentary
    assert not claims_requires_prior_authorization("11042")
    assert claims_requires_prior_authorization("70551")  # MRI
    assert not claims_requires_prior_authorization("77067")
    assert claims_requires_prior_authorization("96413")  # chemotherapy infusion
    assert not claims_requires_prior_authorization("99213")
    for bad in ("2744", "A7447", "05000"):
        with pytest.raises(calibrisk.InvalidInputError, match="not a procedure code"):
            claims_requires_prior_authorization(bad)


def test_probabilities_follow_the_documented_softmax(claims):
    # log(p_k / p_paid) = s_k from docs/datasets.md, re-implemented here (rows where the
    # authorisation is recorded; there the recorded value is the true one).
    keep = ~np.isnan(claims["prior_authorization"])
    c = {k: v[keep] for k, v in claims.items()}
    s = scores(design(c, cut_day_of(c)))
    P = np.column_stack([c["p_" + k] for k in CLAIMS_CLASSES])
    np.testing.assert_allclose(np.log(P[:, 1:] / P[:, :1]), s[:, 1:], atol=1e-9, rtol=0)


def test_outcome_frequencies_match_the_true_probabilities(claims):
    # Each class: observed share within 4 binomial standard errors of the mean probability.
    n = len(claims["outcome"])
    for k in CLAIMS_CLASSES:
        p = claims["p_" + k]
        observed = np.mean(claims["outcome"] == k)
        se = np.sqrt(np.sum(p * (1 - p))) / n
        assert abs(observed - p.mean()) < 4 * se, (k, observed, p.mean())
    # Realistic imbalance: most claims are paid; every denial reason occurs.
    paid = np.mean(claims["outcome"] == "paid")
    assert 0.72 < paid < 0.88
    for k in CLAIMS_CLASSES[1:]:
        assert 0.005 < np.mean(claims["outcome"] == k) < 0.12, k


def test_top_decile_of_each_class_probability_is_calibrated(claims):
    for k in CLAIMS_CLASSES[1:]:
        p, y = claims["p_" + k], claims["outcome"] == k
        top = p >= np.quantile(p, 0.9)
        se = np.sqrt(np.sum(p[top] * (1 - p[top]))) / top.sum()
        assert abs(y[top].mean() - p[top].mean()) < 4 * se, k


def test_a_correctly_specified_multinomial_fit_recovers_the_coefficients():
    # statsmodels' MNLogit (paid, class 0, is its baseline: the documented parametrisation) on the
    # documented features: every coefficient and intercept within 4.5 standard errors of the
    # documented value (110 parameters; a 4.5-sigma miss has probability ~7e-6 each).
    sm = pytest.importorskip("statsmodels.api")
    c = make_claims(n_claims=200000, seed=3)
    keep = ~np.isnan(c["prior_authorization"])
    c = {k: v[keep] for k, v in c.items()}
    feats = design(c, cut_day_of(c))
    names = list(feats)
    X = sm.add_constant(np.column_stack([feats[f] for f in names]))
    y = np.array([CLAIMS_CLASSES.index(o) for o in c["outcome"]])
    coef = documented_coefficients()
    truth = np.array([[INTERCEPT[k]] + [coef[k].get(f, 0.0) for f in names] for k in range(1, 6)]).T
    # Newton from the documented values (the maximum does not depend on the start; an unscaled
    # start at zero overflows in statsmodels' first step).
    fit = sm.MNLogit(y, X).fit(start_params=truth.ravel(order="F"), method="newton", maxiter=100,
                               disp=False)
    assert fit.mle_retvals["converged"]
    beta, se = np.asarray(fit.params), np.asarray(fit.bse)  # (1 + d, 5)
    for k in range(1, 6):
        for j, name in enumerate(["intercept"] + names):
            z = (beta[j, k - 1] - truth[j, k - 1]) / se[j, k - 1]
            assert abs(z) < 4.5, (CLAIMS_CLASSES[k], name, beta[j, k - 1], truth[j, k - 1],
                                  se[j, k - 1])
    # The main effects are estimated precisely enough for the check to mean something.
    j = names.index("req_no_pa") + 1
    assert se[j, 0] < 0.1


def test_drift_after_the_cut(claims):
    # From the cut on, commercial_b's radiology claims are denied for missing authorisation far
    # more often; other payers' radiology claims are not.
    cut = cut_day_of(claims)
    radiology = np.array([section(p) == "radiology" for p in claims["procedure_code"]])
    after = claims["service_day"] >= cut
    mpa = claims["outcome"] == "missing_prior_auth"
    cb = radiology & (claims["payer"] == "commercial_b")
    other = radiology & (claims["payer"] != "commercial_b")
    assert mpa[cb & after].mean() - mpa[cb & ~after].mean() > 0.08  # ~0.10 -> 0.25
    assert abs(mpa[other & after].mean() - mpa[other & ~after].mean()) < 0.03
    # No drift when drift_shift = 0: the true probabilities before and after follow one function.
    flat = make_claims(n_claims=5000, seed=7, drift_shift=0.0)
    same = make_claims(n_claims=5000, seed=7)
    before = flat["service_day"] < cut
    np.testing.assert_array_equal(flat["p_missing_prior_auth"][before],
                                  same["p_missing_prior_auth"][before])
    assert np.any(flat["p_missing_prior_auth"][~before] != same["p_missing_prior_auth"][~before])


def test_duplicates_are_resubmissions(claims):
    dup = claims["same_service_claims"] >= 1
    assert 0.015 < dup.mean() < 0.05
    assert np.mean(claims["outcome"][dup] == "duplicate") > 0.4


def test_deterministic_for_a_seed_and_members_independent_of_n_claims():
    a = make_claims(n_claims=3000, seed=5)
    b = make_claims(n_claims=3000, seed=5)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    c = make_claims(n_claims=3000, seed=6)
    assert not np.array_equal(a["p_paid"][:100], c["p_paid"][:100])
    # Each member comes from its own stream: the first members' claims do not depend on n_claims.
    big = make_claims(n_claims=9000, seed=5)
    for m in range(20):
        x, y = a["member_id"] == m, big["member_id"] == m
        for k in ("service_day", "procedure_code", "billed_amount", "outcome", "p_paid"):
            np.testing.assert_array_equal(a[k][x], big[k][y], err_msg=k)


def test_frame():
    pd = pytest.importorskip("pandas")
    df = make_claims(n_claims=500, seed=1, as_frame=True)
    assert isinstance(df, pd.DataFrame) and len(df) == 500
    for name in CLAIMS_CATEGORICAL + ["outcome"]:
        assert str(df[name].dtype) == "category", name
    assert df["prior_authorization"].isna().any() or df["secondary_dx"].isna().any()


def test_bad_arguments():
    with pytest.raises(calibrisk.InvalidParamsError, match="n_claims must be in"):
        make_claims(n_claims=0)
    with pytest.raises(calibrisk.InvalidParamsError, match="n_providers"):
        make_claims(n_claims=10, n_providers=5)
    with pytest.raises(calibrisk.InvalidParamsError, match="drift_at"):
        make_claims(n_claims=10, drift_at=0.0)
    with pytest.raises(calibrisk.InvalidParamsError, match="start_date"):
        make_claims(n_claims=10, start_date="2023-02-30")
    with pytest.raises(TypeError, match="n_claims must be an int"):
        make_claims(n_claims=10.5)
    with pytest.raises(ValueError, match="seed must be >= 0"):
        make_claims(n_claims=10, seed=-1)


# ----------------------------------------------------------------------------------------- CLI
def cli(*args, check=0):
    if not CLI.is_file():
        pytest.skip(f"no calibrisk executable at {CLI}")
    proc = subprocess.run([str(CLI), *map(str, args)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == check, proc.stderr
    return proc


def test_cli_and_python_give_the_same_table_for_any_thread_count(tmp_path):
    one, two = tmp_path / "one.csv", tmp_path / "two.csv"
    cli("generate", "--dataset", "claims", "--rows", 4000, "--seed", 8, "--out", one,
        "--threads", 1)
    proc = cli("generate", "--dataset", "claims", "--rows", 4000, "--seed", 8, "--out", two,
               "--threads", 2)
    assert "4,000 claims" in proc.stdout or "4000 claims" in proc.stdout
    assert one.read_bytes() == two.read_bytes()
    py = make_claims(n_claims=4000, seed=8)
    with open(one, newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 4000
    assert list(rows[0]) == [k for k in py if k != "service_day"]
    for k in CLAIMS_CATEGORICAL + ["outcome"]:
        assert [r[k] for r in rows] == [v if v is not None else "" for v in py[k]], k
    np.testing.assert_array_equal([r["service_date"] for r in rows], py["service_date"].astype(str))
    for k in ["billed_amount", "prior_authorization"] + ["p_" + c for c in CLAIMS_CLASSES]:
        got = np.array([float(r[k]) if r[k] else np.nan for r in rows])
        np.testing.assert_array_equal(got, py[k], err_msg=k)  # exact round trip of the doubles
    np.testing.assert_array_equal([int(r["denied"]) for r in rows], py["denied"])


def test_cli_default_dataset_is_still_readmission(tmp_path):
    out = tmp_path / "c.csv"
    cli("generate", "--rows", 200, "--out", out)
    assert "readmitted" in out.read_text().splitlines()[0]


def test_cli_writes_atomically_and_never_half(tmp_path):
    out = tmp_path / "claims.csv"
    out.write_text("old content\n")
    # A usage error after the output was named leaves the old file as it was, with no temporary.
    proc = cli("generate", "--dataset", "claims", "--with-codes", "--rows", 100, "--out", out,
               check=2)
    assert "--with-codes applies to --dataset readmission only" in proc.stderr
    assert out.read_text() == "old content\n"
    cli("generate", "--dataset", "nope", "--rows", 100, "--out", out, check=2)
    assert out.read_text() == "old content\n"
    # A directory or a missing directory is refused without writing anything.
    cli("generate", "--dataset", "claims", "--rows", 100, "--out", tmp_path, check=2)
    cli("generate", "--dataset", "claims", "--rows", 100, "--out", tmp_path / "no" / "c.csv",
        check=2)
    # Success replaces the file in one step.
    cli("generate", "--dataset", "claims", "--rows", 100, "--out", out)
    assert out.read_text().startswith("claim_id,member_id,service_date,payer")
    assert [p.name for p in tmp_path.iterdir() if ".tmp-" in p.name] == []
