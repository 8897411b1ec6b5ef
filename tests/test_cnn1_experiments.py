"""The two small experiments learn in the smoke profile; the ImageNet winners table carries its sources."""
import keras
import numpy as np
import pytest

from chapters_src import data
from chapters_src.cnn import cnn1_experiments as experiments
from chapters_src.cnn import cnn1_settings


@pytest.fixture(scope="module")
def settings():
    return cnn1_settings.ARCHITECTURE_SETTINGS.get("smoke")


@pytest.fixture(scope="module")
def mnist():
    return data.load("mnist").data


def test_prepare_digits_pools(mnist):
    (x, y), (x_test, _) = experiments.prepare_digits(mnist, 7, train_examples=30)
    assert x.shape == (30, 7, 7, 1) and x_test.shape[1:] == (7, 7, 1) and 0 <= x.min() and x.max() <= 1
    expected = mnist[1][0][0].astype("float32").reshape(7, 4, 7, 4).mean(axis=(1, 3)) / 255
    np.testing.assert_allclose(x_test[0, ..., 0], expected, rtol=1e-6)
    with pytest.raises(ValueError, match="image_size"):
        experiments.prepare_digits(mnist, 10)


def test_bn_mlp_layout_counts_and_output():
    plain, with_bn = experiments.build_bn_mlp(49, False), experiments.build_bn_mlp(49, True)
    assert [l.name for l in with_bn.layers if "bn" in l.name] == ["bn1", "bn2", "bn3"]
    # 49 → 100 → 100 → 100 → 10 with biases; with BN each Dense bias (100) becomes γ, β and two moving statistics
    assert plain.count_params() == (49 * 100 + 100) + 2 * (100 * 100 + 100) + (100 * 10 + 10) == 26_210
    assert with_bn.count_params() == 49 * 100 + 2 * 100 * 100 + 3 * 4 * 100 + (100 * 10 + 10) == 27_110
    assert sum(int(np.prod(w.shape)) for w in with_bn.non_trainable_weights) == 3 * 2 * 100
    for model in (plain, with_bn):
        assert tuple(model.output.shape) == (None, 10)
        assert tuple(model.get_layer("sigmoid3").input.shape) == (None, 100)
    probabilities = keras.ops.convert_to_numpy(with_bn(np.zeros((2, 49), "float32")))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_batch_norm_forward_formula_matches_numpy():
    rng = np.random.default_rng(0)
    for batch in (rng.normal(3.0, 2.0, size=(60, 5)), rng.normal(-1.0, 5.0, size=(8, 4, 4, 3))):
        differences = experiments.compare_batch_norm(batch, momentum=0.9)
        assert max(differences.values()) < 1e-5, differences
    # the reference itself: with γ = 1, β = 0 every feature comes out with mean 0 and variance σ²/(σ² + ε)
    x = rng.normal(3.0, 2.0, size=(100, 4))
    y, mean, variance = experiments.batch_norm_reference(x, np.ones(4), np.zeros(4), epsilon=1e-3)
    np.testing.assert_allclose(y.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=0), variance / (variance + 1e-3), rtol=1e-12)
    np.testing.assert_allclose(mean, x.mean(axis=0))


def test_batch_norm_training_is_deterministic_for_a_fixed_seed(mnist):
    digits = experiments.prepare_digits(mnist, 7)
    runs = [experiments.train_bn_mlp(True, digits, steps=20, eval_every=10, seed=seed) for seed in (3, 3, 4)]
    assert runs[0].steps == runs[1].steps == [0, 10, 20]
    assert runs[0].accuracy == runs[1].accuracy
    np.testing.assert_array_equal(runs[0].percentiles, runs[1].percentiles)
    assert not np.array_equal(runs[0].percentiles, runs[2].percentiles)          # the seed matters


def test_batch_norm_experiment_learns_and_bn_is_not_slower(settings, mnist):
    runs = experiments.batch_norm_experiment(settings, mnist)
    plain, bn = runs["without BN"], runs["with BN"]
    assert plain.percentiles.shape == (len(plain.steps), 3) and plain.steps[-1] == settings.bn_steps
    assert np.all(np.diff(bn.percentiles, axis=1) >= 0)                      # 15th ≤ 50th ≤ 85th
    assert max(bn.accuracy) > 0.6 and max(plain.accuracy) > 0.3               # chance: 0.1
    target = 0.6
    bn_steps, plain_steps = bn.steps_to_reach(target), plain.steps_to_reach(target)
    assert bn_steps is not None and (plain_steps is None or bn_steps <= plain_steps + settings.bn_eval_every)
    # with BN the sigmoid input stays centred and of unit scale; without it, it drifts (the paper's panels b/c)
    assert abs(bn.percentiles[-1, 1]) < 1.0 and bn.percentiles[-1, 2] - bn.percentiles[-1, 0] < 4.0
    # what the notebook says about panel (b): without BN the distribution drifts and widens while training
    plain_spread, bn_spread = (run.percentiles[:, 2] - run.percentiles[:, 0] for run in (plain, bn))
    assert plain_spread[-1] > plain_spread[0] + 0.5 and plain_spread[-1] > bn_spread[-1] + 1.0
    assert abs(plain.percentiles[-1, 1] - plain.percentiles[0, 1]) > 0.5


def test_residual_experiment_learns_at_both_depths(settings, mnist):
    """What notebook 02 says about the smoke run (fixed seed): every network learns; at this scale the deeper
    network of each kind ends with the lower training error (no degradation yet); at the deeper depth the residual
    network ends with a lower training error than the plain one."""
    histories = experiments.residual_experiment(settings, mnist)
    shallow, deep = [2 * b + 2 for b in settings.residual_blocks]
    assert list(histories) == [f"{kind}-{d}" for d in (shallow, deep) for kind in ("plain", "ResNet")]
    for label, history in histories.items():
        assert len(history["error"]) == len(history["val_error"]) == settings.residual_epochs, label
        assert history["error"][-1] < history["error"][0] - 0.2, label                 # training error falls
        assert min(history["val_error"]) < 0.9 - 0.2, label                            # chance: 0.9 error
    for kind in ("plain", "ResNet"):
        assert histories[f"{kind}-{deep}"]["error"][-1] < histories[f"{kind}-{shallow}"]["error"][-1] - 0.2, kind
        assert min(histories[f"{kind}-{deep}"]["val_error"]) < 0.3, kind
    assert histories[f"ResNet-{deep}"]["error"][-1] < histories[f"plain-{deep}"]["error"][-1] - 0.03
    assert experiments.build_plain_or_residual(3, True).count_params() == \
        experiments.build_plain_or_residual(3, False).count_params() + 16 * 32 + 4 * 32   # the projection only


def test_imagenet_winners_table():
    years = [row["year"] for row in experiments.IMAGENET_WINNERS]
    assert years == list(range(2011, 2017))
    errors = [row["top5"] for row in experiments.IMAGENET_WINNERS]
    assert errors == sorted(errors, reverse=True) and errors[1] == 15.3 and errors[3] == 6.67 and errors[4] == 3.57
    assert all(row["source"] for row in experiments.IMAGENET_WINNERS)
    wrong = [row["year"] for row in experiments.IMAGENET_WINNERS
             if row["article"] is not None and row["article"] != row["top5"]]
    assert wrong == [2013, 2014, 2015]                                        # the article's quoted values
    figure = experiments.plot_imagenet_winners()
    assert len(figure.axes[0].patches) == 6
