"""chapters_src.plots: each function returns a Figure with the right panels, handles value ranges, rejects bad input."""
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from chapters_src import plots  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    """No figure outlives its test."""
    yield
    plt.close("all")


def displayed_arrays(figure):
    """The pixel arrays shown by each axes' first image, in panel order."""
    return [np.asarray(axes.get_images()[0].get_array()) for axes in figure.axes]


# ------------------------------------------------------------------------------------------ style and imports
def test_importing_plots_does_not_import_tensorflow():
    code = "import sys, chapters_src.plots; print('tensorflow' in sys.modules or 'keras' in sys.modules)"
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "False"


def test_functions_draw_in_the_companion_style():
    figure = plots.image_grid(np.zeros((2, 4, 4)), titles=["a", "b"])
    assert figure.axes[0].title.get_fontsize() == plots.STYLE["axes.titlesize"]
    before = matplotlib.rcParams["axes.spines.top"]
    plots.learning_curves({"loss": [1.0, 0.5]})
    assert matplotlib.rcParams["axes.spines.top"] == before  # the style does not leak out of the functions


def test_use_style_applies_globally():
    with matplotlib.rc_context():
        plots.use_style()
        assert matplotlib.rcParams["font.size"] == plots.STYLE["font.size"]
        assert matplotlib.rcParams["axes.spines.right"] is False


# ------------------------------------------------------------------------------------------ normalisation
@pytest.mark.parametrize(
    "values, expected",
    [
        (np.array([0, 128, 255], dtype=np.uint8), [0.0, 128 / 255, 1.0]),
        (np.array([0.0, 0.25, 1.0]), [0.0, 0.25, 1.0]),
        (np.array([-1.0, 0.0, 1.0]), [0.0, 0.5, 1.0]),
        (np.array([0.0, 51.0, 255.0]), [0.0, 0.2, 1.0]),
        (np.array([-3.0, 1.0, 5.0]), [0.0, 0.5, 1.0]),
        (np.array([True, False]), [1.0, 0.0]),
    ],
    ids=["uint8", "unit", "tanh", "float255", "minmax", "bool"],
)
def test_normalise_for_display_maps_known_ranges_to_unit_interval(values, expected):
    np.testing.assert_allclose(plots.normalise_for_display(values), expected, rtol=1e-6)


def test_normalise_for_display_rejects_nan_and_text():
    with pytest.raises(ValueError, match="NaN"):
        plots.normalise_for_display(np.array([0.0, np.nan]))
    with pytest.raises(ValueError, match="real numbers"):
        plots.normalise_for_display(np.array(["a", "b"]))


# ------------------------------------------------------------------------------------------ image_grid
@pytest.mark.parametrize("shape", [(5, 8, 8), (5, 8, 8, 1), (5, 8, 8, 3)])
def test_image_grid_one_axes_per_image_with_titles(shape):
    images = np.random.default_rng(0).random(shape)
    titles = [f"digit {index}" for index in range(5)]
    figure = plots.image_grid(images, titles=titles, ncols=3, suptitle="samples")
    assert len(figure.axes) == 5  # 2 rows x 3 columns, the 6th empty cell removed
    assert [axes.get_title() for axes in figure.axes] == titles
    assert figure.get_suptitle() == "samples"
    assert figure.axes[0].get_subplotspec().get_gridspec().get_geometry() == (2, 3)


def test_image_grid_normalises_each_value_range_for_display():
    uint8_images = np.full((2, 4, 4), 255, dtype=np.uint8)
    tanh_images = np.full((2, 4, 4, 3), -1.0)
    assert displayed_arrays(plots.image_grid(uint8_images))[0].max() == pytest.approx(1.0)
    assert displayed_arrays(plots.image_grid(tanh_images))[0].max() == pytest.approx(0.0)
    grey = plots.image_grid(np.zeros((1, 4, 4)))
    assert grey.axes[0].get_images()[0].get_clim() == (0.0, 1.0)  # no per-image auto-contrast


def test_image_grid_default_columns_and_figsize():
    figure = plots.image_grid(np.zeros((20, 4, 4)), figsize=(4, 3))
    assert figure.axes[0].get_subplotspec().get_gridspec().get_geometry() == (3, 8)
    assert tuple(figure.get_size_inches()) == (4, 3)


@pytest.mark.parametrize(
    "images, message",
    [
        (np.zeros((8, 8)), "shape"),
        (np.zeros((2, 8, 8, 2)), "shape"),
        (np.zeros((0, 8, 8)), "empty"),
        ([np.zeros((4, 4)), np.zeros((5, 5))], "one shape"),
    ],
    ids=["single-image", "two-channels", "empty", "ragged"],
)
def test_image_grid_rejects_bad_shapes(images, message):
    with pytest.raises(ValueError, match=message):
        plots.image_grid(images)


def test_image_grid_rejects_bad_titles_and_columns():
    with pytest.raises(ValueError, match="titles"):
        plots.image_grid(np.zeros((3, 4, 4)), titles=["only one"])
    with pytest.raises(ValueError, match="ncols"):
        plots.image_grid(np.zeros((3, 4, 4)), ncols=0)


# ------------------------------------------------------------------------------------------ learning_curves
HISTORY = {
    "loss": [1.0, 0.6, 0.4], "accuracy": [0.5, 0.7, 0.8],
    "val_loss": [1.1, 0.7, 0.8], "val_accuracy": [0.45, 0.65, 0.6],
}


def test_learning_curves_one_axes_per_metric_train_and_validation():
    figure = plots.learning_curves(HISTORY, title="run")
    assert [axes.get_title() for axes in figure.axes] == ["loss", "accuracy"]
    loss_axes = figure.axes[0]
    labels = [line.get_label() for line in loss_axes.get_lines()]
    assert labels[:2] == ["training", "validation"] and labels[2] == "best (epoch 2)"
    np.testing.assert_allclose(loss_axes.get_lines()[1].get_ydata(), HISTORY["val_loss"])
    np.testing.assert_allclose(loss_axes.get_lines()[0].get_xdata(), [1, 2, 3])  # epochs count from 1
    assert figure.axes[1].get_lines()[2].get_label() == "best (epoch 2)"  # accuracy: the maximum
    assert figure.get_suptitle() == "run"


def test_learning_curves_accepts_history_like_objects_and_metric_selection():
    class FakeHistory:  # keras.callbacks.History and training.TrainingResult both carry .history
        history = {"loss": [0.9, 0.5], "mae": [0.7, 0.4]}

    figure = plots.learning_curves(FakeHistory())
    assert [axes.get_title() for axes in figure.axes] == ["loss", "mae"]
    assert [line.get_label() for line in figure.axes[0].get_lines()] == ["training"]
    assert [axes.get_title() for axes in plots.learning_curves(HISTORY, metrics=["val_accuracy"]).axes] == ["accuracy"]


def test_learning_curves_wraps_after_three_metrics():
    history = {name: [1.0, 0.5] for name in ("loss", "a", "b", "c")}
    figure = plots.learning_curves(history)
    assert len(figure.axes) == 4
    assert figure.axes[0].get_subplotspec().get_gridspec().get_geometry() == (2, 3)


@pytest.mark.parametrize(
    "history, metrics, message",
    [
        ({}, None, "non-empty"),
        ([1.0, 2.0], None, "history"),
        ({"loss": [1.0, 0.5], "val_loss": [1.0]}, None, "one value per epoch"),
        (HISTORY, ["precision"], "metrics"),
    ],
    ids=["empty", "not-a-dict", "ragged", "unknown-metric"],
)
def test_learning_curves_rejects_bad_input(history, metrics, message):
    with pytest.raises(ValueError, match=message):
        plots.learning_curves(history, metrics=metrics)


# ------------------------------------------------------------------------------------------ side_by_side
def test_side_by_side_images_and_figures():
    before = np.random.default_rng(1).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    after = np.zeros((16, 16, 1))
    chart = plt.figure(figsize=(2, 2), dpi=50)
    chart.add_subplot().plot([0, 1], [1, 0])
    figure = plots.side_by_side([before, after, chart], ["before", "after", "chart"], suptitle="compare")
    assert [axes.get_title() for axes in figure.axes] == ["before", "after", "chart"]
    shown = displayed_arrays(figure)
    assert shown[0].max() <= 1.0 and shown[0].shape == (16, 16, 3)
    assert shown[1].shape == (16, 16)
    assert shown[2].shape == (100, 100, 4)  # the figure rendered at 2 in x 50 dpi, RGBA


def test_side_by_side_rejects_bad_input():
    with pytest.raises(ValueError, match="titles"):
        plots.side_by_side([np.zeros((4, 4)), np.zeros((4, 4))], ["only one"])
    with pytest.raises(ValueError, match="titles"):
        plots.side_by_side([np.zeros((4, 4))], None)
    with pytest.raises(ValueError, match=r"images_or_figs\[1\]"):
        plots.side_by_side([np.zeros((4, 4)), np.zeros((2, 4, 4, 3))], ["a", "b"])
    with pytest.raises(ValueError, match="at least one"):
        plots.side_by_side([], [])


# ------------------------------------------------------------------------------------------ comparison_bars
def test_comparison_bars_two_groups_with_annotations():
    figure = plots.comparison_bars(["test acc", "params (M)"], [0.8821, 2.79], [0.87, None], title="IMDB CNN")
    (axes,) = figure.axes
    assert axes.get_title() == "IMDB CNN"
    assert [text.get_text() for text in axes.get_legend().get_texts()] == ["book", "companion"]
    assert len(axes.patches) == 4
    annotations = [text.get_text() for text in axes.texts]
    assert annotations == ["0.882", "2.79", "0.87", "n/a"]
    assert [label.get_text() for label in axes.get_xticklabels()] == ["test acc", "params (M)"]


def test_comparison_bars_rejects_bad_input():
    with pytest.raises(ValueError, match="values_b"):
        plots.comparison_bars(["a", "b"], [1, 2], [1])
    with pytest.raises(ValueError, match="values_a"):
        plots.comparison_bars(["a"], ["x"], [1])
    with pytest.raises(ValueError, match="values_a"):
        plots.comparison_bars(["a"], 3.0, [1])
    with pytest.raises(ValueError, match="labels"):
        plots.comparison_bars([], [], [])
