"""The pretrained-model registry: per-model preprocessing, weight decisions offline, caching, decoding."""
import numpy as np
import pytest

from chapters_src.cnn import pretrained


def test_registry_names_and_unknown_name():
    assert {"vgg16", "vgg19", "resnet50", "inception_v3", "xception", "mobilenet_v2", "densenet121"} <= set(
        pretrained.names())
    with pytest.raises(ValueError, match="name must be one of"):
        pretrained.get("alexnet9000")


@pytest.mark.parametrize("name, mode", [("vgg16", "caffe"), ("resnet50", "caffe"), ("inception_v3", "tf"),
                                        ("xception", "tf"), ("mobilenet_v2", "tf"), ("densenet121", "torch")])
def test_preprocess_modes(name, mode):
    assert pretrained.get(name).preprocess_mode == mode
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(2, 8, 8, 3)).astype("uint8")
    before = images.copy()
    x = pretrained.preprocess(name, images)
    np.testing.assert_array_equal(images, before)  # input untouched
    assert x.dtype == np.float32 and x.shape == (2, 8, 8, 3)
    f = images.astype("float64")
    if mode == "tf":
        np.testing.assert_allclose(x, f / 127.5 - 1.0, atol=1e-5)
    elif mode == "caffe":  # RGB -> BGR, minus the ImageNet mean pixel (BGR order)
        mean_bgr = np.array([103.939, 116.779, 123.68])
        np.testing.assert_allclose(x, f[..., ::-1] - mean_bgr, atol=1e-3)
    else:
        mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
        np.testing.assert_allclose(x, (f / 255.0 - mean) / std, atol=1e-4)


def test_source_bug_generic_preprocessing_differs_for_inception():
    image = np.full((4, 4, 3), 200, dtype="uint8")
    right = pretrained.preprocess("inception_v3", image)
    wrong = pretrained.preprocess_generic(image)
    assert right.max() <= 1.0 and right.min() >= -1.0
    assert np.abs(wrong).max() > 50  # caffe mode: mean-subtracted pixel values, far outside [-1, 1]
    assert not np.allclose(right, wrong)
    np.testing.assert_allclose(wrong, pretrained.preprocess("vgg16", image))  # generic == caffe == VGG's own


def test_preprocess_rejects_bad_shapes():
    with pytest.raises(ValueError, match="images must have shape"):
        pretrained.preprocess("vgg16", np.zeros((4, 4)))


def test_weights_decision_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    decided, why = pretrained._decide_weights("vgg16", "auto", True, 0.1)
    assert decided is None and "CHAPTERS_OFFLINE" in why
    with pytest.raises(pretrained.WeightsUnavailableError, match="vgg16_weights_tf_dim_ordering_tf_kernels.h5"):
        pretrained._decide_weights("vgg16", "imagenet", True, 0.1)
    assert pretrained._decide_weights("vgg16", None, True, 0.1)[0] is None
    with pytest.raises(ValueError, match="weights must be"):
        pretrained._decide_weights("vgg16", "random", True, 0.1)
    # A cached file is found without any network (only the no-top file here).
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / pretrained.get("vgg16").weights_file_notop).write_bytes(b"x")
    assert pretrained.weights_cached("vgg16", include_top=False) and not pretrained.weights_cached("vgg16")
    decided, why = pretrained._decide_weights("vgg16", "auto", False, 0.1)
    assert decided == "imagenet" and "Keras cache" in why


def test_build_offline_is_random_cached_and_has_published_size(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    first = pretrained.build("mobilenet_v2")
    assert first.weights is None and not first.has_imagenet_weights
    assert "random weights" in first.provenance
    assert first.model.count_params() == pretrained.get("mobilenet_v2").parameters == 3_538_984
    assert pretrained.build("mobilenet_v2").model is first.model  # built once, reused
    assert first.model.get_layer(pretrained.get("mobilenet_v2").last_conv_layer) is not None


def test_class_index_never_downloads(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert pretrained.imagenet_class_index() is None


def test_decode_and_format_with_tiny_index():
    index = {"0": ("n0", "cat"), "1": ("n1", "dog"), "2": ("n2", "macaw")}
    decoded = pretrained.decode_predictions([[0.1, 0.3, 0.6], [0.5, 0.25, 0.25]], index, top=2)
    assert decoded[0] == [("n2", "macaw", 0.6), ("n1", "dog", 0.3)]
    assert decoded[1][1][1] == "dog"  # ties keep the lower class first
    assert pretrained.format_predictions(decoded[0]) == ["1. macaw: 60.00%", "2. dog: 30.00%"]
    with pytest.raises(ValueError, match="top must be"):
        pretrained.decode_predictions([[0.1, 0.9, 0.0]], index, top=4)
    with pytest.raises(ValueError, match="class_index has 3 classes"):
        pretrained.decode_predictions([[0.5, 0.5]], index, top=1)


def test_classify_image_with_a_registered_local_model(capsys):
    import keras

    inputs = keras.Input((4, 4, 3))
    # probabilities depend only on the mean brightness: bright images → class 2
    logits = keras.layers.Dense(3, kernel_initializer=keras.initializers.Constant([[0.0, 0.0, 1.0]]),
                                bias_initializer=keras.initializers.Constant([0.3, 0.2, -0.5]))(
        keras.layers.Reshape((1,))(keras.layers.GlobalAveragePooling2D()(keras.layers.Lambda(
            lambda t: keras.ops.mean(t, axis=-1, keepdims=True))(inputs))))
    model = keras.Model(inputs, keras.layers.Softmax()(logits))
    index = {"0": ("n0", "dark"), "1": ("n1", "grey"), "2": ("n2", "bright")}
    pretrained.register_classifier("tiny", model, (4, 4), lambda x: x / 255.0, index)
    try:
        bright = np.full((9, 7, 3), 255, dtype="uint8")                    # resized to 4×4 on the way
        result = pretrained.classify_image(bright, "tiny", top=2)
        assert [label for _, label, _ in result] == ["bright", "dark"] and result[0][0] == 1
        expected = np.exp([0.3, 0.2, 0.5]) / np.exp([0.3, 0.2, 0.5]).sum()
        assert result[0][2] == pytest.approx(expected[2], rel=1e-5)
        printed = capsys.readouterr().out.splitlines()
        assert printed == [f"1. bright: {expected[2] * 100:.2f}%", f"2. dark: {expected[0] * 100:.2f}%"]
        dark = pretrained.classify_image(np.zeros((4, 4, 3)), "tiny", top=1, verbose=False)
        assert dark[0][1] == "dark"
        # the source's bug: caffe-mode inputs (about +140 for white) instead of this model's [0, 1]
        generic = pretrained.classify_image(bright, "tiny", top=1, preprocessing="generic", verbose=False)
        assert generic[0][1] == "bright" and generic[0][2] > 0.99 > 0.5 > result[0][2]
        with pytest.raises(ValueError, match="preprocessing must be"):
            pretrained.classify_image(bright, "tiny", preprocessing="caffe")
        with pytest.raises(ValueError, match="one image"):
            pretrained.classify_image(np.zeros((2, 4, 4, 3)), "tiny")
        with pytest.raises(ValueError, match="must not shadow"):
            pretrained.register_classifier("vgg16", model, (4, 4), lambda x: x, index)
    finally:
        pretrained.unregister_classifier("tiny")


def test_classify_image_on_a_registry_model_reuses_the_cached_build(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    image = np.random.default_rng(0).integers(0, 256, size=(50, 60, 3)).astype("uint8")
    first = pretrained.classify_image(image, "mobilenet_v2", top=3, verbose=False)
    model = pretrained.build("mobilenet_v2").model
    assert pretrained.classify_image(image, "mobilenet_v2", top=3, verbose=False) == first
    assert pretrained.build("mobilenet_v2").model is model                 # no rebuild per call
    assert [rank for rank, _, _ in first] == [1, 2, 3] and first[0][1].startswith("class ")   # no class index offline
    assert sum(p for _, _, p in first) <= 1.0 + 1e-6


def test_source_results_table():
    assert len(pretrained.SOURCE_RESULTS) == 12
    assert pretrained.SOURCE_RESULTS[-2][1] == "inception"
    assert pretrained.SOURCE_RESULTS[-2][2].startswith("stopwatch 100.00%")


def test_load_and_convert_accepts_a_path_a_pil_image_or_an_array(tmp_path):
    from PIL import Image
    from skimage import data as skimage_data

    astronaut = skimage_data.astronaut()                                   # (512, 512, 3) uint8
    path = tmp_path / "astronaut.png"
    Image.fromarray(astronaut).save(path)                                  # lossless: the same pixels back
    from_array = pretrained.load_and_convert(astronaut, "vgg16")
    assert from_array.shape == (1, 224, 224, 3) and from_array.dtype == np.float32
    np.testing.assert_array_equal(pretrained.load_and_convert(str(path), "vgg16"), from_array)
    np.testing.assert_array_equal(pretrained.load_and_convert(path, "vgg16"), from_array)
    np.testing.assert_array_equal(pretrained.load_and_convert(Image.fromarray(astronaut), "vgg16"), from_array)
    raw = pretrained.load_and_convert(astronaut, "vgg16", preprocessing=None)
    assert 0 <= raw.min() and raw.max() <= 255 and raw.max() > 200
    np.testing.assert_allclose(from_array, pretrained.preprocess("vgg16", raw), atol=1e-4)   # caffe mode on top
    inception = pretrained.load_and_convert(astronaut, "inception_v3")
    assert inception.shape == (1, 299, 299, 3) and -1.0 <= inception.min() and inception.max() <= 1.0
    generic = pretrained.load_and_convert(astronaut, "inception_v3", preprocessing="generic")
    assert np.abs(generic).max() > 50                                      # the source's bug
    # grey-level images and RGBA files become RGB
    grey = pretrained.load_and_convert(skimage_data.camera(), "mobilenet_v2", preprocessing=None)
    assert grey.shape == (1, 224, 224, 3) and np.array_equal(grey[..., 0], grey[..., 2])
    rgba = tmp_path / "rgba.png"
    Image.fromarray(np.dstack([astronaut, np.full(astronaut.shape[:2], 255, "uint8")])).save(rgba)
    np.testing.assert_array_equal(pretrained.load_and_convert(rgba, "vgg16"), from_array)
    with pytest.raises(ValueError, match="preprocessing must be"):
        pretrained.load_and_convert(astronaut, "vgg16", preprocessing="caffe")
    with pytest.raises(ValueError, match="image must be"):
        pretrained.load_and_convert(np.zeros((4, 4, 2)), "vgg16")


@pytest.mark.parametrize("name, published", [("resnet50", 25_636_712), ("inception_v3", 23_851_784),
                                             ("xception", 22_910_480)])
def test_registry_networks_have_the_keras_io_parameter_counts(name, published, capsys):
    """weights=None through the registry (no download): the counts keras.io publishes (001 checklist C5)."""
    try:
        assert pretrained.print_model(name) == published == pretrained.get(name).parameters
        summary = capsys.readouterr().out
        model = pretrained.build(name, weights=None).model
        assert f"Total params: {published:,}" in summary and f'Model: "{model.name}"' in summary
        assert pretrained.build(name, weights=None).weights is None and model.get_layer(
            pretrained.get(name).last_conv_layer) is not None
    finally:
        pretrained.clear_cache()


def test_plot_predictions_shows_each_image_beside_its_top_k():
    import matplotlib.pyplot as plt

    images = [np.zeros((8, 8, 3), "uint8"), np.full((6, 6), 200, "uint8")]
    predictions = [[(1, "macaw", 0.9), (2, "toucan", 0.05), (3, "jay", 0.01)],
                   [(1, "stopwatch", 1.0), (2, "mink", 0.0), (3, "hammer", 0.0)]]
    figure = pretrained.plot_predictions(images, predictions, titles=["a", "b"])
    axes = figure.axes
    assert len(axes) == 4 and len(axes[1].patches) == 3 and len(axes[3].patches) == 3
    assert [t.get_text() for t in axes[1].get_yticklabels()] == ["1. macaw", "2. toucan", "3. jay"]
    assert axes[1].patches[0].get_width() == pytest.approx(90.0)
    plt.close(figure)
    with pytest.raises(ValueError, match="equal length"):
        pretrained.plot_predictions(images, predictions[:1])
