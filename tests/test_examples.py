"""Every gallery script runs, in quick mode, so the tutorials never rot.

Scripts run cell by cell, as sphinx-gallery runs them: it saves and closes the open
figures at the end of every cell, so a figure whose panels are drawn in a later
cell shows up empty in the HTML. The test fails on such a panel.
"""

import os
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).parents[1] / "docs" / "examples").glob("plot_*.py"))


def _code_cells(script):
    from sphinx_gallery.py_source_parser import split_code_and_text_blocks

    _, blocks = split_code_and_text_blocks(str(script))
    return [(content, line) for label, content, line in blocks if label == "code"]


def _is_empty(ax):
    return ax.get_visible() and not (ax.has_data() or ax.texts or ax.tables)


@pytest.mark.examples
@pytest.mark.parametrize("script", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs(script, monkeypatch, pyplot, tmp_path):
    monkeypatch.setenv("REGKIT_QUICK", "1")
    monkeypatch.chdir(tmp_path)  # anything a script writes lands in a scratch folder
    namespace = {"__name__": "__main__", "__file__": str(script)}
    figures = 0
    for content, line in _code_cells(script):
        exec(compile("\n" * (line - 1) + content, str(script), "exec"), namespace)
        for number in pyplot.get_fignums():
            figure = pyplot.figure(number)
            empty = [
                ax.get_title() or f"axes {i}" for i, ax in enumerate(figure.axes) if _is_empty(ax)
            ]
            assert not empty, (
                f"{script.name}: the cell starting at line {line} leaves empty panels "
                f"{empty}; sphinx-gallery saves figures at the end of each cell, so "
                "create and finish each figure in one cell"
            )
        figures += len(pyplot.get_fignums())
        pyplot.close("all")
    # A gallery script is a plotting tutorial: it must have drawn something.
    assert figures, f"{script.name} drew no figure"


def test_examples_exist():
    assert len(EXAMPLES) >= 1
    assert os.environ.get("REGKIT_QUICK") != "1", "quick mode must be set per test, not globally"
