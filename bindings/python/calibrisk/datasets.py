# SPDX-License-Identifier: Apache-2.0
"""Embedded data: a seeded synthetic 30-day readmission cohort with a known true risk.

The generator lives in the C++ library (``calibrisk/datasets/readmission.hpp``), so Python, C++
and the ``calibrisk generate`` command draw the same cohort for the same seed. The risk function
is documented in ``docs/datasets.md``.
"""

import numpy as np

from . import _core

__all__ = [
    "make_readmission_cohort",
    "READMISSION_FEATURES",
    "READMISSION_CODE_FEATURES",
    "readmission_code_list",
]

#: Column names of the model features, in the order the C++ ``feature_matrix()`` uses. Site and
#: encounter date are left out on purpose: the site shift and the drift over time are what a model
#: trained on them cannot see.
READMISSION_FEATURES = list(_core._readmission_feature_names)

#: The categorical columns ``with_codes=True`` adds (text labels): ``primary_dx``,
#: ``secondary_dx`` (ICD-10-like diagnosis codes; None when the encounter has one diagnosis) and
#: ``admission_source``. ``discharge_disposition`` (0..4) is the other small categorical.
READMISSION_CODE_FEATURES = list(_core._readmission_code_features)


def readmission_code_list(n_codes=2000):
    """The cohort's diagnosis code list for ``n_codes``: the leaves in Zipf rank order (most
    frequent first), then the child codes the coding update introduces (see docs/datasets.md).
    It does not depend on the seed."""
    return list(_core._readmission_code_list(int(n_codes)))


def make_readmission_cohort(
    n_patients=5000,
    seed=0,
    *,
    as_frame=False,
    n_encounters=None,
    n_sites=5,
    shifted_site=2,
    site_shift=0.8,
    drift_per_year=0.4,
    target_prevalence=0.125,
    start_date="2022-01-01",
    n_days=730,
    with_codes=False,
    n_codes=2000,
    zipf_exponent=1.1,
    code_update_at=0.75,
):
    """Draw the synthetic readmission cohort (one row per hospital encounter).

    Parameters
    ----------
    n_patients : int, default 5000
        Patients (>= 1); each has 1..8 encounters (about 1.5 on average).
    seed : int, default 0
        Same seed and parameters give a bit-identical cohort on every platform.
    as_frame : bool, default False
        Return a pandas DataFrame instead of a dict of numpy arrays (needs pandas).
    n_encounters : int or None
        When given, draw patients until exactly this many rows exist (``n_patients`` is ignored).
    n_sites, shifted_site, site_shift : int, int, float
        Hospitals (2..26), the one whose risk is shifted, and the shift in log-odds.
    drift_per_year : float
        Log-odds added per year since ``start_date`` (prevalence drift).
    target_prevalence : float
        Mean true risk the intercept is solved for (0.01..0.5).
    start_date : str, n_days : int
        The encounter window: ISO date of the first day and its length in days.
    with_codes : bool, default False
        Add the diagnosis-code columns of :data:`READMISSION_CODE_FEATURES` and their effect on
        the risk (docs/datasets.md, "Diagnosis codes"). Every other column keeps its values;
        ``true_risk``, ``readmitted`` and the intercept change.
    n_codes : int, default 2000
        Leaf codes of the code list (20..5000).
    zipf_exponent : float, default 1.1
        Exponent of the Zipf law of the code frequencies (0.5..3).
    code_update_at : float, default 0.75
        Fraction of the window after which the coding update replaces some codes by new child
        codes that never appear earlier (0 < x <= 1; 1 = no update).

    Returns
    -------
    dict of str -> numpy.ndarray, or pandas.DataFrame
        Columns, sorted by encounter date then patient: ``encounter_id``, ``patient_id``,
        ``encounter_date`` (datetime64[D]), ``encounter_day`` (days since 1970-01-01), ``site``
        (0..n_sites-1), the features of :data:`READMISSION_FEATURES` (labs are NaN when not
        measured), ``age_band`` ("18-44", "45-64", "65-79", "80+"; a subgroup, not a
        feature), ``readmitted`` (0/1 outcome) and ``true_risk`` (the probability the outcome
        was drawn from); with ``with_codes`` the code columns as object arrays of str (a
        missing secondary diagnosis is None; pandas ``category`` columns with ``as_frame``).
        Every value is a column of the same length, so ``pandas.DataFrame(d)`` works. With
        ``as_frame=True`` the solved intercept of the risk function is kept in
        ``frame.attrs["intercept"]``.
    """
    if isinstance(n_patients, bool) or not isinstance(n_patients, (int, np.integer)):
        raise TypeError(f"make_readmission_cohort: n_patients must be an int, got {n_patients!r}")
    if n_encounters is not None and (
        isinstance(n_encounters, bool) or not isinstance(n_encounters, (int, np.integer))
    ):
        raise TypeError(
            f"make_readmission_cohort: n_encounters must be an int or None, got {n_encounters!r}"
        )
    if int(seed) < 0:
        raise ValueError(f"make_readmission_cohort: seed must be >= 0, got {seed!r}")
    columns, intercept = _core._make_readmission_cohort(
        int(n_patients),
        int(seed),
        0 if n_encounters is None else int(n_encounters),
        int(n_sites),
        int(shifted_site),
        float(site_shift),
        float(drift_per_year),
        float(target_prevalence),
        str(start_date),
        int(n_days),
        bool(with_codes),
        int(n_codes),
        float(zipf_exponent),
        float(code_update_at),
    )
    out = {}
    for name in ("encounter_id", "patient_id"):
        out[name] = columns[name]
    out["encounter_date"] = columns["encounter_day"].astype("datetime64[D]")
    bands = np.asarray(_core._readmission_age_bands)
    for name, values in columns.items():
        if name == "age_band":
            out[name] = bands[values]
        elif name in READMISSION_CODE_FEATURES:
            labels = np.empty(len(values), dtype=object)
            labels[:] = [v if v else None for v in values]
            out[name] = labels
        elif name not in out:
            out[name] = values
    if not as_frame:
        return out
    try:
        import pandas as pd
    except ImportError as exc:  # pragma: no cover - pandas is in the dev extra
        raise ImportError(
            "make_readmission_cohort(as_frame=True) needs pandas; install it or use as_frame=False"
        ) from exc
    frame = pd.DataFrame(out)
    for name in READMISSION_CODE_FEATURES:
        if name in frame:
            frame[name] = frame[name].astype("category")
    frame.attrs["intercept"] = intercept
    return frame
