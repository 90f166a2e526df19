"""SISARegressor: sharded, isolated, sliced, aggregated training with exact forgetting."""

import copy
import inspect
from numbers import Integral

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, MetaEstimatorMixin, RegressorMixin, clone
from sklearn.linear_model import Ridge
from sklearn.utils import check_random_state, get_tags
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from regkit.unlearning._seeding import seed_estimator
from regkit.utils import check_numeric_target, validate_params


class SISARegressor(MetaEstimatorMixin, RegressorMixin, BaseEstimator):
    """Sharded training around any regressor, so that rows can be forgotten exactly.

    SISA (Bourtoule et al., "Machine Unlearning", IEEE S&P 2021): the training
    rows are split at random into ``n_shards`` disjoint shards, one copy of
    ``estimator`` is trained on each, and predictions are the mean of the shard
    models' predictions. To forget rows, :meth:`forget` retrains only the shards
    that held them, without those rows: the result is exactly the model that
    training on the remaining rows with the same shard assignment and seeds gives,
    at about ``1 / n_shards`` of the cost of retraining everything.

    With ``n_slices > 1`` each shard is further cut into slices and trained
    incrementally (``partial_fit``), stage ``k`` on slices ``0..k`` for
    ``epochs_per_slice`` passes, with a copy of the model kept after every stage;
    forgetting a row of slice ``k`` restarts from the copy after stage ``k - 1``.
    This needs an estimator with ``partial_fit`` (SGDRegressor, MLPRegressor...)
    and memory for ``n_shards * n_slices`` models.

    Shards train in parallel through joblib: ``n_jobs`` processes or threads, or a
    Dask cluster with ``joblib.parallel_backend("dask")`` (each task receives only
    its shard's rows).

    Parameters
    ----------
    estimator : regressor or None, default=None
        The model trained on each shard (cloned); None: ``Ridge()``.
    n_shards : int, default=5
        Number of shards. More shards make forgetting cheaper and each shard
        model weaker (it sees ``1 / n_shards`` of the rows).
    n_slices : int, default=1
        Slices per shard; more than 1 needs ``estimator.partial_fit``.
    epochs_per_slice : int, default=1
        ``partial_fit`` passes over slices ``0..k`` at stage ``k`` (ignored when
        ``n_slices=1``).
    n_jobs : int or None, default=None
        Parallel jobs for training shards (``joblib.Parallel`` semantics: None is
        1 unless in a ``joblib.parallel_backend`` context, -1 all processors).
    random_state : int, RandomState instance or None, default=None
        Draws the shard assignment and one seed per shard, which is set on every
        ``random_state`` parameter of the shard's estimator (overriding its own
        value), so that retraining a shard reproduces it.

    Attributes
    ----------
    estimators_ : list of regressor or None
        The model of each shard (None for a shard whose rows were all forgotten).
    slice_indices_ : list of list of ndarray
        ``slice_indices_[s][k]``: training-row indices (positions in the ``X``
        given to ``fit``) in slice ``k`` of shard ``s``, without forgotten rows.
    checkpoints_ : list of list of regressor
        ``checkpoints_[s][k]``: shard ``s``'s model after stage ``k`` (the last is
        ``estimators_[s]``).
    shard_seeds_ : ndarray of shape (n_shards,)
        Seed of each shard's estimator.
    retrained_shards_ : ndarray of int
        Shards trained by the last ``fit`` (all) or ``forget`` (those that held
        the forgotten rows).
    forgotten_indices_ : ndarray of int
        Training rows forgotten so far, sorted.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Names of the features, when X has string column names.

    See Also
    --------
    regkit.unlearning.UnlearnableRidge : Exact forgetting for ridge, without shards.
    regkit.unlearning.ExactUnlearner : ``forget`` behind the unlearner interface.

    Notes
    -----
    The training rows are kept (a copy), since forgetting retrains shards from
    them. Shard predictions are averaged with equal weights, also after some
    shards have lost rows. A shard whose rows are all forgotten is dropped from
    the average; forgetting every row is refused.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.tree import DecisionTreeRegressor
    >>> from regkit.unlearning import SISARegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((200, 3))
    >>> y = X[:, 0] ** 2 + X[:, 1]
    >>> model = SISARegressor(
    ...     DecisionTreeRegressor(max_depth=4), n_shards=4, random_state=0
    ... ).fit(X, y)
    >>> model.forget([3, 17]).retrained_shards_
    array([2, 3])
    >>> model.forgotten_indices_
    array([ 3, 17])
    """

    _parameter_constraints = {
        "estimator": [HasMethods(["fit", "predict"]), None],
        "n_shards": [Interval(Integral, 1, None, closed="left")],
        "n_slices": [Interval(Integral, 1, None, closed="left")],
        "epochs_per_slice": [Interval(Integral, 1, None, closed="left")],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        estimator=None,
        *,
        n_shards=5,
        n_slices=1,
        epochs_per_slice=1,
        n_jobs=None,
        random_state=None,
    ):
        self.estimator = estimator
        self.n_shards = n_shards
        self.n_slices = n_slices
        self.epochs_per_slice = epochs_per_slice
        self.n_jobs = n_jobs
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = get_tags(self._template())
        tags.target_tags.multi_output = inner.target_tags.multi_output
        tags.input_tags.allow_nan = inner.input_tags.allow_nan
        return tags

    def _template(self):
        return Ridge() if self.estimator is None else self.estimator

    def fit(self, X, y, sample_weight=None):
        """Split the rows into shards (and slices) and train one model per shard.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Targets.
        sample_weight : array-like of shape (n_samples,) or None, default=None
            Weights, passed on to the shard estimators (which must accept them).

        Returns
        -------
        self : SISARegressor
        """
        validate_params(self)
        template = clone(self._template())
        method = "fit" if self.n_slices == 1 else "partial_fit"
        if not callable(getattr(template, method, None)):
            raise TypeError(
                f"n_slices={self.n_slices} trains each shard incrementally, which needs "
                f"an estimator with partial_fit; {type(template).__name__} has none "
                "(use n_slices=1)."
            )
        if sample_weight is not None and not _accepts_sample_weight(template, method):
            raise TypeError(
                f"sample_weight was given, but {type(template).__name__}.{method} does "
                "not accept sample_weight."
            )
        check_numeric_target(y)
        X, y = validate_data(
            self,
            X,
            y,
            multi_output=True,
            y_numeric=True,
            ensure_all_finite=not get_tags(template).input_tags.allow_nan,
        )
        n_samples = len(X)
        if n_samples < self.n_shards:
            raise ValueError(
                f"Each of the n_shards={self.n_shards} shards needs at least one row, "
                f"got n_samples = {n_samples}."
            )
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, ensure_non_negative=True)
        # Forgetting retrains from these rows: keep copies, not the caller's arrays.
        self._X, self._y = np.array(X), np.array(y)
        self._sample_weight = None if sample_weight is None else np.array(sample_weight)
        # Retraining must repeat fit's recipe even if parameters change afterwards.
        self._recipe = (template, self.epochs_per_slice)
        rng = check_random_state(self.random_state)
        order = rng.permutation(n_samples)
        self.shard_seeds_ = rng.randint(np.iinfo(np.int32).max, size=self.n_shards)
        slices = [
            np.array_split(rows, self.n_slices) for rows in np.array_split(order, self.n_shards)
        ]
        shards = np.arange(self.n_shards)
        trained = self._train(slices, shards, np.zeros(self.n_shards, dtype=int), None)
        self.slice_indices_ = slices
        self.checkpoints_ = trained
        self.estimators_ = [stages[-1] for stages in trained]
        self.retrained_shards_ = shards
        self.forgotten_indices_ = np.array([], dtype=int)
        return self

    def forget(self, indices):
        """Forget training rows: retrain the shards that held them, without them.

        Everything is checked, and the affected shards retrained, before the model
        changes: on error it is left as it was.

        Parameters
        ----------
        indices : array-like of int
            Positions of the rows in the ``X`` given to ``fit`` (duplicates are
            ignored).

        Returns
        -------
        self : SISARegressor
            With ``retrained_shards_`` listing the shards that were retrained.

        Raises
        ------
        ValueError
            If ``indices`` is empty, out of range, names rows already forgotten,
            or would forget every row.
        TypeError
            If ``indices`` are not integers.
        """
        check_is_fitted(self)
        rows = self._validate_indices(indices)
        location = self._row_locations()
        shard_of = location[rows, 0]
        shards = np.unique(shard_of)
        slices = list(self.slice_indices_)
        starts = np.zeros(len(slices), dtype=int)
        for s in shards:
            starts[s] = location[rows[shard_of == s], 1].min()
            slices[s] = [part[~np.isin(part, rows)] for part in slices[s]]
        if not any(len(part) for shard in slices for part in shard):
            raise ValueError("Cannot forget every training row: nothing would remain to fit.")
        trained = self._train(slices, shards, starts, self.checkpoints_)
        checkpoints = list(self.checkpoints_)
        for s, stages in zip(shards, trained):
            checkpoints[s] = checkpoints[s][: starts[s]] + stages
        self.slice_indices_ = slices
        self.checkpoints_ = checkpoints
        self.estimators_ = [
            stages[-1] if any(len(part) for part in shard) else None
            for stages, shard in zip(checkpoints, slices)
        ]
        self.retrained_shards_ = shards
        self.forgotten_indices_ = np.union1d(self.forgotten_indices_, rows)
        return self

    def find_rows(self, X, y):
        """Positions of remaining training rows equal to the given rows.

        Rows are matched exactly, features and targets; a row given twice matches
        two identical training rows. Use it to forget rows known by their values:
        ``model.forget(model.find_rows(X_forget, y_forget))``.

        Parameters
        ----------
        X : array-like of shape (n_rows, n_features)
            Rows to look up.
        y : array-like of shape (n_rows,) or (n_rows, n_targets)
            Their targets.

        Returns
        -------
        indices : ndarray of shape (n_rows,)
            Positions in the ``X`` given to ``fit``.

        Raises
        ------
        ValueError
            If a row is not among the remaining training rows.
        """
        check_is_fitted(self)
        check_numeric_target(y)
        X, y = validate_data(self, X, y, reset=False, multi_output=True, y_numeric=True)
        available = {}
        remaining = np.setdiff1d(np.arange(len(self._X)), self.forgotten_indices_)
        for index, key in zip(remaining, _row_keys(self._X[remaining], self._y[remaining])):
            available.setdefault(key, []).append(index)
        found = []
        for position, key in enumerate(_row_keys(X, y)):
            matches = available.get(key)
            if not matches:
                raise ValueError(
                    f"Row {position} of X (with its target) is not among the remaining "
                    "training rows: it was never fitted, or was already forgotten."
                )
            found.append(matches.pop(0))
        return np.array(found, dtype=int)

    def predict(self, X):
        """Mean of the shard models' predictions.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_targets)
            Predictions.
        """
        check_is_fitted(self)
        X = validate_data(
            self, X, reset=False, ensure_all_finite=not get_tags(self).input_tags.allow_nan
        )
        return np.mean([m.predict(X) for m in self.estimators_ if m is not None], axis=0)

    # -- helpers ---------------------------------------------------------------------

    def _train(self, slices, shards, starts, checkpoints):
        """Train the given shards from their start stage, in parallel; one list per shard."""
        template, epochs_per_slice = self._recipe
        tasks = []
        for s in shards:
            seeded = seed_estimator(clone(template), int(self.shard_seeds_[s]))
            start_model = None if starts[s] == 0 else checkpoints[s][starts[s] - 1]
            data = [self._rows(part) for part in slices[s]]
            tasks.append(
                delayed(_train_shard)(seeded, start_model, data, starts[s], epochs_per_slice, s)
            )
        return Parallel(n_jobs=self.n_jobs)(tasks)

    def _rows(self, indices):
        weight = None if self._sample_weight is None else self._sample_weight[indices]
        return self._X[indices], self._y[indices], weight

    def _row_locations(self):
        location = np.full((len(self._X), 2), -1)
        for s, shard in enumerate(self.slice_indices_):
            for k, part in enumerate(shard):
                location[part] = (s, k)
        return location

    def _validate_indices(self, indices):
        rows = np.asarray(indices)
        if rows.ndim != 1 or not (rows.size == 0 or np.issubdtype(rows.dtype, np.integer)):
            raise TypeError(
                f"indices must be a 1-D array-like of integer row positions, got {indices!r}."
            )
        if rows.size == 0:
            raise ValueError("indices is empty: pass at least one row to forget.")
        rows = np.unique(rows)
        n_samples = len(self._X)
        outside = rows[(rows < 0) | (rows >= n_samples)]
        if outside.size:
            raise ValueError(
                f"indices must be positions in [0, {n_samples}) of the rows given to fit; "
                f"got {outside[:10].tolist()}."
            )
        again = np.intersect1d(rows, self.forgotten_indices_)
        if again.size:
            raise ValueError(f"Rows {again[:10].tolist()} were already forgotten.")
        return rows


def _train_shard(template, start_model, slices, start, epochs_per_slice, shard):
    """Train one shard from stage ``start``; returns the models after each later stage.

    A ``ValueError`` or ``TypeError`` of the shard's estimator (or an arithmetic
    error from its numerical library) is re-raised as a ``ValueError`` or
    ``TypeError`` that names the estimator, the shard and its rows, with the
    original error chained: the user called SISA, not the library inside it.
    """
    try:
        return _train_stages(template, start_model, slices, start, epochs_per_slice)
    except (ValueError, TypeError, ArithmeticError) as error:
        kind = TypeError if isinstance(error, TypeError) else ValueError
        n_rows = sum(len(part[0]) for part in slices)
        raise kind(
            f"{template!r} failed to fit shard {shard} ({n_rows} rows of X and y): "
            f"{type(error).__name__}: {error}"
        ) from error


def _train_stages(template, start_model, slices, start, epochs_per_slice):
    if len(slices) == 1:
        X, y, weight = slices[0]
        if len(X) == 0:
            return [None]
        return [template.fit(X, y, **_weight_kwargs(weight))]
    model = template if start_model is None else copy.deepcopy(start_model)
    stages = []
    for k in range(start, len(slices)):
        X = np.concatenate([part[0] for part in slices[: k + 1]])
        y = np.concatenate([part[1] for part in slices[: k + 1]])
        weights = [part[2] for part in slices[: k + 1]]
        weight = None if weights[0] is None else np.concatenate(weights)
        for _ in range(epochs_per_slice if len(X) else 0):
            model.partial_fit(X, y, **_weight_kwargs(weight))
        # Later stages keep training ``model``: each checkpoint is its own copy.
        stages.append(model if k == len(slices) - 1 else copy.deepcopy(model))
    return stages


def _weight_kwargs(weight):
    return {} if weight is None else {"sample_weight": weight}


def _accepts_sample_weight(estimator, method):
    return "sample_weight" in inspect.signature(getattr(estimator, method)).parameters


def _row_keys(X, y):
    """Hashable exact keys of rows ``[x, y]`` (+0.0 turns -0.0 into 0.0)."""
    rows = np.hstack(
        [np.asarray(X, dtype=np.float64), np.asarray(y, np.float64).reshape(len(X), -1)]
    )
    rows = np.ascontiguousarray(rows + 0.0)
    return [row.tobytes() for row in rows]
