"""DeepDream (000 §4): gradient ascent on an image to amplify what chosen layers respond to.

The source's version, with its missing line supplied (``inception_v3 = InceptionV3(weights='imagenet',
include_top=False)``) and its bugs kept so they can be shown, is :func:`source_deepdream`:

- the loss is normalised twice (``reduce_mean`` *and* ``/ np.prod(act.shape)``: ~1e-7, printed as ``0.000000``);
- it adds the std-normalised gradient with no step size (step 1 on an image in [-1, 1]) and never clips.

The fixed version (:func:`gradient_ascent`, :func:`octave_dream`) follows the TensorFlow tutorial the source points
to: step size 0.01, clipping to [-1, 1], octaves and random-roll tiling.

Network: InceptionV3 (``mixed2``–``mixed5``) with ImageNet weights when the registry can have them; offline, a small
fully convolutional CNN trained here to tell apart patches of the six bundled photos (:func:`build_patch_cnn`),
whose four convolution blocks play the part of the mixed layers. Both take [-1, 1] inputs (InceptionV3's own
preprocessing), so every function below runs unchanged on either.
"""
from __future__ import annotations

import dataclasses
from typing import Callable, Sequence

import numpy as np

DREAM_LAYERS = {
    "inception_v3": ("mixed2", "mixed3", "mixed4", "mixed5"),      # the source
    "patch_cnn": ("block2_conv2", "block3_conv1", "block3_conv2", "block4_conv1"),
}
PHOTO = "china"   # sklearn's china.jpg: sky over land, the offline stand-in for the source's "Big Sky" photo


def preprocess(image) -> np.ndarray:
    """The source's ``preprocess``: uint8 RGB 0–255 → float32 in [-1, 1] (``x / 127.5 − 1``, InceptionV3's)."""
    return np.asarray(image, dtype="float32") / 127.5 - 1.0


def deprocess(x) -> np.ndarray:
    """The source's ``deprocess``: [-1, 1] → uint8 (``255·(x + 1)/2``, clipped). Rounded (the source truncated,
    which loses 1 grey level on a round trip)."""
    return np.clip(np.round(255.0 * (np.asarray(x, dtype="float32") + 1.0) / 2.0), 0, 255).astype("uint8")


def load_photo(width: int, name: str = PHOTO) -> tuple[np.ndarray, str]:
    """A bundled photo (default sklearn's ``china.jpg``) resized to ``width`` pixels wide: ``(uint8 image,
    provenance line)``."""
    from PIL import Image

    from .. import data

    if width < 16:
        raise ValueError(f"width must be ≥ 16 pixels; got {width}")
    loaded = data.load("sample_photos", names=(name,))
    photo = loaded.data[name]
    height = max(1, round(photo.shape[0] * width / photo.shape[1]))
    resized = np.asarray(Image.fromarray(photo).resize((width, height), Image.LANCZOS))
    return resized, str(loaded.provenance)


# ------------------------------------------------------------------------------------------------ networks
def build_patch_cnn(classes: int = 6, seed: int = 0):
    """A small fully convolutional classifier (any input size ≥ 8 px, [-1, 1] RGB) used offline instead of
    InceptionV3: blocks of 3×3 ReLU convolutions ``block1`` (16, 16), ``block2`` (32, 32), ``block3`` (64, 64),
    ``block4`` (64) with 2×2 max pooling between them, global average pooling and ``Dense(classes)``."""
    import keras

    keras.utils.set_random_seed(seed)
    inputs = keras.Input((None, None, 3), name="image")
    x = inputs
    for block, filters in enumerate(((16, 16), (32, 32), (64, 64), (64,)), start=1):
        for number, width in enumerate(filters, start=1):
            x = keras.layers.Conv2D(width, 3, padding="same", activation="relu",
                                    name=f"block{block}_conv{number}")(x)
        if block < 4:
            x = keras.layers.MaxPooling2D(2, name=f"block{block}_pool")(x)
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    outputs = keras.layers.Dense(classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name="patch_cnn")


def photo_patches(count: int, patch_size: int = 32, scale: float = 0.25, seed: int = 0):
    """``count`` random ``patch_size`` crops of the six bundled photos (downscaled by ``scale``), preprocessed to
    [-1, 1], with random flips: ``(x (count, p, p, 3), y (count,) = photo index, names)``."""
    from PIL import Image

    from .. import data

    photos = data.load("sample_photos").data
    names = sorted(photos)
    small = []
    for name in names:
        photo = photos[name]
        size = (max(patch_size, round(photo.shape[1] * scale)), max(patch_size, round(photo.shape[0] * scale)))
        small.append(preprocess(np.asarray(Image.fromarray(photo).resize(size, Image.LANCZOS))))
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, len(names), size=count)
    patches = np.empty((count, patch_size, patch_size, 3), dtype="float32")
    for i, label in enumerate(labels):
        photo = small[label]
        row = rng.integers(0, photo.shape[0] - patch_size + 1)
        col = rng.integers(0, photo.shape[1] - patch_size + 1)
        patch = photo[row:row + patch_size, col:col + patch_size]
        patches[i] = patch[:, ::-1] if rng.random() < 0.5 else patch
    return patches, labels.astype("int64"), names


def train_patch_cnn(settings, run_dir: str, verbose="auto", seed: int = 0):
    """Train :func:`build_patch_cnn` on :func:`photo_patches` (``settings``: a ``DreamSettings``).

    Returns ``(model, result, validation_accuracy)`` (chance: 1/6)."""
    import keras

    from .. import training

    x, y, names = photo_patches(settings.patch_examples, seed=seed)
    model = build_patch_cnn(len(names), seed=seed)
    model.compile(optimizer=keras.optimizers.Adam(2e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    split = max(len(x) // 5, 1)
    result = training.fit(model, x[split:], y[split:], validation_data=(x[:split], y[:split]),
                          epochs=settings.patch_epochs, batch_size=64, run_dir=run_dir, resume=False, verbose=verbose)
    return model, result, float(result.history["val_accuracy"][-1])


def feature_extractor(base, layer_names: Sequence[str]):
    """``keras.Model(base.input, [base.get_layer(name).output for name in layer_names])`` (the source's
    ``feat_extraction_model``; its variable ``layers`` shadowed the ``layers`` module)."""
    import keras

    outputs = [base.get_layer(name).output for name in layer_names]
    return keras.Model(base.inputs[0], outputs, name=f"{base.name}_dream_features")


@dataclasses.dataclass(frozen=True)
class DreamNetwork:
    """The dreaming network: ``model`` maps [-1, 1] images to the ``layer_names`` activations."""

    name: str
    model: object
    layer_names: tuple[str, ...]
    provenance: str
    history: dict | None = None      # training history of the offline network (None for InceptionV3)


def dream_network(settings, run_dir: str, weights: str | None = "auto", verbose="auto") -> DreamNetwork:
    """InceptionV3 (``include_top=False``) with ImageNet weights and the source's layers when available; otherwise
    :func:`train_patch_cnn` (trained now) and its blocks. ``weights=None`` forces the offline network."""
    from . import pretrained

    if weights is not None and pretrained.weights_available("inception_v3", include_top=False):
        loaded = pretrained.build("inception_v3", weights=weights, include_top=False)
        layers = DREAM_LAYERS["inception_v3"]
        return DreamNetwork("inception_v3", feature_extractor(loaded.model, layers), layers, loaded.provenance)
    model, result, accuracy = train_patch_cnn(settings, run_dir, verbose=verbose)
    layers = DREAM_LAYERS["patch_cnn"]
    return DreamNetwork("patch_cnn", feature_extractor(model, layers), layers,
                        f"patch_cnn: no ImageNet InceptionV3 weights here; a small CNN trained now on patches of "
                        f"the six bundled photos ({settings.patch_examples} patches, {settings.patch_epochs} "
                        f"epochs, validation accuracy {accuracy:.2f}, chance 0.17)", result.history)


# ------------------------------------------------------------------------------------------------ losses
def calc_loss_source(activations) -> float:
    """The source's ``calc_loss``: Σ over layers of ``reduce_mean(act) / np.prod(act.shape)``; the mean already
    divides by the element count, so this divides twice (≈1e-7 for InceptionV3: ``%f`` prints 0.000000)."""
    from keras import ops

    return sum(ops.mean(act) / float(np.prod(act.shape)) for act in _as_list(activations))


def calc_loss(activations):
    """The fixed loss: Σ over layers of the mean activation (the TF tutorial's)."""
    from keras import ops

    return sum(ops.mean(act) for act in _as_list(activations))


def _as_list(activations):
    return list(activations) if isinstance(activations, (list, tuple)) else [activations]


# ------------------------------------------------------------------------------------------------ the source
@dataclasses.dataclass
class DreamRun:
    """``image`` (final, model space), ``losses`` per step (before it), ``snapshots`` step → uint8 image."""

    image: np.ndarray
    losses: list[float]
    snapshots: dict[int, np.ndarray]


def source_deepdream(model, image: np.ndarray, steps: int = 400, snapshot_every: int = 50,
                     report: Callable[[str], None] | None = print) -> DreamRun:
    """The source's loop: ``steps`` times, ``img += grad / (std(grad) + 1e-8)`` on the double-normalised loss —
    no step size, no clipping. Every ``snapshot_every`` steps it prints ``"Step %d, loss %f"`` (via ``report``)
    and keeps a snapshot (``deprocess`` clips for display, as the source's ``show`` did)."""
    import tensorflow as tf

    if steps < 1 or snapshot_every < 1:
        raise ValueError(f"steps and snapshot_every must be ≥ 1; got {steps}, {snapshot_every}")

    @tf.function
    def step(img):
        with tf.GradientTape() as tape:
            tape.watch(img)
            loss = calc_loss_source(model(img[None], training=False))
        gradients = tape.gradient(loss, img)
        gradients /= tf.math.reduce_std(gradients) + 1e-8
        return img + gradients, loss

    img = tf.constant(np.asarray(image, dtype="float32"))
    losses, snapshots = [], {0: deprocess(img.numpy())}
    for i in range(1, steps + 1):
        img, loss = step(img)
        losses.append(float(loss))
        if i % snapshot_every == 0:
            if report is not None:
                report("Step %d, loss %f" % (i, float(loss)))
            snapshots[i] = deprocess(img.numpy())
    return DreamRun(img.numpy(), losses, snapshots)


# ------------------------------------------------------------------------------------------------ fixed version
def gradient_ascent(model, image: np.ndarray, steps: int = 100, step_size: float = 0.01, clip: bool = True,
                    snapshot_every: int | None = None) -> DreamRun:
    """The fixed loop: ``img += step_size · grad / (std(grad) + 1e-8)`` on :func:`calc_loss`, clipped to
    [-1, 1] after every step (``clip=False`` to compare)."""
    import tensorflow as tf

    if steps < 1 or step_size <= 0:
        raise ValueError(f"steps must be ≥ 1 and step_size > 0; got {steps}, {step_size}")

    @tf.function
    def step(img):
        with tf.GradientTape() as tape:
            tape.watch(img)
            loss = calc_loss(model(img[None], training=False))
        gradients = tape.gradient(loss, img)
        gradients /= tf.math.reduce_std(gradients) + 1e-8
        img = img + step_size * gradients
        return (tf.clip_by_value(img, -1.0, 1.0) if clip else img), loss

    img = tf.constant(np.asarray(image, dtype="float32"))
    losses, snapshots = [], {0: deprocess(img.numpy())}
    for i in range(1, steps + 1):
        img, loss = step(img)
        losses.append(float(loss))
        if snapshot_every and i % snapshot_every == 0:
            snapshots[i] = deprocess(img.numpy())
    return DreamRun(img.numpy(), losses, snapshots)


def random_roll(image: np.ndarray, max_roll: int, rng: np.random.Generator):
    """``image`` (h, w, c) rolled by a random (dy, dx) in [-max_roll, max_roll]; returns ``(rolled, (dy, dx))``."""
    shift = tuple(int(s) for s in rng.integers(-max_roll, max_roll + 1, size=2))
    return np.roll(image, shift, axis=(0, 1)), shift


def tiled_gradients(model, image: np.ndarray, tile_size: int, rng: np.random.Generator) -> np.ndarray:
    """Gradient of :func:`calc_loss` computed tile by tile on a randomly rolled image, rolled back: large images fit
    in memory and tile seams move every step (the TF tutorial's ``TiledGradients``). Shape of ``image``."""
    import tensorflow as tf

    if tile_size < 8:
        raise ValueError(f"tile_size must be ≥ 8; got {tile_size}")
    rolled, (dy, dx) = random_roll(np.asarray(image, dtype="float32"), tile_size // 2, rng)
    gradients = np.zeros_like(rolled)
    height, width = rolled.shape[:2]
    rows = range(0, height, tile_size) if height > tile_size else [0]
    cols = range(0, width, tile_size) if width > tile_size else [0]
    for top in rows:
        for left in cols:
            tile = tf.constant(rolled[top:top + tile_size, left:left + tile_size])
            if min(tile.shape[0], tile.shape[1]) < 8:
                continue
            with tf.GradientTape() as tape:
                tape.watch(tile)
                loss = calc_loss(model(tile[None], training=False))
            gradients[top:top + tile_size, left:left + tile_size] = tape.gradient(loss, tile).numpy()
    return np.roll(gradients, (-dy, -dx), axis=(0, 1))


def octave_dream(model, image: np.ndarray, octaves: Sequence[int] = (-2, -1, 0, 1, 2), octave_scale: float = 1.3,
                 steps_per_octave: int = 100, step_size: float = 0.01, tile_size: int = 512,
                 seed: int = 0) -> DreamRun:
    """DeepDream over octaves: for each ``n`` in ``octaves`` the image is resized to ``octave_scale ** n`` times the
    original size and ``steps_per_octave`` tiled, clipped ascent steps run on it; the result returns to the
    original size. ``snapshots`` holds the image after each octave (keys: cumulative steps)."""
    import tensorflow as tf

    if steps_per_octave < 1 or octave_scale <= 1 or not len(octaves):
        raise ValueError(f"need steps_per_octave ≥ 1, octave_scale > 1 and at least one octave; got "
                         f"{steps_per_octave}, {octave_scale}, {octaves!r}")
    rng = np.random.default_rng(seed)
    original = np.asarray(image, dtype="float32")
    base_shape = np.array(original.shape[:2], dtype="float64")
    img = original
    losses, snapshots, done = [], {0: deprocess(original)}, 0
    for octave in octaves:
        size = np.maximum(np.round(base_shape * octave_scale ** octave), 16).astype(int)
        img = tf.image.resize(img, size, method="bilinear").numpy()
        for _ in range(steps_per_octave):
            gradients = tiled_gradients(model, img, tile_size, rng)
            gradients /= gradients.std() + 1e-8
            img = np.clip(img + step_size * gradients, -1.0, 1.0)
            done += 1
        losses.append(float(calc_loss(model(img[None], training=False))))
        snapshots[done] = deprocess(tf.image.resize(img, original.shape[:2]).numpy())
    final = np.clip(tf.image.resize(img, original.shape[:2]).numpy(), -1.0, 1.0)
    return DreamRun(final, losses, snapshots)
