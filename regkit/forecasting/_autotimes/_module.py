"""The AutoTimes network: segment MLP -> frozen LLM -> mirror MLP, next segment everywhere.

A series is cut into segments of ``segment_length`` points (the tokens). An MLP embeds
each segment into the LLM's input width; optional timestamp embeddings are mixed in;
the frozen LLM runs on these embeddings (``inputs_embeds``), and a mirror MLP maps the
last hidden state at every position to the *next* segment. Training is next-token MSE
over all positions at once (:func:`next_segment_loss`), with no rollout; forecasting
longer horizons rolls the network out (``_rollout.py``).

Deviations from the reference code
----------------------------------
- ``n_hidden_layers`` counts hidden layers: 0 is one linear map, 1 (the default) is
  the reference's ``mlp_hidden_layers=2`` (in the reference, 1 and 2 build the same MLP).
- Widths come from the LLM (its input embedding table and a probe of its output), never
  from a table of known models (the reference hard-codes 4096 / 768 / 2048).
- Mixing timestamps, ``E = SE / |SE| + alpha * TE / |TE|``, guards the norms against
  zero (the reference divides by them as they are).
"""

from numbers import Integral

import torch

from regkit.forecasting._autotimes._normalization import (
    denormalize,
    from_segments,
    normalize,
    to_segments,
    window_stats,
)
from regkit.nn import make_mlp

_NORM_FLOOR = 1e-12


class AutoTimesNetwork(torch.nn.Module):
    """The AutoTimes network around a frozen LLM.

    The LLM is held as a plain attribute (``self.llm``, a :class:`FrozenLLM`), not as a
    registered submodule: ``parameters()``, ``state_dict()`` and ``train()`` cover the
    trainable parts only, so an optimiser built from ``parameters()`` never sees the
    LLM, a saved ``state_dict`` never contains it, and the LLM stays in eval mode when
    the network trains. ``to()``, ``double()`` and ``cuda()`` do convert the LLM as well
    (in place: a model instance passed by the user is converted too). A deep copy of the
    network copies the LLM; copy ``state_dict()`` to snapshot weights.

    The trainable parts are built in the LLM's dtype and on its device, with torch's
    default initialisation drawn from the generator of
    :func:`regkit.nn.use_generator` (torch's global RNG outside such a block).

    Parameters
    ----------
    llm : FrozenLLM
        The frozen backbone (see :func:`load_llm`).
    segment_length : int
        Points per segment (token).
    hidden_width : int, default=256
        Width of the hidden layers of both MLPs.
    n_hidden_layers : int, default=1
        Hidden layers per MLP; 0 makes each a single linear map.
    activation : str, default="tanh"
        Hidden activation (any name :func:`regkit.nn.make_mlp` accepts).
    dropout : float, default=0.1
        Dropout after each hidden activation (active in train mode only).
    use_timestamps : bool, default=False
        Mix timestamp embeddings into the segment embeddings with a learnable scale
        ``alpha`` (initialised to 1). ``forward`` then requires them.

    Attributes
    ----------
    segment_embedding : torch.nn.Sequential
        Segment (``segment_length``) -> LLM input width.
    segment_projection : torch.nn.Sequential
        LLM output width -> next segment (``segment_length``).
    timestamp_scale : torch.nn.Parameter or None
        ``alpha``, when timestamps are used.

    Examples
    --------
    >>> import torch
    >>> from regkit.forecasting._autotimes import AutoTimesNetwork, load_llm
    >>> from regkit.nn import make_generator, use_generator
    >>> with use_generator(make_generator(0)):
    ...     network = AutoTimesNetwork(load_llm("tiny-llama"), 4, hidden_width=8)
    >>> network(torch.zeros(2, 3, 4)).shape  # 2 series, 3 segments of 4 points
    torch.Size([2, 3, 4])
    >>> sum(p.numel() for p in network.parameters())  # the MLPs: 4-8-32 and 32-8-4
    628
    """

    def __init__(
        self,
        llm,
        segment_length,
        *,
        hidden_width=256,
        n_hidden_layers=1,
        activation="tanh",
        dropout=0.1,
        use_timestamps=False,
    ):
        super().__init__()
        _check_count("segment_length", segment_length, minimum=1)
        _check_count("hidden_width", hidden_width, minimum=1)
        _check_count("n_hidden_layers", n_hidden_layers, minimum=0)
        if use_timestamps and llm.output_width != llm.input_width:
            raise ValueError(
                f"timestamp embeddings are the LLM's last hidden states (width "
                f"{llm.output_width}) added to its inputs (width {llm.input_width}): "
                "this LLM cannot use them."
            )
        self.llm = llm  # a FrozenLLM is not an nn.Module: stored, never registered
        self.segment_length = int(segment_length)
        hidden = (int(hidden_width),) * int(n_hidden_layers)
        options = {"activation": activation, "dropout": dropout}
        self.segment_embedding = make_mlp(
            self.segment_length, hidden, n_outputs=llm.input_width, **options
        )
        self.segment_projection = make_mlp(
            llm.output_width, hidden, n_outputs=self.segment_length, **options
        )
        self.timestamp_scale = torch.nn.Parameter(torch.ones(())) if use_timestamps else None
        super()._apply(lambda t: t.to(llm.device, llm.dtype))

    @property
    def use_timestamps(self):
        """Whether the network mixes timestamp embeddings into its inputs."""
        return self.timestamp_scale is not None

    def embed(self, segments, timestamps=None):
        """The LLM's input embeddings of normalised segments.

        Parameters
        ----------
        segments : torch.Tensor of shape (batch, positions, segment_length)
            Normalised segments.
        timestamps : torch.Tensor of shape (batch or 1, positions, input_width) or None
            Timestamp embeddings of the segments' starts; required when (and only when)
            the network uses timestamps.

        Returns
        -------
        embeds : torch.Tensor of shape (batch, positions, input_width)
        """
        if segments.ndim != 3 or segments.shape[-1] != self.segment_length:
            raise ValueError(
                "segments must have shape (batch, positions, segment_length="
                f"{self.segment_length}), got {tuple(segments.shape)}."
            )
        tokens = self.segment_embedding(segments)
        if not self.use_timestamps:
            if timestamps is not None:
                raise ValueError("timestamps were given to a network built without them.")
            return tokens
        if timestamps is None:
            raise ValueError("this network uses timestamps: pass their embeddings.")
        if timestamps.shape[-2:] != tokens.shape[-2:]:
            raise ValueError(
                f"timestamps must have shape (batch or 1, {tokens.shape[1]}, "
                f"{tokens.shape[2]}), got {tuple(timestamps.shape)}."
            )
        timestamps = timestamps.to(dtype=tokens.dtype, device=tokens.device)
        return _unit(tokens) + self.timestamp_scale * _unit(timestamps)

    def forward(self, segments, timestamps=None, cache=None):
        """Predict, at every position, the segment that follows it.

        Parameters
        ----------
        segments : torch.Tensor of shape (batch, positions, segment_length)
            Normalised segments.
        timestamps : torch.Tensor of shape (batch or 1, positions, input_width) or None
            Timestamp embeddings (see :meth:`embed`).
        cache : transformers.Cache or None, default=None
            The LLM's KV cache holding earlier positions (see
            :meth:`FrozenLLM.new_cache`); extended in place.

        Returns
        -------
        next_segments : torch.Tensor of shape (batch, positions, segment_length)
            Output ``t`` predicts segment ``t + 1`` from segments ``0..t``.
        """
        past = 0 if cache is None else cache.get_seq_length()
        limit = self.llm.max_positions
        if limit is not None and past + segments.shape[1] > limit:
            raise ValueError(
                f"{past + segments.shape[1]} segments exceed the {limit} positions of "
                "the LLM: use a shorter context or prompt."
            )
        hidden = self.llm.hidden_states(self.embed(segments, timestamps), cache)
        return self.segment_projection(hidden)

    def _apply(self, fn, recurse=True):
        # .to()/.double()/.cuda() must move the LLM with the trainable parts, which it
        # is not registered among.
        super()._apply(fn, recurse)
        self.llm.apply_to_weights(fn)
        return self


def next_segment_forecast(network, windows, *, timestamps=None, stats_points=None):
    """Teacher-forced next-segment predictions of training windows, in their units.

    Each window holds ``n + 1`` segments: the first ``n`` are the input, normalised by
    their own statistics (:func:`window_stats`); the prediction at each input position
    is the next segment, mapped back to the window's units. No rollout.

    Parameters
    ----------
    network : AutoTimesNetwork
        The network.
    windows : torch.Tensor of shape (batch, (n + 1) * segment_length)
        Training windows (input plus one segment).
    timestamps : torch.Tensor of shape (batch or 1, n, input_width) or None
        Timestamp embeddings of the ``n`` input segments.
    stats_points : int or None, default=None
        Normalise with statistics of the first ``stats_points`` input points only
        (``None``: all ``n * segment_length`` input points, as the reference does).

    Returns
    -------
    predictions : torch.Tensor of shape (batch, n * segment_length)
        Segments ``1..n`` as predicted from the segments before each.
    targets : torch.Tensor of shape (batch, n * segment_length)
        Segments ``1..n`` of the windows.
    """
    length = network.segment_length
    if windows.ndim != 2 or windows.shape[1] < 2 * length:
        raise ValueError(
            "windows must have shape (batch, (n + 1) * segment_length) with n >= 1, "
            f"got {tuple(windows.shape)} for segment_length={length}."
        )
    inputs, targets = windows[:, :-length], windows[:, length:]
    stats = window_stats(inputs, stats_points=stats_points)
    segments = to_segments(normalize(inputs, stats), length)
    predictions = denormalize(from_segments(network(segments, timestamps)), stats)
    return predictions, targets


def next_segment_loss(network, windows, *, timestamps=None, stats_points=None):
    """Next-token MSE over all positions: the AutoTimes training loss.

    The error is measured in the windows' units (the reference's choice: a series
    standardised beforehand weighs windows by their spread).

    Parameters
    ----------
    network : AutoTimesNetwork
        The network.
    windows : torch.Tensor of shape (batch, (n + 1) * segment_length)
        Training windows.
    timestamps : torch.Tensor or None, default=None
        See :func:`next_segment_forecast`.
    stats_points : int or None, default=None
        See :func:`next_segment_forecast`.

    Returns
    -------
    loss : torch.Tensor
        A scalar.
    """
    predictions, targets = next_segment_forecast(
        network, windows, timestamps=timestamps, stats_points=stats_points
    )
    return torch.nn.functional.mse_loss(predictions, targets)


def _unit(x):
    return x / x.norm(dim=-1, keepdim=True).clamp_min(_NORM_FLOOR)


def _check_count(name, value, *, minimum):
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}.")
