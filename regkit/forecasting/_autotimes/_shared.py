"""One frozen LLM per process and source, shared by every forecaster that names it.

Loading SmolLM2 takes 16-50 s and ~1 GB; a frozen LLM is never written to, so every
AutoTimes forecaster (its clones, the calibration model of its intervals, the models
of a backtest, models fitted in other threads) can use the same one.
:func:`shared_llm` keeps the last :data:`MAX_SHARED_LLMS` LLMs loaded by name (key:
the source, the dtype and the device) and one :class:`FrozenLLM` per model instance
(held weakly: it lives as long as the instance).

A shared LLM loaded by name pickles as a reference (source, dtype, device and
fingerprint of its weights), never as its weights: unpickling loads the same source
through the cache and checks the fingerprint. An LLM made from a model instance
pickles with its weights (nothing else could find them again).

Timestamp embeddings are shared the same way (:func:`shared_timestamp_embedder`):
one in-memory cache per LLM and settings, so that a refit, a clone or the
calibration model never asks the LLM for a text twice.
"""

import threading
import weakref
from collections import OrderedDict
from pathlib import Path

import torch

from regkit.forecasting._autotimes._llm import (
    SMOLLM2,
    TINY_NAMES,
    check_fingerprint,
    load_llm,
)
from regkit.forecasting._autotimes._timestamps import DEFAULT_TEMPLATE, TimestampEmbedder

MAX_SHARED_LLMS = 3

_BY_SOURCE = OrderedDict()  # (source key, seed, dtype, device) -> FrozenLLM, oldest first
_BY_INSTANCE = weakref.WeakKeyDictionary()  # user's model -> FrozenLLM
_EMBEDDERS = weakref.WeakKeyDictionary()  # FrozenLLM -> {settings: TimestampEmbedder}
# Loading under one lock: two threads asking for the same LLM load it once, and the
# tiny models (whose random weights transformers draws from torch's global RNG, seeded
# inside fork_rng) are never built by two threads at a time.
_LOCK = threading.RLock()


def shared_llm(llm, *, dtype=None, device=None, seed=0):
    """The frozen LLM for ``llm``, loaded once per process and shared.

    Parameters
    ----------
    llm : transformers.PreTrainedModel, str or path
        What :func:`load_llm` accepts.
    dtype : torch.dtype or None, default=None
        Type of the weights; None keeps the model's own (float32 for loaded ones).
        A model instance is never converted: it must already have this type.
    device : torch.device or None, default=None
        Device of the weights; None keeps the model's (the CPU for loaded ones). A
        model instance is never moved: it must already be there.
    seed : int, default=0
        Seed of a tiny random model.

    Returns
    -------
    llm : FrozenLLM
        Shared: treat it as read-only (converting a network that holds it, with
        ``network.to(...)``, would convert it for every holder).

    Examples
    --------
    >>> from regkit.forecasting._autotimes._shared import shared_llm
    >>> shared_llm("tiny-gpt2") is shared_llm("tiny-gpt2")
    True
    """
    with _LOCK:
        if isinstance(llm, str | Path):
            return _by_source(llm, dtype, device, seed)
        frozen = _BY_INSTANCE.get(llm) if _weakly_referable(llm) else None
        if frozen is None:
            frozen = load_llm(llm)  # checks the type, freezes in place
            _BY_INSTANCE[llm] = frozen
    _check_instance(frozen, dtype, device)
    return frozen


def _by_source(name, dtype, device, seed):
    key = (_source_key(name), int(seed), str(dtype), None if device is None else str(device))
    frozen = _BY_SOURCE.get(key)
    if frozen is None:
        frozen = load_llm(name, dtype=dtype, seed=seed)
        if device is not None and frozen.device != torch.device(device):
            frozen.apply_to_weights(lambda t: t.to(device))
        frozen.shared_key = key
        _BY_SOURCE[key] = frozen
        while len(_BY_SOURCE) > MAX_SHARED_LLMS:
            _BY_SOURCE.popitem(last=False)
    _BY_SOURCE.move_to_end(key)
    return frozen


def _source_key(name):
    """The same key for every spelling of a local folder; names as they are."""
    text = str(name)
    if text == SMOLLM2 or text in TINY_NAMES:
        return text
    path = Path(text).expanduser()
    return str(path.resolve()) if path.exists() else text


def _weakly_referable(obj):
    try:
        weakref.ref(obj)
    except TypeError:
        return False
    return True


def _check_instance(frozen, dtype, device):
    if dtype is not None and frozen.dtype != dtype:
        raise ValueError(
            f"dtype={str(dtype).removeprefix('torch.')!r} was asked for, but the llm "
            f"instance holds {str(frozen.dtype).removeprefix('torch.')} weights; a model "
            "instance is never converted (it is yours): convert it first "
            "(model.to(torch.float64)) or leave dtype=None."
        )
    if device is not None and not _same_device(frozen.device, torch.device(device)):
        raise ValueError(
            f"device={str(device)!r} was asked for, but the llm instance is on "
            f"{frozen.device}; a model instance is never moved (it is yours): move it "
            "first (model.to(device)) or pass device='auto'."
        )


def _same_device(actual, wanted):
    return actual.type == wanted.type and (wanted.index is None or actual.index == wanted.index)


def restore_shared_llm(name, seed, dtype, device, fingerprint):
    """Unpickle a shared LLM: load it through the cache and check its fingerprint.

    Parameters
    ----------
    name : str
        The source it was loaded from.
    seed : int
        Seed of a tiny model.
    dtype : str
        ``str`` of its torch dtype (``"torch.float32"``).
    device : str
        Its device; a CUDA device becomes the CPU on a machine without one.
    fingerprint : str
        The fingerprint of its weights when it was pickled.

    Returns
    -------
    llm : FrozenLLM
    """
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        device = torch.device("cpu")
    dtype = getattr(torch, dtype.removeprefix("torch."))
    frozen = shared_llm(name, dtype=dtype, device=device, seed=seed)
    check_fingerprint(frozen, fingerprint)
    return frozen


def shared_timestamp_embedder(
    llm, segment_length, freq, *, template=DEFAULT_TEMPLATE, cache_dir=None
):
    """The :class:`TimestampEmbedder` of these settings, one per process and LLM.

    Parameters
    ----------
    llm : FrozenLLM
        The LLM that reads the text (held weakly: the embedders go with it).
    segment_length : int
        Points per segment.
    freq : str or pandas.DateOffset
        Sampling frequency of the series.
    template : str, default="This is Time Series from {start} to {end}"
        The text of a segment's time span.
    cache_dir : str, path or None, default=None
        Folder of the on-disk cache.

    Returns
    -------
    embedder : TimestampEmbedder

    Examples
    --------
    >>> from regkit.forecasting._autotimes._shared import (
    ...     shared_llm, shared_timestamp_embedder)
    >>> llm = shared_llm("tiny-gpt2")
    >>> shared_timestamp_embedder(llm, 24, "h") is shared_timestamp_embedder(llm, 24, "h")
    True
    """
    import pandas as pd

    offset = pd.tseries.frequencies.to_offset(freq)
    folder = None if cache_dir is None else str(Path(cache_dir).expanduser().resolve())
    key = (int(segment_length), offset.freqstr, template, folder)
    with _LOCK:
        embedders = _EMBEDDERS.setdefault(llm, {})
        if key not in embedders:
            embedders[key] = TimestampEmbedder(
                llm, segment_length, offset, template=template, cache_dir=cache_dir
            )
        return embedders[key]
