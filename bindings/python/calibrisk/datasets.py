# SPDX-License-Identifier: Apache-2.0
"""Embedded data: seeded synthetic data sets with a known truth.

- ``make_readmission_cohort``: a 30-day readmission cohort with a known true risk;
- ``make_claims``: insurance claims with a multiclass outcome (paid or a denial reason) and the
  known true class probabilities;
- ``make_documents``: prior-authorisation documents (text) of several kinds, for routing.

The readmission and claims generators live in the C++ library
(``calibrisk/datasets/readmission.hpp``, ``claims.hpp``), so Python, C++ and the
``calibrisk generate`` command draw the same table for the same seed. ``make_documents`` is
numpy. Every generating function is documented in ``docs/datasets.md``.
"""

import numpy as np

from . import _core

__all__ = [
    "make_readmission_cohort",
    "READMISSION_FEATURES",
    "READMISSION_CODE_FEATURES",
    "readmission_code_list",
    "make_claims",
    "CLAIMS_CLASSES",
    "CLAIMS_CATEGORICAL",
    "claims_procedure_codes",
    "claims_requires_prior_authorization",
    "make_documents",
    "DOCUMENT_CLASSES",
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


# --------------------------------------------------------------------------------------- claims
#: The outcome classes of :func:`make_claims`, in the order of the ``p_<class>`` columns.
CLAIMS_CLASSES = list(_core._claims_classes)

#: The categorical (text) columns of :func:`make_claims`.
CLAIMS_CATEGORICAL = [
    "payer",
    "provider_id",
    "specialty",
    "place_of_service",
    "procedure_code",
    "primary_dx",
    "secondary_dx",
]

_CLAIMS_DEFAULTS = dict(_core._claims_defaults)
_CLAIMS_LABELS = {
    "payer": list(_core._claims_payers),
    "specialty": list(_core._claims_specialties),
    "place_of_service": list(_core._claims_places),
}


def claims_procedure_codes():
    """The procedure code list of :func:`make_claims`: per section (by code range), its codes in
    Zipf rank order. Fixed (depends on no argument)."""
    return list(_core._claims_procedure_codes)


def claims_requires_prior_authorization(code):
    """Whether a procedure code of :func:`make_claims` requires prior authorisation (before the
    policy change; docs/datasets.md, "Claims")."""
    return bool(_core._claims_requires_prior_authorization(str(code)))


def _check_int(where, name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{where}: {name} must be an int, got {value!r}")
    if int(value) < 0:
        raise ValueError(f"{where}: {name} must be >= 0, got {value!r}")


def make_claims(
    n_claims=_CLAIMS_DEFAULTS["n_claims"],
    seed=_CLAIMS_DEFAULTS["seed"],
    *,
    as_frame=False,
    n_providers=_CLAIMS_DEFAULTS["n_providers"],
    provider_zipf_exponent=_CLAIMS_DEFAULTS["provider_zipf_exponent"],
    n_codes=_CLAIMS_DEFAULTS["n_codes"],
    zipf_exponent=_CLAIMS_DEFAULTS["zipf_exponent"],
    start_date=_CLAIMS_DEFAULTS["start_date"],
    n_days=_CLAIMS_DEFAULTS["n_days"],
    drift_at=_CLAIMS_DEFAULTS["drift_at"],
    drift_shift=_CLAIMS_DEFAULTS["drift_shift"],
):
    """Draw the synthetic claims table (one row per claim) with a multiclass outcome.

    The outcome is "paid" or one of five denial reasons (:data:`CLAIMS_CLASSES`), drawn from the
    softmax of documented class scores (docs/datasets.md, "Claims"); the true probability of
    every class is returned beside it.

    Parameters
    ----------
    n_claims : int, default 20000
        Claim rows (>= 1). Members (with about 4.2 claims each) are drawn until this many exist.
    seed : int, default 0
        Same seed and parameters give a bit-identical table on every platform (and the same
        table as ``calibrisk generate --dataset claims`` and the C++ ``make_claims``).
    as_frame : bool, default False
        Return a pandas DataFrame instead of a dict of numpy arrays (needs pandas).
    n_providers : int, default 2000
        Providers in the provider list (10..100000), drawn with Zipf frequencies.
    provider_zipf_exponent : float, default 1.1
        Exponent of the providers' Zipf law (0.5..3).
    n_codes : int, default 2000
        Leaf diagnosis codes of the ICD-10-like code list shared with
        :func:`make_readmission_cohort` (20..5000).
    zipf_exponent : float, default 1.1
        Exponent of the diagnosis codes' Zipf law (0.5..3).
    start_date : str, n_days : int
        The service window: ISO date of the first day (default 2023-01-01) and its length.
    drift_at : float, default 0.75
        Fraction of the window after which payer ``commercial_b`` requires prior authorisation
        for radiology (0 < x <= 1; 1 = no change inside the window).
    drift_shift : float, default 2.5
        Log-odds the change adds to ``missing_prior_auth`` for the claims it hits (-10..10).

    Returns
    -------
    dict of str -> numpy.ndarray, or pandas.DataFrame
        Columns, sorted by service date then member: ``claim_id``, ``member_id``,
        ``service_date`` (datetime64[D]), ``service_day`` (days since 1970-01-01), ``payer``,
        ``member_age``, ``provider_id``, ``specialty``, ``place_of_service``,
        ``procedure_code``, ``primary_dx``, ``secondary_dx`` (text; object arrays of str with
        None for missing, pandas ``category`` with ``as_frame``), ``billed_amount``, ``units``,
        ``prior_authorization`` (1.0/0.0, NaN = not recorded), ``days_to_submission``,
        ``same_service_claims``, ``outcome`` (a class label), ``denied`` (0/1: not "paid") and
        ``p_<class>`` for each class of :data:`CLAIMS_CLASSES` (rows sum to 1). The same
        layout as :func:`make_readmission_cohort`.
    """
    _check_int("make_claims", "n_claims", n_claims)
    _check_int("make_claims", "seed", seed)
    columns = _core._make_claims(
        int(n_claims),
        int(seed),
        int(n_providers),
        float(provider_zipf_exponent),
        int(n_codes),
        float(zipf_exponent),
        str(start_date),
        int(n_days),
        float(drift_at),
        float(drift_shift),
    )
    out = {
        "claim_id": columns["claim_id"],
        "member_id": columns["member_id"],
        "service_date": columns["service_day"].astype("datetime64[D]"),
        "service_day": columns["service_day"],
    }
    for name in ("payer", "member_age", "provider_id", "specialty", "place_of_service",
                 "procedure_code", "primary_dx", "secondary_dx", "billed_amount", "units",
                 "prior_authorization", "days_to_submission", "same_service_claims"):
        values = columns[name]
        if name in _CLAIMS_LABELS:
            labels = np.array(_CLAIMS_LABELS[name] + [None], dtype=object)
            out[name] = labels[values]  # -1 (missing) picks the trailing None
        elif isinstance(values, list):
            labels = np.empty(len(values), dtype=object)
            labels[:] = [v if v else None for v in values]
            out[name] = labels
        else:
            out[name] = values
    classes = np.array(CLAIMS_CLASSES, dtype=object)
    out["outcome"] = classes[columns["outcome"]]
    out["denied"] = (columns["outcome"] != 0).astype(np.int64)
    prob = columns["probabilities"]
    for k, label in enumerate(CLAIMS_CLASSES):
        out["p_" + label] = np.ascontiguousarray(prob[:, k])
    if not as_frame:
        return out
    try:
        import pandas as pd
    except ImportError as exc:  # pragma: no cover - pandas is in the dev extra
        raise ImportError("make_claims(as_frame=True) needs pandas; use as_frame=False") from exc
    frame = pd.DataFrame(out)
    for name in CLAIMS_CATEGORICAL + ["outcome"]:
        frame[name] = frame[name].astype("category")
    return frame


# ------------------------------------------------------------------------------------ documents
#: The document kinds of :func:`make_documents`, in order; ``n_classes=k`` uses the first k.
DOCUMENT_CLASSES = [
    "referral_note",
    "lab_result_summary",
    "insurance_form",
    "discharge_summary",
    "imaging_report",
    "medication_request",
    "progress_note",
    "appeal_letter",
]

# Seed words of each kind (the head of its vocabulary), then the kind whose vocabulary it borrows
# from (the confusable pairs of docs/datasets.md, "Documents").
_DOC_WORDS = {
    "referral_note": ("referral refer specialist consult evaluate reason referring appointment "
                      "urgency requested consultation accept scheduling kindly assess",
                      "progress_note"),
    "lab_result_summary": ("specimen result reference range panel serum plasma collected assay "
                           "abnormal flag units culture hemoglobin glucose", "imaging_report"),
    "insurance_form": ("member policy subscriber group number coverage eligibility claim payer "
                       "signature authorization box section plan id", "appeal_letter"),
    "discharge_summary": ("admitted discharge hospital course disposition inpatient stay follow "
                          "discharged admission instructions diet condition stable",
                          "progress_note"),
    "imaging_report": ("impression findings contrast radiograph mri ct ultrasound views axial "
                       "lesion opacity technique comparison radiologist", "lab_result_summary"),
    "medication_request": ("dose tablet prescription pharmacy refill quantity formulary tier "
                           "strength daily ndc dispense prior step therapy", "insurance_form"),
    "progress_note": ("subjective objective assessment plan vitals reports today exam continue "
                      "visit complaint improving symptoms counseled", "discharge_summary"),
    "appeal_letter": ("appeal denial reconsideration request overturn decision letter dear "
                      "sincerely medically necessary review enclosed dispute", "insurance_form"),
}
_DOC_SHARED = ("patient date name provider history clinical noted per records please care "
               "information treatment status physician hospital medical diagnosis health "
               "office phone fax page report signed")
_DOC_STOP = "the and of to a in for with on is was by at as from this that be or are"
_DOC_VOCAB_SEED = 20261203  # the vocabulary is the same for every seed
_DOC_CLASS_WORDS = 250
_DOC_SHARED_WORDS = 600
# Shares of a document's tokens: its kind's vocabulary, the confusable kind's, the shared one (the
# rest are stop words).
_DOC_OWN_SHARE = 0.18
_DOC_PARTNER_SHARE = 0.05
_DOC_SHARED_SHARE = 0.55


def _pseudo_words(rng, n, taken):
    onsets = "b c d f g h k l m n p r s t v z br cr dr gr pl st tr ch sh th".split()
    vowels = "a e i o u ae io ou".split()
    codas = ["", "n", "r", "s", "l", "t", "x", "m"]
    out = []
    while len(out) < n:
        k = int(rng.integers(2, 4))
        w = "".join(onsets[rng.integers(len(onsets))] + vowels[rng.integers(len(vowels))]
                    for _ in range(k)) + codas[rng.integers(len(codas))]
        if w not in taken:
            taken.add(w)
            out.append(w)
    return out


def _document_vocabulary():
    rng = np.random.Generator(np.random.PCG64(_DOC_VOCAB_SEED))
    taken = set(_DOC_SHARED.split()) | set(_DOC_STOP.split())
    for words, _ in _DOC_WORDS.values():
        taken |= set(words.split())
    shared = _DOC_SHARED.split()
    shared += _pseudo_words(rng, _DOC_SHARED_WORDS - len(shared), taken)
    own = {}
    for kind in DOCUMENT_CLASSES:
        head = _DOC_WORDS[kind][0].split()
        own[kind] = head + _pseudo_words(rng, _DOC_CLASS_WORDS - len(head), taken)
    return shared, own


def _zipf_p(n, s):
    w = np.arange(1, n + 1, dtype=float) ** -s
    return w / w.sum()


def make_documents(n_documents=2000, n_classes=5, seed=0, *, ambiguous_rate=0.08,
                   noise_rate=0.03, as_frame=False):
    """Draw synthetic prior-authorisation documents of several kinds, for routing.

    Each document is a bag of words drawn from a mixture of its kind's vocabulary (Zipf
    frequencies), the vocabulary of a confusable kind, a large shared vocabulary, stop words and
    OCR-like noise tokens; lengths vary (log-normal, 12..400 words) and a share of documents
    mixes two kinds, so a TF-IDF + multinomial logistic regression is accurate but not perfect
    and its least confident documents are worth a manual review. docs/datasets.md, "Documents",
    states the generating process.

    Parameters
    ----------
    n_documents : int, default 2000
    n_classes : int, default 5
        Kinds of document, 2..8: the first ``n_classes`` of :data:`DOCUMENT_CLASSES`.
    seed : int, default 0
        Same seed and parameters give the same documents (numpy's PCG64 stream).
    ambiguous_rate : float, default 0.08
        Share of documents that mix two kinds (0..1); their label is drawn from the mixture
        weights, so even the true kinds' words leave them uncertain.
    noise_rate : float, default 0.03
        Share of tokens replaced by noise (misspellings, OCR debris), 0..0.5.
    as_frame : bool, default False
        Return a pandas DataFrame instead of a dict of numpy arrays.

    Returns
    -------
    dict of str -> numpy.ndarray, or pandas.DataFrame
        ``document_id``, ``text`` (str), ``label`` (str, a kind of :data:`DOCUMENT_CLASSES`),
        ``ambiguous`` (bool: a two-kind mixture) and ``n_words``.
    """
    _check_int("make_documents", "n_documents", n_documents)
    _check_int("make_documents", "seed", seed)
    if n_documents < 1:
        raise ValueError(f"make_documents: n_documents must be >= 1, got {n_documents}")
    if isinstance(n_classes, bool) or not isinstance(n_classes, (int, np.integer)) or not (
        2 <= n_classes <= len(DOCUMENT_CLASSES)
    ):
        raise ValueError(
            f"make_documents: n_classes must be an int in [2, {len(DOCUMENT_CLASSES)}], "
            f"got {n_classes!r}"
        )
    if not 0.0 <= float(ambiguous_rate) <= 1.0:
        raise ValueError(
            f"make_documents: ambiguous_rate must be in [0, 1], got {ambiguous_rate!r}"
        )
    if not 0.0 <= float(noise_rate) <= 0.5:
        raise ValueError(f"make_documents: noise_rate must be in [0, 0.5], got {noise_rate!r}")
    kinds = DOCUMENT_CLASSES[: int(n_classes)]
    shared, own = _document_vocabulary()
    k_all = len(kinds)
    cdf_shared = np.cumsum(_zipf_p(len(shared), 1.0))
    cdf_own = np.cumsum(_zipf_p(_DOC_CLASS_WORDS, 1.0))
    stop = np.array(_DOC_STOP.split(), dtype=object)
    shared = np.array(shared, dtype=object)
    own = np.array([own[k] for k in kinds], dtype=object)  # (k_all, _DOC_CLASS_WORDS)
    # The confusable kind of each kind among those in use (its listed partner, else the next).
    partner = np.array([kinds.index(_DOC_WORDS[k][1]) if _DOC_WORDS[k][1] in kinds
                        else (i + 1) % k_all for i, k in enumerate(kinds)])
    rng = np.random.Generator(np.random.PCG64(int(seed)))
    n_docs = int(n_documents)

    def inverse_cdf(cdf, m):  # m Zipf ranks, one uniform each
        return np.minimum(np.searchsorted(cdf, rng.random(m) * cdf[-1], side="right"),
                          len(cdf) - 1)

    # Per document: its kind, whether it mixes two kinds, the second kind (another kind, uniform),
    # the first kind's weight w, the label (the first kind with probability w) and the length.
    kind = rng.integers(k_all, size=n_docs)
    mixed = rng.random(n_docs) < float(ambiguous_rate)
    second = (kind + 1 + rng.integers(k_all - 1, size=n_docs)) % k_all
    w = rng.uniform(0.35, 0.65, size=n_docs)
    label = np.where(rng.random(n_docs) < w, kind, second)
    label = np.where(mixed, label, kind)
    second = np.where(mixed, second, partner[kind])
    w = np.where(mixed, w, 1.0)
    length = np.clip(np.round(np.exp(rng.normal(np.log(60.0), 0.75, size=n_docs))), 12, 400)
    length = length.astype(np.int64)
    # Per token: the source (0 own kind, 1 second kind, 2 shared, 3 stop words), then the word.
    doc = np.repeat(np.arange(n_docs), length)
    share_own = _DOC_OWN_SHARE * w
    share_second = np.where(mixed, _DOC_OWN_SHARE * (1 - w), _DOC_PARTNER_SHARE)
    u = rng.random(len(doc))
    c1 = share_own[doc]
    c2 = c1 + share_second[doc]
    source = np.where(u < c1, 0, np.where(u < c2, 1, np.where(u < c2 + _DOC_SHARED_SHARE, 2, 3)))
    words = np.empty(len(doc), dtype=object)
    for s, kinds_of_doc in ((0, kind), (1, second)):
        m = np.flatnonzero(source == s)
        words[m] = own[kinds_of_doc[doc[m]], inverse_cdf(cdf_own, len(m))]
    m = np.flatnonzero(source == 2)
    words[m] = shared[inverse_cdf(cdf_shared, len(m))]
    m = np.flatnonzero(source == 3)
    words[m] = stop[rng.integers(len(stop), size=len(m))]
    # Noise: a token replaced by 3..7 random letters and digits.
    noisy = np.flatnonzero(rng.random(len(doc)) < float(noise_rate))
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz0123456789"))
    noise_len = rng.integers(3, 8, size=len(noisy))
    chars = letters[rng.integers(len(letters), size=int(noise_len.sum()))]
    pieces = np.split(chars, np.cumsum(noise_len)[:-1]) if len(noisy) else []
    for j, piece in zip(noisy, pieces):
        words[j] = "".join(piece)
    bounds = np.cumsum(length)[:-1]
    texts = [" ".join(t) for t in np.split(words, bounds)]
    labels = np.array(kinds, dtype=object)[label]
    ambiguous, lengths = mixed, length
    out = {
        "document_id": np.arange(int(n_documents), dtype=np.int64),
        "text": np.array(texts, dtype=object),
        "label": labels,
        "ambiguous": np.asarray(ambiguous, dtype=bool),
        "n_words": np.array(lengths, dtype=np.int64),
    }
    if not as_frame:
        return out
    import pandas as pd

    return pd.DataFrame(out)
