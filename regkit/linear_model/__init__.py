"""Linear and graph models solved by greedy block coordinate descent (:mod:`regkit.optim`).

Penalised least squares (:class:`BCDRegressor`) and logistic regression
(:class:`BCDLogisticRegression`) with any :class:`regkit.optim.BasePenalty`, their
regularisation paths (:func:`bcd_path`) and cross-validated versions
(:class:`BCDRegressorCV`, :class:`BCDLogisticRegressionCV`), and label propagation
on a graph (:class:`BCDLabelPropagation`).
"""

from regkit.linear_model._cv import BCDLogisticRegressionCV, BCDRegressorCV
from regkit.linear_model._label_propagation import BCDLabelPropagation
from regkit.linear_model._logistic import BCDLogisticRegression
from regkit.linear_model._path import bcd_path
from regkit.linear_model._regressor import BCDRegressor

__all__ = [
    "BCDLabelPropagation",
    "BCDLogisticRegression",
    "BCDLogisticRegressionCV",
    "BCDRegressor",
    "BCDRegressorCV",
    "bcd_path",
]
