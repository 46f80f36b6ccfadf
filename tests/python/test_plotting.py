# SPDX-License-Identifier: Apache-2.0
"""Plots draw with matplotlib, and say how to install it when it is missing."""

import builtins
import sys

import numpy as np
import pytest

import calibrisk
from calibrisk import plotting

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")


def data():
    rng = np.random.default_rng(0)
    p = rng.random(500)
    y = (rng.random(500) < p).astype(float)
    return y, p


def test_plots_draw_on_given_axes():
    import matplotlib.pyplot as plt

    y, p = data()
    op = calibrisk.select_threshold(y, p, min_recall=0.8)
    fig, axes = plt.subplots(1, 4)
    assert calibrisk.plot_reliability(y, p, ax=axes[0], n_bins=8) is axes[0]
    assert calibrisk.plot_reliability(y, p, ax=axes[0], strategy="quantile") is axes[0]
    assert calibrisk.plot_precision_recall(y, p, operating_point=op, ax=axes[1]) is axes[1]
    assert calibrisk.plot_roc(y, p, operating_point=op, ax=axes[2]) is axes[2]
    assert calibrisk.plot_decision_curve(y, p, ax=axes[3]) is axes[3]
    assert any("ECE" in x.get_text() for x in axes[0].get_legend().get_texts())
    assert any("AP" in x.get_text() for x in axes[1].get_legend().get_texts())
    plt.close(fig)
    ax = calibrisk.plot_reliability(y, p)  # creates its own figure
    assert ax is not None
    plt.close("all")


def test_missing_matplotlib_gives_a_clear_error(monkeypatch):
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError("No module named 'matplotlib'")
        return real_import(name, *args, **kwargs)

    for mod in [m for m in sys.modules if m.startswith("matplotlib")]:
        monkeypatch.delitem(sys.modules, mod)
    monkeypatch.setattr(builtins, "__import__", fake_import)
    y, p = data()
    with pytest.raises(ImportError, match="pip install matplotlib") as info:
        plotting.plot_reliability(y, p)
    assert isinstance(info.value, plotting.MatplotlibMissingError)
    with pytest.raises(plotting.MatplotlibMissingError):
        plotting.plot_precision_recall(y, p)
