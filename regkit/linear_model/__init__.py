"""Linear and graph models solved by greedy block coordinate descent (:mod:`regkit.optim`)."""

from regkit.linear_model._label_propagation import BCDLabelPropagation
from regkit.linear_model._logistic import BCDLogisticRegression
from regkit.linear_model._regressor import BCDRegressor

__all__ = ["BCDLabelPropagation", "BCDLogisticRegression", "BCDRegressor"]
