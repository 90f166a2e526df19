"""Multi-step AutoTimes forecasts: feed each predicted segment back as the next token.

Two rollouts, both ``ceil(horizon / segment_length)`` steps truncated to ``horizon``:

``"cached"`` (growing context, with the LLM's KV cache)
    The context is normalised once; each predicted segment (still normalised) is
    appended to the sequence and only that new position runs through the LLM, which
    keeps the keys and values of all earlier positions. The result equals re-running
    the network on the whole growing sequence at every step (bit for bit in float64
    on the tiny test models), at the cost of one position per step instead of the
    whole window. Once the sequence would exceed the LLM's ``max_positions``, each
    further step re-runs the last ``max_positions`` segments without a cache (same
    normalisation): exact, slower, and rare for long-context LLMs (SmolLM2: 8192).
``"sliding"`` (the paper's)
    The window keeps the context's length: each step drops its oldest segment,
    appends the last prediction (in the series' units), re-normalises the window with
    its own statistics and re-runs it whole. A cache cannot reproduce this (the
    normalisation and the positions change every step), so this is the slower one.

The two agree on the first step and differ after it: the cached one conditions on
the whole past, at the original normalisation; the sliding one on a fixed-length
window, re-normalised. In-context forecasting prepends *prompt* series (for example
other series, or earlier parts of the same one) before the context: each prompt is
normalised by its own statistics (the reference normalises prompt and context
together, which lets a prompt at another scale distort the context's normalisation),
and stays in front, unchanged, in both rollouts.
"""

import contextlib
from numbers import Integral

import torch

from regkit.forecasting._autotimes._normalization import (
    denormalize,
    from_segments,
    normalize,
    to_segments,
    window_stats,
)

ROLLOUTS = ("cached", "sliding")


def rollout(
    network,
    context,
    horizon,
    *,
    method="cached",
    prompt=(),
    timestamps=None,
    stats_points=None,
):
    """Forecast ``horizon`` points after each context by autoregressive rollout.

    Parameters
    ----------
    network : AutoTimesNetwork
        The trained network; it runs in eval mode under ``no_grad`` (its mode is
        restored afterwards).
    context : array-like of shape (batch, n_context * segment_length)
        The last observed values of each series, in the units the network was
        trained on.
    horizon : int
        Points to forecast.
    method : {"cached", "sliding"}, default="cached"
        See the module docstring.
    prompt : sequence of array-like, default=()
        Prompt series placed before the context, in order, each of shape
        ``(batch, n_i * segment_length)`` or ``(n_i * segment_length,)`` (shared by
        all rows).
    timestamps : torch.Tensor of shape (batch or 1, n_positions, input_width) or None
        Timestamp embeddings, required when the network uses them: one row per
        prompt segment, context segment and fed-back forecast segment, in that order,
        so ``n_positions >= n_prompt + n_context + ceil(horizon / segment_length) - 1``
        (extra rows are ignored).
    stats_points : int or None, default=None
        Normalise each context window with the statistics of its first
        ``stats_points`` values (``None``: all of them); use what training used.

    Returns
    -------
    forecast : torch.Tensor of shape (batch, horizon)
        In the context's units.

    Examples
    --------
    >>> import torch
    >>> from regkit.forecasting._autotimes import AutoTimesNetwork, load_llm, rollout
    >>> from regkit.nn import make_generator, use_generator
    >>> with use_generator(make_generator(0)):
    ...     network = AutoTimesNetwork(load_llm("tiny-gpt2"), 4, hidden_width=8)
    >>> context = torch.sin(torch.arange(16.0)).reshape(1, 16)
    >>> rollout(network, context, horizon=6).shape  # 2 steps of 4, truncated to 6
    torch.Size([1, 6])
    """
    if method not in ROLLOUTS:
        raise ValueError(f"method must be one of {list(ROLLOUTS)}, got {method!r}.")
    if isinstance(horizon, bool) or not isinstance(horizon, Integral) or horizon < 1:
        raise ValueError(f"horizon must be a positive integer, got {horizon!r}.")
    length = network.segment_length
    context = _as_series(network, context, "context")
    prefix = _prompt_segments(network, prompt, context.shape[0])
    n_context = context.shape[1] // length
    horizon = int(horizon)
    steps = -(-horizon // length)
    _check_timestamps(network, timestamps, prefix.shape[1] + n_context + steps - 1)
    with _inference(network):
        if method == "cached":
            stats = window_stats(context, stats_points=stats_points)
            segments = torch.cat([prefix, to_segments(normalize(context, stats), length)], 1)
            predicted = _cached(network, segments, steps, timestamps)
            forecast = denormalize(from_segments(predicted), stats)
        else:
            forecast = _sliding(network, prefix, context, steps, timestamps, stats_points)
    return forecast[:, :horizon]


def _cached(network, segments, steps, timestamps):
    """Normalised next segments of a growing sequence, one new position per step."""
    limit = network.llm.max_positions
    cache = network.llm.new_cache()
    n = segments.shape[1]
    sequence = segments
    predicted = network(sequence, _rows(timestamps, 0, n), cache)[:, -1:]
    outputs = [predicted]
    for position in range(n, n + steps - 1):  # the position the last forecast is fed to
        sequence = torch.cat([sequence, predicted], 1)
        if limit is None or position < limit:
            predicted = network(predicted, _rows(timestamps, position, position + 1), cache)
        else:  # the LLM has no position left: re-run its last `limit` segments
            first = position + 1 - limit
            window = network(sequence[:, first:], _rows(timestamps, first, position + 1))
            predicted = window[:, -1:]
        outputs.append(predicted)
    return torch.cat(outputs, 1)


def _sliding(network, prefix, context, steps, timestamps, stats_points):
    """The paper's rollout: a fixed-length window, re-normalised and re-run each step."""
    length = network.segment_length
    n_prompt, n_context = prefix.shape[1], context.shape[1] // length
    window = context
    outputs = []
    for step in range(steps):
        stats = window_stats(window, stats_points=stats_points)
        segments = torch.cat([prefix, to_segments(normalize(window, stats), length)], 1)
        rows = None
        if timestamps is not None:
            moved = n_prompt + step
            rows = torch.cat(
                [timestamps[:, :n_prompt], timestamps[:, moved : moved + n_context]], 1
            )
        predicted = denormalize(network(segments, rows)[:, -1], stats)
        outputs.append(predicted)
        window = torch.cat([window[:, length:], predicted], 1)
    return torch.cat(outputs, 1)


def _as_series(network, values, name):
    llm = network.llm
    values = torch.as_tensor(values, dtype=llm.dtype, device=llm.device)
    if values.ndim != 2 or values.shape[1] == 0:
        raise ValueError(f"{name} must have shape (batch, length), got {tuple(values.shape)}.")
    if values.shape[1] % network.segment_length:
        raise ValueError(
            f"the length of the {name} ({values.shape[1]}) must be a multiple of "
            f"segment_length={network.segment_length}."
        )
    if not torch.isfinite(values).all():
        raise ValueError(f"{name} contains NaN or infinite values.")
    return values


def _prompt_segments(network, prompt, batch):
    """Each prompt series normalised by its own statistics, as segments, concatenated."""
    llm = network.llm
    pieces = [torch.empty(batch, 0, network.segment_length, dtype=llm.dtype, device=llm.device)]
    for index, series in enumerate(prompt):
        series = torch.as_tensor(series, dtype=llm.dtype, device=llm.device)
        if series.ndim == 1:
            series = series.expand(batch, -1)
        name = f"prompt[{index}]"
        series = _as_series(network, series, name)
        if series.shape[0] != batch:
            raise ValueError(f"{name} has {series.shape[0]} rows, the context has {batch}.")
        stats = window_stats(series)
        pieces.append(to_segments(normalize(series, stats), network.segment_length))
    return torch.cat(pieces, 1)


def _check_timestamps(network, timestamps, needed):
    if not network.use_timestamps:
        if timestamps is not None:
            raise ValueError("timestamps were given to a network built without them.")
        return
    if timestamps is None or timestamps.ndim != 3 or timestamps.shape[1] < needed:
        shape = None if timestamps is None else tuple(timestamps.shape)
        raise ValueError(
            f"this rollout needs timestamp embeddings for {needed} positions (prompt, "
            "context and fed-back forecast segments), shape (batch or 1, "
            f">= {needed}, {network.llm.input_width}); got {shape}."
        )


def _rows(timestamps, begin, end):
    return None if timestamps is None else timestamps[:, begin:end]


@contextlib.contextmanager
def _inference(network):
    was_training = network.training
    network.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        network.train(was_training)
