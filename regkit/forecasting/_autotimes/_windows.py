"""Cutting series into AutoTimes training windows and forecast contexts."""

import torch


def check_context(context_length, segment_length):
    """Raise unless ``context_length`` is a positive multiple of ``segment_length``.

    Parameters
    ----------
    context_length : int
        Points the network sees (its lookback).
    segment_length : int
        Points per segment.

    Returns
    -------
    n_segments : int
        Segments per context.
    """
    if segment_length < 1:
        raise ValueError(f"segment_length must be a positive integer, got {segment_length}.")
    if context_length < segment_length or context_length % segment_length:
        raise ValueError(
            f"context_length ({context_length}) must be a positive multiple of "
            f"segment_length ({segment_length})."
        )
    return context_length // segment_length


def training_windows(series, context_length, segment_length, *, stride=1):
    """All windows of ``context_length + segment_length`` points, every ``stride`` steps.

    Each window is one training sample for :func:`next_segment_loss`: a context and
    the segment after it. Window ``w`` of row ``c`` starts at ``series[c, w * stride]``;
    its segment ``k`` starts ``k * segment_length`` points later (for timestamps).

    Parameters
    ----------
    series : torch.Tensor of shape (n_series, length) or (length,)
        Series of equal length (channel independent: each row is cut on its own).
    context_length : int
        Points of context; a multiple of ``segment_length``.
    segment_length : int
        Points per segment.
    stride : int, default=1
        Steps between window starts.

    Returns
    -------
    windows : torch.Tensor of shape (n_series, n_windows, context_length + segment_length)
        A view of ``series`` (no copy).

    Examples
    --------
    >>> import torch
    >>> from regkit.forecasting._autotimes import training_windows
    >>> training_windows(torch.arange(8.0), 4, 2, stride=2).tolist()
    [[[0.0, 1.0, 2.0, 3.0, 4.0, 5.0], [2.0, 3.0, 4.0, 5.0, 6.0, 7.0]]]
    """
    check_context(context_length, segment_length)
    series = _rows(series)
    size = context_length + segment_length
    if series.shape[1] < size:
        raise ValueError(
            f"a series of length {series.shape[1]} is shorter than context_length + "
            f"segment_length = {size}: there is no training window."
        )
    return series.unfold(1, size, stride)


def last_context(series, context_length):
    """The last ``context_length`` points of each series: the context of a forecast.

    Parameters
    ----------
    series : torch.Tensor of shape (n_series, length) or (length,)
        Series.
    context_length : int
        Points of context.

    Returns
    -------
    context : torch.Tensor of shape (n_series, context_length)
    """
    series = _rows(series)
    if series.shape[1] < context_length:
        raise ValueError(
            f"a series of length {series.shape[1]} is shorter than the context "
            f"(context_length={context_length})."
        )
    return series[:, series.shape[1] - context_length :]


def _rows(series):
    series = torch.as_tensor(series)
    if series.ndim == 1:
        series = series[None]
    if series.ndim != 2:
        raise ValueError(
            f"series must have shape (n_series, length) or (length,), got {tuple(series.shape)}."
        )
    return series
