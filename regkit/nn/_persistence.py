"""Save and load neural estimators as safetensors files that cannot run code.

A regkit model file is one safetensors file. Its tensors are the network's
``state_dict`` (``module.*``) and the fitted NumPy arrays (``attr.*``); its header
metadata holds JSON: the estimator's class (which must be a regkit neural
estimator), its parameters and its other fitted attributes. Loading parses JSON and
raw tensors only: nothing is unpickled, and no name from the file is imported
unless it names a class inside the ``regkit`` package.
"""

import importlib
import json
import re
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

FORMAT = "regkit-estimator"
FORMAT_VERSION = "1"
_CLASS_PATTERN = re.compile(r"^regkit(\.[a-z_][a-z0-9_]*)+:[A-Za-z_][A-Za-z0-9_]*$")


def _to_json(value):
    """Encode parameters and attributes; tuples and arrays keep their type."""
    if isinstance(value, tuple):
        return {"__tuple__": [_to_json(v) for v in value]}
    if isinstance(value, list):
        return [_to_json(v) for v in value]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise TypeError("only dicts with string keys can be saved")
        return {"__dict__": {k: _to_json(v) for k, v in value.items()}}
    if isinstance(value, np.ndarray):
        return {"__ndarray__": [_to_json(v) for v in value.tolist()], "dtype": str(value.dtype)}
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"cannot save a value of type {type(value).__name__}")


def _from_json(value):
    if isinstance(value, list):
        return [_from_json(v) for v in value]
    if isinstance(value, dict):
        if "__tuple__" in value:
            return tuple(_from_json(v) for v in value["__tuple__"])
        if "__ndarray__" in value:
            return np.array(_from_json(value["__ndarray__"]), dtype=value["dtype"])
        if "__dict__" in value:
            return {k: _from_json(v) for k, v in value["__dict__"].items()}
        raise ValueError("unknown JSON object in a regkit model file")
    return value


def save_estimator(estimator, path):
    """Write a fitted neural estimator to ``path``; see the module docstring."""
    from safetensors.torch import save_file

    check_is_fitted(estimator)
    params = estimator.get_params(deep=False)
    if params.get("callbacks"):
        warnings.warn(
            "callbacks are not saved; the loaded estimator has callbacks=None.",
            UserWarning,
            stacklevel=3,
        )
        params["callbacks"] = None
    tensors = {
        f"module.{key}": value.detach().cpu().contiguous()
        for key, value in estimator.module_.state_dict().items()
    }
    attributes = {}
    for name, value in vars(estimator).items():
        if name in params or name == "module_":
            continue
        if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
            tensors[f"attr.{name}"] = torch.from_numpy(np.ascontiguousarray(value))
        else:
            attributes[name] = value
    cls = type(estimator)
    try:
        metadata = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "class": f"{cls.__module__}:{cls.__qualname__}",
            "params": json.dumps(_to_json(params)),
            "attributes": json.dumps(_to_json(attributes)),
        }
    except TypeError as exc:
        raise ValueError(
            f"{cls.__name__} cannot be saved as a safetensors model file: {exc} "
            "(a parameter such as a custom module factory is not JSON data). "
            "Use pickle or joblib for such estimators."
        ) from exc
    path = str(Path(path))
    save_file(tensors, path, metadata=metadata)
    return path


def _read(path):
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt", device="cpu") as handle:
            metadata = handle.metadata() or {}
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
    except (SafetensorError, OSError, ValueError) as exc:
        raise ValueError(f"{path} is not a regkit model file (not safetensors: {exc}).") from None
    if metadata.get("format") != FORMAT:
        raise ValueError(f"{path} is a safetensors file but not a regkit model file.")
    if metadata.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{path} has model-file format version {metadata.get('format_version')!r}; "
            f"this regkit reads version {FORMAT_VERSION}."
        )
    return metadata, tensors


def _resolve_class(name, expected_class):
    from regkit.nn._base import BaseNeuralRegressor

    if not isinstance(name, str) or not _CLASS_PATTERN.match(name):
        raise ValueError(f"refusing to load: {name!r} is not a regkit estimator class.")
    module_name, class_name = name.split(":")
    cls = getattr(importlib.import_module(module_name), class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, BaseNeuralRegressor)):
        raise ValueError(f"refusing to load: {name!r} is not a regkit neural estimator.")
    if expected_class is not None and not issubclass(cls, expected_class):
        raise ValueError(
            f"the file holds a {cls.__name__}, not a {expected_class.__name__}; "
            f"load it with {cls.__name__}.load."
        )
    return cls


def load_estimator(path, expected_class=None):
    """Load any regkit neural estimator from a file written by its ``save`` method.

    Parameters
    ----------
    path : str or path-like
        A regkit model file (safetensors with a JSON header).
    expected_class : type or None, default=None
        Refuse files that hold an estimator of another class.

    Returns
    -------
    estimator : BaseNeuralRegressor
        The fitted estimator, with its weights on CPU.

    Raises
    ------
    ValueError
        If the file is not a regkit model file, is damaged, or names a class that is
        not a regkit neural estimator (nothing from such a file is executed).
    """
    metadata, tensors = _read(path)
    cls = _resolve_class(metadata.get("class"), expected_class)
    try:
        params = _from_json(json.loads(metadata["params"]))
        attributes = _from_json(json.loads(metadata["attributes"]))
    except (KeyError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path} has a damaged header: {exc}") from None
    estimator = cls(**params)
    for name, value in attributes.items():
        setattr(estimator, name, value)
    state = {}
    for key, tensor in tensors.items():
        kind, _, name = key.partition(".")
        if kind == "attr":
            setattr(estimator, name, tensor.numpy())
        else:
            state[name] = tensor
    module = estimator._build_module(estimator.n_features_in_, estimator.n_outputs_)
    module.load_state_dict(state, strict=True)
    estimator.module_ = module.eval()
    estimator.device_ = "cpu"
    return estimator
