"""Tiny randomly initialised decoder-only LLMs, for tests and examples that need no weights.

Each tiny model has 2 layers of width 32, a 256-entry vocabulary (one token per
byte, see :class:`ByteTokenizer`) and 128 positions. They are built with
``AutoModelForCausalLM.from_config`` from a fixed seed, so they are the same on every
machine and never download anything. ``"tiny-opt"`` has an input width (16) that
differs from its hidden width (32), as OPT-350M does (512 vs 1024): code that reads
widths from ``config.hidden_size`` instead of the model breaks on it.
"""

TINY_WIDTH = 32
TINY_POSITIONS = 128  # room for a timestamp text of ~70 bytes
TINY_VOCAB = 256  # one token per byte: ByteTokenizer needs no vocabulary file

# Special tokens inside the vocabulary avoid a config warning; the values are arbitrary.
_COMMON = {"vocab_size": TINY_VOCAB, "bos_token_id": 0, "eos_token_id": 1}

# LLaMA and Qwen2 share a layout: RoPE, grouped-query attention (2 heads, 1 KV head).
_GROUPED_QUERY = {
    "hidden_size": TINY_WIDTH,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "num_key_value_heads": 1,
    "intermediate_size": 64,
    "max_position_embeddings": TINY_POSITIONS,
}

_TINY = {
    "tiny-gpt2": (
        "GPT2Config",
        {"n_embd": TINY_WIDTH, "n_layer": 2, "n_head": 2, "n_positions": TINY_POSITIONS},
    ),
    "tiny-llama": ("LlamaConfig", _GROUPED_QUERY),
    "tiny-opt": (
        "OPTConfig",
        {
            "hidden_size": TINY_WIDTH,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "ffn_dim": 64,
            "word_embed_proj_dim": TINY_WIDTH // 2,
            "max_position_embeddings": TINY_POSITIONS,
            "pad_token_id": 2,
        },
    ),
    "tiny-qwen2": ("Qwen2Config", _GROUPED_QUERY),
}

TINY_NAMES = tuple(_TINY)


def tiny_config(name, **overrides):
    """The ``transformers`` configuration of the tiny model ``name``.

    Parameters
    ----------
    name : {"tiny-gpt2", "tiny-llama", "tiny-opt", "tiny-qwen2"}
        Which tiny model.
    **overrides
        Configuration fields to change (for example ``max_position_embeddings``).

    Returns
    -------
    config : transformers.PretrainedConfig

    Examples
    --------
    >>> from regkit.forecasting._autotimes._tiny import tiny_config
    >>> tiny_config("tiny-opt").word_embed_proj_dim
    16
    """
    import transformers

    if name not in _TINY:
        raise ValueError(f"unknown tiny model {name!r}; expected one of {list(TINY_NAMES)}.")
    class_name, fields = _TINY[name]
    return getattr(transformers, class_name)(**{**_COMMON, **fields, **overrides})


class ByteTokenizer:
    """Encode text as its UTF-8 bytes: the tokenizer of the tiny models.

    Called like a ``transformers`` tokenizer, it returns ``{"input_ids": [...]}``.

    Examples
    --------
    >>> from regkit.forecasting._autotimes._tiny import ByteTokenizer
    >>> ByteTokenizer()("Hi")
    {'input_ids': [72, 105]}
    """

    def __call__(self, text):
        return {"input_ids": list(text.encode("utf-8"))}
