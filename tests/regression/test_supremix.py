"""SupReMixRegressor: two training stages on the engine, embeddings, persistence, errors."""

import numpy as np
import pytest
import torch
from sklearn.exceptions import DataConversionWarning, NotFittedError
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

from regkit.nn import load_estimator, make_generator, rnc_loss, supcon_loss, use_generator
from regkit.regression import SupReMixRegressor
from regkit.regression._augmentation import TabularViews

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

SMALL = {
    "hidden_layer_sizes": (16,),
    "embedding_size": 8,
    "projection_size": 4,
    "pretrain_epochs": 3,
    "max_epochs": 4,
    "batch_size": 64,
    "device": "cpu",
    "random_state": 0,
}


def _model(**params):
    return SupReMixRegressor(**{**SMALL, **params})


def _state(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _same_state(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _standardised(y):
    return (y - y.mean()) / y.std()  # the population standard deviation, as the engine


# ---------------------------------------------------------------- the two stages
class _GradientProbe:
    """A callback that records, per epoch, which parts of the network hold gradients."""

    def __init__(self):
        self.seen = []

    def __call__(self, estimator, record):
        module = estimator.module_
        has_gradient = {
            part: [p.grad is not None and bool(p.grad.abs().sum() > 0) for p in child.parameters()]
            for part, child in module.named_children()
        }
        trainable = {
            part: [p.requires_grad for p in child.parameters()]
            for part, child in module.named_children()
        }
        self.seen.append((record["stage"], has_gradient, trainable))


def test_linear_probe_stage_trains_the_probe_and_not_the_encoder(regression_data):
    X, y = regression_data
    probe = _GradientProbe()
    snapshots = {}

    def snapshot(estimator, record):
        snapshots.setdefault(record["stage"], []).append(_state(estimator.module_.encoder))

    model = _model(head="linear", callbacks=[probe, snapshot]).fit(X, y)
    stages = [stage for stage, _, _ in probe.seen]
    assert stages == ["pretrain"] * 3 + ["probe"] * 4
    for stage, gradient, trainable in probe.seen:
        if stage == "pretrain":  # encoder and projection head learn; the probe waits
            assert all(gradient["encoder"]) and all(gradient["projection"])
            assert not any(gradient["probe"]) and not any(trainable["probe"])
        else:  # only the probe learns: no gradient is even computed for the encoder
            assert all(gradient["probe"])
            assert not any(gradient["encoder"]) and not any(trainable["encoder"])
    # The encoder is exactly the pretrained one; pretraining did change it.
    assert all(_same_state(s, snapshots["pretrain"][-1]) for s in snapshots["probe"])
    assert not _same_state(snapshots["pretrain"][0], snapshots["pretrain"][-1])
    assert _same_state(_state(model.module_.encoder), snapshots["pretrain"][-1])


def test_finetune_stage_trains_encoder_and_probe(regression_data):
    X, y = regression_data
    probe = _GradientProbe()
    encoders = []
    model = _model(
        head="finetune",
        callbacks=[probe, lambda est, rec: encoders.append(_state(est.module_.encoder))],
    )
    model.fit(X, y)
    assert [stage for stage, _, _ in probe.seen] == ["pretrain"] * 3 + ["finetune"] * 4
    for _, gradient, _ in probe.seen[3:]:
        assert all(gradient["encoder"]) and all(gradient["probe"])
        assert not any(gradient["projection"])  # the head is not part of the regressor
    assert not _same_state(encoders[2], encoders[-1])


def test_history_records_both_stages_in_order(regression_data):
    X, y = regression_data
    model = _model(pretrain_epochs=5, max_epochs=3, n_iter_no_change=None).fit(X, y)
    assert [r["stage"] for r in model.history_] == ["pretrain"] * 5 + ["probe"] * 3
    assert [r["epoch"] for r in model.history_] == list(range(1, 9))
    assert model.n_iter_ == 8
    assert all(np.isfinite(r["train_loss"]) and r["seconds"] > 0 for r in model.history_)


def test_pretrain_epochs_zero_skips_pretraining(regression_data):
    X, y = regression_data
    model = _model(pretrain_epochs=0, head="finetune").fit(X, y)
    assert {r["stage"] for r in model.history_} == {"finetune"}


def test_verbose_shows_one_progress_bar_per_stage(regression_data, capsys):
    X, y = regression_data
    _model(verbose=1).fit(X, y)
    err = capsys.readouterr().err
    assert "SupReMixRegressor [pretrain]" in err and "SupReMixRegressor [probe]" in err


def test_early_stopping_rows_take_no_part_in_pretraining(regression_data):
    X, y = regression_data
    seen = []

    def recording(batch, generator):
        seen.append(len(batch))
        return batch

    model = _model(
        augment=recording, early_stopping=True, validation_fraction=0.25, pretrain_epochs=1
    )
    model.fit(X, y)
    # Two views per minibatch: every training row twice, no validation row.
    assert sum(seen) == 2 * (len(X) - 60)
    assert all(np.isfinite([r["valid_loss"] for r in model.history_ if r["stage"] == "probe"]))


# ----------------------------------------------------------- what stage 1 computes
@pytest.mark.parametrize(
    "loss, reference",
    [
        ("supcon", lambda z, y: supcon_loss(z, y, temperature=0.5, target_scale=1.0)),
        ("supcr", lambda z, y: supcon_loss(z, y, temperature=0.5, target_scale=1.0)),
        ("rnc", lambda z, y: rnc_loss(z, y, temperature=2.0)),
    ],
)
def test_first_pretraining_loss_is_the_loss_of_two_views(regression_data, loss, reference):
    # One full batch and no augmentation: the first recorded loss is the loss of the
    # freshly built network on the standardised targets, computed independently.
    X, y = regression_data
    model = _model(loss=loss, augment=None, batch_size=len(X), pretrain_epochs=1).fit(X, y)
    with use_generator(make_generator(0)):
        network = model._build_module(X.shape[1], 1)
    X_t = torch.as_tensor(X, dtype=torch.float32)
    u = torch.as_tensor(_standardised(y), dtype=torch.float32)
    with torch.no_grad():
        expected = reference(network.project(torch.cat([X_t, X_t])), torch.cat([u, u]))
    np.testing.assert_allclose(model.history_[0]["train_loss"], expected.item(), rtol=1e-5)


def test_supcr_is_an_alias_of_supcon(regression_data):
    X, y = regression_data
    a, b = _model(loss="supcon").fit(X, y), _model(loss="supcr").fit(X, y)
    assert _same_state(_state(a.module_), _state(b.module_))


def test_same_seed_same_model_across_both_stages(regression_data):
    X, y = regression_data
    first, second = _model().fit(X, y), _model().fit(X, y)
    assert _same_state(_state(first.module_), _state(second.module_))
    assert [r["train_loss"] for r in first.history_] == [r["train_loss"] for r in second.history_]
    other = _model(random_state=1).fit(X, y)
    assert not np.array_equal(other.predict(X), first.predict(X))


def test_a_custom_augmentation_draws_from_the_given_generator(regression_data):
    X, y = regression_data

    def jitter(batch, generator):
        assert isinstance(generator, torch.Generator)
        return batch + 0.05 * torch.randn(batch.shape, generator=generator)

    first, second = _model(augment=jitter).fit(X, y), _model(augment=jitter).fit(X, y)
    np.testing.assert_array_equal(first.predict(X), second.predict(X))


def test_rows_of_weight_zero_take_no_part(regression_data):
    X, y = regression_data
    rng = np.random.default_rng(1)
    junk_X, junk_y = 5 * rng.standard_normal((40, X.shape[1])), 50 * rng.standard_normal(40)
    params = {"augment": None, "loss": "supcon", "batch_size": 512}
    weights = np.r_[np.ones(len(X)), np.zeros(40)]
    weighted = _model(**params).fit(np.vstack([X, junk_X]), np.r_[y, junk_y], weights)
    plain = _model(**params).fit(X, y)
    # One full batch: the same loss sums in another order, so only rounding differs.
    np.testing.assert_allclose(weighted.predict(X), plain.predict(X), rtol=1e-4, atol=1e-4)


# -------------------------------------------------------------------- embeddings
def test_transform_is_the_encoder_output_row_by_row(regression_data):
    X, y = regression_data
    model = _model(embedding_size=6).fit(X, y)
    embeddings = model.transform(X)
    assert embeddings.shape == (len(X), 6) and embeddings.dtype == np.float64
    alone = np.vstack([model.transform(X[i : i + 1]) for i in range(20)])
    np.testing.assert_array_equal(alone, embeddings[:20])
    with torch.no_grad():
        direct = model.module_.encoder(torch.as_tensor(X, dtype=torch.float32)).double()
    np.testing.assert_allclose(embeddings, direct.numpy(), rtol=1e-5, atol=1e-6)
    # The probe is linear in the embeddings: predict = embeddings @ w + b, in units of y.
    weight = model.module_.probe.weight.detach().double().numpy().ravel()
    bias = model.module_.probe.bias.detach().double().numpy()
    expected = (embeddings @ weight + bias) * model.y_scale_ + model.y_mean_
    np.testing.assert_allclose(model.predict(X), expected, rtol=1e-6, atol=1e-6)


def test_feature_names_out():
    with pytest.raises(NotFittedError):
        _model().get_feature_names_out()
    rng = np.random.default_rng(0)
    model = _model(embedding_size=3).fit(rng.standard_normal((50, 2)), rng.standard_normal(50))
    assert model.get_feature_names_out().tolist() == [f"supremixregressor{i}" for i in range(3)]


def test_feature_step_in_a_pipeline(regression_data):
    X, y = regression_data
    pipeline = make_pipeline(StandardScaler(), _model(), Ridge(alpha=1.0)).fit(X, y)
    # The same as fitting Ridge on the embeddings by hand.
    scaler = StandardScaler().fit(X)
    embed = _model().fit(scaler.transform(X), y)
    ridge = Ridge(alpha=1.0).fit(embed.transform(scaler.transform(X)), y)
    np.testing.assert_array_equal(
        pipeline.predict(X), ridge.predict(embed.transform(scaler.transform(X)))
    )
    names = pipeline[:-1].get_feature_names_out()
    assert names.tolist() == [f"supremixregressor{i}" for i in range(8)]


def test_pandas_output_of_transform(regression_data):
    pd = pytest.importorskip("pandas")
    X, y = regression_data
    frame = pd.DataFrame(X, columns=list("abcd"))
    model = _model().set_output(transform="pandas").fit(frame, y)
    out = model.transform(frame)
    assert list(out.columns) == [f"supremixregressor{i}" for i in range(8)]


# ------------------------------------------------------------- later training
def test_partial_fit_after_a_linear_probe_fit_keeps_the_encoder(regression_data):
    X, y = regression_data
    model = _model().fit(X, y)
    encoder, probe = _state(model.module_.encoder), _state(model.module_.probe)
    model.partial_fit(X, y)
    assert _same_state(_state(model.module_.encoder), encoder)
    assert not _same_state(_state(model.module_.probe), probe)
    assert model.history_[-1]["stage"] == "partial_fit"


# ------------------------------------------------------------------ persistence
def test_save_load_round_trip(regression_data, tmp_path):
    X, y = regression_data
    model = _model(loss="supremix", head="linear").fit(X, y)
    path = model.save(tmp_path / "supremix.safetensors")
    loaded = SupReMixRegressor.load(path)
    assert type(load_estimator(path)) is SupReMixRegressor
    assert loaded.get_params() == model.get_params()
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    np.testing.assert_array_equal(loaded.transform(X), model.transform(X))
    np.testing.assert_array_equal(loaded.feature_scale_, model.feature_scale_)
    for key in ("epoch", "stage", "train_loss"):  # (valid_loss is NaN: NaN != NaN)
        assert [r[key] for r in loaded.history_] == [r[key] for r in model.history_]
    # The loaded model trains what the fitted one would: the probe only.
    assert not any(p.requires_grad for p in loaded.module_.encoder.parameters())


def test_a_custom_augmentation_cannot_be_saved(regression_data, tmp_path):
    X, y = regression_data
    model = _model(augment=lambda batch, generator: batch).fit(X, y)
    with pytest.raises(ValueError, match="cannot be saved"):
        model.save(tmp_path / "model.safetensors")


# ----------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"loss": "mse"}, InvalidParameterError, "'loss' parameter"),
        ({"head": "mlp"}, InvalidParameterError, "'head' parameter"),
        ({"augment": "mixup"}, InvalidParameterError, "'augment' parameter"),
        ({"distance": "cosine"}, InvalidParameterError, "'distance' parameter"),
        ({"temperature": 0.0}, InvalidParameterError, "'temperature' parameter"),
        ({"augment_dropout": 1.0}, InvalidParameterError, "'augment_dropout' parameter"),
        ({"beta": (2.0,)}, ValueError, r"beta must be a pair \(a, b\)"),
        ({"beta": (2.0, -1.0)}, ValueError, r"beta must be a pair \(a, b\)"),
    ],
)
def test_bad_parameters_name_themselves(regression_data, params, error, match):
    X, y = regression_data
    model = _model(**params)
    with pytest.raises(error, match=match):
        model.fit(X, y)
    assert not hasattr(model, "module_")  # a failed first fit leaves it unfitted


@pytest.mark.parametrize(
    "augment, error, match",
    [
        (lambda batch, g: batch[:, :2], ValueError, r"shaped like its input batch, \(64, 4\)"),
        (lambda batch, g: batch[:10], ValueError, "shaped like its input batch"),
        (lambda batch, g: batch.numpy(), TypeError, "floating-point torch.Tensor"),
        (lambda batch, g: batch.long(), TypeError, "floating-point torch.Tensor"),
    ],
)
def test_a_bad_augmentation_is_refused(regression_data, augment, error, match):
    X, y = regression_data
    model = _model(augment=augment)
    with pytest.raises(error, match=match):
        model.fit(X, y)
    assert not hasattr(model, "module_")


def test_a_failed_refit_keeps_the_previous_model(regression_data):
    X, y = regression_data
    model = _model().fit(X, y)
    prediction = model.predict(X)
    with pytest.raises(ValueError, match="augment must return"):
        model.set_params(augment=lambda batch, g: batch[:, :1]).fit(X, y)
    np.testing.assert_array_equal(model.predict(X), prediction)


def test_several_targets_are_refused(regression_data):
    X, y = regression_data
    with pytest.raises(ValueError, match=r"supports a single target.*y has 2 columns"):
        _model().fit(X, np.c_[y, y])
    # A single target given as a column is accepted, with scikit-learn's warning.
    with pytest.warns(DataConversionWarning, match="column-vector y"):
        assert _model().fit(X, y[:, None]).predict(X).shape == (len(X),)


# ------------------------------------------------------------- augmentations
def test_tabular_views_scale_noise_and_drop_to_the_mean():
    mean = torch.tensor([1.0, -2.0, 5.0])
    scale = torch.tensor([2.0, 0.5, 0.0])  # the third feature is constant
    X = mean.repeat(200_000, 1)
    generator = make_generator(0)
    noisy = TabularViews(mean, scale, noise=0.1, dropout=0.0)(X, generator)
    spread = (noisy - X).std(dim=0)
    torch.testing.assert_close(spread, 0.1 * scale, rtol=0.01, atol=1e-7)
    X = torch.zeros(200_000, 3)
    dropped = TabularViews(mean, scale, noise=0.0, dropout=0.25)(X, generator)
    replaced = dropped != 0
    assert torch.equal(dropped[replaced], mean.expand_as(X)[replaced])
    assert abs(replaced[:, :2].float().mean().item() - 0.25) < 0.005
    again = TabularViews(mean, scale, noise=0.1, dropout=0.25)
    assert torch.equal(again(X, make_generator(3)), again(X, make_generator(3)))
