"""Split-conformal quantiles of forecast residuals."""

import numpy as np


def conformal_quantiles(residuals, levels):
    """Finite-sample quantiles of residuals, one tail at a time.

    With ``m`` exchangeable residuals ``r`` (actual minus forecast), the level-``q``
    bound is the ``ceil((m + 1) q)``-th smallest residual for ``q >= 0.5`` and the
    ``floor((m + 1) q)``-th smallest for ``q < 0.5``: a new residual falls below
    the upper bound with probability at least ``q`` (and above the lower one with
    probability at least ``1 - q``), so the central interval between levels
    ``alpha / 2`` and ``1 - alpha / 2`` covers with probability at least
    ``1 - alpha``. Levels too extreme for ``m`` residuals take the extreme
    residual (the guarantee then no longer holds).

    Parameters
    ----------
    residuals : ndarray of shape (m, n_series)
        NaN entries (no residual) are ignored, column by column.
    levels : ndarray of shape (n_levels,)
        Quantile levels in (0, 1).

    Returns
    -------
    offsets : ndarray of shape (n_series, n_levels)
        Add them to the point forecast.

    Examples
    --------
    >>> import numpy as np
    >>> from regkit.forecasting._conformal import conformal_quantiles
    >>> residuals = np.arange(1.0, 20.0)[:, None]  # 19 residuals: 1, ..., 19
    >>> conformal_quantiles(residuals, np.array([0.05, 0.5, 0.95]))
    array([[ 1., 10., 19.]])
    """
    residuals = np.asarray(residuals, dtype=np.float64)
    levels = np.asarray(levels, dtype=np.float64)
    offsets = np.full((residuals.shape[1], len(levels)), np.nan)
    for s in range(residuals.shape[1]):
        r = np.sort(residuals[~np.isnan(residuals[:, s]), s])
        m = len(r)
        if m == 0:
            continue
        upper = np.minimum(np.ceil((m + 1) * levels), m)
        lower = np.maximum(np.floor((m + 1) * levels), 1)
        rank = np.where(levels >= 0.5, upper, lower).astype(int)
        offsets[s] = r[rank - 1]
    return offsets
