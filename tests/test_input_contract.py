"""The input contract: every registered estimator and forecaster, fed hostile input.

Estimators come from :func:`regkit.utils.all_estimators` and forecasters from
:func:`regkit.utils.all_forecasters`, so a new one is covered the day it is
registered (``test_every_estimator_has_contract_settings`` makes its author pick
small, fast settings for it).

Each case either

- gives finite predictions of the right shape and of sensible quality, or
- raises a ``ValueError`` or ``TypeError`` whose message names the offending input,
  raised by regkit's or scikit-learn's validation code: no exception from inside
  torch, NumPy, SciPy, numba or LAPACK reaches the user.

"Sensible quality" depends on the kind of estimator (see :class:`Contract`): an
estimator whose fit is equivariant under scaling (least squares, label propagation
on a nearest-neighbour graph) must give the predictions of the unscaled fit, times
the scale of ``y``; a penalised one, those of the unscaled problem with the penalty
that is equivalent at that scale; a neural network, an ``R^2`` (or accuracy) within
a margin of the unscaled fit's (its float32 training path changes with rounding).
"""

import dataclasses
import functools
import os
import re
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import ElasticNet, LinearRegression, LogisticRegression, Ridge
from sklearn.metrics import r2_score

from regkit.sketching import SketchedLinearRegression
from regkit.unlearning import SISARegressor
from regkit.utils import all_estimators, all_forecasters

N_ROWS, N_FEATURES = 96, 3
SCALES = (1e-300, 1e-200, 1e160, 1e300)
NEURAL = {
    "max_epochs": 12,
    "batch_size": 32,
    "learning_rate": 1e-2,
    "n_iter_no_change": None,
    "device": "cpu",
    "random_state": 0,
}


# --------------------------------------------------------------------- contracts
def _penalty_at(scale, power):
    """``1 / scale**power`` in float64, saturating at 0 and at 1e300 (never a Python error)."""
    with np.errstate(over="ignore", under="ignore", divide="ignore"):
        return float(np.clip(np.float64(1.0) / np.float64(scale) ** power, 0.0, 1e300))


def _ridge(alpha, make=Ridge):
    """Ridge on ``(X * s, y * t)`` is ridge on ``(X, y)`` with ``alpha / s**2``.

    (Its coefficients are those times ``t / s``.) ``make(alpha)`` builds the
    reference model.
    """
    return lambda x_scale, y_scale: make(min(alpha * _penalty_at(x_scale, 2), 1e300))


def _elastic_net(alpha, l1_ratio):
    """Elastic net on ``(X * s, y * t)``: L1 part ``/ (s t)``, L2 part ``/ s**2``.

    Dividing the objective by ``t**2`` and writing the coefficients as ``t / s``
    times those of the unscaled problem gives these penalties.
    """

    def reference(x_scale, y_scale):
        l1 = alpha * l1_ratio * _penalty_at(x_scale * y_scale, 1)
        l2 = alpha * (1 - l1_ratio) * _penalty_at(x_scale, 2)
        if l1 + l2 < 1e-12:  # no penalty left: least squares (CD's duality gap breaks down)
            return LinearRegression()
        return ElasticNet(
            alpha=min(l1 + l2, 1e300), l1_ratio=l1 / (l1 + l2), tol=1e-10, max_iter=100_000
        )

    return reference


def _logistic(C):
    """L2-penalised logistic regression on ``X * s`` is ``C * s**2`` on ``X``.

    Below ``C = 1e-4`` the coefficients vanish and the unpenalised intercept
    predicts the majority class; scikit-learn's solvers stop at their start there
    (the gradient is scaled by ``C``), so the prior is the reference.
    """

    def reference(x_scale, y_scale):
        factor = _penalty_at(x_scale, 2)  # 0 where 1 / s**2 underflows: no penalty left
        equivalent = C / factor if factor > 0 else np.inf
        if equivalent < 1e-4:
            return DummyClassifier(strategy="prior")
        return LogisticRegression(C=min(equivalent, 1e300), max_iter=1000)

    return reference


@dataclasses.dataclass
class Contract:
    """How one estimator is fed and judged.

    params : settings that make the fits small and fast.
    kind : "regressor", "classifier" or "semi-supervised" (-1 marks unlabelled rows).
    reference : how the predictions on ``(X * s, y * t)`` are judged. None
        compares the quality with the unscaled fit's (within ``margin``);
        otherwise ``reference(s, t)`` is the model whose fit on the unscaled data
        must give the same predictions (divided by ``t``), for instance an
        independent implementation with the penalty equivalent at that scale.
    margin : tolerated loss of R^2 (or accuracy) against the unscaled fit.
    sample_weight : whether ``fit`` takes ``sample_weight``.
    xfail : case names expected to fail, with a reason.
    """

    params: dict
    kind: str = "regressor"
    reference: Callable | None = None
    margin: float = 0.05
    sample_weight: bool = True
    xfail: dict = dataclasses.field(default_factory=dict)


CONTRACTS = {
    "ARNetRegressor": Contract({**NEURAL, "max_epochs": 12, "batch_size": 16}),
    "BCDLabelPropagation": Contract(
        {"n_neighbors": 5, "max_iter": 300, "random_state": 0},
        kind="semi-supervised",
        sample_weight=False,
    ),
    "BCDLogisticRegression": Contract(
        {"C": 1.0, "max_iter": 100, "random_state": 0},
        kind="classifier",
        reference=_logistic(1.0),
    ),
    "BCDRegressor": Contract(
        {"alpha": 0.01, "l1_ratio": 0.5, "max_iter": 200, "tol": 1e-8, "random_state": 0},
        reference=_elastic_net(0.01, 0.5),
    ),
    # Cross-validation over a grid relative to alpha_max, which scales with the
    # data: with a pure L1 penalty (equivariant: an L2 part scales as 1 / s**2, not
    # as alpha_max) the choice, and so the quality, must not depend on the units.
    "BCDLogisticRegressionCV": Contract(
        {"l1_ratio": 1.0, "alphas": 5, "cv": 3, "max_iter": 100, "random_state": 0},
        kind="classifier",
    ),
    "BCDRegressorCV": Contract(
        {"l1_ratio": 1.0, "alphas": 5, "eps": 0.05, "cv": 3, "max_iter": 200, "random_state": 0}
    ),
    "CSIBRegressor": Contract(
        {
            **NEURAL,
            "hidden_layer_sizes": (16,),
            "representation_size": 4,
            "decoder_layer_sizes": (16,),
        },
        margin=0.1,
    ),
    "HistogramRegressor": Contract({**NEURAL, "hidden_layer_sizes": (16,), "n_bins": 20}),
    "NeuralRegressor": Contract({**NEURAL, "hidden_layer_sizes": (16,)}),
    "SISARegressor": Contract(
        {"estimator": Ridge(alpha=1.0), "n_shards": 2, "random_state": 0},
        reference=_ridge(
            1.0, lambda alpha: SISARegressor(estimator=Ridge(alpha), n_shards=2, random_state=0)
        ),
    ),
    "SketchedLinearRegression": Contract(
        {"n_sketch_rows": 40, "random_state": 0},
        # No penalty: the fit on scaled data is the unscaled fit, scaled.
        reference=lambda x_scale, y_scale: SketchedLinearRegression(
            n_sketch_rows=40, random_state=0
        ),
    ),
    "SupReMixRegressor": Contract(
        {
            **NEURAL,
            "hidden_layer_sizes": (16,),
            "embedding_size": 8,
            "projection_size": 4,
            "n_positive_mixtures": 4,
            "pretrain_epochs": 4,
            "pretrain_learning_rate": 1e-2,
        },
        margin=0.1,
    ),
    "UnlearnableRidge": Contract({"alpha": 1.0}, reference=_ridge(1.0)),
}


def _estimators():
    return [(name, cls) for name, cls in all_estimators()]


def test_every_estimator_has_contract_settings():
    missing = sorted({name for name, _ in _estimators()} - set(CONTRACTS))
    assert not missing, f"add contract settings for {missing} to CONTRACTS"


# --------------------------------------------------------------------------- data
def _truth(kind, n=N_ROWS, seed=0):
    """Inputs and the true targets (every row labelled)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, N_FEATURES))
    signal = X @ np.array([1.5, -1.0, 0.5]) + 0.3 * np.sin(2 * X[:, 0])
    if kind == "regressor":
        return X, signal + 0.1 * rng.standard_normal(n)
    return X, (signal > 0).astype(int)


def _data(kind, n=N_ROWS):
    """Inputs and the targets given to ``fit`` (-1 marks unlabelled rows)."""
    X, y = _truth(kind, n)
    if kind == "semi-supervised":
        y = y.copy()
        y[1::3] = -1
    return X, y


def _quality(kind, prediction):
    """R^2 against the true targets; accuracy (on the unlabelled rows if any)."""
    _, truth = _truth(kind)
    if kind == "regressor":
        return r2_score(truth, prediction)
    _, y = _data(kind)
    judged = y == -1 if kind == "semi-supervised" else slice(None)
    return float(np.mean(prediction[judged] == truth[judged]))


def _new(name):
    cls = dict(_estimators())[name]
    return cls(**CONTRACTS[name].params)


@functools.cache
def _unscaled(name):
    """Predictions and quality of the unscaled fit (computed once per estimator)."""
    contract = CONTRACTS[name]
    X, y = _data(contract.kind)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prediction = _new(name).fit(X, y).predict(X)
    return prediction, _quality(contract.kind, prediction)


# ---------------------------------------------------------------- error checks
_FOREIGN = re.compile(r"[\\/](torch|numpy|scipy|numba|pandas|threadpoolctl)[\\/]")
_ALLOWED_SKLEARN = re.compile(r"[\\/]sklearn[\\/](utils[\\/]|base\.py)")


def raising_file(excinfo):
    """File of the frame that raised (the innermost Python frame of the traceback)."""
    tb = excinfo.tb
    while tb.tb_next is not None:
        tb = tb.tb_next
    return tb.tb_frame.f_code.co_filename


def check_clear_error(excinfo, pattern):
    """The error is a ValueError/TypeError from regkit or sklearn validation naming the input."""
    error = excinfo.value
    where = raising_file(excinfo)
    assert isinstance(error, (ValueError, TypeError)), (
        f"{type(error).__name__} reached the user: {error}"
    )
    assert not _FOREIGN.search(where), f"raised inside a dependency ({where}): {error!r}"
    assert f"{os.sep}regkit{os.sep}" in where or _ALLOWED_SKLEARN.search(where), (
        f"raised outside regkit and scikit-learn's validation ({where}): {error!r}"
    )
    assert re.search(pattern, str(error), flags=re.IGNORECASE | re.DOTALL), (
        f"the message does not name the input (expected /{pattern}/): {error}"
    )


def outcome(action, pattern):
    """Run ``action``; return its result, or None after checking that it failed clearly."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return action()
        except Exception:  # the contract is about whatever escapes
            excinfo = pytest.ExceptionInfo.from_current()
    check_clear_error(excinfo, pattern)
    return None


def _check_prediction(prediction, n_rows):
    prediction = np.asarray(prediction)
    assert prediction.shape[0] == n_rows and prediction.ndim == 1, prediction.shape
    if prediction.dtype.kind == "f":
        assert np.all(np.isfinite(prediction)), prediction


# ------------------------------------------------------------------------ cases
def both(a, b):
    """A pattern for a message that mentions ``a`` and ``b``, in either order."""
    return rf"{a}.*{b}|{b}.*{a}"


def _poison(array, value, column=False):
    array = np.array(array, dtype=np.float64)
    if column:
        array[3, 1] = value
    else:
        array[3] = value
    return array


def _estimator_cases(name):
    contract = CONTRACTS[name]
    cases = ["nan_X", "inf_X", "nan_y", "inf_y"]
    cases += [f"X*{s:.0e}" for s in SCALES]
    if contract.kind == "regressor":
        cases += [f"y*{s:.0e}" for s in SCALES]
        cases += ["string_y"]
    cases += ["float16_X", "float32_X", "int_X", "bool_X", "sparse_X"]
    cases += ["0_rows", "1_row", "2_rows", "0_features", "mismatched_lengths"]
    if contract.sample_weight:
        cases += ["negative_weight", "nan_weight", "zero_weights"]
    cases += ["predict_other_width"]
    return cases


def _params():
    for name, _ in _estimators():
        contract = CONTRACTS.get(name)
        if contract is None:
            continue
        for case in _estimator_cases(name):
            marks = []
            if case in contract.xfail:
                marks.append(pytest.mark.xfail(strict=True, reason=contract.xfail[case]))
            yield pytest.param(name, case, id=f"{name}-{case}", marks=marks)


def _scaled_fit(name, x_scale, y_scale):
    """Fit on ``(X * x_scale, y * y_scale)``; check the predictions against the contract."""
    contract = CONTRACTS[name]
    X, y = _data(contract.kind)
    y_fit = y * y_scale if contract.kind == "regressor" else y
    input_name = "X" if x_scale != 1 else "y"
    model = _new(name)
    prediction = outcome(
        lambda: model.fit(X * x_scale, y_fit).predict(X * x_scale), rf"\b{input_name}\b"
    )
    if prediction is None:
        return
    _check_prediction(prediction, len(X))
    if contract.kind == "regressor":
        prediction = prediction / y_scale
    if contract.reference is not None:
        expected = contract.reference(x_scale, y_scale).fit(X, y).predict(X)
        if contract.kind == "regressor":
            np.testing.assert_allclose(prediction, expected, atol=1e-6 * np.std(y), rtol=1e-6)
        else:
            agree = np.mean(prediction == expected)
            assert agree >= 0.95, f"agrees with the equivalent unscaled fit on {agree:.0%}"
        return
    _, quality = _unscaled(name)
    assert _quality(contract.kind, prediction) >= quality - contract.margin


@pytest.mark.parametrize("name, case", list(_params()))
def test_input_contract(name, case):
    contract = CONTRACTS[name]
    X, y = _data(contract.kind)
    model = _new(name)
    fit = model.fit

    if case.startswith("X*"):
        return _scaled_fit(name, float(case[2:]), 1.0)
    if case.startswith("y*"):
        return _scaled_fit(name, 1.0, float(case[2:]))
    if case in {"nan_X", "inf_X"}:
        bad = _poison(X, np.nan if case == "nan_X" else np.inf, column=True)
        word = "nan" if case == "nan_X" else "inf"
        prediction = outcome(lambda: fit(bad, y).predict(X), both(r"\bX\b", word))
        if prediction is not None:
            _check_prediction(prediction, len(X))
        # Predicting on a poisoned X: an error naming X, or finite predictions.
        fitted = _new(name)
        outcome(lambda: fitted.fit(X, y), "")
        prediction = outcome(lambda: fitted.predict(bad), both(r"\bX\b", word))
        if prediction is not None:
            _check_prediction(prediction, len(X))
        return None
    if case in {"nan_y", "inf_y"}:
        word = "nan" if case == "nan_y" else "inf"
        bad = _poison(y, np.nan if case == "nan_y" else np.inf)
        prediction = outcome(lambda: fit(X, bad).predict(X), both(r"\by\b", word))
        if prediction is not None:
            _check_prediction(prediction, len(X))
        return None
    if case == "string_y":
        labels = np.array([f"v{v:.3f}" for v in y])
        prediction = outcome(lambda: fit(X, labels).predict(X), r"\by\b")
        assert prediction is None, "a regressor must refuse string targets"
        return None
    if case.endswith("_X") and case.split("_")[0] in {"float16", "float32", "int", "bool"}:
        kind = case.split("_")[0]
        converted = {
            "float16": X.astype(np.float16),
            "float32": X.astype(np.float32),
            "int": np.round(X * 4).astype(np.int64),
            "bool": X > 0,
        }[kind]
        prediction = outcome(lambda: fit(converted, y).predict(converted), r"\bX\b")
        if prediction is not None:
            _check_prediction(prediction, len(X))
            _, quality = _unscaled(name)
            if kind in {"float16", "float32", "int"}:
                assert _quality(contract.kind, prediction) >= quality - 0.15
        return None
    if case == "sparse_X":
        sparse = sp.csr_matrix(X)
        prediction = outcome(lambda: fit(sparse, y).predict(sparse), both("sparse", r"\bX\b"))
        if prediction is not None:
            _check_prediction(prediction, len(X))
        return None
    if case in {"0_rows", "1_row", "2_rows"}:
        n = int(case[0])
        rows = [0, 2] if contract.kind != "regressor" and n == 2 else slice(0, n)
        X_small, y_small = X[rows], y[rows]
        if contract.kind == "semi-supervised" and n == 1:
            y_small = y[:1]
        # A classifier may refuse a single class, naming y.
        pattern = rf"{n} sample|n_samples|{n} row" + ("" if n == 0 else r"|\by\b.*class")
        prediction = outcome(lambda: fit(X_small, y_small).predict(X[:5]), pattern)
        if prediction is not None:
            _check_prediction(prediction, 5)
        return None
    if case == "0_features":
        outcome(lambda: fit(X[:, :0], y), r"0 feature")
        prediction = outcome(lambda: fit(X[:, :0], y).predict(X[:, :0]), r"0 feature")
        assert prediction is None, "0 features must be refused"
        return None
    if case == "mismatched_lengths":
        prediction = outcome(lambda: fit(X, y[:-1]), r"inconsistent|length|samples")
        assert prediction is None, "X and y of different lengths must be refused"
        return None
    if case in {"negative_weight", "nan_weight", "zero_weights"}:
        weights = np.ones(len(X))
        if case == "negative_weight":
            weights[4], word = -1.0, "negative"
        elif case == "nan_weight":
            weights[4], word = np.nan, "nan"
        else:
            weights[:], word = 0.0, "zero|non-zero|positive"
        result = outcome(
            lambda: fit(X, y, sample_weight=weights), both("sample.?weight", f"({word})")
        )
        assert result is None, f"a sample_weight with a {case} must be refused"
        return None
    if case == "predict_other_width":
        model.fit(X, y)
        result = outcome(lambda: model.predict(X[:, :2]), both("2 features", "3"))
        assert result is None, "predicting on another number of features must be refused"
        return None
    raise AssertionError(f"unknown case {case}")


# ------------------------------------------------------------------ forecasters
@dataclasses.dataclass
class ForecasterContract:
    """How one forecaster is fed and judged.

    params : small, fast settings.
    exog : whether it takes exogenous series ``X``.
    rtol : relative tolerance of ``forecast(y * s) / s`` against ``forecast(y)``
        (exact normalisations give rounding; a network trained in float32 on the
        normalised series may move a little more).
    """

    params: dict
    exog: bool = True
    rtol: float = 1e-6


FORECASTERS = {
    "ARNetForecaster": ForecasterContract(
        {"n_lags": 4, "max_epochs": 8, "device": "cpu", "random_state": 0}, rtol=1e-3
    ),
    "AutoRegForecaster": ForecasterContract({"n_lags": 2}),
    # A tiny random LLM (the contract is about the input handling, not the LLM).
    "AutoTimesForecaster": ForecasterContract(
        {
            "llm": "tiny-gpt2",
            "segment_length": 3,
            "context_length": 6,
            "hidden_width": 16,
            "max_epochs": 4,
            "device": "cpu",
            "random_state": 0,
        },
        exog=False,
        rtol=1e-3,
    ),
    "NaiveForecaster": ForecasterContract({}, exog=False),
}
N_TIMES, HORIZON = 60, 3


def test_every_forecaster_has_contract_settings():
    missing = sorted({name for name, _ in all_forecasters()} - set(FORECASTERS))
    assert not missing, f"add contract settings for {missing} to FORECASTERS"


def _series(n=N_TIMES):
    """A daily AR(1) series around 10 driven by exogenous ``a`` (``b`` is noise)."""
    rng = np.random.default_rng(1)
    index = pd.date_range("2020-01-01", periods=n + HORIZON, freq="D")
    exog = pd.DataFrame(rng.standard_normal((n + HORIZON, 2)), index=index, columns=["a", "b"])
    values = np.empty(n + HORIZON)
    values[0] = 10.0
    for t in range(1, len(values)):
        values[t] = (
            10 + 0.6 * (values[t - 1] - 10) + exog["a"].iloc[t] + 0.2 * rng.standard_normal()
        )
    y = pd.Series(values, index=index, name="sales")
    return y.iloc[:n], exog.iloc[:n], exog.iloc[n:]


def _forecaster(name):
    cls = dict(all_forecasters())[name]
    return cls(**FORECASTERS[name].params)


@functools.cache
def _unscaled_forecast(name):
    y, X, X_future = _series()
    exog = FORECASTERS[name].exog
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = _forecaster(name).fit(y, X=X if exog else None)
        return model.predict(HORIZON, X=X_future if exog else None).to_numpy()


def _forecaster_cases(name):
    cases = ["nan_y", "inf_y", "string_y", "empty_y", "too_short", "decreasing_index"]
    cases += ["duplicated_index", "bad_horizon", "bad_coverage", "not_fitted"]
    cases += [f"y*{s:.0e}" for s in SCALES]
    if FORECASTERS[name].exog:
        cases += ["nan_X", "inf_X", "X_other_columns", "X_missing_at_predict", "X_short"]
        cases += [f"X*{s:.0e}" for s in SCALES]
    return cases


def _forecaster_params():
    for name, _ in all_forecasters():
        if name in FORECASTERS:
            for case in _forecaster_cases(name):
                yield pytest.param(name, case, id=f"{name}-{case}")


def _check_forecast(forecast, n_steps):
    values = np.asarray(forecast, dtype=np.float64)
    assert values.shape[0] == n_steps, values.shape
    assert np.all(np.isfinite(values)), values


def _fit_predict(name, y, X=None, X_future=None, fh=HORIZON):
    def action():
        model = _forecaster(name).fit(y, X=X)
        return model.predict(fh, X=X_future), model.predict_interval(fh, X=X_future)

    return action


@pytest.mark.parametrize("name, case", list(_forecaster_params()))
def test_forecaster_input_contract(name, case):
    contract = FORECASTERS[name]
    y, X, X_future = _series()
    if not contract.exog:
        X = X_future = None

    if case.startswith("y*") or case.startswith("X*"):
        scale = float(case[2:])
        if case.startswith("y*"):
            action, input_name = _fit_predict(name, y * scale, X, X_future), r"\by\b"
        else:
            action, input_name = _fit_predict(name, y, X * scale, X_future * scale), r"\bX\b"
        result = outcome(action, input_name)
        if result is None:
            return
        forecast, interval = result
        _check_forecast(forecast, HORIZON)
        _check_forecast(interval, HORIZON)
        expected = _unscaled_forecast(name)
        if case.startswith("y*"):
            spread = np.std(y)
            np.testing.assert_allclose(
                forecast.to_numpy() / scale,
                expected,
                rtol=contract.rtol,
                atol=contract.rtol * spread,
            )
        else:  # a linear effect of X: its scale must not change the forecast much
            assert np.max(np.abs(forecast.to_numpy() - expected)) < 2 * np.std(y)
        return
    if case in {"nan_y", "inf_y"}:
        bad = y.copy()
        bad.iloc[10] = np.nan if case == "nan_y" else np.inf
        word = "nan|missing" if case == "nan_y" else "inf"
        assert outcome(_fit_predict(name, bad, X, X_future), both(r"\by\b", f"({word})")) is None
        return
    if case == "string_y":
        bad = y.map(lambda v: f"v{v:.2f}")
        assert outcome(_fit_predict(name, bad, X, X_future), r"\by\b") is None
        return
    if case == "empty_y":
        result = outcome(
            _fit_predict(name, y.iloc[:0], X.iloc[:0] if X is not None else None, X_future),
            r"\by\b|empty|0 (observation|value|time)",
        )
        assert result is None
        return
    if case == "too_short":
        short = slice(0, 2)
        result = outcome(
            _fit_predict(name, y.iloc[short], None if X is None else X.iloc[short], X_future),
            r"short|at least|observations|history|length",
        )
        if result is not None:
            _check_forecast(result[0], HORIZON)
        return
    if case in {"decreasing_index", "duplicated_index"}:
        bad = y.iloc[::-1] if case == "decreasing_index" else y.iloc[[0, *range(len(y) - 1)]]
        bad_X = (
            None
            if X is None
            else (X.iloc[::-1] if case == "decreasing_index" else X.iloc[[0, *range(len(X) - 1)]])
        )
        word = "increasing|decreasing|order" if case == "decreasing_index" else "duplicate"
        assert outcome(_fit_predict(name, bad, bad_X, X_future), both("index", f"({word})")) is None
        return
    if case in {"bad_horizon", "bad_coverage"}:
        model = _forecaster(name).fit(y, X=X)
        if case == "bad_horizon":
            for fh in (0, -1, 1.5, "3"):
                result = outcome(lambda fh=fh: model.predict(fh, X=X_future), r"\bfh\b|horizon")
                assert result is None, f"fh={fh!r} must be refused"
        else:
            for coverage in (0.0, 1.0, 1.5, np.nan):
                result = outcome(
                    lambda c=coverage: model.predict_interval(HORIZON, coverage=c, X=X_future),
                    r"coverage",
                )
                assert result is None, f"coverage={coverage!r} must be refused"
        return
    if case == "not_fitted":
        result = outcome(lambda: _forecaster(name).predict(HORIZON), r"not fitted|fit")
        assert result is None
        return
    if case in {"nan_X", "inf_X"}:
        bad = X.copy()
        bad.iloc[5, 1] = np.nan if case == "nan_X" else np.inf
        word = "nan|missing|finite" if case == "nan_X" else "inf|finite"
        assert outcome(_fit_predict(name, y, bad, X_future), both(r"\bX\b", f"({word})")) is None
        bad_future = X_future.copy()
        bad_future.iloc[1, 0] = np.nan if case == "nan_X" else np.inf
        model = _forecaster(name).fit(y, X=X)
        result = outcome(lambda: model.predict(HORIZON, X=bad_future), both(r"\bX\b", f"({word})"))
        assert result is None
        return
    if case == "X_other_columns":
        model = _forecaster(name).fit(y, X=X)
        renamed = X_future.rename(columns={"b": "c"})
        result = outcome(lambda: model.predict(HORIZON, X=renamed), both(r"\bb\b", r"\bc\b"))
        assert result is None
        return
    if case == "X_missing_at_predict":
        model = _forecaster(name).fit(y, X=X)
        assert outcome(lambda: model.predict(HORIZON), r"\bX\b") is None
        return
    if case == "X_short":
        result = outcome(_fit_predict(name, y, X.iloc[:-5], X_future), r"\bX\b")
        assert result is None
        model = _forecaster(name).fit(y, X=X)
        result = outcome(lambda: model.predict(HORIZON, X=X_future.iloc[:1]), r"\bX\b")
        assert result is None
        return
    raise AssertionError(f"unknown case {case}")
