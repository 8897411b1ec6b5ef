"""Neural style transfer: VGG-19 features, the source's TF1 losses vs NumPy, Adam ε, the stylize generator, the CLI,
and the MatConvNet loader on a synthetic .mat file."""
import io
import os

import numpy as np
import pytest

from chapters_src.cnn import matconvnet
from chapters_src.cnn import style_transfer as st

RNG = np.random.default_rng(0)


def np_l2(x):
    return float(np.sum(np.asarray(x, "float64") ** 2) / 2)


def np_gram(f):
    flat = np.asarray(f, "float64").reshape(-1, f.shape[-1])
    return flat.T @ flat / f.size


# ----------------------------------------------------------------------------------------------- network
def test_layer_name_map():
    assert st.keras_layer_name("relu4_2") == "block4_conv2"
    assert [st.keras_layer_name(n) for n in st.STYLE_LAYERS] == [f"block{b}_conv1" for b in range(1, 6)]
    with pytest.raises(ValueError, match="relu4_2"):
        st.keras_layer_name("conv4_2")


@pytest.mark.parametrize("pooling", ["max", "avg"])
def test_vgg19_features_have_the_published_size(pooling):
    import keras

    model = st.build_vgg19_features(pooling, initializer="zeros")
    assert model.count_params() == 20_024_384  # == keras.applications.VGG19(include_top=False)
    assert len([l for l in model.layers if isinstance(l, keras.layers.Conv2D)]) == 16
    pools = [l for l in model.layers if "pool" in l.name]
    assert [p.name for p in pools] == ["block1_pool", "block2_pool", "block3_pool", "block4_pool"]  # no pool5
    kind = keras.layers.MaxPooling2D if pooling == "max" else keras.layers.AveragePooling2D
    assert all(isinstance(p, kind) for p in pools)
    with pytest.raises(ValueError, match="pooling must be"):
        st.build_vgg19_features("min")


@pytest.fixture(scope="module")
def tiny_mat(tmp_path_factory):
    path = tmp_path_factory.mktemp("mat") / "tiny-vgg19.mat"
    stored = matconvnet.write_synthetic_mat(path, channels=(2, 3, 4, 4, 4))
    return path, stored


@pytest.fixture(scope="module")
def tiny_network(tiny_mat):
    path, _ = tiny_mat
    return st.style_network(mat_path=path)


def test_matconvnet_loader_transposes_kernels_and_reads_the_mean(tiny_mat):
    path, stored = tiny_mat
    loaded = matconvnet.load_vgg19_mat(path)
    assert set(loaded.kernels) == set(matconvnet.CONV_LAYERS) and len(matconvnet.VGG19_LAYERS) == 36
    for name, (kernel, bias) in loaded.kernels.items():
        raw_kernel, raw_bias = stored[name]
        np.testing.assert_array_equal(kernel, np.transpose(raw_kernel, (1, 0, 2, 3)))
        np.testing.assert_array_equal(bias, raw_bias.reshape(-1))
    assert loaded.kernels["conv1_1"][0][0, 1, 0, 0] == stored["conv1_1"][0][1, 0, 0, 0]  # [w, h] → [h, w]
    np.testing.assert_allclose(loaded.mean_pixel, [10.0, 20.0, 30.0], atol=1e-4)
    assert len(matconvnet.md5sum(path)) == 32
    with pytest.raises(FileNotFoundError, match="Did you forget to download it"):
        matconvnet.load_vgg19_mat(path.parent / "missing.mat")


def test_mat_network_computes_the_source_convolutions(tiny_mat, tiny_network):
    import tensorflow as tf

    path, stored = tiny_mat
    x = RNG.uniform(0, 255, size=(1, 8, 8, 3)).astype("float32")
    features = tiny_network.model(tiny_network.preprocess(x))
    kernel = np.transpose(stored["conv1_1"][0], (1, 0, 2, 3))
    # vgg.py: conv2d(SAME, stride 1) + bias, then ReLU, on the mean-subtracted image.
    expected = tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(x - np.array([10, 20, 30], "float32"), kernel, 1, "SAME"),
                                         stored["conv1_1"][1].reshape(-1))).numpy()
    np.testing.assert_allclose(features["relu1_1"].numpy(), expected, rtol=1e-4, atol=1e-3)
    assert tuple(features["relu5_1"].shape) == (1, 1, 1, 4) and tuple(features["relu4_2"].shape) == (1, 1, 1, 4)
    assert "MatConvNet" in tiny_network.provenance


def test_keras_weights_read_rgb_like_the_bgr_original(tmp_path, monkeypatch):
    """Flipping block1_conv1's input channels makes RGB − mean equal Keras' own BGR − mean input."""
    import keras

    from chapters_src.cnn import pretrained

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    network = st.style_network(weights=None, layers=("relu1_1",))
    source = pretrained.build("vgg19", weights=None, include_top=False).model
    first = keras.Model(source.inputs[0], source.get_layer("block1_conv1").output)
    rgb = RNG.uniform(0, 255, size=(1, 6, 6, 3)).astype("float32")
    bgr_input = keras.applications.vgg19.preprocess_input(rgb.copy())
    ours = network.model(network.preprocess(rgb))["relu1_1"].numpy()
    theirs = first(bgr_input).numpy()
    kernel = source.get_layer("block1_conv1").get_weights()[0]
    scale = np.sqrt(2.0 / 27) / kernel.std()  # random weights are He-rescaled (both bias 0)
    np.testing.assert_allclose(ours, theirs * scale, rtol=1e-3, atol=1e-3)


# ----------------------------------------------------------------------------------------------- losses
def test_losses_match_numpy_references_of_the_tf1_code():
    f = RNG.normal(size=(1, 5, 6, 4)).astype("float32")
    p = RNG.normal(size=(1, 5, 6, 4)).astype("float32")
    assert np.isclose(float(st.l2_loss(f)), np_l2(f), rtol=1e-5)
    assert np.isclose(float(st.content_loss(f, p, 5.0)), 5.0 * 2 * np_l2(f - p) / p.size, rtol=1e-5)
    assert np.isclose(float(st.content_loss(f, p, 5.0)), 5.0 * np.mean((f - p) ** 2), rtol=1e-5)  # = MSE
    np.testing.assert_allclose(st.gram_matrix(f).numpy(), np_gram(f), rtol=1e-5, atol=1e-6)
    a = np_gram(p)
    assert np.isclose(float(st.style_layer_loss(f, a)), np.sum((np_gram(f) - a) ** 2) / 4 ** 2, rtol=1e-4)
    image = RNG.normal(size=(1, 7, 9, 3)).astype("float32")
    dy, dx = image[:, 1:] - image[:, :-1], image[:, :, 1:] - image[:, :, :-1]
    expected_tv = 100.0 * 2 * (np_l2(dy) / dy.size + np_l2(dx) / dx.size)
    assert np.isclose(float(st.tv_loss(image, 100.0)), expected_tv, rtol=1e-5)
    assert np.isclose(expected_tv, 100.0 * (np.mean(dy ** 2) + np.mean(dx ** 2)), rtol=1e-6)


def test_style_loss_blends_styles_and_sums_layers():
    layers = ("a", "b")
    features = {name: RNG.normal(size=(1, 3, 3, 2)).astype("float32") for name in layers}
    grams = [{name: np_gram(RNG.normal(size=(1, 3, 3, 2))).astype("float32") for name in layers} for _ in range(2)]
    value = float(st.style_loss(features, grams, 100.0, [3, 1], style_layers=layers))
    per_style = [sum(np.sum((np_gram(features[n]) - g[n]) ** 2) / 4 for n in layers) for g in grams]
    assert np.isclose(value, 100.0 * (0.75 * per_style[0] + 0.25 * per_style[1]), rtol=1e-4)
    equal = float(st.style_loss(features, grams, 100.0, None, style_layers=layers))
    assert np.isclose(equal, 100.0 * 0.5 * sum(per_style), rtol=1e-4)
    with pytest.raises(ValueError, match="style_blend_weights"):
        st.style_loss(features, grams, 100.0, [1.0], style_layers=layers)


def test_keras_adam_with_tf1_epsilon_follows_the_formula():
    """C10: Keras Adam on a keras.Variable, with TF1's ε = 1e-8, equals TF1's update rule for two steps."""
    import keras

    x0 = np.array([1.0, -2.0, 0.5], dtype="float32")
    var = keras.Variable(x0)
    optimizer = keras.optimizers.Adam(learning_rate=10.0, epsilon=st.ADAM_EPSILON)
    assert optimizer.epsilon == 1e-8 and keras.optimizers.Adam().epsilon == 1e-7
    grads = [np.array([0.3, -1e-9, 2.0], dtype="float32"), np.array([0.1, 1e-9, -1.0], dtype="float32")]
    m = v = np.zeros(3)
    x = x0.astype("float64")
    for t, g in enumerate(grads, start=1):
        optimizer.apply_gradients([(g, var)])
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g.astype("float64") ** 2
        lr_t = 10.0 * np.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)
        x = x - lr_t * m / (np.sqrt(v) + 1e-8)
    np.testing.assert_allclose(var.numpy(), x, rtol=1e-4)


def test_book_printed_losses_are_consistent():
    text = st.format_losses(908786, 261789, 25639.9, 908786 + 261789 + 25639.9)
    assert text.splitlines() == ["  content loss: 908786", "    style loss: 261789", "       tv loss: 25639.9",
                                 "    total loss: 1.19621e+06"]


# ----------------------------------------------------------------------------------------------- stylize
def test_stylize_yields_checkpoints_and_the_best_image(tiny_network):
    content = RNG.uniform(0, 255, size=(12, 16, 3))
    style = RNG.uniform(0, 255, size=(10, 10, 3))
    history, stream = [], io.StringIO()
    steps = list(st.stylize(tiny_network, None, content, [style], iterations=5, checkpoint_iterations=2,
                            history=history, stream=stream))
    assert [i for i, _ in steps] == [0, 2, None]
    assert all(image.shape == content.shape and np.isfinite(image).all() for _, image in steps)
    lines = stream.getvalue().splitlines()
    assert lines[:5] == [f"Iteration {i}/5" for i in range(1, 6)] and len(lines) == 9
    for h in history:  # total = content + style + tv (float32 sums)
        assert np.isclose(h["total"], h["content"] + h["style"] + h["tv"], rtol=1e-6)
    last = history[-1]
    assert lines[5:] == st.format_losses(last["content"], last["style"], last["tv"], last["total"]).splitlines()
    # initial noise N(0,1)·0.256 in mean-subtracted space: the first image is close to the mean pixel
    first = list(st.stylize(tiny_network, None, content, [style], iterations=1, learning_rate=1e-9,
                            stream=io.StringIO()))[0][1]
    assert abs(float((first - tiny_network.mean_pixel).std()) - 0.256) < 0.03


def test_stylize_keeps_the_best_checkpoint(tiny_network, monkeypatch):
    content = RNG.uniform(0, 255, size=(8, 8, 3))
    # a negative learning rate climbs the loss: every later checkpoint must still return the first (best) image
    history = []
    steps = list(st.stylize(tiny_network, None, content, [content[::-1]], iterations=4, checkpoint_iterations=1,
                            learning_rate=-10.0, history=history, stream=io.StringIO()))
    assert history[-1]["total"] > history[1]["total"]
    assert [i for i, _ in steps] == [0, 1, 2, None]
    for _, image in steps[1:]:
        np.testing.assert_array_equal(image, steps[0][1])


def test_stylize_learns_on_random_vgg19(tmp_path, monkeypatch):
    """C8: tiny images, random (He-scaled) VGG-19, 20 iterations: the total loss falls, values stay finite."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    network = st.style_network(weights=None)
    assert "random weights" in network.provenance
    content = st.resize(RNG.uniform(0, 255, size=(40, 40, 3)), (32, 32))
    history = []
    result = list(st.stylize(network, None, content, [st.procedural_style(32)], iterations=20, history=history,
                             stream=io.StringIO()))
    assert len(result) == 1 and result[0][0] is None and result[0][1].shape == (32, 32, 3)
    assert history[-1]["total"] < 0.5 * history[0]["total"] and np.isfinite(result[0][1]).all()


# ----------------------------------------------------------------------------------------------- CLI, images
def test_resize_rules_of_the_source():
    assert st.content_shape_for_width((427, 640, 3), 256) == (170, 256)
    assert st.style_shape_for((300, 400, 3), content_width=200, style_scale=1.0) == (150, 200)
    assert st.style_shape_for((300, 400, 3), content_width=200, style_scale=0.5) == (75, 100)


def test_imread_converts_grey_and_rgba(tmp_path):
    from PIL import Image

    Image.fromarray(np.full((4, 5), 7, "uint8")).save(tmp_path / "grey.png")
    Image.fromarray(np.full((4, 5, 4), 9, "uint8")).save(tmp_path / "rgba.png")
    assert st.imread(tmp_path / "grey.png").shape == (4, 5, 3)
    assert st.imread(tmp_path / "rgba.png").shape == (4, 5, 3)
    written = st.imsave(tmp_path / "outfinal", np.full((4, 5, 3), 300.0))
    assert written.endswith("outfinal.jpg") and st.imread(written).max() >= 250


def test_cli_runs_end_to_end_and_fixes_the_missing_extension(tmp_path, tiny_mat, capsys):
    from PIL import Image

    path, _ = tiny_mat
    Image.fromarray(RNG.integers(0, 256, size=(20, 30, 3), dtype="uint8")).save(tmp_path / "content.png")
    Image.fromarray(st.procedural_style(24)).save(tmp_path / "style.png")
    status = st.main(["--content", str(tmp_path / "content.png"), "--styles", str(tmp_path / "style.png"),
                      "--output", str(tmp_path / "outfinal"), "--iterations", "5", "--checkpoint-iterations", "2",
                      "--checkpoint-output", str(tmp_path / "out%s.jpg"), "--width", "16", "--network", str(path)])
    assert status == 0
    assert sorted(os.listdir(tmp_path)) == ["content.png", "out0.jpg", "out2.jpg", "outfinal.jpg", "style.png"]
    assert st.imread(tmp_path / "outfinal.jpg").shape == (10, 16, 3)  # floor(20/30·16) × 16
    assert "Iteration 5/5" in capsys.readouterr().err


@pytest.mark.parametrize("extra, message", [
    (["--checkpoint-output", "out.jpg"], "must contain `%s`"),
    (["--network", "nowhere.mat"], "Network nowhere.mat does not exist"),
])
def test_cli_errors_like_the_source(extra, message, capsys):
    with pytest.raises(SystemExit) as stop:
        st.main(["--content", "c.jpg", "--styles", "s.jpg", "--output", "o.jpg", *extra])
    assert stop.value.code == 2 and message in capsys.readouterr().err


def test_module_entry_point_help():
    import subprocess
    import sys

    completed = subprocess.run([sys.executable, "-m", "chapters_src.cnn.style_transfer", "--help"],
                               capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0
    for option in ("--content", "--styles", "--output", "--iterations", "--checkpoint-output", "--width",
                   "--style-scales", "--style-blend-weights", "--content-weight", "--style-weight", "--tv-weight",
                   "--learning-rate", "--initial", "--print-iterations", "--checkpoint-iterations", "--network",
                   "--pooling"):
        assert option in completed.stdout


def test_defaults_are_the_source_programs():
    assert (st.CONTENT_WEIGHT, st.STYLE_WEIGHT, st.TV_WEIGHT, st.LEARNING_RATE) == (5.0, 100.0, 100.0, 10.0)
    assert (st.STYLE_SCALE, st.ITERATIONS, st.ADAM_EPSILON, st.INITIAL_NOISE_SCALE) == (1.0, 100, 1e-8, 0.256)
    options = st.build_parser().parse_args(["--content", "c", "--styles", "a", "b", "--output", "o"])
    assert (options.content_weight, options.style_weight, options.tv_weight, options.learning_rate,
            options.iterations) == (5.0, 100.0, 100.0, 10.0, 100)
    assert options.styles == ["a", "b"] and options.checkpoint_iterations is None and options.pooling == "max"
    assert st.CONTENT_LAYER == "relu4_2" and st.STYLE_LAYERS == ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")


def test_concept_diagram_names_the_three_losses():
    figure = st.draw_concept()
    texts = " ".join(t.get_text() for t in figure.axes[0].texts)
    for phrase in ("relu4_2", "Gram", "total variation", "Adam", "VGG-19"):
        assert phrase in texts
