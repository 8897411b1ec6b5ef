"""Classification + localization: α validation, combined loss, model shapes, a plugged-in trunk, and learning."""
import keras
import numpy as np
import pytest

from chapters_src import data
from chapters_src.cnn import cnn2_settings, localization as L


@pytest.mark.parametrize("alpha", [-0.1, 1.01, 2, float("nan"), "0.5", None, True])
def test_alpha_outside_the_unit_interval_is_a_value_error(alpha):
    with pytest.raises(ValueError, match="alpha"):
        L.check_alpha(alpha)
    with pytest.raises(ValueError, match="alpha"):
        L.combined_loss(1.0, 1.0, alpha)


def test_combined_loss_is_the_source_formula():
    assert L.combined_loss(2.0, 4.0) == pytest.approx(3.0)               # α = 0.5 by default
    assert L.combined_loss(2.0, 4.0, alpha=0.25) == pytest.approx(0.25 * 2 + 0.75 * 4)
    assert L.combined_loss(2.0, 4.0, alpha=0) == 4.0 and L.combined_loss(2.0, 4.0, alpha=1) == 2.0
    assert cnn2_settings.LOCALIZATION.get("full").alpha == 0.5


def test_localizer_shapes_and_parameter_count():
    model = L.build_localizer((32, 32, 3), n_classes=3, trunk_filters=(16, 32, 32), dense_units=128)
    outputs = model(np.zeros((2, 32, 32, 3), "float32"))
    assert outputs["class"].shape == (2, 3) and outputs["box"].shape == (2, 4)
    assert np.allclose(np.sum(outputs["class"], axis=-1), 1.0, atol=1e-5)
    assert np.all((np.asarray(outputs["box"]) > 0) & (np.asarray(outputs["box"]) < 1))
    trunk = (3 * 3 * 3 * 16 + 16) + (3 * 3 * 16 * 32 + 32) + (3 * 3 * 32 * 32 + 32)
    head = (4 * 4 * 32 * 128 + 128) + (128 * 3 + 3) + (128 * 4 + 4)
    assert model.count_params() == trunk + head
    with pytest.raises(ValueError, match="n_classes"):
        L.build_localizer((32, 32, 3), n_classes=1)


def test_compiled_loss_is_alpha_weighted_sum_of_cross_entropy_and_mse():
    keras.utils.set_random_seed(0)
    alpha = 0.3
    model = L.compile_localizer(L.build_localizer((16, 16, 3), 3, trunk_filters=(4, 4)), alpha=alpha)
    rng = np.random.default_rng(0)
    images, labels = rng.uniform(size=(8, 16, 16, 3)).astype("float32"), rng.integers(0, 3, 8)
    boxes = rng.uniform(0, 0.5, (8, 4)).astype("float32")
    keras_loss = model.evaluate(images, {"class": labels, "box": boxes}, batch_size=8, verbose=0, return_dict=True)
    outputs = model.predict(images, verbose=0)
    cross_entropy = -np.mean(np.log(outputs["class"][np.arange(8), labels]))
    mse = np.mean((outputs["box"] - boxes) ** 2)
    assert keras_loss["loss"] == pytest.approx(alpha * cross_entropy + (1 - alpha) * mse, rel=1e-4)
    with pytest.raises(ValueError, match="alpha"):
        L.compile_localizer(model, alpha=1.5)


def test_any_trunk_can_be_plugged_in():
    trunk = keras.Sequential([keras.Input((None, None, 3)), keras.layers.Conv2D(8, 3, strides=4, name="my_conv")],
                             name="my_trunk")
    model = L.build_localizer((24, 24, 3), 5, trunk=trunk)
    assert model.get_layer("my_trunk") is trunk
    assert model(np.zeros((1, 24, 24, 3)))["class"].shape == (1, 5)
    callable_trunk = lambda images: keras.layers.AveragePooling2D(4)(images)   # noqa: E731 - any callable works
    assert L.build_localizer((16, 16, 3), 2, trunk=callable_trunk).count_params() > 0


def test_mean_box_baseline():
    boxes = np.array([[0.0, 0.0, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5]])
    assert L.mean_box_baseline(boxes, boxes) == pytest.approx(1 / 7)          # mean box (.25,.25,.5,.5) vs each


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    keras.utils.set_random_seed(42)
    settings = cnn2_settings.LOCALIZATION.get("smoke")
    scenes = data.load("localization_scenes", prefer="substitute", image_size=settings.image_size,
                       train_size=settings.train_size, test_size=settings.test_size).data
    model, result = L.train_localizer(settings, scenes, str(tmp_path_factory.mktemp("localizer")), verbose=0)
    return scenes, model, result


def test_localizer_learns_in_smoke(trained):
    scenes, model, result = trained
    assert result.history["loss"][-1] < 0.8 * result.history["loss"][0]
    evaluation = L.evaluate_localizer(model, *scenes.test)
    baseline = L.mean_box_baseline(scenes.train.boxes, scenes.test.boxes)
    assert evaluation["accuracy"] > 1 / 3 + 0.1                              # three classes
    assert evaluation["mean_iou"] > baseline + 0.04
    assert evaluation["iou"].shape == (len(scenes.test.images),)


def test_localizer_diagram_follows_the_builder_arguments():
    import matplotlib.pyplot as plt

    from chapters_src.cnn import localization as L

    figure = L.draw_localizer_diagram((32, 32, 3), trunk_filters=(8, 16), n_classes=5, alpha=0.25)
    texts = " ".join(text.get_text() for text in figure.axes[0].texts)
    assert "16×16×8" in texts and "8×8×16" in texts and "1,024" in texts and "softmax, 5" in texts
    assert "0.25·L_class" in texts and "0.75·L_box" in texts
    gids = {artist.get_gid() for artist in figure.axes[0].get_children()}
    assert {"image->block1", "block2->dense", "dense->class", "dense->box"} <= gids
    with pytest.raises(ValueError, match="alpha"):
        L.draw_localizer_diagram(alpha=1.5)
    plt.close("all")
