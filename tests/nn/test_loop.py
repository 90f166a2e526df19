"""The reusable loop: run_epochs, batch sources, partial_fit, fine_tune, two-stage fits.

The miniatures below are the three uses the loop was designed for: machine
unlearning (fine-tune a copy with its own loss on batches mixing forget and retain
rows), SupReMix (a contrastive stage, then a probe on a frozen encoder, in one
history) and a frozen backbone with small trainable parts (the LLM forecaster).
"""

import copy
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

from regkit.exceptions import TrainingDivergedError
from regkit.nn import (
    BaseNeuralRegressor,
    BatchSource,
    Linear,
    TensorBatches,
    current_generator,
    make_generator,
    make_mlp,
    run_epochs,
    use_generator,
)
from regkit.regression import NeuralRegressor
from regkit.utils import store_init_params

FAST = {"hidden_layer_sizes": (16,), "batch_size": 32, "device": "cpu", "random_state": 0}
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _state(module):
    return {k: v.clone() for k, v in module.state_dict().items()}


def _same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _owner(**settings):
    """The smallest owner run_epochs accepts: engine settings and a history list."""
    defaults = {
        "optimizer": "adam",
        "weight_decay": 0.0,
        "learning_rate": 1e-2,
        "lr_schedule": "constant",
        "max_epochs": 3,
        "n_iter_no_change": None,
        "tol": 1e-4,
        "callbacks": None,
        "verbose": 0,
        "history_": [],
    }
    return SimpleNamespace(**{**defaults, **settings})


# ---------------------------------------------------------------- batch sources
def test_tensor_batches_cover_every_row_once_per_epoch_in_a_new_order():
    X = torch.arange(10.0)
    source = TensorBatches(X, None, batch_size=4)
    assert isinstance(source, BatchSource) and len(source) == 3
    generator = make_generator(0)
    epochs = [list(source.batches(generator)) for _ in range(2)]
    for batches in epochs:
        assert [len(X_b) for X_b, _ in batches] == [4, 4, 2]
        assert all(w is None for _, w in batches)
        assert sorted(torch.cat([X_b for X_b, _ in batches]).tolist()) == X.tolist()
    first, second = (torch.cat([b[0] for b in e]) for e in epochs)
    assert not torch.equal(first, second)
    again = torch.cat([b[0] for b in source.batches(make_generator(0))])
    assert torch.equal(again, first)
    ordered = TensorBatches(X, batch_size=4, shuffle=False).batches(generator)
    assert torch.equal(torch.cat([b[0] for b in ordered]), X)


@pytest.mark.parametrize(
    "tensors, batch_size, match",
    [
        ((torch.ones(3), torch.ones(4)), 2, "different numbers of rows"),
        ((None,), 2, "at least one tensor"),
        ((torch.ones(3),), 0, "batch_size"),
    ],
)
def test_tensor_batches_refuse_bad_input(tensors, batch_size, match):
    with pytest.raises(ValueError, match=match):
        TensorBatches(*tensors, batch_size=batch_size)


# --------------------------------------------------------------------- the loop
def test_run_epochs_records_steps_stages_and_extras():
    X = torch.randn(40, 3, generator=make_generator(0))
    y = X[:, :1] * 2
    module = nn.Sequential(Linear(3, 1))
    owner, steps = _owner(), []
    run = run_epochs(
        owner,
        module,
        lambda m, X, y: ((m(X) - y) ** 2).mean(),
        TensorBatches(X, y, batch_size=16),
        generator=make_generator(0),
        extras=lambda m: {"weight_norm": float(m[0].weight.norm())},
        on_step=lambda step, n_steps: steps.append((step, n_steps)),
        stage="warm-up",
    )
    assert (run.epochs, run.stop_reason, run.best_epoch) == (3, "max_epochs", 3)
    assert steps == [(i, 9) for i in range(1, 10)]
    assert [r["epoch"] for r in owner.history_] == [1, 2, 3]
    assert all(r["stage"] == "warm-up" and "weight_norm" in r for r in owner.history_)
    assert owner.n_iter_ == 3 and owner.best_epoch_ == 3
    assert owner.history_[-1]["train_loss"] < owner.history_[0]["train_loss"]
    assert not module.training  # left in evaluation mode
    with pytest.raises(TypeError, match="unknown settings"):
        run_epochs(owner, module, None, None, generator=make_generator(0), batch_size=3)


def test_run_epochs_divergence_and_checks():
    X = torch.randn(40, 3, generator=make_generator(0))
    module = nn.Sequential(Linear(3, 1))
    batches = TensorBatches(X, batch_size=8)
    scale = iter(10.0 ** np.arange(0, 40, 2))

    def exploding(m, X):  # grows by 100 per minibatch although it stays finite
        return m(X).mean() * 0 + next(scale)

    with pytest.raises(TrainingDivergedError, match=r"loss became .* at epoch 1"):
        run_epochs(_owner(), module, exploding, batches, generator=make_generator(0))
    owner = _owner()
    with pytest.raises(TrainingDivergedError, match="outputs left the map at epoch 2"):
        run_epochs(
            owner,
            module,
            lambda m, X: (m(X) ** 2).mean(),
            batches,
            generator=make_generator(0),
            check=lambda m: "The outputs left the map" if len(owner.history_) == 1 else None,
        )


# ----------------------------------------------------- (c) a frozen backbone
def test_frozen_parts_stay_in_evaluation_mode_and_out_of_the_optimiser():
    with use_generator(make_generator(0)):
        backbone = make_mlp(4, (8,), dropout=0.5)
    backbone.requires_grad_(False)
    head = Linear(8, 1)
    module = nn.Sequential(backbone, head)
    frozen_before, head_before = _state(backbone), _state(head)
    modes = []

    def loss(module, X, y):
        modes.append((module.training, module[0].training, module[0][2].training))
        return ((module(X) - y) ** 2).mean()

    X = torch.randn(64, 4, generator=make_generator(1))
    run = run_epochs(
        _owner(),
        module,
        loss,
        TensorBatches(X, X[:, :1], batch_size=16),
        generator=make_generator(0),
    )
    assert set(modes) == {(True, False, False)}  # trained around, never in training mode
    optimised = {id(p) for group in run.optimizer.param_groups for p in group["params"]}
    assert optimised == {id(p) for p in head.parameters()}
    assert _same(_state(backbone), frozen_before)
    assert not _same(_state(head), head_before)


# ------------------------------------------------------------------ partial_fit
def test_partial_fit_keeps_the_first_fits_scaling(regression_data):
    # The case: a warm one-epoch fit on y + 10 with a negligible step size
    # used to refit the target scaling and move every prediction by exactly +10.
    X, y = regression_data
    model = NeuralRegressor(**FAST, max_epochs=5).fit(X, y)
    before = model.predict(X)
    model.set_params(learning_rate=1e-12).partial_fit(X, y + 10)
    np.testing.assert_allclose(model.predict(X), before, atol=1e-6)
    warm = NeuralRegressor(**FAST, max_epochs=5, warm_start=True).fit(X, y)
    warm.set_params(max_epochs=1, learning_rate=1e-12).fit(X, y + 10)
    np.testing.assert_allclose(warm.predict(X), before, atol=1e-6)


def test_partial_fit_is_one_epoch_per_call_and_continues_the_optimiser(regression_data):
    X, y = regression_data
    model = NeuralRegressor(**FAST)
    for call in range(1, 4):
        model.partial_fit(X[:100], y[:100])
        assert model.n_iter_ == call
    assert [r["stage"] for r in model.history_] == ["partial_fit"] * 3
    adam_steps = {int(s["step"]) for s in model._optimizer.state.values()}
    assert adam_steps == {3 * 4}  # 3 calls of 4 minibatches: one optimiser throughout
    # The same calls give the same model (the random stream continues across calls).
    again = NeuralRegressor(**FAST)
    for _ in range(3):
        again.partial_fit(X[:100], y[:100])
    np.testing.assert_array_equal(again.predict(X), model.predict(X))
    # The first call fits the scaling on its rows only.
    np.testing.assert_allclose(model.y_mean_, y[:100].mean())


def test_partial_fit_refuses_other_shapes_and_keeps_its_state(regression_data):
    X, y = regression_data
    model = NeuralRegressor(**FAST).partial_fit(X, y)
    state, history = _state(model.module_), list(model.history_)
    with pytest.raises(ValueError, match="features"):
        model.partial_fit(X[:, :3], y)
    with pytest.raises(ValueError, match="was first fitted with 1"):
        model.partial_fit(X, np.column_stack([y, y]))
    assert _same(_state(model.module_), state) and model.history_ == history


# --------------------------------------------------------- (a) unlearning
class MixedBatches:
    """Every minibatch mixes forget rows and retain rows: a batch source of its own."""

    def __init__(self, forget, retain, n_forget, n_retain):
        self.forget, self.retain = forget, retain
        self.n_forget, self.n_retain = n_forget, n_retain

    def __len__(self):
        return -(-len(self.retain[0]) // self.n_retain)

    def batches(self, generator):
        retain_order = torch.randperm(len(self.retain[0]), generator=generator)
        for i in range(len(self)):
            r = retain_order[i * self.n_retain : (i + 1) * self.n_retain]
            f = torch.randint(len(self.forget[0]), (self.n_forget,), generator=generator)
            X = torch.cat([self.forget[0][f], self.retain[0][r]])
            y = torch.cat([self.forget[1][f], self.retain[1][r]])
            is_forget = torch.arange(len(X)) < self.n_forget
            yield X, y, is_forget


def forget_loss(module, X, y, is_forget):
    # Keep fitting the retained rows; pull the forgotten ones to the mean target (0
    # in the standardised units the network works in): a bounded forgetting loss.
    target = torch.where(is_forget[:, None], torch.zeros_like(y), y)
    return ((module(X) - target) ** 2).mean()


def test_unlearning_fine_tunes_a_copy_on_mixed_batches(regression_data):
    X, y = regression_data
    model = NeuralRegressor(
        **{**FAST, "hidden_layer_sizes": (32,)}, max_epochs=40, learning_rate=1e-2
    )
    model.fit(X, y)
    original = copy.deepcopy(model)
    # Forget a region of the input space (rows with a large first feature).
    forget, retain = X[:, 0] > 1.0, X[:, 0] <= 1.0
    Xf, yf, _ = model.encode_tensors(X[forget], y[forget])
    Xr, yr, _ = model.encode_tensors(X[retain], y[retain])
    source = MixedBatches((Xf, yf), (Xr, yr), n_forget=4, n_retain=28)
    assert isinstance(source, BatchSource)

    def unlearn():
        return model.fine_tune(
            forget_loss,
            source,
            max_epochs=8,
            learning_rate=3e-3,
            n_iter_no_change=None,
            stage="unlearn",
        )

    unlearned = unlearn()
    # The input estimator is untouched.
    assert _same(_state(model.module_), _state(original.module_))
    assert model.history_ == original.history_ and model.n_iter_ == original.n_iter_
    np.testing.assert_array_equal(model.predict(X), original.predict(X))
    # The copy kept the scaling, trained 8 more epochs, and forgot.
    np.testing.assert_array_equal(unlearned.y_mean_, model.y_mean_)
    np.testing.assert_array_equal(unlearned.y_scale_, model.y_scale_)
    assert [r["stage"] for r in unlearned.history_[model.n_iter_ :]] == ["unlearn"] * 8
    assert unlearned.n_iter_ == model.n_iter_ + 8

    def rmse(estimator, rows):
        return np.sqrt(np.mean((estimator.predict(X[rows]) - y[rows]) ** 2))

    forget_growth = rmse(unlearned, forget) / rmse(model, forget)
    retain_growth = rmse(unlearned, retain) / rmse(model, retain)
    assert forget_growth > 3 and forget_growth > 2 * retain_growth
    np.testing.assert_array_equal(unlearn().predict(X), unlearned.predict(X))  # seeded

    # Retraining a fresh network on the retained rows, with the original's scaling.
    fresh = model.fine_tune(
        model._loss,
        TensorBatches(Xr, yr, None, batch_size=32),
        max_epochs=3,
        reinitialize=True,
        random_state=1,
        n_iter_no_change=None,
        stage="retrain",
    )
    assert [r["epoch"] for r in fresh.history_] == [1, 2, 3]
    np.testing.assert_array_equal(fresh.y_scale_, model.y_scale_)
    assert not _same(_state(fresh.module_), _state(model.module_))


def test_fine_tune_trains_only_the_selected_parameters(regression_data):
    X, y = regression_data
    model = NeuralRegressor(**FAST, max_epochs=3).fit(X, y)
    tuned = model.fine_tune(
        model._loss,
        TensorBatches(*model.encode_tensors(X, y), batch_size=32),
        max_epochs=2,
        params=lambda module: module[-1].parameters(),
        n_iter_no_change=None,
    )
    assert torch.equal(tuned.module_[0].weight, model.module_[0].weight)
    assert not torch.equal(tuned.module_[-1].weight, model.module_[-1].weight)


# ------------------------------------------------------------- (b) two stages
class TwoStageRegressor(BaseNeuralRegressor):
    """SupReMix in miniature: contrastive pretraining, then a probe, one history."""

    def __init__(
        self,
        *,
        pretrain_epochs=3,
        probe_epochs=3,
        fine_tune_encoder=False,
        max_epochs=3,
        batch_size=32,
        learning_rate=1e-2,
        weight_decay=0.0,
        optimizer="adam",
        lr_schedule="constant",
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=None,
        tol=1e-4,
        device="cpu",
        verbose=0,
        warm_start=False,
        callbacks=None,
        random_state=None,
    ):
        store_init_params(self, locals())

    def _build_module(self, n_features, n_outputs):
        return nn.ModuleDict(
            {
                "encoder": make_mlp(n_features, (16,), dropout=0.2),
                "projection": Linear(16, 8),
                "probe": Linear(16, n_outputs),
            }
        )

    def _predict_module(self, module, X):
        return module["probe"](module["encoder"](X))

    def _loss(self, module, X, y, w):
        self.encoder_modes_.append(module["encoder"].training)
        return ((self._predict_module(module, X) - y) ** 2).mean()

    def _contrastive_loss(self, module, X):
        # Two augmented views per row, noise from the fit's generator; InfoNCE.
        generator = current_generator(X.device)
        views = [X + 0.1 * torch.randn(X.shape, generator=generator) for _ in range(2)]
        z1, z2 = (
            nn.functional.normalize(module["projection"](module["encoder"](v)), dim=1)
            for v in views
        )
        return nn.functional.cross_entropy(z1 @ z2.T / 0.5, torch.arange(len(X)))

    def _train(self, data):
        module, self.encoder_modes_ = self.module_, []
        stage_one = [*module["encoder"].parameters(), *module["projection"].parameters()]
        run_epochs(
            self,
            module,
            self._contrastive_loss,
            TensorBatches(data.X, batch_size=self.batch_size),
            generator=data.generator,
            params=stage_one,
            stage="pretrain",
            max_epochs=self.pretrain_epochs,
        )
        self.encoder_after_pretraining_ = _state(module["encoder"])
        if not self.fine_tune_encoder:
            module["encoder"].requires_grad_(False)
        run_epochs(
            self,
            module,
            self._loss,
            TensorBatches(data.X, data.y, data.sample_weight, batch_size=self.batch_size),
            generator=data.generator,
            stage="probe",
            max_epochs=self.probe_epochs,
        )
        module["encoder"].requires_grad_(True)


def test_two_stage_fit_shares_one_history_and_freezes_the_encoder(regression_data, capsys):
    X, y = regression_data
    model = TwoStageRegressor(random_state=0, verbose=1).fit(X, y)
    assert [r["stage"] for r in model.history_] == ["pretrain"] * 3 + ["probe"] * 3
    assert [r["epoch"] for r in model.history_] == [1, 2, 3, 4, 5, 6] and model.n_iter_ == 6
    assert _same(_state(model.module_["encoder"]), model.encoder_after_pretraining_)
    # The frozen encoder (with its dropout) stayed in evaluation mode while the probe trained.
    assert model.encoder_modes_ and not any(model.encoder_modes_)
    err = capsys.readouterr().err
    assert "TwoStageRegressor [pretrain]" in err and "TwoStageRegressor [probe]" in err
    assert model.score(X, y) > 0.5
    again = TwoStageRegressor(random_state=0).fit(X, y)
    np.testing.assert_array_equal(again.predict(X), model.predict(X))


def test_two_stage_fit_can_fine_tune_everything(regression_data):
    X, y = regression_data
    model = TwoStageRegressor(fine_tune_encoder=True, random_state=0).fit(X, y)
    assert not _same(_state(model.module_["encoder"]), model.encoder_after_pretraining_)
    assert any(model.encoder_modes_)
