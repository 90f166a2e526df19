"""Timestamp embeddings made by the frozen LLM itself, cached in memory and on disk.

AutoTimes gives each segment a "position embedding" made from text: the segment
starting at ``t`` gets the string ``"This is Time Series from {start} to {end}"``
(``end = t + (segment_length - 1) * freq``, both written ``%Y-%m-%d %H:%M:%S``), which the
LLM reads; the **last token's last hidden state** is the embedding (nothing is pooled).
The reference precomputes one row per time step of a whole dataset with LLaMA-7B; here
only the segment starts asked for are computed, once each.

Embeddings are cached by their text in memory and, with ``cache_dir``, in one
safetensors file per (LLM fingerprint, template, time format, frequency, segment
length, dtype): the file name is a hash of these, and its header repeats them and is
checked on reading. Files are written atomically (write then rename) and hold only
tensors and JSON text; nothing is unpickled.

Each text is run on its own token sequence without padding: texts of the same token
length are batched together (no attention mask, no pad token), so an embedding does
not depend on which other texts share its batch (up to floating-point summation order
in batched matrix products: compare float32 results with a tolerance).
"""

import hashlib
import json
import os
import string
import tempfile
import warnings
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch

DEFAULT_TEMPLATE = "This is Time Series from {start} to {end}"
DEFAULT_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
_FILE_FORMAT = "regkit-autotimes-timestamps"


@dataclass(frozen=True)
class TimestampCacheInfo:
    """Counts of a :class:`TimestampEmbedder`'s cache.

    Parameters
    ----------
    hits : int
        Embeddings served from the cache (memory, or a file read from ``cache_dir``).
    misses : int
        Embeddings computed by the LLM.
    size : int
        Embeddings held in memory.
    """

    hits: int
    misses: int
    size: int


class TimestampEmbedder:
    """Embeddings of segment start times, made by a frozen LLM and cached.

    Parameters
    ----------
    llm : FrozenLLM
        The LLM (and its tokenizer) that reads the text.
    segment_length : int
        Points per segment: a segment starting at ``t`` ends at
        ``t + (segment_length - 1) * freq``.
    freq : str or pandas.DateOffset
        The sampling frequency of the series (``"h"``, ``"D"``, ``"MS"``...).
    template : str, default="This is Time Series from {start} to {end}"
        The text; must use the fields ``{start}`` and ``{end}`` and no others.
    time_format : str, default="%Y-%m-%d %H:%M:%S"
        How ``start`` and ``end`` are written (``strftime``).
    cache_dir : str, path or None, default=None
        Folder of the on-disk cache; ``None`` caches in memory only.
    batch_size : int, default=64
        Texts per LLM call.

    Examples
    --------
    >>> import pandas as pd
    >>> from regkit.forecasting._autotimes import TimestampEmbedder, load_llm
    >>> embedder = TimestampEmbedder(load_llm("tiny-gpt2"), segment_length=24, freq="h")
    >>> starts = pd.date_range("2024-01-01", periods=3, freq="24h")
    >>> embedder.texts(starts[:1])
    ['This is Time Series from 2024-01-01 00:00:00 to 2024-01-01 23:00:00']
    >>> embedder.embed(starts).shape
    torch.Size([3, 32])
    >>> _ = embedder.embed(starts[::-1])
    >>> embedder.cache_info()
    TimestampCacheInfo(hits=3, misses=3, size=3)
    """

    def __init__(
        self,
        llm,
        segment_length,
        freq,
        *,
        template=DEFAULT_TEMPLATE,
        time_format=DEFAULT_TIME_FORMAT,
        cache_dir=None,
        batch_size=64,
    ):
        _check_template(template)
        if int(segment_length) < 1 or int(batch_size) < 1:
            raise ValueError("segment_length and batch_size must be positive integers.")
        self.llm = llm
        self.segment_length = int(segment_length)
        self.freq = pd.tseries.frequencies.to_offset(freq)
        self.template = template
        self.time_format = time_format
        self.cache_dir = None if cache_dir is None else Path(cache_dir)
        self.batch_size = int(batch_size)
        self._memory = {}
        self._hits = 0
        self._misses = 0
        self._disk_read = False

    def texts(self, starts):
        """The text of each segment start.

        Parameters
        ----------
        starts : sequence of timestamps
            Segment start times (anything :class:`pandas.DatetimeIndex` accepts).

        Returns
        -------
        texts : list of str
        """
        starts = pd.DatetimeIndex(starts)
        ends = starts + (self.segment_length - 1) * self.freq
        return [
            self.template.format(
                start=start.strftime(self.time_format), end=end.strftime(self.time_format)
            )
            for start, end in zip(starts, ends)
        ]

    def embed(self, starts):
        """The embedding of each segment start, from the cache or the LLM.

        Parameters
        ----------
        starts : sequence of timestamps
            Segment start times; repeats are computed once.

        Returns
        -------
        embeddings : torch.Tensor of shape (len(starts), output_width)
            In the LLM's dtype, on the CPU.
        """
        texts = self.texts(starts)
        if not texts:
            return torch.empty(0, self.llm.output_width, dtype=self.llm.dtype)
        self._read_disk_once()
        missing = list(dict.fromkeys(t for t in texts if t not in self._memory))
        self._hits += len(texts) - len(missing)
        self._misses += len(missing)
        if missing:
            self._memory.update(self._compute(missing))
            self._write_disk()
        return torch.stack([self._memory[text] for text in texts])

    def cache_info(self):
        """Hits, misses and size of the cache so far.

        Returns
        -------
        info : TimestampCacheInfo
        """
        return TimestampCacheInfo(self._hits, self._misses, len(self._memory))

    @property
    def cache_key(self):
        """Hash of everything an embedding depends on besides its text."""
        fields = self._key_fields()
        return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:32]

    @property
    def cache_path(self):
        """The cache file, or None without ``cache_dir``."""
        if self.cache_dir is None:
            return None
        return self.cache_dir / f"autotimes-timestamps-{self.cache_key}.safetensors"

    def _key_fields(self):
        return {
            "format": _FILE_FORMAT,
            "fingerprint": self.llm.fingerprint,
            "template": self.template,
            "time_format": self.time_format,
            "freq": self.freq.freqstr,
            "segment_length": str(self.segment_length),
            "dtype": str(self.llm.dtype),
        }

    def _compute(self, texts):
        """Run the LLM on texts grouped by token length, without padding."""
        tokenizer = self.llm.tokenizer
        by_length = defaultdict(list)
        for text in texts:
            ids = tokenizer(text)["input_ids"]
            limit = self.llm.max_positions
            if not ids or (limit is not None and len(ids) > limit):
                raise ValueError(
                    f"the timestamp text {text!r} has {len(ids)} tokens; the LLM takes "
                    f"1 to {limit}: shorten the template."
                )
            by_length[len(ids)].append((text, ids))
        computed = {}
        for group in by_length.values():
            for begin in range(0, len(group), self.batch_size):
                batch = group[begin : begin + self.batch_size]
                hidden = self.llm.token_hidden_states([ids for _, ids in batch])
                for (text, _), row in zip(batch, hidden[:, -1].cpu()):
                    computed[text] = row.clone()
        return computed

    def _read_disk_once(self):
        if self._disk_read or self.cache_path is None:
            return
        self._disk_read = True
        for text, row in _read_file(self.cache_path, self._key_fields()).items():
            self._memory.setdefault(text, row)

    def _write_disk(self):
        if self.cache_path is None:
            return
        # Merge with what another process may have written since this one read the file.
        stored = _read_file(self.cache_path, self._key_fields())
        stored.update(self._memory)
        _write_file(self.cache_path, stored, self._key_fields())


def _check_template(template):
    if not isinstance(template, str):
        raise TypeError(f"template must be a string, got {type(template).__name__}.")
    fields = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    if fields != {"start", "end"}:
        raise ValueError(
            "template must contain the fields {start} and {end} and no others, "
            f"got {sorted(fields)} in {template!r}."
        )


def _read_file(path, fields):
    """Text -> embedding from a cache file; {} if it is absent, foreign or unreadable."""
    from safetensors import safe_open

    if not path.is_file():
        return {}
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
            embeddings = handle.get_tensor("embeddings")
        texts = json.loads(metadata.get("texts", "null"))
        header = json.loads(metadata.get("key", "null"))
    except Exception as err:  # a damaged file is recomputed, not trusted
        warnings.warn(
            f"ignoring the unreadable timestamp cache {path}: {err}", UserWarning, stacklevel=4
        )
        return {}
    if header != fields or not isinstance(texts, list) or len(texts) != len(embeddings):
        warnings.warn(
            f"ignoring the timestamp cache {path}: its header does not match this LLM, "
            "template, frequency and segment length.",
            UserWarning,
            stacklevel=4,
        )
        return {}
    return dict(zip(texts, embeddings))


def _write_file(path, embeddings, fields):
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    texts = list(embeddings)
    tensor = torch.stack([embeddings[text] for text in texts]).contiguous()
    metadata = {"texts": json.dumps(texts), "key": json.dumps(fields, sort_keys=True)}
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(handle)
    try:
        save_file({"embeddings": tensor}, temporary, metadata=metadata)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
