"""Bayesian softmax regression (the source's Edward model in Keras 3) and the uncertainty metrics."""
from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from chapters_src import data  # noqa: E402
from chapters_src.trends import bayesian, settings  # noqa: E402


def _numpy(value):
    return float(keras.ops.convert_to_numpy(value))


def test_gaussian_kl_matches_analytic_values():
    assert _numpy(bayesian.gaussian_kl(np.array([1.0]), np.array([1.0]))) == pytest.approx(0.5)
    sigma = 0.3
    assert _numpy(bayesian.gaussian_kl(np.array([0.0]), np.array([sigma]))) == pytest.approx(
        -np.log(sigma) + sigma ** 2 / 2 - 0.5)
    # N(2, 0.5²) ‖ N(1, 2²): log(2/0.5) + (0.25 + 1) / 8 − 0.5
    assert _numpy(bayesian.gaussian_kl(np.array([2.0]), np.array([0.5]), 1.0, 2.0)) == pytest.approx(
        np.log(4.0) + 1.25 / 8 - 0.5)
    assert _numpy(bayesian.gaussian_kl(np.zeros((784, 10)), np.ones((784, 10)))) == pytest.approx(0.0, abs=1e-6)


def test_gaussian_kl_matches_monte_carlo():
    rng = np.random.default_rng(0)
    loc, scale = rng.normal(size=5), rng.uniform(0.2, 1.5, size=5)
    samples = loc + scale * rng.standard_normal((200_000, 5))
    log_q = -0.5 * ((samples - loc) / scale) ** 2 - np.log(scale)
    log_p = -0.5 * samples ** 2
    assert _numpy(bayesian.gaussian_kl(loc, scale)) == pytest.approx((log_q - log_p).mean(axis=0).sum(), rel=0.02)


def test_negative_elbo_is_the_source_scaling():
    assert bayesian.negative_elbo(-2.0, 3.0, n_train=60_000, batch_size=100) == pytest.approx(600 * 2.0 + 3.0)
    with pytest.raises(ValueError):
        bayesian.negative_elbo(0.0, 0.0, n_train=0, batch_size=100)


def test_model_has_the_source_shapes_and_adds_kl_over_n():
    model = bayesian.build_bayesian_softmax_regression(n_train=1_000, seed=1)
    layer = model.get_layer("bayesian_softmax")
    assert tuple(layer.kernel_loc.shape) == (784, 10) and tuple(layer.bias_loc.shape) == (10,)
    assert model.count_params() == 2 * (784 * 10 + 10)
    x = np.random.default_rng(0).random((4, 784)).astype("float32")
    assert tuple(model(x).shape) == (4, 10)
    model(x, training=True)
    assert len(model.losses) == 1
    assert _numpy(model.losses[0]) == pytest.approx(_numpy(layer.kl_divergence()) / 1_000, rel=1e-5)
    # Outside training the posterior mean is used: deterministic outputs; in training every call samples.
    assert np.allclose(model(x), model(x))
    assert not np.allclose(model(x, training=True), model(x, training=True))


def test_bayesian_hidden_layer_shapes_size_and_kl_terms():
    model = bayesian.build_bayesian_softmax_regression(n_train=1_000, seed=4, hidden_units=32)
    hidden, output = model.get_layer("bayesian_hidden"), model.get_layer("bayesian_softmax")
    assert tuple(hidden.kernel_loc.shape) == (784, 32) and tuple(hidden.bias_rho.shape) == (32,)
    assert tuple(output.kernel_loc.shape) == (32, 10) and tuple(output.bias_loc.shape) == (10,)
    assert model.count_params() == 2 * (784 * 32 + 32) + 2 * (32 * 10 + 10)
    for layer in (hidden, output):                            # not the source's N(0, 1) start (see the docstring)
        assert np.allclose(keras.ops.convert_to_numpy(layer.kernel_rho), bayesian.HIDDEN_INITIAL_RHO)
    x = np.random.default_rng(0).random((4, 784)).astype("float32")
    assert tuple(model(x).shape) == (4, 10)
    model(x, training=True)
    assert len(model.losses) == 2                              # each Bayesian layer adds its own KL / N
    expected = (_numpy(hidden.kl_divergence()) + _numpy(output.kl_divergence())) / 1_000
    assert sum(_numpy(loss) for loss in model.losses) == pytest.approx(expected, rel=1e-5)
    config = hidden.get_config()
    assert config["initial_rho"] == bayesian.HIDDEN_INITIAL_RHO
    assert bayesian.BayesianDense.from_config(config).initial_rho == bayesian.HIDDEN_INITIAL_RHO


def test_smoke_bayesian_hidden_layer_learns():
    chosen = settings.BAYESIAN.get("smoke")
    (x_train, y_train), (x_test, y_test) = data.load("mnist").data
    x_train, y_train = bayesian.flatten_images(x_train[:chosen.train_examples]), y_train[:chosen.train_examples]
    keras.utils.set_random_seed(42)
    model = bayesian.build_bayesian_softmax_regression(len(x_train), seed=42, hidden_units=64,
                                                       decay_steps=chosen.decay_steps, decay_rate=chosen.decay_rate)
    history = model.fit(x_train, np.asarray(y_train, "int64"), epochs=chosen.epochs, batch_size=chosen.batch_size,
                        validation_data=(bayesian.flatten_images(x_test), np.asarray(y_test, "int64")),
                        verbose=0).history
    assert np.all(np.isfinite(history["loss"]))
    assert history["loss"][-1] < 0.8 * history["loss"][0]
    assert history["val_accuracy"][-1] > 0.1 + 0.5, history["val_accuracy"]    # chance: 0.1


def test_loss_times_n_is_the_source_objective():
    n_train, batch = 500, 4
    model = bayesian.build_bayesian_softmax_regression(n_train=n_train, seed=2)
    layer = model.get_layer("bayesian_softmax")
    x = np.random.default_rng(1).random((batch, 784)).astype("float32")
    y = np.array([0, 1, 2, 3])
    logits = keras.ops.convert_to_numpy(layer(x, training=True, sample=False))   # posterior mean, KL added
    log_softmax = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    log_likelihood = log_softmax[np.arange(batch), y].sum()
    keras_loss = -log_likelihood / batch + _numpy(layer.losses[0])
    kl = _numpy(layer.kl_divergence())
    assert keras_loss * n_train == pytest.approx(bayesian.negative_elbo(log_likelihood, kl, n_train, batch), rel=1e-4)


def test_posterior_samples_have_the_right_shapes_and_spread():
    model = bayesian.build_bayesian_softmax_regression(n_train=10, seed=3)
    layer = model.get_layer("bayesian_softmax")
    kernels, biases = bayesian.sample_posterior(layer, 30, seed=0)
    assert kernels.shape == (30, 784, 10) and biases.shape == (30, 10)
    rho = keras.ops.convert_to_numpy(layer.kernel_rho)
    assert np.allclose(kernels.std(axis=0).mean(), np.log1p(np.exp(rho)).mean(), rtol=0.1)
    probabilities = bayesian.predictive_probabilities(np.zeros((5, 784)), kernels, biases)
    assert probabilities.shape == (30, 5, 10) and np.allclose(probabilities.sum(-1), 1.0)


def test_uncertainty_metrics_on_hand_made_cases():
    confident = np.tile(np.eye(3)[0], (4, 1, 1))                       # 4 draws, 1 example, all say class 0
    split = np.stack([np.eye(3)[[0]], np.eye(3)[[1]], np.eye(3)[[2]], np.eye(3)[[0]]])
    assert bayesian.predictive_entropy(confident)[0] == pytest.approx(0.0, abs=1e-9)
    assert bayesian.predictive_entropy(split)[0] == pytest.approx(-(0.5 * np.log(0.5) + 2 * 0.25 * np.log(0.25)))
    assert bayesian.mutual_information(split)[0] == pytest.approx(bayesian.predictive_entropy(split)[0], abs=1e-6)
    assert bayesian.vote_disagreement(split)[0] == pytest.approx(0.5)
    assert bayesian.per_draw_accuracy(split, [0]).tolist() == [100.0, 0.0, 0.0, 100.0]


def test_auroc_matches_pair_counting():
    rng = np.random.default_rng(0)
    inside, outside = rng.normal(size=40).round(1), rng.normal(0.7, 1, size=30).round(1)
    pairs = (outside[:, None] > inside[None]).mean() + 0.5 * (outside[:, None] == inside[None]).mean()
    assert bayesian.auroc(inside, outside) == pytest.approx(pairs)
    assert bayesian.auroc([0, 1], [2, 3]) == 1.0 and bayesian.auroc([2, 3], [0, 1]) == 0.0
    assert bayesian.auroc([1, 1], [1, 1]) == 0.5


def test_accuracy_after_rejection_drops_the_most_uncertain():
    probabilities = np.eye(2)[[0, 0, 1, 1]][None]              # predictions 0, 0, 1, 1
    labels = [0, 1, 1, 0]                                      # examples 1 and 3 are wrong
    uncertainty = [0.1, 0.9, 0.2, 0.8]
    rows = bayesian.accuracy_after_rejection(probabilities, labels, uncertainty, fractions=(0.0, 0.5))
    assert rows == [(0.0, 0.5), (0.5, 1.0)]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    chosen = settings.BAYESIAN.get("smoke")
    run_dir = tmp_path_factory.mktemp("bayes")
    model, result, train, test = bayesian.train(chosen, data.load("mnist").data, run_dir, verbose=0)
    return chosen, model, result, test


def test_smoke_model_learns(trained):
    _, _, result, _ = trained
    assert result.history["loss"][-1] < 0.5 * result.history["loss"][0]
    assert result.history["val_accuracy"][-1] > 0.7                    # chance: 0.1


def test_letters_are_more_uncertain_than_digits(trained):
    chosen, model, _, (x_test, y_test) = trained
    kernels, biases = bayesian.sample_posterior(model.get_layer("bayesian_softmax"), chosen.posterior_samples)
    digits = bayesian.predictive_probabilities(x_test, kernels, biases)
    assert len(bayesian.per_draw_accuracy(digits, y_test)) == 30
    x_letters, _ = data.load("notmnist", per_class=chosen.letters_per_class).data
    letters = bayesian.predictive_probabilities(bayesian.flatten_images(x_letters), kernels, biases)
    for measure in (bayesian.predictive_entropy, bayesian.mutual_information, bayesian.vote_disagreement):
        inside, outside = measure(digits), measure(letters)
        assert outside.mean() > inside.mean()
        assert bayesian.auroc(inside, outside) > 0.65
    rows = bayesian.accuracy_after_rejection(digits, y_test, bayesian.predictive_entropy(digits))
    assert rows[-1][1] > rows[0][1]
