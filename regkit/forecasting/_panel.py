"""Series in, series out: one or many series on a regular time grid.

Every forecaster reads its ``y`` into a :class:`Panel` (a float array of shape
``(n_times, n_series)``, the time index, the series names and how the input was
laid out) and writes its forecasts back in the same layout. The layouts:

- ``"array"``: a 1-D array (one series) or a 2-D array (one column per series);
- ``"series"``: a Series (one series);
- ``"wide"``: a DataFrame with one column per series (one column: one series);
- ``"long"``: a Series or one-column DataFrame with a two-level MultiIndex
  ``(series id, time)``, the layout of many-series ("panel") libraries.
"""

from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass
class Panel:
    """Validated series: values on a regular grid plus what is needed to write back.

    Attributes
    ----------
    values : ndarray of shape (n_times, n_series)
        A private float64 copy (NaN where a value is missing).
    index : Index or None
        The time labels (None for arrays: positions).
    names : list
        One name per series.
    layout : str
        ``"array"``, ``"series"``, ``"wide"`` or ``"long"``.
    value_name : hashable
        Name of the value (Series name, or the value column of a long frame).
    squeeze : bool
        One series given as a 1-D object: forecasts are 1-D too.
    level_names : list
        Names of the MultiIndex levels of a long input.
    """

    values: np.ndarray
    index: pd.Index | None
    names: list
    layout: str
    value_name: object = None
    squeeze: bool = True
    level_names: list = field(default_factory=lambda: [None, None])

    @property
    def n_series(self):
        return self.values.shape[1]


def _float_copy(data, what):
    try:
        values = np.array(data, dtype=np.float64, copy=True)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{what} must hold numbers: {exc}") from exc
    return values


def _is_long(obj):
    return isinstance(obj.index, pd.MultiIndex)


def read_panel(y, what="y"):
    """Read one or many series into a :class:`Panel` (values are copied)."""
    if isinstance(y, pd.Series | pd.DataFrame) and _is_long(y):
        return _read_long(y, what)
    if isinstance(y, pd.Series):
        values = _float_copy(y.to_numpy(), what)[:, None]
        return Panel(values, y.index, [y.name], "series", value_name=y.name)
    if isinstance(y, pd.DataFrame):
        if y.shape[1] == 0:
            raise ValueError(f"{what} is a DataFrame with no columns.")
        if y.columns.duplicated().any():
            raise ValueError(f"{what} has duplicated column names: {list(y.columns)}.")
        values = _float_copy(y.to_numpy(), what)
        return Panel(values, y.index, list(y.columns), "wide", squeeze=False)
    values = _float_copy(y, what)
    if values.ndim == 1:
        return Panel(values[:, None], None, [None], "array")
    if values.ndim == 2:
        names = list(range(values.shape[1]))
        return Panel(values, None, names, "array", squeeze=False)
    raise ValueError(
        f"{what} must be 1-D (one series) or 2-D (one column per series), got shape {values.shape}."
    )


def _read_long(y, what):
    if y.index.nlevels != 2:
        raise ValueError(
            f"a long-format {what} needs a two-level MultiIndex (series id, time), got "
            f"{y.index.nlevels} levels."
        )
    if isinstance(y, pd.DataFrame):
        if y.shape[1] != 1:
            raise ValueError(
                f"a long-format {what} DataFrame must have one value column, got "
                f"{list(y.columns)} (pass the others as X)."
            )
        y = y.iloc[:, 0]
    if y.index.duplicated().any():
        raise ValueError(f"{what} has duplicated (series id, time) pairs.")
    wide = y.unstack(level=0)
    ids = list(y.index.get_level_values(0).unique())
    wide = wide[ids]
    values = _float_copy(wide.to_numpy(), what)
    return Panel(
        values,
        wide.index,
        ids,
        "long",
        value_name=y.name,
        squeeze=False,
        level_names=list(y.index.names),
    )


# --------------------------------------------------------------------- the time grid
def _inferred(index):
    """The frequency pandas infers for ``index`` (None if it cannot)."""
    return pd.DatetimeIndex(index, freq="infer").freq if len(index) >= 3 else None


def _step_of_dates(index):
    """The frequency of a DatetimeIndex, inferred where pandas cannot (gaps)."""
    if index.freq is not None:
        return index.freq
    inferred = _inferred(index)
    if inferred is not None:
        return inferred
    # Missing dates defeat pandas' inference: take the frequency that most runs of
    # three consecutive dates agree on, if every date lies on its grid.
    votes = {}
    for start in range(max(len(index) - 2, 0)):
        guess = _inferred(index[start : start + 3])
        if guess is not None:
            votes[guess] = votes.get(guess, 0) + 1
    for offset in sorted(votes, key=votes.get, reverse=True):
        grid = pd.date_range(index[0], index[-1], freq=offset)
        if index.isin(grid).all():
            return offset
    raise ValueError(
        f"the dates of {index.name or 'the index'} do not lie on a regular grid (no "
        "frequency fits them); resample the series to a regular frequency first, e.g. "
        "y.resample('D').mean()."
    )


def regular_step(index):
    """The step of a time index: a pandas offset, or an int for an integer index."""
    if index is None:
        return 1
    if not index.is_unique:
        raise ValueError("the time index has duplicated labels.")
    if len(index) > 1 and not index.is_monotonic_increasing:
        raise ValueError(
            "the time index must be increasing (sorted, oldest first); sort the series "
            "with y.sort_index() first."
        )
    if isinstance(index, pd.PeriodIndex):
        return index.freq
    if isinstance(index, pd.DatetimeIndex):
        return _step_of_dates(index)
    if pd.api.types.is_integer_dtype(index.dtype):
        if len(index) < 2:
            return 1
        diffs = np.diff(np.asarray(index))
        return int(np.gcd.reduce(diffs))
    raise TypeError(
        "the time index must be a DatetimeIndex, a PeriodIndex or an integer index, got "
        f"{type(index).__name__} of dtype {index.dtype}."
    )


def full_grid(index, step):
    """The regular grid from the first to the last label of ``index``."""
    if index is None:
        return None
    if isinstance(index, pd.PeriodIndex):
        return pd.period_range(index[0], index[-1], freq=step, name=index.name)
    if isinstance(index, pd.DatetimeIndex):
        return pd.date_range(index[0], index[-1], freq=step, name=index.name)
    start, stop = int(index[0]), int(index[-1])
    return pd.RangeIndex(start, stop + step, step, name=index.name)


def future_index(index, step, n_steps):
    """The ``n_steps`` labels that follow ``index`` on its grid."""
    if isinstance(index, pd.PeriodIndex):
        return pd.period_range(index[-1] + 1, periods=n_steps, freq=step, name=index.name)
    if isinstance(index, pd.DatetimeIndex):
        return pd.date_range(index[-1] + step, periods=n_steps, freq=step, name=index.name)
    start = int(index[-1]) + step
    return pd.RangeIndex(start, start + step * n_steps, step, name=index.name)


def on_grid(panel, step):
    """``panel`` with missing grid times inserted as NaN rows (they are missing values)."""
    if panel.index is None:
        return panel, 0
    grid = full_grid(panel.index, step)
    if len(grid) == len(panel.index):
        panel.index = grid
        return panel, 0
    frame = pd.DataFrame(panel.values, index=panel.index).reindex(grid)
    panel.values = frame.to_numpy(dtype=np.float64)
    panel.index = grid
    return panel, len(grid) - len(frame.dropna(how="all"))


# ----------------------------------------------------------------------- writing back
def wrap(panel, values, index):
    """Write ``values`` of shape (n_rows, n_series) in the layout of ``panel``."""
    values = np.asarray(values, dtype=np.float64)
    if panel.layout == "array":
        return values[:, 0].copy() if panel.squeeze else values.copy()
    if panel.layout == "series":
        return pd.Series(values[:, 0], index=index, name=panel.value_name)
    if panel.layout == "wide":
        return pd.DataFrame(values, index=index, columns=list(panel.names))
    return pd.Series(values.T.ravel(), index=_long_index(panel, index), name=panel.value_name)


def _long_index(panel, index):
    ids = np.repeat(np.asarray(panel.names, dtype=object), len(index))
    times = np.tile(np.asarray(index), len(panel.names))
    return pd.MultiIndex.from_arrays(
        [ids, pd.Index(times, dtype=index.dtype)], names=panel.level_names
    )


def wrap_columns(panel, values, index, columns):
    """Write ``values`` of shape (n_rows, n_series, n_columns) (quantiles, bounds).

    Arrays stay arrays (``(n_rows, n_columns)`` for one 1-D series); pandas gives a
    DataFrame with ``columns`` (a MultiIndex ``(series, column)`` for wide input).
    """
    values = np.asarray(values, dtype=np.float64)
    if panel.layout == "array":
        return values[:, 0, :].copy() if panel.squeeze else values.copy()
    if panel.layout == "series" or (panel.layout == "wide" and panel.squeeze):
        return pd.DataFrame(values[:, 0, :], index=index, columns=columns)
    if panel.layout == "wide":
        flat = values.reshape(len(values), -1)
        header = pd.MultiIndex.from_product([list(panel.names), columns])
        return pd.DataFrame(flat, index=index, columns=header)
    flat = values.transpose(1, 0, 2).reshape(-1, values.shape[2])
    return pd.DataFrame(flat, index=_long_index(panel, index), columns=columns)
