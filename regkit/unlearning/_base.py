"""The Unlearner interface: validation and Pipeline handling shared by every unlearner."""

from abc import ABCMeta, abstractmethod
from typing import Any, NamedTuple

import numpy as np
from sklearn.base import BaseEstimator, is_regressor
from sklearn.utils.validation import (
    _num_features,
    _num_samples,
    check_consistent_length,
    check_is_fitted,
)

from regkit.unlearning._pipeline import final_estimator, replace_final, transform_to_final
from regkit.utils import validate_params


class Rows(NamedTuple):
    """Rows handed to :meth:`Unlearner._unlearn`, already through the preprocessing.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Inputs as the final model sees them.
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Targets.
    sample_weight : ndarray of shape (n_samples,) or None
        Weights, when given.
    """

    X: Any
    y: Any
    sample_weight: Any


class Unlearner(BaseEstimator, metaclass=ABCMeta):
    """Base class of unlearners: remove the influence of rows from a fitted regressor.

    ``unlearner.unlearn(estimator, X_forget, y_forget, X_retain, y_retain)`` returns a
    *new* fitted estimator of the same class that behaves as if trained without the
    forget rows (exactly, for exact methods; approximately, for the deep ones). The
    input estimator and arrays are never modified. Unlearners are scikit-learn
    style objects: parameters in ``__init__`` (stored unchanged), ``get_params`` /
    ``set_params`` / ``clone``, and ``random_state`` where they draw numbers.

    The base does everything but the unlearning itself:

    - checks the parameters (``_parameter_constraints``), that the estimator is
      fitted, that forget rows exist, that inputs have as many features as the
      estimator was fitted with and matching row counts (``ValueError``);
    - for a fitted :class:`~sklearn.pipeline.Pipeline` (nested ones too) whose last
      step is the model: transforms both row sets through the fitted preprocessing
      steps, hands only the last step to the subclass, and rebuilds a pipeline with
      copies of the same fitted preprocessing (kept, not refitted) and the new model;
    - asks :meth:`_check_estimator` whether the subclass can handle the model
      (``TypeError`` otherwise).

    Writing an unlearner (the deep unlearners -- Blindspot, Gaussian, fine-tuning
    -- are written this way): subclass, declare parameters in ``__init__`` and
    ``_parameter_constraints``, override :meth:`_check_estimator` to refuse models
    the method cannot handle (call ``super()``), and implement :meth:`_unlearn`,
    which receives the final model and :class:`Rows` for the forget and retain
    sets and returns the new fitted model. It must not modify the model it
    receives: copy it (``copy.deepcopy``) before fine-tuning. Set the class
    attribute ``requires_retain = False`` if the method needs no retain rows.

    Attributes
    ----------
    requires_retain : bool
        Class attribute: whether :meth:`unlearn` needs ``X_retain`` and ``y_retain``.

    Examples
    --------
    A (useless) unlearner that returns an unchanged copy, to show the hooks:

    >>> import copy
    >>> import numpy as np
    >>> from sklearn.linear_model import Ridge
    >>> from regkit.unlearning import Unlearner
    >>> class CopyUnlearner(Unlearner):
    ...     def _unlearn(self, estimator, forget, retain):
    ...         return copy.deepcopy(estimator)
    >>> X, y = np.arange(20.0).reshape(10, 2), np.arange(10.0)
    >>> model = Ridge().fit(X, y)
    >>> new = CopyUnlearner().unlearn(model, X[:2], y[:2], X[2:], y[2:])
    >>> new is model, bool(np.array_equal(new.coef_, model.coef_))
    (False, True)
    >>> CopyUnlearner().unlearn(model, X[:0], y[:0], X, y)
    Traceback (most recent call last):
    ...
    ValueError: X_forget is empty: ...
    """

    requires_retain = True
    _parameter_constraints: dict = {}

    def unlearn(
        self,
        estimator,
        X_forget,
        y_forget,
        X_retain=None,
        y_retain=None,
        *,
        sample_weight_forget=None,
        sample_weight_retain=None,
    ):
        """Return a new fitted estimator without the influence of the forget rows.

        Parameters
        ----------
        estimator : fitted regressor or Pipeline
            The trained model (a Pipeline: its last step is unlearned, the
            preprocessing is kept). Not modified.
        X_forget : array-like of shape (n_forget, n_features)
            Rows to forget, as passed to the estimator's ``fit``.
        y_forget : array-like of shape (n_forget,) or (n_forget, n_outputs)
            Their targets.
        X_retain : array-like of shape (n_retain, n_features) or None, default=None
            Training rows to keep (None only when ``requires_retain`` is False).
        y_retain : array-like of shape (n_retain,) or (n_retain, n_outputs) or None, \
default=None
            Their targets.
        sample_weight_forget : array-like of shape (n_forget,) or None, default=None
            Weights the forget rows were trained with.
        sample_weight_retain : array-like of shape (n_retain,) or None, default=None
            Weights the retain rows were trained with.

        Returns
        -------
        unlearned : estimator
            A new fitted estimator of the same class (same preprocessing).

        Raises
        ------
        ValueError
            Empty forget set, inconsistent shapes, or missing retain rows.
        TypeError
            If this unlearner cannot handle the estimator.
        """
        validate_params(self)
        if not is_regressor(final_estimator(estimator)):
            raise TypeError(
                f"{type(self).__name__} unlearns regressors (or a Pipeline ending with "
                f"one); got {type(final_estimator(estimator)).__name__}."
            )
        check_is_fitted(estimator)
        forget = _check_rows("forget", X_forget, y_forget, sample_weight_forget)
        retain = None
        if X_retain is not None or y_retain is not None:
            retain = _check_rows("retain", X_retain, y_retain, sample_weight_retain)
        elif self.requires_retain:
            raise ValueError(f"{type(self).__name__} needs the retain rows: X_retain, y_retain.")
        _check_widths(estimator, forget, retain)
        model = final_estimator(estimator)
        self._check_estimator(model)
        forget = forget._replace(X=transform_to_final(estimator, forget.X))
        if retain is not None:
            retain = retain._replace(X=transform_to_final(estimator, retain.X))
        unlearned = self._unlearn(model, forget, retain)
        if unlearned is model or type(unlearned) is not type(model):
            # A contract check for subclasses: the caller's model must stay untouched.
            raise RuntimeError(
                f"{type(self).__name__}._unlearn must return a new fitted "
                f"{type(model).__name__}, got {type(unlearned).__name__}"
                f"{' (the input itself)' if unlearned is model else ''}."
            )
        return replace_final(estimator, unlearned)

    def _check_estimator(self, estimator):
        """Raise ``TypeError`` if this unlearner cannot handle ``estimator``.

        Called with the final model (after any Pipeline), fitted. The base accepts
        every regressor; subclasses narrow it.

        Parameters
        ----------
        estimator : fitted regressor
            The model to unlearn.
        """

    @abstractmethod
    def _unlearn(self, estimator, forget, retain):
        """Return a new fitted model trained as if without ``forget``.

        Parameters
        ----------
        estimator : fitted regressor
            The final model; must not be modified.
        forget : Rows
            Forget rows, through the preprocessing.
        retain : Rows or None
            Retain rows, through the preprocessing (None when not given and
            ``requires_retain`` is False).

        Returns
        -------
        unlearned : regressor
            A new fitted model of the same class.
        """


def _check_rows(name, X, y, sample_weight):
    if X is None or y is None:
        raise ValueError(f"X_{name} and y_{name} must both be given.")
    if np.ndim(X) != 2:
        raise ValueError(f"X_{name} must be 2-D (n_samples, n_features), got shape {np.shape(X)}.")
    if np.ndim(y) not in (1, 2):
        raise ValueError(f"y_{name} must be 1-D or 2-D, got shape {np.shape(y)}.")
    if _num_samples(X) == 0:
        raise ValueError(f"X_{name} is empty: pass at least one row to {name}.")
    check_consistent_length(X, y, sample_weight)
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, dtype=np.float64)
    return Rows(X, y, sample_weight)


def _check_widths(estimator, forget, retain):
    expected = getattr(estimator, "n_features_in_", None)
    for name, rows in (("forget", forget), ("retain", retain)):
        if rows is None:
            continue
        n_features = _num_features(rows.X)
        if expected is not None and n_features != expected:
            raise ValueError(
                f"X_{name} has {n_features} features, but {type(estimator).__name__} "
                f"was fitted with {expected}."
            )
        expected = n_features
    if (
        retain is not None
        and np.ndim(forget.y) == np.ndim(retain.y) == 2
        and np.shape(forget.y)[1] != np.shape(retain.y)[1]
    ):
        raise ValueError(
            f"y_forget has {np.shape(forget.y)[1]} outputs and y_retain "
            f"{np.shape(retain.y)[1]}; they must match."
        )
