# SPDX-License-Identifier: Apache-2.0
"""calibrisk.preprocessing.target_statistics against an independent pandas / numpy implementation
of the same formulas (docs/categorical_encodings.md):

    TS(k) = (sum_{R_k} w y + a * prior) / (sum_{R_k} w + a)

out-of-fold: R_k and the prior restricted to the other folds; ordered: to the rows of earlier
groups, the prior a running mean with one pseudo-observation at 0.5; scoring: the full data.
The fold assignment and the order come from the library (their properties are checked here too);
everything computed from them is recomputed independently.
"""

import numpy as np
import pandas as pd
import pytest

from calibrisk import _core
from calibrisk.exceptions import InvalidInputError, InvalidParamsError
from calibrisk.preprocessing import target_statistics


def _data(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    codes = np.column_stack([
        np.floor(30 * rng.random(n) ** 3),
        np.floor(400 * rng.random(n) ** 2),
    ])
    codes[rng.random(n) < 0.07, 0] = np.nan
    codes[rng.random(n) < 0.03, 1] = np.nan
    y = (rng.random(n) < 0.25).astype(float)
    w = rng.uniform(0.2, 2.0, n)
    groups = rng.integers(0, n // 3, n).astype(float)
    return codes, y, w, groups


def _effective_weights(y, w, class_weight):
    w = np.ones_like(y) if w is None else w
    if class_weight == "balanced":
        n0, n1 = w[y == 0].sum(), w[y == 1].sum()
        return w * np.where(y == 1, (n0 + n1) / (2 * n1), (n0 + n1) / (2 * n0))
    return w


def _oof_reference(code, y, w, folds, a):
    df = pd.DataFrame({"k": code, "y": y, "w": w, "wy": w * y, "f": folds})
    out = np.full(len(code), np.nan)
    for f in np.unique(folds):
        other = df[df.f != f]
        prior = other.wy.sum() / other.w.sum()
        sums = other.dropna(subset=["k"]).groupby("k")[["wy", "w"]].sum()
        mine = (df.f == f) & df.k.notna()
        s = sums.reindex(df.k[mine]).fillna(0.0).to_numpy()
        out[mine.to_numpy()] = (s[:, 0] + a * prior) / (s[:, 1] + a)
    return out


def _table_reference(code, y, w, a):
    prior = (w * y).sum() / w.sum()
    df = pd.DataFrame({"k": code, "wy": w * y, "w": w}).dropna()
    s = df.groupby("k")[["wy", "w"]].sum()
    k = int(np.nanmax(code)) + 1
    value = np.full(k, np.nan)
    pos = s.index.to_numpy().astype(int)
    ok = s.w.to_numpy() > 0
    value[pos[ok]] = ((s.wy + a * prior) / (s.w + a)).to_numpy()[ok]
    return prior, value


def _ordered_reference(code, y, w, rows, block_start, a):
    out = np.full(len(code), np.nan)
    sw, swy = {}, {}
    pw, pwy = 1.0, 0.5
    for b in range(len(block_start) - 1):
        blk = rows[block_start[b]:block_start[b + 1]]
        prior = pwy / pw
        for i in blk:
            if not np.isnan(code[i]):
                out[i] = (swy.get(code[i], 0.0) + a * prior) / (sw.get(code[i], 0.0) + a)
        for i in blk:
            pw += w[i]
            pwy += w[i] * y[i]
            if not np.isnan(code[i]):
                sw[code[i]] = sw.get(code[i], 0.0) + w[i]
                swy[code[i]] = swy.get(code[i], 0.0) + w[i] * y[i]
    return out


@pytest.mark.parametrize("class_weight", [None, "balanced"])
@pytest.mark.parametrize("grouped", [False, True])
def test_out_of_fold_matches_pandas(class_weight, grouped):
    codes, y, w, groups = _data()
    g = groups if grouped else None
    a = 3.0
    ts = target_statistics(codes, y, groups=g, sample_weight=w, n_folds=4, smoothing=a, seed=17,
                           class_weight=class_weight)
    folds = np.asarray(_core.target_stats_folds(len(y), g, 4, 17))
    we = _effective_weights(y, w, class_weight)
    for j in range(codes.shape[1]):
        ref = _oof_reference(codes[:, j], y, we, folds, a)
        np.testing.assert_allclose(ts.encoded[:, j], ref, rtol=1e-12, atol=0)
        prior, value = _table_reference(codes[:, j], y, we, a)
        assert ts.tables[j].prior == pytest.approx(prior, rel=1e-13)
        np.testing.assert_allclose(ts.tables[j].value, value, rtol=1e-12)


def test_folds_keep_patients_together_and_are_balanced():
    _, y, _, groups = _data(n=6000)
    folds = np.asarray(_core.target_stats_folds(len(y), groups, 5, 3))
    per_group = pd.Series(folds).groupby(groups).nunique()
    assert (per_group == 1).all()
    counts = np.bincount(pd.Series(folds).groupby(groups).first(), minlength=5)
    assert counts.min() > 0.7 * counts.mean()  # 2000 patients: sd of a fold's count ~ 18


def test_ordered_matches_numpy_and_keeps_patients_in_one_block():
    codes, y, w, groups = _data(n=1500)
    a = 1.5
    ts = target_statistics(codes, y, groups=groups, sample_weight=w, scheme="ordered",
                           smoothing=a, seed=9)
    rows, starts = _core.target_stats_order(len(y), groups, 9)
    rows, starts = np.asarray(rows), np.asarray(starts)
    assert sorted(rows.tolist()) == list(range(len(y)))
    for b in range(len(starts) - 1):
        assert len(set(groups[rows[starts[b]:starts[b + 1]]])) == 1
    assert len(starts) - 1 == len(np.unique(groups))
    for j in range(codes.shape[1]):
        ref = _ordered_reference(codes[:, j], y, w, rows, starts, a)
        np.testing.assert_allclose(ts.encoded[:, j], ref, rtol=1e-12, atol=0)


def test_no_row_sees_its_own_label():
    codes, y, w, groups = _data(n=800)
    for scheme in ("out_of_fold", "ordered"):
        base = target_statistics(codes, y, groups=groups, scheme=scheme, seed=2).encoded
        for i in (0, 411, 799):
            y2 = y.copy()
            y2[i] = 1 - y2[i]
            enc = target_statistics(codes, y2, groups=groups, scheme=scheme, seed=2).encoded
            same_patient = groups == groups[i]
            np.testing.assert_array_equal(enc[same_patient], base[same_patient])
            assert not np.array_equal(np.nan_to_num(enc), np.nan_to_num(base))


def test_transform_uses_the_table_and_sends_unseen_to_nan():
    codes, y, _, _ = _data()
    ts = target_statistics(codes, y, smoothing=2.0)
    new = np.array([[0.0, 5.0], [np.nan, 1e6], [-1.0, 0.5], [29.0, 399.0]])
    out = ts.transform(new)
    v0, v1 = ts.tables[0].value, ts.tables[1].value
    assert out[0, 0] == v0[0] and out[0, 1] == v1[5]
    assert np.isnan(out[1]).all() and np.isnan(out[2]).all()
    assert out[3, 0] == v0[29]
    # thread count does not change the bits
    again = target_statistics(codes, y, smoothing=2.0, n_threads=1)
    np.testing.assert_array_equal(again.encoded, ts.encoded)


def test_one_column_and_pandas_categorical_input():
    codes, y, _, _ = _data(n=500)
    labels = pd.Series(pd.Categorical.from_codes(
        np.where(np.isnan(codes[:, 0]), -1, codes[:, 0]).astype(int), categories=range(30)))
    a = target_statistics(codes[:, 0], y, seed=4)
    b = target_statistics(labels, y, seed=4)
    assert a.encoded.shape == (500,)
    np.testing.assert_array_equal(a.encoded, b.encoded)
    c = codes[:, 0]
    v = a.tables[0].value
    expected = np.array([np.nan if np.isnan(k) else v[int(k)] for k in c])
    np.testing.assert_array_equal(a.transform(c), expected)
    np.testing.assert_array_equal(b.transform(labels), expected)


def test_threshold_to_codes_matches_the_table():
    codes, y, _, _ = _data()
    tab = target_statistics(codes, y, smoothing=5.0).tables[1]
    v = tab.value
    for t in (0.1, 0.2, 0.25, 0.3):
        for missing_left in (False, True):
            expected = [k for k in range(len(v)) if (missing_left if np.isnan(v[k]) else v[k] <= t)]
            assert tab.threshold_to_codes(t, missing_left) == expected
            words = tab.threshold_to_bitset(t, missing_left)
            bits = [k for k in range(len(v)) if (words[k // 32] >> (k % 32)) & 1]
            assert bits == expected


def test_bad_input_messages():
    codes, y, _, _ = _data(n=100)
    with pytest.raises(InvalidInputError, match="dtype"):
        target_statistics(np.array(["a"] * 100), y)
    bad = codes.copy()
    bad[7, 1] = -2
    with pytest.raises(InvalidInputError, match="column 1 has code -2 at row 7"):
        target_statistics(bad, y)
    with pytest.raises(InvalidParamsError, match="scheme"):
        target_statistics(codes, y, scheme="leave_one_out")
    with pytest.raises(InvalidParamsError, match="n_folds"):
        target_statistics(codes, y, n_folds=1)
    with pytest.raises(InvalidInputError, match="labels must be 0 or 1"):
        target_statistics(codes, y * 2)


def test_trees_on_ts_columns_score_identically_as_category_sets():
    """A model fitted on TS columns, with every split on a TS column replaced by the category set
    of ``threshold_to_bitset`` and routed on the raw codes (bitset-node semantics: codes outside
    [0, K) and NaN follow the missing direction), gives the model's own margins."""
    import json

    import calibrisk as cr

    codes, y, _, groups = _data(n=4000, seed=5)
    rng = np.random.default_rng(1)
    x_num = rng.normal(size=len(y))
    ts = target_statistics(codes, y, groups=groups, smoothing=1.0)
    model = cr.GradientBoostingClassifier(n_estimators=20, max_leaf_nodes=8, random_state=0)
    model.fit(np.column_stack([x_num, ts.encoded]), y)
    # Score rows with training codes, missing codes and codes never seen in training.
    test = codes[:500].copy()
    test[:40, 0] = 1000.0
    test[40:60, 1] = -5.0
    test[60:80, 1] = 2.5
    test[80:100, :] = np.nan
    x_test = rng.normal(size=500)
    expected = model.decision_function(np.column_stack([x_test, ts.transform(test)]))

    state = json.loads(bytes(model._model.to_bytes()))["state"]
    margin = np.full(500, state["base_score"])
    for tree in state["trees"]:
        sets = {}
        for i in range(500):
            u = 0
            while tree["left"][u] >= 0:
                f, t, ml = tree["feature"][u], tree["threshold"][u], bool(tree["missing_left"][u])
                if f == 0:  # the numeric column stays a threshold split
                    go_left = x_test[i] <= t
                else:
                    j = f - 1
                    key = (u, j)
                    if key not in sets:
                        sets[key] = ts.tables[j].threshold_to_bitset(t, ml)
                    words, k_levels, c = sets[key], ts.tables[j].n_levels, test[i, j]
                    if np.isnan(c) or c < 0 or c >= k_levels or c != np.floor(c):
                        go_left = ml
                    else:
                        k = int(c)
                        go_left = bool((words[k // 32] >> (k % 32)) & 1)
                u = tree["left"][u] if go_left else tree["right"][u]
            margin[i] += tree["value"][u]
    np.testing.assert_allclose(margin, expected, rtol=0, atol=1e-12)
