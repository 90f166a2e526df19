"""Machine unlearning: remove training rows from fitted regressors."""

from regkit.unlearning._ridge import UnlearnableRidge
from regkit.unlearning._statistics import RowStatistics

__all__ = ["RowStatistics", "UnlearnableRidge"]
