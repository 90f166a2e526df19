"""Error measures shared by the engine's helpers."""

import numpy as np


def rmse(y_true, y_pred):
    """Root mean squared error over every row and output (float64).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Targets and predictions; one may be 1-D when there is one output.

    Returns
    -------
    rmse : float
    """
    y_pred = np.asarray(y_pred, dtype=np.float64)
    y_true = np.asarray(y_true, dtype=np.float64).reshape(len(y_pred), -1)
    return float(np.sqrt(np.mean((y_true - y_pred.reshape(y_true.shape)) ** 2)))
