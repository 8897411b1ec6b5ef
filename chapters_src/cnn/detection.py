"""Object detection, from R-CNN's region proposals to a single-shot (YOLO-style) detector, and a Mask R-CNN-style
mask head for instance segmentation (ch. 20 §1.3–§1.4).

- :func:`region_proposals`: boxes of Felzenszwalb–Huttenlocher segments, the first stage of Selective Search;
- YOLO targets: :func:`encode_yolo` / :func:`decode_yolo` for an ``S × S`` grid with ``B`` boxes per cell and ``C``
  classes, output ``S × S × (5B + C)``; per cell ``[x, y, w, h, confidence] × B`` then ``C`` class probabilities,
  ``x, y`` = box centre relative to the cell, ``w, h`` = size relative to the image (YOLOv1, Redmon et al. 2016);
- :func:`yolo_loss` / :class:`YoloLoss`, :func:`build_detector` (trunk + YOLO head), :func:`detect` (decode + NMS);
- :func:`average_precision` and :func:`mean_average_precision` (PASCAL VOC, all-point interpolation);
- :func:`images_per_second`: throughput; :func:`train_detector` and :func:`load_or_train_detector` (reuses a finished
  run of the same settings, e.g. notebook 06's, in notebook 06b);
- the mask head: :func:`build_mask_head` (RoIAlign features → one binary mask per box), :func:`mask_targets`,
  :func:`paste_masks`, :func:`mask_iou`;
- :func:`draw_architecture`: schematic diagrams of R-CNN, Fast R-CNN, Faster R-CNN, YOLO and Mask R-CNN (the source's
  Figs. 20.4–20.7) and of this chapter's detector + mask head.

Every model builder takes an optional ``trunk`` (any Keras model or callable mapping images to a feature map).
"""
from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import NamedTuple

import keras
import numpy as np

from .boxes import RoiAlign, iou, non_max_suppression, pairwise_iou
from .localization import conv_trunk

ops = keras.ops


def _check_int(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}; got {value!r}")
    return int(value)


# ---------------------------------------------------------------------------------------------------------------
# R-CNN's first stage: region proposals
# ---------------------------------------------------------------------------------------------------------------


def region_proposals(image, scale: float = 100.0, sigma: float = 0.5, min_size: int = 20) -> np.ndarray:
    """``(x, y, w, h)`` boxes (normalised) around the segments of ``skimage.segmentation.felzenszwalb`` — the
    initial regions of Selective Search (Uijlings et al. 2013), before its hierarchical grouping. ``image``
    (H, W, 3) in [0, 1]. Larger ``scale`` → larger segments, fewer boxes."""
    from skimage.segmentation import felzenszwalb

    image = np.asarray(image, dtype="float64")
    segments = felzenszwalb(image, scale=scale, sigma=sigma, min_size=min_size)
    height, width = segments.shape
    found = []
    for label in range(segments.max() + 1):
        rows, cols = np.nonzero(segments == label)
        if rows.size:
            found.append([cols.min() / width, rows.min() / height, (cols.max() + 1 - cols.min()) / width,
                          (rows.max() + 1 - rows.min()) / height])
    return np.asarray(found, dtype="float32").reshape(-1, 4)


def proposal_recall(proposals, true_boxes, iou_threshold: float = 0.5) -> float:
    """Fraction of ``true_boxes`` that some proposal overlaps with IoU ≥ ``iou_threshold`` (1.0 if none)."""
    true_boxes = np.asarray(true_boxes).reshape(-1, 4)
    if not len(true_boxes):
        return 1.0
    if not len(proposals):
        return 0.0
    return float(np.mean(pairwise_iou(true_boxes, proposals).max(axis=1) >= iou_threshold))


# ---------------------------------------------------------------------------------------------------------------
# YOLO encoding
# ---------------------------------------------------------------------------------------------------------------


def yolo_depth(boxes_per_cell: int, n_classes: int) -> int:
    """Channels per cell: ``5B + C``."""
    return 5 * _check_int("boxes_per_cell", boxes_per_cell, 1) + _check_int("n_classes", n_classes, 1)


def encode_yolo(boxes, labels, grid_size: int = 7, boxes_per_cell: int = 2, n_classes: int = 20) -> np.ndarray:
    """One image's objects → the ``(S, S, 5B + C)`` target.

    ``boxes`` (K, 4) ``(x, y, w, h)`` normalised, ``labels`` (K,) (entries < 0 are padding and skipped). An object
    belongs to the cell holding its centre; its ``[x_cell, y_cell, w, h, 1]`` fills the cell's first free slot and
    the cell's class vector becomes its one-hot class (the first object's class if several share a cell: YOLOv1
    predicts one class per cell). Objects beyond ``B`` in one cell are dropped.
    """
    grid_size = _check_int("grid_size", grid_size, 1)
    depth = yolo_depth(boxes_per_cell, n_classes)
    boxes = np.asarray(boxes, dtype="float64").reshape(-1, 4)
    labels = np.asarray(labels, dtype="int64").reshape(-1)
    if len(boxes) != len(labels):
        raise ValueError(f"boxes and labels must have the same length; got {len(boxes)} and {len(labels)}")
    if np.any(labels >= n_classes):
        raise ValueError(f"labels must be < n_classes = {n_classes}; got {labels.max()}")
    target = np.zeros((grid_size, grid_size, depth), dtype="float32")
    used = np.zeros((grid_size, grid_size), dtype="int64")
    for (x, y, w, h), label in zip(boxes, labels):
        if label < 0:
            continue
        centre_x, centre_y = (x + w / 2) * grid_size, (y + h / 2) * grid_size
        col, row = min(max(int(centre_x), 0), grid_size - 1), min(max(int(centre_y), 0), grid_size - 1)
        slot = used[row, col]
        if slot >= boxes_per_cell:
            continue
        target[row, col, 5 * slot:5 * slot + 5] = [centre_x - col, centre_y - row, w, h, 1.0]
        if slot == 0:
            target[row, col, 5 * boxes_per_cell + label] = 1.0
        used[row, col] += 1
    return target


def encode_yolo_batch(boxes, labels, grid_size: int = 7, boxes_per_cell: int = 2, n_classes: int = 20) -> np.ndarray:
    """:func:`encode_yolo` for every image: ``(n, K, 4)``, ``(n, K)`` → ``(n, S, S, 5B + C)``."""
    return np.stack([encode_yolo(b, l, grid_size, boxes_per_cell, n_classes) for b, l in zip(boxes, labels)])


class Detections(NamedTuple):
    """One image's detections: ``boxes`` float32 (k, 4) ``(x, y, w, h)``, ``scores`` (k,), ``labels`` int64 (k,)."""

    boxes: np.ndarray
    scores: np.ndarray
    labels: np.ndarray


def decode_yolo(grid, boxes_per_cell: int = 2, score_threshold: float = 0.5) -> Detections:
    """A ``(S, S, 5B + C)`` grid (target or prediction) → every box whose class-specific confidence
    ``confidence × max class probability`` exceeds ``score_threshold`` (no NMS; see :func:`detect`)."""
    grid = np.asarray(grid, dtype="float64")
    size, depth = grid.shape[0], grid.shape[-1]
    boxes_per_cell = _check_int("boxes_per_cell", boxes_per_cell, 1)
    if grid.ndim != 3 or grid.shape[1] != size or depth <= 5 * boxes_per_cell:
        raise ValueError(f"grid must have shape (S, S, 5B + C) with C >= 1; got {grid.shape} for B = {boxes_per_cell}")
    slots = grid[..., :5 * boxes_per_cell].reshape(size, size, boxes_per_cell, 5)
    classes = grid[..., 5 * boxes_per_cell:]
    rows, cols = np.mgrid[0:size, 0:size]
    centre_x = (cols[..., None] + slots[..., 0]) / size
    centre_y = (rows[..., None] + slots[..., 1]) / size
    found = np.stack([centre_x - slots[..., 2] / 2, centre_y - slots[..., 3] / 2, slots[..., 2], slots[..., 3]], -1)
    scores = slots[..., 4] * classes.max(axis=-1)[..., None]
    labels = np.broadcast_to(classes.argmax(axis=-1)[..., None], scores.shape)
    keep = scores > score_threshold
    return Detections(found[keep].astype("float32"), scores[keep].astype("float32"), labels[keep].astype("int64"))


# ---------------------------------------------------------------------------------------------------------------
# Loss and model
# ---------------------------------------------------------------------------------------------------------------


def _box_iou_ops(a, b):
    """IoU of centre-format boxes ``(..., 4)`` = (cx, cy, w, h) in one frame of reference (keras.ops)."""
    a_min, a_max = a[..., :2] - a[..., 2:] / 2, a[..., :2] + a[..., 2:] / 2
    b_min, b_max = b[..., :2] - b[..., 2:] / 2, b[..., :2] + b[..., 2:] / 2
    sides = ops.maximum(ops.minimum(a_max, b_max) - ops.maximum(a_min, b_min), 0.0)
    intersection = sides[..., 0] * sides[..., 1]
    union = a[..., 2] * a[..., 3] + b[..., 2] * b[..., 3] - intersection
    return intersection / ops.maximum(union, 1e-9)


def yolo_loss(y_true, y_pred, boxes_per_cell: int = 2, lambda_coord: float = 5.0, lambda_noobj: float = 0.5):
    """The YOLOv1 loss, summed over the grid and averaged over the batch; ``(B, S, S, 5B + C)`` tensors.

    For every true object (a target slot with confidence 1) the *responsible* predictor is the slot of its cell whose
    predicted box has the highest IoU with it. Terms: ``λ_coord·[(x − x̂)² + (y − ŷ)² + (√w − √ŵ)² + (√h − √ĥ)²]``
    for responsible predictors; ``−log ĉ`` for their confidence and ``−λ_noobj·log(1 − ĉ)`` for every other
    predictor; class cross-entropy ``−Σ p log p̂`` in cells holding an object. YOLOv1 used squared errors for the
    confidence and the classes, on unbounded outputs; with our sigmoid/softmax outputs squared errors stall
    (a confidence pushed to 0 by the many empty cells gets almost no gradient back), so we use the cross-entropies
    of YOLOv3. Confidence targets are 1, not the IoU of YOLOv1.
    """
    depth = 5 * boxes_per_cell
    grid = ops.cast(ops.shape(y_true)[1], "float32")
    true_slots = ops.reshape(y_true[..., :depth], (*ops.shape(y_true)[:3], boxes_per_cell, 5))
    pred_slots = ops.reshape(y_pred[..., :depth], (*ops.shape(y_pred)[:3], boxes_per_cell, 5))

    def in_image(slots):                       # (cx, cy, w, h) relative to the image (cell offsets cancel out)
        return ops.concatenate([slots[..., :2] / grid, slots[..., 2:4]], axis=-1)

    overlaps = _box_iou_ops(in_image(true_slots)[..., :, None, :], in_image(pred_slots)[..., None, :, :])
    has_object = true_slots[..., 4]                                                # (B, S, S, B_true)
    responsible = ops.one_hot(ops.argmax(overlaps, axis=-1), boxes_per_cell) * has_object[..., None]
    square = lambda value: value * value  # noqa: E731
    true_b, pred_b = true_slots[..., :, None, :], pred_slots[..., None, :, :]      # (B, S, S, B_true, B_pred, 5)
    coord = (square(true_b[..., 0] - pred_b[..., 0]) + square(true_b[..., 1] - pred_b[..., 1])
             + square(ops.sqrt(true_b[..., 2]) - ops.sqrt(ops.maximum(pred_b[..., 2], 1e-9)))
             + square(ops.sqrt(true_b[..., 3]) - ops.sqrt(ops.maximum(pred_b[..., 3], 1e-9))))
    coord_loss = lambda_coord * ops.sum(responsible * coord, axis=(1, 2, 3, 4))
    used = ops.max(responsible, axis=3)                                            # (B, S, S, B_pred)
    confidence = ops.clip(pred_slots[..., 4], 1e-7, 1.0 - 1e-7)
    object_loss = -ops.sum(used * ops.log(confidence), axis=(1, 2, 3))
    noobj_loss = -lambda_noobj * ops.sum((1.0 - used) * ops.log(1.0 - confidence), axis=(1, 2, 3))
    cell_has_object = ops.max(has_object, axis=-1)
    class_ce = -ops.sum(y_true[..., depth:] * ops.log(ops.clip(y_pred[..., depth:], 1e-7, 1.0)), axis=-1)
    class_loss = ops.sum(cell_has_object * class_ce, axis=(1, 2))
    return coord_loss + object_loss + noobj_loss + class_loss


@keras.saving.register_keras_serializable(package="chapters_src")
class YoloLoss(keras.losses.Loss):
    """:func:`yolo_loss` as a Keras loss (per-image values, averaged over the batch by Keras)."""

    def __init__(self, boxes_per_cell: int = 2, lambda_coord: float = 5.0, lambda_noobj: float = 0.5,
                 name: str = "yolo_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.boxes_per_cell, self.lambda_coord, self.lambda_noobj = boxes_per_cell, lambda_coord, lambda_noobj

    def call(self, y_true, y_pred):
        return yolo_loss(y_true, y_pred, self.boxes_per_cell, self.lambda_coord, self.lambda_noobj)

    def get_config(self):
        return {**super().get_config(), "boxes_per_cell": self.boxes_per_cell, "lambda_coord": self.lambda_coord,
                "lambda_noobj": self.lambda_noobj}


@keras.saving.register_keras_serializable(package="chapters_src")
class YoloActivation(keras.layers.Layer):
    """Sigmoid on the ``5B`` box values (x, y, w, h, confidence all lie in [0, 1]), softmax on the ``C`` classes."""

    def __init__(self, boxes_per_cell: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.boxes_per_cell = boxes_per_cell

    def call(self, logits):
        depth = 5 * self.boxes_per_cell
        return ops.concatenate([ops.sigmoid(logits[..., :depth]), ops.softmax(logits[..., depth:], axis=-1)], -1)

    def get_config(self):
        return {**super().get_config(), "boxes_per_cell": self.boxes_per_cell}


def build_detector(input_shape=(56, 56, 3), n_classes: int = 3, boxes_per_cell: int = 2, trunk=None,
                   trunk_filters=(16, 32, 64), head_filters: int = 64) -> keras.Model:
    """Single-shot detector: image → ``(S, S, 5B + C)``, with ``S`` the trunk's output size (56 px and three
    pooling blocks give YOLO's S = 7). Head: 3×3 conv (ReLU) → 1×1 conv to ``5B + C`` → :class:`YoloActivation`."""
    depth = yolo_depth(boxes_per_cell, n_classes)
    inputs = keras.Input(input_shape, name="image")
    features = (trunk or conv_trunk(trunk_filters, input_shape[-1], batch_norm=True))(inputs)
    x = keras.layers.Conv2D(head_filters, 3, padding="same", activation="relu", name="head_conv")(features)
    x = keras.layers.Conv2D(depth, 1, name="head_logits")(x)
    return keras.Model(inputs, YoloActivation(boxes_per_cell, name="yolo")(x), name="detector")


def detect(model: keras.Model, images, boxes_per_cell: int = 2, score_threshold: float = 0.3,
           iou_threshold: float = 0.5, batch_size: int = 64) -> list[Detections]:
    """Run the detector, decode every grid (:func:`decode_yolo`) and apply per-class non-max suppression."""
    grids = model.predict(np.asarray(images), batch_size=batch_size, verbose=0)
    results = []
    for grid in grids:
        found = decode_yolo(grid, boxes_per_cell, score_threshold)
        keep = [index for label in np.unique(found.labels)
                for index in np.flatnonzero(found.labels == label)[
                    non_max_suppression(found.boxes[found.labels == label], found.scores[found.labels == label],
                                        iou_threshold)]]
        keep = sorted(keep, key=lambda index: -found.scores[index])
        results.append(Detections(found.boxes[keep].reshape(-1, 4), found.scores[keep], found.labels[keep]))
    return results


# ---------------------------------------------------------------------------------------------------------------
# Mean average precision
# ---------------------------------------------------------------------------------------------------------------


class PrecisionRecall(NamedTuple):
    """``ap`` (float), and the ``precision`` / ``recall`` after each detection, highest score first."""

    ap: float
    precision: np.ndarray
    recall: np.ndarray


def average_precision(detections, true_boxes, iou_threshold: float = 0.5) -> PrecisionRecall:
    """Average precision of one class (PASCAL VOC, all-point interpolation).

    ``detections``: per image ``(boxes (k, 4), scores (k,))``; ``true_boxes``: per image ``(m, 4)``. All detections
    are ranked by score; each is a true positive if its best-overlapping, not yet matched true box in its image has
    IoU ≥ ``iou_threshold`` (a second detection of the same object is a false positive). AP is the area under the
    precision–recall curve after making precision monotone (``p(r) = max_{r' ≥ r} p(r')``). No true box: AP = NaN.
    """
    if len(detections) != len(true_boxes):
        raise ValueError(f"detections and true_boxes need one entry per image; got {len(detections)} and "
                         f"{len(true_boxes)}")
    ranked = [(float(score), image, np.asarray(box, "float64"))
              for image, (boxes, scores) in enumerate(detections)
              for box, score in zip(np.asarray(boxes).reshape(-1, 4), np.asarray(scores).reshape(-1))]
    ranked.sort(key=lambda item: -item[0])
    truths = [np.asarray(boxes, "float64").reshape(-1, 4) for boxes in true_boxes]
    total = sum(len(t) for t in truths)
    matched = [np.zeros(len(t), dtype=bool) for t in truths]
    hits = np.zeros(len(ranked))
    for rank, (_, image, box) in enumerate(ranked):
        if not len(truths[image]):
            continue
        overlaps = np.atleast_1d(iou(box, truths[image]))
        best = int(np.argmax(overlaps))
        if overlaps[best] >= iou_threshold and not matched[image][best]:
            matched[image][best], hits[rank] = True, 1.0
    true_positives = np.cumsum(hits)
    precision = true_positives / np.arange(1, len(ranked) + 1) if len(ranked) else np.zeros(0)
    recall = true_positives / total if total else np.full(len(ranked), np.nan)
    if not total:
        return PrecisionRecall(float("nan"), precision, recall)
    envelope = np.concatenate([[0.0], precision, [0.0]])
    for index in range(len(envelope) - 2, -1, -1):
        envelope[index] = max(envelope[index], envelope[index + 1])
    levels = np.concatenate([[0.0], recall, [recall[-1] if len(recall) else 0.0]])
    steps = np.flatnonzero(levels[1:] != levels[:-1])
    ap = float(np.sum((levels[steps + 1] - levels[steps]) * envelope[steps + 1]))
    return PrecisionRecall(ap, precision, recall)


def mean_average_precision(detections: list[Detections], true_boxes, true_labels, n_classes: int,
                           iou_threshold: float = 0.5) -> tuple[float, dict[int, PrecisionRecall]]:
    """mAP: the mean of :func:`average_precision` over the classes that have at least one true box.

    ``detections``: one :class:`Detections` per image; ``true_boxes`` (n, K, 4) and ``true_labels`` (n, K) with -1
    as padding (the layout of :class:`~chapters_src.data.scenes.DetectionSplit`). Returns ``(map, {class: result})``.
    """
    per_class = {}
    for label in range(n_classes):
        found = [(d.boxes[d.labels == label], d.scores[d.labels == label]) for d in detections]
        truth = [np.asarray(b)[np.asarray(l) == label] for b, l in zip(true_boxes, true_labels)]
        if sum(len(t) for t in truth):
            per_class[label] = average_precision(found, truth, iou_threshold)
    values = [result.ap for result in per_class.values()]
    return (float(np.mean(values)) if values else float("nan")), per_class


def images_per_second(model: keras.Model, images, batch_size: int = 32, repeats: int = 3) -> float:
    """Inference throughput: ``len(images)`` divided by the fastest of ``repeats`` timed ``model.predict`` calls
    (after one warm-up call that traces the graph)."""
    images = np.asarray(images)
    model.predict(images[:batch_size], batch_size=batch_size, verbose=0)
    best = min(_timed(lambda: model.predict(images, batch_size=batch_size, verbose=0))
               for _ in range(_check_int("repeats", repeats, 1)))
    return len(images) / best


def _timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


SETTINGS_FILENAME = "settings.json"


def train_detector(settings, data, run_dir: str, trunk=None, verbose="auto", jit_compile: bool = False,
                   resume: bool = False):
    """Build, compile and train :func:`build_detector` on ``data`` (:class:`~chapters_src.data.scenes.DetectionData`);
    the last 10 % of the training split validate. ``resume=True`` continues (or reuses) a run stored in ``run_dir``.
    Writes ``settings`` to ``run_dir/settings.json`` so that :func:`load_or_train_detector` can reuse the run.
    Returns ``(model, TrainingResult)``."""
    from .. import training

    train, n_classes = data.train, len(data.class_names)
    model = build_detector(train.images.shape[1:], n_classes, settings.boxes_per_cell, trunk, settings.trunk_filters)
    grid = int(model.output.shape[1])
    targets = encode_yolo_batch(train.boxes, train.labels, grid, settings.boxes_per_cell, n_classes)
    model.compile(optimizer=keras.optimizers.Adam(settings.learning_rate), loss=YoloLoss(settings.boxes_per_cell),
                  jit_compile=jit_compile)
    split = len(targets) - max(len(targets) // 10, 1)
    result = training.fit(model, train.images[:split], targets[:split],
                          validation_data=(train.images[split:], targets[split:]), epochs=settings.epochs,
                          batch_size=settings.batch_size, run_dir=run_dir, resume=resume, verbose=verbose)
    (Path(run_dir) / SETTINGS_FILENAME).write_text(json.dumps(_settings_record(settings, data)))
    return model, result


def _settings_record(settings, data) -> dict:
    """What must match for a stored detector to be reused: its settings, the data's provenance-free shape."""
    return json.loads(json.dumps({"settings": dataclasses.asdict(settings), "classes": list(data.class_names),
                                  "image_shape": list(data.train.images.shape[1:])}))


def finished_detector_run(run_dir, settings, data) -> bool:
    """True when ``run_dir`` holds a :func:`train_detector` run that finished all ``settings.epochs`` epochs with
    exactly these ``settings`` on data of the same classes and image shape."""
    from .. import training

    run_dir = Path(run_dir)
    state = training.read_state(run_dir) if run_dir.is_dir() else None
    record = run_dir / SETTINGS_FILENAME
    if state is None or state.get("epochs_completed", 0) < settings.epochs or not record.is_file():
        return False
    try:
        return json.loads(record.read_text()) == _settings_record(settings, data)
    except (OSError, ValueError):
        return False


def load_or_train_detector(settings, data, run_dir: str, reuse_dirs=(), verbose="auto", jit_compile: bool = False):
    """The detector of ``settings``: loaded from the first of ``reuse_dirs`` that holds a finished run of the same
    settings (:func:`finished_detector_run`; the folder is only read), else trained (or reused) in ``run_dir``.
    Returns ``(model, source)`` with ``source`` the folder whose weights the model holds."""
    for folder in reuse_dirs:
        if finished_detector_run(folder, settings, data):
            model = build_detector(data.train.images.shape[1:], len(data.class_names), settings.boxes_per_cell,
                                   None, settings.trunk_filters)
            try:
                model.load_weights(str(Path(folder) / "last.keras"))
            except (OSError, ValueError) as error:       # e.g. replaced while we read it: train our own instead
                print(f"could not reuse {folder}: {error}")
                continue
            print(f"reusing the detector trained in {folder}")
            return model, str(folder)
    model, _ = train_detector(settings, data, run_dir, verbose=verbose, jit_compile=jit_compile, resume=True)
    return model, str(run_dir)


# ---------------------------------------------------------------------------------------------------------------
# Instance segmentation: a Mask R-CNN-style mask head
# ---------------------------------------------------------------------------------------------------------------


def build_mask_head(input_shape=(56, 56, 3), max_boxes: int = 4, mask_size: int = 14, trunk=None,
                    trunk_filters=(8, 16), head_filters: int = 32) -> keras.Model:
    """``[images (B, H, W, 3), boxes (B, R, 4)]`` → masks ``(B, R, mask_size, mask_size)`` (sigmoid): Mask R-CNN's
    idea of a small convolutional head that predicts one binary mask per box from the box's ROI-pooled features.

    The features (default: :func:`conv_trunk` of ``trunk_filters``, whose last pooling is dropped, so the map is
    ``2**(len(trunk_filters) - 1)`` times smaller than the image) are sampled on a ``mask_size²`` grid per box by
    RoIAlign (:class:`~chapters_src.cnn.boxes.RoiAlign`, Mask R-CNN's replacement for RoI max-pooling), then go
    through two 3×3 convolutions and a 1×1 sigmoid convolution.
    """
    max_boxes, mask_size = _check_int("max_boxes", max_boxes, 1), _check_int("mask_size", mask_size, 2)
    images = keras.Input(input_shape, name="image")
    boxes = keras.Input((max_boxes, 4), name="boxes")
    if trunk is None:
        trunk = keras.Sequential(conv_trunk(trunk_filters, input_shape[-1]).layers[:-1], name="mask_trunk")
    pooled = RoiAlign((mask_size, mask_size), name="roi_align")(trunk(images), boxes)     # (B, R, m, m, C)
    x = MergeBoxes(name="boxes_as_batch")(pooled)                                         # (B·R, m, m, C)
    for index in (1, 2):
        x = keras.layers.Conv2D(head_filters, 3, padding="same", activation="relu", name=f"mask_conv{index}")(x)
    x = keras.layers.Conv2D(1, 1, activation="sigmoid", name="mask_logits")(x)
    masks = SplitBoxes(max_boxes, name="masks")(x)                                         # (B, R, m, m)
    return keras.Model([images, boxes], masks, name="mask_head")


@keras.saving.register_keras_serializable(package="chapters_src")
class MergeBoxes(keras.layers.Layer):
    """(B, R, m, m, C) → (B·R, m, m, C), so that ordinary 2-D convolutions process every box."""

    def call(self, pooled):
        shape = ops.shape(pooled)
        return ops.reshape(pooled, (-1, shape[2], shape[3], shape[4]))


@keras.saving.register_keras_serializable(package="chapters_src")
class SplitBoxes(keras.layers.Layer):
    """(B·R, m, m, 1) → (B, R, m, m)."""

    def __init__(self, max_boxes: int, **kwargs):
        super().__init__(**kwargs)
        self.max_boxes = max_boxes

    def call(self, masks):
        shape = ops.shape(masks)
        return ops.reshape(masks, (-1, self.max_boxes, shape[1], shape[2]))

    def get_config(self):
        return {**super().get_config(), "max_boxes": self.max_boxes}


def mask_targets(instances, boxes, labels, mask_size: int = 14) -> np.ndarray:
    """Mask-head targets ``(n, K, m, m)`` float32: the instance mask of object ``k`` (pixels equal to ``k + 1`` in
    ``instances`` (n, H, W)) sampled at the centres of an ``m × m`` grid over its box; padding objects (label < 0) → 0."""
    instances = np.asarray(instances)
    n, height, width = instances.shape
    boxes = np.asarray(boxes, dtype="float64")
    targets = np.zeros((n, boxes.shape[1], mask_size, mask_size), dtype="float32")
    steps = (np.arange(mask_size) + 0.5) / mask_size
    for image in range(n):
        for k in np.flatnonzero(np.asarray(labels[image]) >= 0):
            x, y, w, h = boxes[image, k]
            rows = np.clip(((y + steps * h) * height).astype(int), 0, height - 1)
            cols = np.clip(((x + steps * w) * width).astype(int), 0, width - 1)
            targets[image, k] = instances[image][np.ix_(rows, cols)] == k + 1
    return targets


def paste_masks(masks, boxes, image_size, threshold: float = 0.5) -> np.ndarray:
    """Box masks ``(K, m, m)`` → boolean image masks ``(K, H, W)``: every pixel inside box ``k`` takes the value of
    the mask cell it falls in (nearest), thresholded; pixels outside the box are False."""
    height, width = (image_size, image_size) if np.isscalar(image_size) else image_size
    masks = np.asarray(masks)
    size = masks.shape[-1]
    pasted = np.zeros((len(masks), height, width), dtype=bool)
    for k, (mask, (x, y, w, h)) in enumerate(zip(masks, np.asarray(boxes, "float64").reshape(-1, 4))):
        row0, row1 = int(np.floor(y * height)), int(np.ceil((y + h) * height))
        col0, col1 = int(np.floor(x * width)), int(np.ceil((x + w) * width))
        row0, col0 = max(row0, 0), max(col0, 0)
        row1, col1 = min(max(row1, row0 + 1), height), min(max(col1, col0 + 1), width)
        rows = np.clip((((np.arange(row0, row1) + 0.5) / height - y) / max(h, 1e-9) * size).astype(int), 0, size - 1)
        cols = np.clip((((np.arange(col0, col1) + 0.5) / width - x) / max(w, 1e-9) * size).astype(int), 0, size - 1)
        pasted[k, row0:row1, col0:col1] = mask[np.ix_(rows, cols)] > threshold
    return pasted


def mask_iou(mask_a, mask_b) -> float:
    """IoU of two boolean masks of the same shape (1.0 when both are empty)."""
    a, b = np.asarray(mask_a, bool), np.asarray(mask_b, bool)
    if a.shape != b.shape:
        raise ValueError(f"masks must have the same shape; got {a.shape} and {b.shape}")
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


def masked_binary_crossentropy(y_true, y_pred):
    """Binary cross-entropy over the pixels of real objects only (a target mask of all −1 marks padding)."""
    valid = ops.cast(y_true >= 0, "float32")
    y_true = ops.clip(y_true, 0.0, 1.0)
    y_pred = ops.clip(y_pred, 1e-7, 1.0 - 1e-7)
    losses = -(y_true * ops.log(y_pred) + (1.0 - y_true) * ops.log(1.0 - y_pred)) * valid
    return ops.sum(losses, axis=(1, 2, 3)) / ops.maximum(ops.sum(valid, axis=(1, 2, 3)), 1.0)


def train_mask_head(settings, data, run_dir: str, trunk=None, verbose="auto", jit_compile: bool = False):
    """Train :func:`build_mask_head` on the true boxes and instance masks of the first ``settings.mask_train_size``
    images of ``data.train`` (as Mask R-CNN trains its mask branch on ROIs matched to true objects). ``settings``:
    :class:`~chapters_src.cnn.cnn2_settings.InstanceSettings`. Returns ``(model, TrainingResult)``."""
    from .. import training

    train = data.train
    if train.instances is None:
        raise ValueError("the mask head needs instance masks; this dataset has none (e.g. VOC boxes only)")
    train = type(train)(*(None if part is None else part[:settings.mask_train_size] for part in train))
    model = build_mask_head(train.images.shape[1:], train.boxes.shape[1], settings.mask_size, trunk)
    targets = mask_targets(train.instances, train.boxes, train.labels, settings.mask_size)
    targets[np.asarray(train.labels) < 0] = -1.0                     # padding objects: ignored by the loss
    model.compile(optimizer=keras.optimizers.Adam(settings.mask_learning_rate), loss=masked_binary_crossentropy,
                  jit_compile=jit_compile)
    split = len(targets) - max(len(targets) // 10, 1)
    inputs = [train.images, train.boxes]
    result = training.fit(model, [x[:split] for x in inputs], targets[:split],
                          validation_data=([x[split:] for x in inputs], targets[split:]), epochs=settings.mask_epochs,
                          batch_size=settings.mask_batch_size, run_dir=run_dir, resume=False, verbose=verbose)
    return model, result


def predict_instance_masks(mask_model: keras.Model, images, boxes, threshold: float = 0.5) -> list[np.ndarray]:
    """Boolean masks ``(k_i, H, W)`` for the ``k_i`` boxes ``(x, y, w, h)`` of every image, in one ``predict`` call
    (each image's boxes are split into rows of the head's ``max_boxes``, padded with empty boxes).
    ``images`` (n, H, W, 3) and ``boxes`` a list of n arrays (k_i, 4)."""
    images = np.asarray(images)
    if len(boxes) != len(images):
        raise ValueError(f"boxes needs one (k, 4) array per image; got {len(boxes)} for {len(images)} images")
    max_boxes = int(mask_model.inputs[1].shape[1])
    rows, row_boxes = [], []
    for index, image_boxes in enumerate(boxes):
        image_boxes = np.asarray(image_boxes, "float32").reshape(-1, 4)
        for start in range(0, len(image_boxes), max_boxes):
            padded = np.zeros((max_boxes, 4), "float32")
            padded[:len(image_boxes[start:start + max_boxes])] = image_boxes[start:start + max_boxes]
            rows.append(index)
            row_boxes.append(padded)
    size = images.shape[1:3]
    if not rows:
        return [np.zeros((0, *size), dtype=bool) for _ in images]
    predicted = mask_model.predict([images[rows], np.stack(row_boxes)], batch_size=64, verbose=0)
    per_image = [[] for _ in images]
    for row, index in enumerate(rows):
        per_image[index].append(predicted[row])
    results = []
    for index, image_boxes in enumerate(boxes):
        image_boxes = np.asarray(image_boxes, "float32").reshape(-1, 4)
        masks = np.concatenate(per_image[index])[:len(image_boxes)] if per_image[index] else np.zeros((0, 2, 2))
        results.append(paste_masks(masks, image_boxes, size, threshold))
    return results


def draw_yolo_grid(image, boxes, labels, class_names, grid_size: int = 7):
    """One image with YOLO's ``S × S`` grid, each object's box, its centre and the cell responsible for it."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    from .. import plots
    from .boxes import draw_boxes

    image = np.asarray(image)
    height, width = image.shape[:2]
    keep = np.asarray(labels) >= 0
    boxes, labels = np.asarray(boxes)[keep], np.asarray(labels)[keep]
    with plots.style_context():
        figure, ax = plt.subplots(figsize=(4, 4), layout="constrained")
        ax.imshow(np.clip(image, 0, 1))
        for line in range(1, grid_size):
            ax.axhline(line * height / grid_size - 0.5, color="white", linewidth=0.6)
            ax.axvline(line * width / grid_size - 0.5, color="white", linewidth=0.6)
        for (x, y, w, h), label in zip(boxes, labels):
            col, row = int((x + w / 2) * grid_size), int((y + h / 2) * grid_size)
            ax.add_patch(Rectangle((col * width / grid_size - 0.5, row * height / grid_size - 0.5), width / grid_size,
                                   height / grid_size, color="yellow", alpha=0.35))
            ax.plot((x + w / 2) * width - 0.5, (y + h / 2) * height - 0.5, "o", color="yellow", markersize=4)
        draw_boxes(ax, boxes, (height, width), [class_names[int(label)] for label in labels])
        ax.set_title(f"{grid_size}×{grid_size} grid: the shaded cell holds the object's centre")
        ax.axis("off")
    return figure


def draw_detections(images, detections: list[Detections], class_names, true_boxes=None, ncols: int = 6,
                    suptitle=None):
    """Detections (yellow, with class and score) over the true boxes (green, dashed)."""
    from .boxes import box_grid

    captions = [[f"{class_names[int(label)]} {score:.2f}" for label, score in zip(d.labels, d.scores)]
                for d in detections]
    truths = None if true_boxes is None else [np.asarray(b)[np.asarray(b)[:, 2] > 0] for b in true_boxes]
    return box_grid(images, [d.boxes for d in detections], captions, ncols=ncols, true_boxes=truths,
                    suptitle=suptitle)


ARCHITECTURES = ("R-CNN", "Fast R-CNN", "Faster R-CNN", "YOLO", "Mask R-CNN", "ours: detector + mask head")


def draw_architecture(name: str, grid_size: int = 7, boxes_per_cell: int = 2, n_classes: int = 20,
                      mask_size: int = 28):
    """A schematic Figure of one of :data:`ARCHITECTURES`: the source's Figs. 20.4 (R-CNN), 20.5 (Fast R-CNN),
    20.6 (Faster R-CNN) and 20.7 (Mask R-CNN), YOLOv1 (``grid_size``, ``boxes_per_cell``, ``n_classes``) and the
    detector + mask head of notebook 06b. Green: outside the network; blue: convolutions; orange: heads."""
    from .boxes import Block, block_diagram

    if name not in ARCHITECTURES:
        raise ValueError(f"name must be one of {ARCHITECTURES}; got {name!r}")
    image = Block(0, 0, "image", "data", 1.0, 0.6)
    if name == "R-CNN":
        blocks = {"image": image, "search": Block(1.9, 0, "Selective Search\n~2,000 regions", "external", 1.7),
                  "warp": Block(3.9, 0, "warp each region\nto the CNN's input", "data", 1.7),
                  "cnn": Block(5.9, 0, "CNN\n(once per region)", "conv", 1.6),
                  "svm": Block(8.0, 0.55, "SVM per class", "head", 1.6, 0.6),
                  "regression": Block(8.0, -0.55, "linear box\nregression", "head", 1.6, 0.6)}
        arrows = [("image", "search"), ("search", "warp"), ("warp", "cnn"), ("cnn", "svm"), ("cnn", "regression")]
        title = "R-CNN (cf. Fig. 20.4): the CNN runs once per proposal"
    elif name in ("Fast R-CNN", "Faster R-CNN", "Mask R-CNN"):
        faster = name != "Fast R-CNN"
        blocks = {"image": image, "cnn": Block(1.9, 0.5, "CNN\n(once per image)", "conv", 1.6),
                  "features": Block(3.9, 0.5, "feature map", "data", 1.5, 0.6),
                  "proposals": (Block(3.9, -0.7, "Region Proposal\nNetwork (trained)", "new", 1.7) if faster else
                                Block(1.9, -0.7, "Selective Search\n(outside the net)", "external", 1.7)),
                  "pool": Block(6.0, 0, "RoIAlign m×m" if name == "Mask R-CNN" else "ROI pooling\nH×W max-pool",
                                "pool", 1.6),
                  "fc": Block(8.0, 0.45, "FC layers", "conv", 1.3, 0.6),
                  "class": Block(10.0, 0.9, "class (softmax)", "head", 1.7, 0.5),
                  "box": Block(10.0, 0.1, "box regression", "head", 1.7, 0.5)}
        arrows = [("image", "cnn"), ("cnn", "features"), ("features", "pool"), ("proposals", "pool", "ROIs", "--"),
                  ("pool", "fc"), ("fc", "class"), ("fc", "box")]
        arrows.insert(2, ("features", "proposals") if faster else ("image", "proposals"))
        title = {"Fast R-CNN": "Fast R-CNN (cf. Fig. 20.5): one CNN pass, proposals ROI-pooled from its feature map",
                 "Faster R-CNN": "Faster R-CNN (cf. Fig. 20.6): the proposals come from a trained network",
                 "Mask R-CNN": "Mask R-CNN (cf. Fig. 20.7): Faster R-CNN + a mask head per ROI"}[name]
        if name == "Mask R-CNN":
            blocks["mask"] = Block(8.0, -0.75, f"mask head: convs\n→ {mask_size}×{mask_size}×classes", "new", 1.9)
            arrows.append(("pool", "mask"))
    elif name == "YOLO":
        depth = yolo_depth(boxes_per_cell, n_classes)
        blocks = {"image": image, "cnn": Block(2.0, 0, "CNN\n(once per image)", "conv", 1.7),
                  "grid": Block(4.5, 0, f"{grid_size}×{grid_size}×(5·{boxes_per_cell} + {n_classes})\n"
                                        f"= {grid_size}×{grid_size}×{depth}", "head", 2.1),
                  "decode": Block(7.0, 0, "decode: score =\nconfidence × class", "data", 1.8),
                  "nms": Block(9.2, 0, "non-max\nsuppression", "data", 1.5)}
        arrows = [("image", "cnn"), ("cnn", "grid"), ("grid", "decode"), ("decode", "nms")]
        title = "YOLO: a single shot, no proposals: every grid cell predicts boxes and classes"
    else:
        blocks = {"image": image, "detector": Block(2.0, 0.6, "detector (notebook 06)\nYOLO grid + NMS", "conv", 1.9),
                  "trunk": Block(2.0, -0.6, "mask trunk\n(convs)", "conv", 1.9),
                  "align": Block(4.6, 0, f"RoIAlign\n{mask_size}×{mask_size} per box", "pool", 1.7),
                  "head": Block(6.8, 0, f"2 conv 3×3 + 1×1 sigmoid\n→ {mask_size}×{mask_size} mask", "new", 2.0),
                  "paste": Block(9.1, 0, "paste into the box\n→ one mask per object", "head", 1.9)}
        arrows = [("image", "detector"), ("image", "trunk"), ("detector", "align", "boxes", "--"),
                  ("trunk", "align", "features"), ("align", "head"), ("head", "paste")]
        title = "this companion's instance segmentation: a mask head on the detector's boxes"
    return block_diagram(blocks, arrows, title=title, figsize=(10, 2.6))
