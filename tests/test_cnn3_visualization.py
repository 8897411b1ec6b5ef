"""Activation maximization, saliency (vanilla / guided / rectified), Grad-CAM and the activation atlas."""
import numpy as np
import pytest

from chapters_src.cnn import visualization as vis


@pytest.fixture(scope="module")
def digit_model():
    """A small keras-vis-style digit CNN trained for a few epochs on the offline digits (fixed seed)."""
    import keras

    from chapters_src import data

    (x_train, y_train), (x_test, y_test) = vis.digits_as_images(data.load("mnist").data, train_examples=1000)
    model = vis.build_digit_cnn(conv_filters=(8, 16), dense_units=32, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=4, batch_size=64, verbose=0)
    accuracy = float(model.evaluate(x_test, y_test, verbose=0)[1])
    assert accuracy > 0.7, accuracy  # learns: chance is 0.1
    return model, x_test, y_test


def test_digit_cnn_matches_keras_vis_model():
    model = vis.build_digit_cnn()
    # Conv 3·3·1·32+32, Conv 3·3·32·64+64, Dense 12·12·64·128+128, Dense 128·10+10
    assert model.count_params() == 320 + 18_496 + 1_179_776 + 1_290 == 1_199_882
    assert [layer.name for layer in model.layers if "dropout" not in layer.name] == [
        "block1_conv1", "block2_conv1", "block2_pool", "flatten", "fc1", "predictions"]


def test_pre_activation_model_strips_softmax_and_relu():
    import keras

    model = vis.build_digit_cnn(conv_filters=(4, 4), dense_units=8)
    x = np.random.default_rng(0).uniform(size=(2, 28, 28, 1)).astype("float32")
    logits = keras.ops.convert_to_numpy(vis.pre_activation_model(model, "predictions")(x))
    probabilities = model.predict(x, verbose=0)
    softmax = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(softmax, probabilities, rtol=1e-4, atol=1e-6)
    conv = keras.ops.convert_to_numpy(vis.pre_activation_model(model, "block2_conv1")(x))
    after = keras.ops.convert_to_numpy(vis.keras_output_model(model, "block2_conv1")(x))
    assert conv.min() < 0  # linear: negative values survive
    np.testing.assert_allclose(np.maximum(conv, 0), after, atol=1e-5)
    with pytest.raises(ValueError, match="layer_name must be a layer"):
        vis.pre_activation_model(model, "block9_conv9")


def test_activation_maximization_rises_and_is_deterministic(digit_model):
    model, _, _ = digit_model
    first = vis.activation_maximization(model, "predictions", 3, steps=25, count=2, seed=1)
    again = vis.activation_maximization(model, "predictions", 3, steps=25, count=2, seed=1)
    other = vis.activation_maximization(model, "predictions", 3, steps=25, count=2, seed=2)
    assert first.images.shape == (2, 28, 28, 1)
    assert first.objective.shape == (26, 2)
    assert np.all(first.objective[-1] > first.objective[0] + 1.0)
    np.testing.assert_array_equal(first.images, again.images)
    assert not np.allclose(first.images, other.images)
    assert first.images.min() >= 0.0 and first.images.max() <= 1.0


def test_maximised_class_image_is_predicted_as_that_class(digit_model):
    model, _, _ = digit_model
    for digit in (1, 7):
        result = vis.activation_maximization(model, "predictions", digit, steps=40, count=2, seed=0,
                                             tv_weight=0.1, jitter=1)
        assert np.all(model.predict(result.images, verbose=0).argmax(axis=1) == digit), digit
    # one image per index, optimised together in one batch: the same as separate runs from the same start
    batched = vis.activation_maximization(model, "predictions", [7, 7], steps=10, seed=3)
    single = vis.activation_maximization(model, "predictions", 7, count=2, steps=10, seed=3)
    assert batched.index == (7, 7) and single.index == 7
    np.testing.assert_allclose(batched.images, single.images, atol=1e-5)
    mixed = vis.activation_maximization(model, "predictions", [1, 7], steps=40, seed=0)
    assert model.predict(mixed.images, verbose=0).argmax(axis=1).tolist() == [1, 7]


def test_regularisers_pull_the_image_as_they_should(digit_model):
    """L2 keeps pixels nearer the mid-grey start; total variation makes neighbouring pixels closer (same seed)."""
    model, _, _ = digit_model
    plain = vis.activation_maximization(model, "predictions", 3, steps=30, count=2, seed=4)
    l2 = vis.activation_maximization(model, "predictions", 3, steps=30, count=2, seed=4, l2_weight=50.0)
    tv = vis.activation_maximization(model, "predictions", 3, steps=30, count=2, seed=4, tv_weight=50.0)
    distance = lambda result: float(np.mean(np.square(result.images - 0.5)))  # noqa: E731
    roughness = lambda result: float(np.mean(np.square(np.diff(result.images, axis=1))))  # noqa: E731
    assert distance(l2) < 0.8 * distance(plain)
    assert roughness(tv) < 0.8 * roughness(plain)
    assert np.all(l2.objective[-1] > l2.objective[0])   # still ascends the class score


def test_conv_index_is_a_channel_whose_mean_activation_rises(digit_model):
    import keras

    model, _, _ = digit_model
    result = vis.activation_maximization(model, "block2_conv1", 5, steps=20, seed=0)
    conv = vis.keras_output_model(model, "block2_conv1")
    start = np.full((1, 28, 28, 1), 0.5, dtype="float32")
    before = keras.ops.convert_to_numpy(conv(start))[..., 5].mean()
    after = keras.ops.convert_to_numpy(conv(result.images))[..., 5].mean()
    assert after > before + 0.1
    with pytest.raises(ValueError, match="index must be in \\[0, 16\\)"):
        vis.activation_maximization(model, "block2_conv1", 20, steps=1)  # 16 filters here: 20 is no channel


def test_activation_maximization_argument_checks():
    model = vis.build_digit_cnn(conv_filters=(2, 2), dense_units=4)
    with pytest.raises(ValueError, match="steps"):
        vis.activation_maximization(model, "predictions", 0, steps=0)
    with pytest.raises(ValueError, match="value_range"):
        vis.activation_maximization(model, "predictions", 0, value_range=(1, 0))


def _linear_model(classes=3, seed=0):
    import keras

    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((4, 5, 2)), keras.layers.Flatten(),
                             keras.layers.Dense(classes, activation="softmax", name="predictions")])


@pytest.mark.parametrize("modifier", [None, "guided", "relu"])
def test_saliency_of_linear_model_is_abs_weight_column(modifier):
    model = _linear_model()
    weights = model.get_layer("predictions").get_weights()[0]          # (40, 3)
    x = np.random.default_rng(0).normal(size=(2, 4, 5, 2)).astype("float32")
    for c in range(3):
        raw = vis.saliency(model, x, c, modifier=modifier, reduce=None, normalize=False)
        np.testing.assert_allclose(raw[0], np.abs(weights[:, c]).reshape(4, 5, 2), rtol=1e-5)
        np.testing.assert_allclose(raw[1], raw[0])  # input-independent for a linear model
        reduced = vis.saliency(model, x, c, modifier=modifier, reduce="max", normalize=False)
        np.testing.assert_allclose(reduced[0], np.abs(weights[:, c]).reshape(4, 5, 2).max(axis=-1), rtol=1e-5)
    normalised = vis.saliency(model, x, 0)
    assert normalised.shape == (2, 4, 5) and normalised.min() == 0.0 and np.isclose(normalised.max(), 1.0)


def test_vanilla_gradient_matches_finite_differences():
    import keras

    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((6, 6, 1)), keras.layers.Conv2D(3, 3, activation="relu"),
                              keras.layers.Flatten(), keras.layers.Dense(4, activation="tanh"),
                              keras.layers.Dense(2, activation="softmax")])
    x = np.random.default_rng(1).normal(size=(1, 6, 6, 1)).astype("float64")
    gradient = vis.input_gradient(model, x, 1)[0]
    logits = vis.backprop_model(model, None)
    epsilon = 1e-2
    for (i, j) in [(0, 0), (2, 3), (5, 5), (3, 1)]:
        plus, minus = x.copy(), x.copy()
        plus[0, i, j, 0] += epsilon
        minus[0, i, j, 0] -= epsilon
        numeric = (float(logits(plus.astype("float32"))[0, 1]) - float(logits(minus.astype("float32"))[0, 1])) / (
            2 * epsilon)
        assert abs(numeric - gradient[i, j, 0]) < 5e-3 + 0.02 * abs(numeric), (i, j, numeric, gradient[i, j, 0])


def test_guided_and_rectified_rules_differ_from_vanilla():
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3, activation="relu"),
                              keras.layers.ReLU(), keras.layers.Conv2D(4, 3, activation="relu"),
                              keras.layers.Flatten(), keras.layers.Dense(3, activation="softmax")])
    x = np.random.default_rng(0).normal(size=(1, 8, 8, 1)).astype("float32")
    vanilla = vis.input_gradient(model, x, 0)
    guided = vis.input_gradient(model, x, 0, "guided")
    rectified = vis.input_gradient(model, x, 0, "relu")
    assert not np.allclose(vanilla, guided) and not np.allclose(vanilla, rectified)
    # The modified models keep the original's weights and forward pass (only the backward rule changes).
    logits = keras.ops.convert_to_numpy(vis.backprop_model(model, "guided")(x))
    np.testing.assert_allclose(logits, keras.ops.convert_to_numpy(vis.backprop_model(model, None)(x)), rtol=1e-5)
    with pytest.raises(ValueError, match="modifier must be one of"):
        vis.input_gradient(model, x, 0, "deconv")
    with pytest.raises(ValueError, match="class_index must be in"):
        vis.input_gradient(model, x, 3)
    # one class per image == separate calls
    pair = np.concatenate([x, x[:, ::-1]])
    both = vis.input_gradient(model, pair, [0, 2], "guided")
    np.testing.assert_allclose(both[0], guided[0], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(both[1], vis.input_gradient(model, pair[1:], 2, "guided")[0], rtol=1e-5, atol=1e-7)


@pytest.fixture(scope="module")
def square_detector():
    import keras

    images, labels, boxes = vis.bright_square_images(400, seed=0)
    model = vis.build_square_detector(seed=0)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(images, labels, epochs=6, batch_size=32, verbose=0)
    test_images, test_labels, test_boxes = vis.bright_square_images(40, seed=1)
    accuracy = float(model.evaluate(test_images, test_labels, verbose=0)[1])
    assert accuracy > 0.9, accuracy
    positive = test_labels == 1
    return model, test_images[positive], test_boxes[positive]


def test_bright_square_images():
    images, labels, boxes = vis.bright_square_images(10, size=12, square=3, seed=0)
    assert images.shape == (10, 12, 12, 1) and labels.sum() == 5
    for image, label, (r0, c0, r1, c1) in zip(images, labels, boxes):
        if label:
            assert image[r0:r1, c0:c1].min() >= 0.9 and (r1 - r0, c1 - c0) == (3, 3)
        else:
            assert image.max() <= 0.3 and r0 == -1


@pytest.mark.parametrize("modifier", [None, "guided", "relu"])
def test_saliency_mass_falls_on_the_object(square_detector, modifier):
    model, images, boxes = square_detector
    maps = vis.saliency(model, images, 1, modifier=modifier)
    inside = vis.mass_inside(maps, boxes)
    # The square covers 25 of 400 pixels (6 %); most of the saliency lies on (or touching) it.
    assert np.median(inside) > 0.5, inside


def test_grad_cam_peaks_on_the_object(square_detector):
    model, images, boxes = square_detector
    cams = vis.grad_cam(model, images, 1, "conv2")
    assert cams.shape == images.shape[:3] and cams.min() >= 0 and cams.max() <= 1
    hits = []
    for cam, (r0, c0, r1, c1) in zip(cams, boxes):
        r, c = np.unravel_index(np.argmax(cam), cam.shape)
        hits.append(r0 - 2 <= r < r1 + 2 and c0 - 2 <= c < c1 + 2)
    assert np.mean(hits) > 0.8
    with pytest.raises(ValueError, match="conv_layer must output"):
        vis.grad_cam(model, images, 1, "pool")


def test_activation_atlas_cells_cover_every_sample():
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=5, size=(3, 6))
    labels = np.repeat(np.arange(3), 20)
    features = centres[labels] + rng.normal(size=(60, 6))
    atlas = vis.activation_atlas(features, grid_size=4, labels=labels)
    assert sum(cell.count for cell in atlas.cells) == 60
    assert sorted(np.concatenate([cell.members for cell in atlas.cells])) == list(range(60))
    assert all(cell.top_class is not None and cell.count > 0 for cell in atlas.cells)
    assert atlas.coordinates.min() == 0 and atlas.coordinates.max() == 1
    # well separated clusters: every cell is pure
    assert all(len(set(labels[cell.members])) == 1 for cell in atlas.cells)
    head = lambda mean: mean @ centres.T  # noqa: E731 - class scores = similarity to each centre
    scored = vis.activation_atlas(features, grid_size=4, class_scores=head)
    assert [c.top_class for c in scored.cells] == [c.top_class for c in atlas.cells]
    tsne = vis.activation_atlas(features, grid_size=3, method="tsne", labels=labels)
    assert sum(cell.count for cell in tsne.cells) == 60
    figure = vis.draw_atlas(atlas, [features[c.members].mean(0).reshape(2, 3) for c in atlas.cells])
    assert len(figure.axes[0].images) == len(atlas.cells)
    with pytest.raises(ValueError, match="method must be"):
        vis.activation_atlas(features, method="umap")


def test_direction_visualization_raises_the_projection(digit_model):
    import keras

    model, _, _ = digit_model
    features = vis.keras_output_model(model, "fc1")
    directions = np.random.default_rng(0).uniform(size=(3, 32)).astype("float32")
    images = vis.direction_visualization(features, directions, steps=15)
    start = np.full((3, 28, 28, 1), 0.5, dtype="float32")
    unit = directions / np.linalg.norm(directions, axis=1, keepdims=True)
    before = (keras.ops.convert_to_numpy(features(start)) * unit).sum(axis=1)
    after = (keras.ops.convert_to_numpy(features(images)) * unit).sum(axis=1)
    assert images.shape == (3, 28, 28, 1) and np.all(after > before)


def test_stitch_and_label():
    tiles = [np.full((4, 5), v, dtype="float32") for v in (0.0, 0.5, 1.0)]
    canvas = vis.stitch_images(tiles, cols=2, margin=1)
    assert canvas.shape == (9, 11)
    assert canvas[0, 6] == 0.5 and canvas[5, 0] == 1.0 and canvas[4, 0] == 1.0  # margin is white
    labelled = vis.draw_label(np.zeros((20, 30)), "20")
    assert labelled.shape == (20, 30, 3) and labelled.dtype == np.uint8
    assert labelled[:, :, 0].max() == 255 and labelled[15:, :, 0].max() == 0
    np.testing.assert_allclose(vis.deprocess_caffe(np.zeros((1, 1, 3))), [[[123.68 / 255, 116.779 / 255,
                                                                            103.939 / 255]]], rtol=1e-5)


def test_saliency_figure_layout(square_detector):
    model, images, _ = square_detector
    figure = vis.saliency_figure(model, images[:3], [1, 1, 0], conv_layer="conv2")
    assert len(figure.axes) == 15 and figure.axes[4].get_title().startswith("Grad-CAM")
    assert len(vis.saliency_figure(model, images[:2], [1, 1]).axes) == 8
    with pytest.raises(ValueError, match="classes has 1 entries"):
        vis.saliency_figure(model, images[:2], [1])


def test_vgg16_conv_index_addresses_a_filter_in_caffe_space(tmp_path, monkeypatch):
    """The ImageNet path of notebook 07 on VGG16's architecture (random weights offline): block3_conv1 index 20 is
    channel 20 of 256, optimised in caffe input space."""
    import keras

    from chapters_src.cnn import pretrained

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    vgg = pretrained.build("vgg16", include_top=False, input_shape=(32, 32, 3)).model
    assert vgg.get_layer("block3_conv1").filters == 256
    result = vis.activation_maximization(vgg, "block3_conv1", 20, steps=3, count=2, value_range=(-123.68, 151.061),
                                         seed=0)
    assert result.images.shape == (2, 32, 32, 3) and result.objective.shape == (4, 2)
    assert np.all(result.objective[-1] > result.objective[0])
    assert result.images.min() >= -123.68 and result.images.max() <= 151.061
    shown = vis.deprocess_caffe(result.images[0])
    assert shown.shape == (32, 32, 3) and 0 <= shown.min() and shown.max() <= 1
    assert isinstance(vgg.get_layer("block3_conv1"), keras.layers.Conv2D)
