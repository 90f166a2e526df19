"""Save and load neural estimators as safetensors files that cannot hurt the host.

A regkit model file is one safetensors file: an 8-byte header length, a JSON header,
then the raw tensor bytes. Its tensors are the network's ``state_dict``
(``module.*``) and the fitted numeric arrays (``attr.*``); the header's metadata
holds the estimator's registered class name, its parameters and its other fitted
attributes as JSON.

Loading is defensive, in this order, and every refusal is a
:class:`~regkit.exceptions.ModelFileError` that says why:

1. the header length is bounded (by :data:`MAX_HEADER_BYTES` and by the file) and
   the header is parsed as JSON, nothing else;
2. the header is checked against the format's schema before any tensor is read:
   dtypes from an allow-list, shapes whose byte size equals the byte range the file
   actually holds for them, ranges inside the file and not overlapping;
3. the class is looked up in an explicit registry of regkit estimator classes
   (:func:`register_estimator`); no module or name from the file is ever imported;
4. parameters must be exactly the class's, and pass its parameter validation;
   attribute names must be plain data names (nothing that shadows a method);
5. the network is first built on the ``meta`` device (no memory) and its tensor
   names and shapes compared with the file's; only then is it built for real and
   are the tensor bytes read.

Nothing is unpickled, imported by name or executed, and nothing larger than the
file itself is allocated.
"""

import itertools
import json
import math
import os
import re
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from regkit.exceptions import ModelFileError
from regkit.nn._random import make_generator, use_generator

__all__ = ["load_estimator", "register_estimator", "save_estimator"]

FORMAT = "regkit-estimator"
FORMAT_VERSION = "2"
# Version 1 named the class by its module path; it is read by name through the registry.
_READABLE_VERSIONS = {"1", "2"}
MAX_HEADER_BYTES = 64 * 2**20
_MAX_DIMENSIONS = 8
_METADATA_KEYS = {"format", "format_version", "class", "params", "attributes"}
_TENSOR_DTYPES = {
    "F64": torch.float64,
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "I64": torch.int64,
    "I32": torch.int32,
    "I16": torch.int16,
    "I8": torch.int8,
    "U8": torch.uint8,
    "BOOL": torch.bool,
}
_ATTRIBUTE_NAME = re.compile(r"^_?[a-z][a-z0-9_]*$")
_V1_CLASS = re.compile(r"^(regkit(?:\.[a-z_][a-z0-9_]*)+):([A-Za-z_][A-Za-z0-9_]*)$")

# Packages whose estimators register themselves on import. They are imported (by
# this fixed list, never by a name from a file) before a class name is looked up.
_ESTIMATOR_PACKAGES = ("regkit.regression", "regkit.forecasting", "regkit.unlearning")

_REGISTRY = {}


def register_estimator(estimator_class):
    """Allow :func:`load_estimator` to recreate ``cls`` from a model file.

    Use it as a class decorator on every estimator whose ``save`` files should be
    loadable; the class's name is its name in the files. Loading never imports
    anything a file names: it looks the name up here. A registered class must be
    constructible from its parameters (``cls(**get_params())``), keep its network in
    ``module_`` and rebuild an untrained network of the fitted shape with
    ``_rebuild_module()`` (:class:`~regkit.nn.BaseNeuralRegressor` does both); its
    module should be defined in one of the packages ``regkit.regression``,
    ``regkit.forecasting`` or ``regkit.unlearning`` (imported before a lookup), or
    be imported by the user before loading.

    Parameters
    ----------
    estimator_class : type
        The estimator class.

    Returns
    -------
    estimator_class : type
        The same class.

    Raises
    ------
    ValueError
        If another class is already registered under the same name.

    Examples
    --------
    >>> from regkit.nn import register_estimator
    >>> from regkit.regression import NeuralRegressor
    >>> register_estimator(NeuralRegressor) is NeuralRegressor
    True
    """
    name = estimator_class.__name__
    existing = _REGISTRY.get(name)
    if existing is not None and (existing.__module__, existing.__qualname__) != (
        estimator_class.__module__,
        estimator_class.__qualname__,
    ):
        raise ValueError(
            f"another class is registered as {name!r}: "
            f"{existing.__module__}.{existing.__qualname__}."
        )
    _REGISTRY[name] = estimator_class
    return estimator_class


def _registered(name):
    if name not in _REGISTRY:
        import importlib

        for package in _ESTIMATOR_PACKAGES:
            try:
                importlib.import_module(package)
            except ModuleNotFoundError as exc:
                if exc.name != package:
                    raise
    return _REGISTRY.get(name)


# ------------------------------------------------------------------ JSON values
def _to_json(value):
    """Encode parameters and attributes; tuples, dicts and arrays keep their type."""
    if isinstance(value, tuple):
        return {"__tuple__": [_to_json(v) for v in value]}
    if isinstance(value, list):
        return [_to_json(v) for v in value]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise TypeError("only dicts with string keys can be saved")
        return {"__dict__": {k: _to_json(v) for k, v in value.items()}}
    if isinstance(value, np.ndarray):
        # Numeric arrays are stored as tensors; what is left is text and objects.
        return {"__ndarray__": [_to_json(v) for v in value.tolist()], "dtype": "object"}
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"cannot save a value of type {type(value).__name__}")


def _from_json(value):
    if isinstance(value, list):
        return [_from_json(v) for v in value]
    if isinstance(value, dict):
        if set(value) == {"__tuple__"} and isinstance(value["__tuple__"], list):
            return tuple(_from_json(v) for v in value["__tuple__"])
        if set(value) == {"__ndarray__", "dtype"} and value["dtype"] == "object":
            items = _from_json(value["__ndarray__"])
            if not isinstance(items, list) or any(isinstance(v, list | dict) for v in items):
                raise ModelFileError("an array in the header is not a flat list.")
            array = np.empty(len(items), dtype=object)
            array[:] = items
            return array
        if set(value) == {"__dict__"} and isinstance(value["__dict__"], dict):
            return {k: _from_json(v) for k, v in value["__dict__"].items()}
        raise ModelFileError(f"the header holds an unknown JSON object with keys {sorted(value)}.")
    return value


# ----------------------------------------------------------------------- saving
def save_estimator(estimator, path):
    """Write a fitted neural estimator to ``path``; see the module docstring."""
    from safetensors.torch import save_file

    check_is_fitted(estimator)
    cls = type(estimator)
    if _REGISTRY.get(cls.__name__) is not cls:
        raise ValueError(
            f"{cls.__name__} is not a registered regkit estimator, so a file of it could not "
            "be loaded; decorate the class with regkit.nn.register_estimator."
        )
    params = _params_without_callbacks(estimator, "estimator")
    tensors = {
        f"module.{key}": value.detach().cpu().contiguous()
        for key, value in estimator.module_.state_dict().items()
    }
    attributes = {}
    for name, value in vars(estimator).items():
        # The partial_fit optimiser and random stream are not part of the model.
        if name in params or name in {"module_", "_optimizer", "_generator_state"}:
            continue
        if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
            tensors[f"attr.{name}"] = torch.from_numpy(np.ascontiguousarray(value))
        else:
            attributes[name] = value
    try:
        metadata = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "class": cls.__name__,
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


# ---------------------------------------------------------------------- loading
def _refuse(path, reason):
    return ModelFileError(f"{path} is not a valid regkit model file: {reason}")


def _read_header(handle, path, file_size):
    if file_size < 8:
        raise _refuse(path, f"it has {file_size} bytes, fewer than a safetensors header needs.")
    length = int.from_bytes(handle.read(8), "little")
    if length > MAX_HEADER_BYTES:
        raise _refuse(
            path, f"its header claims {length} bytes, over the {MAX_HEADER_BYTES} allowed."
        )
    if 8 + length > file_size:
        raise _refuse(path, f"its header claims {length} bytes but the file is truncated.")
    try:
        header = json.loads(handle.read(length).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise _refuse(path, f"its header is not JSON ({type(exc).__name__}).") from None
    if not isinstance(header, dict):
        raise _refuse(path, "its header is not a JSON object.")
    return header, 8 + length


def _check_tensor_entries(header, data_size, path):
    """Validate every tensor entry against the safetensors schema; return them sorted."""
    entries = []
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if not (isinstance(entry, dict) and set(entry) == {"dtype", "shape", "data_offsets"}):
            raise _refuse(path, f"tensor {name!r} is not described by dtype, shape, data_offsets.")
        dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
        if dtype not in _TENSOR_DTYPES:
            raise _refuse(
                path, f"tensor {name!r} has dtype {dtype!r}, not one of {sorted(_TENSOR_DTYPES)}."
            )
        if not (
            isinstance(shape, list)
            and len(shape) <= _MAX_DIMENSIONS
            and all(type(s) is int and s >= 0 for s in shape)
        ):
            raise _refuse(path, f"tensor {name!r} has an invalid shape {shape!r}.")
        if not (
            isinstance(offsets, list)
            and len(offsets) == 2
            and all(type(o) is int for o in offsets)
            and 0 <= offsets[0] <= offsets[1] <= data_size
        ):
            raise _refuse(path, f"tensor {name!r} has data offsets {offsets!r} outside the file.")
        itemsize = torch.empty(0, dtype=_TENSOR_DTYPES[dtype]).element_size()
        needed, held = math.prod(shape) * itemsize, offsets[1] - offsets[0]
        if needed != held:
            raise _refuse(
                path,
                f"tensor {name!r} of shape {shape} and dtype {dtype} needs {needed} bytes "
                f"but the file holds {held} for it.",
            )
        entries.append((offsets[0], offsets[1], name, dtype, shape))
    entries.sort()
    for (_, end, name, *_), (begin, _, other, *_) in itertools.pairwise(entries):
        if begin < end:
            raise _refuse(path, f"tensors {name!r} and {other!r} overlap.")
    return entries


def _metadata(header, path):
    metadata = header.get("__metadata__")
    if not (
        isinstance(metadata, dict)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())
    ):
        raise _refuse(path, "it has no string metadata.")
    if metadata.get("format") != FORMAT:
        raise _refuse(path, "it is a safetensors file without the regkit format marker.")
    if metadata.get("format_version") not in _READABLE_VERSIONS:
        raise _refuse(
            path,
            f"its format version {metadata.get('format_version')!r} is not one this regkit "
            f"reads ({sorted(_READABLE_VERSIONS)}).",
        )
    if set(metadata) != _METADATA_KEYS:
        raise _refuse(
            path, f"its metadata keys {sorted(metadata)} are not {sorted(_METADATA_KEYS)}."
        )
    return metadata


def _resolve_class(metadata, expected_class, path):
    name = metadata["class"]
    module_path = None
    if metadata["format_version"] == "1":
        match = _V1_CLASS.match(name)
        if match is None:
            raise _refuse(path, f"{name!r} is not a registered regkit estimator class.")
        module_path, name = match.groups()
    cls = _registered(name)
    if cls is None or (module_path is not None and module_path != cls.__module__):
        raise _refuse(path, f"{metadata['class']!r} is not a registered regkit estimator class.")
    if expected_class is not None and not issubclass(cls, expected_class):
        raise ModelFileError(
            f"{path} holds a {cls.__name__}, not a {expected_class.__name__}; load it with "
            f"{cls.__name__}.load or regkit.nn.load_estimator."
        )
    return cls


def _json_field(metadata, key, path):
    try:
        value = _from_json(json.loads(metadata[key]))
    except (ValueError, RecursionError) as exc:
        raise _refuse(path, f"its {key} are not valid JSON data ({exc}).") from None
    if not isinstance(value, dict):
        raise _refuse(path, f"its {key} are not a JSON object.")
    return value


def _check_attribute_name(cls, name, params, path):
    descriptor = getattr(cls, name, None)
    if (
        not _ATTRIBUTE_NAME.match(name)
        or name in params
        or name == "module_"
        or callable(descriptor)
        or hasattr(descriptor, "__get__")
    ):
        raise _refuse(path, f"{name!r} is not a fitted attribute a {cls.__name__} can have.")


def _make_estimator(cls, metadata, path):
    from sklearn.utils._param_validation import InvalidParameterError

    from regkit.utils import validate_params

    params = _json_field(metadata, "params", path)
    expected = set(cls._get_param_names())
    if set(params) != expected:
        raise _refuse(
            path,
            f"its parameters {sorted(params)} are not those of {cls.__name__} "
            f"({sorted(expected)}).",
        )
    if params.get("callbacks") is not None:
        raise _refuse(path, "it lists callbacks (model files never hold code).")
    estimator = cls(**params)
    try:
        validate_params(estimator)
    except InvalidParameterError as exc:
        raise _refuse(path, f"a parameter is invalid: {exc}") from None
    attributes = _json_field(metadata, "attributes", path)
    for name, value in attributes.items():
        _check_attribute_name(cls, name, params, path)
        setattr(estimator, name, value)
    return estimator


def _split_entries(cls, estimator, entries, path):
    """Tensor entries of the network (``module.*``) and of attributes (``attr.*``)."""
    module_entries, attribute_entries = {}, {}
    params = estimator.get_params(deep=False)
    for entry in entries:
        kind, _, name = entry[2].partition(".")
        if kind == "module" and name:
            module_entries[name] = entry
        elif kind == "attr":
            _check_attribute_name(cls, name, params, path)
            attribute_entries[name] = entry
        else:
            raise _refuse(path, f"tensor {entry[2]!r} is neither module.* nor attr.*.")
    return module_entries, attribute_entries


def _read_tensor(handle, data_start, entry, path):
    begin, end, _, dtype, shape = entry
    handle.seek(data_start + begin)
    raw = bytearray(handle.read(end - begin))
    if len(raw) != end - begin:
        raise _refuse(path, "it is truncated.")
    if not raw:
        return torch.empty(shape, dtype=_TENSOR_DTYPES[dtype])
    return torch.frombuffer(raw, dtype=_TENSOR_DTYPES[dtype]).reshape(shape)


def _build_checked_module(estimator, module_entries, path):
    """Build the network on ``meta``, compare it with the file, then build it for real."""
    try:
        with torch.device("meta"), use_generator(make_generator(0)):
            expected = {
                k: tuple(v.shape) for k, v in estimator._rebuild_module().state_dict().items()
            }
    except Exception as exc:  # a forged attribute can break any subclass's builder
        raise _refuse(path, f"its attributes do not describe a network ({exc!r}).") from None
    found = {name: tuple(entry[4]) for name, entry in module_entries.items()}
    if expected != found:
        missing = sorted(set(expected) - set(found))
        extra = sorted(set(found) - set(expected))
        wrong = sorted(k for k in set(expected) & set(found) if expected[k] != found[k])
        raise _refuse(
            path,
            f"its network tensors do not match the model it describes (missing {missing}, "
            f"unexpected {extra}, wrong shape {wrong}).",
        )
    with use_generator(make_generator(0)):
        return estimator._rebuild_module()


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
    regkit.exceptions.ModelFileError
        If the file is not a valid regkit model file (a ``ValueError``): not
        safetensors, a damaged, oversized or inconsistent header, a class that is
        not a registered regkit estimator, parameters or tensors that do not match
        it. Nothing from such a file is imported or executed.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from regkit.nn import load_estimator
    >>> from regkit.regression import NeuralRegressor
    >>> X = np.random.default_rng(0).standard_normal((50, 2))
    >>> model = NeuralRegressor((4,), max_epochs=2, n_iter_no_change=None).fit(X, X[:, 0])
    >>> path = model.save(os.path.join(tempfile.mkdtemp(), "model.safetensors"))
    >>> bool(np.array_equal(load_estimator(path).predict(X), model.predict(X)))
    True
    """
    path = str(path)
    try:
        handle = open(path, "rb")  # noqa: SIM115 (closed below, after a size check)
    except OSError as exc:
        raise _refuse(path, f"it cannot be read ({exc.strerror}).") from None
    with handle:
        file_size = os.fstat(handle.fileno()).st_size
        header, data_start = _read_header(handle, path, file_size)
        entries = _check_tensor_entries(header, file_size - data_start, path)
        metadata = _metadata(header, path)
        cls = _resolve_class(metadata, expected_class, path)
        estimator = _make_estimator(cls, metadata, path)
        module_entries, attribute_entries = _split_entries(cls, estimator, entries, path)
        for name, entry in attribute_entries.items():
            if entry[3] == "BF16":
                raise _refuse(path, f"attribute {name!r} is bfloat16, which NumPy cannot hold.")
            setattr(estimator, name, _read_tensor(handle, data_start, entry, path).numpy())
        module = _build_checked_module(estimator, module_entries, path)
        state = {
            name: _read_tensor(handle, data_start, entry, path)
            for name, entry in module_entries.items()
        }
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise _refuse(path, f"its network tensors do not load ({exc}).") from None
    estimator.module_ = module.eval()
    estimator.device_ = "cpu"
    return estimator


def _params_without_callbacks(model, kind):
    """``get_params(deep=False)`` with ``callbacks=None``: callables are never saved."""
    params = model.get_params(deep=False)
    if params.get("callbacks"):
        warnings.warn(
            f"callbacks are not saved; the loaded {kind} has callbacks=None.",
            UserWarning,
            stacklevel=4,
        )
    if "callbacks" in params:
        params["callbacks"] = None
    return params
