"""Offline datasets and data generators.

Every loader reads data that ships inside scikit-learn or statsmodels: nothing is
ever downloaded.
"""

from regkit.datasets._generators import make_ar_process, make_seasonal_panel
from regkit.datasets._loaders import (
    load_co2,
    load_diabetes,
    load_elnino,
    load_fair,
    load_macrodata,
    load_randhie,
    load_sunspots,
)

__all__ = [
    "load_co2",
    "load_diabetes",
    "load_elnino",
    "load_fair",
    "load_macrodata",
    "load_randhie",
    "load_sunspots",
    "make_ar_process",
    "make_seasonal_panel",
]
