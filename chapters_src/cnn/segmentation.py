"""Semantic segmentation with a U-Net (ch. 20 §1.2), its metrics, and instances from connected components (§1.4).

The source describes three ways to label every pixel:

1. classify each pixel from its neighbourhood (:func:`build_patch_classifier`, run once per pixel);
2. convolutions that keep the width and height while growing the depth, then a per-pixel classifier
   (:func:`build_full_resolution_net`);
3. an **encoder–decoder**: the encoder (convolution + pooling) makes the maps smaller and deeper, the decoder
   (``Conv2DTranspose``) larger and shallower; the **U-Net** adds skip connections from each encoder level to the
   decoder level of the same size (:func:`build_unet`).

:func:`approach_costs` counts parameters and multiply–adds of the three. Metrics: :func:`pixel_accuracy`,
:func:`confusion_matrix`, :func:`per_class_iou`, :func:`mean_iou`. :func:`instances_from_semantic` splits a class
mask into instances by connected components.
"""
from __future__ import annotations

import keras
import numpy as np


def _check_int(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}; got {value!r}")
    return int(value)


def _double_conv(x, filters: int, name: str):
    for index in (1, 2):
        x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu", name=f"{name}_conv{index}")(x)
    return x


def build_encoder(input_shape=(None, None, 3), depth: int = 3, base_filters: int = 16) -> keras.Model:
    """The U-Net's contracting path: ``depth + 1`` levels of two 3×3 convolutions (``base_filters·2**level``
    filters), a 2×2 max-pool between levels. Outputs the list of every level's map, largest first; the last
    one (``H/2**depth``) is the bottleneck."""
    depth, base_filters = _check_int("depth", depth, 1), _check_int("base_filters", base_filters, 1)
    inputs = keras.Input(input_shape, name="image")
    x, levels = inputs, []
    for level in range(depth + 1):
        if level:
            x = keras.layers.MaxPooling2D(2, name=f"down{level}_pool")(x)
        x = _double_conv(x, base_filters * 2 ** level, f"down{level}")
        levels.append(x)
    return keras.Model(inputs, levels, name="encoder")


def build_unet(input_shape=(None, None, 3), n_classes: int = 4, depth: int = 3, base_filters: int = 16,
               encoder=None) -> keras.Model:
    """U-Net: image ``(H, W, C)`` → per-pixel class probabilities ``(H, W, n_classes)``.

    ``encoder`` (the "backbone", optional): a Keras model or callable returning a list of feature maps, largest
    first, each half the size of the one before (e.g. a classic CNN's intermediate outputs); default
    :func:`build_encoder`. The decoder upsamples the last map with a stride-2 ``Conv2DTranspose``, concatenates the
    encoder map of the same size (the skip connection) and applies two 3×3 convolutions, level by level.
    H and W must be divisible by ``2**depth`` (checked here when they are known).
    """
    n_classes = _check_int("n_classes", n_classes, 2)
    depth = _check_int("depth", depth, 1)
    for side in input_shape[:2]:
        if side is not None and side % 2 ** depth:
            raise ValueError(f"input height and width must be divisible by 2**depth = {2 ** depth}; "
                             f"got input_shape {tuple(input_shape)}")
    inputs = keras.Input(input_shape, name="image")
    levels = list((encoder or build_encoder(input_shape, depth, base_filters))(inputs))
    x = levels[-1]
    for level, skip in reversed(list(enumerate(levels[:-1]))):
        filters = int(skip.shape[-1])
        x = keras.layers.Conv2DTranspose(filters, 2, strides=2, padding="same", name=f"up{level}_transpose")(x)
        x = keras.layers.Concatenate(name=f"up{level}_skip")([x, skip])
        x = _double_conv(x, filters, f"up{level}")
    outputs = keras.layers.Conv2D(n_classes, 1, activation="softmax", name="classes")(x)
    return keras.Model(inputs, outputs, name="unet")


def build_patch_classifier(patch_size: int = 15, n_classes: int = 4, input_channels: int = 3) -> keras.Model:
    """Approach 1: a small CNN that labels the centre pixel of a ``patch_size``² neighbourhood (run per pixel)."""
    patch_size = _check_int("patch_size", patch_size, 3)
    return keras.Sequential([
        keras.Input((patch_size, patch_size, input_channels)),
        keras.layers.Conv2D(16, 3, activation="relu"), keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(32, 3, activation="relu"), keras.layers.GlobalMaxPooling2D(),
        keras.layers.Dense(n_classes, activation="softmax")], name="patch_classifier")


def build_full_resolution_net(input_shape=(None, None, 3), n_classes: int = 4, filters=(16, 32, 64, 128)) -> keras.Model:
    """Approach 2: 3×3 convolutions that keep H×W while the depth grows, then a 1×1 per-pixel classifier."""
    inputs = keras.Input(input_shape)
    x = inputs
    for count in filters:
        x = keras.layers.Conv2D(count, 3, padding="same", activation="relu")(x)
    return keras.Model(inputs, keras.layers.Conv2D(n_classes, 1, activation="softmax")(x), name="full_resolution")


def multiply_adds(model: keras.Model) -> int:
    """Multiply–adds of one forward pass, counting ``Conv2D``, ``Conv2DTranspose`` and ``Dense`` layers
    (the model must have a fixed input size): ``out_h·out_w·k_h·k_w·c_in·c_out`` for a convolution,
    ``in_h·in_w·k_h·k_w·c_in·c_out`` for a transposed one, ``n_in·n_out`` for a dense layer."""
    total = 0
    for layer in _leaf_layers(model):
        if isinstance(layer, keras.layers.Conv2DTranspose):
            in_h, in_w, c_in = layer.input.shape[1:]
            total += in_h * in_w * int(np.prod(layer.kernel_size)) * c_in * layer.filters
        elif isinstance(layer, keras.layers.Conv2D):
            out_h, out_w, _ = layer.output.shape[1:]
            total += out_h * out_w * int(np.prod(layer.kernel_size)) * layer.input.shape[-1] * layer.filters
        elif isinstance(layer, keras.layers.Dense):
            total += int(layer.input.shape[-1]) * layer.units
    return int(total)


def _leaf_layers(model):
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _leaf_layers(layer)
        else:
            yield layer


def approach_costs(image_size: int = 64, n_classes: int = 4, patch_size: int = 15, depth: int = 3,
                   base_filters: int = 16) -> list[dict]:
    """The three approaches of ch. 20 §1.2 on one ``image_size``² RGB image: rows ``{"approach", "parameters",
    "multiply_adds"}`` (the patch classifier is run ``image_size²`` times, once per pixel)."""
    size = _check_int("image_size", image_size, 2 ** depth)
    patch = build_patch_classifier(patch_size, n_classes)
    full = build_full_resolution_net((size, size, 3), n_classes)
    unet = build_unet((size, size, 3), n_classes, depth, base_filters)
    return [
        {"approach": f"1. per-pixel classifier ({patch_size}×{patch_size} patches)",
         "parameters": patch.count_params(), "multiply_adds": multiply_adds(patch) * size * size},
        {"approach": "2. full-resolution convolutions", "parameters": full.count_params(),
         "multiply_adds": multiply_adds(full)},
        {"approach": f"3. U-Net encoder–decoder (depth {depth})", "parameters": unet.count_params(),
         "multiply_adds": multiply_adds(unet)},
    ]


# ---------------------------------------------------------------------------------------------------------------
# Metrics
# ---------------------------------------------------------------------------------------------------------------


def confusion_matrix(true_masks, predicted_masks, n_classes: int) -> np.ndarray:
    """``(n_classes, n_classes)`` int64 counts: row = true class, column = predicted class, over all pixels."""
    n_classes = _check_int("n_classes", n_classes, 1)
    true, predicted = np.asarray(true_masks).reshape(-1), np.asarray(predicted_masks).reshape(-1)
    if true.shape != predicted.shape:
        raise ValueError(f"true_masks and predicted_masks must have the same size; got {np.shape(true_masks)} "
                         f"and {np.shape(predicted_masks)}")
    if true.size and (min(true.min(), predicted.min()) < 0 or max(true.max(), predicted.max()) >= n_classes):
        raise ValueError(f"class indices must be in [0, {n_classes - 1}]")
    return np.bincount(true.astype("int64") * n_classes + predicted.astype("int64"),
                       minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def pixel_accuracy(true_masks, predicted_masks) -> float:
    """Fraction of pixels whose predicted class is the true class."""
    true, predicted = np.asarray(true_masks), np.asarray(predicted_masks)
    if true.shape != predicted.shape:
        raise ValueError(f"shapes differ: {true.shape} vs {predicted.shape}")
    return float(np.mean(true == predicted))


def per_class_iou(true_masks, predicted_masks, n_classes: int) -> np.ndarray:
    """IoU of every class, TP / (TP + FP + FN) over all pixels; NaN for a class absent from both."""
    matrix = confusion_matrix(true_masks, predicted_masks, n_classes).astype("float64")
    true_positive = np.diag(matrix)
    union = matrix.sum(axis=0) + matrix.sum(axis=1) - true_positive
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, true_positive / union, np.nan)


def mean_iou(true_masks, predicted_masks, n_classes: int) -> float:
    """Mean of :func:`per_class_iou` over the classes present in the truth or the prediction."""
    return float(np.nanmean(per_class_iou(true_masks, predicted_masks, n_classes)))


def predict_masks(model: keras.Model, images, batch_size: int = 64) -> np.ndarray:
    """Most probable class per pixel, uint8 ``(n, H, W)``."""
    return np.argmax(model.predict(images, batch_size=batch_size, verbose=0), axis=-1).astype("uint8")


# ---------------------------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------------------------


class EpochPredictions(keras.callbacks.Callback):
    """Keeps the predicted masks of a few ``images`` after every epoch (``.masks``: list of uint8 (n, H, W))."""

    def __init__(self, images):
        super().__init__()
        self.images, self.masks = np.asarray(images), []

    def on_epoch_end(self, epoch, logs=None):
        self.masks.append(predict_masks(self.model, self.images))


def train_unet(settings, data, run_dir: str, encoder=None, watch_images=None, verbose="auto", jit_compile: bool = False):
    """Build and train :func:`build_unet` on ``data`` (:class:`~chapters_src.data.scenes.SegmentationData`); the last
    10 % of the training split validate. Returns ``(model, TrainingResult, EpochPredictions)`` (the predicted masks of
    ``watch_images`` after every epoch; none if ``watch_images`` is None)."""
    from .. import training

    train = data.train
    model = build_unet(train.images.shape[1:], len(data.class_names), settings.depth, settings.base_filters, encoder)
    model.compile(optimizer=keras.optimizers.Adam(settings.learning_rate), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], jit_compile=jit_compile)
    recorder = EpochPredictions(train.images[:0] if watch_images is None else watch_images)
    split = len(train.images) - max(len(train.images) // 10, 1)
    result = training.fit(model, train.images[:split], train.masks[:split],
                          validation_data=(train.images[split:], train.masks[split:]), epochs=settings.epochs,
                          batch_size=settings.batch_size, run_dir=run_dir, resume=False, verbose=verbose,
                          callbacks=[recorder])
    return model, result, recorder


KERAS_IO_VALIDATION_LOSS = {
    "quoted by the companion's issue (keras-io U-Net, 1,000 validation pets)": 0.39,
    "keras-io's current Keras 3 log, best epoch": 0.89,
    "keras-io's current Keras 3 log, last epoch": 1.22,
}
"""Validation losses of the keras-io example *Image segmentation with a U-Net-like architecture* (Oxford-IIIT Pets
trimaps at 160×160, sparse categorical cross-entropy): the value the issue quotes and the two in the page's log."""

REAL_DATA_KINDS = ("cached", "downloaded")


def keras_io_comparison(data_kind: str, validation_loss: float) -> str:
    """Our validation loss beside :data:`KERAS_IO_VALIDATION_LOSS`, saying whether the numbers are comparable.

    ``data_kind`` is the provenance kind of the data that trained the model: ``"cached"`` or ``"downloaded"``
    (real Oxford-IIIT Pets trimaps: the same task as keras-io's, so the losses compare, up to input size, model and
    epochs) or ``"substitute"`` (generated shapes: another task, so the numbers are printed but not compared)."""
    if data_kind not in (*REAL_DATA_KINDS, "substitute"):
        raise ValueError(f"data_kind must be one of {(*REAL_DATA_KINDS, 'substitute')}; got {data_kind!r}")
    validation_loss = float(validation_loss)
    if not np.isfinite(validation_loss) or validation_loss < 0:
        raise ValueError(f"validation_loss must be a finite number >= 0; got {validation_loss!r}")
    lines = [f"this page: validation loss {validation_loss:.3f} on "
             + ("Oxford-IIIT Pets trimaps" if data_kind in REAL_DATA_KINDS else "generated shapes")]
    lines += [f"keras-io:  {value:.2f} ({what})" for what, value in KERAS_IO_VALIDATION_LOSS.items()]
    if data_kind in REAL_DATA_KINDS:
        best = min(KERAS_IO_VALIDATION_LOSS.values())
        verdict = "lower than" if validation_loss < best else "not lower than"
        lines.append(f"comparable (same data and loss): ours is {verdict} the lowest keras-io value, {best:.2f}; input "
                     "size, model and epochs differ (see the settings above)")
    else:
        lines.append("not comparable: these are generated shapes, not the pets (offline substitute); run with the real "
                     "data (profile full, online) to compare")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------------------
# Instances and pictures
# ---------------------------------------------------------------------------------------------------------------


def instances_from_semantic(mask, background: int = 0, connectivity: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Split a class mask ``(H, W)`` into instances: the connected components of every non-background class
    (``skimage.measure.label``; ``connectivity`` 1 = 4-neighbours, 2 = 8-neighbours).

    Returns ``(instances, classes)``: int32 ``(H, W)`` with 0 = background and 1..k = instance, and the class of
    each instance, int64 ``(k,)``. Touching objects of one class become a single instance: the limit of the idea.
    """
    from skimage.measure import label

    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"mask must have shape (height, width); got {mask.shape}")
    instances, classes = np.zeros(mask.shape, dtype="int32"), []
    for value in np.unique(mask):
        if value == background:
            continue
        components, count = label(mask == value, connectivity=connectivity, return_num=True)
        for component in range(1, count + 1):
            instances[components == component] = len(classes) + 1
            classes.append(int(value))
    return instances, np.asarray(classes, dtype="int64")


def colour_masks(masks, n_classes: int) -> np.ndarray:
    """Class masks ``(..., H, W)`` → RGB float ``(..., H, W, 3)`` with class 0 black (tab10 colours)."""
    import matplotlib

    palette = np.asarray(matplotlib.colormaps["tab10"].colors)[:max(n_classes, 1)]
    palette = np.concatenate([[[0.0, 0.0, 0.0]], palette[:n_classes - 1]])
    return palette[np.asarray(masks, dtype="int64") % n_classes]


def draw_segmentations(images, true_masks, predicted_masks, n_classes: int, class_names=None):
    """Rows of image | truth | prediction (with per-image pixel accuracy)."""
    import matplotlib.pyplot as plt

    from .. import plots

    count = len(images)
    with plots.style_context():
        figure, axes = plt.subplots(count, 3, figsize=(5.4, 1.9 * count), squeeze=False, layout="constrained")
        for row in range(count):
            accuracy = pixel_accuracy(true_masks[row], predicted_masks[row])
            for column, (picture, title) in enumerate([(np.clip(images[row], 0, 1), "image"),
                                                       (colour_masks(true_masks[row], n_classes), "truth"),
                                                       (colour_masks(predicted_masks[row], n_classes),
                                                        f"prediction ({accuracy:.0%})")]):
                axes[row, column].imshow(picture, interpolation="nearest")
                axes[row, column].set_title(title, fontsize=8)
                axes[row, column].axis("off")
        if class_names:
            colours = colour_masks(np.arange(n_classes), n_classes)
            handles = [plt.Rectangle((0, 0), 1, 1, color=colours[i]) for i in range(n_classes)]
            figure.legend(handles, class_names, loc="outside lower center", ncols=min(n_classes, 4), fontsize=8)
    return figure


def draw_unet_diagram(image_size: int = 48, depth: int = 3, base_filters: int = 16, n_classes: int = 4):
    """The source's Fig. 20.3 for :func:`build_unet` with these arguments: encoder levels going down (smaller and
    deeper), decoder levels going up (``Conv2DTranspose``: larger and shallower), skip connections across (a
    schematic Figure; every block shows its output shape)."""
    from .boxes import Block, block_diagram

    depth = _check_int("depth", depth, 1)
    size = _check_int("image_size", image_size, 2 ** depth)
    if size % 2 ** depth:
        raise ValueError(f"image_size must be divisible by 2**depth = {2 ** depth}; got {image_size}")
    blocks = {"image": Block(-2.2, 0, f"image\n{size}×{size}×3", "data", 1.4, 0.7)}
    arrows = [("image", "down0")]
    for level in range(depth + 1):
        side, filters = size // 2 ** level, base_filters * 2 ** level
        kind = "pool" if level == depth else "conv"
        blocks[f"down{level}"] = Block(1.1 * level, -1.1 * level, f"2 × conv 3×3\n{side}×{side}×{filters}", kind,
                                       1.5, 0.75)
        if level:
            arrows.append((f"down{level - 1}", f"down{level}", "max-pool"))
    right = 1.1 * (2 * depth) + 1.0
    for level in reversed(range(depth)):
        side, filters = size // 2 ** level, base_filters * 2 ** level
        blocks[f"up{level}"] = Block(right - 1.1 * level, -1.1 * level,
                                     f"transpose ↑ + concat\n2 × conv → {side}×{side}×{filters}", "new", 1.9, 0.75)
        below = f"down{depth}" if level == depth - 1 else f"up{level + 1}"
        arrows.append((below, f"up{level}", "Conv2DTranspose"))
        arrows.append((f"down{level}", f"up{level}", "skip (concatenate)", "--"))
    blocks["output"] = Block(right + 2.4, 0, f"1×1 conv, softmax\n{size}×{size}×{n_classes}", "head", 1.7, 0.75)
    arrows.append(("up0", "output"))
    return block_diagram(blocks, arrows, figsize=(10, 1.2 + 1.0 * depth),
                         title="U-Net: encoder (smaller, deeper), decoder (larger, shallower), skips (cf. Fig. 20.3)")
