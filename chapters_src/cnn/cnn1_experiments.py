"""Small experiments of the classic-architectures notebook, on offline digits.

- :func:`batch_norm_reference` / :func:`compare_batch_norm`: the BN forward formula in NumPy, against Keras'
  ``BatchNormalization`` in training mode (output and moving statistics).
- :func:`batch_norm_experiment`: Ioffe & Szegedy (2015), Fig. 1 — 3 × Dense(100, sigmoid) with and without batch
  normalisation: test accuracy against training steps and the 15th/50th/85th percentiles of one unit's input.
- :func:`residual_experiment`: He et al. (2016), Fig. 4 scaled down — plain and residual CNNs at two depths.
- :data:`IMAGENET_WINNERS` and :func:`plot_imagenet_winners`: ILSVRC top-5 errors 2011–2016 with their
  sources, next to the values the article quotes.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from . import architectures as arch


def prepare_digits(mnist_data, image_size: int = 14, train_examples: int | None = None, seed: int = 0):
    """``((x_train, y_train), (x_test, y_test))`` uint8 28×28 digits → float32 ``(n, s, s, 1)`` in [0, 1], average-
    pooled to ``image_size`` (28 must be a multiple of it), optionally a random ``train_examples`` subset."""
    if 28 % image_size:
        raise ValueError(f"image_size must divide 28 (7, 14 or 28); got {image_size}")
    (x_train, y_train), (x_test, y_test) = mnist_data
    if train_examples is not None:
        keep = np.random.default_rng(seed).permutation(len(x_train))[:train_examples]
        x_train, y_train = x_train[keep], y_train[keep]

    def pool(images):
        factor = 28 // image_size
        images = np.asarray(images, dtype="float32") / 255.0
        images = images.reshape(len(images), image_size, factor, image_size, factor).mean(axis=(2, 4))
        return images[..., None]

    return (pool(x_train), np.asarray(y_train, "int64")), (pool(x_test), np.asarray(y_test, "int64"))


# ----------------------------------------------------------------------------------------------------------------
# Batch normalisation (Ioffe & Szegedy 2015, Fig. 1)
# ----------------------------------------------------------------------------------------------------------------

def batch_norm_reference(x, gamma, beta, epsilon: float = 1e-3):
    """BN's training-mode forward pass in NumPy: ``(y, batch_mean, batch_variance)`` with
    ``y = γ·(x − μ_B)/√(σ²_B + ε) + β``; statistics per feature (last axis) over every other axis, variance
    with divisor ``n`` (Ioffe & Szegedy 2015, Algorithm 1)."""
    x = np.asarray(x, dtype="float64")
    axes = tuple(range(x.ndim - 1))
    mean, variance = x.mean(axis=axes), x.var(axis=axes)
    return np.asarray(gamma) * (x - mean) / np.sqrt(variance + epsilon) + np.asarray(beta), mean, variance


def compare_batch_norm(batch, momentum: float = 0.9, epsilon: float = 1e-3, seed: int = 0) -> dict[str, float]:
    """One ``keras.layers.BatchNormalization`` step in training mode on ``batch`` (random γ, β) against
    :func:`batch_norm_reference`: the largest absolute differences of the output (``"output"``) and of the moving
    mean and variance after the step (``"moving_mean"``, ``"moving_variance"``; Keras: ``m ← momentum·m +
    (1 − momentum)·batch statistic``, starting from 0 and 1)."""
    import keras

    batch = np.asarray(batch, dtype="float32")
    features = batch.shape[-1]
    rng = np.random.default_rng(seed)
    gamma, beta = rng.uniform(0.5, 2.0, features), rng.normal(0.0, 1.0, features)
    layer = keras.layers.BatchNormalization(momentum=momentum, epsilon=epsilon)
    layer.build(batch.shape)
    layer.gamma.assign(gamma.astype("float32"))
    layer.beta.assign(beta.astype("float32"))
    output = keras.ops.convert_to_numpy(layer(batch, training=True))
    expected, mean, variance = batch_norm_reference(batch, gamma, beta, epsilon)
    moving_mean = keras.ops.convert_to_numpy(layer.moving_mean)
    moving_variance = keras.ops.convert_to_numpy(layer.moving_variance)
    return {"output": float(np.max(np.abs(output - expected))),
            "moving_mean": float(np.max(np.abs(moving_mean - (1 - momentum) * mean))),
            "moving_variance": float(np.max(np.abs(moving_variance - (momentum + (1 - momentum) * variance))))}


def build_bn_mlp(input_dim: int, batch_norm: bool, hidden_units=(100, 100, 100), num_classes: int = 10, seed: int = 0):
    """The paper's MNIST network: ``len(hidden_units)`` × [Dense → (BatchNormalization) → sigmoid] → softmax.

    Weights start as small Gaussians (σ = 1/√fan-in is *not* used: N(0, 1), as "random Gaussian values", so
    without BN the sigmoids saturate). The input of the last sigmoid is layer ``sigmoid{n}``'s input.
    """
    import keras

    inputs = keras.Input((input_dim,), name="pixels")
    x = inputs
    for i, units in enumerate(hidden_units, start=1):
        x = keras.layers.Dense(units, kernel_initializer=keras.initializers.RandomNormal(0.0, 1.0, seed=seed + i),
                               use_bias=not batch_norm, name=f"dense{i}")(x)
        if batch_norm:
            x = keras.layers.BatchNormalization(momentum=0.9, name=f"bn{i}")(x)
        x = keras.layers.Activation("sigmoid", name=f"sigmoid{i}")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name="mlp_bn" if batch_norm else "mlp")


@dataclasses.dataclass
class BatchNormRun:
    """``steps`` (training steps at each measurement), ``accuracy`` (test accuracy there) and ``percentiles``
    ``(measurements, 3)``: 15th/50th/85th percentile over the test set of one last-layer unit's sigmoid input."""

    batch_norm: bool
    steps: list[int]
    accuracy: list[float]
    percentiles: np.ndarray

    def steps_to_reach(self, accuracy: float) -> int | None:
        """First measured step with test accuracy ≥ ``accuracy`` (None if never)."""
        return next((s for s, a in zip(self.steps, self.accuracy) if a >= accuracy), None)


def train_bn_mlp(batch_norm: bool, digits, steps: int, batch_size: int = 60, eval_every: int = 10,
                 learning_rate: float = 0.5, unit: int = 0, seed: int = 0) -> BatchNormRun:
    """Train :func:`build_bn_mlp` with plain SGD for ``steps`` mini-batches, measuring every ``eval_every``."""
    import keras

    (x_train, y_train), (x_test, y_test) = digits
    x_train, x_test = x_train.reshape(len(x_train), -1), x_test.reshape(len(x_test), -1)
    keras.utils.set_random_seed(seed)
    model = build_bn_mlp(x_train.shape[1], batch_norm, seed=seed)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=learning_rate),
                  loss="sparse_categorical_crossentropy", jit_compile=False)
    probe = keras.Model(model.input, [model.output, model.get_layer("sigmoid3").input])
    run = BatchNormRun(batch_norm, [], [], np.zeros((0, 3)))
    percentiles = []

    def measure(step):
        probabilities, preactivation = (keras.ops.convert_to_numpy(t) for t in probe(x_test, training=False))
        run.steps.append(step)
        run.accuracy.append(float(np.mean(probabilities.argmax(axis=1) == y_test)))
        percentiles.append(np.percentile(preactivation[:, unit], [15, 50, 85]))

    rng = np.random.default_rng(seed)
    order = rng.permutation(len(x_train))
    position = 0
    measure(0)
    for step in range(1, steps + 1):
        if position + batch_size > len(order):
            order, position = rng.permutation(len(x_train)), 0
        batch = order[position:position + batch_size]
        position += batch_size
        model.train_on_batch(x_train[batch], y_train[batch])
        if step % eval_every == 0 or step == steps:
            measure(step)
    run.percentiles = np.array(percentiles)
    return run


def batch_norm_experiment(settings, mnist_data) -> dict[str, BatchNormRun]:
    """Both networks on the same digits and batches: ``{"without BN": run, "with BN": run}``."""
    digits = prepare_digits(mnist_data, settings.image_size)
    return {label: train_bn_mlp(flag, digits, settings.bn_steps, settings.bn_batch_size, settings.bn_eval_every,
                                settings.bn_learning_rate)
            for label, flag in (("without BN", False), ("with BN", True))}


def plot_batch_norm(runs: dict[str, BatchNormRun]):
    """The paper's three panels: (a) test accuracy vs steps; (b, c) percentiles of one sigmoid input."""
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 3, figsize=(12, 3.2))
    styles = {"without BN": "--", "with BN": "-"}
    for label, run in runs.items():
        axes[0].plot(run.steps, run.accuracy, styles.get(label, "-"), label=label)
    axes[0].set(xlabel="training steps", ylabel="test accuracy", title="(a) accuracy")
    axes[0].legend()
    for ax, label in zip(axes[1:], runs):
        run = runs[label]
        for column, name in enumerate(("15th", "50th", "85th")):
            ax.plot(run.steps, run.percentiles[:, column], label=f"{name} percentile")
        ax.set(xlabel="training steps", title=f"({'b' if ax is axes[1] else 'c'}) sigmoid input, {label}")
        ax.legend(fontsize=8)
    figure.tight_layout()
    return figure


# ----------------------------------------------------------------------------------------------------------------
# Plain vs residual networks (He et al. 2016, Fig. 4)
# ----------------------------------------------------------------------------------------------------------------

def build_plain_or_residual(blocks: int, residual: bool, input_shape=(14, 14, 1), width: int = 16,
                            num_classes: int = 10):
    """A small CIFAR-style network of ``2·blocks + 2`` weight layers: 3×3 conv stem, ``blocks`` two-layer blocks
    (:func:`chapters_src.cnn.architectures.residual_block`; the second half at twice the width and stride 2),
    global average pooling, softmax. ``residual=False``: the same layers without shortcuts ("plain")."""
    import keras

    if blocks < 1:
        raise ValueError(f"blocks must be ≥ 1; got {blocks}")
    inputs = keras.Input(input_shape, name="input")
    x = keras.layers.Conv2D(width, 3, padding="same", use_bias=False, name="stem_conv")(inputs)
    x = keras.layers.BatchNormalization(momentum=0.9, name="stem_bn")(x)
    x = keras.layers.Activation("relu", name="stem_relu")(x)
    for b in range(blocks):
        downsample = b == blocks // 2 and blocks > 1
        if downsample:
            width *= 2
        x = arch.residual_block(x, width, strides=2 if downsample else 1, residual=residual, name=f"block{b + 1}",
                                batch_norm_momentum=0.9)
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name=f"{'resnet' if residual else 'plain'}{2 * blocks + 2}")


def residual_experiment(settings, mnist_data, verbose=0) -> dict[str, dict[str, list[float]]]:
    """Train plain and residual networks at ``settings.residual_blocks`` depths on the same digits (Adam,
    fixed seed). Returns ``{"plain-6": history, "ResNet-6": history, ...}`` with per-epoch ``error`` (training
    batches, as Keras reports it) and ``val_error`` (the held-out digits, measured after each epoch)."""
    import keras

    (x_train, y_train), (x_test, y_test) = prepare_digits(mnist_data, settings.image_size,
                                                          settings.residual_train_examples)
    histories = {}
    for blocks in settings.residual_blocks:
        for residual in (False, True):
            keras.utils.set_random_seed(0)
            model = build_plain_or_residual(blocks, residual, x_train.shape[1:], settings.residual_width)
            model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                          metrics=["accuracy"], jit_compile=False)
            val_error = []

            def on_epoch_end(epoch, logs, model=model, val_error=val_error):
                probabilities = keras.ops.convert_to_numpy(model(x_test, training=False))
                val_error.append(float(np.mean(probabilities.argmax(axis=1) != y_test)))

            history = model.fit(x_train, y_train, epochs=settings.residual_epochs,
                                batch_size=settings.residual_batch_size, verbose=verbose,
                                callbacks=[keras.callbacks.LambdaCallback(on_epoch_end=on_epoch_end)]).history
            label = f"{'ResNet' if residual else 'plain'}-{2 * blocks + 2}"
            histories[label] = {"error": [1 - a for a in history["accuracy"]], "val_error": val_error}
    return histories


def plot_residual_experiment(histories):
    """He et al. Fig. 4 style: plain (left) and residual (right); thin = training error, bold = test error."""
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(10, 3.4), sharey=True)
    for ax, kind in zip(axes, ("plain", "ResNet")):
        for colour, (label, history) in zip(("tab:red", "tab:blue"),
                                            [(k, v) for k, v in histories.items() if k.startswith(kind)]):
            epochs = np.arange(1, len(history["error"]) + 1)
            ax.plot(epochs, history["error"], color=colour, linewidth=1, label=f"{label} train")
            ax.plot(epochs, history["val_error"], color=colour, linewidth=2.5, label=f"{label} test")
        ax.set(xlabel="epoch", title=f"{kind} networks")
        ax.legend(fontsize=8)
    axes[0].set_ylabel("error")
    figure.tight_layout()
    return figure


# ----------------------------------------------------------------------------------------------------------------
# ImageNet (ILSVRC classification) winners
# ----------------------------------------------------------------------------------------------------------------

#: ILSVRC classification winners: published top-5 test error (%) with its source, and what Stewart's article
#: (inventory 004 §5) says (``None`` where it gives no number).
IMAGENET_WINNERS = (
    dict(year=2011, entry="XRCE (Fisher vectors)", top5=25.8, article=None,
         source="ILSVRC2011 results; Russakovsky et al. 2015, IJCV, Fig. 9"),
    dict(year=2012, entry="SuperVision (AlexNet)", top5=15.3, article=15.3,
         source="Krizhevsky et al. 2012; ILSVRC2012 results (15.3 %, runner-up 26.2 %)"),
    dict(year=2013, entry="Clarifai (ZFNet-style)", top5=11.7, article=14.8,
         source="ILSVRC2013 results (11.7 %; 11.2 % with extra data); article: 'top-8' 14.8 % = ZF paper's own"),
    dict(year=2014, entry="GoogLeNet", top5=6.67, article=7.8,
         source="Szegedy et al. 2015, Table 2 (6.67 %); 7.3 % was VGG's (runner-up)"),
    dict(year=2015, entry="ResNet (MSRA)", top5=3.57, article=5.0,
         source="He et al. 2016, Table 5 (3.57 %); article: 'first below 5 %'"),
    dict(year=2016, entry="Trimps-Soushen (ensemble)", top5=2.99, article=None,
         source="ILSVRC2016 results (2.99 %); article: 'now consistently below 3 %'"),
)


def plot_imagenet_winners(winners=IMAGENET_WINNERS):
    """Bar chart of the published top-5 errors with the article's quoted values as markers."""
    import matplotlib.pyplot as plt

    figure, ax = plt.subplots(figsize=(8, 3.6))
    years = [w["year"] for w in winners]
    bars = ax.bar(years, [w["top5"] for w in winners], color="tab:blue", label="published top-5 error")
    for bar, w in zip(bars, winners):
        ax.annotate(f"{w['top5']:g} %", (bar.get_x() + bar.get_width() / 2, bar.get_height() / 2), ha="center",
                    va="center", fontsize=8, color="white", fontweight="bold")
    ax.set_xticks(years, [f"{w['year']}\n{w['entry'].split(' (')[0]}" for w in winners], fontsize=8)
    quoted = [(w["year"], w["article"]) for w in winners if w["article"] is not None]
    ax.plot(*zip(*quoted), "o", color="tab:red", label="value quoted in the article")
    ax.set(xlabel="ILSVRC year", ylabel="top-5 error (%)", ylim=(0, 31), title="ImageNet classification winners")
    ax.legend()
    figure.tight_layout()
    return figure
