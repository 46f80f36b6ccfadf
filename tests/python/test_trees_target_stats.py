# SPDX-License-Identifier: Apache-2.0
"""Target statistics inside GradientBoostingClassifier (cat_encoding, issue 12 item 3): the saved
model is plain category-set trees over the codes (an independent walk of its JSON arrays scores
like predict_proba); a declared code hierarchy and patient groups reach the trainer; the hierarchy
levels of hand-written ICD-like labels; the no-hierarchy default beats native partitions on
held-out data with many rare codes; bad groups are refused by name."""

import json
import math

import numpy as np
import pytest

import calibrisk as cr
from calibrisk import _core
from calibrisk.exceptions import InvalidInputError

from test_trees_categorical import _walk


def _coded(n, seed=0):
    """ICD-like labels: 8 chapters x 10 categories x 1-6 codes, Zipf-ish; the risk is by chapter
    and category, so a rare code is best predicted by its ancestors."""
    rng = np.random.default_rng(seed)
    labels, chap, cat = [], [], []
    for c in range(8):
        for k in range(10):
            for s in range(rng.integers(1, 7)):
                labels.append(f"{chr(65 + c)}{k:02d}" + ("" if s == 0 else f".{s}"))
                chap.append(c)
                cat.append(c * 10 + k)
    labels, chap, cat = np.array(labels, dtype=object), np.array(chap), np.array(cat)
    p = 1.0 / np.arange(1, len(labels) + 1) ** 1.1
    pick = rng.choice(len(labels), size=n, p=p / p.sum())
    ce = rng.normal(0, 0.6, 80)
    he = rng.normal(0, 0.6, 8)
    x = rng.normal(size=n)
    z = -1.0 + he[chap[pick]] + ce[cat[pick]] + 0.5 * x
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    return labels[pick], x, y


def _frame(labels, x):
    pd = pytest.importorskip("pandas")
    return pd.DataFrame({"dx": pd.Series(labels, dtype=object), "x": x})


KW = dict(n_estimators=30, n_threads=1, random_state=0)


def test_code_ancestor_levels_of_dotted_and_prefix_hierarchies():
    labels = ["250", "250.0", "250.01", "250.1", "401.9", "V45"]
    assert _core.code_ancestor_levels(labels, []) == [[0, 0, 0, 0, 1, 2], [0, 1, 1, 2, 3, 4]]
    # Prefix lengths [1, 3]: chapter (first character), category (3 characters).
    assert _core.code_ancestor_levels(["A01.2", "A01", "A02", "B10.1"], [1, 3]) == [
        [0, 0, 0, 1], [0, 0, 1, 2]]
    assert _core.code_ancestor_levels(labels, None) == []
    assert _core.inferred_code_hierarchy(labels) == []  # 4 of 6 labels dotted
    assert _core.inferred_code_hierarchy(["250", "401", "V45.1"]) is None  # 1 of 3
    assert _core.inferred_code_hierarchy(["a.b", "c.d"]) is None  # no label shares a prefix


def test_saved_model_is_category_sets_over_the_codes_and_scores_raw_codes():
    labels, x, y = _coded(6000)
    df = _frame(labels, x)
    est = cr.GradientBoostingClassifier(code_hierarchy={"dx": [1, 3]}, **KW).fit(df, y)
    doc = json.loads(est._model.to_bytes())
    state = doc["state"] if "state" in doc else doc
    assert "cat_encoding" not in doc.get("params", {})  # the default is not written
    card = state["cardinality"]
    assert card[0] > 32 and card[1] == 0
    n_cat = sum(t["cat_end"][k] > t["cat_begin"][k] for t in state["trees"] if "cat_begin" in t
                for k in range(len(t["left"])))
    assert n_cat > 0
    # Every split on the code column is a category set; none is a threshold.
    for t in state["trees"]:
        for k, f in enumerate(t["feature"]):
            if f == 0:
                assert t["cat_end"][k] > t["cat_begin"][k]
    codes = est.categorical_encoding_.transform(df, "test")
    Xc = np.column_stack([codes["dx"].to_numpy(float), x])
    p = est.predict_proba(df)[:, 1]
    for i in range(0, 6000, 97):
        m = _walk(state, list(Xc[i]))
        assert p[i] == pytest.approx(1 / (1 + math.exp(-m)), rel=1e-12)


def test_hierarchy_and_groups_reach_the_trainer():
    labels, x, y = _coded(5000, 1)
    df = _frame(labels, x)
    flat = cr.GradientBoostingClassifier(categorical_features=["dx"], hierarchy_min_count=1,
                                         code_hierarchy={"dx": [1, 3]}, **KW)
    flat.fit(df, y)
    p_h = flat.predict_proba(df)[:, 1]
    assert flat._code_ancestry() == {0: _core.code_ancestor_levels(
        list(flat.categorical_encoding_.levels[0].labels), [1, 3])}
    no_h = cr.GradientBoostingClassifier(categorical_features=["dx"],
                                         cat_ts_infer_hierarchy=False, **KW).fit(df, y)
    assert no_h._code_ancestry() is None
    # By default the dotted labels ("A03.2") lend their dotted prefixes ("A03") as a level.
    inferred = cr.GradientBoostingClassifier(categorical_features=["dx"], **KW).fit(df, y)
    labels0 = list(inferred.categorical_encoding_.levels[0].labels)
    assert _core.inferred_code_hierarchy(labels0) == []
    assert inferred._code_ancestry() == {0: _core.code_ancestor_levels(labels0, [])}
    # Same level table (no pooling with hierarchy_min_count=1): only the ancestor columns differ.
    assert list(no_h.categorical_encoding_.levels[0].labels) == list(
        flat.categorical_encoding_.levels[0].labels)
    assert not np.array_equal(p_h, no_h.predict_proba(df)[:, 1])
    pid = np.arange(5000) // 4
    g1 = cr.GradientBoostingClassifier(categorical_features=["dx"], cat_ts_infer_hierarchy=False,
                                       **KW).fit(df, y, groups=pid)
    g2 = cr.GradientBoostingClassifier(categorical_features=["dx"], **KW).fit(
        df, y, groups=pid.astype(str))  # any labels: numbered by first appearance
    assert not np.array_equal(g1.predict_proba(df), no_h.predict_proba(df))
    assert g2.predict_proba(df).shape == (5000, 2)
    with pytest.raises(InvalidInputError, match="groups has shape"):
        cr.GradientBoostingClassifier(categorical_features=["dx"], **KW).fit(df, y,
                                                                              groups=pid[:10])


def test_pickle_keeps_the_predictions():
    import pickle

    labels, x, y = _coded(3000, 2)
    df = _frame(labels, x)
    est = cr.GradientBoostingClassifier(code_hierarchy={"dx": None}, **KW).fit(df, y)
    twin = pickle.loads(pickle.dumps(est))
    assert np.array_equal(twin.predict_proba(df), est.predict_proba(df))


def test_default_beats_native_partitions_and_ordinal_codes_on_rare_codes():
    # Held-out log loss on fresh rows of the same distribution (many rare codes). Oracle: the
    # measured ranking of docs/categorical_encodings.md on a small, fast case.
    labels, x, y = _coded(40000, 3)
    df = _frame(labels, x)
    tr, te = slice(0, 20000), slice(20000, None)
    kw = dict(n_estimators=60, n_threads=1, random_state=0)
    from sklearn.metrics import log_loss

    def loss(**extra):
        est = cr.GradientBoostingClassifier(categorical_features=["dx"], **kw, **extra)
        est.fit(df.iloc[tr], y[tr])
        return log_loss(y[te], est.predict_proba(df.iloc[te])[:, 1])

    ts, part = loss(), loss(cat_encoding="partition")
    codes = cr.GradientBoostingClassifier(categorical_features=["dx"], **kw).fit(
        df.iloc[tr], y[tr]).categorical_encoding_.transform(df, "t")["dx"].to_numpy(float)
    Xo = np.column_stack([codes, x])
    ordinal = log_loss(y[te], cr.GradientBoostingClassifier(**kw).fit(Xo[tr], y[tr])
                       .predict_proba(Xo[te])[:, 1])
    assert ts < part
    assert ts < ordinal
