"""Deep regressors trained on regkit's shared PyTorch engine."""

from regkit.regression._neural import NeuralRegressor

__all__ = ["NeuralRegressor"]
