"""ExactUnlearner: the estimators that can forget rows exactly, as unlearners."""

import copy

from regkit.unlearning._base import Unlearner
from regkit.unlearning._ridge import UnlearnableRidge
from regkit.unlearning._sisa import SISARegressor


class ExactUnlearner(Unlearner):
    """Unlearn through an estimator's own exact deletion: no retain rows needed.

    Puts :meth:`UnlearnableRidge.forget <regkit.unlearning.UnlearnableRidge.forget>`
    (downdate of the sufficient statistics) and
    :meth:`SISARegressor.forget <regkit.unlearning.SISARegressor.forget>` (retrain
    the shards that held the rows) behind the common :class:`Unlearner` interface,
    so that they run side by side with the approximate unlearners in
    :func:`~regkit.unlearning.run_unlearners` and
    :func:`~regkit.unlearning.unlearning_report`. The estimator is copied first.

    For :class:`~regkit.unlearning.SISARegressor` the forget rows are located among
    its stored training rows by exact value (features, as the preprocessing gives
    them, and targets), with
    :meth:`~regkit.unlearning.SISARegressor.find_rows`; ``sample_weight_forget`` is
    not needed (the shard remembers each row's weight). For
    :class:`~regkit.unlearning.UnlearnableRidge`, pass the weights the rows were
    fitted with.

    Attributes
    ----------
    requires_retain : bool
        False: the estimators keep what they need.

    See Also
    --------
    regkit.unlearning.RetrainUnlearner : Exact for any estimator, at full cost.

    Examples
    --------
    >>> import numpy as np
    >>> from regkit.unlearning import ExactUnlearner, UnlearnableRidge
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.standard_normal((50, 3)), rng.standard_normal(50)
    >>> model = UnlearnableRidge().fit(X, y)
    >>> unlearned = ExactUnlearner().unlearn(model, X[:5], y[:5])
    >>> unlearned.n_samples_seen_, model.n_samples_seen_
    (45, 50)
    """

    requires_retain = False

    def _check_estimator(self, estimator):
        if not isinstance(estimator, UnlearnableRidge | SISARegressor):
            raise TypeError(
                "ExactUnlearner handles UnlearnableRidge and SISARegressor (estimators "
                f"that can forget rows exactly); got {type(estimator).__name__}. Use "
                "RetrainUnlearner for any other regressor."
            )

    def _unlearn(self, estimator, forget, retain):
        model = copy.deepcopy(estimator)
        if isinstance(model, SISARegressor):
            return model.forget(model.find_rows(forget.X, forget.y))
        return model.forget(forget.X, forget.y, sample_weight=forget.sample_weight)
