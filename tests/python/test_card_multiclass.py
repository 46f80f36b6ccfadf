# SPDX-License-Identifier: Apache-2.0
"""The model card of a K-class pipeline from Python (issue 13 item 6): ``model_card`` takes a
``MulticlassReport`` (object, dict or path); the review queue per 1,000 items is recomputed here
from the report's review rate and accuracy; a hostile class label stays text (html.parser finds no
script element); ``MulticlassReport.from_json`` round-trips and names a malformed document."""

import html.parser
import json
import re

import numpy as np
import pytest

import calibrisk as cr
from _multiclass_data import softmax_data
from calibrisk.report import MulticlassReport, evaluate_multiclass

LABELS = np.array(["<script>alert(1)</script>", "lab", "paid"])


def _data(n, seed):
    return softmax_data(n, seed, LABELS)


@pytest.fixture(scope="module")
def parts():
    X, y = _data(900, 1)
    Xt, yt = _data(400, 2)
    clf = cr.CalibratedClassifier(cr.LogisticRegression(), method="temperature", cv=3,
                                  ensemble=False).fit(X, y)
    review = cr.select_review_threshold(y, clf.predict_proba(X), min_accuracy=0.8,
                                        classes=clf.classes_)
    pipe = clf.to_pipeline(review=review)
    report = evaluate_multiclass(yt, pipe.predict_proba(Xt), classes=pipe.classes_,
                                 review_policy=review, n_bootstrap=50)
    return pipe, report


class _Tags(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []
        self.text = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.text.append(data)


def _fmt(v):
    return f"{v:.1f}"


def test_card_of_a_k_class_pipeline_with_its_report(parts, tmp_path):
    pipe, report = parts
    path = tmp_path / "r.json"
    report.to_json(path)
    for rep in (report, report.to_dict(), str(path)):
        page = cr.model_card(pipe, report=rep)
        p = _Tags()
        p.feed(page)
        assert "script" not in p.tags
        text = "".join(p.text)
        assert "<script>alert(1)</script>" in text  # shown as text
        q = report["review"]
        auto = 1000 * (1 - q["review_rate"]["value"])
        errors = auto * (1 - q["accuracy"]["value"])
        assert _fmt(auto) in text and _fmt(1000 - auto) in text and _fmt(errors) in text
        assert "Evaluated on 400 rows of 3 classes" in text
    md = cr.model_card(pipe, report=report, format="md")
    assert re.search(r"(?<!\\)<", md) is None  # every "<" is escaped
    auto = 1000 * (1 - report["review"]["review_rate"]["value"])
    assert re.search(r"\| auto\\?-routed \| " + re.escape(_fmt(auto)) + r" \(", md)


def test_card_without_report_and_with_the_wrong_kind(parts):
    pipe, _ = parts
    page = cr.model_card(pipe)
    assert "--report report.json" in page and "3-class model" in page
    binary = cr.report.evaluate(np.array([0, 1, 1, 0]), np.array([0.2, 0.7, 0.6, 0.4]),
                                n_bootstrap=0)
    with pytest.raises(cr.InvalidInputError, match="binary evaluation report"):
        cr.model_card(pipe, report=binary)


def test_multiclass_report_from_json_round_trips_and_names_bad_paths(parts, tmp_path):
    _, report = parts
    again = MulticlassReport.from_json(report.to_json())
    assert again.to_dict() == report.to_dict()
    assert again.to_html() == report.to_html()
    doc = report.to_dict()
    doc["per_class"][0]["class"] = 99
    with pytest.raises(cr.InvalidInputError, match="/per_class/0/class"):
        MulticlassReport(json.dumps(doc))
