"""Fix every random_state parameter of an estimator, nested ones included."""

import numpy as np


def seed_estimator(estimator, seed):
    """Set each ``random_state`` parameter of ``estimator`` to an integer drawn from ``seed``.

    Every parameter named ``random_state`` (or ``<step>__random_state`` in a
    Pipeline or meta-estimator) gets its own integer, drawn in sorted-name order
    from ``seed``, so the same seed always seeds the same parameters the same way.

    Parameters
    ----------
    estimator : BaseEstimator
        Modified in place (pass a clone).
    seed : int
        Root seed.

    Returns
    -------
    estimator : BaseEstimator
        The same object.
    """
    names = sorted(
        name
        for name in estimator.get_params(deep=True)
        if name == "random_state" or name.endswith("__random_state")
    )
    if names:
        draws = np.random.default_rng(seed).integers(np.iinfo(np.int32).max, size=len(names))
        estimator.set_params(**{name: int(draw) for name, draw in zip(names, draws)})
    return estimator
