"""SISARegressor: forgetting equals training the same shards without the rows."""

import copy

import joblib
import numpy as np
import pytest
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.linear_model import Ridge, SGDRegressor
from sklearn.neighbors import KNeighborsRegressor
from sklearn.tree import DecisionTreeRegressor

from regkit.unlearning import SISARegressor
from regkit.unlearning._seeding import seed_estimator


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((120, 3))
    y = X[:, 0] ** 2 + X[:, 1] + 0.1 * rng.standard_normal(120)
    return X, y


def shards_holding(model, rows):
    return sorted(
        {
            s
            for s, shard in enumerate(model.slice_indices_)
            for part in shard
            if np.isin(part, rows).any()
        }
    )


def test_forget_retrains_only_the_shards_that_held_the_rows(data):
    X, y = data
    model = SISARegressor(DecisionTreeRegressor(), n_shards=4, random_state=0).fit(X, y)
    before = list(model.estimators_)
    rows = np.array([5, 60, 61])
    expected_shards = shards_holding(model, rows)
    model.forget(rows)
    assert model.retrained_shards_.tolist() == expected_shards
    for s in range(4):
        kept = np.concatenate(model.slice_indices_[s])
        assert not np.isin(kept, rows).any()
        if s in expected_shards:
            # The same shard, trained with its own seed, without the rows.
            expected = seed_estimator(DecisionTreeRegressor(), int(model.shard_seeds_[s]))
            expected.fit(X[kept], y[kept])
            np.testing.assert_array_equal(model.estimators_[s].predict(X), expected.predict(X))
        else:
            assert model.estimators_[s] is before[s]
    shard_mean = np.mean([m.predict(X) for m in model.estimators_], axis=0)
    np.testing.assert_allclose(model.predict(X), shard_mean)


def test_forget_equals_fitting_without_the_rows_for_a_deterministic_estimator(data):
    # Ridge has no randomness: the forgetting model must equal the mean of ridge fits
    # on each shard's remaining rows, computed here from scratch.
    X, y = data
    model = SISARegressor(Ridge(alpha=0.1), n_shards=3, random_state=1).fit(X, y)
    model.forget([0, 1, 2, 50]).forget([99])
    fits = [
        Ridge(alpha=0.1).fit(X[np.concatenate(shard)], y[np.concatenate(shard)])
        for shard in model.slice_indices_
    ]
    np.testing.assert_allclose(
        model.predict(X), np.mean([f.predict(X) for f in fits], axis=0), rtol=1e-12
    )
    assert model.forgotten_indices_.tolist() == [0, 1, 2, 50, 99]
    assert sum(len(np.concatenate(s)) for s in model.slice_indices_) == 115


def _train_slices_from_scratch(estimator, X, y, slices, epochs):
    model = clone(estimator)
    for k in range(len(slices)):
        rows = np.concatenate(slices[: k + 1])
        for _ in range(epochs):
            model.partial_fit(X[rows], y[rows])
    return model


def test_sliced_forget_restarts_from_the_checkpoint_before_the_row(data):
    X, y = data
    sgd = SGDRegressor(learning_rate="constant", eta0=0.01)
    model = SISARegressor(sgd, n_shards=2, n_slices=3, epochs_per_slice=2, random_state=0)
    model.fit(X, y)
    last_slice_row = model.slice_indices_[1][2][0]
    checkpoints_before = list(model.checkpoints_[1])
    model.forget([last_slice_row])
    # Stages 0 and 1 of shard 1 did not see the row: kept as they were.
    assert model.checkpoints_[1][0] is checkpoints_before[0]
    assert model.checkpoints_[1][1] is checkpoints_before[1]
    assert model.retrained_shards_.tolist() == [1]
    for s in range(2):
        seeded = seed_estimator(clone(sgd), int(model.shard_seeds_[s]))
        expected = _train_slices_from_scratch(seeded, X, y, model.slice_indices_[s], 2)
        np.testing.assert_allclose(model.estimators_[s].coef_, expected.coef_, rtol=1e-12)
        np.testing.assert_allclose(model.estimators_[s].intercept_, expected.intercept_, rtol=1e-12)


def test_dask_backend_trains_the_same_shards(data):
    distributed = pytest.importorskip("distributed")
    X, y = data
    params = {"n_shards": 3, "random_state": 0}
    local = SISARegressor(DecisionTreeRegressor(), **params).fit(X, y).forget([4, 7])
    with (
        distributed.Client(processes=False, n_workers=1, threads_per_worker=2) as client,
        joblib.parallel_backend("dask"),
        distributed.get_task_stream(client) as tasks,
    ):
        remote = SISARegressor(DecisionTreeRegressor(), n_jobs=-1, **params).fit(X, y)
        remote.forget([4, 7])
    assert tasks.data, "no shard was trained on the dask cluster"
    np.testing.assert_array_equal(remote.predict(X), local.predict(X))
    assert remote.retrained_shards_.tolist() == local.retrained_shards_.tolist()


def test_threads_give_the_same_model(data):
    X, y = data
    serial = SISARegressor(DecisionTreeRegressor(), n_shards=3, random_state=0).fit(X, y)
    with joblib.parallel_backend("threading"):
        threaded = SISARegressor(DecisionTreeRegressor(), n_shards=3, n_jobs=2, random_state=0)
        threaded.fit(X, y)
    np.testing.assert_array_equal(threaded.predict(X), serial.predict(X))


def test_sample_weight_reaches_the_shards(data):
    X, y = data
    w = np.random.default_rng(3).uniform(0.5, 2.0, len(X))
    model = SISARegressor(Ridge(), n_shards=2, random_state=0).fit(X, y, sample_weight=w)
    model.forget([10])
    for shard, estimator in zip(model.slice_indices_, model.estimators_):
        rows = np.concatenate(shard)
        expected = Ridge().fit(X[rows], y[rows], sample_weight=w[rows])
        np.testing.assert_allclose(estimator.coef_, expected.coef_, rtol=1e-12)


def test_an_emptied_shard_is_dropped_from_the_average(data):
    X, y = data
    model = SISARegressor(Ridge(), n_shards=3, random_state=0).fit(X, y)
    model.forget(np.concatenate(model.slice_indices_[0]))
    assert model.estimators_[0] is None
    expected = np.mean([m.predict(X) for m in model.estimators_[1:]], axis=0)
    np.testing.assert_allclose(model.predict(X), expected)


class _NeedsThreeRows(RegressorMixin, BaseEstimator):
    def fit(self, X, y):
        if len(X) < 3:
            raise ValueError("needs at least 3 rows")
        self.mean_ = float(np.mean(y))
        return self

    def predict(self, X):
        return np.full(len(X), self.mean_)


def test_a_failed_forget_leaves_the_model_as_it_was():
    X, y = np.arange(16.0).reshape(8, 2), np.arange(8.0)
    model = SISARegressor(_NeedsThreeRows(), n_shards=2, random_state=0).fit(X, y)
    before = copy.deepcopy(model)
    shard = np.concatenate(model.slice_indices_[0])
    with pytest.raises(ValueError, match="at least 3 rows"):
        model.forget(shard[:2])
    assert model.forgotten_indices_.size == 0
    for got, expected in zip(model.slice_indices_, before.slice_indices_):
        np.testing.assert_array_equal(np.concatenate(got), np.concatenate(expected))
    np.testing.assert_array_equal(model.predict(X), before.predict(X))
    with pytest.raises(ValueError, match="every training row"):
        model.forget(np.arange(8))
    assert model.forgotten_indices_.size == 0


def test_find_rows(data):
    X, y = data
    X = np.r_[X, X[:1]]  # row 0 twice
    y = np.r_[y, y[:1]]
    model = SISARegressor(Ridge(), n_shards=2, random_state=0).fit(X, y)
    assert model.find_rows(X[[3, 7]], y[[3, 7]]).tolist() == [3, 7]
    assert sorted(model.find_rows(X[[0, 0]], y[[0, 0]]).tolist()) == [0, 120]
    with pytest.raises(ValueError, match="Row 0"):
        model.find_rows(X[:1] + 1.0, y[:1])
    model.forget([3])
    with pytest.raises(ValueError, match="already forgotten"):
        model.find_rows(X[[3]], y[[3]])


def test_bad_input(data):
    X, y = data
    model = SISARegressor(n_shards=2, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="empty"):
        model.forget([])
    with pytest.raises(ValueError, match=r"\[0, 120\)"):
        model.forget([120])
    with pytest.raises(TypeError, match="integer"):
        model.forget([1.5])
    model.forget([1])
    with pytest.raises(ValueError, match="already forgotten"):
        model.forget([1, 2])
    with pytest.raises(TypeError, match="partial_fit"):
        SISARegressor(Ridge(), n_slices=2).fit(X, y)
    with pytest.raises(TypeError, match="sample_weight"):
        SISARegressor(KNeighborsRegressor(), n_shards=2).fit(X, y, sample_weight=np.ones(120))
    with pytest.raises(ValueError, match="n_samples = 2"):
        SISARegressor(n_shards=3).fit(X[:2], y[:2])


def test_inputs_are_copied(data):
    X, y = data
    X_copy, y_copy = X.copy(), y.copy()
    model = SISARegressor(Ridge(), n_shards=2, random_state=0).fit(X_copy, y_copy)
    expected = SISARegressor(Ridge(), n_shards=2, random_state=0).fit(X, y).forget([5])
    X_copy[:] = 0.0  # the caller's arrays change after fit: retraining uses the copies
    model.forget([5])
    np.testing.assert_array_equal(model.predict(X), expected.predict(X))
    np.testing.assert_array_equal(X, data[0])
