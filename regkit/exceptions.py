"""Exceptions and warnings raised by regkit."""

__all__ = ["ModelFileError", "TrainingDivergedError", "TrainingInterruptedWarning"]


class TrainingDivergedError(FloatingPointError):
    """Raised when the training loss of a neural estimator explodes or stops being finite.

    The estimator is left as it was before the call that diverged (unfitted after a
    first ``fit``).
    """


class TrainingInterruptedWarning(UserWarning):
    """Emitted when ``fit`` is stopped with Ctrl-C and keeps the weights it has."""


class ModelFileError(ValueError):
    """Raised by ``load`` for a file that is not a valid regkit model file.

    The message says why: not a safetensors file, a damaged or oversized header,
    a class that is not a registered regkit estimator, tensors that do not match the
    model described, and so on. Nothing named by such a file is imported or run,
    and nothing is allocated beyond what the file holds.
    """
