# SPDX-License-Identifier: Apache-2.0
"""Temporal cross-validation splitters (scikit-learn style).

    from calibrisk.split import RollingOriginSplit
    cv = RollingOriginSplit(period="quarter", min_train_periods=2)
    for train_idx, test_idx in cv.split(X, y, groups=patient_id, time=encounter_date):
        ...

Like :class:`sklearn.model_selection.TimeSeriesSplit`, but by calendar period and patient: for
each test period t + 1 (from the ``min_train_periods + 1``-th period on), the training indices
are every row of the periods <= t and the test indices the rows of period t + 1, leaving out
(``calendar_patients="exclude"``, the default) the rows of patients who already appear in the
training periods. The periods and origins are the C++ library's (``calibrisk validate`` and
:func:`calibrisk.validate` use the same ones; there the last training period calibrates).
"""

import numpy as np

from . import _core
from .exceptions import InvalidInputError, InvalidParamsError

__all__ = ["RollingOriginSplit"]

_NS_PER_DAY = 86400 * 10**9


def _time_keys(time):
    """(keys, in_days): days since 1970 for dates / date strings, else the numbers."""
    if time is None:
        raise InvalidParamsError(
            "RollingOriginSplit: pass time= (one date or number per row), at construction or to "
            "split()."
        )
    a = np.asarray(time)
    if a.ndim != 1:
        raise InvalidInputError(f"RollingOriginSplit: time must be one value per row, got shape "
                                f"{a.shape}.")
    if np.issubdtype(a.dtype, np.number) and not np.issubdtype(a.dtype, np.timedelta64):
        return a.astype(float), False
    try:
        d = a.astype("datetime64[ns]")
    except (TypeError, ValueError) as e:
        raise InvalidInputError(
            "RollingOriginSplit: time must hold dates (datetime64, ISO 8601 strings) or numbers; "
            f"{str(e)[:100]}"
        ) from e
    if np.isnat(d).any():
        row = int(np.flatnonzero(np.isnat(d))[0])
        raise InvalidInputError(f"RollingOriginSplit: time is missing at row {row}; every row "
                                "needs a time.")
    return d.astype(np.int64) / _NS_PER_DAY, True


def _group_keys(groups, n):
    if groups is None:
        return []
    g = np.asarray(groups)
    if g.shape != (n,):
        raise InvalidInputError(f"RollingOriginSplit: groups has shape {g.shape}, time has {n} "
                                "rows; pass one group (patient) id per row.")
    _, codes = np.unique(g.astype(str) if g.dtype == object else g, return_inverse=True)
    return codes.astype(float)


class RollingOriginSplit:
    """Rolling-origin (expanding window) splits by calendar period and patient.

    Parameters
    ----------
    period : "month", "quarter", "year" (date keys) or "bins" (``n_bins`` periods of about equal
        row counts; any numeric key).
    n_bins : periods when ``period="bins"``.
    min_train_periods : periods before the first test period (>= 2: the library's validation
        fits on all but the last and calibrates on the last).
    calendar_patients : "exclude" (test rows of patients seen in training are left out) or
        "later-only" (they are kept).
    time : optional default time key (dates or numbers, one per row) for :meth:`split`.
    """

    def __init__(self, period="quarter", n_bins=8, min_train_periods=2,
                 calendar_patients="exclude", time=None):
        self.period = period
        self.n_bins = n_bins
        self.min_train_periods = min_train_periods
        self.calendar_patients = calendar_patients
        self.time = time

    def _origins(self, X, groups, time):
        time = self.time if time is None else time
        keys, in_days = _time_keys(time)
        if X is not None and hasattr(X, "__len__") and len(X) != len(keys):
            raise InvalidInputError(f"RollingOriginSplit: X has {len(X)} rows but time has "
                                    f"{len(keys)}; pass one time per row.")
        if not in_days and self.period != "bins":
            raise InvalidParamsError(
                f"RollingOriginSplit: period={self.period!r} needs dates; the time key is "
                "numeric, so use period='bins'."
            )
        return _core._rolling_origins(keys.tolist(), list(_group_keys(groups, len(keys))),
                                      in_days, str(self.period), int(self.n_bins),
                                      int(self.min_train_periods), str(self.calendar_patients))

    def split(self, X=None, y=None, groups=None, time=None):
        """Yields ``(train_idx, test_idx)`` per origin, in time order (indices sorted)."""
        for o in self._origins(X, groups, time):
            yield np.asarray(o["train"], dtype=np.intp), np.asarray(o["test"], dtype=np.intp)

    def get_n_splits(self, X=None, y=None, groups=None, time=None):
        """The number of origins (test periods)."""
        return len(self._origins(X, groups, time))

    def origins(self, X=None, groups=None, time=None):
        """Per origin a dict: ``train`` (every row before the test period, as :meth:`split`
        yields), the ``fit`` / ``calibration`` / ``test`` row indices that
        :func:`calibrisk.validate` uses (fit and calibration also leave out the calibration-period
        rows of patients seen in the fit periods under "exclude"), ``test_rows_left_out`` and the
        period labels ``fit_periods``, ``calibration_period``, ``test_period``."""
        return [dict(o) for o in self._origins(X, groups, time)]

    def __repr__(self):
        return (f"RollingOriginSplit(period={self.period!r}, n_bins={self.n_bins}, "
                f"min_train_periods={self.min_train_periods}, "
                f"calendar_patients={self.calendar_patients!r})")
