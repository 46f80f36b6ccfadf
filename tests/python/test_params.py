# SPDX-License-Identifier: Apache-2.0
"""Parameters declared once (issue 10 §1): every Python default equals the C++ default of the
same field, the generated docs table matches the declarations, old spellings warn, and
max_delta_step works end to end (Python and CLI)."""

import importlib.util
import json
import os
import pathlib
import subprocess
import warnings

import numpy as np
import pytest

import calibrisk as cr
from calibrisk import _core

REPO = pathlib.Path(__file__).resolve().parents[2]

BOUND = ["GBDTParams", "LogisticRegressionParams", "PlattParams", "IsotonicParams", "BetaParams",
         "VennAbersParams", "CalibratedParams", "TemperatureParams", "OneVsRestParams",
         "DirichletParams"]


def test_every_bound_params_struct_lists_its_fields_with_defaults():
    for name in BOUND:
        cls = getattr(_core, name)
        obj = cls()
        for f in cls.fields:
            assert {"name", "default", "range", "doc", "execution", "since"} <= set(f)
            assert f["doc"], (name, f["name"])
            assert getattr(obj, f["name"]) == f["default"], (name, f["name"])


def _gbdt_core_params(est):
    return est._make_params(n_features=3, n_samples=100)


def test_every_bound_params_struct_pickles_field_for_field():
    # Shipped to the Dask worker that drives a distributed fit: the copy must be exact.
    import pickle

    for name in BOUND:
        obj = getattr(_core, name)()
        back = pickle.loads(pickle.dumps(obj))
        assert type(back) is type(obj)
        for f in obj.fields:
            assert getattr(back, f["name"]) == getattr(obj, f["name"]), (name, f["name"])
    est = cr.GradientBoostingClassifier(
        class_weight={0: 1.0, 1: 3.5}, subsample=0.7, learning_rate=0.05, max_leaf_nodes=17,
        monotonic_cst=[1, 0, -1], categorical_features=[1], cat_encoding="partition",
        early_stopping=True, random_state=11)
    p = est._make_params(3, 5000)
    q = pickle.loads(pickle.dumps(p))
    for f in p.fields:
        assert getattr(q, f["name"]) == getattr(p, f["name"]), f["name"]
    assert q.class_weight == {0: 1.0, 1: 3.5} and q.monotonic_cst == [1, 0, -1]
    # per-class weights (not visible as the class_weight attribute) travel too
    p.set_class_weight_per_class([1.0, 2.0, 4.0])
    assert pickle.dumps(pickle.loads(pickle.dumps(p))) == pickle.dumps(p)
    assert pickle.dumps(pickle.loads(pickle.dumps(p))) != pickle.dumps(q)
    # the state is the model file's params object with every field (execution settings too)
    import json

    state = json.loads(p.__getstate__())
    assert set(state) == {f["name"] for f in p.fields}
    assert state["class_weight"]["per_class"] == [1.0, 2.0, 4.0]
    assert state["n_threads"] == p.n_threads and state["learning_rate"] == 0.05
    del state["n_threads"]
    with pytest.raises(cr.InvalidParamsError, match="not a pickled state.*n_threads is missing"):
        _core.GBDTParams.__new__(_core.GBDTParams).__setstate__(json.dumps(state))
    with pytest.raises(cr.InvalidParamsError, match="not a pickled state"):
        _core.GBDTParams.__new__(_core.GBDTParams).__setstate__("[1, 0.1]")
    state = json.loads(p.__getstate__())
    state["learning_rate"] = -1.0
    with pytest.raises(cr.InvalidParamsError, match="learning_rate"):
        _core.GBDTParams.__new__(_core.GBDTParams).__setstate__(json.dumps(state))


def test_gradient_boosting_defaults_equal_the_cpp_defaults_for_every_field():
    made = _gbdt_core_params(cr.GradientBoostingClassifier())
    ref = _core.GBDTParams()
    for f in _core.GBDTParams.fields:
        assert getattr(made, f["name"]) == getattr(ref, f["name"]), f["name"]
    # and each field with a plain Python default is that default, read from _core
    params = cr.GradientBoostingClassifier().get_params()
    for f in _core.GBDTParams.fields:
        if f["name"] in params and params[f["name"]] is not None:
            assert params[f["name"]] == f["default"], f["name"]


def test_logistic_regression_defaults_equal_the_cpp_defaults_for_every_field():
    est = cr.LogisticRegression()
    core = est._core_params(np.array([0, 1]))
    params = est.get_params()
    for f in _core.LogisticRegressionParams.fields:
        name = f["name"]
        if name == "class_weight":
            assert params[name] is None and f["default"] is None
            assert core.class_weight is None
            continue
        if name == "categorical_features":  # Python spells "none" as None
            assert params[name] is None and f["default"] == [] and core.categorical_features == []
            continue
        assert params[name] == f["default"], name
        assert getattr(core, name) == f["default"], name


@pytest.mark.parametrize("est, name, python_only", [
    (cr.PlattCalibrator(), "PlattParams", set()),
    (cr.BetaCalibrator(), "BetaParams", set()),
    # y_min / y_max: None is Python's spelling of the C++ default -inf / +inf
    (cr.IsotonicCalibrator(), "IsotonicParams", {"y_min", "y_max"}),
    # split: Python's cv="group"/"time" choose it; random_state: None = seed 0
    (cr.CalibratedClassifier(), "CalibratedParams", {"split", "random_state"}),
    # input: Python's default "auto" detects probabilities as scikit-learn does
    (cr.TemperatureScaling(), "TemperatureParams", {"input"}),
    (cr.OneVsRestCalibrator(), "OneVsRestParams", {"input"}),
    (cr.DirichletCalibrator(), "DirichletParams", {"input"}),
])
def test_calibration_defaults_equal_the_cpp_defaults(est, name, python_only):
    params = est.get_params()
    for f in getattr(_core, name).fields:
        if f["name"] in python_only:
            continue
        assert params[f["name"]] == f["default"], (name, f["name"])
    iso = _core.IsotonicParams()
    assert iso.y_min == -np.inf and iso.y_max == np.inf


def test_calibrated_classifier_old_method_spelling_warns():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 2))
    y = (X[:, 0] + rng.normal(size=300) > 0).astype(int)
    new = cr.CalibratedClassifier(cr.LogisticRegression(), method="sigmoid", cv=3).fit(X, y)
    with pytest.warns(FutureWarning, match="method='platt' is deprecated"):
        old = cr.CalibratedClassifier(cr.LogisticRegression(), method="platt", cv=3).fit(X, y)
    np.testing.assert_array_equal(new.predict_proba(X), old.predict_proba(X))


def test_params_attributes_take_the_canonical_enum_spellings():
    p = _core.LogisticRegressionParams()
    assert p.missing == "mean"
    p.missing = "mean_with_indicator"
    assert p.missing == "mean_with_indicator"
    with pytest.warns(FutureWarning, match="mean_with_indicator"):
        p.missing = "mean_indicator"
    assert p.missing == "mean_with_indicator"
    with pytest.raises(cr.InvalidParamsError, match="must be 'mean' or 'mean_with_indicator'"):
        p.missing = "median"
    g = _core.GBDTParams()
    assert g.class_weight is None
    g.class_weight = {0: 1.0, 1: 5.0}
    assert g.class_weight == {0: 1.0, 1: 5.0}
    g.class_weight = "balanced"
    assert g.class_weight == "balanced"


def test_python_missing_old_spelling_warns_and_fits_the_same_model():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    X[rng.random(200) < 0.2, 1] = np.nan
    y = (X[:, 0] + rng.normal(size=200) > 0).astype(int)
    new = cr.LogisticRegression(missing="mean_with_indicator").fit(X, y)
    with pytest.warns(FutureWarning, match="missing='mean_indicator' is deprecated"):
        old = cr.LogisticRegression(missing="mean_indicator").fit(X, y)
    np.testing.assert_array_equal(new.coef_, old.coef_)
    assert new.coef_.shape[1] == 4  # the indicator of column 1


def _load_generator():
    spec = importlib.util.spec_from_file_location("gen_params_doc",
                                                  REPO / "scripts" / "gen_params_doc.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_docs_parameter_tables_match_the_declarations():
    gen = _load_generator()
    text = (REPO / "docs" / "parameters.md").read_text()
    assert text == gen.render(), "docs/parameters.md is out of date: run scripts/gen_params_doc.py"
    for name in BOUND:
        for f in getattr(_core, name).fields:
            assert f"| `{f['name']}` | {gen.default_text(f['default'])} |" in text, (name, f)


def test_docs_point_to_the_generated_table_instead_of_repeating_it():
    # A hand-written copy of a field list is a second declaration that goes stale; the docs
    # that describe parameters link the generated reference instead.
    for doc in ("cli.md", "linear.md", "trees.md", "contributing.md"):
        text = (REPO / "docs" / doc).read_text()
        assert "parameters.md" in text, doc
    cli = (REPO / "docs" / "cli.md").read_text()
    assert "| `gbdt` |" not in cli and "| `lr` |" not in cli


# ---- max_delta_step: the worked example of docs/contributing.md ----------------------------------

X4 = np.array([[0.0], [0.0], [1.0], [1.0]])
Y4 = np.array([0, 0, 1, 1])


def _tiny(max_delta_step):
    return cr.GradientBoostingClassifier(
        n_estimators=1, learning_rate=0.5, max_leaf_nodes=2, min_samples_leaf=1,
        max_delta_step=max_delta_step).fit(X4, Y4)


def test_max_delta_step_clamps_the_leaf_step_from_python():
    # base score log(2/2) = 0; leaves G = +-1, H = 1/2: raw steps -+2, clamped to -+0.5, x 0.5.
    np.testing.assert_array_equal(_tiny(0.0).decision_function(X4), [-1.0, -1.0, 1.0, 1.0])
    np.testing.assert_array_equal(_tiny(0.5).decision_function(X4), [-0.25, -0.25, 0.25, 0.25])
    assert cr.GradientBoostingClassifier().max_delta_step == 0.0
    with pytest.raises(cr.InvalidParamsError, match="max_delta_step must be finite and >= 0"):
        _tiny(-1.0)


CLI = pathlib.Path(os.environ.get("CALIBRISK_CLI", REPO / "build" / "bin" / "calibrisk"))


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    path = tmp_path_factory.mktemp("cohort") / "cohort.csv"
    subprocess.run([str(CLI), "generate", "--rows", "2000", "--seed", "3", "--out", str(path)],
                   check=True, capture_output=True, text=True, timeout=600)
    return path


TRAIN_FLAGS = [
    "--label", "readmitted", "--group-column", "patient_id", "--time-column", "encounter_date",
    "--drop", "encounter_id", "--drop", "true_risk", "--categorical", "site", "--drop", "age_band",
]


def _train(cohort, out, *params):
    args = [str(CLI), "train", "--data", str(cohort), *TRAIN_FLAGS, "--model", "gbdt",
            "--calibration", "none", "--out", str(out), "--quiet"]
    for p in params:
        args += ["--param", p]
    return subprocess.run(args, capture_output=True, text=True, timeout=600)


def test_cli_calibration_sigmoid_is_the_spelling_and_platt_warns(cohort, tmp_path):
    new = subprocess.run(
        [str(CLI), "train", "--data", str(cohort), *TRAIN_FLAGS, "--model", "lr", "--calibration",
         "sigmoid", "--out", str(tmp_path / "s.json"), "--quiet"],
        capture_output=True, text=True, timeout=600)
    old = subprocess.run(
        [str(CLI), "train", "--data", str(cohort), *TRAIN_FLAGS, "--model", "lr", "--calibration",
         "platt", "--out", str(tmp_path / "p.json"), "--quiet"],
        capture_output=True, text=True, timeout=600)
    assert new.returncode == 0 and new.stderr == "", new.stderr
    assert old.returncode == 0
    assert "--calibration platt is a deprecated spelling; use --calibration sigmoid" in old.stderr
    # the same calibrator and, in the file, the same spelling as before
    a = json.loads((tmp_path / "s.json").read_text())
    b = json.loads((tmp_path / "p.json").read_text())
    assert a["calibrator"]["type"] == b["calibrator"]["type"] == "platt"
    assert a["calibrator"] == b["calibrator"]


def test_cli_param_old_enum_spelling_warns(cohort, tmp_path):
    proc = subprocess.run(
        [str(CLI), "train", "--data", str(cohort), *TRAIN_FLAGS, "--model", "lr", "--param",
         "missing=mean_indicator", "--out", str(tmp_path / "m.json"), "--quiet"],
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "missing=mean_indicator is a deprecated spelling; use missing=mean_with_indicator" \
        in proc.stderr
    doc = json.loads((tmp_path / "m.json").read_text())
    assert doc["model"]["params"]["missing"] == "mean_with_indicator"


def test_max_delta_step_through_the_cli(cohort, tmp_path):
    base = _train(cohort, tmp_path / "base.json", "n_estimators=5")
    clamped = _train(cohort, tmp_path / "clamped.json", "n_estimators=5", "max_delta_step=0.5")
    assert base.returncode == 0, base.stderr
    assert clamped.returncode == 0, clamped.stderr
    doc0 = json.loads((tmp_path / "base.json").read_text())
    doc1 = json.loads((tmp_path / "clamped.json").read_text())
    assert "max_delta_step" not in doc0["model"]["params"]
    assert "model.max_delta_step" not in json.dumps(doc0["provenance"])
    assert doc1["model"]["params"]["max_delta_step"] == 0.5
    leaves = [abs(v) for t in doc1["model"]["state"]["trees"]
              for v, left in zip(t["value"], t["left"]) if left < 0]
    lr = doc1["model"]["params"]["learning_rate"]
    assert max(leaves) <= 0.5 * lr + 1e-15


# --- the estimators' parameters come from the field tables (no Python edit per new field) -------

# Fields Python spells differently (None for "unlimited", label-keyed dicts, "auto", RandomState):
# declared in ensemble.py; every other field must come from _core.GBDTParams.fields unedited.
GBDT_PYTHON_SPELLED = {"max_depth", "class_weight", "monotonic_cst", "categorical_features",
                       "early_stopping",
                       "random_state"}


def _other_value(default):
    """A valid non-default value of the same type (every range in GBDTParams admits it)."""
    if isinstance(default, bool):
        return not default
    if isinstance(default, int):
        return default + 1
    if isinstance(default, str):  # an enum: another of its spellings
        return {"auto": "partition"}[default]
    return 0.25 if default == 0.0 else default * 0.5


def test_every_gbdt_field_is_a_keyword_of_the_estimator_with_the_cpp_default():
    import inspect

    sig = inspect.signature(cr.GradientBoostingClassifier)
    for f in _core.GBDTParams.fields:
        assert f["name"] in sig.parameters, f["name"]
        param = sig.parameters[f["name"]]
        assert param.kind is inspect.Parameter.KEYWORD_ONLY
        if f["name"] not in GBDT_PYTHON_SPELLED:
            assert param.default == f["default"], f["name"]
            assert f"    {f['name']} : default=" in cr.GradientBoostingClassifier.__doc__


@pytest.mark.parametrize("field", [f for f in _core.GBDTParams.fields
                                   if f["name"] not in GBDT_PYTHON_SPELLED],
                         ids=lambda f: f["name"])
def test_every_gbdt_field_set_in_python_reaches_the_cpp_params(field):
    name, value = field["name"], _other_value(field["default"])
    est = cr.GradientBoostingClassifier(**{name: value})
    assert est.get_params()[name] == value
    assert getattr(est._make_params(3, 200), name) == value
    if field["execution"]:
        return  # execution-only fields are not saved in model files
    rng = np.random.RandomState(0)
    X = rng.rand(200, 3)
    y = (X[:, 0] + 0.3 * rng.rand(200) > 0.6).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        est = cr.GradientBoostingClassifier(**{"n_estimators": 2, name: value}).fit(X, y)
    saved = json.loads(est._model.to_bytes())["params"]
    assert saved[name] == value, name


def test_generated_init_keeps_the_scikit_learn_protocol():
    from sklearn.base import clone

    est = cr.GradientBoostingClassifier(max_leaf_nodes=7, max_depth=3)
    assert repr(est) == "GradientBoostingClassifier(max_depth=3, max_leaf_nodes=7)"
    twin = clone(est)
    assert twin.get_params() == est.get_params()
    assert twin.set_params(learning_rate=0.2).learning_rate == 0.2
    with pytest.raises(TypeError, match="max_leaves"):
        cr.GradientBoostingClassifier(max_leaves=7)
    with pytest.raises(TypeError):
        cr.GradientBoostingClassifier(100)


def test_a_new_cpp_field_needs_no_python_edit():
    # The same decorator GradientBoostingClassifier uses, over the table plus one new field.
    from sklearn.base import BaseEstimator, clone

    from calibrisk._validation import params_from_fields

    class NewParams:
        fields = list(_core.GBDTParams.fields) + [dict(
            name="new_knob", default=3, range=">= 0", doc="A knob added in C++.",
            execution=False, since="1.3")]

    @params_from_fields(NewParams)
    class Est(BaseEstimator):
        """An estimator."""

    assert Est().new_knob == 3
    assert clone(Est(new_knob=4)).get_params()["new_knob"] == 4
    assert "new_knob : default=3, >= 0\n        A knob added in C++." in Est.__doc__


@pytest.mark.parametrize("cls, params, python_spelled", [
    (cr.LogisticRegression, _core.LogisticRegressionParams,
     {"class_weight", "missing", "categorical_features"}),
    (cr.PlattCalibrator, _core.PlattParams, set()),
    (cr.IsotonicCalibrator, _core.IsotonicParams, {"y_min", "y_max"}),
    (cr.BetaCalibrator, _core.BetaParams, set()),
], ids=lambda v: getattr(v, "__name__", ""))
def test_linear_and_calibrator_keywords_come_from_the_field_tables(cls, params, python_spelled):
    import inspect

    sig = inspect.signature(cls)
    assert [n for n in sig.parameters if n not in python_spelled] == [
        f["name"] for f in params.fields if f["name"] not in python_spelled]
    for f in params.fields:
        if f["name"] not in python_spelled:
            assert sig.parameters[f["name"]].default == f["default"], f["name"]
            assert f"    {f['name']} : default=" in cls.__doc__


def test_lr_and_calibrators_are_bound_from_their_params_objects():
    p = _core.LogisticRegressionParams()
    p.C, p.missing, p.class_weight = 0.5, "mean_with_indicator", {0: 1.0, 1: 3.0}
    rng = np.random.RandomState(1)
    X = rng.rand(300, 2)
    X[::7, 1] = np.nan
    y = (X[:, 0] + 0.2 * rng.rand(300) > 0.6).astype(float)
    core = _core.LogisticRegressionModel(p)
    core.fit(X, y, None)
    est = cr.LogisticRegression(C=0.5, missing="mean_with_indicator",
                                class_weight={0: 1.0, 1: 3.0}).fit(X, y)
    assert core.to_bytes() == est._model.to_bytes()
    saved = json.loads(core.to_bytes())["params"]
    assert saved["C"] == 0.5 and saved["missing"] == "mean_with_indicator"
    # the calibrators: the Params object is the constructor argument, validated there
    pp = _core.PlattParams()
    pp.input, pp.max_iter = "probability", 50
    s = rng.rand(300)
    platt = _core._PlattCalibrator(pp)
    platt.fit(s, y, None)
    ref = cr.PlattCalibrator(input="probability", max_iter=50).fit(s, y)
    assert platt.to_bytes() == ref._cal.to_bytes()
    bad = _core.BetaParams()
    bad.eps = 0.7
    with pytest.raises(cr.InvalidParamsError, match="eps"):
        _core._BetaCalibrator(bad)
    with pytest.raises(cr.InvalidParamsError, match="max_iter must be an int"):
        cr.BetaCalibrator(max_iter=2.5).fit(s, y)
