"""save/load: round trips, the class registry, and forged files that must be refused."""

import io
import json
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import joblib
import numpy as np
import pytest
import torch

from regkit.exceptions import ModelFileError
from regkit.forecasting import ARNetRegressor
from regkit.nn import load_estimator, register_estimator
from regkit.nn._persistence import MAX_HEADER_BYTES
from regkit.regression import CSIBRegressor, HistogramRegressor, NeuralRegressor

FAST = {"hidden_layer_sizes": (16,), "max_epochs": 5, "batch_size": 32, "device": "cpu"}
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _read(path):
    """Header (dict) and data bytes of a safetensors file, parsed by hand."""
    raw = Path(path).read_bytes()
    length = int.from_bytes(raw[:8], "little")
    return json.loads(raw[8 : 8 + length]), raw[8 + length :]


def _write(path, header, data, header_bytes=None):
    """Write a (possibly malformed) safetensors file."""
    if header_bytes is None:
        header_bytes = json.dumps(header).encode()
    with open(path, "wb") as handle:
        handle.write(len(header_bytes).to_bytes(8, "little") + header_bytes + data)
    return str(path)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 3))
    model = NeuralRegressor(**FAST, random_state=0).fit(X, X[:, 0])
    path = model.save(tmp_path_factory.mktemp("model") / "model.safetensors")
    return model, X, path


# ----------------------------------------------------------------- round trips
def test_pickle_and_joblib_round_trips(regression_data, tmp_path):
    X, y = regression_data
    model = NeuralRegressor(**FAST, random_state=0).fit(X, y)
    expected = model.predict(X)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(model)).predict(X), expected)
    joblib.dump(model, tmp_path / "model.joblib")
    np.testing.assert_array_equal(joblib.load(tmp_path / "model.joblib").predict(X), expected)


def test_save_load_round_trip(regression_data, tmp_path):
    import pandas as pd

    X, y = regression_data
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    model = NeuralRegressor(**{**FAST, "hidden_layer_sizes": (8, 4)}, random_state=0).fit(frame, y)
    path = model.save(tmp_path / "model.safetensors")
    loaded = NeuralRegressor.load(path)
    np.testing.assert_array_equal(loaded.predict(frame), model.predict(frame))
    assert loaded.get_params() == model.get_params()
    assert isinstance(loaded.get_params()["hidden_layer_sizes"], tuple)
    np.testing.assert_array_equal(loaded.feature_names_in_, model.feature_names_in_)
    assert len(loaded.history_) == len(model.history_)
    for restored, original in zip(loaded.history_, model.history_):
        assert restored.keys() == original.keys()
        np.testing.assert_array_equal(list(restored.values()), list(original.values()))
    assert loaded.n_iter_ == model.n_iter_
    # The generic loader gives the same estimator.
    np.testing.assert_array_equal(load_estimator(path).predict(frame), model.predict(frame))


@pytest.mark.parametrize(
    "model",
    [
        HistogramRegressor((8,), n_bins=10, max_epochs=3, device="cpu", random_state=0),
        CSIBRegressor(
            (8,),
            representation_size=3,
            decoder_layer_sizes=(4,),
            stochastic=True,
            max_epochs=3,
            device="cpu",
            random_state=0,
        ),
        ARNetRegressor(max_epochs=3, device="cpu", random_state=0),
    ],
    ids=lambda m: type(m).__name__,
)
def test_every_estimator_round_trips(regression_data, tmp_path, model):
    X, y = regression_data
    model.fit(X, y)
    loaded = load_estimator(model.save(tmp_path / "m.safetensors"))
    assert type(loaded) is type(model)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_a_loaded_model_keeps_training_with_partial_fit(saved):
    model, X, path = saved
    loaded = NeuralRegressor.load(path)
    loaded.partial_fit(X, X[:, 0])
    assert loaded.n_iter_ == model.n_iter_ + 1
    np.testing.assert_array_equal(loaded.y_scale_, model.y_scale_)


def test_version_1_files_still_load(saved, tmp_path):
    model, X, path = saved
    header, data = _read(path)
    header["__metadata__"].update(
        format_version="1", **{"class": "regkit.regression._neural:NeuralRegressor"}
    )
    old = _write(tmp_path / "v1.safetensors", header, data)
    np.testing.assert_array_equal(load_estimator(old).predict(X), model.predict(X))


def test_save_drops_callbacks_with_a_warning(regression_data, tmp_path):
    X, y = regression_data
    model = NeuralRegressor(**FAST, callbacks=[lambda est, rec: None], random_state=0).fit(X, y)
    with pytest.warns(UserWarning, match="callbacks are not saved"):
        path = model.save(tmp_path / "model.safetensors")
    assert NeuralRegressor.load(path).callbacks is None


def test_save_before_fit_is_an_error(tmp_path):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        NeuralRegressor().save(tmp_path / "m.safetensors")


# --------------------------------------------------------------------- registry
def test_unregistered_classes_cannot_be_saved(regression_data, tmp_path):
    class Unregistered(NeuralRegressor):
        pass

    X, y = regression_data
    model = Unregistered(**FAST, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="register_estimator"):
        model.save(tmp_path / "m.safetensors")


def test_registering_a_class_makes_it_loadable(regression_data, tmp_path):
    class LaterEstimator(NeuralRegressor):
        """Stands for an estimator added later (SupReMix, AutoTimes...)."""

    X, y = regression_data
    register_estimator(LaterEstimator)
    try:
        model = LaterEstimator(**FAST, random_state=0).fit(X, y)
        loaded = load_estimator(model.save(tmp_path / "m.safetensors"))
        assert type(loaded) is LaterEstimator
        np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
        # Another class under the same name (from another module) is refused.
        impostor = type("LaterEstimator", (NeuralRegressor,), {"__module__": "elsewhere"})
        with pytest.raises(ValueError, match="another class"):
            register_estimator(impostor)
    finally:
        from regkit.nn import _persistence

        _persistence._REGISTRY.pop("LaterEstimator")


def test_load_checks_the_expected_class(saved):
    _, _, path = saved
    with pytest.raises(ModelFileError, match="holds a NeuralRegressor, not a HistogramRegressor"):
        HistogramRegressor.load(path)


# ------------------------------------------------------------- forged files
def _forgeries(path, directory):
    """Files that must all be refused: {case: path}. ``path`` is a valid model file."""
    header, data = _read(path)
    meta = header["__metadata__"]
    cases = {}

    def variant(name, header=header, data=data, header_bytes=None):
        cases[name] = _write(directory / f"{name}.safetensors", header, data, header_bytes)

    def with_meta(**changes):
        return {**header, "__metadata__": {**meta, **changes}}

    def edited(key, changes, drop=()):
        values = json.loads(meta[key])["__dict__"]
        values = {k: v for k, v in {**values, **changes}.items() if k not in drop}
        return with_meta(**{key: json.dumps({"__dict__": values})})

    def with_params(**changes):
        return edited("params", changes)

    def with_attributes(**changes):
        return edited("attributes", changes)

    weight = next(k for k in header if k.endswith("0.weight"))
    marker = directory / "pwned"
    (directory / "pickle.safetensors").write_bytes(pickle.dumps(_Exploit(str(marker))))
    cases["pickle"] = str(directory / "pickle.safetensors")
    buffer = io.BytesIO()
    torch.save({"weight": torch.zeros(2)}, buffer)
    (directory / "torch_save.safetensors").write_bytes(buffer.getvalue())
    cases["torch_save"] = str(directory / "torch_save.safetensors")
    (directory / "empty.safetensors").write_bytes(b"")
    cases["empty"] = str(directory / "empty.safetensors")
    # The class names of the issue: the CLI (which would exit the host), code, others.
    variant("cli_module_v1", with_meta(format_version="1", **{"class": "regkit.__main__:AnyName"}))
    variant(
        "cli_module_v1_known_name",
        with_meta(format_version="1", **{"class": "regkit.__main__:NeuralRegressor"}),
    )
    variant("cli_module_v2", with_meta(**{"class": "regkit.__main__:AnyName"}))
    variant("os_system", with_meta(**{"class": "os:system"}))
    variant("builtins_eval", with_meta(format_version="1", **{"class": "builtins:eval"}))
    variant(
        "foreign_estimator",
        with_meta(format_version="1", **{"class": "sklearn.linear_model:Ridge"}),
    )
    variant(
        "regkit_function", with_meta(format_version="1", **{"class": "regkit.utils:all_estimators"})
    )
    variant("unregistered_name", with_meta(**{"class": "NotAnEstimator"}))
    # A 2 KB file whose JSON declares a 50 MB-per-item string array (200 MB+ if honoured).
    big_string = {"__ndarray__": ["a", "b", "c", "d"], "dtype": "S50000000"}
    variant("huge_string_dtype", with_attributes(feature_names_in_=big_string))
    variant(
        "huge_unicode_dtype",
        with_attributes(feature_names_in_={"__ndarray__": ["a"], "dtype": "<U50000000"}),
    )
    # Tensors whose header declares more than the file holds, or odd dtypes.
    variant("huge_declared_tensor", {**header, weight: {**header[weight], "shape": [50_000_000]}})
    variant("unknown_tensor_dtype", {**header, weight: {**header[weight], "dtype": "S8"}})
    variant(
        "offsets_outside_file", {**header, weight: {**header[weight], "data_offsets": [0, 10**12]}}
    )
    # Two tensors sharing bytes.
    a, b = [k for k in header if k != "__metadata__"][:2]
    start, (begin, end) = header[a]["data_offsets"][0], header[b]["data_offsets"]
    variant(
        "overlapping_tensors",
        {**header, b: {**header[b], "data_offsets": [start, start + end - begin]}},
    )
    # Truncated and oversized files.
    variant("truncated_data", data=data[: len(data) // 2])
    full = Path(path).read_bytes()
    (directory / "truncated_header.safetensors").write_bytes(full[:40])
    cases["truncated_header"] = str(directory / "truncated_header.safetensors")
    with open(directory / "oversized_header.safetensors", "wb") as handle:
        handle.write((MAX_HEADER_BYTES + 1).to_bytes(8, "little"))
        handle.truncate(MAX_HEADER_BYTES + 64)  # sparse: costs no disk
    cases["oversized_header"] = str(directory / "oversized_header.safetensors")
    variant("absurd_header_length", header_bytes=b"{}", data=b"")
    with open(cases["absurd_header_length"], "r+b") as handle:
        handle.write((2**62).to_bytes(8, "little"))
    # Malformed headers and metadata.
    variant("not_json", header_bytes=b"{this is not json" + b" " * 8)
    variant("not_utf8", header_bytes=b'{"\xff\xfe": 1}')
    variant(
        "deeply_nested", header_bytes=b'{"__metadata__": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    )
    variant("header_is_a_list", header_bytes=b"[1, 2, 3]")
    variant(
        "no_format_marker",
        {**header, "__metadata__": {k: v for k, v in meta.items() if k != "format"}},
    )
    variant("future_version", with_meta(format_version="99"))
    variant("metadata_not_strings", {**header, "__metadata__": {**meta, "params": {"a": 1}}})
    variant("unknown_parameter", with_params(evil=1))
    variant("missing_parameter", edited("params", {}, drop=("dropout",)))
    variant("invalid_parameter", with_params(activation="rm -rf"))
    variant("parameter_callbacks", with_params(callbacks=["os.system"]))
    variant("unknown_json_object", with_params(dropout={"__class__": "os.system"}))
    # Shapes that do not match the network the header describes.
    variant("huge_hidden_layer", with_params(hidden_layer_sizes={"__tuple__": [10**9]}))
    variant("huge_n_features", with_attributes(n_features_in_=10**12))
    variant("n_features_not_int", with_attributes(n_features_in_="three"))
    transposed = {**header, weight: {**header[weight], "shape": header[weight]["shape"][::-1]}}
    variant("wrong_shape", transposed)
    variant("missing_tensor", {k: v for k, v in header.items() if k != weight})
    variant(
        "unexpected_tensor_kind",
        {**{k: v for k, v in header.items() if k != weight}, "evil." + weight: header[weight]},
    )
    # Attributes that would shadow the estimator's methods or parameters.
    variant("attribute_shadows_method", with_attributes(predict=1))
    variant("attribute_shadows_parameter", with_attributes(dropout=0.5))
    variant("attribute_dunder", with_attributes(__class__="os"))
    # Wrong class for the loader that asks for another one.
    cases["wrong_class"] = str(path)
    return cases, marker


class _Exploit:
    """Unpickling this object would create a file: proof that code ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


_LOADER = textwrap.dedent(
    """
    import json, resource, sys
    import torch
    from regkit.exceptions import ModelFileError
    from regkit.nn import load_estimator
    from regkit.regression import HistogramRegressor, NeuralRegressor

    cases = json.loads(sys.argv[1])
    load_estimator(cases.pop("valid"))  # warm up: what a normal load allocates
    rng_state = torch.random.get_rng_state()
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    report = {}
    for name, path in cases.items():
        loader = HistogramRegressor.load if name == "wrong_class" else load_estimator
        try:
            loader(path)
            report[name] = "loaded"
        except ModelFileError as exc:
            report[name] = "refused: " + str(exc)
        except BaseException as exc:  # anything else is a failure of the test
            report[name] = f"{type(exc).__name__}: {exc}"
    report["__grew_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - baseline
    report["__imported"] = sorted(m for m in ("regkit.__main__", "regkit.cli") if m in sys.modules)
    report["__rng_untouched"] = bool(torch.equal(torch.random.get_rng_state(), rng_state))
    print(json.dumps(report))
    print("host still running")
    """
)


def test_forged_files_are_refused_without_side_effects(saved, tmp_path):
    _, _, path = saved
    cases, marker = _forgeries(path, tmp_path)
    result = subprocess.run(
        [sys.executable, "-c", _LOADER, json.dumps({"valid": str(path), **cases})],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.strip().splitlines()
    assert lines[-1] == "host still running"
    report = json.loads(lines[-2])
    failures = {
        k: v for k, v in report.items() if not k.startswith("__") and not v.startswith("refused: ")
    }
    assert not failures, failures
    for name, outcome in report.items():
        if not name.startswith("__"):
            assert "is not a valid regkit model file" in outcome or name == "wrong_class", (
                name,
                outcome,
            )
    assert report["__imported"] == []  # the CLI named by a file was never imported
    assert report["__grew_kb"] < 50_000  # nothing near the 200 MB the forgeries ask for
    assert report["__rng_untouched"]
    assert not marker.exists()  # the pickle's payload never ran


@pytest.mark.parametrize(
    "case, reason",
    [
        ("cli_module_v1", "not a registered regkit estimator"),
        ("huge_string_dtype", "unknown JSON object"),
        ("huge_declared_tensor", "needs 200000000 bytes"),
        ("wrong_shape", "wrong shape"),
        ("truncated_data", "outside the file"),
        ("oversized_header", "over the"),
        ("unknown_parameter", "are not those of NeuralRegressor"),
        ("attribute_shadows_method", "'predict' is not a fitted attribute"),
        ("pickle", "header"),
    ],
)
def test_refusals_say_why(saved, tmp_path, case, reason):
    _, _, path = saved
    cases, _ = _forgeries(path, tmp_path)
    with pytest.raises(ModelFileError, match=reason):
        load_estimator(cases[case])


def test_the_refusal_is_a_value_error():
    assert issubclass(ModelFileError, ValueError)
