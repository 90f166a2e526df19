"""RetrainUnlearner: the gold standard, a fresh model fitted on the retain rows only."""

from sklearn.base import clone
from sklearn.utils.validation import has_fit_parameter

from regkit.unlearning._base import Unlearner
from regkit.unlearning._seeding import seed_estimator
from regkit.utils import check_random_seed


class RetrainUnlearner(Unlearner):
    """Retrain from scratch on the retain rows: exact unlearning, at full cost.

    The reference every approximate unlearner is judged against (Tarun et al.,
    ICML 2023, call it the "gold" model): a clone of the estimator, with the same
    parameters, fitted on the retain rows only. Works for any scikit-learn
    regressor; for a Pipeline, the last step is refitted on the retain rows as the
    fitted preprocessing transforms them.

    Parameters
    ----------
    random_state : int, RandomState instance or None, default=None
        None keeps the estimator's own ``random_state`` parameters (a clone copies
        them); otherwise every ``random_state`` parameter of the clone (nested ones
        included) is set to a seed drawn from this one.

    Attributes
    ----------
    requires_retain : bool
        True: the retain rows are the training data.

    See Also
    --------
    regkit.unlearning.ExactUnlearner : Exact and cheap, for estimators that can forget.

    Notes
    -----
    The preprocessing of a Pipeline is kept as fitted, as for every unlearner, so
    that the retrained model is comparable with the unlearned ones. Its
    statistics (a scaler's mean, for instance) still include the forgotten rows;
    when a deletion must remove those too, refit the whole pipeline instead:
    ``sklearn.base.clone(pipeline).fit(X_retain, y_retain)``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import Ridge
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from regkit.unlearning import RetrainUnlearner
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.standard_normal((50, 3)), rng.standard_normal(50)
    >>> model = make_pipeline(StandardScaler(), Ridge()).fit(X, y)
    >>> retrained = RetrainUnlearner().unlearn(model, X[:5], y[:5], X[5:], y[5:])
    >>> expected = Ridge().fit(model[0].transform(X[5:]), y[5:])
    >>> bool(np.allclose(retrained[-1].coef_, expected.coef_))
    True
    """

    _parameter_constraints = {"random_state": ["random_state"]}

    def __init__(self, *, random_state=None):
        self.random_state = random_state

    def _unlearn(self, estimator, forget, retain):
        model = clone(estimator)
        if self.random_state is not None:
            seed_estimator(model, check_random_seed(self.random_state))
        if retain.sample_weight is None:
            return model.fit(retain.X, retain.y)
        if not has_fit_parameter(model, "sample_weight"):
            raise TypeError(
                f"sample_weight_retain was given, but {type(model).__name__}.fit does not "
                "accept sample_weight."
            )
        return model.fit(retain.X, retain.y, sample_weight=retain.sample_weight)
