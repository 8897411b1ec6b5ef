"""Classification and localization: one convolutional trunk, a class head and a box head (ch. 20 §1.1).

The network is trained on the source's combined loss ``L = α·L_class + (1 − α)·L_box`` (α ∈ [0, 1], default 0.5):
categorical cross-entropy for the class, mean squared error for the box ``(x, y, w, h)`` (normalised, see
:mod:`chapters_src.cnn.boxes`).

Every builder takes an optional ``trunk``: any Keras model or callable mapping an image tensor ``(B, H, W, 3)`` to a
feature map ``(B, h, w, c)``, e.g. one of the classic architectures with ``include_top=False``. Without one,
:func:`conv_trunk` builds a small stack of convolution + max-pooling blocks.
"""
from __future__ import annotations

import keras
import numpy as np

from .boxes import iou

CLASS_OUTPUT, BOX_OUTPUT = "class", "box"


def conv_trunk(filters=(16, 32, 64), input_channels: int = 3, batch_norm: bool = False,
               name: str = "trunk") -> keras.Sequential:
    """Blocks of ``Conv2D(f, 3, same) → [BatchNorm] → ReLU → MaxPool 2×2``, one per entry of ``filters``: the
    feature map is ``2**len(filters)`` times smaller than the image and ``filters[-1]`` deep. Batch normalisation
    (momentum 0.9, so that its moving statistics settle within the few hundred steps of a small run) speeds up
    training of the detector."""
    if not filters or any(isinstance(f, bool) or not isinstance(f, int) or f < 1 for f in filters):
        raise ValueError(f"filters must be a non-empty sequence of positive ints; got {filters!r}")
    layers = [keras.Input((None, None, input_channels))]
    for index, count in enumerate(filters):
        layers.append(keras.layers.Conv2D(count, 3, padding="same", use_bias=not batch_norm, name=f"conv{index + 1}"))
        if batch_norm:
            layers.append(keras.layers.BatchNormalization(momentum=0.9, name=f"bn{index + 1}"))
        layers += [keras.layers.Activation("relu", name=f"relu{index + 1}"),
                   keras.layers.MaxPooling2D(2, name=f"pool{index + 1}")]
    return keras.Sequential(layers, name=name)


def check_alpha(alpha) -> float:
    """``alpha`` as a float, or ``ValueError`` unless it is a number in [0, 1]."""
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.floating)) or not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be a number in [0, 1] (weight of the class loss); got {alpha!r}")
    return float(alpha)


def combined_loss(class_loss, box_loss, alpha: float = 0.5):
    """The source's ``L = α·L_class + (1 − α)·L_box``."""
    alpha = check_alpha(alpha)
    return alpha * class_loss + (1.0 - alpha) * box_loss


def build_localizer(input_shape=(48, 48, 3), n_classes: int = 3, trunk=None, trunk_filters=(16, 32, 64),
                    dense_units: int = 128) -> keras.Model:
    """Image ``input_shape`` → ``{"class": (B, n_classes) softmax, "box": (B, 4) sigmoid (x, y, w, h)}``.

    The trunk's feature map is flattened (keeping *where* things are, which global pooling would discard) and
    feeds one hidden ``Dense(dense_units)`` layer shared by the two heads.
    """
    if isinstance(n_classes, bool) or not isinstance(n_classes, int) or n_classes < 2:
        raise ValueError(f"n_classes must be an int >= 2; got {n_classes!r}")
    inputs = keras.Input(input_shape, name="image")
    features = (trunk or conv_trunk(trunk_filters, input_shape[-1]))(inputs)
    hidden = keras.layers.Flatten(name="flatten")(features)
    hidden = keras.layers.Dropout(0.2, name="dropout")(hidden)
    hidden = keras.layers.Dense(dense_units, activation="relu", name="shared_dense")(hidden)
    class_output = keras.layers.Dense(n_classes, activation="softmax", name=CLASS_OUTPUT)(hidden)
    box_output = keras.layers.Dense(4, activation="sigmoid", name=BOX_OUTPUT)(hidden)
    return keras.Model(inputs, {CLASS_OUTPUT: class_output, BOX_OUTPUT: box_output}, name="localizer")


def compile_localizer(model: keras.Model, alpha: float = 0.5, learning_rate: float = 1e-3,
                      jit_compile: bool = False) -> keras.Model:
    """Compile with ``loss_weights`` α (sparse categorical cross-entropy) and 1 − α (MSE on the box).
    ``jit_compile``: XLA, e.g. ``device.setup()``'s choice (off on CPU, where compiling costs more than it saves)."""
    alpha = check_alpha(alpha)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss={CLASS_OUTPUT: "sparse_categorical_crossentropy", BOX_OUTPUT: "mse"},
                  loss_weights={CLASS_OUTPUT: alpha, BOX_OUTPUT: 1.0 - alpha},
                  metrics={CLASS_OUTPUT: ["accuracy"]}, jit_compile=jit_compile)
    return model


def evaluate_localizer(model: keras.Model, images, labels, boxes, batch_size: int = 256) -> dict:
    """``{"accuracy", "mean_iou", "iou" (n,), "predicted_labels" (n,), "predicted_boxes" (n, 4)}`` on a split."""
    outputs = model.predict(images, batch_size=batch_size, verbose=0)
    predicted_labels = np.argmax(outputs[CLASS_OUTPUT], axis=-1)
    predicted_boxes = np.asarray(outputs[BOX_OUTPUT], dtype="float64")
    overlaps = np.asarray(iou(predicted_boxes, boxes))
    return {"accuracy": float(np.mean(predicted_labels == np.asarray(labels))), "mean_iou": float(overlaps.mean()),
            "iou": overlaps, "predicted_labels": predicted_labels, "predicted_boxes": predicted_boxes}


def mean_box_baseline(train_boxes, test_boxes) -> float:
    """Mean IoU on ``test_boxes`` of always predicting the mean training box: the trivial baseline to beat."""
    mean_box = np.asarray(train_boxes, dtype="float64").mean(axis=0)
    return float(np.mean(iou(np.broadcast_to(mean_box, np.shape(test_boxes)), test_boxes)))


def train_localizer(settings, data, run_dir: str, trunk=None, verbose="auto", jit_compile: bool = False):
    """Build, compile (α from ``settings``) and train on ``data`` (:class:`~chapters_src.data.scenes.LocalizationData`);
    the last 10 % of the training split validate. Returns ``(model, TrainingResult)``."""
    from .. import training

    train = data.train
    model = compile_localizer(build_localizer(train.images.shape[1:], len(data.class_names), trunk=trunk,
                                              trunk_filters=settings.trunk_filters),
                              settings.alpha, settings.learning_rate, jit_compile)
    split = len(train.images) - max(len(train.images) // 10, 1)
    targets = {CLASS_OUTPUT: train.labels, BOX_OUTPUT: train.boxes}
    result = training.fit(
        model, train.images[:split], {key: value[:split] for key, value in targets.items()},
        validation_data=(train.images[split:], {key: value[split:] for key, value in targets.items()}),
        epochs=settings.epochs, batch_size=settings.batch_size, run_dir=run_dir, resume=False, verbose=verbose)
    return model, result


def draw_predictions(images, true_boxes, predicted_boxes, true_labels, predicted_labels, class_names, ncols=6):
    """A grid of images with the true box (green, dashed) and the predicted box (yellow) and class; each title is
    the IoU, red with a ✗ when the class is wrong (:func:`boxes.box_grid` draws the grid)."""
    from .boxes import box_grid

    right = [int(p) == int(t) for p, t in zip(predicted_labels, true_labels)]
    titles = [f"IoU {iou(p, t):.2f}" + ("" if ok else " ✗") for p, t, ok in zip(predicted_boxes, true_boxes, right)]
    figure = box_grid(images, [[box] for box in predicted_boxes],
                      captions=[[class_names[int(label)]] for label in predicted_labels], ncols=ncols,
                      titles=titles, suptitle="true box (green, dashed) vs predicted box and class (yellow)",
                      true_boxes=[[box] for box in true_boxes])
    for ax, ok in zip(figure.axes, right):
        if not ok:
            ax.title.set_color("red")
    return figure


def draw_localizer_diagram(input_shape=(48, 48, 3), trunk_filters=(16, 32, 64), n_classes: int = 3,
                           dense_units: int = 128, alpha: float = 0.5):
    """The source's Fig. 20.2 for :func:`build_localizer` with these arguments: the trunk's blocks with their output
    shapes, the shared dense layer, the class and box heads and the combined loss (a schematic Figure)."""
    from .boxes import Block, block_diagram

    alpha = check_alpha(alpha)
    height, width, channels = input_shape
    blocks = {"image": Block(0, 0, f"image\n{height}×{width}×{channels}", "data", 1.3)}
    previous = "image"
    for index, count in enumerate(trunk_filters):
        height, width = height // 2, width // 2
        name = f"block{index + 1}"
        blocks[name] = Block(1.8 * (index + 1), 0, f"conv 3×3, {count}\n+ max-pool 2×2\n→ {height}×{width}×{count}",
                             "conv", 1.5, 0.9)
        previous = name
    x = 1.8 * (len(trunk_filters) + 1)
    blocks["dense"] = Block(x, 0, f"flatten\n{height * width * trunk_filters[-1]:,}\n→ dense {dense_units}", "conv",
                            1.5, 0.9)
    blocks["class"] = Block(x + 2.0, 0.75, f"class head\nsoftmax, {n_classes}", "head", 1.5, 0.7)
    blocks["box"] = Block(x + 2.0, -0.75, "box head (new)\nsigmoid, (x, y, w, h)", "new", 1.5, 0.7)
    blocks["loss"] = Block(x + 4.2, 0, f"L = {alpha:g}·L_class\n+ {1 - alpha:g}·L_box\n(cross-entropy, MSE)", "loss",
                           1.7, 0.9)
    arrows = [(a, b) for a, b in zip(list(blocks)[:len(trunk_filters) + 1], list(blocks)[1:len(trunk_filters) + 2])]
    arrows += [("dense", "class"), ("dense", "box"), ("class", "loss"), ("box", "loss")]
    return block_diagram(blocks, arrows, title="classification + localization: one trunk, two heads (cf. Fig. 20.2)",
                         figsize=(10, 2.6))
