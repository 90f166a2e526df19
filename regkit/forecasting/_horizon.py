"""The forecasting horizon: steps ahead, given as a count, a list of steps or future labels."""

from numbers import Integral

import numpy as np
import pandas as pd

from regkit.forecasting._panel import future_index

_HORIZON_TEXT = (
    "fh : int, list of int or Index\n"
    "    The forecasting horizon, as in sktime: an int ``h`` (steps ``1..h``), a\n"
    "    list or 1-D array of steps ahead (``[1, 24, 168]``), or a pandas Index of\n"
    "    future time labels (they must lie on the series' grid, after its last\n"
    "    time)."
)


def horizon_doc(indent):
    """The ``fh`` parameter's description, continuation lines indented by ``indent``."""
    return _HORIZON_TEXT.replace("\n", "\n" + " " * indent)


HORIZON_DOC = horizon_doc(4)  # in a class docstring


def _check_steps(steps, fh):
    if steps.ndim != 1 or steps.size == 0:
        raise ValueError(f"fh must be a non-empty list of steps ahead, got {fh!r}.")
    if (steps < 1).any():
        raise ValueError(f"fh's steps ahead must be >= 1, got {steps[steps < 1].tolist()}.")
    return np.unique(steps)


def resolve_horizon(fh, index, step):
    """Turn ``fh`` into sorted steps ahead (ints >= 1) and their time labels.

    Parameters
    ----------
    fh : int, list of int or Index
        See ``HORIZON_DOC``.
    index : Index or None
        The history's time index (None for array input).
    step : offset or int
        The grid step of ``index``.

    Returns
    -------
    steps : ndarray of int
        Sorted, unique, >= 1.
    labels : Index or None
        The time label of each step (None for array input).
    """
    if isinstance(fh, pd.Index):
        steps = _steps_of_labels(fh, index, step)
    elif isinstance(fh, bool) or fh is None:
        raise TypeError(f"fh must be an int, a list of steps or an Index, got {fh!r}.")
    elif isinstance(fh, Integral):
        if fh < 1:
            raise ValueError(f"fh must be >= 1 (steps ahead), got {fh!r}.")
        steps = np.arange(1, int(fh) + 1)
    else:
        try:
            steps = np.asarray(fh)
        except (TypeError, ValueError):
            steps = np.asarray([None])
        if steps.dtype.kind == "b" or steps.dtype.kind not in "iu":
            raise TypeError(
                f"fh must be an int, a list of int steps or a pandas Index of future "
                f"times, got {fh!r}."
            )
        steps = _check_steps(steps.astype(np.int64), fh)
    if index is None:
        return steps, None
    labels = future_index(index, step, int(steps[-1]))
    contiguous = len(steps) == steps[-1]  # steps 1..h keep the index's frequency
    return steps, labels if contiguous else labels[steps - 1]


def _steps_of_labels(fh, index, step):
    if index is None:
        raise TypeError(
            "fh is an Index of times, but y had no time index (an array); give the "
            "steps ahead instead (an int or a list of ints)."
        )
    if fh.empty:
        raise ValueError("fh is an empty Index.")
    dates = pd.DatetimeIndex | pd.PeriodIndex
    if isinstance(index, dates) or isinstance(fh, dates):
        same_kind = type(index) is type(fh)
    else:
        same_kind = pd.api.types.is_integer_dtype(fh.dtype)
    if not same_kind:
        raise TypeError(
            f"fh's labels ({type(fh).__name__}) are not of the kind of y's time index "
            f"({type(index).__name__})."
        )
    last = fh.max()
    if last <= index[-1]:
        raise ValueError(
            f"fh's times must come after the last time {index[-1]!r}, got {fh.min()!r}."
        )
    if pd.api.types.is_integer_dtype(index.dtype):
        offsets = np.asarray(fh, dtype=np.int64) - int(index[-1])
        if (offsets % step).any() or (offsets <= 0).any():
            raise ValueError(f"fh's times must be on y's grid (step {step}) after {index[-1]}.")
        return _check_steps(offsets // step, fh)
    # Walk the grid up to the last requested label, then look each label up.
    n_steps = 1
    future = future_index(index, step, n_steps)
    while future[-1] < last:
        n_steps *= 2
        future = future_index(index, step, n_steps)
    positions = future.get_indexer(fh)
    if (positions < 0).any():
        bad = fh[positions < 0][0]
        raise ValueError(f"fh's time {bad!r} is not on y's grid (step {step}) after {index[-1]!r}.")
    return _check_steps(positions + 1, fh)
