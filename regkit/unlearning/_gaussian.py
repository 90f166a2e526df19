"""Gaussian fine-tuning: forget targets replaced by noise ("Gaussian amnesiac")."""

import numpy as np

from regkit.nn import TensorBatches
from regkit.unlearning._deep import DEEP_PARAMETERS, DeepUnlearner, concat_rows, encode_rows
from regkit.utils import fill_doc


def gaussian_targets(forget, retain, rng):
    """One draw from N(mean, std) of all training targets per forget target.

    The mean and the unbiased standard deviation of each target column are taken
    over the forget and retain rows together (the whole training set, as in the
    reference code), weighted by the sample weights when there are any.

    Parameters
    ----------
    forget, retain : Rows
        The two row sets.
    rng : numpy.random.Generator
        Source of the draws.

    Returns
    -------
    y : ndarray, shaped like ``forget.y``
    """
    y_forget = np.asarray(forget.y, dtype=np.float64)
    n_forget = len(y_forget)
    y_retain = np.asarray(retain.y, dtype=np.float64)
    targets = np.concatenate([y_forget.reshape(n_forget, -1), y_retain.reshape(len(y_retain), -1)])
    weights = None
    if forget.sample_weight is not None or retain.sample_weight is not None:
        weights = np.concatenate(
            [
                np.ones(n_forget) if forget.sample_weight is None else forget.sample_weight,
                np.ones(len(targets) - n_forget)
                if retain.sample_weight is None
                else retain.sample_weight,
            ]
        )
    mean = np.average(targets, axis=0, weights=weights)
    std = np.sqrt([np.cov(column, aweights=weights) for column in targets.T])
    return rng.normal(mean, std, size=(n_forget, targets.shape[1])).reshape(y_forget.shape)


@fill_doc(
    deep_parameters=DEEP_PARAMETERS.format(
        max_epochs=5,
        epochs_source="the reference code's STS-B run, as for the other deep unlearners; "
        "its AgeDB run uses 1",
        extra_draws=", the noisy targets",
    )
)
class GaussianUnlearner(DeepUnlearner):
    """Fine-tune on all rows after replacing the forget targets by Gaussian noise.

    The "Gaussian amnesiac" baseline of Tarun et al., "Deep Regression
    Unlearning" (ICML 2023), the continuous-target version of random relabelling
    (Graves et al., 2021): each forget row's target is replaced by a draw from
    ``N(mean, std)``, the mean and standard deviation of the whole training target
    (forget and retain rows), and a copy of the model is fine-tuned with its own
    loss on the retain rows (true targets) and the forget rows (noisy targets),
    shuffled together. The noise goes on the targets, not on the weights.

    Parameters
    ----------
    {deep_parameters}

    Attributes
    ----------
    requires_retain : bool
        True: the retain rows keep the model accurate and give the moments.

    See Also
    --------
    BlindspotUnlearner : Pulls the forget rows toward a model that never saw them.
    FineTuneUnlearner : Fine-tuning on the retain rows only.

    Notes
    -----
    With sample weights, the moments are weighted and the rows keep their
    weights in the loss. For several targets, each column gets its own moments.

    Examples
    --------
    >>> import numpy as np
    >>> from regkit.regression import NeuralRegressor
    >>> from regkit.unlearning import GaussianUnlearner
    >>> X = np.random.default_rng(0).uniform(-1, 1, (400, 2))
    >>> y = np.abs(X).sum(axis=1)
    >>> model = NeuralRegressor((16,), max_epochs=10, n_iter_no_change=None).fit(X, y)
    >>> gaussian = GaussianUnlearner(max_epochs=2, random_state=0)
    >>> unlearned = gaussian.unlearn(model, X[y > 1.5], y[y > 1.5], X[y <= 1.5], y[y <= 1.5])
    >>> unlearned.n_iter_ - model.n_iter_
    2
    """

    def _unlearn(self, estimator, forget, retain):
        noise_seed, unlearn_seed = self._seeds(estimator, 2)
        noisy = gaussian_targets(forget, retain, np.random.default_rng(noise_seed))
        forget_t = estimator.encode_tensors(forget.X, noisy, forget.sample_weight)
        rows = concat_rows(forget_t, encode_rows(estimator, retain))
        batches = TensorBatches(*rows, batch_size=self.batch_size)
        return self._fine_tune(estimator, estimator._loss, batches, unlearn_seed)
