"""Convolution arithmetic: output sizes, receptive fields, parameter counts and NumPy reference convolutions.

Sizes are counted in pixels (or time steps) along ONE spatial axis; square kernels, strides and padding are
assumed unless a function says otherwise. Conventions follow Keras 3:

- ``dilation`` is Keras' ``dilation_rate`` (spacing between kernel taps, 1 = ordinary convolution). The
  Advanced-CNN chapter (§8, WaveNet) counts *holes* instead, so its "dilation 1" is ``dilation=2`` here.
- Keras computes cross-correlation (no kernel flip); so do :func:`conv2d_reference` and
  :func:`depthwise_reference`.
- Keras refuses ``strides > 1`` together with ``dilation_rate > 1``; every function here does too.

Worked examples from the sources (all asserted in ``tests/test_conv_arithmetic*.py``):

- 5×5 input, two convolutions k=3, p=1, s=2 → 3×3 → 2×2, receptive fields 3 and 7
  (Stewart 2019, after Dang Ha The Hien's "A guide to receptive field arithmetic").
- 3×3 convolutions with dilations 1, 2, 4 → receptive fields 3, 7, 15 (Yu & Koltun 2016).
- WaveNet: kernel 2, dilations 1, 2, …, 512 → receptive field 1,024.
- AlexNet's first layer, k=11, s=4: 227 → 55 but 224 → 54.
- Glassner's panels: (5, k=3, p=0) → 3, (5, 3, p=1) → 5, (3, 3, p=2) → 5.
- The 338,460-parameter network of :func:`build_example_network`.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Sequence

import numpy as np

PADDING_MODES = ("valid", "same", "full")
POOL_PADDING_MODES = ("valid", "same")


# ----------------------------------------------------------------------------------------------- validation
def _check_int(name: str, value, minimum: int) -> int:
    """Return ``value`` as an int, or raise ValueError naming ``name`` and the allowed range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"`{name}` must be an integer >= {minimum}; got {value!r}")
    if value < minimum:
        raise ValueError(f"`{name}` must be an integer >= {minimum}; got {value!r}")
    return int(value)


def _check_padding(padding, allowed: Sequence[str] = PADDING_MODES, allow_int: bool = True):
    """Return a lower-case padding mode or a non-negative int, or raise ValueError naming `padding`."""
    if isinstance(padding, str):
        if padding.lower() in allowed:
            return padding.lower()
    elif allow_int and isinstance(padding, numbers.Integral) and not isinstance(padding, bool):
        if padding >= 0:
            return int(padding)
        raise ValueError(f"`padding` as an integer must be >= 0; got {padding!r}")
    choices = ", ".join(repr(mode) for mode in allowed) + (" or an integer >= 0" if allow_int else "")
    raise ValueError(f"`padding` must be one of {choices}; got {padding!r}")


def _check_stride_dilation(stride: int, dilation: int) -> None:
    if stride > 1 and dilation > 1:
        raise ValueError(
            "`dilation` > 1 cannot be combined with `stride` > 1 (Keras refuses strides > 1 with "
            f"dilation_rate > 1); got stride={stride}, dilation={dilation}"
        )


def _check_conv_args(input_size, kernel_size, stride, padding, dilation):
    """Validate the common convolution arguments; return them normalised."""
    input_size = _check_int("input_size", input_size, 1)
    kernel_size = _check_int("kernel_size", kernel_size, 1)
    stride = _check_int("stride", stride, 1)
    dilation = _check_int("dilation", dilation, 1)
    _check_stride_dilation(stride, dilation)
    return input_size, kernel_size, stride, _check_padding(padding), dilation


def _padding_amounts(input_size: int, effective_kernel: int, stride: int, padding) -> tuple[int, int]:
    """Zeros added (before, after) along one axis. 'same' pads like TensorFlow: the extra pixel goes after."""
    if padding == "valid":
        return 0, 0
    if padding == "full":
        return effective_kernel - 1, effective_kernel - 1
    if padding == "same":
        output_size = -(-input_size // stride)
        total = max((output_size - 1) * stride + effective_kernel - input_size, 0)
        return total // 2, total - total // 2
    return padding, padding


# ----------------------------------------------------------------------------------------------- output sizes
def padding_amounts(input_size: int, kernel_size: int, stride: int = 1, padding: str | int = "valid",
                    dilation: int = 1) -> tuple[int, int]:
    """Zero padding ``(before, after)`` along one axis, as Keras / TensorFlow apply it.

    'valid' → (0, 0); 'full' → (d(k−1), d(k−1)); an int p → (p, p); 'same' → TensorFlow's rule: the total
    padding makes the output ⌈n/s⌉ long, and the extra pixel (odd totals) goes after, not before.
    """
    input_size, kernel_size, stride, padding, dilation = _check_conv_args(
        input_size, kernel_size, stride, padding, dilation)
    return _padding_amounts(input_size, effective_kernel_size(kernel_size, dilation), stride, padding)


def effective_kernel_size(kernel_size: int, dilation: int) -> int:
    """Span of a dilated kernel in pixels: ``k + (k - 1)(d - 1)``, e.g. k=3, d=2 → 5; k=3, d=4 → 9.

    The number of weights does not change with dilation, only the span the taps cover (004-§2).
    """
    kernel_size = _check_int("kernel_size", kernel_size, 1)
    dilation = _check_int("dilation", dilation, 1)
    return kernel_size + (kernel_size - 1) * (dilation - 1)


def conv_output_size(input_size: int, kernel_size: int, stride: int = 1, padding: str | int = "valid",
                     dilation: int = 1) -> int:
    """Output length of a convolution along one axis: ``floor((n + 2p - d(k-1) - 1) / s) + 1``.

    ``padding``: 'valid' (p = 0), 'same' (Keras: output ``ceil(n / s)`` whatever k and d), 'full'
    (p = d(k-1), every partial overlap; what ``scipy.signal.convolve2d(mode='full')`` returns) or an int p
    (symmetric zero padding, Keras: ``ZeroPadding`` then 'valid').
    Examples: (5, 3, s=2, p=1) → 3 and (3, 3, s=2, p=1) → 2 (004-§2); (227, 11, s=4) → 55, (224, 11, s=4) → 54.
    """
    input_size, kernel_size, stride, padding, dilation = _check_conv_args(
        input_size, kernel_size, stride, padding, dilation)
    if padding == "same":
        return -(-input_size // stride)
    span = effective_kernel_size(kernel_size, dilation)
    before, after = _padding_amounts(input_size, span, stride, padding)
    if input_size + before + after < span:
        raise ValueError(
            f"`input_size` must be >= the effective kernel size {span} minus the padding "
            f"({before + after}); got input_size={input_size}, kernel_size={kernel_size}, "
            f"dilation={dilation}, padding={padding!r}")
    return (input_size + before + after - span) // stride + 1


def pool_output_size(input_size: int, pool_size: int, stride: int | None = None, padding: str = "valid") -> int:
    """Output length of max/average pooling along one axis (Keras ``MaxPooling2D``/``AveragePooling2D``).

    ``stride`` defaults to ``pool_size`` as in Keras. 'valid': ``floor((n - pool) / s) + 1``; 'same': ``ceil(n / s)``.
    Example: the 338,460-parameter network pools 26 → 13 with pool 2 (004-§1).
    """
    input_size = _check_int("input_size", input_size, 1)
    pool_size = _check_int("pool_size", pool_size, 1)
    stride = pool_size if stride is None else _check_int("stride", stride, 1)
    padding = _check_padding(padding, POOL_PADDING_MODES, allow_int=False)
    if padding == "same":
        return -(-input_size // stride)
    if input_size < pool_size:
        raise ValueError(f"`input_size` must be >= pool_size={pool_size} with padding='valid'; "
                         f"got input_size={input_size}")
    return (input_size - pool_size) // stride + 1


def transposed_conv_output_size(input_size: int, kernel_size: int, stride: int = 1, padding: str | int = "valid",
                                output_padding: int | None = None, dilation: int = 1) -> int:
    """Output length of a transposed convolution along one axis, exactly as Keras' ``Conv2DTranspose``.

    With k' = d(k-1) + 1: 'valid' gives ``(i-1)s + k' + op`` where op defaults to ``max(k', s) - k'``
    (so ``(i-1)s + max(k', s)``); 'same' gives ``i·s`` when ``output_padding`` is None, else
    ``(i-1)s + k' mod 2 + op``. An int p (or 'full', p = k'-1) gives ``(i-1)s - 2p + k' + op`` (Dumoulin &
    Visin 2016), op defaulting to 0. ``output_padding`` must lie in [0, stride) as Keras requires, and be
    >= 1 for 'same' with an even k' (Keras' shape rule accepts 0 there but TensorFlow's kernel refuses it).
    Example (004-§4, Glassner): 3 → 5 for k=3, s=1, 'valid'; Conv2DTranspose(s=2, 'same'): 14 → 28.
    """
    input_size, kernel_size, stride, padding, dilation = _check_conv_args(
        input_size, kernel_size, stride, padding, dilation)
    if output_padding is not None:
        output_padding = _check_int("output_padding", output_padding, 0)
        if output_padding >= stride:
            raise ValueError(f"`output_padding` must be in [0, stride={stride}) as in Keras; "
                             f"got output_padding={output_padding}")
    span = effective_kernel_size(kernel_size, dilation)
    if padding == "valid":
        extra = max(span, stride) - span if output_padding is None else output_padding
        size = (input_size - 1) * stride + span + extra
    elif padding == "same":
        if output_padding == 0 and span % 2 == 0:
            raise ValueError(  # Keras' shape rule gives (i-1)s here, but TensorFlow's kernel refuses to run it
                "`output_padding` must be >= 1 with padding='same' and an even effective kernel size "
                f"({span}); TensorFlow's Conv2DTranspose refuses output_padding=0 there")
        size = input_size * stride if output_padding is None else (
            (input_size - 1) * stride + span % 2 + output_padding)
    else:
        crop = span - 1 if padding == "full" else padding
        size = (input_size - 1) * stride - 2 * crop + span + (output_padding or 0)
    if size <= 0:
        raise ValueError(
            f"output size would be {size}: raise `input_size` ({input_size}) or `output_padding` "
            f"({output_padding}), or lower `padding` ({padding!r}) so that the output is >= 1")
    return size


# ----------------------------------------------------------------------------------------------- receptive fields
@dataclass(frozen=True)
class ConvLayer:
    """One convolution (or pooling) layer for receptive-field arithmetic; ``padding`` as in conv_output_size."""

    kernel_size: int
    stride: int = 1
    padding: str | int = 0
    dilation: int = 1
    name: str = ""

    def __post_init__(self):
        _check_int("kernel_size", self.kernel_size, 1)
        stride = _check_int("stride", self.stride, 1)
        dilation = _check_int("dilation", self.dilation, 1)
        _check_stride_dilation(stride, dilation)
        _check_padding(self.padding)


@dataclass(frozen=True)
class FieldInfo:
    """Per-layer result of :func:`receptive_field`.

    ``output_size``: feature-map length; ``jump``: input pixels between neighbouring features;
    ``receptive_field``: input pixels one feature sees; ``start``: input coordinate of the first
    feature's centre (pixel i spans [i, i+1), so the input's first pixel centre is 0.5).
    """

    name: str
    output_size: int
    jump: float
    receptive_field: int
    start: float


def receptive_field(layers: Sequence[ConvLayer], input_size: int) -> list[FieldInfo]:
    """Receptive-field arithmetic (Dang Ha The Hien 2017) for a stack of layers, one FieldInfo per layer.

    n_out = conv_output_size(...); j_out = j_in·s; r_out = r_in + (k'-1)·j_in;
    start_out = start_in + ((k'-1)/2 - p_before)·j_in, with k' the effective (dilated) kernel size.
    Example (004-§2): 5×5 input, two layers k=3, p=1, s=2 → (n, j, r, start) = (3, 2, 3, 0.5), (2, 4, 7, 0.5).
    """
    size = _check_int("input_size", input_size, 1)
    jump, field, start = 1.0, 1, 0.5
    result = []
    for index, layer in enumerate(layers):
        if not isinstance(layer, ConvLayer):
            raise ValueError(f"`layers` must hold ConvLayer instances; item {index} is {layer!r}")
        padding = _check_padding(layer.padding)
        span = effective_kernel_size(layer.kernel_size, layer.dilation)
        before, _ = _padding_amounts(size, span, layer.stride, padding)
        output_size = conv_output_size(size, layer.kernel_size, layer.stride, padding, layer.dilation)
        field += (span - 1) * int(jump)
        start += ((span - 1) / 2 - before) * jump
        jump *= layer.stride
        size = output_size
        result.append(FieldInfo(layer.name or f"layer {index + 1}", size, jump, field, start))
    return result


def receptive_field_size(kernel_sizes: Sequence[int], dilations: Sequence[int] | None = None,
                         strides: Sequence[int] | None = None) -> int:
    """Receptive field of a stack: ``1 + Σ (k_i - 1)·d_i·Π_{j<i} s_j`` (input pixels or time steps).

    Examples: WaveNet kernel 2, dilations 1, 2, …, 512 → 1,024 (chapter 20 §8); 3×3 with dilations 1, 2, 4 → 15
    (Yu & Koltun); three plain 3×3 layers → 7 (VGG: two 3×3 see as much as one 5×5).
    """
    count = len(kernel_sizes)
    dilations = [1] * count if dilations is None else list(dilations)
    strides = [1] * count if strides is None else list(strides)
    if len(dilations) != count or len(strides) != count:
        raise ValueError(f"`dilations` and `strides` must have one entry per kernel ({count}); "
                         f"got {len(dilations)} dilations and {len(strides)} strides")
    field, jump = 1, 1
    for kernel_size, dilation, stride in zip(kernel_sizes, dilations, strides):
        kernel_size = _check_int("kernel_sizes", kernel_size, 1)
        dilation = _check_int("dilations", dilation, 1)
        stride = _check_int("strides", stride, 1)
        _check_stride_dilation(stride, dilation)
        field += (kernel_size - 1) * dilation * jump
        jump *= stride
    return field


# ----------------------------------------------------------------------------------------------- parameter counts
def _kernel_volume(kernel_size) -> int:
    """Taps in a kernel: an int k means a square 2-D k×k kernel (Conv2D's convention); a tuple is multiplied out."""
    if isinstance(kernel_size, numbers.Integral) and not isinstance(kernel_size, bool):
        return _check_int("kernel_size", kernel_size, 1) ** 2
    if isinstance(kernel_size, (tuple, list)) and kernel_size:
        return math.prod(_check_int("kernel_size", k, 1) for k in kernel_size)
    raise ValueError(f"`kernel_size` must be an integer >= 1 or a non-empty tuple of them; got {kernel_size!r}")


def conv_params(kernel_size: int | tuple, in_channels: int, out_channels: int, use_bias: bool = True) -> int:
    """Weights of a convolution: ``(K·I + bias)·O`` with K taps (I·O·K without bias, chapter 20 §9).

    Dilation does not change the count. Example (004-§1): 5×5 kernel, 1 → 10 channels → 260.
    """
    taps = _kernel_volume(kernel_size)
    in_channels = _check_int("in_channels", in_channels, 1)
    out_channels = _check_int("out_channels", out_channels, 1)
    return (taps * in_channels + int(bool(use_bias))) * out_channels


def depthwise_conv_params(kernel_size, in_channels: int, depth_multiplier: int = 1, use_bias: bool = True) -> int:
    """Weights of ``DepthwiseConv2D``: ``K·I·m`` plus ``I·m`` biases (each channel gets its own m filters)."""
    taps = _kernel_volume(kernel_size)
    in_channels = _check_int("in_channels", in_channels, 1)
    depth_multiplier = _check_int("depth_multiplier", depth_multiplier, 1)
    return (taps + int(bool(use_bias))) * in_channels * depth_multiplier


def separable_conv_params(kernel_size, in_channels: int, out_channels: int, depth_multiplier: int = 1,
                          use_bias: bool = True) -> int:
    """Weights of ``SeparableConv2D``: depthwise ``K·I·m`` + pointwise ``I·m·O`` + O biases.

    Chapter 20 §9.6 (Xception, MobileNet); without bias and m = 1 that is I·K + I·O instead of I·O·K.
    """
    taps = _kernel_volume(kernel_size)
    in_channels = _check_int("in_channels", in_channels, 1)
    out_channels = _check_int("out_channels", out_channels, 1)
    depth_multiplier = _check_int("depth_multiplier", depth_multiplier, 1)
    depthwise = taps * in_channels * depth_multiplier
    return depthwise + in_channels * depth_multiplier * out_channels + int(bool(use_bias)) * out_channels


def dense_params(in_features: int, out_features: int, use_bias: bool = True) -> int:
    """Weights of ``Dense``: ``in·out + out``. Example (004-§1): 1,690 → 200 gives 338,200."""
    in_features = _check_int("in_features", in_features, 1)
    out_features = _check_int("out_features", out_features, 1)
    return (in_features + int(bool(use_bias))) * out_features


# ----------------------------------------------------------------------------------------------- Keras models
def build_example_network():
    """The 338,460-parameter network of Stewart's "Advanced topics in deep CNNs" (004-§1), as a Keras model.

    Input (30, 30, 1) → Conv2D(10, 5, 'valid') (26×26×10; 250 weights + 10 biases) → MaxPooling2D(2)
    (13×13×10 = 1,690) → Flatten → Dense(200) (338,000 weights + 200 biases). The article's figure with the
    input size is lost: 30×30×1 is a reconstruction consistent with every number the text quotes.
    """
    import keras

    inputs = keras.Input(shape=(30, 30, 1), name="image")
    x = keras.layers.Conv2D(10, 5, activation="relu", name="conv")(inputs)
    x = keras.layers.MaxPooling2D(2, name="pool")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    outputs = keras.layers.Dense(200, name="dense")(x)
    return keras.Model(inputs, outputs, name="stewart_example_network")


def _linear_copy_layer(layer):
    """clone_model hook: same layer, but linear activation, and average instead of max pooling."""
    import keras

    config = layer.get_config()
    pools = {keras.layers.MaxPooling1D: keras.layers.AveragePooling1D,
             keras.layers.MaxPooling2D: keras.layers.AveragePooling2D,
             keras.layers.MaxPooling3D: keras.layers.AveragePooling3D}
    if type(layer) in pools:
        return pools[type(layer)].from_config(config)
    if isinstance(layer, (keras.layers.ReLU, keras.layers.LeakyReLU, keras.layers.ELU, keras.layers.Softmax)):
        return keras.layers.Identity(name=layer.name)
    if "activation" in config:
        config["activation"] = "linear"
    return layer.__class__.from_config(config)


def empirical_receptive_field(model) -> int:
    """Measured receptive field (pixels along the first spatial axis) of the centre output of ``model``.

    Copies the model with all-ones kernels, zero biases, linear activations and average pooling, then
    returns the extent of the non-zero entries of d(sum of centre-output channels) / d(input). The model
    must map (batch, *spatial, channels) with fixed spatial sizes to a spatial output; inputs smaller than
    the receptive field clip it. Equals :func:`receptive_field_size` (e.g. 15 for 3×3 dilations 1, 2, 4).
    """
    import keras
    import tensorflow as tf

    input_shape = tuple(model.inputs[0].shape[1:]) if getattr(model, "inputs", None) else ()
    if len(input_shape) < 2 or any(dim is None for dim in input_shape):
        raise ValueError(f"`model` must have one input with fixed spatial sizes; got input shape {input_shape}")
    copy = keras.models.clone_model(model, clone_function=_linear_copy_layer)
    for variable in copy.weights:
        zero = variable.path.endswith(("bias", "beta", "moving_mean"))
        variable.assign(np.zeros(variable.shape) if zero else np.ones(variable.shape))
    inputs = tf.zeros((1,) + input_shape)
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        outputs = copy(inputs, training=False)
        if len(outputs.shape) < 3:
            raise ValueError(f"`model` output must be spatial (batch, *spatial, channels); got {outputs.shape}")
        centre = tuple(size // 2 for size in outputs.shape[1:-1])
        target = tf.reduce_sum(outputs[(0,) + centre])
    gradient = np.abs(tape.gradient(target, inputs).numpy()[0])
    profile = gradient.sum(axis=tuple(range(1, gradient.ndim)))
    touched = np.flatnonzero(profile > 0)
    return int(touched[-1] - touched[0] + 1) if touched.size else 0


# ----------------------------------------------------------------------------------------------- NumPy references
def separable_factors(kernel_2d: np.ndarray, atol: float = 1e-8) -> tuple[np.ndarray, np.ndarray] | None:
    """Split a (kh, kw) kernel into ``(column (kh,), row (kw,))`` with ``kernel == outer(column, row)``.

    Uses the rank-1 SVD; returns None if the kernel is not separable within ``atol``. Scaled so the
    column's first non-zero entry is 1: Sobel-x gives ([1, 2, 1], [-1, 0, 1]) (chapter 20 §9.4 — an
    *outer* product, not the "dot product" the book says).
    """
    kernel = np.asarray(kernel_2d, dtype=np.float64)
    if kernel.ndim != 2 or kernel.size == 0 or not np.all(np.isfinite(kernel)):
        raise ValueError(f"`kernel_2d` must be a non-empty finite 2-D array; got shape {kernel.shape}")
    if not atol >= 0:
        raise ValueError(f"`atol` must be >= 0; got {atol!r}")
    left, singular, right = np.linalg.svd(kernel)
    column = left[:, 0] * np.sqrt(singular[0])
    row = right[0] * np.sqrt(singular[0])
    if not np.allclose(np.outer(column, row), kernel, rtol=0.0, atol=atol):
        return None
    nonzero = np.flatnonzero(np.abs(column) > atol)
    if nonzero.size:
        scale = column[nonzero[0]]
        column, row = column / scale, row * scale
    return column, row


def _pad_2d(array: np.ndarray, kernel_shape, stride: int, padding, dilation: int, axes=(0, 1)):
    """Zero-pad ``array`` on its two spatial ``axes``; return (padded, output_height, output_width)."""
    widths = [(0, 0)] * array.ndim
    output_sizes = []
    for axis, kernel_size in zip(axes, kernel_shape):
        output_sizes.append(conv_output_size(array.shape[axis], kernel_size, stride, padding, dilation))
        span = effective_kernel_size(kernel_size, dilation)
        widths[axis] = _padding_amounts(array.shape[axis], span, stride, _check_padding(padding))
    return np.pad(array, widths), output_sizes[0], output_sizes[1]


def conv2d_reference(image: np.ndarray, kernel: np.ndarray, stride: int = 1, padding: str | int = "valid",
                     dilation: int = 1) -> np.ndarray:
    """Single-channel 2-D cross-correlation (what Keras ``Conv2D`` computes): (H, W) * (kh, kw) → (H', W').

    ``out[i, j] = Σ_ab kernel[a, b] · padded[i·s + a·d, j·s + b·d]``; padding and sizes as in
    :func:`conv_output_size` ('same' pads the extra pixel after, like TensorFlow). float64 result.
    """
    image = np.asarray(image, dtype=np.float64)
    kernel = np.asarray(kernel, dtype=np.float64)
    if image.ndim != 2:
        raise ValueError(f"`image` must be 2-D (H, W); got shape {image.shape}")
    if kernel.ndim != 2 or kernel.size == 0:
        raise ValueError(f"`kernel` must be a non-empty 2-D array (kh, kw); got shape {kernel.shape}")
    padded, out_h, out_w = _pad_2d(image, kernel.shape, stride, padding, dilation)
    output = np.zeros((out_h, out_w))
    for a in range(kernel.shape[0]):
        for b in range(kernel.shape[1]):
            window = padded[a * dilation::stride, b * dilation::stride][:out_h, :out_w]
            output += kernel[a, b] * window
    return output


def depthwise_reference(images: np.ndarray, depthwise_kernel: np.ndarray, padding: str | int = "valid") -> np.ndarray:
    """Depthwise convolution (Keras ``DepthwiseConv2D``, stride 1): each channel filtered on its own.

    images (N, H, W, C), depthwise_kernel (kh, kw, C, m) → (N, H', W', C·m); output channel c·m + q holds
    channel c filtered by ``depthwise_kernel[..., c, q]`` (chapter 20 §9.5). float64 result.
    """
    images = np.asarray(images, dtype=np.float64)
    kernel = np.asarray(depthwise_kernel, dtype=np.float64)
    if images.ndim != 4:
        raise ValueError(f"`images` must be 4-D (N, H, W, C); got shape {images.shape}")
    if kernel.ndim != 4 or kernel.shape[2] != images.shape[3] or 0 in kernel.shape:
        raise ValueError(f"`depthwise_kernel` must have shape (kh, kw, C={images.shape[3]}, m); "
                         f"got {kernel.shape}")
    padded, out_h, out_w = _pad_2d(images, kernel.shape[:2], 1, padding, 1, axes=(1, 2))
    output = np.zeros((images.shape[0], out_h, out_w) + kernel.shape[2:])
    for a in range(kernel.shape[0]):
        for b in range(kernel.shape[1]):
            output += padded[:, a:a + out_h, b:b + out_w, :, None] * kernel[a, b]
    return output.reshape(output.shape[:3] + (-1,))
