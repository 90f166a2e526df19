"""Shared helpers: discovery of estimators and forecasters, validation, docstrings."""

from regkit.utils._discovery import all_estimators, all_forecasters
from regkit.utils._docstring import fill_doc
from regkit.utils._validation import (
    check_numeric_target,
    check_random_seed,
    store_init_params,
    validate_params,
)

__all__ = [
    "all_estimators",
    "all_forecasters",
    "check_numeric_target",
    "check_random_seed",
    "fill_doc",
    "store_init_params",
    "validate_params",
]
