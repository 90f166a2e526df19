"""The BCD user guide's tutorial runs, and the label-propagation example measures against f*."""

import re
import runpy
import warnings
from pathlib import Path

import numpy as np
import pytest

from regkit.linear_model import BCDLabelPropagation

DOCS = Path(__file__).parents[2] / "docs"


def _tutorial_code():
    text = (DOCS / "user_guide" / "bcd.rst").read_text()
    section = text[text.index(".. _bcd_tutorial:") : text.index("The pieces\n")]
    blocks = re.findall(r".. code-block:: python\n\n((?:    .*\n|\n)+)", section)
    return "\n".join("\n".join(line[4:] for line in block.splitlines()) for block in blocks)


def test_tutorial_code_runs():
    code = _tutorial_code()
    assert "BCDRegressorCV" in code and "BCDLogisticRegression" in code
    namespace = {}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the tutorial's fits converge, silently
        exec(compile(code, "bcd.rst", "exec"), namespace)
    model = namespace["model"]
    assert model.dual_gap_ >= 0 and model.n_iter_ >= 1 and len(model.history_) >= 2
    assert namespace["groups"].coef_.reshape(10, 5).any(axis=1).sum() < 10


@pytest.mark.examples
def test_label_propagation_example_uses_an_independent_optimum(monkeypatch, pyplot, tmp_path):
    monkeypatch.setenv("REGKIT_QUICK", "1")
    monkeypatch.chdir(tmp_path)
    ns = runpy.run_path(str(DOCS / "examples" / "plot_label_propagation_moons.py"))
    f_star = ns["f_star"]
    # The same optimum from the solver itself, run to a tight tolerance.
    tight = BCDLabelPropagation(n_neighbors=7, tol=1e-10, max_iter=100_000)
    tight.fit(ns["X"], ns["y_partial"])
    assert tight.history_[-1]["objective"] == pytest.approx(f_star, rel=1e-7)
    for objective in ns["curves"].values():  # every curve stays above f*
        assert np.all(objective >= f_star - 1e-9 * abs(f_star))
