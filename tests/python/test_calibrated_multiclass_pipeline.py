# SPDX-License-Identifier: Apache-2.0
"""``CalibratedClassifier.to_pipeline`` on K classes (issue 13 item 6): the deployable K-class
``calibrisk.Pipeline`` scores held-out rows as the classifier does (the classifier's own
estimator + calibrator, computed in Python, is the reference), for multinomial logistic
regression and softmax trees, each multiclass calibration method, every export route (prefit,
ensemble=False, cv="time"), with a review queue; it survives save/load bit for bit, and
classifiers that cannot be one pipeline are refused with a clear message."""

import numpy as np
import pytest

import calibrisk as cr
from _multiclass_data import softmax_data


_data = softmax_data


def _base(kind):
    if kind == "lr":
        return cr.LogisticRegression()
    return cr.GradientBoostingClassifier(n_estimators=20, max_leaf_nodes=8, random_state=0)


@pytest.fixture(scope="module")
def data():
    X, y = _data(900, 1)
    Xt, yt = _data(300, 7)
    return X, y, Xt, yt


@pytest.mark.parametrize("kind", ["lr", "gbdt"])
@pytest.mark.parametrize("method", ["temperature", "sigmoid", "isotonic", "beta", "dirichlet"])
def test_pipeline_scores_as_the_classifier_and_survives_save_load(data, kind, method, tmp_path):
    X, y, Xt, _ = data
    clf = cr.CalibratedClassifier(_base(kind), method=method, cv=3, ensemble=False).fit(X, y)
    pipe = clf.to_pipeline(X_train=X, y_train=y)
    assert pipe.n_classes == 3
    assert list(pipe.classes_) == ["denied", "paid", "review"]
    want = clf.predict_proba(Xt)
    P = pipe.predict_proba(Xt)
    np.testing.assert_allclose(P, want, rtol=0, atol=1e-12)
    assert (pipe.predict(Xt) == clf.predict(Xt)).all()
    expected_type = {"temperature": "temperature", "dirichlet": "dirichlet"}.get(method,
                                                                                "one_vs_rest")
    assert pipe.calibrator_type == expected_type
    path = tmp_path / "model.json"
    pipe.save(path)
    again = cr.load(path)
    assert again.to_string() == pipe.to_string()
    assert np.array_equal(again.predict_proba(Xt), P)


@pytest.mark.parametrize("kind", ["lr", "gbdt"])
def test_prefit_and_time_routes_and_the_review_queue(data, kind):
    X, y, Xt, yt = data
    base = _base(kind).fit(X[:500], y[:500])
    prefit = cr.CalibratedClassifier(base, method="temperature", cv="prefit").fit(X[500:], y[500:])
    time = np.arange(len(y), dtype=np.float64)
    timed = cr.CalibratedClassifier(_base(kind), method="dirichlet", cv="time").fit(X, y, time=time)
    for clf in (prefit, timed):
        P_cal = clf.predict_proba(X[500:])
        review = cr.select_review_threshold(y[500:], P_cal, min_accuracy=0.8, classes=clf.classes_)
        pipe = clf.to_pipeline(review=review)
        want = clf.predict_proba(Xt)
        P = pipe.predict_proba(Xt)
        np.testing.assert_allclose(P, want, rtol=0, atol=1e-12)
        # Routes by hand: auto when the top probability reaches the saved threshold.
        t = float(review.threshold)
        assert (pipe.route(Xt) == np.where(want.max(axis=1) >= t, "auto", "review")).all()
        assert cr.loads(pipe.to_string()).to_string() == pipe.to_string()


def test_classifiers_that_are_not_one_pipeline_are_refused(data):
    X, y, _, _ = data
    ens = cr.CalibratedClassifier(cr.LogisticRegression(), method="temperature", cv=3,
                                  ensemble=True).fit(X, y)
    with pytest.raises(cr.InvalidInputError, match="ensemble=False"):
        ens.to_pipeline()
    from sklearn.linear_model import LogisticRegression

    sk = cr.CalibratedClassifier(LogisticRegression(max_iter=500), method="temperature", cv=3,
                                 ensemble=False).fit(X, y)
    with pytest.raises(cr.InvalidInputError, match="calibrisk LogisticRegression"):
        sk.to_pipeline()
