"""Model files of AutoTimes forecasters: trainable weights and a reference to the LLM.

A file is a regkit model file (safetensors, the engine's header format and checks,
see :mod:`regkit.nn._persistence`) that holds:

- tensors ``module.*`` (the trainable layers of the network), ``calibration.*``
  (those of the calibration model, when there is one), and ``attr.*`` (the history
  forecasts start from and the per-series normalisations), all checked by name,
  dtype and shape against the networks the parameters describe before any byte is
  read;
- JSON: the parameters (``llm`` as its name, or null for a model instance) and
  ``attributes``: the LLM reference (source, seed, dtype, SHA-256 fingerprint of its
  weights), the time grid (first label, frequency, length; names and layout of the
  series), and the training records.

The LLM itself is never stored. Loading loads it again (through the process-wide
cache) and refuses weights with another fingerprint. Nothing from a file is
unpickled, imported by name or run.
"""

import json
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.utils._param_validation import InvalidParameterError

from regkit.forecasting._autotimes._llm import check_fingerprint
from regkit.forecasting._panel import Panel
from regkit.nn._persistence import (
    FORMAT,
    FORMAT_VERSION,
    _check_tensor_entries,
    _json_field,
    _metadata,
    _params_without_callbacks,
    _read_header,
    _read_tensor,
    _refuse,
    _resolve_class,
    _to_json,
)

_LAYOUTS = {"array", "series", "wide", "long"}
_ATTRIBUTE_KEYS = {"llm", "panel", "training", "calibration"}
_HISTORY_KEYS = {"epoch", "train_loss", "valid_loss", "seconds"}


# ----------------------------------------------------------------------- saving
def save_forecaster(model, path):
    """Write a fitted AutoTimes forecaster to ``path``; see the module docstring."""
    from safetensors.torch import save_file

    params = _params_without_callbacks(model, "forecaster")
    params["llm"] = (
        os.fspath(params["llm"]) if isinstance(params["llm"], str | os.PathLike) else None
    )
    if params["timestamp_cache_dir"] is not None:
        params["timestamp_cache_dir"] = os.fspath(params["timestamp_cache_dir"])
    tensors = _prefixed("module.", model.module_)
    tensors["attr.y"] = torch.from_numpy(np.ascontiguousarray(model._Y))
    tensors.update(_normalisation("attr.", model))
    calibration = None
    if model.calibration_model_ is not None:
        other = model.calibration_model_
        tensors.update(_prefixed("calibration.", other.module_))
        tensors.update(_normalisation("attr.calibration_", other))
        start, history = model._calibration[0], model._calibration[1]
        calibration = {"start": int(start), "n_times": len(history), **_training(other)}
    attributes = {
        "llm": {**model.llm_.source.to_dict(), "fingerprint": model.llm_.fingerprint},
        "panel": _panel_to_json(model._panel, model._step),
        "training": _training(model),
        "calibration": calibration,
    }
    metadata = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "class": type(model).__name__,
        "params": json.dumps(_to_json(params)),
        "attributes": json.dumps(_to_json(attributes)),
    }
    path = str(Path(path))
    save_file(tensors, path, metadata=metadata)
    return path


def _prefixed(prefix, network):
    return {
        prefix + key: value.detach().cpu().contiguous()
        for key, value in network.state_dict().items()
    }


def _normalisation(prefix, model):
    return {
        f"{prefix}series_{name}": torch.from_numpy(
            np.ascontiguousarray(getattr(model, f"series_{name}_"))
        )
        for name in ("mean", "scale")
    }


def _training(model):
    return {
        "history": [
            {key: _plain(record.get(key)) for key in _HISTORY_KEYS} for record in model.history_
        ],
        "n_iter": int(model.n_iter_),
        "best_epoch": int(model.best_epoch_),
    }


def _plain(value):
    value = value.item() if isinstance(value, np.generic) else value
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _scalar(value, what):
    value = value.item() if isinstance(value, np.generic) else value
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise ValueError(
        f"{what} {value!r} cannot be saved: names of series, indexes and values must be "
        "strings or numbers in a model file."
    )


def _panel_to_json(panel, step):
    index = panel.index
    if index is None:
        grid = None
    elif isinstance(index, pd.DatetimeIndex):
        grid = {
            "kind": "datetime",
            "start": index[0].isoformat(),
            "freq": step.freqstr,
            "tz": None if index.tz is None else str(index.tz),
        }
    elif isinstance(index, pd.PeriodIndex):
        grid = {"kind": "period", "start": str(index[0]), "freq": step.freqstr}
    else:
        grid = {"kind": "integer", "start": int(index[0]), "step": int(step)}
    if grid is not None:
        grid["name"] = _scalar(index.name, "the index name")
    return {
        "layout": panel.layout,
        "names": [_scalar(name, "the series name") for name in panel.names],
        "value_name": _scalar(panel.value_name, "the value name"),
        "squeeze": bool(panel.squeeze),
        "level_names": [_scalar(name, "the level name") for name in panel.level_names],
        "index": grid,
    }


# ---------------------------------------------------------------------- loading
def load_forecaster(cls, path, *, llm=None):
    """Read a file written by :func:`save_forecaster`; see the module docstring."""
    path = str(path)
    try:
        handle = open(path, "rb")  # noqa: SIM115 (closed below, after a size check)
    except OSError as exc:
        raise _refuse(path, f"it cannot be read ({exc.strerror}).") from None
    with handle:
        file_size = os.fstat(handle.fileno()).st_size
        header, data_start = _read_header(handle, path, file_size)
        entries = {e[2]: e for e in _check_tensor_entries(header, file_size - data_start, path)}
        metadata = _metadata(header, path)
        model = _make_forecaster(_resolve_class(metadata, cls, path), metadata, llm, path)
        attributes = _json_field(metadata, "attributes", path)
        _check_attributes(attributes, path)
        frozen = model._load_llm()
        check_fingerprint(frozen, attributes["llm"]["fingerprint"])
        networks = {"module.": model._build_network(frozen)}
        if attributes["calibration"] is not None:
            networks["calibration."] = model._build_network(frozen)
        arrays = _expected_arrays(attributes, networks)
        _check_entries(entries, networks, arrays, path)

        def read(name):
            return _read_tensor(handle, data_start, entries[name], path)

        for prefix, network in networks.items():
            state = {key: read(prefix + key) for key in network.state_dict()}
            network.load_state_dict(state, strict=True)
            network.eval()
        values = {name: read(name).numpy() for name in arrays}
    _restore(model, frozen, networks, values, attributes, path)
    return model


def _make_forecaster(cls, metadata, llm, path):
    params = _json_field(metadata, "params", path)
    expected = set(cls._get_param_names())
    if set(params) != expected:
        raise _refuse(path, f"its parameters {sorted(params)} are not those of {cls.__name__}.")
    if params.get("callbacks") is not None:
        raise _refuse(path, "it lists callbacks (model files never hold code).")
    if llm is not None:
        params["llm"] = llm
    elif params["llm"] is None:
        raise ValueError(
            f"{path} was saved from a forecaster whose LLM was a model instance, which "
            "model files never hold: pass the same model, load(path, llm=model)."
        )
    model = cls(**params)
    try:
        model._validate_params()
    except (InvalidParameterError, ValueError) as exc:
        raise _refuse(path, f"a parameter is invalid: {exc}") from None
    return model


def _check_attributes(attributes, path):
    """The JSON attributes have the shape :func:`save_forecaster` writes."""
    problems = []
    if set(attributes) != _ATTRIBUTE_KEYS:
        problems.append(f"attribute keys {sorted(attributes)}")
    else:
        reference = attributes["llm"]
        if not (
            isinstance(reference, dict)
            and isinstance(reference.get("fingerprint"), str)
            and len(reference["fingerprint"]) == 64
        ):
            problems.append("the LLM reference")
        for part in ("training", "calibration"):
            value = attributes[part]
            if not (value is None and part == "calibration") and not _is_training(value):
                problems.append(f"the {part} records")
        calibration = attributes["calibration"]
        if calibration is not None and not all(
            isinstance(calibration.get(k), int) and calibration[k] >= 0
            for k in ("start", "n_times")
        ):
            problems.append("the calibration part")
    if problems:
        raise _refuse(path, f"its {', '.join(problems)} are malformed.")


def _is_training(value):
    return (
        isinstance(value, dict)
        and isinstance(value.get("history"), list)
        and all(
            isinstance(r, dict)
            and set(r) == _HISTORY_KEYS
            and all(v is None or isinstance(v, int | float) for v in r.values())
            for r in value["history"]
        )
        and isinstance(value.get("n_iter"), int)
        and isinstance(value.get("best_epoch"), int)
    )


def _expected_arrays(attributes, networks):
    arrays = ["attr.y", "attr.series_mean", "attr.series_scale"]
    if "calibration." in networks:
        arrays += ["attr.calibration_series_mean", "attr.calibration_series_scale"]
    return arrays


def _check_entries(entries, networks, arrays, path):
    """Every tensor is expected, with the dtype and shape of the network it fills."""
    dtypes = {torch.float32: "F32", torch.float64: "F64"}
    expected = {}
    for prefix, network in networks.items():
        for key, value in network.state_dict().items():
            expected[prefix + key] = (dtypes.get(value.dtype), tuple(value.shape))
    found = {name: (entry[3], tuple(entry[4])) for name, entry in entries.items()}
    wrong = sorted(k for k in set(expected) & set(found) if expected[k] != found[k])
    missing = sorted(set(expected) - set(found) - set(arrays))
    extra = sorted(set(found) - set(expected) - set(arrays))
    missing += sorted(set(arrays) - set(found))
    wrong += sorted(name for name in arrays if name in found and found[name][0] != "F64")
    if missing or extra or wrong:
        raise _refuse(
            path,
            f"its tensors do not match the forecaster it describes (missing {missing}, "
            f"unexpected {extra}, wrong dtype or shape {wrong}).",
        )


def _restore(model, frozen, networks, values, attributes, path):
    Y = values["attr.y"]
    panel, step = _panel_from_json(attributes["panel"], Y, path)
    n_series = Y.shape[1]
    if not np.isfinite(Y).all():
        raise _refuse(path, "its history holds NaN or infinite values.")
    for name in ("attr.series_mean", "attr.series_scale"):
        if values[name].shape != (n_series,):
            raise _refuse(path, f"{name} does not have one value per series.")
    model._panel, model._step, model._exog_spec = panel, step, None
    model._Y, model._X = Y, None
    _restore_fit(model, frozen, networks["module."], values, "attr.", attributes["training"])
    model.calibration_model_, model._calibration = None, None
    calibration = attributes["calibration"]
    if calibration is not None:
        start, n_times = calibration["start"], calibration["n_times"]
        if not start < n_times <= len(Y):
            raise _refuse(path, "its calibration part lies outside its history.")
        other = model.__sklearn_clone__()
        other._panel, other._step = panel, step
        _restore_fit(
            other, frozen, networks["calibration."], values, "attr.calibration_", calibration
        )
        model.calibration_model_ = other
        known, lagged = model._inputs(None, 0, n_times, n_series)
        model._calibration = (start, Y[:n_times].copy(), known, lagged, {})


def _restore_fit(model, frozen, network, values, prefix, training):
    model.series_mean_ = values[f"{prefix}series_mean"]
    model.series_scale_ = values[f"{prefix}series_scale"]
    model.seasonality_terms_ = []
    model.llm_ = frozen
    model.timestamp_embedder_ = model._timestamp_embedder(frozen)
    model.module_ = network
    model.history_ = [
        {k: (np.nan if v is None else v) for k, v in record.items()}
        for record in training["history"]
    ]
    model.n_iter_, model.best_epoch_ = training["n_iter"], training["best_epoch"]


def _panel_from_json(spec, Y, path):
    try:
        layout, names, squeeze = spec["layout"], spec["names"], spec["squeeze"]
        valid = (
            layout in _LAYOUTS
            and isinstance(names, list)
            and len(names) == Y.shape[1]
            and isinstance(squeeze, bool)
            and isinstance(spec["level_names"], list)
            and len(spec["level_names"]) == 2
        )
        if not valid or Y.ndim != 2:
            raise ValueError("inconsistent layout")
        index, step = _index_from_json(spec["index"], len(Y))
        if (index is None) != (layout == "array"):
            raise ValueError("an index that does not fit the layout")
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        raise _refuse(path, f"its description of the series is invalid ({exc}).") from None
    panel = Panel(Y.copy(), index, names, layout, spec["value_name"], squeeze, spec["level_names"])
    return panel, step


def _index_from_json(grid, n_times):
    if grid is None:
        return None, 1
    kind, name = grid["kind"], grid["name"]
    if kind == "datetime":
        step = pd.tseries.frequencies.to_offset(grid["freq"])
        start = pd.Timestamp(grid["start"])
        if grid["tz"] is not None:
            start = start.tz_convert(grid["tz"])
        return pd.date_range(start, periods=n_times, freq=step, name=name), step
    if kind == "period":
        step = pd.tseries.frequencies.to_offset(grid["freq"])
        start = pd.Period(grid["start"], freq=step)
        return pd.period_range(start, periods=n_times, freq=step, name=name), step
    if kind == "integer":
        start, step = grid["start"], grid["step"]
        if not (isinstance(start, int) and isinstance(step, int) and step >= 1):
            raise ValueError("an integer index needs an int start and a step >= 1")
        return pd.RangeIndex(start, start + step * n_times, step, name=name), step
    raise ValueError(f"unknown index kind {kind!r}")
