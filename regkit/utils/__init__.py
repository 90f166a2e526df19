"""Shared helpers: estimator discovery, parameter validation, docstring templates."""

from regkit.utils._discovery import all_estimators
from regkit.utils._docstring import fill_doc
from regkit.utils._validation import check_random_seed, store_init_params, validate_params

__all__ = [
    "all_estimators",
    "check_random_seed",
    "fill_doc",
    "store_init_params",
    "validate_params",
]
