"""Exogenous series: read them aligned with ``y`` and match their columns by name."""

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass
class ExogSpec:
    """What ``fit`` saw of ``X``: the column names and whether they were given.

    Attributes
    ----------
    names : list of str
        One name per column (``x0, x1, ...`` for arrays).
    named : bool
        ``X`` was a pandas object with string column names: later calls match
        columns by name, as scikit-learn does with ``feature_names_in_``.
    """

    names: list
    named: bool

    @property
    def n_columns(self):
        return len(self.names)


def _columns_of(X):
    if isinstance(X, pd.DataFrame):
        names = list(X.columns)
        return [str(c) for c in names], all(isinstance(c, str) for c in names)
    if isinstance(X, pd.Series):
        return [str(X.name)], isinstance(X.name, str)
    return None, False


def _as_array(X, panel_names, labels, what):
    """``X`` as a float array of shape (n_rows, n_series or 1, n_columns)."""
    if isinstance(X, pd.Series):
        X = X.to_frame()
    if isinstance(X, pd.DataFrame) and isinstance(X.index, pd.MultiIndex):
        return _long_as_array(X, panel_names, labels, what)
    if isinstance(X, pd.DataFrame) and labels is not None:
        if X.index.has_duplicates:
            raise ValueError(f"{what} has duplicated time labels.")
        missing = labels.difference(X.index)
        if len(missing):
            raise ValueError(
                f"{what} has no row for {len(missing)} time(s) that need one, e.g. "
                f"{missing[0]!r} (its index must contain {labels[0]!r} to {labels[-1]!r})."
            )
        X = X.loc[labels]
    try:
        values = np.array(X, dtype=np.float64, copy=True)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{what} must hold numbers: {exc}") from exc
    if values.ndim == 1:
        values = values[:, None]
    if values.ndim == 2:
        values = values[:, None, :]
    if values.ndim != 3 or values.shape[1] not in (1, len(panel_names)):
        raise ValueError(
            f"{what} must be 1-D, 2-D (rows x columns, shared by every series) or 3-D "
            f"(rows x {len(panel_names)} series x columns), got shape {values.shape}."
        )
    return values


def _long_as_array(X, panel_names, labels, what):
    ids = X.index.get_level_values(0)
    unknown = set(ids) - set(panel_names)
    if unknown:
        raise ValueError(
            f"{what} has series ids that y does not have: {sorted(map(str, unknown))[:5]}."
        )
    blocks = []
    for column in X.columns:
        wide = X[column].unstack(level=0).reindex(columns=panel_names)
        if labels is not None:
            wide = wide.reindex(labels)
        blocks.append(wide.to_numpy(dtype=np.float64))
    values = np.stack(blocks, axis=2)
    if labels is not None and np.isnan(values).all(axis=2).any():
        raise ValueError(f"{what} lacks rows for some (series, time) pairs that need one.")
    return values


def read_exog(X, *, n_rows, panel_names, labels=None, spec=None, required=None, what="X"):
    """Read ``X`` as an array (n_rows, n_series, n_columns), matching ``spec``'s columns.

    Parameters
    ----------
    X : array-like, Series or DataFrame
        Wide (time x columns, shared by every series), long (MultiIndex
        ``(series id, time)``, one row per series and time) or a 3-D array.
    n_rows : int
        Rows expected (used when ``X`` has no index to align on).
    panel_names : list
        The series of ``y``.
    labels : Index or None
        Time labels of the rows; a pandas ``X`` is aligned on them.
    spec : ExogSpec or None
        The columns seen in ``fit`` (None: this is ``fit``).
    required : list of str or None
        Columns that must be present (default: all of ``spec``'s). Absent optional
        columns come back as NaN.
    what : str
        Name used in error messages.

    Returns
    -------
    values : ndarray of shape (n_rows, n_series, n_columns)
    spec : ExogSpec
    """
    names, named = _columns_of(X)
    values = _as_array(X, panel_names, labels, what)
    if len(values) != n_rows:
        raise ValueError(f"{what} must have {n_rows} rows (one per time step), got {len(values)}.")
    values = np.broadcast_to(values, (n_rows, len(panel_names), values.shape[2])).copy()
    if spec is None:
        if names is None:
            names = [f"x{j}" for j in range(values.shape[2])]
        if len(set(names)) != len(names):
            raise ValueError(f"{what} has duplicated column names: {names}.")
        spec = ExogSpec(names, named)
    else:
        values = _match_columns(values, names, named, spec, required, what)
    return values, spec


def _match_columns(values, names, named, spec, required, what):
    required = spec.names if required is None else required
    if spec.named and named:
        unexpected = [n for n in names if n not in spec.names]
        missing = [n for n in required if n not in names]
        if unexpected or missing:
            raise ValueError(
                f"{what}'s columns do not match those seen in fit {spec.names}: "
                f"missing {missing}, unexpected {unexpected}."
            )
        out = np.full((*values.shape[:2], spec.n_columns), np.nan)
        for j, name in enumerate(spec.names):
            if name in names:
                out[:, :, j] = values[:, :, names.index(name)]
        return out
    if spec.named and not named:
        warnings.warn(
            f"{what} has no column names, but the forecaster was fitted with named "
            f"columns {spec.names}; its columns are taken in that order.",
            UserWarning,
            stacklevel=4,
        )
    width = values.shape[2]
    if width == spec.n_columns:
        return values
    if width == len(required):
        out = np.full((*values.shape[:2], spec.n_columns), np.nan)
        out[:, :, [spec.names.index(n) for n in required]] = values
        return out
    raise ValueError(f"{what} must have {spec.n_columns} columns ({spec.names}), got {width}.")


def check_finite(values, columns, what):
    """Raise if the ``columns`` (indices) of ``values`` hold NaN or infinity."""
    if values is None or not len(columns):
        return
    bad = ~np.isfinite(values[:, :, columns])
    if bad.any():
        raise ValueError(
            f"{what} contains {int(bad.sum())} NaN or infinite values; fill them first "
            "(exogenous values are never filled for you)."
        )
