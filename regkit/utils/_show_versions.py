"""Versions of regkit, its dependencies and the compute devices (``regkit info``)."""

import os
import platform
from importlib import metadata

_PACKAGES = (
    "numpy",
    "scipy",
    "pandas",
    "scikit-learn",
    "statsmodels",
    "torch",
    "numba",
    "tqdm",
    "safetensors",
    "matplotlib",
    "transformers",
    "dask",
    "distributed",
)


def _version(name):
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def system_info():
    """Return an ordered dict of versions, devices and thread counts."""
    import regkit

    info = {
        "regkit": regkit.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    info.update({name: _version(name) for name in _PACKAGES})
    info["cpu cores"] = os.cpu_count()
    try:
        import torch

        info["torch threads"] = torch.get_num_threads()
        info["cuda"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    except ImportError:  # pragma: no cover - torch is a hard dependency
        info["cuda"] = "torch missing"
    try:
        from threadpoolctl import threadpool_info

        info["blas"] = ", ".join(
            f"{p['internal_api']} ({p['num_threads']} threads)" for p in threadpool_info()
        )
    except ImportError:  # pragma: no cover
        pass
    return info
