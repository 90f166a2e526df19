"""Adversarial robustness of fitted neural regressors (FGSM)."""

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from regkit.nn._base import BaseNeuralRegressor
from regkit.nn._metrics import rmse

__all__ = ["fgsm_perturb", "fgsm_rmse"]


def _check_regressor(estimator):
    if not isinstance(estimator, BaseNeuralRegressor):
        raise TypeError(
            "estimator must be a fitted regkit neural regressor (a BaseNeuralRegressor), "
            f"got {type(estimator).__name__}. For a Pipeline, attack its final step on "
            "transformed inputs: fgsm_rmse(pipe[-1], pipe[:-1].transform(X), y, eps)."
        )
    check_is_fitted(estimator)


def fgsm_perturb(estimator, X, y, eps):
    """Fast gradient sign method: move each row of ``X`` to raise its squared error.

    ``X_adv = X + eps * sign(grad_X ||f(X) - y||^2)``, with the gradient of the
    fitted network in the units of ``y`` (through
    :meth:`~regkit.nn.BaseNeuralRegressor.predict_tensor`). Each row is perturbed
    by at most ``eps`` in every coordinate (an l-infinity ball), so ``eps`` is in
    the units of ``X``: standardise the inputs to make one ``eps`` mean the same
    for every feature.

    Parameters
    ----------
    estimator : BaseNeuralRegressor
        A fitted regkit neural regressor.
    X : array-like of shape (n_samples, n_features)
        Inputs, as the estimator sees them.
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        True targets.
    eps : float
        Radius of the perturbation (non-negative).

    Returns
    -------
    X_adv : ndarray of shape (n_samples, n_features)
        Perturbed inputs, float64.

    Examples
    --------
    >>> import numpy as np
    >>> from regkit.nn.robustness import fgsm_perturb
    >>> from regkit.regression import NeuralRegressor
    >>> X = np.random.default_rng(0).standard_normal((50, 2)); y = X[:, 0]
    >>> model = NeuralRegressor((8,), max_epochs=5, random_state=0).fit(X, y)
    >>> float(np.abs(fgsm_perturb(model, X, y, eps=0.1) - X).max())
    0.1
    """
    _check_regressor(estimator)
    if not (np.isscalar(eps) and np.isfinite(eps) and eps >= 0):
        raise ValueError(f"eps must be a non-negative finite number, got {eps!r}.")
    X = estimator._check_predict_input(X)
    y = np.asarray(y, dtype=np.float64).reshape(len(X), -1)
    directions = []
    for rows, inputs in estimator._eval_chunks(X):
        inputs.requires_grad_(True)
        target = torch.as_tensor(y[rows], dtype=torch.float64, device=inputs.device)
        # Rows do not interact in evaluation mode, so the gradient of the summed
        # loss holds every row's own gradient.
        loss = torch.square(estimator.predict_tensor(inputs) - target).sum()
        (gradient,) = torch.autograd.grad(loss, inputs)
        directions.append(torch.sign(gradient).double().cpu().numpy())
    return X + eps * np.concatenate(directions, axis=0)


def fgsm_rmse(estimator, X, y, eps):
    """Root mean squared error on FGSM-perturbed inputs (see :func:`fgsm_perturb`).

    Parameters
    ----------
    estimator : BaseNeuralRegressor
        A fitted regkit neural regressor.
    X : array-like of shape (n_samples, n_features)
        Test inputs, as the estimator sees them.
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        True targets.
    eps : float or sequence of float
        Attack radius (radii), in the units of ``X``; 0 gives the clean RMSE.

    Returns
    -------
    rmse : float or ndarray of shape (n_eps,)
        RMSE over all rows and outputs, one per radius.

    Examples
    --------
    >>> import numpy as np
    >>> from regkit.nn.robustness import fgsm_rmse
    >>> from regkit.regression import NeuralRegressor
    >>> X = np.random.default_rng(0).standard_normal((50, 2)); y = X[:, 0]
    >>> model = NeuralRegressor((8,), max_epochs=5, random_state=0).fit(X, y)
    >>> clean, attacked = fgsm_rmse(model, X, y, eps=[0.0, 0.2])
    >>> bool(attacked > clean)
    True
    """
    _check_regressor(estimator)
    radii = np.atleast_1d(np.asarray(eps, dtype=np.float64))
    values = [rmse(y, estimator.predict(fgsm_perturb(estimator, X, y, r))) for r in radii]
    return values[0] if np.ndim(eps) == 0 else np.array(values)
