import subprocess
import sys

import pandas as pd

from regkit import cli
from regkit._demo import DemoTask, collect_tasks, run_demo


def test_help_lists_subcommands(capsys):
    assert cli.main([]) == 0
    out = capsys.readouterr().out
    for name in cli.COMMANDS:
        assert name in out


def test_python_dash_m(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "regkit", "--help"], capture_output=True, text=True, check=True
    )
    assert "demo" in result.stdout and "info" in result.stdout


def test_info_prints_versions_and_device(capsys):
    assert cli.main(["info"]) == 0
    out = capsys.readouterr().out
    for key in ("regkit", "torch", "scikit-learn", "cuda", "torch threads"):
        assert key in out


def test_demo_table_compares_with_sklearn(capsys):
    assert cli.main(["demo", "--quick", "--area", "regression"]) == 0
    out = capsys.readouterr().out
    assert "NeuralRegressor" in out and "sklearn MLPRegressor" in out and "sklearn Ridge" in out
    assert "fit_seconds" in out


def test_run_demo_returns_scores_for_every_model():
    table = run_demo(quick=True, areas=["regression"])
    tasks = [t for t in collect_tasks(quick=True) if t.area == "regression"]
    assert len(table) == sum(len(t.models) for t in tasks)
    assert table["fit_seconds"].gt(0).all() and table["score"].notna().all()
    # On standardised diabetes features even the quick neural model beats the mean.
    row = table[(table.dataset == "diabetes") & (table.model == "NeuralRegressor")]
    assert row["score"].iloc[0] > 0


def test_demo_task_defaults_fit_and_score():
    from sklearn.linear_model import LinearRegression

    X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0]})
    y = pd.Series([1.0, 3.0, 5.0, 7.0])
    data = {"X_train": X, "y_train": y, "X_test": X, "y_test": y}
    task = DemoTask("area", "line", data, {"ols": LinearRegression()})
    model = task.fit(task.models["ols"], data)
    assert task.score(model, data) == 1.0


def test_errors_exit_with_status_two(capsys, monkeypatch):
    def boom(args):
        raise ValueError("bad input")

    monkeypatch.setitem(cli.COMMANDS, "info", ("x", lambda p: None, boom))
    assert cli.main(["info"]) == 2
    assert "bad input" in capsys.readouterr().err
