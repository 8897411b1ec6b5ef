"""The convolution-arithmetic chapter's settings and small experiments.

- ``SETTINGS``: one :class:`ConvArithmeticSettings` per profile (smoke / standard / full).
- :func:`keras_shape_table`: the output-size formula against real Keras layers over a grid of settings.
- :func:`digits_for_example_network` and :func:`train_example_network`: the source's 338,460-parameter example
  network (004-§1) trained on handwritten digits, so the reader can look at what its filters learn.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from ..profiles import ProfileSet
from .conv_arithmetic import build_example_network, conv_output_size, pool_output_size, transposed_conv_output_size


@dataclass(frozen=True)
class ConvArithmeticSettings:
    """Hyperparameters of the chapter. The source chapter trains nothing here: ``full`` uses real MNIST at the
    size of its worked example (30×30 inputs, 10 filters 5×5, Dense(200)) for a proper 10-epoch run."""

    shape_grid_sizes: tuple[int, ...]   # input sizes n checked against Keras (× every kernel/stride/dilation/padding)
    train_examples: int | None          # digits used for training (None: all)
    epochs: int
    batch_size: int
    learning_rate: float


SETTINGS = ProfileSet(
    smoke=ConvArithmeticSettings(shape_grid_sizes=(7,), train_examples=400, epochs=2, batch_size=64,
                                 learning_rate=1e-3),
    standard=ConvArithmeticSettings(shape_grid_sizes=(5, 8, 13, 28), train_examples=None, epochs=8, batch_size=64,
                                    learning_rate=1e-3),
    full=ConvArithmeticSettings(shape_grid_sizes=(5, 8, 13, 28, 64, 227), train_examples=None, epochs=10,
                                batch_size=128, learning_rate=1e-3),
)

KERNEL_SIZES = (1, 2, 3, 5)
STRIDES = (1, 2, 3)
DILATIONS = (1, 2)
PADDINGS = ("valid", "same")


def _keras_length(layer, input_size: int) -> int:
    """Spatial output size of a Keras 2-D layer on a zeros input of shape (1, n, n, 1)."""
    import keras

    return int(layer(keras.ops.zeros((1, input_size, input_size, 1))).shape[1])


def keras_shape_table(input_sizes) -> list[dict]:
    """Rows ``{"layer", "n", "k", "s", "d", "padding", "formula", "keras", "match"}`` comparing
    :func:`conv_output_size` / :func:`pool_output_size` / :func:`transposed_conv_output_size` with the output
    shape of real ``Conv2D`` / ``MaxPooling2D`` / ``Conv2DTranspose`` layers. Settings Keras refuses (dilation with
    stride) and inputs smaller than the kernel under 'valid' are skipped."""
    import keras

    rows = []
    for n, k, s, d, padding in itertools.product(input_sizes, KERNEL_SIZES, STRIDES, DILATIONS, PADDINGS):
        if d > 1 and s > 1:
            continue
        if padding == "valid" and n < d * (k - 1) + 1:
            continue
        formula = conv_output_size(n, k, stride=s, padding=padding, dilation=d)
        actual = _keras_length(keras.layers.Conv2D(1, k, strides=s, padding=padding, dilation_rate=d), n)
        rows.append(dict(layer="Conv2D", n=n, k=k, s=s, d=d, padding=padding, formula=formula, keras=actual))
        if d == 1 and k <= n:
            formula = pool_output_size(n, k, stride=s, padding=padding)
            actual = _keras_length(keras.layers.MaxPooling2D(k, strides=s, padding=padding), n)
            rows.append(dict(layer="MaxPooling2D", n=n, k=k, s=s, d=1, padding=padding, formula=formula, keras=actual))
        if d == 1:
            formula = transposed_conv_output_size(n, k, stride=s, padding=padding)
            actual = _keras_length(keras.layers.Conv2DTranspose(1, k, strides=s, padding=padding), n)
            rows.append(dict(layer="Conv2DTranspose", n=n, k=k, s=s, d=1, padding=padding, formula=formula,
                             keras=actual))
    for row in rows:
        row["match"] = row["formula"] == row["keras"]
    return rows


def digits_for_example_network(mnist_data, train_examples: int | None = None, seed: int = 0):
    """Turn ``((x_train, y_train), (x_test, y_test))`` of 28×28 uint8 digits into float32 arrays of shape
    (N, 30, 30, 1) in [0, 1] (one pixel of zero padding: the example network's reconstructed input is 30×30),
    optionally keeping a random ``train_examples`` subset of the training split."""
    (x_train, y_train), (x_test, y_test) = mnist_data
    if train_examples is not None:
        if train_examples < 10:
            raise ValueError(f"train_examples must be ≥ 10 (or None for all); got {train_examples}")
        keep = np.random.default_rng(seed).permutation(len(x_train))[:train_examples]
        x_train, y_train = x_train[keep], y_train[keep]

    def prepare(images):
        images = np.asarray(images, dtype="float32") / 255.0
        if images.shape[1:3] != (28, 28):
            raise ValueError(f"expected 28×28 digits; got images of shape {images.shape}")
        return np.pad(images, ((0, 0), (1, 1), (1, 1)))[..., None]

    return (prepare(x_train), np.asarray(y_train, dtype="int64")), (prepare(x_test), np.asarray(y_test, "int64"))


def build_example_classifier(classes: int = 10):
    """The 338,460-parameter example network with a ``Dense(classes, softmax)`` head on its 200 ReLU units
    (200·classes + classes more parameters: 2,010 for ten digits)."""
    import keras

    body = build_example_network()
    hidden = keras.layers.Activation("relu", name="relu_200")(body.output)
    outputs = keras.layers.Dense(classes, activation="softmax", name="digit")(hidden)
    return keras.Model(body.input, outputs, name="example_network_classifier")


def train_example_network(settings: ConvArithmeticSettings, mnist_data, run_dir: str, verbose="auto"):
    """Train :func:`build_example_classifier` on the digits with the chapter's settings.

    Returns ``(model, result, test_accuracy)`` where ``result`` is the :func:`chapters_src.training.fit` result
    (history of every epoch) and ``test_accuracy`` is measured once on the held-out test split."""
    import keras

    from .. import training

    (x_train, y_train), (x_test, y_test) = digits_for_example_network(mnist_data, settings.train_examples)
    model = build_example_classifier()
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=settings.learning_rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    validation_size = max(len(x_train) // 10, 1)
    validation = (x_train[-validation_size:], y_train[-validation_size:])
    result = training.fit(model, x_train[:-validation_size], y_train[:-validation_size], validation_data=validation,
                          epochs=settings.epochs, batch_size=settings.batch_size, run_dir=run_dir, resume=False,
                          verbose=verbose)
    test_accuracy = float(model.evaluate(x_test, y_test, verbose=0)[1])
    return model, result, test_accuracy
