import pytest
from sklearn.base import BaseEstimator

import regkit
from regkit.utils import all_estimators, check_random_seed, fill_doc


def test_all_estimators_lists_public_regkit_estimators():
    found = dict(all_estimators())
    assert "NeuralRegressor" in found
    for name, cls in found.items():
        assert issubclass(cls, BaseEstimator) and cls.__module__.startswith("regkit.")
        assert not name.startswith(("_", "Base"))
    assert "BaseNeuralRegressor" not in found
    assert all(name in found for name, _ in all_estimators(type_filter="regressor"))


def test_all_estimators_rejects_unknown_filter():
    with pytest.raises(ValueError, match="type_filter"):
        all_estimators(type_filter="forecaster")


def test_check_random_seed():
    assert check_random_seed(0) == check_random_seed(0)
    assert check_random_seed(0) != check_random_seed(1)
    assert 0 <= check_random_seed(None) < 2**31


def test_fill_doc_only_touches_named_fields():
    @fill_doc(a="first")
    def f():
        """{a} and {b}"""

    assert f.__doc__ == "first and {b}"


def test_import_regkit_is_light():
    import subprocess
    import sys

    code = "import sys, regkit; print('torch' in sys.modules, 'matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
    assert regkit.__version__
