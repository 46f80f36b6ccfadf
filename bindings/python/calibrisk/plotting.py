# SPDX-License-Identifier: Apache-2.0
"""Plots of calibration and operating points (matplotlib, imported only when a plot is drawn).

``plot_reliability`` (reliability diagram with Wilson intervals and a histogram of predictions),
``plot_precision_recall`` (PR curve, optionally marking an OperatingPoint), ``plot_roc`` and
``plot_decision_curve`` (net benefit against treat-all / treat-none). Each returns the Axes.
"""

import numpy as np

from .exceptions import CalibriskError

__all__ = [
    "plot_reliability",
    "plot_precision_recall",
    "plot_roc",
    "plot_decision_curve",
    "MatplotlibMissingError",
    "plot_risk_coverage",
]


class MatplotlibMissingError(CalibriskError, ImportError):
    """Plotting needs matplotlib, which is not installed."""


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as e:  # pragma: no cover - exercised by monkeypatching in the tests
        raise MatplotlibMissingError(
            "calibrisk plotting needs matplotlib, which is not installed; "
            "install it with `pip install matplotlib`."
        ) from e
    return plt


def _axes(ax):
    if ax is not None:
        return ax
    plt = _pyplot()
    _, ax = plt.subplots(figsize=(5, 5))
    return ax


def plot_reliability(y, p, *, n_bins=10, strategy="uniform", ax=None, confidence=0.95,
                     sample_weight=None, label=None, show_histogram=True, smoothed=False,
                     n_bootstrap=0, random_state=0):
    """Reliability diagram: observed rate against mean prediction per bin, with Wilson intervals,
    the diagonal of perfect calibration, and (``show_histogram``) the distribution of p below.
    The ECE is shown in the legend. ``strategy="quantile"`` gives equal-mass bins. With
    ``smoothed``, the lowess calibration curve of :func:`calibrisk.metrics.smoothed_calibration`
    is drawn too (its ICI in the legend), with its pointwise bootstrap band when
    ``n_bootstrap`` > 0."""
    from .metrics import expected_calibration_error, reliability_curve

    plt = _pyplot()
    rc = reliability_curve(y, p, n_bins=n_bins, strategy=strategy, confidence=confidence,
                           sample_weight=sample_weight)
    ece = expected_calibration_error(y, p, n_bins=n_bins, strategy=strategy,
                                     sample_weight=sample_weight)
    ax = _axes(ax)
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="perfectly calibrated")
    yerr = np.vstack([rc.observed_rate - rc.ci_lower, rc.ci_upper - rc.observed_rate])
    ax.errorbar(rc.mean_predicted, rc.observed_rate, yerr=yerr, marker="o", capsize=3,
                label=f"{label or 'model'} (ECE {ece:.3f})")
    if smoothed:
        from .metrics import smoothed_calibration

        sm = smoothed_calibration(y, p, sample_weight=sample_weight, n_bootstrap=n_bootstrap,
                                  confidence=confidence, random_state=random_state)
        line = ax.plot(sm.grid, sm.curve, label=f"{label or 'model'} smoothed (ICI {sm.ici:.3f})")
        if len(sm.band_lower):
            ax.fill_between(sm.grid, sm.band_lower, sm.band_upper, alpha=0.2,
                            color=line[0].get_color(), linewidth=0)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("mean predicted probability")
    ax.set_ylabel(f"observed rate ({int(round(confidence * 100))}% Wilson interval)")
    ax.set_title("Reliability diagram")
    if show_histogram:
        hist_ax = ax.inset_axes([0.0, 0.0, 1.0, 0.15], sharex=ax)
        hist_ax.hist(np.asarray(p, dtype=float), bins=rc.edges if strategy == "uniform" else 50,
                     weights=sample_weight, color="lightgrey")
        hist_ax.set_axis_off()
    ax.legend(loc="upper left")
    del plt
    return ax


def plot_precision_recall(y, p, *, operating_point=None, ax=None, sample_weight=None, label=None):
    """Precision-recall curve (step plot) with the average precision in the legend; an
    :class:`~calibrisk.threshold.OperatingPoint` is marked with its Wilson intervals."""
    from .metrics import average_precision_score, precision_recall_curve

    _pyplot()
    precision, recall, _ = precision_recall_curve(y, p, sample_weight=sample_weight)
    ap = average_precision_score(y, p, sample_weight=sample_weight)
    ax = _axes(ax)
    ax.step(recall, precision, where="post", label=f"{label or 'model'} (AP {ap:.3f})")
    if operating_point is not None:
        op = operating_point
        xerr = [[op.recall - op.recall_ci[0]], [op.recall_ci[1] - op.recall]]
        yerr = [[op.precision - op.precision_ci[0]], [op.precision_ci[1] - op.precision]]
        ax.errorbar([op.recall], [op.precision], xerr=xerr, yerr=yerr, marker="o", color="red",
                    capsize=3, label=f"threshold {op.threshold:.3g}")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("recall (sensitivity)")
    ax.set_ylabel("precision (PPV)")
    ax.set_title("Precision-recall")
    ax.legend(loc="lower left")
    return ax


def plot_roc(y, p, *, operating_point=None, ax=None, sample_weight=None, label=None):
    """ROC curve with the AUC in the legend; an OperatingPoint is marked."""
    from .metrics import roc_auc_score, roc_curve

    _pyplot()
    fpr, tpr, _ = roc_curve(y, p, sample_weight=sample_weight)
    auc = roc_auc_score(y, p, sample_weight=sample_weight)
    ax = _axes(ax)
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1)
    ax.plot(fpr, tpr, label=f"{label or 'model'} (AUC {auc:.3f})")
    if operating_point is not None:
        op = operating_point
        ax.plot([1 - op.specificity], [op.recall], "o", color="red",
                label=f"threshold {op.threshold:.3g}")
    ax.set_xlabel("false positive rate (1 - specificity)")
    ax.set_ylabel("true positive rate (sensitivity)")
    ax.set_title("ROC")
    ax.legend(loc="lower right")
    return ax


def plot_decision_curve(y, p, thresholds=None, *, ax=None, sample_weight=None, label=None):
    """Decision curve (Vickers & Elkin 2006): net benefit of the model, treat-all and
    treat-none against the threshold probability."""
    from .metrics import net_benefit

    _pyplot()
    dc = net_benefit(y, p, thresholds, sample_weight=sample_weight)
    ax = _axes(ax)
    ax.plot(dc.thresholds, dc.net_benefit, label=label or "model")
    ax.plot(dc.thresholds, dc.treat_all, linestyle="--", label="treat all")
    ax.plot(dc.thresholds, dc.treat_none, linestyle=":", color="black", label="treat none")
    top = float(np.nanmax(np.concatenate([dc.net_benefit, dc.treat_all, [0.0]])))
    ax.set_ylim(-0.05 * max(top, 1e-3), 1.1 * max(top, 1e-3))
    ax.set_xlabel("threshold probability")
    ax.set_ylabel("net benefit")
    ax.set_title("Decision curve")
    ax.legend(loc="upper right")
    return ax


def plot_risk_coverage(y, P, *, review=None, ax=None, sample_weight=None, classes=None,
                       label=None):
    """Risk-coverage curve of a K-class model (:func:`calibrisk.threshold.risk_coverage_curve`):
    the error rate of auto-routed items against the share auto-routed, with the AURC in the
    legend and, when ``review`` (a :class:`calibrisk.threshold.ReviewThreshold`) is given, its
    operating point marked at (1 - review_rate, 1 - accuracy)."""
    from .threshold import risk_coverage_curve

    _pyplot()
    rc = risk_coverage_curve(y, P, sample_weight=sample_weight, classes=classes)
    ax = _axes(ax)
    ax.step(np.r_[0.0, rc.coverage], np.r_[rc.risk[:1], rc.risk], where="pre",
            label=f"{label or 'model'} (AURC {rc.aurc:.3f})")
    if review is not None:
        ax.plot([1.0 - review.review_rate], [1.0 - review.accuracy], marker="o", linestyle="",
                color="black", label=f"review policy ({review.review_rate:.0%} reviewed)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, max(0.05, float(np.max(rc.risk)) * 1.1))
    ax.set_xlabel("coverage (share auto-routed)")
    ax.set_ylabel("risk (error rate of auto-routed)")
    ax.set_title("Risk-coverage curve")
    ax.legend(loc="upper left")
    return ax
