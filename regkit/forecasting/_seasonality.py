"""Fourier seasonality features derived from the time index."""

from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
import pandas as pd

# Calendar periods in days, and the Fourier orders NeuralProphet uses by default.
CALENDAR_PERIODS = {"daily": 1.0, "weekly": 7.0, "yearly": 365.25}
DEFAULT_ORDERS = {"daily": 6, "weekly": 3, "yearly": 6}
DEFAULT_ORDER = 3


@dataclass(frozen=True)
class SeasonalTerm:
    """One seasonality: ``order`` sine/cosine pairs of period ``period`` (in ``unit``)."""

    name: str
    period: float
    unit: str  # "days" (calendar, from the dates) or "steps" (from the position)
    order: int

    @property
    def columns(self):
        return [f"{self.name}_{f}{k}" for k in range(1, self.order + 1) for f in ("sin", "cos")]


def _days(index):
    """Time in days since 1970 of a DatetimeIndex or PeriodIndex."""
    if isinstance(index, pd.PeriodIndex):
        index = index.to_timestamp()
    return np.asarray(index.as_unit("ns").asi8, dtype=np.float64) / 86_400e9


def _requested(seasonality, dated):
    """``{name or period: order or None}`` from the ``seasonality`` parameter."""
    if seasonality is None:
        return {}
    if isinstance(seasonality, str):
        if seasonality == "auto":
            return dict.fromkeys(CALENDAR_PERIODS) if dated else {}
        return {seasonality: None}
    if isinstance(seasonality, dict):
        return dict(seasonality)
    if isinstance(seasonality, Real):
        return {seasonality: None}
    return dict.fromkeys(seasonality)


def resolve_seasonality(seasonality, index, n_times):
    """The seasonal terms a forecaster uses, checked against its data.

    Parameters
    ----------
    seasonality : None, str, number, list or dict
        ``"daily"``, ``"weekly"``, ``"yearly"``, a period in steps (e.g. 24), a
        list of those, a dict ``{period: Fourier order}``, or ``"auto"``: the
        calendar periods that the data resolve (at least two steps per half
        period of the first harmonic) and span twice.
    index : Index or None
        The time index of the history (None for arrays).
    n_times : int
        Length of the history.

    Returns
    -------
    terms : list of SeasonalTerm
    """
    dated = isinstance(index, pd.DatetimeIndex | pd.PeriodIndex)
    auto = seasonality == "auto"
    step_days = None
    if dated and n_times >= 2:
        days = _days(index)
        step_days = (days[-1] - days[0]) / (n_times - 1)
    terms = []
    for key, order in _requested(seasonality, dated).items():
        if isinstance(key, str):
            if key not in CALENDAR_PERIODS:
                raise ValueError(
                    f"seasonality {key!r} is unknown; use 'daily', 'weekly', 'yearly', "
                    "'auto', or a period in steps (a number)."
                )
            if not dated:
                raise ValueError(
                    f"seasonality {key!r} needs dates (a DatetimeIndex or PeriodIndex); "
                    "for an integer index or an array give the period in steps, e.g. "
                    "seasonality={24: 4}."
                )
            period, unit = CALENDAR_PERIODS[key], "days"
            steps_per_period = period / step_days if step_days else np.inf
            span = n_times / steps_per_period
            order = DEFAULT_ORDERS[key] if order is None else order
        elif isinstance(key, Real) and not isinstance(key, bool) and key > 1:
            period, unit, steps_per_period = float(key), "steps", float(key)
            span = n_times / steps_per_period
            order = DEFAULT_ORDER if order is None else order
        else:
            raise ValueError(f"a seasonal period must be a name or a number > 1, got {key!r}.")
        if not isinstance(order, Integral) or isinstance(order, bool) or order < 1:
            raise ValueError(f"the Fourier order of {key!r} must be an int >= 1, got {order!r}.")
        # Harmonics above the Nyquist limit alias onto lower ones (or vanish).
        order = int(min(order, np.floor((steps_per_period - 1) / 2)))
        if auto and (order < 1 or span < 2):
            continue
        if order < 1:
            raise ValueError(
                f"seasonality {key!r} repeats every {steps_per_period:.3g} steps: too few "
                "for a sine wave (at least 3 are needed)."
            )
        name = key if isinstance(key, str) else f"period_{key:g}"
        terms.append(SeasonalTerm(name, period, unit, order))
    return terms


def fourier_features(terms, labels, positions):
    """Sine/cosine columns of ``terms`` at the given times.

    Parameters
    ----------
    terms : list of SeasonalTerm
    labels : Index or None
        Time labels (for calendar terms).
    positions : ndarray of int
        Steps since the start of the history (for terms in steps).

    Returns
    -------
    features : ndarray of shape (n_times, 2 * sum of orders)
    """
    columns = []
    for term in terms:
        t = _days(labels) if term.unit == "days" else np.asarray(positions, dtype=np.float64)
        phase = 2 * np.pi * np.mod(t / term.period, 1.0)
        for k in range(1, term.order + 1):
            columns += [np.sin(k * phase), np.cos(k * phase)]
    if not columns:
        return np.empty((len(positions), 0))
    return np.column_stack(columns)
