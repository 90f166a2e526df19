"""Every public regkit estimator passes scikit-learn's estimator checks.

Estimators are collected with :func:`regkit.utils.all_estimators`, so a new one is
checked the day it lands. ``FAST_PARAMS`` holds settings that keep the checks quick
(and still converge: ``check_regressors_train`` wants R2 > 0.5); ``EXPECTED_FAILURES``
holds the only checks allowed to fail, each with its reason.
"""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from regkit.utils import all_estimators

NEURAL_FAST = {"max_epochs": 30, "batch_size": 32, "learning_rate": 1e-2, "device": "cpu"}

FAST_PARAMS = {
    "NeuralRegressor": {**NEURAL_FAST, "hidden_layer_sizes": (16,)},
}

MINIBATCH_REASON = (
    "trained by shuffled minibatch gradient descent: weighting a row by k is not the "
    "same optimisation path as repeating it k times (the loss is equivalent in "
    "expectation, the iterates are not)"
)

EXPECTED_FAILURES = {
    "NeuralRegressor": {
        "check_sample_weight_equivalence_on_dense_data": MINIBATCH_REASON,
    },
}


def _instances():
    for name, cls in all_estimators():
        yield cls(**FAST_PARAMS.get(name, {}))


def test_every_estimator_has_fast_settings():
    # Default settings may be far too slow for the check suite; make it a conscious choice.
    missing = sorted(set(dict(all_estimators())) - set(FAST_PARAMS))
    assert not missing, f"add fast check settings for {missing} to FAST_PARAMS"


@parametrize_with_checks(
    list(_instances()),
    expected_failed_checks=lambda est: EXPECTED_FAILURES.get(type(est).__name__, {}),
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.mark.parametrize("name, cls", all_estimators())
def test_estimator_is_documented(name, cls):
    doc = cls.__doc__ or ""
    for section in ("Parameters", "Attributes", "Examples"):
        assert section in doc, f"{name} docstring has no {section} section"
