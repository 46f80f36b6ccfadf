# SPDX-License-Identifier: Apache-2.0
"""Native categorical columns in calibrisk.dask.DaskGradientBoostingClassifier (issue 14 items 2
and 3): the oracle is the single-process GradientBoostingClassifier on the gathered rows — the
same SHA-256 of the saved model for LocalClusters of 1, 2 and 3 workers and partitionings with
uneven sizes and an empty partition, with pandas category / object / string columns, a level
present in one partition only, frequency caps and pooled rare levels (counts summed over the
partitions), categorical_features on a numeric array of codes, early stopping on an eval_set and
on the hashed hold-out;
unseen levels score as the single-process model scores them (missing). Target statistics and
code hierarchies are refused with the alternative named."""

import hashlib
import json

import numpy as np
import pytest

pytest.importorskip("dask")
pytest.importorskip("distributed")

import dask  # noqa: E402
import dask.array as da  # noqa: E402
import dask.dataframe as dd  # noqa: E402
import pandas as pd  # noqa: E402
from distributed import Client, LocalCluster  # noqa: E402

import calibrisk as cr  # noqa: E402
from calibrisk.dask import DaskGradientBoostingClassifier  # noqa: E402
from calibrisk.exceptions import InvalidInputError, InvalidParamsError  # noqa: E402

BASE = dict(n_estimators=8, max_leaf_nodes=6, min_samples_leaf=10, n_threads=1, random_state=3)
N = 1200


def _frame(n=N, seed=0):
    rng = np.random.default_rng(seed)
    site = rng.choice(["north", "south", "east", "west", None], size=n).astype(object)
    site[900:][site[900:] == "east"] = "clinic Ø"  # a level present in the last rows only
    payer = pd.Categorical(rng.choice(list("ABCDEFGH"), size=n, p=[.3, .2, .15, .1, .1, .1, .04,
                                                                   .01]))
    ward = pd.array(rng.choice([f"w{k:02d}" for k in range(20)], size=n), dtype="string")
    a = rng.normal(size=n)
    z = (a + 1.2 * (site == "north") - 1.1 * np.isin(payer, ["A", "C"]) + 0.8 *
         np.isin(np.asarray(ward, dtype=object), ["w03", "w07", "w11"]) + rng.normal(size=n))
    df = pd.DataFrame({"a": a, "site": site, "payer": payer, "ward": ward})
    return df, pd.Series((z > 0.2).astype(np.int64), name="y")


DF, Y = _frame()
DFV, YV = _frame(500, seed=1)


def _sha(b):
    return hashlib.sha256(b).hexdigest()


def _local(params, df=DF, y=Y, **kw):
    est = cr.GradientBoostingClassifier(**params).fit(df, y, **kw)
    return est, _sha(est._model.to_bytes())


def _split(df, sizes):
    """A dask dataframe with partitions of the given sizes (0 = an empty partition)."""
    cuts = np.cumsum([0] + list(sizes))
    parts = [df.iloc[cuts[k]:cuts[k + 1]] for k in range(len(sizes))]
    return dd.from_delayed([dask.delayed(p) for p in parts], meta=df.iloc[:0], verify_meta=False)


# uneven; an empty partition; one partition; the last partition holds the "clinic Ø" level
PARTITIONINGS = [(500, 100, 600), (300, 0, 600, 300), (N,), (900, 300)]


@pytest.fixture(scope="module", params=[1, 2, 3])
def cluster(request):
    with LocalCluster(n_workers=request.param, threads_per_worker=1, processes=False,
                      dashboard_address=":0") as c, Client(c) as client:
        yield client


@pytest.fixture(scope="module")
def client2():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=":0") as c, Client(c) as client:
        yield client


def test_label_columns_give_the_single_process_model(cluster):
    est, ref = _local(BASE)
    trees = json.loads(est._model.to_bytes())["state"]
    # the oracle really splits on category sets
    assert trees["cardinality"][1:] == [5, 8, 20]
    assert any(t["cat_bits"] for t in trees["trees"])
    for sizes in PARTITIONINGS:
        dist = DaskGradientBoostingClassifier(**BASE).fit(_split(DF, sizes), _split(Y, sizes))
        assert _sha(dist.to_bytes()) == ref, sizes
        assert dist.categorical_encoding_.tables == est.categorical_encoding_.tables
        np.testing.assert_array_equal(dist.predict_proba(DF), est.predict_proba(DF))


def test_unseen_levels_at_scoring_are_missing_as_single_process(client2):
    est, _ = _local(BASE)
    dist = DaskGradientBoostingClassifier(**BASE).fit(_split(DF, (700, 500)), _split(Y, (700, 500)))
    new = pd.DataFrame({"a": [0.1, 0.2, -1.0], "site": ["nowhere", "north", None],
                        "payer": pd.Categorical(["Z", "A", "B"]),
                        "ward": pd.array(["w99", "w03", "w07"], dtype="string")})
    missing = new.assign(site=[None, "north", None], payer=pd.Categorical([None, "A", "B"]),
                         ward=pd.array([None, "w03", "w07"], dtype="string"))
    ref = est.predict_proba(missing)  # unseen levels are scored as missing
    np.testing.assert_array_equal(est.predict_proba(new), ref)
    np.testing.assert_array_equal(dist.predict_proba(new), ref)
    out = dist.predict_proba(dd.from_pandas(new, npartitions=2)).compute()
    np.testing.assert_array_equal(out, ref)


def test_frequency_cap_pooling_codes_eval_set_and_weights(client2):
    rng = np.random.default_rng(5)
    w = rng.uniform(0.2, 3.0, size=N)
    cases = [
        # 20 ward levels over 15 value bins: the 14 most frequent (summed counts) keep a bin
        (dict(BASE, max_bins=15, cat_encoding="partition"), {}),
        # levels with fewer than 40 rows share the pooled bin
        (dict(BASE, min_data_per_category=40), {"sample_weight": w}),
        (dict(BASE, class_weight="balanced", subsample=0.7, colsample_bytree=0.75), {}),
        (dict(BASE, n_estimators=60, learning_rate=0.9, early_stopping=True,
              n_iter_no_change=2), {"eval_set": (DFV, YV)}),
        # the hashed hold-out: category bins counted over the training rows only
        (dict(BASE, n_estimators=60, learning_rate=0.9, early_stopping=True, n_iter_no_change=2,
              validation_fraction=0.3, min_data_per_category=30), {}),
    ]
    sizes = (300, 0, 600, 300)
    for params, kw in cases:
        est, ref = _local(params, **kw)
        dkw = {}
        if "sample_weight" in kw:
            dkw["sample_weight"] = _split(pd.Series(kw["sample_weight"]), sizes)
        if "eval_set" in kw:
            dkw["eval_set"] = (_split(DFV, (200, 300)), _split(YV, (200, 300)))
        dist = DaskGradientBoostingClassifier(**params).fit(_split(DF, sizes), _split(Y, sizes),
                                                            **dkw)
        assert _sha(dist.to_bytes()) == ref, params
        np.testing.assert_array_equal(dist.validation_loss_, est.validation_loss_)
        if params.get("early_stopping"):
            assert est.best_iteration_ < est.n_iter_ < 60  # early stopping stopped


def test_categorical_features_on_a_numeric_array_of_codes(client2):
    codes = np.c_[DF["a"].to_numpy(), DF["payer"].cat.codes.to_numpy().astype(np.float64),
                  np.where(DF["site"].isna(), np.nan, DF["site"].astype("category").cat.codes)]
    for spec in ([1, 2], [False, True, True]):
        params = dict(BASE, categorical_features=spec)
        est = cr.GradientBoostingClassifier(**params).fit(codes, Y.to_numpy())
        Xd = da.from_array(codes, chunks=((500, 0, 700), -1))
        yd = da.from_array(Y.to_numpy(), chunks=((500, 0, 700),))
        dist = DaskGradientBoostingClassifier(**params).fit(Xd, yd)
        assert _sha(dist.to_bytes()) == _sha(est._model.to_bytes())
        np.testing.assert_array_equal(dist.predict_proba(Xd).compute(), est.predict_proba(codes))
    bad = codes.copy()
    bad[1000, 1] = 1.5
    with pytest.raises(InvalidInputError, match="category codes must be integers"):
        DaskGradientBoostingClassifier(**BASE, categorical_features=[1]).fit(
            da.from_array(bad, chunks=(600, -1)), da.from_array(Y.to_numpy(), chunks=600))


def test_target_statistics_and_hierarchies_are_refused(client2):
    rng = np.random.default_rng(2)
    many = DF.assign(dx=[f"d{k}" for k in rng.integers(0, 60, size=N)])
    Xd, yd = _split(many, (600, 600)), _split(Y, (600, 600))
    # auto: 60 levels > cat_ts_min_levels -> target statistics single-process
    with pytest.raises(InvalidParamsError, match="target statistics.*cat_encoding='partition'"):
        DaskGradientBoostingClassifier(**BASE).fit(Xd, yd)
    with pytest.raises(InvalidParamsError, match="target statistics"):
        DaskGradientBoostingClassifier(**BASE, cat_encoding="target_stats").fit(
            _split(DF, (600, 600)), yd)
    est, ref = _local(dict(BASE, cat_encoding="partition"), df=many)
    dist = DaskGradientBoostingClassifier(**BASE, cat_encoding="partition").fit(Xd, yd)
    assert _sha(dist.to_bytes()) == ref
    with pytest.raises(InvalidParamsError, match="code_hierarchy"):
        DaskGradientBoostingClassifier(**BASE, code_hierarchy={"site": None}).fit(
            _split(DF, (600, 600)), yd)


def test_a_text_column_not_declared_categorical_is_an_error(client2):
    with pytest.raises(InvalidInputError, match="not categorical features.*categorical_features"):
        DaskGradientBoostingClassifier(**BASE, categorical_features=["payer"]).fit(
            _split(DF, (600, 600)), _split(Y, (600, 600)))
