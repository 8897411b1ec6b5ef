"""Convolution arithmetic without Keras: the sources' worked examples, properties, NumPy references vs SciPy,
and every argument check. The Keras cross-checks live in test_conv_arithmetic_keras.py."""
from __future__ import annotations

import math
import re

import numpy as np
import pytest
import scipy.signal
from hypothesis import given, settings, strategies as st

from chapters_src.cnn.conv_arithmetic import (
    ConvLayer,
    FieldInfo,
    conv2d_reference,
    conv_output_size,
    conv_params,
    dense_params,
    depthwise_conv_params,
    depthwise_reference,
    effective_kernel_size,
    pool_output_size,
    receptive_field,
    receptive_field_size,
    separable_conv_params,
    separable_factors,
    transposed_conv_output_size,
)

SOBEL_X = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])


# ------------------------------------------------------------------------------------ the sources' worked examples
def test_receptive_field_worked_example_5x5_two_layers():
    """004-§2: 5×5, k=3, p=1, s=2 → 3×3 (RF 3) → 2×2 (RF 7); jumps 2, 4; first centre at 0.5."""
    layers = [ConvLayer(3, stride=2, padding=1, name="green"), ConvLayer(3, stride=2, padding=1, name="orange")]
    assert receptive_field(layers, 5) == [FieldInfo("green", 3, 2.0, 3, 0.5), FieldInfo("orange", 2, 4.0, 7, 0.5)]
    assert conv_output_size(5, 3, stride=2, padding=1) == 3
    assert conv_output_size(3, 3, stride=2, padding=1) == 2


def test_receptive_field_same_padding_matches_explicit_padding_in_worked_example():
    explicit = receptive_field([ConvLayer(3, 2, 1)] * 2, 5)
    same = receptive_field([ConvLayer(3, 2, "same")] * 2, 5)
    assert [(f.output_size, f.jump, f.receptive_field, f.start) for f in same] == \
        [(f.output_size, f.jump, f.receptive_field, f.start) for f in explicit]


def test_unnamed_layers_get_numbered_names():
    assert [f.name for f in receptive_field([ConvLayer(3), ConvLayer(3)], 9)] == ["layer 1", "layer 2"]


def test_one_dimensional_k3_stack_grows_3_5_7():
    """004-§2 1-D view: no padding, stride 1, kernel 3 → RF 3, 5, 7 (and VGG's two 3×3 = one 5×5)."""
    fields = receptive_field([ConvLayer(3)] * 3, 16)
    assert [(f.output_size, f.jump, f.receptive_field, f.start) for f in fields] == \
        [(14, 1, 3, 1.5), (12, 1, 5, 2.5), (10, 1, 7, 3.5)]
    assert receptive_field_size([3, 3, 3]) == 7
    assert receptive_field_size([3, 3]) == receptive_field_size([5]) == 5


def test_dilations_1_2_4_give_receptive_fields_3_7_15():
    """Yu & Koltun 2016, Fig. 1 (004-§2)."""
    fields = receptive_field([ConvLayer(3, padding="same", dilation=d) for d in (1, 2, 4)], 32)
    assert [f.receptive_field for f in fields] == [3, 7, 15]
    assert [f.output_size for f in fields] == [32, 32, 32]
    assert receptive_field_size([3, 3, 3], dilations=[1, 2, 4]) == 15


def test_wavenet_kernel_2_dilations_1_to_512_gives_1024():
    """Chapter 20 §8 (checklist H20): rf = 1 + Σ (k-1)·d_i."""
    dilations = [2**i for i in range(10)]
    assert dilations[-1] == 512
    assert receptive_field_size([2] * 10, dilations=dilations) == 1024
    fields = receptive_field([ConvLayer(2, dilation=d) for d in dilations], 2048)
    assert fields[-1].receptive_field == 1024
    assert fields[-1].output_size == 2048 - 1023


def test_alexnet_first_layer_227_vs_224():
    """AlexNet conv1 k=11, s=4: the paper's 224 does not give 55; 227 does."""
    assert conv_output_size(227, 11, stride=4) == 55
    assert conv_output_size(224, 11, stride=4) == 54


def test_glassner_cases():
    """004-§4: (5, k=3, p=0) → 3; (5, 3, p=1) → 5; (3, 3, p=2) → 5 = transposed 3 → 5."""
    assert conv_output_size(5, 3, padding=0) == conv_output_size(5, 3, padding="valid") == 3
    assert conv_output_size(5, 3, padding=1) == conv_output_size(5, 3, padding="same") == 5
    assert conv_output_size(3, 3, padding=2) == conv_output_size(3, 3, padding="full") == 5
    assert transposed_conv_output_size(3, 3, stride=1) == 5


def test_stride_2_same_halves_and_transposed_doubles():
    assert conv_output_size(28, 3, stride=2, padding="same") == 14
    assert transposed_conv_output_size(14, 3, stride=2, padding="same") == 28


def test_example_network_arithmetic_338460():
    """004-§1: 30×30×1 → Conv2D(10, 5) 26×26×10 → pool 13×13×10 = 1,690 → Dense(200): 338,460."""
    conv = conv_output_size(30, 5)
    pooled = pool_output_size(conv, 2)
    assert (conv, pooled) == (26, 13)
    flat = pooled * pooled * 10
    assert flat == 1690
    assert conv_params(5, 1, 10) == 260
    assert conv_params(5, 1, 10, use_bias=False) == 250
    assert dense_params(flat, 200) == 338_200
    assert conv_params(5, 1, 10) + dense_params(flat, 200) == 338_460


def test_effective_kernel_size():
    assert [effective_kernel_size(3, d) for d in (1, 2, 4)] == [3, 5, 9]
    assert effective_kernel_size(1, 7) == 1
    assert effective_kernel_size(2, 512) == 513


def test_parameter_formulas_from_chapter_20_section_9():
    """I·O·K without bias; depthwise I·K; separable I·K + I·O."""
    in_channels, out_channels, taps = 16, 32, 9
    assert conv_params(3, in_channels, out_channels, use_bias=False) == in_channels * out_channels * taps
    assert depthwise_conv_params(3, in_channels, use_bias=False) == in_channels * taps
    assert separable_conv_params(3, in_channels, out_channels, use_bias=False) == \
        in_channels * taps + in_channels * out_channels
    assert conv_params((3, 5), 2, 4) == (15 * 2 + 1) * 4
    assert conv_params((7,), 3, 5, use_bias=False) == 105


def test_transposed_sizes_follow_keras_rules():
    # 'valid', output_padding None: (i-1)s + max(k, s)
    assert transposed_conv_output_size(4, 3, stride=2) == 9
    assert transposed_conv_output_size(4, 1, stride=3) == 12
    assert transposed_conv_output_size(4, 3, stride=2, output_padding=1) == 10
    # 'same' with output_padding: (i-1)s + k mod 2 + op
    assert transposed_conv_output_size(4, 3, stride=2, padding="same", output_padding=0) == 7
    assert transposed_conv_output_size(4, 4, stride=2, padding="same", output_padding=1) == 7
    # int padding p: (i-1)s - 2p + k + op; 'full' is p = d(k-1), the inverse of a full convolution
    assert transposed_conv_output_size(5, 3, stride=1, padding=1) == 5
    assert transposed_conv_output_size(5, 3, padding="full") == conv_output_size(5, 3) == 3
    assert transposed_conv_output_size(3, 3, dilation=2) == 7


def test_pool_sizes():
    assert pool_output_size(7, 2) == 3
    assert pool_output_size(7, 2, padding="same") == 4
    assert pool_output_size(7, 3, stride=1) == 5
    assert pool_output_size(1, 3, padding="same") == 1


# ------------------------------------------------------------------------------------------------- properties
SIZES = st.integers(1, 40)
KERNELS = st.integers(1, 7)


@settings(max_examples=150, deadline=None)
@given(n=SIZES, k=KERNELS, s=st.integers(1, 4), d=st.integers(1, 4), p=st.integers(0, 4))
def test_conv_output_size_properties(n, k, s, d, p):
    if s > 1 and d > 1:
        s = 1
    span = d * (k - 1) + 1
    assert conv_output_size(n, k, s, "same", d) == math.ceil(n / s)
    if n + 2 * p >= span:
        assert conv_output_size(n, k, s, p, d) == (n + 2 * p - d * (k - 1) - 1) // s + 1
    assert conv_output_size(n, k, 1, "full", d) == n + span - 1
    if n >= span:
        assert conv_output_size(n, k, s, "valid", d) == conv_output_size(n, k, s, 0, d)
        # a transposed convolution restores the size it came from, up to the dropped remainder
        out = conv_output_size(n, k, s, "valid", d)
        restored = transposed_conv_output_size(out, k, s, "valid", output_padding=0, dilation=d)
        assert restored == n - (n - span) % s


@settings(max_examples=100, deadline=None)
@given(data=st.data(), depth=st.integers(1, 5))
def test_receptive_field_size_matches_recurrence(data, depth):
    kernels = data.draw(st.lists(KERNELS, min_size=depth, max_size=depth))
    strides = data.draw(st.lists(st.integers(1, 3), min_size=depth, max_size=depth))
    dilations = [1 if s > 1 else data.draw(st.integers(1, 4)) for s in strides]
    layers = [ConvLayer(k, s, "same", d) for k, s, d in zip(kernels, strides, dilations)]
    fields = receptive_field(layers, 64)
    assert fields[-1].receptive_field == receptive_field_size(kernels, dilations, strides)
    assert fields[-1].jump == math.prod(strides)


# ------------------------------------------------------------------------------------- NumPy references vs SciPy
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("kernel_shape", [(3, 3), (3, 5), (1, 4)])
def test_scipy_convolve2d_modes_agree_with_sizes_and_flipped_reference(mode, kernel_shape):
    rng = np.random.default_rng(0)
    image, kernel = rng.normal(size=(9, 11)), rng.normal(size=kernel_shape)
    expected = scipy.signal.convolve2d(image, kernel, mode=mode)
    assert expected.shape == tuple(conv_output_size(n, k, padding=mode) for n, k in zip(image.shape, kernel_shape))
    reference = conv2d_reference(image, kernel[::-1, ::-1], padding=mode)
    if mode == "same":
        # TensorFlow puts the odd padding pixel after, SciPy before: for even kernels they differ by a one-pixel
        # shift. Both are windows of the 'full' result; TensorFlow's starts at k // 2, SciPy's at (k - 1) // 2.
        full = scipy.signal.convolve2d(image, kernel, mode="full")
        (top, left), (height, width) = [k // 2 for k in kernel_shape], image.shape
        np.testing.assert_allclose(reference, full[top:top + height, left:left + width], atol=1e-12)
        if any(k % 2 == 0 for k in kernel_shape):
            assert not np.allclose(reference, expected)
            return
    np.testing.assert_allclose(reference, expected, atol=1e-12)


def test_conv2d_reference_hand_computed_stride_and_dilation():
    image = np.arange(25.0).reshape(5, 5)
    kernel = np.array([[1.0, 0.0], [0.0, -1.0]])
    # stride 2: out[i, j] = x[2i, 2j] - x[2i+1, 2j+1] = -6
    np.testing.assert_array_equal(conv2d_reference(image, kernel, stride=2), np.full((2, 2), -6.0))
    # dilation 2: out[i, j] = x[i, j] - x[i+2, j+2] = -12 on a 3×3 output
    np.testing.assert_array_equal(conv2d_reference(image, kernel, dilation=2), np.full((3, 3), -12.0))
    # padding 1 with a 1×1 kernel: the zero frame appears
    framed = conv2d_reference(np.ones((2, 2)), np.ones((1, 1)), padding=1)
    np.testing.assert_array_equal(framed, np.pad(np.ones((2, 2)), 1))


def test_sobel_is_outer_product_and_two_1d_convolutions_equal_the_2d_one():
    column, row = separable_factors(SOBEL_X)
    np.testing.assert_allclose(column, [1, 2, 1], atol=1e-12)
    np.testing.assert_allclose(row, [-1, 0, 1], atol=1e-12)
    image = np.random.default_rng(1).normal(size=(12, 10))
    for padding in ("valid", "same", "full"):
        two_pass = conv2d_reference(conv2d_reference(image, column[:, None], padding=padding), row[None, :],
                                    padding=padding)
        np.testing.assert_allclose(two_pass, conv2d_reference(image, SOBEL_X, padding=padding), atol=1e-12)


def test_separable_factors_rejects_non_separable_and_handles_general_rank_one():
    laplacian = np.array([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])
    assert separable_factors(laplacian) is None
    rng = np.random.default_rng(2)
    column, row = rng.normal(size=4), rng.normal(size=6)
    found = separable_factors(np.outer(column, row))
    assert found is not None
    np.testing.assert_allclose(np.outer(*found), np.outer(column, row), atol=1e-10)
    assert separable_factors(np.outer(column, row) + 1e-3 * rng.normal(size=(4, 6))) is None


def test_depthwise_reference_is_per_channel_convolution():
    rng = np.random.default_rng(3)
    images, kernel = rng.normal(size=(2, 6, 7, 3)), rng.normal(size=(3, 3, 3, 2))
    for padding in ("valid", "same"):
        output = depthwise_reference(images, kernel, padding=padding)
        for n in range(2):
            for c in range(3):
                for q in range(2):
                    np.testing.assert_allclose(
                        output[n, :, :, c * 2 + q],
                        conv2d_reference(images[n, :, :, c], kernel[:, :, c, q], padding=padding), atol=1e-12)


# ------------------------------------------------------------------------------------------------ argument checks
def _raises(func, *args, names, **kwargs):
    with pytest.raises(ValueError) as info:
        func(*args, **kwargs)
    for name in names:
        assert re.search(rf"`{name}`", str(info.value)), f"message {info.value!s} does not name `{name}`"


ERROR_CASES = [
    # conv_output_size
    (conv_output_size, (5, 0), {}, ["kernel_size"]),
    (conv_output_size, (5, True), {}, ["kernel_size"]),
    (conv_output_size, (5, 3), {"stride": 0}, ["stride"]),
    (conv_output_size, (5, 3), {"dilation": 0}, ["dilation"]),
    (conv_output_size, (9, 3), {"stride": 2, "dilation": 2}, ["dilation", "stride"]),
    (conv_output_size, (5, 3), {"padding": "circular"}, ["padding"]),
    (conv_output_size, (5, 3), {"padding": -1}, ["padding"]),
    (conv_output_size, (2, 3), {}, ["input_size"]),
    (conv_output_size, (4, 3), {"dilation": 2}, ["input_size"]),
    (conv_output_size, (0, 1), {}, ["input_size"]),
    # pool_output_size
    (pool_output_size, (5, 0), {}, ["pool_size"]),
    (pool_output_size, (5, 2), {"stride": 0}, ["stride"]),
    (pool_output_size, (5, 2), {"padding": "full"}, ["padding"]),
    (pool_output_size, (1, 2), {}, ["input_size"]),
    # transposed_conv_output_size
    (transposed_conv_output_size, (3, 0), {}, ["kernel_size"]),
    (transposed_conv_output_size, (3, 3), {"stride": 0}, ["stride"]),
    (transposed_conv_output_size, (3, 3), {"dilation": -1}, ["dilation"]),
    (transposed_conv_output_size, (3, 3), {"stride": 2, "dilation": 2}, ["dilation", "stride"]),
    (transposed_conv_output_size, (3, 3), {"padding": "reflect"}, ["padding"]),
    (transposed_conv_output_size, (3, 3), {"padding": -2}, ["padding"]),
    (transposed_conv_output_size, (3, 3), {"stride": 2, "output_padding": 2}, ["output_padding"]),
    (transposed_conv_output_size, (3, 3), {"stride": 2, "output_padding": -1}, ["output_padding"]),
    (transposed_conv_output_size, (1, 1), {"padding": 1}, ["padding"]),
    (transposed_conv_output_size, (1, 3), {"padding": "full"}, ["input_size", "padding"]),
    (transposed_conv_output_size, (4, 2), {"padding": "same", "output_padding": 0}, ["output_padding"]),
    # effective_kernel_size, ConvLayer, receptive_field, receptive_field_size
    (effective_kernel_size, (0, 1), {}, ["kernel_size"]),
    (effective_kernel_size, (3, 0), {}, ["dilation"]),
    (ConvLayer, (0,), {}, ["kernel_size"]),
    (ConvLayer, (3,), {"stride": 0}, ["stride"]),
    (ConvLayer, (3,), {"stride": 2, "dilation": 2}, ["dilation", "stride"]),
    (ConvLayer, (3,), {"padding": "mirror"}, ["padding"]),
    (ConvLayer, (3,), {"padding": -1}, ["padding"]),
    (receptive_field, ([ConvLayer(5)], 3), {}, ["input_size"]),
    (receptive_field, ([3], 5), {}, ["layers"]),
    (receptive_field_size, ([0],), {}, ["kernel_sizes"]),
    (receptive_field_size, ([3],), {"dilations": [0]}, ["dilations"]),
    (receptive_field_size, ([3],), {"strides": [0]}, ["strides"]),
    (receptive_field_size, ([3, 3],), {"dilations": [1]}, ["dilations"]),
    (receptive_field_size, ([3],), {"dilations": [2], "strides": [2]}, ["dilation", "stride"]),
    # parameter counts
    (conv_params, (0, 1, 1), {}, ["kernel_size"]),
    (conv_params, ((3, 0), 1, 1), {}, ["kernel_size"]),
    (conv_params, (3, 0, 1), {}, ["in_channels"]),
    (conv_params, (3, 1, 0), {}, ["out_channels"]),
    (depthwise_conv_params, (3, 2), {"depth_multiplier": 0}, ["depth_multiplier"]),
    (depthwise_conv_params, (3, 0), {}, ["in_channels"]),
    (separable_conv_params, (3, 2, 0), {}, ["out_channels"]),
    (separable_conv_params, (-3, 2, 4), {}, ["kernel_size"]),
    (dense_params, (0, 1), {}, ["in_features"]),
    (dense_params, (1, 0), {}, ["out_features"]),
    # NumPy references
    (separable_factors, (np.ones(3),), {}, ["kernel_2d"]),
    (conv2d_reference, (np.ones((3, 3)), np.ones((5, 5))), {}, ["input_size"]),
    (conv2d_reference, (np.ones((5, 5)), np.ones((3, 3))), {"stride": 0}, ["stride"]),
    (conv2d_reference, (np.ones((5, 5)), np.ones((3, 3))), {"padding": "wrap"}, ["padding"]),
    (conv2d_reference, (np.ones((5, 5)), np.ones((3, 3))), {"stride": 2, "dilation": 2}, ["dilation", "stride"]),
    (conv2d_reference, (np.ones((5, 5, 1)), np.ones((3, 3))), {}, ["image"]),
    (conv2d_reference, (np.ones((5, 5)), np.ones(3)), {}, ["kernel"]),
    (depthwise_reference, (np.ones((1, 5, 5, 2)), np.ones((3, 3, 3, 1))), {}, ["depthwise_kernel"]),
    (depthwise_reference, (np.ones((5, 5, 2)), np.ones((3, 3, 2, 1))), {}, ["images"]),
    (depthwise_reference, (np.ones((1, 5, 5, 2)), np.ones((3, 3, 2, 1))), {"padding": -1}, ["padding"]),
]


@pytest.mark.parametrize("func, args, kwargs, names", ERROR_CASES,
                         ids=[f"{case[0].__name__}-{i}" for i, case in enumerate(ERROR_CASES)])
def test_invalid_arguments_raise_value_error_naming_them(func, args, kwargs, names):
    _raises(func, *args, names=names, **kwargs)


def test_error_messages_give_the_allowed_values():
    with pytest.raises(ValueError, match=r"'valid', 'same', 'full' or an integer >= 0"):
        conv_output_size(5, 3, padding="bogus")
    with pytest.raises(ValueError, match=r">= 1"):
        conv_output_size(5, 3, stride=0)
    with pytest.raises(ValueError, match=r"\[0, stride=2\)"):
        transposed_conv_output_size(3, 3, stride=2, output_padding=2)
