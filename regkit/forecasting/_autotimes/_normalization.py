"""Per-window normalisation and segmentation of series for AutoTimes.

Every window of a series is shifted by its mean and divided by its standard
deviation before it is embedded; forecasts are mapped back with the same two numbers.

Deviations from the reference code
----------------------------------
- The reference divides by ``sqrt(var + 1e-5)``: the ``1e-5`` is an absolute number,
  so a window whose values vary by less than about 0.003 is not normalised (its
  variance is swamped), and the result depends on the units of the series. Here the
  scale is the population standard deviation, floored at ``1e-6`` times the window's
  largest absolute value (1 for an all-zero window). Normalising ``a * x`` gives the
  same result as normalising ``x`` for any ``a > 0``, and so does normalising
  ``x + b`` while the spread stays above the floor (float32 carries about 7 digits,
  so a smaller spread is mostly rounding noise); a constant window maps to zeros
  instead of dividing by zero.
- The reference always takes the statistics over the whole input window. In training
  this window also holds the *targets* of every position but the last, so early
  positions learn from statistics partly made of their own future. ``stats_points``
  lets the caller take them from a leading part of the window instead (the default,
  ``None``, is the reference's whole window).
"""

from dataclasses import dataclass

import torch

SCALE_FLOOR = 1e-6


@dataclass(frozen=True)
class WindowStats:
    """Mean and scale of a batch of windows, each of shape ``(batch, 1)``.

    Parameters
    ----------
    mean : torch.Tensor of shape (batch, 1)
        The mean of each window.
    scale : torch.Tensor of shape (batch, 1)
        The (floored) population standard deviation of each window.
    """

    mean: torch.Tensor
    scale: torch.Tensor


def window_stats(x, *, stats_points=None):
    """The mean and scale of each row of ``x``.

    Parameters
    ----------
    x : torch.Tensor of shape (batch, length)
        The windows.
    stats_points : int or None, default=None
        Take the statistics over the first ``stats_points`` values of each row only
        (``None``: the whole row).

    Returns
    -------
    stats : WindowStats

    Examples
    --------
    >>> import torch
    >>> from regkit.forecasting._autotimes._normalization import window_stats
    >>> stats = window_stats(torch.tensor([[1.0, 3.0], [5.0, 5.0]], dtype=torch.float64))
    >>> stats.mean.flatten().tolist(), stats.scale.flatten().tolist()
    ([2.0, 5.0], [1.0, 5e-06])
    """
    if x.ndim != 2:
        raise ValueError(f"windows must have shape (batch, length), got {tuple(x.shape)}.")
    if stats_points is not None:
        if not 1 <= stats_points <= x.shape[1]:
            raise ValueError(
                f"stats_points must be in [1, {x.shape[1]}] (the window length), "
                f"got {stats_points}."
            )
        x = x[:, :stats_points]
    mean = x.mean(dim=1, keepdim=True)
    amax = x.abs().amax(dim=1, keepdim=True)
    # The variance squares the values: at 1e-161 it would underflow into subnormals
    # (or overflow at 1e160). Dividing by a power of two near max|x| is exact and keeps
    # the squares in range, so the scale is right at any finite magnitude.
    unit = torch.where(
        amax > 0, torch.ldexp(torch.ones_like(amax), torch.frexp(amax).exponent), 1.0
    )
    std = (x / unit).var(dim=1, keepdim=True, correction=0).sqrt() * unit
    floor = SCALE_FLOOR * amax
    floor = torch.where(floor > 0, floor, torch.ones_like(floor))
    return WindowStats(mean, torch.maximum(std, floor))


def normalize(x, stats):
    """``(x - mean) / scale``, row by row.

    Parameters
    ----------
    x : torch.Tensor of shape (batch, length)
        Values of the windows (or of their continuations).
    stats : WindowStats
        Statistics from :func:`window_stats`.

    Returns
    -------
    z : torch.Tensor of shape (batch, length)
    """
    return (x - stats.mean) / stats.scale


def denormalize(z, stats):
    """``z * scale + mean``, row by row: the inverse of :func:`normalize`.

    Parameters
    ----------
    z : torch.Tensor of shape (batch, length)
        Normalised values.
    stats : WindowStats
        The statistics :func:`normalize` used.

    Returns
    -------
    x : torch.Tensor of shape (batch, length)
    """
    return z * stats.scale + stats.mean


def to_segments(x, segment_length):
    """Cut each row into consecutive segments (the tokens of AutoTimes).

    Parameters
    ----------
    x : torch.Tensor of shape (batch, length)
        Rows whose length is a multiple of ``segment_length``.
    segment_length : int
        Points per segment.

    Returns
    -------
    segments : torch.Tensor of shape (batch, length // segment_length, segment_length)

    Examples
    --------
    >>> import torch
    >>> from regkit.forecasting._autotimes._normalization import to_segments
    >>> to_segments(torch.arange(6.0).reshape(1, 6), 3).tolist()
    [[[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]]
    """
    if x.ndim != 2:
        raise ValueError(f"series must have shape (batch, length), got {tuple(x.shape)}.")
    if x.shape[1] == 0 or x.shape[1] % segment_length:
        raise ValueError(
            f"the length of a window ({x.shape[1]}) must be a positive multiple of "
            f"segment_length={segment_length}."
        )
    return x.reshape(x.shape[0], -1, segment_length)


def from_segments(segments):
    """Join segments back into rows: the inverse of :func:`to_segments`.

    Parameters
    ----------
    segments : torch.Tensor of shape (batch, n_segments, segment_length)
        Segments.

    Returns
    -------
    x : torch.Tensor of shape (batch, n_segments * segment_length)
    """
    return segments.reshape(segments.shape[0], -1)
