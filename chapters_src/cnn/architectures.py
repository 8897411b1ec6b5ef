"""Classic CNN architectures from LeNet-5 to Xception, as Keras 3 functional builders.

Every builder has the same shape of signature, so other chapters can reuse them as backbones::

    build_vgg16(input_shape=(224, 224, 3), num_classes=1000, include_top=True)   # -> keras.Model

``include_top=False`` returns the convolutional base (its output is the last feature map); builders never load
weights (train them, or use :mod:`chapters_src.cnn.pretrained` for ImageNet weights). Layer names follow
``keras.applications`` where that network exists there (``block4_pool``, ``fc2``, ``conv5_block3_out``,
``mixed9`` ...), so feature-extraction code works on both.

Published parameter counts (checked by ``python -m chapters_src.cnn.params`` and the tests):

=====================  ===========  ==========================================================
network                 parameters   note
=====================  ===========  ==========================================================
LeNet-5 (faithful)          60,000   trainable; partial C3 table, trainable subsampling, fixed RBF
LeNet-5 (modern)            61,706   dense C3, max pooling, softmax
AlexNet (two groups)    60,965,224   conv2/4/5 as two explicit branches (227×227 input)
AlexNet (single tower)  62,378,344
VGG16 / VGG19      138,357,544 / 143,667,240
GoogLeNet                6,998,552   no auxiliary heads, no LRN
ResNet50                25,636,712
DenseNet121              8,062,504
SqueezeNet 1.0 / 1.1  1,248,424 / 1,235,496
ENet                       ≈ 0.37 M  (segmentation; upsampling without max-unpooling indices)
Xception / MobileNetV2  22,910,480 / 3,538,984
=====================  ===========  ==========================================================
"""
from __future__ import annotations

from typing import Sequence

import keras
from keras import layers, ops

__all__ = [
    "SelectChannels", "LocalResponseNormalization", "RBFOutput", "PadChannels", "FractalJoin", "lecun_tanh",
    "LENET_C3_TABLE", "build_lenet5", "build_alexnet", "build_vgg", "build_vgg16", "build_vgg19",
    "inception_module", "build_googlenet", "factorised_conv", "factorisation_saving",
    "residual_block", "bottleneck_block", "bottleneck_weights", "build_resnet50",
    "dense_block", "transition_block", "densenet_connections", "build_densenet121",
    "fire_module", "build_squeezenet", "build_enet", "fractal_block", "fractal_counts", "build_fractal_net",
    "build_xception", "build_mobilenet_v2", "longest_path", "separable_savings",
]


# --------------------------------------------------------------------------------------------------------------
# Small layers the classic papers need and Keras does not have.
# --------------------------------------------------------------------------------------------------------------

@keras.saving.register_keras_serializable(package="chapters_src")
def lecun_tanh(x):
    """LeCun et al. (1998)'s squashing function ``1.7159 · tanh(2x/3)`` (so that f(±1) = ±1)."""
    return 1.7159 * ops.tanh(x * (2.0 / 3.0))


@keras.saving.register_keras_serializable(package="chapters_src")
class SelectChannels(layers.Layer):
    """Keep the listed channels of a ``(batch, h, w, c)`` tensor, in that order (an explicit branch input)."""

    def __init__(self, channels: Sequence[int], **kwargs):
        super().__init__(**kwargs)
        self.channels = [int(c) for c in channels]
        if not self.channels:
            raise ValueError("channels must list at least one channel index")

    def call(self, inputs):
        return ops.take(inputs, self.channels, axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], len(self.channels))

    def get_config(self):
        return {**super().get_config(), "channels": self.channels}


@keras.saving.register_keras_serializable(package="chapters_src")
class LocalResponseNormalization(layers.Layer):
    """AlexNet's local response normalisation across channels (Krizhevsky et al. 2012, §3.3).

    ``b_i = a_i / (k + alpha · Σ_{j=i-n/2}^{i+n/2} a_j²)^beta`` with the paper's ``k=2, n=5, alpha=1e-4,
    beta=0.75``. No parameters.
    """

    def __init__(self, size: int = 5, k: float = 2.0, alpha: float = 1e-4, beta: float = 0.75, **kwargs):
        super().__init__(**kwargs)
        if size < 1 or size % 2 == 0:
            raise ValueError(f"size must be an odd integer ≥ 1; got {size}")
        self.size, self.k, self.alpha, self.beta = int(size), float(k), float(alpha), float(beta)

    def call(self, inputs):
        radius = self.size // 2
        squares = ops.pad(ops.square(inputs), [[0, 0], [0, 0], [0, 0], [radius, radius]])
        cumulative = ops.pad(ops.cumsum(squares, axis=-1), [[0, 0], [0, 0], [0, 0], [1, 0]])
        channels = inputs.shape[-1]
        window_sums = cumulative[..., self.size:self.size + channels] - cumulative[..., :channels]
        return inputs / ops.power(self.k + self.alpha * window_sums, self.beta)

    def get_config(self):
        return {**super().get_config(), "size": self.size, "k": self.k, "alpha": self.alpha, "beta": self.beta}


@keras.saving.register_keras_serializable(package="chapters_src")
class RBFOutput(layers.Layer):
    """LeNet-5's output layer: one Euclidean radial-basis unit per class with *fixed* ±1 codes (not trained).

    Returns ``-Σ_j (x_j - w_ij)²`` per class ``i``: the negated RBF distances, usable as logits. The codes
    (``units × input_dim``, non-trainable) are a seeded random ±1 pattern (the paper drew stylised 7×12 bitmaps).
    """

    def __init__(self, units: int = 10, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.units, self.seed = int(units), int(seed)

    def build(self, input_shape):
        import numpy as np

        codes = np.random.default_rng(self.seed).choice([-1.0, 1.0], size=(self.units, int(input_shape[-1])))
        self.codes = self.add_weight(shape=codes.shape, initializer=keras.initializers.Constant(codes),
                                     trainable=False, name="codes")

    def call(self, inputs):
        differences = ops.expand_dims(inputs, 1) - ops.expand_dims(self.codes, 0)
        return -ops.sum(ops.square(differences), axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "seed": self.seed}


@keras.saving.register_keras_serializable(package="chapters_src")
class PadChannels(layers.Layer):
    """Append ``extra`` all-zero channels (ENet's downsampling shortcut)."""

    def __init__(self, extra: int, **kwargs):
        super().__init__(**kwargs)
        self.extra = int(extra)

    def call(self, inputs):
        return ops.pad(inputs, [[0, 0], [0, 0], [0, 0], [0, self.extra]])

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] + self.extra)

    def get_config(self):
        return {**super().get_config(), "extra": self.extra}


@keras.saving.register_keras_serializable(package="chapters_src")
class FractalJoin(layers.Layer):
    """FractalNet's join: the element-wise mean of its inputs, with *local drop-path* while training.

    In training mode every input is dropped with probability ``drop_rate`` (one decision per batch), at least one
    input is always kept, and the kept inputs are averaged. At inference it is the plain mean.
    """

    def __init__(self, drop_rate: float = 0.15, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= drop_rate < 1.0:
            raise ValueError(f"drop_rate must be in [0, 1); got {drop_rate}")
        self.drop_rate, self.seed = float(drop_rate), seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=None):
        stacked = ops.stack(inputs, axis=0)
        count = len(inputs)
        if not training or self.drop_rate == 0.0:
            return ops.mean(stacked, axis=0)
        keep = ops.cast(keras.random.uniform((count,), seed=self.seed_generator) >= self.drop_rate, "float32")
        forced = ops.one_hot(keras.random.randint((), 0, count, seed=self.seed_generator), count)
        keep = ops.where(ops.sum(keep) > 0, keep, forced)
        weights = ops.reshape(keep / ops.sum(keep), (count, 1, 1, 1, 1))
        return ops.sum(stacked * ops.cast(weights, stacked.dtype), axis=0)

    def compute_output_shape(self, input_shapes):
        return input_shapes[0]

    def get_config(self):
        return {**super().get_config(), "drop_rate": self.drop_rate, "seed": self.seed}


def _check_common(input_shape, num_classes) -> tuple[int, ...]:
    shape = tuple(int(s) for s in input_shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"input_shape must be (height, width, channels) with positive sizes; got {input_shape}")
    if int(num_classes) < 1:
        raise ValueError(f"num_classes must be ≥ 1; got {num_classes}")
    return shape


def _classifier_head(x, include_top, num_classes, pooling="avg", name="predictions"):
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x) if pooling == "avg" else x
        x = layers.Dense(num_classes, activation="softmax", name=name)(x)
    return x


# --------------------------------------------------------------------------------------------------------------
# LeNet-5 (LeCun et al. 1998) and AlexNet (Krizhevsky et al. 2012)
# --------------------------------------------------------------------------------------------------------------

#: Which S2 maps feed each of the 16 C3 maps (LeCun et al. 1998, Table I).
LENET_C3_TABLE: tuple[tuple[int, ...], ...] = (
    (0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (4, 5, 0), (5, 0, 1),
    (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (3, 4, 5, 0), (4, 5, 0, 1), (5, 0, 1, 2),
    (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5),
    (0, 1, 2, 3, 4, 5),
)


def _trainable_subsampling(x, name):
    """2×2 average, then one trainable coefficient and bias per channel, then the squashing function."""
    x = layers.AveragePooling2D(2, name=f"{name}_pool")(x)
    x = layers.DepthwiseConv2D(1, use_bias=True, name=name)(x)
    return layers.Activation(lecun_tanh, name=f"{name}_act")(x)


def build_lenet5(input_shape=(32, 32, 1), num_classes=10, include_top=True, faithful=True) -> keras.Model:
    """LeNet-5 on ``(32, 32, 1)`` digits.

    ``faithful=True`` (the 1998 paper): C1 6@5×5 → S2 trainable subsampling → C3 16@5×5 connected to S2 by
    :data:`LENET_C3_TABLE` (16 explicit branches) → S4 → C5 120@5×5 → F6 84 → fixed RBF output: 60,000
    trainable parameters (156 + 12 + 1,516 + 32 + 48,120 + 10,164) plus 840 fixed RBF codes.
    ``faithful=False``: the usual modern simplification (dense C3, ReLU, max pooling, Dense softmax): 61,706.
    """
    shape = _check_common(input_shape, num_classes)
    inputs = keras.Input(shape, name="input")
    if not faithful:
        x = layers.Conv2D(6, 5, activation="relu", name="c1")(inputs)
        x = layers.MaxPooling2D(2, name="s2")(x)
        x = layers.Conv2D(16, 5, activation="relu", name="c3")(x)
        x = layers.MaxPooling2D(2, name="s4")(x)
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(120, activation="relu", name="c5")(x)
        x = layers.Dense(84, activation="relu", name="f6")(x)
        if include_top:
            x = layers.Dense(num_classes, activation="softmax", name="predictions")(x)
        return keras.Model(inputs, x, name="lenet5_modern")
    x = layers.Conv2D(6, 5, activation=lecun_tanh, name="c1")(inputs)
    x = _trainable_subsampling(x, "s2")
    branches = [layers.Conv2D(1, 5, name=f"c3_map{i}")(SelectChannels(sources, name=f"c3_in{i}")(x))
                for i, sources in enumerate(LENET_C3_TABLE)]
    x = layers.Concatenate(name="c3")(branches)
    x = layers.Activation(lecun_tanh, name="c3_act")(x)
    x = _trainable_subsampling(x, "s4")
    x = layers.Conv2D(120, 5, activation=lecun_tanh, name="c5")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(84, activation=lecun_tanh, name="f6")(x)
    if include_top:
        x = RBFOutput(num_classes, name="rbf_output")(x)
    return keras.Model(inputs, x, name="lenet5")


def _grouped_conv(x, filters, kernel_size, groups, name, kernel_initializer, padding="same"):
    """A grouped convolution as ``groups`` explicit branches (TF's grouped Conv2D fails on some CPUs)."""
    channels = x.shape[-1]
    if channels % groups or filters % groups:
        raise ValueError(f"channels ({channels}) and filters ({filters}) must be divisible by groups ({groups})")
    step = channels // groups
    branches = [layers.Conv2D(filters // groups, kernel_size, padding=padding, activation="relu",
                              kernel_initializer=kernel_initializer, name=f"{name}_{g + 1}")(
        SelectChannels(range(g * step, (g + 1) * step), name=f"{name}_{g + 1}_in")(x)) for g in range(groups)]
    return layers.Concatenate(name=name)(branches)


def build_alexnet(input_shape=(227, 227, 3), num_classes=1000, include_top=True, grouped=True,
                  local_response_normalization=True, kernel_initializer="glorot_uniform") -> keras.Model:
    """AlexNet: conv 96@11×11/4 → 256@5×5 → 384@3×3 → 384@3×3 → 256@3×3 → FC 4096 → 4096 → ``num_classes``.

    ``grouped=True`` writes the two-GPU model: conv2, conv4 and conv5 see only their own half of the channels
    (explicit branches): 60,965,224 parameters. ``grouped=False``: one tower, 62,378,344. A 227×227 input gives
    55×55×96 after conv1; the paper's 224 would give 54 (``⌊(224 − 11)/4⌋ + 1``).
    """
    shape = _check_common(input_shape, num_classes)
    init = kernel_initializer
    inputs = keras.Input(shape, name="input")
    x = layers.Conv2D(96, 11, strides=4, activation="relu", kernel_initializer=init, name="conv1")(inputs)
    if local_response_normalization:
        x = LocalResponseNormalization(name="norm1")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1")(x)
    if grouped:
        x = _grouped_conv(x, 256, 5, 2, "conv2", init)
    else:
        x = layers.Conv2D(256, 5, padding="same", activation="relu", kernel_initializer=init, name="conv2")(x)
    if local_response_normalization:
        x = LocalResponseNormalization(name="norm2")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool2")(x)
    x = layers.Conv2D(384, 3, padding="same", activation="relu", kernel_initializer=init, name="conv3")(x)
    if grouped:   # the two towers stay apart through conv4 and conv5
        towers = []
        for g in range(2):
            t = SelectChannels(range(g * 192, (g + 1) * 192), name=f"tower{g + 1}_in")(x)
            t = layers.Conv2D(192, 3, padding="same", activation="relu", kernel_initializer=init,
                              name=f"conv4_{g + 1}")(t)
            t = layers.Conv2D(128, 3, padding="same", activation="relu", kernel_initializer=init,
                              name=f"conv5_{g + 1}")(t)
            towers.append(t)
        x = layers.Concatenate(name="conv5")(towers)
    else:
        x = layers.Conv2D(384, 3, padding="same", activation="relu", kernel_initializer=init, name="conv4")(x)
        x = layers.Conv2D(256, 3, padding="same", activation="relu", kernel_initializer=init, name="conv5")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool5")(x)
    if include_top:
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(4096, activation="relu", kernel_initializer=init, name="fc6")(x)
        x = layers.Dropout(0.5, name="drop6")(x)
        x = layers.Dense(4096, activation="relu", kernel_initializer=init, name="fc7")(x)
        x = layers.Dropout(0.5, name="drop7")(x)
        x = layers.Dense(num_classes, activation="softmax", kernel_initializer=init, name="predictions")(x)
    return keras.Model(inputs, x, name="alexnet" if grouped else "alexnet_single_tower")


# --------------------------------------------------------------------------------------------------------------
# VGG (Simonyan & Zisserman 2014)
# --------------------------------------------------------------------------------------------------------------

_VGG_BLOCKS = {16: (2, 2, 3, 3, 3), 19: (2, 2, 4, 4, 4)}


def build_vgg(depth=16, input_shape=(224, 224, 3), num_classes=1000, include_top=True,
              kernel_initializer="glorot_uniform") -> keras.Model:
    """VGG16 (``depth=16``, configuration D) or VGG19 (E): blocks of 3×3 'same' convolutions (64, 128, 256, 512,
    512 filters) each closed by 2×2/2 max pooling, then ``flatten`` → ``fc1`` 4096 → ``fc2`` 4096 →
    ``predictions``. Layer names equal ``keras.applications``'. 138,357,544 / 143,667,240 parameters at 224×224.
    ``kernel_initializer="zeros"`` builds much faster when only the shapes and counts matter.
    """
    if depth not in _VGG_BLOCKS:
        raise ValueError(f"depth must be 16 or 19; got {depth}")
    shape = _check_common(input_shape, num_classes)
    inputs = keras.Input(shape, name="input_layer")
    x = inputs
    for block, (convolutions, filters) in enumerate(zip(_VGG_BLOCKS[depth], (64, 128, 256, 512, 512)), start=1):
        for index in range(1, convolutions + 1):
            x = layers.Conv2D(filters, 3, padding="same", activation="relu", kernel_initializer=kernel_initializer,
                              name=f"block{block}_conv{index}")(x)
        x = layers.MaxPooling2D(2, strides=2, name=f"block{block}_pool")(x)
    if include_top:
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(4096, activation="relu", kernel_initializer=kernel_initializer, name="fc1")(x)
        x = layers.Dense(4096, activation="relu", kernel_initializer=kernel_initializer, name="fc2")(x)
        x = layers.Dense(num_classes, activation="softmax", kernel_initializer=kernel_initializer,
                         name="predictions")(x)
    return keras.Model(inputs, x, name=f"vgg{depth}")


def build_vgg16(input_shape=(224, 224, 3), num_classes=1000, include_top=True, **options) -> keras.Model:
    """VGG16; see :func:`build_vgg`."""
    return build_vgg(16, input_shape, num_classes, include_top, **options)


def build_vgg19(input_shape=(224, 224, 3), num_classes=1000, include_top=True, **options) -> keras.Model:
    """VGG19; see :func:`build_vgg`."""
    return build_vgg(19, input_shape, num_classes, include_top, **options)


# --------------------------------------------------------------------------------------------------------------
# GoogLeNet / Inception (Szegedy et al. 2015, 2016)
# --------------------------------------------------------------------------------------------------------------

def _conv_relu(x, filters, kernel_size, name, strides=1):
    return layers.Conv2D(filters, kernel_size, strides=strides, padding="same", activation="relu", name=name)(x)


def inception_module(x, filters: Sequence[int], name: str, reduce: bool = True):
    """An Inception v1 module: parallel 1×1, 3×3, 5×5 convolutions and 3×3 max pooling, concatenated.

    ``filters = (f1x1, f3x3_reduce, f3x3, f5x5_reduce, f5x5, pool_proj)`` as in Szegedy et al. (2015), Table 1.
    ``reduce=False`` is the *naive* module: no 1×1 reductions before the 3×3/5×5 convolutions and no projection
    after the pooling (which then passes all input channels through).
    """
    if len(filters) != 6:
        raise ValueError(f"filters must be (1x1, 3x3_reduce, 3x3, 5x5_reduce, 5x5, pool_proj); got {filters}")
    f1, f3r, f3, f5r, f5, fp = (int(f) for f in filters)
    branch1 = _conv_relu(x, f1, 1, f"{name}_1x1")
    branch3 = _conv_relu(x, f3r, 1, f"{name}_3x3_reduce") if reduce else x
    branch3 = _conv_relu(branch3, f3, 3, f"{name}_3x3")
    branch5 = _conv_relu(x, f5r, 1, f"{name}_5x5_reduce") if reduce else x
    branch5 = _conv_relu(branch5, f5, 5, f"{name}_5x5")
    pool = layers.MaxPooling2D(3, strides=1, padding="same", name=f"{name}_pool")(x)
    if reduce:
        pool = _conv_relu(pool, fp, 1, f"{name}_pool_proj")
    return layers.Concatenate(name=f"{name}_output")([branch1, branch3, branch5, pool])


#: GoogLeNet's nine inception modules (Szegedy et al. 2015, Table 1); ``"pool"`` marks a 3×3/2 max pooling.
GOOGLENET_MODULES = (
    ("3a", (64, 96, 128, 16, 32, 32)), ("3b", (128, 128, 192, 32, 96, 64)), "pool",
    ("4a", (192, 96, 208, 16, 48, 64)), ("4b", (160, 112, 224, 24, 64, 64)), ("4c", (128, 128, 256, 24, 64, 64)),
    ("4d", (112, 144, 288, 32, 64, 64)), ("4e", (256, 160, 320, 32, 128, 128)), "pool",
    ("5a", (256, 160, 320, 32, 128, 128)), ("5b", (384, 192, 384, 48, 128, 128)),
)


def build_googlenet(input_shape=(224, 224, 3), num_classes=1000, include_top=True) -> keras.Model:
    """GoogLeNet (Inception v1) without the two auxiliary classifiers and without LRN: 6,998,552 parameters.

    Stem: 7×7/2 conv 64 → 3×3/2 pool → 1×1 conv 64 → 3×3 conv 192 → pool; nine inception modules
    (:data:`GOOGLENET_MODULES`); global average pooling → dropout 0.4 → ``Dense(num_classes)``.
    """
    shape = _check_common(input_shape, num_classes)
    inputs = keras.Input(shape, name="input")
    x = _conv_relu(inputs, 64, 7, "conv1_7x7_s2", strides=2)
    x = layers.MaxPooling2D(3, strides=2, padding="same", name="pool1_3x3_s2")(x)
    x = _conv_relu(x, 64, 1, "conv2_3x3_reduce")
    x = _conv_relu(x, 192, 3, "conv2_3x3")
    x = layers.MaxPooling2D(3, strides=2, padding="same", name="pool2_3x3_s2")(x)
    pools = 3
    for entry in GOOGLENET_MODULES:
        if entry == "pool":
            x = layers.MaxPooling2D(3, strides=2, padding="same", name=f"pool{pools}_3x3_s2")(x)
            pools += 1
        else:
            x = inception_module(x, entry[1], name=f"inception_{entry[0]}")
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = layers.Dropout(0.4, name="dropout")(x)
        x = layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, x, name="googlenet")


def factorised_conv(x, filters: int, kernel_size: int, kind: str, name: str):
    """Inception v3's factorisations of a ``kernel_size`` convolution (Szegedy et al. 2016, §3).

    ``kind="stacked"``: 5×5 → two 3×3 (same receptive field); ``kind="asymmetric"``: n×n → 1×n then n×1.
    ``kind="none"``: the original k×k convolution.
    """
    if kind == "none":
        return _conv_relu(x, filters, kernel_size, f"{name}_{kernel_size}x{kernel_size}")
    if kind == "stacked":
        if kernel_size % 2 == 0 or kernel_size < 5:
            raise ValueError(f"stacked factorisation needs an odd kernel_size ≥ 5; got {kernel_size}")
        for i in range((kernel_size - 1) // 2):
            x = _conv_relu(x, filters, 3, f"{name}_3x3_{i + 1}")
        return x
    if kind == "asymmetric":
        x = _conv_relu(x, filters, (1, kernel_size), f"{name}_1x{kernel_size}")
        return _conv_relu(x, filters, (kernel_size, 1), f"{name}_{kernel_size}x1")
    raise ValueError(f"kind must be 'none', 'stacked' or 'asymmetric'; got {kind!r}")


def factorisation_saving(kernel_size: int, kind: str) -> float:
    """Fraction of weights saved by :func:`factorised_conv` (same channels in and out, biases ignored).

    5×5 → two 3×3: 1 − 18/25 = 28 %; 3×3 → 1×3 + 3×1: 1 − 6/9 = 33 %; n×n → 1×n + n×1: 1 − 2/n.
    """
    if kind == "stacked":
        if kernel_size % 2 == 0 or kernel_size < 5:
            raise ValueError(f"stacked factorisation needs an odd kernel_size ≥ 5; got {kernel_size}")
        return 1.0 - 9 * ((kernel_size - 1) // 2) / kernel_size ** 2
    if kind == "asymmetric":
        return 1.0 - 2 * kernel_size / kernel_size ** 2
    raise ValueError(f"kind must be 'stacked' or 'asymmetric'; got {kind!r}")


# --------------------------------------------------------------------------------------------------------------
# ResNet (He et al. 2016)
# --------------------------------------------------------------------------------------------------------------

def residual_block(x, filters: int, strides: int = 1, residual: bool = True, use_batch_norm: bool = True,
                   name: str = "block", batch_norm_momentum: float = 0.99):
    """The basic two-layer block of ResNet-18/34: 3×3 conv → [BN] → ReLU → 3×3 conv → [BN] → (+ shortcut) → ReLU.

    The shortcut is the identity when shapes agree and a 1×1 strided projection (+ BN) otherwise.
    ``residual=False`` gives the *plain* block of He et al.'s Fig. 4 (same layers, no shortcut). With the last
    convolution (and its bias) at zero the block outputs ``ReLU(x)``: it has turned itself off.
    ``batch_norm_momentum``: of the moving statistics (lower it for runs of only a few hundred steps).
    """
    shortcut = x
    y = layers.Conv2D(filters, 3, strides=strides, padding="same", use_bias=not use_batch_norm,
                      name=f"{name}_1_conv")(x)
    if use_batch_norm:
        y = layers.BatchNormalization(momentum=batch_norm_momentum, name=f"{name}_1_bn")(y)
    y = layers.Activation("relu", name=f"{name}_1_relu")(y)
    y = layers.Conv2D(filters, 3, padding="same", use_bias=not use_batch_norm, name=f"{name}_2_conv")(y)
    if use_batch_norm:
        y = layers.BatchNormalization(momentum=batch_norm_momentum, name=f"{name}_2_bn")(y)
    if residual:
        if strides != 1 or x.shape[-1] != filters:
            shortcut = layers.Conv2D(filters, 1, strides=strides, use_bias=not use_batch_norm,
                                     name=f"{name}_0_conv")(x)
            if use_batch_norm:
                shortcut = layers.BatchNormalization(momentum=batch_norm_momentum, name=f"{name}_0_bn")(shortcut)
        y = layers.Add(name=f"{name}_add")([shortcut, y])
    return layers.Activation("relu", name=f"{name}_out")(y)


def bottleneck_block(x, filters: int, strides: int = 1, conv_shortcut: bool | None = None,
                     use_batch_norm: bool = True, use_bias: bool = True, name: str = "block"):
    """ResNet50's bottleneck: 1×1 conv ``filters`` → 3×3 conv ``filters`` → 1×1 conv ``4·filters``, + shortcut.

    ``conv_shortcut`` (default: when the shape changes) puts a strided 1×1 projection on the shortcut (Keras'
    ``conv2_block1_0_conv``); otherwise it is the identity. Names follow ``keras.applications.ResNet50``.
    """
    if conv_shortcut is None:
        conv_shortcut = strides != 1 or x.shape[-1] != 4 * filters

    def conv_bn(tensor, channels, kernel, stride, suffix, relu):
        tensor = layers.Conv2D(channels, kernel, strides=stride, padding="same" if kernel > 1 else "valid",
                               use_bias=use_bias, name=f"{name}_{suffix}_conv")(tensor)
        if use_batch_norm:
            tensor = layers.BatchNormalization(epsilon=1.001e-5, name=f"{name}_{suffix}_bn")(tensor)
        return layers.Activation("relu", name=f"{name}_{suffix}_relu")(tensor) if relu else tensor

    shortcut = conv_bn(x, 4 * filters, 1, strides, "0", relu=False) if conv_shortcut else x
    y = conv_bn(x, filters, 1, strides, "1", relu=True)
    y = conv_bn(y, filters, 3, 1, "2", relu=True)
    y = conv_bn(y, 4 * filters, 1, 1, "3", relu=False)
    y = layers.Add(name=f"{name}_add")([shortcut, y])
    return layers.Activation("relu", name=f"{name}_out")(y)


def bottleneck_weights(channels: int = 256, reduced: int = 64) -> int:
    """Weights of a bottleneck ``channels → reduced (1×1) → reduced (3×3) → channels (1×1)``, no biases/BN.

    256→64→64→256: 256·64 + 9·64·64 + 64·256 = 69,632 (two plain 3×3 layers at 256 channels: 1,179,648).
    """
    return channels * reduced + 9 * reduced * reduced + reduced * channels


def build_resnet50(input_shape=(224, 224, 3), num_classes=1000, include_top=True) -> keras.Model:
    """ResNet50 (He et al. 2016) as in ``keras.applications``: 25,636,712 parameters (53,120 of them BN
    statistics). Stages conv2…conv5 have 3, 4, 6, 3 bottleneck blocks of 64, 128, 256, 512 filters."""
    shape = _check_common(input_shape, num_classes)
    inputs = keras.Input(shape, name="input_layer")
    x = layers.ZeroPadding2D(3, name="conv1_pad")(inputs)
    x = layers.Conv2D(64, 7, strides=2, name="conv1_conv")(x)
    x = layers.BatchNormalization(epsilon=1.001e-5, name="conv1_bn")(x)
    x = layers.Activation("relu", name="conv1_relu")(x)
    x = layers.ZeroPadding2D(1, name="pool1_pad")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)
    for stage, (filters, blocks) in enumerate(((64, 3), (128, 4), (256, 6), (512, 3)), start=2):
        for block in range(1, blocks + 1):
            strides = 2 if block == 1 and stage > 2 else 1
            x = bottleneck_block(x, filters, strides=strides, conv_shortcut=block == 1,
                                 name=f"conv{stage}_block{block}")
    x = _classifier_head(x, include_top, num_classes)
    return keras.Model(inputs, x, name="resnet50")


# --------------------------------------------------------------------------------------------------------------
# DenseNet (Huang et al. 2017)
# --------------------------------------------------------------------------------------------------------------

def _dense_layer(x, growth_rate, name, bottleneck):
    y = layers.BatchNormalization(epsilon=1.001e-5, name=f"{name}_0_bn")(x)
    y = layers.Activation("relu", name=f"{name}_0_relu")(y)
    if bottleneck:
        y = layers.Conv2D(4 * growth_rate, 1, use_bias=False, name=f"{name}_1_conv")(y)
        y = layers.BatchNormalization(epsilon=1.001e-5, name=f"{name}_1_bn")(y)
        y = layers.Activation("relu", name=f"{name}_1_relu")(y)
    y = layers.Conv2D(growth_rate, 3, padding="same", use_bias=False, name=f"{name}_2_conv")(y)
    return layers.Concatenate(name=f"{name}_concat")([x, y])


def dense_block(x, num_layers: int, growth_rate: int = 32, name: str = "dense", bottleneck: bool = True):
    """``num_layers`` layers, each seeing the concatenation of the block input and every earlier layer's output.

    Each layer (BN → ReLU → [1×1 conv 4k → BN → ReLU] → 3×3 conv k) adds ``growth_rate`` channels, so the block
    outputs ``c₀ + L·k`` channels; with the input counted as a layer there are L(L+1)/2 direct connections.
    """
    if num_layers < 1 or growth_rate < 1:
        raise ValueError(f"num_layers and growth_rate must be ≥ 1; got {num_layers}, {growth_rate}")
    for i in range(num_layers):
        x = _dense_layer(x, growth_rate, f"{name}_block{i + 1}", bottleneck)
    return x


def transition_block(x, reduction: float, name: str):
    """BN → ReLU → 1×1 conv (``reduction`` × channels) → 2×2 average pooling, between dense blocks."""
    x = layers.BatchNormalization(epsilon=1.001e-5, name=f"{name}_bn")(x)
    x = layers.Activation("relu", name=f"{name}_relu")(x)
    x = layers.Conv2D(int(x.shape[-1] * reduction), 1, use_bias=False, name=f"{name}_conv")(x)
    return layers.AveragePooling2D(2, strides=2, name=f"{name}_pool")(x)


def densenet_connections(num_layers: int) -> int:
    """Direct connections in a dense block of ``num_layers`` layers: L(L+1)/2 (5 → 15)."""
    if num_layers < 0:
        raise ValueError(f"num_layers must be ≥ 0; got {num_layers}")
    return num_layers * (num_layers + 1) // 2


def build_densenet121(input_shape=(224, 224, 3), num_classes=1000, include_top=True) -> keras.Model:
    """DenseNet121 as in ``keras.applications``: dense blocks of 6, 12, 24, 16 layers, growth rate 32,
    compression 0.5: 8,062,504 parameters."""
    shape = _check_common(input_shape, num_classes)
    inputs = keras.Input(shape, name="input_layer")
    x = layers.ZeroPadding2D(3, name="zero_padding2d")(inputs)
    x = layers.Conv2D(64, 7, strides=2, use_bias=False, name="conv1_conv")(x)
    x = layers.BatchNormalization(epsilon=1.001e-5, name="conv1_bn")(x)
    x = layers.Activation("relu", name="conv1_relu")(x)
    x = layers.ZeroPadding2D(1, name="zero_padding2d_1")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1")(x)
    for stage, blocks in enumerate((6, 12, 24, 16), start=2):
        x = dense_block(x, blocks, 32, name=f"conv{stage}")
        if stage < 5:
            x = transition_block(x, 0.5, name=f"pool{stage}")
    x = layers.BatchNormalization(epsilon=1.001e-5, name="bn")(x)
    x = layers.Activation("relu", name="relu")(x)
    x = _classifier_head(x, include_top, num_classes)
    return keras.Model(inputs, x, name="densenet121")


# --------------------------------------------------------------------------------------------------------------
# SqueezeNet (Iandola et al. 2016), ENet (Paszke et al. 2016), FractalNet (Larsson et al. 2017)
# --------------------------------------------------------------------------------------------------------------

def fire_module(x, squeeze: int, expand: int, name: str):
    """SqueezeNet's fire module: 1×1 squeeze to ``squeeze`` channels, then parallel 1×1 and 3×3 expands of
    ``expand`` channels each, concatenated (2·expand channels out)."""
    s = layers.Conv2D(squeeze, 1, activation="relu", name=f"{name}_squeeze1x1")(x)
    e1 = layers.Conv2D(expand, 1, activation="relu", name=f"{name}_expand1x1")(s)
    e3 = layers.Conv2D(expand, 3, padding="same", activation="relu", name=f"{name}_expand3x3")(s)
    return layers.Concatenate(name=f"{name}_concat")([e1, e3])


_SQUEEZENET = {
    # version: (conv1 filters, conv1 kernel, fire modules by number, fire modules followed by a pooling)
    "1.0": (96, 7, (2, 3, 4, 5, 6, 7, 8, 9), (4, 8)),
    "1.1": (64, 3, (2, 3, 4, 5, 6, 7, 8, 9), (3, 5)),
}
_FIRE = {2: (16, 64), 3: (16, 64), 4: (32, 128), 5: (32, 128), 6: (48, 192), 7: (48, 192), 8: (64, 256),
         9: (64, 256)}


def build_squeezenet(version: str = "1.0", input_shape=(224, 224, 3), num_classes=1000,
                     include_top=True) -> keras.Model:
    """SqueezeNet v1.0 (1,248,424 parameters, ≈ 49× fewer than AlexNet) or v1.1 (1,235,496; 2.4× less
    computation): conv1 → eight fire modules → 1×1 conv to ``num_classes`` → global average pooling."""
    if version not in _SQUEEZENET:
        raise ValueError(f"version must be '1.0' or '1.1'; got {version!r}")
    shape = _check_common(input_shape, num_classes)
    conv1_filters, conv1_kernel, fires, pool_after = _SQUEEZENET[version]
    inputs = keras.Input(shape, name="input")
    x = layers.Conv2D(conv1_filters, conv1_kernel, strides=2, activation="relu", name="conv1")(inputs)
    x = layers.MaxPooling2D(3, strides=2, name="pool1")(x)
    for number in fires:
        x = fire_module(x, *_FIRE[number], name=f"fire{number}")
        if number in pool_after:
            x = layers.MaxPooling2D(3, strides=2, name=f"pool{number}")(x)
    if include_top:
        x = layers.Dropout(0.5, name="drop9")(x)
        x = layers.Conv2D(num_classes, 1, activation="relu", name="conv10")(x)
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = layers.Activation("softmax", name="predictions")(x)
    return keras.Model(inputs, x, name=f"squeezenet{version.replace('.', '_')}")


def _prelu(x, name):
    return layers.PReLU(shared_axes=[1, 2], name=name)(x)


def _enet_bottleneck(x, out_channels, name, kind="regular", dilation=1, asymmetric=0, dropout=0.1):
    """ENet bottleneck (Paszke et al. 2016, Fig. 2b); ``kind`` is 'regular', 'downsample' or 'upsample'."""
    internal = out_channels // 4
    in_channels = x.shape[-1]
    # main (shortcut) branch
    if kind == "downsample":
        shortcut = layers.MaxPooling2D(2, name=f"{name}_main_pool")(x)
        shortcut = PadChannels(out_channels - in_channels, name=f"{name}_main_pad")(shortcut)
    elif kind == "upsample":
        shortcut = layers.Conv2D(out_channels, 1, use_bias=False, name=f"{name}_main_conv")(x)
        shortcut = layers.BatchNormalization(name=f"{name}_main_bn")(shortcut)
        shortcut = layers.UpSampling2D(2, name=f"{name}_main_up")(shortcut)
    else:
        shortcut = x
    # extension branch
    if kind == "downsample":
        y = layers.Conv2D(internal, 2, strides=2, use_bias=False, name=f"{name}_proj")(x)
    else:
        y = layers.Conv2D(internal, 1, use_bias=False, name=f"{name}_proj")(x)
    y = _prelu(layers.BatchNormalization(name=f"{name}_proj_bn")(y), f"{name}_proj_prelu")
    if kind == "upsample":
        y = layers.Conv2DTranspose(internal, 3, strides=2, padding="same", name=f"{name}_conv")(y)
    elif asymmetric:
        y = layers.Conv2D(internal, (asymmetric, 1), padding="same", use_bias=False, name=f"{name}_conv_a")(y)
        y = layers.Conv2D(internal, (1, asymmetric), padding="same", name=f"{name}_conv")(y)
    else:
        y = layers.Conv2D(internal, 3, padding="same", dilation_rate=dilation, name=f"{name}_conv")(y)
    y = _prelu(layers.BatchNormalization(name=f"{name}_conv_bn")(y), f"{name}_conv_prelu")
    y = layers.Conv2D(out_channels, 1, use_bias=False, name=f"{name}_expand")(y)
    y = layers.BatchNormalization(name=f"{name}_expand_bn")(y)
    y = layers.SpatialDropout2D(dropout, name=f"{name}_dropout")(y)
    y = layers.Add(name=f"{name}_add")([shortcut, y])
    return _prelu(y, f"{name}_out")


def build_enet(input_shape=(512, 512, 3), num_classes=12, include_top=True) -> keras.Model:
    """ENet for semantic segmentation (Paszke et al. 2016): ≈ 0.37 M parameters, output ``(h, w, num_classes)``.

    Initial block (13 strided 3×3 filters ‖ max pooling) → stage 1 (downsample + 4 bottlenecks, 64 ch) →
    stages 2–3 (128 ch: regular, dilated 2/4/8/16 and asymmetric 5×1+1×5 bottlenecks) → decoder stages 4–5 →
    a final transposed convolution. Upsampling uses UpSampling2D on the main branch instead of the paper's
    max-unpooling with stored indices (same parameters up to the unpooling's none). Height and width must be
    multiples of 8.
    """
    shape = _check_common(input_shape, num_classes)
    if shape[0] % 8 or shape[1] % 8:
        raise ValueError(f"input height and width must be multiples of 8; got {shape[:2]}")
    inputs = keras.Input(shape, name="input")
    conv = layers.Conv2D(16 - shape[2], 3, strides=2, padding="same", use_bias=False, name="initial_conv")(inputs)
    pool = layers.MaxPooling2D(2, name="initial_pool")(inputs)
    x = layers.Concatenate(name="initial_concat")([conv, pool])
    x = _prelu(layers.BatchNormalization(name="initial_bn")(x), "initial_prelu")
    x = _enet_bottleneck(x, 64, "bottleneck1_0", kind="downsample", dropout=0.01)
    for i in range(1, 5):
        x = _enet_bottleneck(x, 64, f"bottleneck1_{i}", dropout=0.01)
    x = _enet_bottleneck(x, 128, "bottleneck2_0", kind="downsample")
    for stage in (2, 3):
        for i, (dilation, asymmetric) in enumerate(((1, 0), (2, 0), (1, 5), (4, 0), (1, 0), (8, 0), (1, 5),
                                                    (16, 0)), start=1):
            x = _enet_bottleneck(x, 128, f"bottleneck{stage}_{i}", dilation=dilation, asymmetric=asymmetric)
    x = _enet_bottleneck(x, 64, "bottleneck4_0", kind="upsample")
    x = _enet_bottleneck(x, 64, "bottleneck4_1")
    x = _enet_bottleneck(x, 64, "bottleneck4_2")
    x = _enet_bottleneck(x, 16, "bottleneck5_0", kind="upsample")
    x = _enet_bottleneck(x, 16, "bottleneck5_1")
    if include_top:
        x = layers.Conv2DTranspose(num_classes, 2, strides=2, name="fullconv")(x)
        x = layers.Activation("softmax", name="predictions")(x)
    return keras.Model(inputs, x, name="enet")


def fractal_counts(columns: int) -> tuple[int, int]:
    """``(convolutions, longest path)`` of a FractalNet block with ``columns`` columns: ``(2^C − 1, 2^(C−1))``.

    From the expansion rule f₁(z) = conv(z), f_{C+1}(z) = join(f_C(f_C(z)), conv(z)).
    """
    if columns < 1:
        raise ValueError(f"columns must be ≥ 1; got {columns}")
    return 2 ** columns - 1, 2 ** (columns - 1)


def fractal_block(x, columns: int, filters: int, drop_rate: float = 0.15, name: str = "fractal", seed: int = 0):
    """A FractalNet block: f₁ = conv-BN-ReLU, f_{C+1}(z) = :class:`FractalJoin`([f_C(f_C(z)), conv(z)]).

    A block with ``columns`` columns has 2^C − 1 convolutions and a longest path of 2^(C−1) of them
    (:func:`fractal_counts`); the joins average their inputs, with drop-path while training.
    """
    counter = iter(range(10 ** 6))

    def conv(z):
        index = next(counter)
        z = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv{index}")(z)
        z = layers.BatchNormalization(name=f"{name}_bn{index}")(z)
        return layers.Activation("relu", name=f"{name}_relu{index}")(z)

    def expand(z, c):
        if c == 1:
            return conv(z)
        deep = expand(expand(z, c - 1), c - 1)
        shallow = conv(z)
        return FractalJoin(drop_rate, seed=seed + next(counter), name=f"{name}_join{c}_{next(counter)}")(
            [deep, shallow])

    if columns < 1:
        raise ValueError(f"columns must be ≥ 1; got {columns}")
    return expand(x, columns)


def build_fractal_net(input_shape=(32, 32, 3), num_classes=10, include_top=True, columns=3, blocks=2,
                      filters=(32, 64), drop_rate=0.15) -> keras.Model:
    """A small FractalNet: ``blocks`` fractal blocks of ``columns`` columns, each followed by 2×2 max pooling."""
    shape = _check_common(input_shape, num_classes)
    if len(filters) != blocks:
        raise ValueError(f"filters must have one entry per block ({blocks}); got {filters}")
    inputs = keras.Input(shape, name="input")
    x = inputs
    for b in range(blocks):
        x = fractal_block(x, columns, filters[b], drop_rate, name=f"fractal{b + 1}", seed=100 * b)
        x = layers.MaxPooling2D(2, name=f"pool{b + 1}")(x)
    x = _classifier_head(x, include_top, num_classes)
    return keras.Model(inputs, x, name="fractalnet")


# --------------------------------------------------------------------------------------------------------------
# Xception (Chollet 2017) and MobileNetV2 (Sandler et al. 2018): depthwise-separable convolutions
# --------------------------------------------------------------------------------------------------------------

def _sepconv_bn(x, filters, name, relu_before=True):
    if relu_before:
        x = layers.Activation("relu", name=f"{name}_act")(x)
    x = layers.SeparableConv2D(filters, 3, padding="same", use_bias=False, name=name)(x)
    return layers.BatchNormalization(name=f"{name}_bn")(x)


def _xception_down(x, filters, block, relu_first=True):
    residual = layers.Conv2D(filters[1], 1, strides=2, padding="same", use_bias=False,
                             name=f"block{block}_residual_conv")(x)
    residual = layers.BatchNormalization(name=f"block{block}_residual_bn")(residual)
    x = _sepconv_bn(x, filters[0], f"block{block}_sepconv1", relu_before=relu_first)
    x = _sepconv_bn(x, filters[1], f"block{block}_sepconv2")
    x = layers.MaxPooling2D(3, strides=2, padding="same", name=f"block{block}_pool")(x)
    return layers.Add(name=f"block{block}_add")([x, residual])


def build_xception(input_shape=(299, 299, 3), num_classes=1000, include_top=True) -> keras.Model:
    """Xception as in ``keras.applications``: entry flow, 8 middle-flow blocks of three 728-channel separable
    convolutions with identity shortcuts, exit flow: 22,910,480 parameters."""
    shape = _check_common(input_shape, num_classes)
    inputs = keras.Input(shape, name="input_layer")
    x = layers.Conv2D(32, 3, strides=2, use_bias=False, name="block1_conv1")(inputs)
    x = layers.BatchNormalization(name="block1_conv1_bn")(x)
    x = layers.Activation("relu", name="block1_conv1_act")(x)
    x = layers.Conv2D(64, 3, use_bias=False, name="block1_conv2")(x)
    x = layers.BatchNormalization(name="block1_conv2_bn")(x)
    x = layers.Activation("relu", name="block1_conv2_act")(x)
    x = _xception_down(x, (128, 128), 2, relu_first=False)
    x = _xception_down(x, (256, 256), 3)
    x = _xception_down(x, (728, 728), 4)
    for block in range(5, 13):
        residual = x
        for index in (1, 2, 3):
            x = _sepconv_bn(x, 728, f"block{block}_sepconv{index}")
        x = layers.Add(name=f"block{block}_add")([x, residual])
    x = _xception_down(x, (728, 1024), 13)
    for index, filters in ((1, 1536), (2, 2048)):
        x = layers.SeparableConv2D(filters, 3, padding="same", use_bias=False, name=f"block14_sepconv{index}")(x)
        x = layers.BatchNormalization(name=f"block14_sepconv{index}_bn")(x)
        x = layers.Activation("relu", name=f"block14_sepconv{index}_act")(x)
    x = _classifier_head(x, include_top, num_classes)
    return keras.Model(inputs, x, name="xception")


def _make_divisible(value, divisor=8):
    new_value = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return new_value + divisor if new_value < 0.9 * value else new_value


def _inverted_residual(x, filters, strides, expansion, block_id):
    in_channels = x.shape[-1]
    prefix = f"block_{block_id}_" if block_id else "expanded_conv_"
    y = x
    if block_id:
        y = layers.Conv2D(expansion * in_channels, 1, use_bias=False, name=f"{prefix}expand")(y)
        y = layers.BatchNormalization(epsilon=1e-3, momentum=0.999, name=f"{prefix}expand_BN")(y)
        y = layers.ReLU(6.0, name=f"{prefix}expand_relu")(y)
    if strides == 2:
        height = y.shape[1]
        adjust = 1 if height is None or height % 2 == 0 else 0
        y = layers.ZeroPadding2D(((1 - adjust, 1), (1 - adjust, 1)), name=f"{prefix}pad")(y)
    y = layers.DepthwiseConv2D(3, strides=strides, use_bias=False, padding="same" if strides == 1 else "valid",
                               name=f"{prefix}depthwise")(y)
    y = layers.BatchNormalization(epsilon=1e-3, momentum=0.999, name=f"{prefix}depthwise_BN")(y)
    y = layers.ReLU(6.0, name=f"{prefix}depthwise_relu")(y)
    out_channels = _make_divisible(filters)
    y = layers.Conv2D(out_channels, 1, use_bias=False, name=f"{prefix}project")(y)
    y = layers.BatchNormalization(epsilon=1e-3, momentum=0.999, name=f"{prefix}project_BN")(y)
    if in_channels == out_channels and strides == 1:
        return layers.Add(name=f"{prefix}add")([x, y])
    return y


#: MobileNetV2's inverted-residual blocks: (output channels, stride, expansion) for block_id 0…16.
MOBILENET_V2_BLOCKS = ((16, 1, 1), (24, 2, 6), (24, 1, 6), (32, 2, 6), (32, 1, 6), (32, 1, 6), (64, 2, 6),
                       (64, 1, 6), (64, 1, 6), (64, 1, 6), (96, 1, 6), (96, 1, 6), (96, 1, 6), (160, 2, 6),
                       (160, 1, 6), (160, 1, 6), (320, 1, 6))


def build_mobilenet_v2(input_shape=(224, 224, 3), num_classes=1000, include_top=True) -> keras.Model:
    """MobileNetV2 (width 1.0) as in ``keras.applications``: 17 inverted-residual blocks (1×1 expand, 3×3
    depthwise, linear 1×1 projection), ReLU6: 3,538,984 parameters."""
    shape = _check_common(input_shape, num_classes)
    inputs = keras.Input(shape, name="input_layer")
    x = layers.Conv2D(32, 3, strides=2, padding="same", use_bias=False, name="Conv1")(inputs)
    x = layers.BatchNormalization(epsilon=1e-3, momentum=0.999, name="bn_Conv1")(x)
    x = layers.ReLU(6.0, name="Conv1_relu")(x)
    for block_id, (filters, strides, expansion) in enumerate(MOBILENET_V2_BLOCKS):
        x = _inverted_residual(x, filters, strides, expansion, block_id)
    x = layers.Conv2D(1280, 1, use_bias=False, name="Conv_1")(x)
    x = layers.BatchNormalization(epsilon=1e-3, momentum=0.999, name="Conv_1_bn")(x)
    x = layers.ReLU(6.0, name="out_relu")(x)
    x = _classifier_head(x, include_top, num_classes)
    return keras.Model(inputs, x, name="mobilenet_v2")


# --------------------------------------------------------------------------------------------------------------
# Inspecting built models
# --------------------------------------------------------------------------------------------------------------

def _parent_layers(layer):
    parents = []
    for node in layer._inbound_nodes:  # noqa: SLF001 - Keras keeps the graph here
        for parent in node.parent_nodes:
            parents.append(parent.operation)
    return parents


def longest_path(model: keras.Model, layer_type=layers.Conv2D) -> int:
    """The largest number of ``layer_type`` layers on any input-to-output path of a functional ``model``
    (FractalNet's "depth"; 2^(C−1) for one block of C columns)."""
    depth: dict[int, int] = {}
    for layer in model.layers:   # functional models list layers in topological order
        before = max((depth.get(id(parent), 0) for parent in _parent_layers(layer)), default=0)
        depth[id(layer)] = before + (1 if isinstance(layer, layer_type) else 0)
    return max(depth.values(), default=0)


def separable_savings(model: keras.Model) -> list[dict]:
    """For each ``SeparableConv2D`` / ``DepthwiseConv2D`` layer: its weights against an ordinary ``Conv2D``
    with the same kernel and channels (``k²·C_in·C_out``; a depthwise layer keeps C_out = C_in), biases ignored.

    Rows ``{"layer", "kernel", "channels_in", "channels_out", "separable", "ordinary", "ratio"}``.
    """
    rows = []
    for layer in model.layers:
        if isinstance(layer, (layers.SeparableConv2D, layers.DepthwiseConv2D)):
            kernel_height, kernel_width = layer.kernel_size
            channels_in = int(layer.input.shape[-1])
            if isinstance(layer, layers.SeparableConv2D):
                channels_out = int(layer.filters)
                separable = kernel_height * kernel_width * channels_in + channels_in * channels_out
            else:
                channels_out = channels_in
                separable = kernel_height * kernel_width * channels_in
            ordinary = kernel_height * kernel_width * channels_in * channels_out
            rows.append(dict(layer=layer.name, kernel=f"{kernel_height}x{kernel_width}", channels_in=channels_in,
                             channels_out=channels_out, separable=separable, ordinary=ordinary,
                             ratio=ordinary / separable))
    return rows


def receptive_field_of_stacked(kernel_size: int, layers_count: int) -> int:
    """Receptive field of ``layers_count`` stacked stride-1 ``kernel_size`` convolutions: 1 + n(k − 1)."""
    return 1 + layers_count * (kernel_size - 1)


def conv1_output_size(input_size: int, kernel_size: int = 11, stride: int = 4) -> float:
    """``(n − k)/s + 1`` without flooring: 55.0 for AlexNet at 227, 54.25 at 224 (why 224 does not work)."""
    return (input_size - kernel_size) / stride + 1
