"""Fine-tuning on the retain rows only: the simplest approximate unlearner."""

from regkit.nn import TensorBatches
from regkit.unlearning._deep import DEEP_PARAMETERS, DeepUnlearner, encode_rows
from regkit.utils import fill_doc


@fill_doc(
    deep_parameters=DEEP_PARAMETERS.format(
        max_epochs=5, epochs_source="the reference code's fine-tuning baseline", extra_draws=""
    )
)
class FineTuneUnlearner(DeepUnlearner):
    """Keep training the model on the retain rows only, hoping it forgets the others.

    The fine-tuning baseline of Tarun et al., "Deep Regression Unlearning" (ICML
    2023): a copy of the model is trained a few more epochs with its own loss on
    the retain rows (catastrophic forgetting does the rest). Cheap, but what the
    model learnt from the forget rows fades slowly; the report's anamnesis index
    and membership score show how much remains.

    Parameters
    ----------
    {deep_parameters}

    Attributes
    ----------
    requires_retain : bool
        True: the retain rows are the training data.

    See Also
    --------
    BlindspotUnlearner : Pulls the forget rows toward a model that never saw them.
    RetrainUnlearner : Retraining from scratch on the retain rows.

    Examples
    --------
    >>> import numpy as np
    >>> from regkit.regression import NeuralRegressor
    >>> from regkit.unlearning import FineTuneUnlearner
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((400, 3))
    >>> y = X @ [1.0, -1.0, 0.5]
    >>> model = NeuralRegressor((16,), max_epochs=10, n_iter_no_change=None, random_state=0)
    >>> model = model.fit(X, y)
    >>> unlearned = FineTuneUnlearner(random_state=0).unlearn(model, X[:40], y[:40], X[40:], y[40:])
    >>> [record.get("stage") for record in unlearned.history_[-5:]]
    ['unlearn', 'unlearn', 'unlearn', 'unlearn', 'unlearn']
    """

    def _unlearn(self, estimator, forget, retain):
        (seed,) = self._seeds(estimator, 1)
        batches = TensorBatches(*encode_rows(estimator, retain), batch_size=self.batch_size)
        return self._fine_tune(estimator, estimator._loss, batches, seed)
