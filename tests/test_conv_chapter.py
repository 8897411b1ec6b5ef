"""The convolution-arithmetic chapter's experiments (cnn.conv_experiments) and figures (cnn.conv_figures)."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from chapters_src import data
from chapters_src.cnn import conv_arithmetic, conv_experiments, conv_figures
from chapters_src.cnn.conv_arithmetic import conv_output_size


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_full_profile_uses_the_worked_example_and_real_batch_sizes():
    full = conv_experiments.SETTINGS.get("full")
    smoke = conv_experiments.SETTINGS.get("smoke")
    assert full.train_examples is None and full.epochs >= smoke.epochs
    assert 227 in full.shape_grid_sizes            # AlexNet's input size is part of the full grid
    assert smoke.train_examples is not None and smoke.train_examples <= 500


def test_keras_shape_table_covers_three_layer_types_and_all_match():
    rows = conv_experiments.keras_shape_table((6, 9))
    layers = {row["layer"] for row in rows}
    assert layers == {"Conv2D", "MaxPooling2D", "Conv2DTranspose"}
    assert len(rows) > 60
    assert all(row["match"] for row in rows), [row for row in rows if not row["match"]]
    assert not any(row["d"] > 1 and row["s"] > 1 for row in rows)   # Keras refuses these: they are skipped


def test_keras_shape_table_reports_a_mismatch(monkeypatch):
    """The table is a real comparison: a wrong formula shows up as match=False."""
    monkeypatch.setattr(conv_experiments, "conv_output_size", lambda *a, **k: conv_output_size(*a, **k) + 1)
    rows = conv_experiments.keras_shape_table((6,))
    assert any(row["layer"] == "Conv2D" and not row["match"] for row in rows)


def test_digits_are_padded_to_the_example_networks_input():
    mnist = data.load("mnist", prefer="substitute")
    (x_train, y_train), (x_test, y_test) = conv_experiments.digits_for_example_network(mnist.data, 100)
    assert x_train.shape == (100, 30, 30, 1) and x_test.shape[1:] == (30, 30, 1)
    assert x_train.dtype == np.float32 and 0.0 <= x_train.min() and x_train.max() <= 1.0
    assert np.all(x_train[:, 0, :, 0] == 0) and np.all(x_train[:, :, -1, 0] == 0)   # the added zero border
    assert set(np.unique(y_train)) <= set(range(10)) and len(y_test) == len(x_test)
    with pytest.raises(ValueError, match="train_examples"):
        conv_experiments.digits_for_example_network(mnist.data, 3)


def test_example_classifier_adds_a_2010_parameter_head():
    model = conv_experiments.build_example_classifier()
    assert model.count_params() == 338_460 + 2_010
    assert model.output.shape[-1] == 10


@pytest.mark.slow
def test_example_network_learns_digits_in_the_smoke_profile(tmp_path):
    settings = conv_experiments.SETTINGS.get("smoke")
    mnist = data.load("mnist", prefer="substitute")
    model, result, test_accuracy = conv_experiments.train_example_network(settings, mnist.data, str(tmp_path), verbose=0)
    assert len(result.history["loss"]) == settings.epochs
    assert result.history["loss"][-1] < result.history["loss"][0]
    assert test_accuracy > 0.5, f"test accuracy {test_accuracy:.3f} is not far above chance (0.1)"


@pytest.mark.parametrize("n, k, s, padding, dilation, expected", [
    (5, 3, 1, "valid", 1, (0, 0)), (5, 3, 1, "full", 1, (2, 2)), (5, 3, 1, "full", 2, (4, 4)),
    (5, 3, 2, 1, 1, (1, 1)), (6, 2, 2, "same", 1, (0, 0)), (5, 2, 1, "same", 1, (0, 1)), (7, 3, 2, "same", 1, (1, 1)),
])
def test_padding_amounts(n, k, s, padding, dilation, expected):
    assert conv_arithmetic.padding_amounts(n, k, s, padding, dilation) == expected


@pytest.mark.parametrize("n, k, s", [(n, k, s) for n in (5, 6, 7, 28) for k in (1, 2, 3, 5) for s in (1, 2, 3)])
def test_same_padding_gives_ceil_n_over_s(n, k, s):
    before, after = conv_arithmetic.padding_amounts(n, k, s, "same")
    assert (n + before + after - k) // s + 1 == conv_output_size(n, k, stride=s, padding="same")
    assert after - before in (0, 1)            # TensorFlow puts the odd pixel after


def test_padding_amounts_rejects_bad_padding():
    with pytest.raises(ValueError, match="padding"):
        conv_arithmetic.padding_amounts(5, 3, 1, "reflect")


def _face_colours(figure):
    grids = figure.axes[0].cell_colours
    return [colour for grid in (grids["input"], grids["output"]) for row in grid for colour in row]


def test_draw_convolution_marks_k_squared_taps_and_one_output_cell():
    figure = conv_figures.draw_convolution(5, kernel_size=3, stride=2, padding=1, output_position=(1, 2))
    colours = _face_colours(figure)
    assert colours.count(conv_figures.TAP_COLOR) == 9
    assert colours.count(conv_figures.SELECTED_COLOR) == 1
    assert len(colours) == 7 * 7 + 3 * 3                   # padded input grid + output grid
    assert "3×3 output" in figure.axes[0].get_title()
    dilated = conv_figures.draw_convolution(7, kernel_size=3, dilation=2)
    assert _face_colours(dilated).count(conv_figures.TAP_COLOR) == 9


def test_draw_convolution_rejects_positions_outside_the_output():
    with pytest.raises(ValueError, match="output_position"):
        conv_figures.draw_convolution(5, kernel_size=3, stride=2, padding=1, output_position=(3, 0))


def test_dilation_and_receptive_field_figures_state_the_source_numbers():
    titles = [ax.get_title() for ax in conv_figures.draw_dilation_patterns(3, (1, 2, 4)).axes]
    assert [title.split("receptive field ")[1] for title in titles] == ["3×3", "7×7", "15×15"]
    growth = conv_figures.draw_receptive_field_growth(kernel_size=2, depth=10)
    assert "11 vs 1024" in growth.axes[0].get_title()
    assert "sees 16 inputs" in conv_figures.draw_dilated_1d(2, (1, 2, 4, 8)).axes[0].get_title()
