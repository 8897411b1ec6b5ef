"""U-Net shapes, the three approaches' costs, segmentation metrics (vs hand counts and keras MeanIoU), connected
components, and learning."""
import keras
import numpy as np
import pytest

from chapters_src import data
from chapters_src.cnn import cnn2_settings, segmentation as G


@pytest.mark.parametrize("height, width, depth", [(16, 16, 2), (32, 48, 3), (40, 24, 3), (64, 64, 4)])
def test_unet_output_has_input_size_and_class_depth(height, width, depth):
    model = G.build_unet((None, None, 3), n_classes=5, depth=depth, base_filters=4)
    output = model(np.zeros((2, height, width, 3), "float32"))
    assert output.shape == (2, height, width, 5)
    assert np.allclose(np.sum(output, axis=-1), 1.0, atol=1e-5)


def test_unet_encoder_is_smaller_and_deeper_decoder_larger_and_shallower():
    model = G.build_unet((32, 32, 3), n_classes=4, depth=3, base_filters=8)
    encoder = model.get_layer("encoder")
    assert [tuple(level.shape[1:]) for level in encoder.outputs] == [(32, 32, 8), (16, 16, 16), (8, 8, 32), (4, 4, 64)]
    transposes = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2DTranspose)]
    assert [tuple(layer.output.shape[1:]) for layer in transposes] == [(8, 8, 32), (16, 16, 16), (32, 32, 8)]
    skips = [layer for layer in model.layers if isinstance(layer, keras.layers.Concatenate)]
    assert len(skips) == 3                                       # one skip connection per decoder level


def test_unet_rejects_sizes_not_divisible_by_two_to_the_depth():
    with pytest.raises(ValueError, match="divisible"):
        G.build_unet((30, 32, 3), depth=2)
    with pytest.raises(ValueError, match="depth"):
        G.build_unet((32, 32, 3), depth=0)
    with pytest.raises(ValueError, match="n_classes"):
        G.build_unet((32, 32, 3), n_classes=1)


def test_a_custom_encoder_can_be_plugged_in():
    inputs = keras.Input((None, None, 3))
    first = keras.layers.Conv2D(6, 3, padding="same")(inputs)
    second = keras.layers.Conv2D(10, 3, strides=2, padding="same")(first)
    encoder = keras.Model(inputs, [first, second], name="my_backbone")
    model = G.build_unet((None, None, 3), n_classes=3, encoder=encoder)
    assert model.get_layer("my_backbone") is encoder
    assert model(np.zeros((1, 12, 20, 3))).shape == (1, 12, 20, 3)


def test_multiply_adds_hand_count_and_approach_costs():
    inputs = keras.Input((8, 8, 2))
    x = keras.layers.Conv2D(4, 3, padding="same")(inputs)                      # 8·8·9·2·4 = 4,608
    y = keras.layers.Conv2DTranspose(2, 2, strides=2)(keras.layers.MaxPooling2D(2)(x))   # 4·4·4·4·2 = 512
    z = keras.layers.Dense(3)(keras.layers.Flatten()(y))                      # (8·8·2)·3 = 384
    assert G.multiply_adds(keras.Model(inputs, z)) == 4_608 + 512 + 384
    rows = G.approach_costs(image_size=32, n_classes=4)
    assert [row["approach"][0] for row in rows] == ["1", "2", "3"]
    patch, full, unet = (row["multiply_adds"] for row in rows)
    assert unet < full < patch                                                 # the source's ranking of cost


def test_metrics_against_hand_counts_and_keras_mean_iou():
    truth = np.array([[0, 0, 1], [1, 2, 2]])
    prediction = np.array([[0, 1, 1], [1, 2, 0]])
    assert G.pixel_accuracy(truth, prediction) == pytest.approx(4 / 6)
    assert G.confusion_matrix(truth, prediction, 3).tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    # class 0: TP 1, FP 1, FN 1 → 1/3; class 1: TP 2, FP 1 → 2/3; class 2: TP 1, FN 1 → 1/2
    assert np.allclose(G.per_class_iou(truth, prediction, 3), [1 / 3, 2 / 3, 1 / 2])
    assert G.mean_iou(truth, prediction, 3) == pytest.approx(np.mean([1 / 3, 2 / 3, 1 / 2]))
    rng = np.random.default_rng(0)
    truth, prediction = rng.integers(0, 4, (3, 10, 10)), rng.integers(0, 3, (3, 10, 10))
    metric = keras.metrics.MeanIoU(num_classes=5)
    metric.update_state(truth, prediction)
    assert G.mean_iou(truth, prediction, 5) == pytest.approx(float(metric.result()), rel=1e-5)
    assert np.isnan(G.per_class_iou(truth, prediction, 5)[4])                 # absent everywhere
    with pytest.raises(ValueError, match="class indices"):
        G.confusion_matrix([0, 3], [0, 1], 3)


def test_instances_from_connected_components():
    mask = np.zeros((6, 8), "uint8")
    mask[0:2, 0:2] = 1
    mask[4:6, 0:2] = 1                     # a second, separate object of class 1
    mask[0:3, 5:8] = 2
    mask[3:6, 5:8] = 2                     # two class-2 objects that touch: one component
    instances, classes = G.instances_from_semantic(mask)
    assert instances.max() == 3 and sorted(classes.tolist()) == [1, 1, 2]
    assert len(np.unique(instances[mask == 2])) == 1
    diagonal = np.eye(3, dtype="uint8")
    assert G.instances_from_semantic(diagonal, connectivity=1)[0].max() == 3
    assert G.instances_from_semantic(diagonal, connectivity=2)[0].max() == 1
    scenes = data.load("detection_scenes", prefer="substitute", train_size=5, test_size=1).data.train
    for index in range(5):                 # generated objects never touch: components = instances
        instances, classes = G.instances_from_semantic(scenes.masks[index])
        assert instances.max() == (scenes.labels[index] >= 0).sum()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    keras.utils.set_random_seed(42)
    settings = cnn2_settings.SEGMENTATION.get("smoke")
    scenes = data.load("segmentation_scenes", prefer="substitute", image_size=settings.image_size,
                       train_size=settings.train_size, test_size=settings.test_size).data
    model, result, recorder = G.train_unet(settings, scenes, str(tmp_path_factory.mktemp("unet")),
                                           watch_images=scenes.test.images[:2], verbose=0)
    return settings, scenes, model, result, recorder


def test_unet_learns_in_smoke(trained):
    settings, scenes, model, result, recorder = trained
    assert result.history["loss"][-1] < 0.6 * result.history["loss"][0]
    predicted = G.predict_masks(model, scenes.test.images)
    everything_background = np.zeros_like(scenes.test.masks)
    baseline = G.mean_iou(scenes.test.masks, everything_background, 4)
    assert G.mean_iou(scenes.test.masks, predicted, 4) > baseline + 0.05
    assert G.pixel_accuracy(scenes.test.masks, predicted) > G.pixel_accuracy(scenes.test.masks, everything_background)
    assert len(recorder.masks) == settings.epochs and recorder.masks[0].shape == (2, 32, 32)


def test_patch_classifier_labels_one_centre_pixel_per_patch():
    model = G.build_patch_classifier(patch_size=15, n_classes=5)
    assert model.input_shape == (None, 15, 15, 3)
    output = np.asarray(model(np.zeros((6, 15, 15, 3), "float32")))
    assert output.shape == (6, 5) and np.allclose(output.sum(-1), 1.0, atol=1e-5)
    # conv 3×3 (3→16) + conv 3×3 (16→32) + dense (32→5)
    assert model.count_params() == (3 * 3 * 3 * 16 + 16) + (3 * 3 * 16 * 32 + 32) + (32 * 5 + 5)
    with pytest.raises(ValueError, match="patch_size"):
        G.build_patch_classifier(patch_size=2)


@pytest.mark.parametrize("height, width", [(16, 16), (21, 35)])
def test_full_resolution_net_keeps_height_and_width_for_any_size(height, width):
    model = G.build_full_resolution_net((None, None, 3), n_classes=4, filters=(8, 16))
    output = np.asarray(model(np.zeros((2, height, width, 3), "float32")))
    assert output.shape == (2, height, width, 4) and np.allclose(output.sum(-1), 1.0, atol=1e-5)
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [layer.filters for layer in convs] == [8, 16, 4] and convs[-1].kernel_size == (1, 1)


def test_unet_diagram_shows_every_level_with_its_shape():
    import matplotlib.pyplot as plt

    figure = G.draw_unet_diagram(image_size=32, depth=2, base_filters=8, n_classes=4)
    texts = " ".join(text.get_text() for text in figure.axes[0].texts)
    for shape in ("32×32×8", "16×16×16", "8×8×32", "32×32×4"):
        assert shape in texts, shape
    gids = {artist.get_gid() for artist in figure.axes[0].get_children()}
    assert {"down0", "down2", "up0", "up1", "down0->up0", "down1->up1", "down2->up1"} <= gids
    with pytest.raises(ValueError, match="divisible"):
        G.draw_unet_diagram(image_size=30, depth=2)
    plt.close("all")


def test_keras_io_comparison_compares_only_on_real_pets():
    real = G.keras_io_comparison("cached", 0.35)
    assert "0.350 on Oxford-IIIT Pets" in real and "comparable (same data and loss): ours is lower than" in real
    assert "not lower than the lowest keras-io value, 0.39" in G.keras_io_comparison("downloaded", 0.5)
    generated = G.keras_io_comparison("substitute", 0.12)
    assert "generated shapes" in generated and generated.splitlines()[-1].startswith("not comparable")
    assert "0.39" in generated and "0.89" in generated and "1.22" in generated
    for kind, loss in (("pets", 0.3), ("cached", float("nan")), ("substitute", -1.0)):
        with pytest.raises(ValueError):
            G.keras_io_comparison(kind, loss)
