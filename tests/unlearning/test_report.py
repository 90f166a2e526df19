"""unlearning_report columns and values; UnlearningDisplay draws them."""

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import Ridge, SGDRegressor
from sklearn.metrics import mean_absolute_error, root_mean_squared_error

from regkit.plotting import UnlearningDisplay
from regkit.unlearning import (
    REPORT_COLUMNS,
    ExactUnlearner,
    RetrainUnlearner,
    UnlearnableRidge,
    membership_inference,
    prediction_wasserstein,
    run_unlearners,
    unlearning_report,
)


@pytest.fixture(scope="module")
def cohort():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((900, 3))
    y = X @ [1.0, -1.0, 0.5] + 3.0 * (X[:, 0] > 1.0) + 0.3 * rng.standard_normal(900)
    train, test = slice(0, 600), slice(600, None)
    forget = X[train, 0] > 1.0  # a target-range cohort, as in the paper
    X_train, y_train = X[train], y[train]
    return {
        "forget": (X_train[forget], y_train[forget]),
        "retain": (X_train[~forget], y_train[~forget]),
        "test": (X[test], y[test]),
        "train": (X_train, y_train),
    }


@pytest.fixture(scope="module")
def report_and_models(cohort):
    model = UnlearnableRidge(alpha=1.0).fit(*cohort["train"])
    unlearners = {"retrain": RetrainUnlearner(), "exact": ExactUnlearner()}
    models, seconds = run_unlearners(model, unlearners, *cohort["forget"], *cohort["retain"])
    report = unlearning_report(
        models,
        *cohort["forget"],
        *cohort["retain"],
        *cohort["test"],
        seconds=seconds,
        mia_samples=300,
    )
    return report, models, seconds


def test_report_has_one_row_per_model_and_every_column(report_and_models):
    report, _, seconds = report_and_models
    assert list(report.index) == ["original", "retrain", "exact"]
    assert report.index.name == "model"
    assert list(report.columns) == list(REPORT_COLUMNS)
    assert report.attrs == {"reference": "retrain", "original": "original"}
    assert np.isnan(report.loc["original", "seconds"])
    assert report.loc["exact", "seconds"] == seconds["exact"]


def test_report_values_match_direct_computations(report_and_models, cohort):
    report, models, _ = report_and_models
    X_f, y_f = cohort["forget"]
    X_r, y_r = cohort["retain"]
    X_t, y_t = cohort["test"]
    for name, model in models.items():
        row = report.loc[name]
        assert row["forget_mae"] == pytest.approx(mean_absolute_error(y_f, model.predict(X_f)))
        assert row["retain_rmse"] == pytest.approx(root_mean_squared_error(y_r, model.predict(X_r)))
        assert row["test_mae"] == pytest.approx(mean_absolute_error(y_t, model.predict(X_t)))
        assert row["forget_wasserstein"] == pytest.approx(
            prediction_wasserstein(model, models["retrain"], X_f)
        )
        attack = membership_inference(model, X_f, y_f, X_r, y_r, X_t, y_t, n_samples=300)
        assert row["mia_score"] == attack.score
        assert row["mia_attack_accuracy"] == attack.attack_accuracy
    # Exact unlearning is the retrained model: same errors, no distance, AIN 1.
    assert report.loc["exact", "forget_mae"] == pytest.approx(
        report.loc["retrain", "forget_mae"], rel=1e-10
    )
    assert report.loc["exact", "forget_wasserstein"] == pytest.approx(0.0, abs=1e-9)
    assert report.loc["exact", "ain"] == report.loc["retrain", "ain"] == 1.0
    # The original fits the cohort better than a model that never saw it.
    assert report.loc["original", "forget_mae"] < report.loc["retrain", "forget_mae"]
    assert report.loc["original", "ain"] == 0.0


def test_ain_needs_a_relearning_step(cohort):
    model = Ridge().fit(*cohort["train"])
    models, _ = run_unlearners(
        model, {"retrain": RetrainUnlearner()}, *cohort["forget"], *cohort["retain"]
    )
    data = (*cohort["forget"], *cohort["retain"], *cohort["test"])
    with pytest.warns(UserWarning, match="partial_fit"):
        report = unlearning_report(models, *data, mia_samples=100)
    assert report["ain"].isna().all()

    seen = []

    def refit_step(estimator, X_batch, y_batch):
        # Ridge on every batch so far: after one epoch, the original model again.
        seen.append((X_batch, y_batch))
        estimator.fit(np.concatenate([b[0] for b in seen]), np.concatenate([b[1] for b in seen]))

    report = unlearning_report(
        models, *data, mia_samples=100, relearn_step=refit_step, ain_batch_size=100
    )
    assert report.loc["retrain", "ain"] == 1.0 and report.loc["original", "ain"] == 0.0
    assert 0 < len(seen) <= 6  # the reference relearnt within one epoch, measured once


def test_report_without_original_and_with_sgd(cohort):
    sgd = SGDRegressor(random_state=0).fit(*cohort["train"])
    retrained = RetrainUnlearner().unlearn(sgd, *cohort["forget"], *cohort["retain"])
    data = (*cohort["forget"], *cohort["retain"], *cohort["test"])
    report = unlearning_report({"retrain": retrained}, *data, original=None, mia_samples=100)
    assert report["ain"].isna().all() and report["seconds"].isna().all()


def test_report_bad_input(report_and_models, cohort):
    _, models, _ = report_and_models
    data = (*cohort["forget"], *cohort["retain"], *cohort["test"])
    with pytest.raises(ValueError, match="reference='gold'"):
        unlearning_report(models, *data, reference="gold")
    with pytest.raises(ValueError, match="unknown models"):
        unlearning_report(models, *data, seconds={"other": 1.0})


def test_display_from_report(pyplot, report_and_models):
    report, _, _ = report_and_models
    _, ax = pyplot.subplots()
    display = UnlearningDisplay.from_report(report, metric="forget_rmse", ax=ax)
    assert display.ax_ is ax and display.figure_ is ax.figure
    assert display.reference == "retrain"  # from report.attrs
    assert set(display.points_) == {"retrain", "exact"}  # the timed models
    assert set(display.lines_) == {"original", "retrain"}
    np.testing.assert_allclose(
        display.points_["exact"].get_offsets()[0],
        report.loc["exact", ["seconds", "forget_rmse"]].to_numpy(dtype=float),
    )
    assert display.lines_["original"].get_ydata()[0] == report.loc["original", "forget_rmse"]
    assert display.lines_["retrain"].get_ydata()[0] == report.loc["retrain", "forget_rmse"]
    assert ax.get_ylabel() == "forget_rmse"
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert "retrain (reference)" in labels and "original" in labels


def test_display_bad_input(pyplot):
    report = pd.DataFrame({"seconds": [1.0], "forget_mae": [2.0]}, index=["a"])
    with pytest.raises(ValueError, match="no column 'test_mae'"):
        UnlearningDisplay.from_report(report, metric="test_mae")
    with pytest.raises(ValueError, match="reference='b'"):
        UnlearningDisplay.from_report(report, reference="b")
    with pytest.raises(ValueError, match="one entry per model"):
        UnlearningDisplay(names=["a", "b"], seconds=[1.0], values=[1.0], metric="m")
    display = UnlearningDisplay.from_report(report)  # no reference: plain points
    assert set(display.points_) == {"a"} and not display.lines_
