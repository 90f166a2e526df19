"""Augmented views of tabular rows for contrastive pretraining."""

import torch

__all__ = ["TABULAR_AUGMENTATIONS", "TabularViews", "checked_view"]

# The built-in augmentations: which of the two corruptions each applies.
TABULAR_AUGMENTATIONS = {
    "gaussian": (True, False),
    "feature_dropout": (False, True),
    "gaussian+feature_dropout": (True, True),
}


class TabularViews:
    """Gaussian noise and feature dropout, scaled to each feature's spread.

    A view of a row adds, to each feature, Gaussian noise with standard deviation
    ``noise`` times the feature's training standard deviation (0 for a constant
    feature), then replaces each feature, with probability ``dropout``, by its
    training mean. Replacing by the mean rather than by zero keeps a dropped
    feature at a typical value whatever the centring of the inputs.

    Parameters
    ----------
    mean, scale : Tensor of shape (n_features,)
        Training means and standard deviations of the features, on the device and
        in the dtype of the batches.
    noise : float
        Noise standard deviation in feature standard deviations (0: no noise).
    dropout : float
        Probability of replacing a feature by its mean (0: no dropout).
    """

    def __init__(self, mean, scale, noise, dropout):
        self.mean, self.scale = mean, scale
        self.noise, self.dropout = float(noise), float(dropout)

    def __call__(self, X, generator):
        """One random view of the rows of ``X``, drawn from ``generator``."""
        options = {"generator": generator, "device": X.device, "dtype": X.dtype}
        view = X
        if self.noise > 0:
            view = view + (self.noise * self.scale) * torch.randn(X.shape, **options)
        if self.dropout > 0:
            view = torch.where(torch.rand(X.shape, **options) < self.dropout, self.mean, view)
        return view


def checked_view(augment, X, generator):
    """``augment(X, generator)``, refused unless it is a tensor shaped like ``X``.

    A user's augmentation that returns another shape, type or device would
    otherwise fail deep inside the network, or silently broadcast.
    """
    view = augment(X, generator)
    if not isinstance(view, torch.Tensor) or not view.is_floating_point():
        raise TypeError(
            "augment must return a floating-point torch.Tensor (a view of its input batch), "
            f"got {type(view).__name__}"
            + (f" of dtype {view.dtype}" if isinstance(view, torch.Tensor) else "")
            + "."
        )
    if view.shape != X.shape or view.device != X.device:
        raise ValueError(
            f"augment must return a view shaped like its input batch, {tuple(X.shape)} on "
            f"{X.device}; got {tuple(view.shape)} on {view.device}."
        )
    return view.to(X.dtype)
