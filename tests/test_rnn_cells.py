"""rnn.cells: NumPy cells vs Keras layers, parameter formulas, vanishing gradients, the four I/O architectures."""
import matplotlib

matplotlib.use("Agg")

import keras
import matplotlib.pyplot as plt
import numpy as np
import pytest

from chapters_src.rnn import cells


def _randomised(layer, x, seed=0):
    """Build ``layer`` on ``x`` and give it random weights (biases included, so bias handling is tested too)."""
    layer(x)
    rng = np.random.default_rng(seed)
    weights = [(w + 0.3 * rng.normal(size=w.shape)).astype("float32") for w in layer.get_weights()]
    layer.set_weights(weights)
    return weights


@pytest.mark.parametrize("kind, layer_factory, options", [
    ("simple_rnn", lambda: keras.layers.SimpleRNN(6, return_sequences=True), {}),
    ("simple_rnn", lambda: keras.layers.SimpleRNN(6, activation="relu", return_sequences=True),
     {"activation": "relu"}),
    ("lstm", lambda: keras.layers.LSTM(6, return_sequences=True), {}),
    ("gru", lambda: keras.layers.GRU(6, reset_after=False, return_sequences=True), {"reset_after": False}),
    ("gru", lambda: keras.layers.GRU(6, return_sequences=True), {"reset_after": True}),
])
def test_numpy_cells_match_keras_layers_after_copying_weights(kind, layer_factory, options):
    x = np.random.default_rng(1).normal(size=(3, 9, 5)).astype("float32")
    layer = layer_factory()
    weights = _randomised(layer, x)
    expected = keras.ops.convert_to_numpy(layer(x))
    ours = cells.run_layer(kind, x, weights, **options)
    np.testing.assert_allclose(ours, expected, rtol=1e-4, atol=1e-5)
    assert cells.parameter_count(kind, 5, 6, reset_after=options.get("reset_after", True)) == layer.count_params()


def test_the_sources_lstm_typos_would_not_match_keras():
    """Sanity of the reference: the book's printed LSTM (sigmoid candidate, h = o·c) differs from Keras."""
    x = np.random.default_rng(2).normal(size=(2, 4, 3)).astype("float32")
    layer = keras.layers.LSTM(4, return_sequences=True)
    kernel, recurrent, bias = _randomised(layer, x)
    expected = keras.ops.convert_to_numpy(layer(x))
    h = c = np.zeros((2, 4))
    outputs = []
    for t in range(4):
        i, f, cand, o = np.split(x[:, t] @ kernel + h @ recurrent + bias, 4, axis=-1)
        c = cells.sigmoid(f) * c + cells.sigmoid(i) * cells.sigmoid(cand)       # the printed typo
        h = cells.sigmoid(o) * c
        outputs.append(h)
    assert not np.allclose(np.stack(outputs, 1), expected, atol=1e-3)


def test_gru_reset_after_changes_the_bias_shape_and_the_output():
    x = np.random.default_rng(3).normal(size=(2, 5, 3)).astype("float32")
    after, before = keras.layers.GRU(4, return_sequences=True), keras.layers.GRU(4, reset_after=False,
                                                                                  return_sequences=True)
    weights_after = _randomised(after, x)
    weights_before = _randomised(before, x)
    assert weights_after[2].shape == (2, 12) and weights_before[2].shape == (12,)
    same_kernels = [weights_after[0], weights_after[1], weights_after[2][0]]
    assert not np.allclose(cells.run_layer("gru", x, same_kernels, reset_after=False),
                           cells.run_layer("gru", x, weights_after, reset_after=True), atol=1e-3)


def test_parameter_count_formula_and_argument_checks():
    assert cells.parameter_count("simple_rnn", 57, 800) == 686_400       # source §6.5, first layer
    assert cells.parameter_count("lstm", 57, 800) == 2_745_600           # source §6.7
    assert cells.parameter_count("lstm", 800, 800) == 5_123_200
    assert cells.parameter_count("gru", 1, 256) == 199_169 - 257         # source §6.9 (reset_after=True)
    assert cells.parameter_count("gru", 1, 256, reset_after=False) == 198_401 - 257
    with pytest.raises(ValueError, match="kind"):
        cells.parameter_count("rnn", 1, 1)
    with pytest.raises(ValueError, match="units"):
        cells.parameter_count("lstm", 1, 0)
    with pytest.raises(ValueError, match="activation"):
        cells.simple_rnn_step(np.zeros((1, 1)), np.zeros((1, 1)), np.zeros((1, 1)), np.zeros((1, 1)), 0, "gelu")


def test_vanilla_gradients_vanish_faster_than_lstm_gradients():
    vanilla = cells.gradient_norms_by_lag("simple_rnn", time_steps=50)
    lstm = cells.gradient_norms_by_lag("lstm", time_steps=50)
    assert vanilla.shape == lstm.shape == (50,)
    assert vanilla[30] / vanilla[0] < 1e-3                       # vanishes
    assert (lstm[30] / lstm[0]) > 10 * (vanilla[30] / vanilla[0])  # the LSTM keeps far more of it


@pytest.mark.parametrize("architecture", cells.ARCHITECTURES)
def test_each_io_architecture_has_matching_shapes_and_learns(architecture):
    keras.utils.set_random_seed(0)
    task = cells.toy_task(architecture, samples=256, length=5, classes=4)
    model = cells.build_io_model(architecture, classes=4, length=5, units=24)
    predictions = model.predict(task.x[:2], verbose=0)
    assert predictions.shape == (2, *task.y.shape[1:], 4)
    # 16 epochs: with 8, the unsynced (reversal) task ended at loss ratio 0.73 and accuracy 0.53 (seeds 0-4)
    history = model.fit(task.x, task.y, epochs=16, batch_size=32, verbose=0).history
    assert history["loss"][-1] < 0.7 * history["loss"][0]
    chance = 1 / 4
    assert history["accuracy"][-1] > chance + 0.25


def test_toy_task_targets_follow_their_rules():
    ones = cells.toy_task("one_to_many", samples=10, length=4, classes=5)
    start = ones.x[:, 0].argmax(-1)
    assert np.array_equal(ones.y, (start[:, None] + np.arange(4)) % 5)
    reverse = cells.toy_task("many_to_many_unsynced", samples=10, length=4)
    assert np.array_equal(reverse.y, reverse.x.argmax(-1)[:, ::-1])
    with pytest.raises(ValueError, match="architecture"):
        cells.toy_task("many_to_few")


def test_architecture_figures_draw():
    for architecture in cells.ARCHITECTURES:
        figure = cells.draw_architecture(architecture)
        assert len(figure.axes[0].patches) >= 5
        plt.close(figure)
