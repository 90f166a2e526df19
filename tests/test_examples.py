"""Every gallery script runs, in quick mode, so the tutorials never rot."""

import os
import runpy
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).parents[1] / "docs" / "examples").glob("plot_*.py"))


@pytest.mark.examples
@pytest.mark.parametrize("script", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs(script, monkeypatch, pyplot, tmp_path):
    monkeypatch.setenv("REGKIT_QUICK", "1")
    monkeypatch.chdir(tmp_path)  # anything a script writes lands in a scratch folder
    namespace = runpy.run_path(str(script), run_name="__main__")
    # A gallery script is a plotting tutorial: it must have drawn something.
    assert pyplot.get_fignums(), f"{script.name} drew no figure"
    assert namespace, "script namespace is empty"


def test_examples_exist():
    assert len(EXAMPLES) >= 1
    assert os.environ.get("REGKIT_QUICK") != "1", "quick mode must be set per test, not globally"
