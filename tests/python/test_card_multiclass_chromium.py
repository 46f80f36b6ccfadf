# SPDX-License-Identifier: Apache-2.0
"""The model card of a K-class model from the command line (``calibrisk train`` on a multiclass
label with ``--json``, then ``calibrisk card``), rendered in headless Chromium: no console message
(no script error, no console output), every section of the K-class card present, the classes and
the review queue per 1,000 items shown, nothing loaded from outside the page, and hostile card-spec
strings kept as text. Without Chromium the test is skipped locally but fails under ``CI=true``
(scripts/install-deps.sh installs it), as test_card.py's binary check."""

import csv
import html as htmllib
import json
import re

import pytest

from _chromium import dump_dom_and_console
from test_cli import run

FEATURES = ["member_age", "billed_amount", "units", "prior_authorization",
            "days_to_submission", "same_service_claims", "payer"]
SECTIONS = ["intended-use", "provenance", "performance", "per-class", "operating-point",
            "limitations", "drift-checks", "ethics"]
PAYLOAD = "</title><script>document.title='PWNED'</script><b id=pwned>x</b>"


@pytest.fixture(scope="module")
def card(tmp_path_factory):
    d = tmp_path_factory.mktemp("mc_card")
    run("generate", "--dataset", "claims", "--rows", 3000, "--seed", 4, "--out", d / "c.csv",
        check=0)
    header = next(csv.reader(open(d / "c.csv")))
    drop = [a for c in header if c not in set(FEATURES) | {"outcome"} for a in ("--drop", c)]
    run("train", "--data", d / "c.csv", "--label", "outcome", "--model", "lr", "--categorical",
        "payer", "--policy", "min-accuracy=0.85", *drop, "--out", d / "m.json", "--json",
        d / "r.json", check=0)
    (d / "spec.json").write_text(json.dumps({"model_name": "Denial reasons " + PAYLOAD,
                                             "intended_use": PAYLOAD}), encoding="utf-8")
    run("card", "--model", d / "m.json", "--report", d / "r.json", "--spec", d / "spec.json",
        "--out", d / "card.html", check=0)
    return d


def test_k_class_card_renders_in_chromium_without_console_messages(card):
    dom, console = dump_dom_and_console(card / "card.html")
    assert console == [], console
    for section in SECTIONS:
        assert f'<section id="{section}">' in dom, section
    # Nothing from outside the page, and no markup from the spec.
    for tag in ("<script", "<img", "<link", "<iframe", 'id="pwned"'):
        assert tag not in dom, tag
    assert re.search(r'\b(src|href)="(https?:|//)', dom) is None
    title = htmllib.unescape(re.search(r"<title>(.*?)</title>", dom, re.S).group(1))
    assert title == "Model card: Denial reasons " + PAYLOAD
    text = htmllib.unescape(re.sub(r"<[^>]*>", " ", dom))
    assert PAYLOAD in text
    classes = json.loads((card / "m.json").read_text())["classes"]
    assert len(classes) == 6 and all(c in text for c in classes)
    assert "per 1,000 items" in text
    report = json.loads((card / "r.json").read_text())
    auto = 1000 * (1 - report["review"]["review_rate"]["value"])
    assert f"{auto:.1f}" in text  # the review queue per 1,000 items, from the report
