"""Classic architectures: exact parameter counts against the published figures, shapes, blocks, stored tables."""
import io

import keras
import numpy as np
import pytest

from chapters_src.cnn import architectures as arch
from chapters_src.cnn import params


@pytest.fixture(scope="module")
def tables():
    return params.load_tables()


@pytest.mark.parametrize("name", list(params.ARCHITECTURES))
def test_every_architecture_has_its_published_count_and_the_stored_table(name, tables):
    """One symbolic build per network at its published input size (no data runs through it; building the graph at
    224×224 costs what building it at 64×64 does): the count, and the stored table layer by layer: name, type,
    output shape and parameters."""
    architecture = params.ARCHITECTURES[name]
    model = params.build(name, small=False)
    assert tuple(model.input.shape[1:]) == architecture.input_shape
    computed = params.count(model, architecture.counts)
    if architecture.tolerance:
        assert abs(computed - architecture.published) <= architecture.tolerance * architecture.published
    else:
        assert computed == architecture.published
    record = tables[name]
    assert record["total"] == model.count_params() and record["input_shape"] == list(architecture.input_shape)
    assert [(r["layer"], r["type"], tuple(r["output_shape"]), r["parameters"]) for r in record["rows"]] == [
        (layer.name, type(layer).__name__, tuple(layer.output.shape[1:]), layer.count_params())
        for layer in model.layers]
    if name == "enet":
        assert tuple(model.output.shape[1:]) == (512, 512, 12)
    else:
        assert tuple(model.output.shape) == (None, 10 if name.startswith("lenet") else 1000)
    del model
    keras.backend.clear_session()


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n, a in params.ARCHITECTURES.items() if a.small_input])
def test_small_input_gives_the_published_count(name):
    """``python -m chapters_src.cnn.params`` builds these at a small input: the count must not depend on it."""
    architecture = params.ARCHITECTURES[name]
    model = params.build(name, small=True)
    assert tuple(model.input.shape[1:]) == architecture.small_input
    assert params.matches(architecture, params.count(model, architecture.counts))
    assert model.count_params() == params.load_tables()[name]["total"]
    del model
    keras.backend.clear_session()


def test_lenet5_faithful_layer_counts():
    model = arch.build_lenet5()
    per_stage = {stage["stage"]: stage["parameters"] for stage in params.stage_table(params.layer_table(model))}
    assert per_stage["c1"] == 156 and per_stage["s2"] == 12 and per_stage["c3"] == 1_516
    assert per_stage["s4"] == 32 and per_stage["c5"] == 48_120 and per_stage["f6"] == 10_164
    assert params.count(model, "trainable") == 60_000 and model.count_params() == 60_840  # + fixed RBF codes
    assert sum(len(sources) for sources in arch.LENET_C3_TABLE) == 60     # 6·3 + 9·4 + 6
    assert model.get_layer("c3").output.shape[1:] == (10, 10, 16)


def test_alexnet_conv1_is_55_only_from_227():
    model = arch.build_alexnet(include_top=False)
    assert tuple(model.get_layer("conv1").output.shape[1:]) == (55, 55, 96)
    assert arch.conv1_output_size(227) == 55.0 and arch.conv1_output_size(224) == 54.25
    small = arch.build_alexnet((224, 224, 3), include_top=False)
    assert small.get_layer("conv1").output.shape[1] == 54
    # the two-group conv2 has half the weights of the single-tower one (+ the same biases)
    assert model.get_layer("conv2_1").count_params() * 2 == 307_456


def test_local_response_normalization_matches_numpy():
    x = np.random.default_rng(0).normal(size=(2, 3, 3, 7)).astype("float32") * 10
    layer = arch.LocalResponseNormalization(size=5, k=2.0, alpha=1e-2, beta=0.75)
    got = keras.ops.convert_to_numpy(layer(x))
    expected = np.empty_like(x)
    for c in range(7):
        window = x[..., max(0, c - 2):c + 3]
        expected[..., c] = x[..., c] / (2.0 + 1e-2 * np.sum(window ** 2, axis=-1)) ** 0.75
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_select_channels_and_validation():
    x = np.arange(2 * 1 * 1 * 5, dtype="float32").reshape(2, 1, 1, 5)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(arch.SelectChannels([4, 0])(x)), x[..., [4, 0]])
    with pytest.raises(ValueError, match="channels"):
        arch.SelectChannels([])
    with pytest.raises(ValueError, match="input_shape"):
        arch.build_vgg16((224, 224))
    with pytest.raises(ValueError, match="depth must be"):
        arch.build_vgg(17)


def test_vgg16_equals_keras_applications_layer_by_layer(tables):
    ours = arch.build_vgg16((32, 32, 3), include_top=False)
    theirs = keras.applications.VGG16(weights=None, include_top=False, input_shape=(32, 32, 3))
    assert [(l.name, l.count_params()) for l in ours.layers[1:]] == [(l.name, l.count_params()) for l in theirs.layers[1:]]
    assert ours.count_params() == 14_714_688
    top = {r["layer"]: r["parameters"] for r in tables["vgg16"]["rows"]}
    assert (top["fc1"], top["fc2"], top["predictions"]) == (102_764_544, 16_781_312, 4_097_000)
    assert sum(r["activations"] for r in tables["vgg16"]["rows"]) == 15_237_608   # the source figure's total
    assert tables["vgg16"]["rows"][[r["layer"] for r in tables["vgg16"]["rows"]].index("block4_pool")][
        "output_shape"] == [14, 14, 512]
    assert arch.build_vgg19((32, 32, 3), include_top=False).count_params() == 20_024_384


@pytest.mark.parametrize(("depth", "published"), [(16, 138_357_544), (19, 143_667_240)])
def test_whole_vgg_equals_keras_applications(depth, published):
    """With its classifier at 224×224: every layer's name, output shape and parameter count as keras.applications."""
    ours = arch.build_vgg(depth, (224, 224, 3), 1000, True)
    theirs = getattr(keras.applications, f"VGG{depth}")(weights=None)
    describe = lambda model: [(l.name, tuple(l.output.shape), l.count_params()) for l in model.layers[1:]]  # noqa: E731
    assert describe(ours) == describe(theirs)
    assert ours.count_params() == theirs.count_params() == published


def test_inception_module_naive_versus_reduced():
    inputs = keras.Input((28, 28, 192))
    reduced = keras.Model(inputs, arch.inception_module(inputs, (64, 96, 128, 16, 32, 32), "3a"))
    naive = keras.Model(inputs, arch.inception_module(inputs, (64, 96, 128, 16, 32, 32), "naive", reduce=False))
    assert reduced.count_params() == 163_696 and reduced.output.shape[-1] == 256
    # naive: 1×1 64 + 3×3 128 + 5×5 32 straight on 192 channels, and the pooled 192 channels passed through
    assert naive.count_params() == (192 * 64 + 64) + (9 * 192 * 128 + 128) + (25 * 192 * 32 + 32) == 387_296
    assert naive.output.shape[-1] == 64 + 128 + 32 + 192


def test_inception_v3_factorisation_savings_agree_with_keras():
    assert arch.factorisation_saving(5, "stacked") == pytest.approx(0.28)
    assert arch.factorisation_saving(3, "asymmetric") == pytest.approx(1 / 3)
    assert arch.factorisation_saving(7, "asymmetric") == pytest.approx(1 - 2 / 7)
    inputs = keras.Input((17, 17, 64))
    counts = {kind: keras.Model(inputs, arch.factorised_conv(inputs, 64, k, kind, kind)).count_params() - biases
              for kind, k, biases in (("none", 5, 64), ("stacked", 5, 128))}
    assert 1 - counts["stacked"] / counts["none"] == pytest.approx(0.28)
    asym = keras.Model(inputs, arch.factorised_conv(inputs, 64, 3, "asymmetric", "a")).count_params() - 128
    assert 1 - asym / (9 * 64 * 64) == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="kind must be"):
        arch.factorisation_saving(3, "diagonal")


def test_bottleneck_has_69632_weights():
    assert arch.bottleneck_weights(256, 64) == 69_632
    inputs = keras.Input((14, 14, 256))
    block = keras.Model(inputs, arch.bottleneck_block(inputs, 64, use_batch_norm=False, use_bias=False, name="b"))
    assert block.count_params() == 69_632 and block.output.shape[1:] == (14, 14, 256)
    projection = keras.Model(inputs, arch.bottleneck_block(inputs, 128, strides=2, name="p"))
    assert projection.output.shape[1:] == (7, 7, 512) and projection.get_layer("p_0_conv") is not None


@pytest.mark.parametrize("use_batch_norm", [False, True])
def test_residual_block_with_zero_last_convolution_turns_itself_off(use_batch_norm):
    inputs = keras.Input((6, 6, 4))
    block = keras.Model(inputs, arch.residual_block(inputs, 4, use_batch_norm=use_batch_norm, name="r"))
    last = block.get_layer("r_2_conv")
    last.set_weights([np.zeros_like(w) for w in last.get_weights()])
    x = np.random.default_rng(1).normal(size=(3, 6, 6, 4)).astype("float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(block(x, training=False)), np.maximum(x, 0), atol=1e-6)
    plain = keras.Model(inputs, arch.residual_block(inputs, 4, residual=False, use_batch_norm=use_batch_norm, name="p"))
    assert plain.count_params() == block.count_params()          # same layers, no shortcut
    assert not any(isinstance(l, keras.layers.Add) for l in plain.layers)


def test_dense_block_channels_and_connections():
    assert [arch.densenet_connections(n) for n in (1, 2, 5)] == [1, 3, 15]
    inputs = keras.Input((8, 8, 3))
    block = keras.Model(inputs, arch.dense_block(inputs, 5, growth_rate=4, name="d", bottleneck=False))
    assert block.output.shape[-1] == 3 + 5 * 4
    # layer ℓ reads the block input and the ℓ−1 earlier outputs: ℓ sources, L(L+1)/2 in all
    sources = [(block.get_layer(f"d_block{l}_2_conv").input.shape[-1] - 3) // 4 + 1 for l in range(1, 6)]
    assert sources == [1, 2, 3, 4, 5] and sum(sources) == arch.densenet_connections(5)


@pytest.mark.parametrize("columns", [1, 2, 3, 4])
def test_fractal_block_convolutions_and_longest_path(columns):
    inputs = keras.Input((8, 8, 4))
    block = keras.Model(inputs, arch.fractal_block(inputs, columns, 4, name="f"))
    convolutions = sum(isinstance(l, keras.layers.Conv2D) for l in block.layers)
    assert (convolutions, arch.longest_path(block)) == arch.fractal_counts(columns) == (2 ** columns - 1,
                                                                                       2 ** (columns - 1))


def test_whole_fractal_net_counts_and_shapes():
    """Two 3-column blocks (32 and 64 filters) at 32×32×3: per block C = 3 convolutions read the block input and
    2^C − 1 − C = 4 read the block's own width; 3×3 kernels without bias, BN (4 values per channel), a dense head."""
    model = arch.build_fractal_net()
    block1 = 3 * 9 * 3 * 32 + 4 * 9 * 32 * 32 + 7 * 4 * 32
    block2 = 3 * 9 * 32 * 64 + 4 * 9 * 64 * 64 + 7 * 4 * 64
    assert model.count_params() == block1 + block2 + (64 * 10 + 10) == 245_546
    assert tuple(model.output.shape) == (None, 10)
    assert sum(isinstance(l, keras.layers.Conv2D) for l in model.layers) == 2 * 7
    assert sum(isinstance(l, arch.FractalJoin) for l in model.layers) == 2 * 3
    assert arch.longest_path(model) == 2 * 4
    assert tuple(model.get_layer("pool1").output.shape) == (None, 16, 16, 32)
    base = arch.build_fractal_net((16, 16, 1), include_top=False, columns=2, blocks=1, filters=(8,))
    assert tuple(base.output.shape) == (None, 8, 8, 8)
    assert base.count_params() == 2 * 9 * 1 * 8 + 1 * 9 * 8 * 8 + 3 * 4 * 8
    with pytest.raises(ValueError, match="one entry per block"):
        arch.build_fractal_net(blocks=3)


def test_fractal_join_drop_path():
    a, b = np.full((2, 3, 3, 1), 1.0, "float32"), np.full((2, 3, 3, 1), 3.0, "float32")
    join = arch.FractalJoin(drop_rate=0.5, seed=3)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(join([a, b], training=False)), 2.0)
    seen = {float(keras.ops.convert_to_numpy(join([a, b], training=True))[0, 0, 0, 0]) for _ in range(40)}
    assert seen <= {1.0, 2.0, 3.0} and {1.0, 3.0} <= seen     # single paths survive; never an empty join
    always_drop = arch.FractalJoin(drop_rate=0.999, seed=0)
    assert float(keras.ops.convert_to_numpy(always_drop([a, b], training=True))[0, 0, 0, 0]) in (1.0, 3.0)


def test_separable_savings_of_an_xception_style_layer():
    inputs = keras.Input((19, 19, 728))
    model = keras.Model(inputs, keras.layers.SeparableConv2D(728, 3, padding="same", use_bias=False)(inputs))
    (row,) = arch.separable_savings(model)
    assert row["separable"] == model.count_params() == 9 * 728 + 728 * 728
    assert row["ordinary"] == 9 * 728 * 728 and row["ratio"] == pytest.approx(8.89, abs=0.01)


def test_stage_names():
    assert [params.stage_of(n) for n in ("conv3_block2_1_conv", "block_4_expand", "inception_4a_1x1", "fc1",
                                         "block5_conv3", "fire9_concat")] == [
        "conv3", "block_4", "inception_4a", "fc1", "block5", "fire9"]


def test_params_command_exit_status(monkeypatch):
    tiny = params.Architecture("tiny", "tiny", lambda s: arch.build_lenet5(s, faithful=False), 61_706, "test",
                               (32, 32, 1))
    monkeypatch.setattr(params, "ARCHITECTURES", {"tiny": tiny})
    out = io.StringIO()
    assert params.check(["tiny"], out=out) and "ok" in out.getvalue()
    assert params.main(["tiny"]) == 0
    monkeypatch.setitem(params.ARCHITECTURES, "tiny", params.dataclasses.replace(tiny, published=61_705))
    assert params.main(["tiny"]) == 1
    with pytest.raises(ValueError, match="unknown architecture"):
        params.check(["nonexistent"], out=io.StringIO())


def test_separable_savings_from_a_stored_table_equal_the_ones_from_the_model():
    inputs = keras.Input((9, 9, 24))
    x = keras.layers.SeparableConv2D(40, 3, padding="same", use_bias=False, name="sep")(inputs)
    x = keras.layers.DepthwiseConv2D(3, padding="same", use_bias=False, name="dw")(x)
    model = keras.Model(inputs, x)
    from_model = [(r["layer"], r["separable"], r["ordinary"]) for r in arch.separable_savings(model)]
    from_table = [(r["layer"], r["separable"], r["ordinary"])
                  for r in params.separable_savings_from_table(params.layer_table(model))]
    assert from_model == from_table == [("sep", 9 * 24 + 24 * 40, 9 * 24 * 40), ("dw", 9 * 40, 9 * 40 * 40)]
    html = params.card_html(params.load_tables()["vgg16"])
    assert "138,357,544" in html and "block5_pool" in html and "(equal)" in html
