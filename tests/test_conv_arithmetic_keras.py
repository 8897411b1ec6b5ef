"""Convolution arithmetic against real Keras layers: output shapes over grids, parameter counts, NumPy
references with copied weights, the adjoint identity of transposed convolution and measured receptive fields."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.signal

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")
layers = keras.layers

from chapters_src.cnn.conv_arithmetic import (  # noqa: E402
    ConvLayer,
    build_example_network,
    conv2d_reference,
    conv_output_size,
    conv_params,
    dense_params,
    depthwise_conv_params,
    depthwise_reference,
    empirical_receptive_field,
    pool_output_size,
    receptive_field,
    receptive_field_size,
    separable_conv_params,
    separable_factors,
    transposed_conv_output_size,
)


def _run(layer, array):
    """Call a layer eagerly on a NumPy array; return the NumPy result."""
    return keras.ops.convert_to_numpy(layer(array.astype("float32")))


def _keras_length(layer, input_size, rank=2):
    """Spatial output length of ``layer`` (or a list of layers applied in turn) on a (1, n, ..., n, 1) zeros
    tensor, or 'error' if Keras refuses or returns an empty map (eager pooling does that when n < pool)."""
    out = np.zeros((1,) + (input_size,) * rank + (1,))
    try:
        for each in layer if isinstance(layer, list) else [layer]:
            out = _run(each, out)
    except (ValueError, tf.errors.InvalidArgumentError):
        return "error"
    assert len(set(out.shape[1:-1])) == 1
    return out.shape[1] if out.shape[1] > 0 else "error"


def _ours(func, *args, **kwargs):
    try:
        return func(*args, **kwargs)
    except ValueError:
        return "error"


def _grid(**axes):
    for values in itertools.product(*axes.values()):
        case = dict(zip(axes, values))
        if case.get("s", 1) > 1 and case.get("d", 1) > 1:
            continue
        yield case


# ----------------------------------------------------------------------------------------------- output sizes
@pytest.mark.parametrize("rank, conv", [(1, layers.Conv1D), (2, layers.Conv2D)])
@pytest.mark.parametrize("padding", ["valid", "same"])
def test_conv_output_size_matches_keras_conv(rank, conv, padding):
    sizes = [1, 2, 5, 8, 11] if rank == 1 else [1, 4, 7, 10]
    checked = 0
    for case in _grid(k=[1, 2, 3, 5], s=[1, 2, 3], d=[1, 2, 3]):
        layer = conv(1, case["k"], strides=case["s"], padding=padding, dilation_rate=case["d"])
        for n in sizes:  # one layer, several input sizes
            expected = _keras_length(layer, n, rank)
            got = _ours(conv_output_size, n, case["k"], case["s"], padding, case["d"])
            assert got == expected, f"{conv.__name__} {padding} n={n} {case}: ours {got}, Keras {expected}"
            checked += expected != "error"
    assert checked > 40


@pytest.mark.parametrize("padding", ["full", 1, 2])
def test_full_and_integer_padding_match_zero_padding_then_valid(padding):
    for case in _grid(k=[1, 2, 3, 4], s=[1, 2], d=[1, 2]):
        pad = case["d"] * (case["k"] - 1) if padding == "full" else padding
        pipeline = [layers.ZeroPadding2D(pad),
                    layers.Conv2D(1, case["k"], strides=case["s"], dilation_rate=case["d"])]
        for n in [1, 3, 6, 9]:
            expected = _keras_length(pipeline, n)
            got = _ours(conv_output_size, n, case["k"], case["s"], padding, case["d"])
            assert got == expected, f"padding={padding} n={n} {case}: ours {got}, Keras {expected}"


@pytest.mark.parametrize("pool", [layers.MaxPooling2D, layers.AveragePooling2D])
@pytest.mark.parametrize("padding", ["valid", "same"])
def test_pool_output_size_matches_keras_pooling(pool, padding):
    for size, stride in itertools.product([1, 2, 3], [None, 1, 2, 3]):
        layer = pool(size, strides=stride, padding=padding)
        for n in [1, 2, 5, 8, 9]:
            expected = _keras_length(layer, n)
            got = _ours(pool_output_size, n, size, stride, padding)
            assert got == expected, f"{pool.__name__} {padding} n={n} pool={size} stride={stride}"


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_transposed_conv_output_size_matches_keras_conv2d_transpose(padding):
    checked = 0
    for case in _grid(k=[1, 2, 3, 4, 5], s=[1, 2, 3], d=[1, 2]):
        for output_padding in [None, *range(case["s"])]:
            layer = layers.Conv2DTranspose(1, case["k"], strides=case["s"], padding=padding,
                                           output_padding=output_padding, dilation_rate=case["d"])
            for n in [1, 2, 3, 5]:
                if case["d"] == 1:
                    expected = _keras_length(layer, n)
                else:  # TensorFlow's CPU kernel refuses dilated transposed convolutions: use Keras' shape rule
                    expected = layer.compute_output_shape((1, n, n, 1))[1]
                    expected = expected if expected > 0 else "error"
                got = _ours(transposed_conv_output_size, n, case["k"], case["s"], padding, output_padding, case["d"])
                assert got == expected, f"{padding} n={n} op={output_padding} {case}: ours {got}, Keras {expected}"
                checked += case["d"] == 1
    assert checked > 100


def test_worked_examples_with_keras_layers():
    """Glassner (004-§4) and shape inversion (chapter 20, checklist I26) with real layers."""
    assert _keras_length(layers.Conv2D(1, 3), 5) == 3
    assert _keras_length([layers.ZeroPadding2D(1), layers.Conv2D(1, 3)], 5) == 5
    assert _keras_length([layers.ZeroPadding2D(2), layers.Conv2D(1, 3)], 3) == 5
    assert _keras_length(layers.Conv2DTranspose(1, 3), 3) == 5
    assert _keras_length(layers.Conv2D(8, 3, strides=2, padding="same"), 28) == 14
    assert _keras_length(layers.Conv2DTranspose(8, 3, strides=2, padding="same"), 14) == 28
    assert _keras_length(layers.Conv2D(1, 11, strides=4), 227) == 55
    assert _keras_length(layers.Conv2D(1, 11, strides=4), 224) == 54
    # UpSampling2D doubles like Conv2DTranspose(s=2, 'same') (checklist E3)
    assert _keras_length(layers.UpSampling2D(2), 14) == transposed_conv_output_size(14, 3, 2, "same")


# ----------------------------------------------------------------------------------------------- parameter counts
def _count(layer, input_shape):
    layer.build((None,) + input_shape)
    return layer.count_params()


@pytest.mark.parametrize("kernel_size", [1, 3, (3, 5)])
@pytest.mark.parametrize("use_bias", [True, False])
def test_parameter_counts_match_keras(kernel_size, use_bias):
    shape = (12, 12, 3)
    assert _count(layers.Conv2D(7, kernel_size, use_bias=use_bias), shape) == \
        conv_params(kernel_size, 3, 7, use_bias)
    for multiplier in (1, 2, 3):
        assert _count(layers.DepthwiseConv2D(kernel_size, depth_multiplier=multiplier, use_bias=use_bias), shape) \
            == depthwise_conv_params(kernel_size, 3, multiplier, use_bias)
        assert _count(layers.SeparableConv2D(5, kernel_size, depth_multiplier=multiplier, use_bias=use_bias),
                      shape) == separable_conv_params(kernel_size, 3, 5, multiplier, use_bias)
    assert _count(layers.Dense(11, use_bias=use_bias), (13,)) == dense_params(13, 11, use_bias)
    assert _count(layers.Conv1D(4, 3, use_bias=use_bias), (20, 6)) == conv_params((3,), 6, 4, use_bias)


def test_dilated_conv_has_the_same_parameter_count():
    plain = _count(layers.Conv2D(16, 3), (32, 32, 8))
    assert plain == conv_params(3, 8, 16) == 1168
    for dilation in (2, 4):
        assert _count(layers.Conv2D(16, 3, dilation_rate=dilation), (32, 32, 8)) == plain


def test_example_network_has_338460_parameters():
    model = build_example_network()
    assert model.count_params() == 338_460
    by_name = {layer.name: layer for layer in model.layers}
    assert by_name["conv"].count_params() == 260
    assert by_name["pool"].count_params() == 0
    assert tuple(by_name["flatten"].output.shape) == (None, 1690)
    assert by_name["dense"].count_params() == 338_200


# ----------------------------------------------------------------------------------------------- references vs Keras
CONV_CASES = [
    dict(kernel=(3, 3), stride=1, padding="valid", dilation=1),
    dict(kernel=(3, 3), stride=1, padding="same", dilation=1),
    dict(kernel=(3, 3), stride=2, padding="valid", dilation=1),
    dict(kernel=(4, 4), stride=2, padding="same", dilation=1),
    dict(kernel=(2, 3), stride=3, padding="same", dilation=1),
    dict(kernel=(3, 3), stride=1, padding="valid", dilation=2),
    dict(kernel=(2, 3), stride=1, padding="same", dilation=3),
    dict(kernel=(3, 3), stride=1, padding=2, dilation=1),
    dict(kernel=(3, 2), stride=2, padding="full", dilation=1),
    dict(kernel=(3, 3), stride=1, padding="full", dilation=2),
]


@pytest.mark.parametrize("case", CONV_CASES, ids=[str(i) for i in range(len(CONV_CASES))])
@pytest.mark.parametrize("image_shape", [(10, 10), (9, 12)])
def test_conv2d_reference_matches_keras_conv2d(case, image_shape):
    rng = np.random.default_rng(4)
    image, kernel = rng.normal(size=image_shape), rng.normal(size=case["kernel"])
    padding = case["padding"]
    conv = layers.Conv2D(1, case["kernel"], strides=case["stride"], dilation_rate=case["dilation"],
                         padding="same" if padding == "same" else "valid", use_bias=False)
    conv.build((None,) + image_shape + (1,))
    conv.set_weights([kernel[:, :, None, None]])
    pipeline = [conv]
    if not isinstance(padding, str) or padding == "full":
        pad = padding if padding != "full" else [(case["dilation"] * (k - 1),) * 2 for k in case["kernel"]]
        pipeline.insert(0, layers.ZeroPadding2D(pad))
    expected = _run(keras.Sequential(pipeline), image[None, :, :, None])[0, :, :, 0]
    ours = conv2d_reference(image, kernel, case["stride"], padding, case["dilation"])
    assert ours.shape == expected.shape
    np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("mode", ["valid", "same", "full"])
def test_scipy_convolve2d_equals_keras_with_flipped_kernel(mode):
    """Keras computes cross-correlation: a true convolution (SciPy) needs the kernel flipped (checklist E5)."""
    rng = np.random.default_rng(5)
    image, kernel = rng.normal(size=(8, 9)), rng.normal(size=(3, 5))
    expected = scipy.signal.convolve2d(image, kernel, mode=mode)
    conv = layers.Conv2D(1, (3, 5), padding="valid" if mode == "full" else mode, use_bias=False)
    conv.build((None, 8, 9, 1))
    conv.set_weights([kernel[::-1, ::-1, None, None]])
    pipeline = [layers.ZeroPadding2D((2, 4)), conv] if mode == "full" else [conv]
    got = _run(keras.Sequential(pipeline), image[None, :, :, None])[0, :, :, 0]
    assert got.shape == tuple(conv_output_size(n, k, padding=mode) for n, k in zip((8, 9), (3, 5)))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    assert not np.allclose(expected, scipy.signal.correlate2d(image, kernel, mode=mode), atol=1e-3)


@pytest.mark.parametrize("multiplier", [1, 2])
@pytest.mark.parametrize("padding", ["valid", "same"])
def test_depthwise_reference_matches_keras_depthwise_conv2d(multiplier, padding):
    rng = np.random.default_rng(6)
    images, kernel = rng.normal(size=(2, 7, 6, 3)), rng.normal(size=(3, 3, 3, multiplier))
    layer = layers.DepthwiseConv2D(3, depth_multiplier=multiplier, padding=padding, use_bias=False)
    layer.build((None, 7, 6, 3))
    layer.set_weights([kernel])
    np.testing.assert_allclose(depthwise_reference(images, kernel, padding), _run(layer, images),
                               rtol=1e-5, atol=1e-5)


def test_depthwise_then_pointwise_equals_separable_conv2d():
    """Chapter 20 §9.6: depthwise separable = DepthwiseConv2D + 1×1 Conv2D (copied weights)."""
    rng = np.random.default_rng(7)
    images = rng.normal(size=(2, 8, 8, 3)).astype("float32")
    separable = layers.SeparableConv2D(4, 3, depth_multiplier=2, padding="same")
    separable.build((None, 8, 8, 3))
    depthwise_kernel, pointwise_kernel, bias = [rng.normal(size=w.shape) for w in separable.get_weights()]
    separable.set_weights([depthwise_kernel, pointwise_kernel, bias])
    depthwise = layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same", use_bias=False)
    pointwise = layers.Conv2D(4, 1)
    depthwise.build((None, 8, 8, 3))
    pointwise.build((None, 8, 8, 6))
    depthwise.set_weights([depthwise_kernel])
    pointwise.set_weights([pointwise_kernel, bias])
    expected = _run(separable, images)
    np.testing.assert_allclose(_run(pointwise, _run(depthwise, images)), expected, rtol=1e-5, atol=1e-5)
    numpy_path = depthwise_reference(images, depthwise_kernel, "same") @ pointwise_kernel[0, 0] + bias
    np.testing.assert_allclose(numpy_path, expected, rtol=1e-4, atol=1e-4)


def test_sobel_two_1d_keras_convolutions_equal_the_2d_one():
    column, row = separable_factors(np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]))
    image = np.random.default_rng(8).normal(size=(1, 12, 12, 1))

    def conv(kernel):
        layer = layers.Conv2D(1, kernel.shape, padding="same", use_bias=False)
        layer.build((None, 12, 12, 1))
        layer.set_weights([kernel[:, :, None, None]])
        return layer

    two_pass = _run(conv(row[None, :]), _run(conv(column[:, None]), image))
    one_pass = _run(conv(np.outer(column, row)), image)
    np.testing.assert_allclose(two_pass, one_pass, rtol=1e-5, atol=1e-5)


def test_book_dilation_1_is_keras_dilation_rate_2():
    """Chapter 20 §8: "a filter w of size 3 with dilation 1 computes w[0]x[0] + w[1]x[2] + w[2]x[4]"."""
    w = np.array([0.5, -2.0, 3.0])
    x = np.array([1.0, 10.0, 100.0, 1000.0, 10_000.0, 100_000.0, 1e6])
    layer = layers.Conv1D(1, 3, dilation_rate=2, use_bias=False)
    layer.build((None, 7, 1))
    layer.set_weights([w[:, None, None]])
    y = _run(layer, x[None, :, None])[0, :, 0]
    assert y.shape == (conv_output_size(7, 3, dilation=2),) == (3,)
    np.testing.assert_allclose(y[0], w[0] * x[0] + w[1] * x[2] + w[2] * x[4], rtol=1e-6)


@pytest.mark.parametrize("stride, padding, size", [(1, "valid", 8), (1, "same", 8), (2, "valid", 9), (2, "same", 8)])
def test_transposed_convolution_is_the_adjoint(stride, padding, size):
    """<conv(x), y> == <conv_transpose(y), x> with one shared kernel (checklist E2, Dumoulin & Visin 2016)."""
    rng = np.random.default_rng(9)
    kernel = rng.normal(size=(3, 3, 2, 4))
    conv = layers.Conv2D(4, 3, strides=stride, padding=padding, use_bias=False)
    conv.build((None, size, size, 2))
    conv.set_weights([kernel])
    transpose = layers.Conv2DTranspose(2, 3, strides=stride, padding=padding, use_bias=False)
    out_size = conv_output_size(size, 3, stride, padding)
    transpose.build((None, out_size, out_size, 4))
    transpose.set_weights([kernel])  # (kh, kw, out=2, in=4): the same array
    x, y = rng.normal(size=(1, size, size, 2)), rng.normal(size=(1, out_size, out_size, 4))
    conv_x, transpose_y = _run(conv, x), _run(transpose, y)
    assert transpose_y.shape == x.shape
    assert transpose_y.shape[1] == transposed_conv_output_size(out_size, 3, stride, padding)
    np.testing.assert_allclose(np.sum(conv_x * y), np.sum(transpose_y * x), rtol=1e-4)


# ----------------------------------------------------------------------------------------------- receptive fields
def _stack(input_shape, blocks):
    inputs = keras.Input(input_shape)
    x = inputs
    for block in blocks:
        x = block(x)
    return keras.Model(inputs, x)


def test_empirical_receptive_field_plain_3x3_stack():
    model = _stack((21, 21, 2), [layers.Conv2D(3, 3, activation="relu") for _ in range(3)])
    assert empirical_receptive_field(model) == receptive_field_size([3, 3, 3]) == 7
    assert empirical_receptive_field(_stack((21, 21, 1), [layers.Conv2D(1, 3)])) == 3


def test_empirical_receptive_field_dilations_1_2_4():
    model = _stack((33, 33, 1), [layers.Conv2D(2, 3, padding="same", dilation_rate=d, activation="relu")
                                 for d in (1, 2, 4)])
    analytic = receptive_field([ConvLayer(3, padding="same", dilation=d) for d in (1, 2, 4)], 33)
    assert empirical_receptive_field(model) == analytic[-1].receptive_field == 15


def test_empirical_receptive_field_with_pooling_and_causal_wavenet_stack():
    """Max pooling is measured as average pooling (a max sends gradient to one input only)."""
    pooled = _stack((24, 24, 1), [layers.Conv2D(2, 3, activation="relu"), layers.MaxPooling2D(2),
                                  layers.Conv2D(2, 3), layers.ReLU()])
    assert empirical_receptive_field(pooled) == receptive_field_size([3, 2, 3], strides=[1, 2, 1]) == 8
    wavenet = _stack((40, 1), [layers.Conv1D(2, 2, padding="causal", dilation_rate=d, activation="tanh")
                               for d in (1, 2, 4, 8)])
    assert empirical_receptive_field(wavenet) == receptive_field_size([2] * 4, [1, 2, 4, 8]) == 16


def test_empirical_receptive_field_rejects_non_spatial_models():
    with pytest.raises(ValueError, match="`model`"):
        empirical_receptive_field(build_example_network())
    with pytest.raises(ValueError, match="`model`"):
        empirical_receptive_field(_stack((None, None, 1), [layers.Conv2D(1, 3)]))
