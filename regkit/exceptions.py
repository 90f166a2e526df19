"""Exceptions and warnings raised by regkit."""

__all__ = ["TrainingDivergedError", "TrainingInterruptedWarning"]


class TrainingDivergedError(FloatingPointError):
    """Raised when the training loss of a neural estimator becomes NaN or infinite."""


class TrainingInterruptedWarning(UserWarning):
    """Emitted when ``fit`` is stopped with Ctrl-C and keeps the weights it has."""
