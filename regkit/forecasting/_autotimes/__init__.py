"""The core of the AutoTimes forecaster: a frozen LLM as an autoregressive forecaster.

Private: :class:`regkit.forecasting.AutoTimesForecaster` (the public estimator) is
built on these pieces.
Liu et al., "AutoTimes: Autoregressive Time Series Forecasters via Large Language
Models", NeurIPS 2024; reference code thuml/AutoTimes.

The pieces, one module each:

- ``_llm``: :func:`load_llm` -> :class:`FrozenLLM` (a model instance, ``"smollm2"``,
  a tiny random model, or a local name/path; frozen, eval mode, widths read from the
  model, causal structure probed) and :func:`weight_fingerprint` /
  :func:`check_fingerprint` for saved models.
- ``_module``: :class:`AutoTimesNetwork` (segment MLP -> LLM -> mirror MLP; its
  ``parameters()`` and ``state_dict()`` are the trainable parts only) and
  :func:`next_segment_loss`, the training loss (next-segment MSE at every position).
- ``_normalization``: per-window mean/scale (:func:`window_stats`) and segmentation.
- ``_windows``: :func:`training_windows` and :func:`last_context` cut series.
- ``_timestamps``: :class:`TimestampEmbedder`, timestamp text embedded by the LLM,
  cached in memory and on disk.
- ``_rollout``: :func:`rollout`, ``"cached"`` (KV cache, growing context) or
  ``"sliding"`` (the paper's re-normalised fixed window), with in-context prompts.
- ``_shared``: the process-wide cache of LLMs and timestamp embedders.
- ``_batches``: :class:`WindowBatches`, minibatches budgeted in steps.
- ``_persistence``: model files (trainable weights and a reference to the LLM).

How an estimator uses them:

1. ``llm = shared_llm(llm, dtype=..., device=...)`` (``_shared``: one LLM per process
   and source; ``load_llm`` loads a private one); build ``AutoTimesNetwork(llm,
   segment_length, ...)`` inside ``regkit.nn.use_generator(generator)``, so that the
   MLPs' initial weights come from the fit's own generator.
2. Train ``network.parameters()`` (the MLPs, plus ``alpha`` with timestamps: never the
   LLM) on ``next_segment_loss(network, windows, timestamps=...)``, the windows from
   ``training_windows(series, context_length, segment_length)`` (flattened over series).
   ``network.train()`` leaves the LLM in eval mode.
3. Save ``network.state_dict()`` (trainable weights only) with ``llm.source.to_dict()``
   and ``llm.fingerprint``; on loading, ``load_llm`` the source again and
   ``check_fingerprint`` before ``load_state_dict``.
4. Timestamps: ``TimestampEmbedder(llm, segment_length, freq, cache_dir=...)``. Segment
   ``k`` of window ``w`` starts at ``index[w * stride + k * segment_length]``; in a
   rollout the forecast segment ``j`` starts at
   ``index[-1] + (1 + j * segment_length) * freq``.
5. Forecast with ``rollout(network, last_context(series, context_length), horizon,
   method="cached" or "sliding", prompt=[...], timestamps=...)``.

A fit and a forecast, end to end, on a tiny random LLM:

>>> import torch
>>> from regkit.forecasting._autotimes import (
...     AutoTimesNetwork, last_context, load_llm, next_segment_loss, rollout,
...     training_windows)
>>> series = torch.sin(torch.arange(200.0) / 4)
>>> from regkit.nn import make_generator, use_generator
>>> with use_generator(make_generator(0)):
...     network = AutoTimesNetwork(load_llm("tiny-llama"), 8, hidden_width=16)
...     optimizer = torch.optim.Adam(network.parameters(), lr=1e-2)
...     windows = training_windows(series, 32, 8, stride=4)[0]  # 4 segments + 1
...     for _ in range(20):
...         optimizer.zero_grad()
...         loss = next_segment_loss(network, windows)
...         loss.backward()
...         optimizer.step()
>>> loss.item() < 0.1
True
>>> rollout(network, last_context(series, 32), horizon=12).shape
torch.Size([1, 12])
"""

from regkit.forecasting._autotimes._llm import (
    FrozenLLM,
    LLMSource,
    TokenizerLoader,
    check_fingerprint,
    load_llm,
    smollm2_path,
    weight_fingerprint,
)
from regkit.forecasting._autotimes._module import (
    AutoTimesNetwork,
    next_segment_forecast,
    next_segment_loss,
)
from regkit.forecasting._autotimes._normalization import (
    WindowStats,
    denormalize,
    from_segments,
    normalize,
    to_segments,
    window_stats,
)
from regkit.forecasting._autotimes._rollout import ROLLOUTS, rollout
from regkit.forecasting._autotimes._timestamps import (
    DEFAULT_TEMPLATE,
    TimestampCacheInfo,
    TimestampEmbedder,
)
from regkit.forecasting._autotimes._tiny import TINY_NAMES, ByteTokenizer, tiny_config
from regkit.forecasting._autotimes._windows import check_context, last_context, training_windows

__all__ = [
    "DEFAULT_TEMPLATE",
    "ROLLOUTS",
    "TINY_NAMES",
    "AutoTimesNetwork",
    "ByteTokenizer",
    "FrozenLLM",
    "LLMSource",
    "TimestampCacheInfo",
    "TimestampEmbedder",
    "TokenizerLoader",
    "WindowStats",
    "check_context",
    "check_fingerprint",
    "denormalize",
    "from_segments",
    "last_context",
    "load_llm",
    "next_segment_forecast",
    "next_segment_loss",
    "normalize",
    "rollout",
    "smollm2_path",
    "tiny_config",
    "to_segments",
    "training_windows",
    "weight_fingerprint",
    "window_stats",
]
