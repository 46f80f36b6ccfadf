# SPDX-License-Identifier: Apache-2.0
"""K-class ``calibrisk.Pipeline`` (format 1.6): ``from_estimators`` with a multinomial
``LogisticRegression``, a multiclass calibrator and a review threshold; probabilities, labels and
routes against independent computations (scikit-learn's multinomial LR on the same objective, the
softmax of the temperature-scaled logits, routes by hand), save / load / pickle bit-identically,
and bad combinations rejected."""

import pickle

import numpy as np
import pytest

import calibrisk as cr
from _multiclass_data import softmax_data


_data = softmax_data


@pytest.fixture(scope="module")
def parts():
    X, y = _data(800, 1)
    Xc, yc = _data(400, 2)
    Xt, _ = _data(60, 3)
    lr = cr.LogisticRegression().fit(X, y)
    temp = cr.TemperatureScaling().fit(lr.decision_function(Xc), yc, classes=lr.classes_)
    review = cr.select_review_threshold(yc, temp.predict_proba(lr.decision_function(Xc)),
                                        min_accuracy=0.8, classes=lr.classes_)
    return lr, temp, review, X, y, Xt


def test_probabilities_labels_and_routes(parts):
    from sklearn.linear_model import LogisticRegression

    lr, temp, review, X, y, Xt = parts
    pipe = cr.Pipeline.from_estimators(lr, temp, X_train=X, y_train=y, review=review)
    assert pipe.n_classes == 3
    assert list(pipe.classes_) == ["denied", "paid", "review"]
    P = pipe.predict_proba(Xt)
    # Oracle: scikit-learn's multinomial LR (same objective) and softmax(beta * z) by hand.
    sk = LogisticRegression(C=1.0, solver="newton-cholesky", tol=1e-12).fit(X, y)
    z = sk.decision_function(Xt) * temp.beta_
    want = np.exp(z - z.max(axis=1, keepdims=True))
    want /= want.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(P, want, atol=1e-6)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, atol=1e-12)
    assert (pipe.predict(Xt) == pipe.classes_[P.argmax(axis=1)]).all()
    t = float(review.threshold)
    assert (pipe.route(Xt) == np.where(P.max(axis=1) >= t, "auto", "review")).all()
    assert pipe.review_policy["thresholds"] == [t]


def test_save_load_and_pickle_are_bit_identical(parts, tmp_path):
    lr, temp, review, X, y, Xt = parts
    pipe = cr.Pipeline.from_estimators(lr, temp, review=review)
    text = pipe.to_string()
    assert '"format_version": "1.6"' in text
    again = cr.loads(text)
    assert again.to_string() == text
    assert np.array_equal(again.predict_proba(Xt), pipe.predict_proba(Xt))
    back = pickle.loads(pickle.dumps(pipe))
    assert np.array_equal(back.predict_proba(Xt), pipe.predict_proba(Xt))
    assert (back.route(Xt) == pipe.route(Xt)).all()


def test_uncalibrated_k_class_pipeline_is_the_model_softmax(parts):
    lr, _, _, _, _, Xt = parts
    pipe = cr.Pipeline.from_estimators(lr)
    np.testing.assert_array_equal(pipe.predict_proba(Xt), lr.predict_proba(Xt))
    assert (pipe.route(Xt) == "auto").all()


def test_bad_combinations_are_rejected(parts):
    lr, temp, review, X, y, Xt = parts
    Xb = X[:, :2]
    yb = (y == "paid").astype(int)
    binary = cr.LogisticRegression().fit(Xb, yb)
    with pytest.raises(ValueError, match="more than two classes"):
        cr.Pipeline.from_estimators(binary, temp)
    with pytest.raises(ValueError, match="review routes K-class"):
        cr.Pipeline.from_estimators(binary, review=review)
    platt = cr.PlattCalibrator().fit(np.linspace(-1, 1, 20), np.arange(20) % 2)
    with pytest.raises(ValueError, match="TemperatureScaling"):
        cr.Pipeline.from_estimators(lr, platt)
    pipe = cr.Pipeline.from_estimators(lr, temp)
    with pytest.raises(ValueError, match="predict_proba_matrix"):
        pipe.predict_risk(Xt)


def test_train_on_a_dataframe_with_text_labels():
    pd = pytest.importorskip("pandas")
    X, y = _data(900, 4)
    df = pd.DataFrame(X, columns=["a", "b", "c", "d"]).assign(outcome=y)
    r = cr.train(df, label="outcome", model="lr", max_review_rate=0.3)
    assert r.n_classes == 3 and r.classes == ["denied", "paid", "review"]
    assert list(r.pipeline.classes_) == r.classes
    # The review budget holds on the calibration part (recounted from its probabilities).
    P = r.calibration.P
    t = r.pipeline.review_policy["thresholds"][0]
    assert (P.max(axis=1) < t).mean() <= 0.3
    np.testing.assert_array_equal(r.pipeline.predict_proba(r.test.X), r.test.P)
    # task="binary" reads the label as numbers: the text label is named as the problem.
    with pytest.raises(ValueError, match="column 'outcome' has the non-numeric value"):
        cr.train(df, label="outcome", model="lr", task="binary")


def test_softmax_trees_make_a_k_class_pipeline(tmp_path):
    """A multiclass GradientBoostingClassifier with temperature scaling: the pipeline's
    probabilities are the softmax of beta x the trees' raw scores (by hand from the estimator's
    decision_function), they survive save / load bit for bit, and labels are the argmax."""
    X, y = _data(900, 4)
    Xc, yc = _data(400, 5)
    Xt, _ = _data(50, 6)
    gb = cr.GradientBoostingClassifier(n_estimators=20, random_state=0).fit(X, y)
    temp = cr.TemperatureScaling().fit(gb.decision_function(Xc), yc, classes=gb.classes_)
    pipe = cr.Pipeline.from_estimators(gb, temp, X_train=X, y_train=y)
    assert pipe.n_classes == 3 and list(pipe.classes_) == list(gb.classes_)
    z = gb.decision_function(Xt) * temp.beta_
    want = np.exp(z - z.max(axis=1, keepdims=True))
    want /= want.sum(axis=1, keepdims=True)
    P = pipe.predict_proba(Xt)
    np.testing.assert_allclose(P, want, rtol=1e-12, atol=1e-15)
    path = tmp_path / "trees.json"
    pipe.save(str(path))
    back = cr.load(str(path))
    assert np.array_equal(back.predict_proba(Xt), P)
    assert (back.predict(Xt) == gb.classes_[P.argmax(axis=1)]).all()
