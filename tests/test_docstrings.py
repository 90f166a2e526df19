"""numpydoc validation of every public function, class and method of regkit."""

import importlib
import inspect
import pkgutil

import pytest

numpydoc_validate = pytest.importorskip("numpydoc.validate")

# The checks that catch real documentation bugs: missing docstrings, parameters that
# are undocumented or documented but absent, empty descriptions, a missing summary,
# a missing Returns/Yields section.
CHECKS = {"GL08", "PR01", "PR02", "PR07", "SS01", "SS03", "RT01"}


def _public_names():
    import regkit

    names = {"regkit.show_versions"}
    for info in pkgutil.walk_packages(regkit.__path__, prefix="regkit."):
        parts = info.name.split(".")
        if any(p.startswith("_") for p in parts[1:]) or parts[-1] == "cli":
            continue
        try:
            module = importlib.import_module(info.name)
        except ImportError:  # an optional extra is missing
            continue
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue
            names.add(f"{info.name}.{name}")
            if inspect.isclass(obj):
                for method, value in vars(obj).items():
                    if not method.startswith("_") and (
                        inspect.isfunction(value) or isinstance(value, classmethod | property)
                    ):
                        names.add(f"{info.name}.{name}.{method}")
    return sorted(names)


@pytest.mark.parametrize("name", _public_names())
def test_docstring(name):
    result = numpydoc_validate.validate(name)
    errors = [f"{code}: {message}" for code, message in result["errors"] if code in CHECKS]
    assert not errors, "\n".join(errors)
