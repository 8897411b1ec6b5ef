"""Scenes for localization, segmentation and detection: a deterministic generator and the real tfds sources.

Offline, every dataset is generated: coloured **shapes** (circle, square, triangle) drawn on a **cluttered
background** (a smooth colour field, thin random lines and pixel noise). The class is the shape, never the colour
(each object gets a random colour), so a model has to look at form. Every object comes with its exact box (the
tight box of its pixels), its class, a per-pixel class mask and an instance mask.

Registered datasets (``data.load(name)``; kwargs ``image_size``, ``train_size``, ``test_size``, substitute also
``seed``):

- ``localization_scenes``: one object per image → :class:`LocalizationData`. Real: Oxford-IIIT Pets from tfds
  (``oxford_iiit_pet``), class = species (cat, dog), box = the annotated head box.
- ``segmentation_scenes``: 1–4 objects per image → :class:`SegmentationData` (mask 0 = background, 1.. = shape
  classes). Real: Oxford-IIIT Pets trimaps (0 pet, 1 background, 2 border, as in the keras-io U-Net example).
- ``detection_scenes``: 1–4 objects per image, their centres in distinct cells of a 7×7 grid →
  :class:`DetectionData` with boxes, labels, semantic and instance masks. Real: PASCAL VOC 2007 from tfds
  (``voc/2007``, 20 classes, boxes only: ``masks`` and ``instances`` are ``None``).

Boxes are ``(x, y, w, h)`` in [0, 1]: top-left corner, width and height as fractions of the image size (the
convention of *Deep Learning with TensorFlow and Keras*, ch. 20 §1.1). Images are float32 ``(n, H, W, 3)`` in [0, 1].
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

SHAPE_NAMES = ("circle", "square", "triangle")
PET_SPECIES = ("cat", "dog")
TRIMAP_NAMES = ("pet", "background", "border")
VOC_NAMES = ("aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow", "diningtable",
             "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor")
DETECTION_GRID = 7          # YOLO's S: generated object centres fall in distinct cells of this grid
MAX_OBJECTS = 4


class LocalizationSplit(NamedTuple):
    """``images`` float32 (n, H, W, 3) in [0, 1]; ``labels`` int64 (n,); ``boxes`` float32 (n, 4) ``(x, y, w, h)``."""

    images: np.ndarray
    labels: np.ndarray
    boxes: np.ndarray


class LocalizationData(NamedTuple):
    train: LocalizationSplit
    test: LocalizationSplit
    class_names: tuple[str, ...]


class SegmentationSplit(NamedTuple):
    """``images`` float32 (n, H, W, 3) in [0, 1]; ``masks`` uint8 (n, H, W) class index per pixel."""

    images: np.ndarray
    masks: np.ndarray


class SegmentationData(NamedTuple):
    train: SegmentationSplit
    test: SegmentationSplit
    class_names: tuple[str, ...]


class DetectionSplit(NamedTuple):
    """``images`` (n, H, W, 3); ``boxes`` float32 (n, K, 4) ``(x, y, w, h)``, zero rows after the last object;
    ``labels`` int64 (n, K), -1 after the last object; ``masks`` uint8 (n, H, W) with 0 = background and
    1 + class elsewhere; ``instances`` uint8 (n, H, W) with 0 = background and 1..k = object number (order of
    ``boxes``). ``masks`` and ``instances`` are ``None`` for data without masks (VOC)."""

    images: np.ndarray
    boxes: np.ndarray
    labels: np.ndarray
    masks: np.ndarray | None
    instances: np.ndarray | None


class DetectionData(NamedTuple):
    train: DetectionSplit
    test: DetectionSplit
    class_names: tuple[str, ...]


def _check_count(name: str, value, minimum: int, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum or (
            maximum is not None and value > maximum):
        allowed = f"an integer in [{minimum}, {maximum}]" if maximum is not None else f"an integer >= {minimum}"
        raise ValueError(f"{name} must be {allowed}; got {value!r}")
    return int(value)


# ---------------------------------------------------------------------------------------------------------------
# Drawing
# ---------------------------------------------------------------------------------------------------------------


def shape_mask(kind: str, center: tuple[float, float], size: float, image_size: int) -> np.ndarray:
    """Boolean (image_size, image_size) mask of a ``kind`` ∈ {circle, square, triangle} of width ``size`` pixels
    centred at ``center = (x, y)`` in pixels (triangle: pointing up, as tall as it is wide)."""
    if kind not in SHAPE_NAMES:
        raise ValueError(f"kind must be one of {', '.join(SHAPE_NAMES)}; got {kind!r}")
    rows, cols = np.mgrid[0:image_size, 0:image_size].astype("float64") + 0.5
    dx, dy, half = cols - center[0], rows - center[1], size / 2
    if kind == "circle":
        return dx ** 2 + dy ** 2 <= half ** 2
    if kind == "square":
        return (np.abs(dx) <= half) & (np.abs(dy) <= half)
    depth = (dy + half) / size                          # 0 at the apex, 1 at the base
    return (depth >= 0) & (depth <= 1) & (np.abs(dx) <= half * depth)


def mask_box(mask: np.ndarray) -> np.ndarray:
    """Tight box ``(x, y, w, h)`` of a boolean (H, W) mask, normalised by the image size (float32)."""
    rows, cols = np.nonzero(mask)
    if rows.size == 0:
        raise ValueError("mask is empty: it has no box")
    height, width = mask.shape
    return np.array([cols.min() / width, rows.min() / height, (cols.max() + 1 - cols.min()) / width,
                     (rows.max() + 1 - rows.min()) / height], dtype="float32")


def cluttered_background(rng: np.random.Generator, image_size: int, clutter_lines: int = 6) -> np.ndarray:
    """float (H, W, 3) in [0, 1]: a smooth random colour field, ``clutter_lines`` thin lines, pixel noise."""
    coarse = rng.uniform(0.15, 0.6, size=(4, 4, 3))
    positions = np.linspace(0, 3, image_size)
    low, frac = np.minimum(np.floor(positions).astype(int), 2), positions - np.minimum(np.floor(positions), 2)
    rows = coarse[low] * (1 - frac)[:, None, None] + coarse[low + 1] * frac[:, None, None]
    field = rows[:, low] * (1 - frac)[None, :, None] + rows[:, low + 1] * frac[None, :, None]
    for _ in range(clutter_lines):
        (x0, y0), (x1, y1) = rng.uniform(0, image_size, size=(2, 2))
        steps = np.linspace(0, 1, 2 * image_size)
        xs = np.clip((x0 + (x1 - x0) * steps).astype(int), 0, image_size - 1)
        ys = np.clip((y0 + (y1 - y0) * steps).astype(int), 0, image_size - 1)
        field[ys, xs] = rng.uniform(0.1, 0.8, size=3)
    return np.clip(field + rng.normal(0, 0.04, size=field.shape), 0, 1)


def _object_colour(rng: np.random.Generator) -> np.ndarray:
    """A saturated random colour: one channel high, one low, one anywhere."""
    colour = np.array([rng.uniform(0.75, 1.0), rng.uniform(0.0, 0.25), rng.uniform(0.0, 1.0)])
    return colour[rng.permutation(3)]


def _paint(image: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> None:
    image[mask] = np.clip(_object_colour(rng) + rng.normal(0, 0.04, size=(int(mask.sum()), 3)), 0, 1)


# ---------------------------------------------------------------------------------------------------------------
# Generators
# ---------------------------------------------------------------------------------------------------------------


def single_object_split(count: int, image_size: int = 48, seed: int = 0, size_range=(0.3, 0.7)) -> LocalizationSplit:
    """``count`` images with one shape each (class uniform over :data:`SHAPE_NAMES`; width a uniform fraction
    ``size_range`` of the image; anywhere fully inside it)."""
    count = _check_count("count", count, 1)
    image_size = _check_count("image_size", image_size, 16, 512)
    rng = np.random.default_rng(seed)
    images = np.empty((count, image_size, image_size, 3), dtype="float32")
    labels = rng.integers(0, len(SHAPE_NAMES), size=count).astype("int64")
    boxes = np.empty((count, 4), dtype="float32")
    for index in range(count):
        image = cluttered_background(rng, image_size)
        size = rng.uniform(*size_range) * image_size
        center = rng.uniform(size / 2 + 1, image_size - size / 2 - 1, size=2)
        mask = shape_mask(SHAPE_NAMES[labels[index]], tuple(center), size, image_size)
        _paint(image, mask, rng)
        images[index], boxes[index] = image, mask_box(mask)
    return LocalizationSplit(images, labels, boxes)


def _place_objects(rng, image_size: int, n_objects: int, size_range, grid: int, attempts: int = 200):
    """Up to ``n_objects`` (kind index, mask) pairs whose boxes keep a one-pixel gap and whose centres fall in
    distinct cells of a ``grid``×``grid`` grid."""
    placed, taken_cells = [], set()
    occupied = np.zeros((image_size, image_size), dtype=bool)
    for _ in range(attempts):
        if len(placed) == n_objects:
            break
        size = rng.uniform(*size_range) * image_size
        center = rng.uniform(size / 2 + 1, image_size - size / 2 - 1, size=2)
        cell = (int(center[1] * grid / image_size), int(center[0] * grid / image_size))
        kind = int(rng.integers(0, len(SHAPE_NAMES)))
        mask = shape_mask(SHAPE_NAMES[kind], tuple(center), size, image_size)
        x, y, w, h = np.round(mask_box(mask) * image_size).astype(int)
        if cell in taken_cells or occupied[max(y - 1, 0):y + h + 1, max(x - 1, 0):x + w + 1].any():
            continue
        occupied[y:y + h, x:x + w] = True
        taken_cells.add(cell)
        placed.append((kind, mask))
    return placed


def multi_object_split(count: int, image_size: int = 56, seed: int = 0, max_objects: int = MAX_OBJECTS,
                       size_range=(0.16, 0.34), grid: int = DETECTION_GRID) -> DetectionSplit:
    """``count`` images with 1..``max_objects`` non-touching shapes each, centres in distinct grid cells."""
    count = _check_count("count", count, 1)
    image_size = _check_count("image_size", image_size, 16, 512)
    max_objects = _check_count("max_objects", max_objects, 1, grid * grid)
    rng = np.random.default_rng(seed)
    images = np.empty((count, image_size, image_size, 3), dtype="float32")
    boxes = np.zeros((count, max_objects, 4), dtype="float32")
    labels = np.full((count, max_objects), -1, dtype="int64")
    masks = np.zeros((count, image_size, image_size), dtype="uint8")
    instances = np.zeros((count, image_size, image_size), dtype="uint8")
    for index in range(count):
        image = cluttered_background(rng, image_size)
        wanted = int(rng.integers(1, max_objects + 1))
        for number, (kind, mask) in enumerate(_place_objects(rng, image_size, wanted, size_range, grid)):
            _paint(image, mask, rng)
            boxes[index, number], labels[index, number] = mask_box(mask), kind
            masks[index][mask], instances[index][mask] = kind + 1, number + 1
        images[index] = image
    return DetectionSplit(images, boxes, labels, masks, instances)


def generated_localization(*, image_size: int = 48, train_size: int = 1000, test_size: int = 200,
                           seed: int = 0) -> LocalizationData:
    """Single shapes on clutter (offline substitute of ``localization_scenes``)."""
    return LocalizationData(single_object_split(train_size, image_size, seed),
                            single_object_split(test_size, image_size, seed + 10_000), SHAPE_NAMES)


def generated_segmentation(*, image_size: int = 48, train_size: int = 1000, test_size: int = 200,
                           seed: int = 0) -> SegmentationData:
    """Scenes of 1–3 shapes (22–42 % of the image wide) with per-pixel masks: 0 background, 1 circle, 2 square,
    3 triangle."""
    train = multi_object_split(train_size, image_size, seed, max_objects=3, size_range=(0.22, 0.42), grid=4)
    test = multi_object_split(test_size, image_size, seed + 10_000, max_objects=3, size_range=(0.22, 0.42), grid=4)
    return SegmentationData(SegmentationSplit(train.images, train.masks), SegmentationSplit(test.images, test.masks),
                            ("background",) + SHAPE_NAMES)


def generated_detection(*, image_size: int = 56, train_size: int = 1000, test_size: int = 200,
                        seed: int = 0) -> DetectionData:
    """Scenes of 1–4 shapes with boxes, labels, semantic and instance masks (offline ``detection_scenes``)."""
    return DetectionData(multi_object_split(train_size, image_size, seed),
                         multi_object_split(test_size, image_size, seed + 10_000), SHAPE_NAMES)


# ---------------------------------------------------------------------------------------------------------------
# Real data: readers of tfds output (used only when the data is prepared or may be downloaded)
# ---------------------------------------------------------------------------------------------------------------


def _resize(image, image_size: int, method: str = "bilinear") -> np.ndarray:
    import tensorflow as tf

    return tf.image.resize(image, (image_size, image_size), method=method).numpy()


def _corners_to_xywh(bbox) -> np.ndarray:
    """tfds ``BBox`` rows ``(ymin, xmin, ymax, xmax)`` → ``(x, y, w, h)`` (float32, shape (..., 4))."""
    bbox = np.asarray(bbox, dtype="float32").reshape(-1, 4)
    return np.stack([bbox[:, 1], bbox[:, 0], bbox[:, 3] - bbox[:, 1], bbox[:, 2] - bbox[:, 0]], axis=-1)


def _examples(dataset, limit: int):
    import tensorflow_datasets as tfds

    return tfds.as_numpy(dataset.take(limit))


def read_pets_localization(tfds_output, *, image_size: int = 48, train_size: int = 1000,
                           test_size: int = 200) -> LocalizationData:
    """Oxford-IIIT Pets (tfds ``oxford_iiit_pet``): species label, head box; images without a head box skipped."""
    splits = []
    for split, limit in (("train", train_size), ("test", test_size)):
        images, labels, boxes = [], [], []
        for example in _examples(tfds_output[split], 2 * limit):
            box = _corners_to_xywh(example["head_bbox"])[0]
            if box[2] <= 0 or box[3] <= 0 or len(images) >= limit:
                continue
            images.append(_resize(example["image"], image_size) / 255.0)
            labels.append(int(example["species"]))
            boxes.append(box)
        splits.append(LocalizationSplit(np.asarray(images, "float32"), np.asarray(labels, "int64"),
                                        np.asarray(boxes, "float32").reshape(-1, 4)))
    return LocalizationData(splits[0], splits[1], PET_SPECIES)


def read_pets_segmentation(tfds_output, *, image_size: int = 48, train_size: int = 1000,
                           test_size: int = 200) -> SegmentationData:
    """Oxford-IIIT Pets trimaps: labels 1, 2, 3 minus one → 0 pet, 1 background, 2 border (keras-io convention)."""
    splits = []
    for split, limit in (("train", train_size), ("test", test_size)):
        images, masks = [], []
        for example in _examples(tfds_output[split], limit):
            images.append(_resize(example["image"], image_size) / 255.0)
            masks.append(_resize(example["segmentation_mask"], image_size, "nearest")[..., 0] - 1)
        splits.append(SegmentationSplit(np.asarray(images, "float32"), np.asarray(masks).astype("uint8")))
    return SegmentationData(splits[0], splits[1], TRIMAP_NAMES)


def read_voc_detection(tfds_output, *, image_size: int = 56, train_size: int = 1000,
                       test_size: int = 200) -> DetectionData:
    """PASCAL VOC 2007 (tfds ``voc/2007``): 20 classes, boxes; the first ``MAX_OBJECTS`` objects per image kept."""
    splits = []
    for split, limit in (("train", train_size), ("test", test_size)):
        examples = list(_examples(tfds_output[split], limit))
        images = np.asarray([_resize(e["image"], image_size) / 255.0 for e in examples], "float32")
        boxes = np.zeros((len(examples), MAX_OBJECTS, 4), "float32")
        labels = np.full((len(examples), MAX_OBJECTS), -1, "int64")
        for index, example in enumerate(examples):
            kept = min(len(example["objects"]["label"]), MAX_OBJECTS)
            boxes[index, :kept] = _corners_to_xywh(example["objects"]["bbox"])[:kept]
            labels[index, :kept] = example["objects"]["label"][:kept]
        splits.append(DetectionSplit(images, boxes, labels, None, None))
    return DetectionData(splits[0], splits[1], VOC_NAMES)


# ---------------------------------------------------------------------------------------------------------------
# Registration
# ---------------------------------------------------------------------------------------------------------------

SCENE_DATASETS = ("localization_scenes", "segmentation_scenes", "detection_scenes")


def specs():
    """The three :class:`DatasetSpec` objects (real tfds source + generated substitute)."""
    from .registry import DatasetSpec
    from .sources import Substitute, TfdsSource

    clutter = "on cluttered backgrounds (smooth colour field, thin lines, noise), random colours"
    return [
        DatasetSpec(
            name="localization_scenes", description="Oxford-IIIT Pets: 7,349 photos, species and head box",
            structure="LocalizationData(train, test, class_names); split = (images float32 (n, H, W, 3) in [0, 1], "
                      "labels int64 (n,), boxes float32 (n, 4) (x, y, w, h) normalised); kwargs image_size, "
                      "train_size, test_size (substitute: seed)",
            source=TfdsSource("oxford_iiit_pet:4.0.0", read_pets_localization,
                              "Oxford-IIIT Pets (tfds oxford_iiit_pet), species (cat/dog) and head bounding box"),
            substitute=Substitute(generated_localization, f"generated single shapes (circle, square, triangle) "
                                                          f"{clutter}, exact boxes")),
        DatasetSpec(
            name="segmentation_scenes", description="Oxford-IIIT Pets: 7,349 photos with pet/background/border trimaps",
            structure="SegmentationData(train, test, class_names); split = (images float32 (n, H, W, 3), masks uint8 "
                      "(n, H, W) class per pixel); kwargs image_size, train_size, test_size (substitute: seed)",
            source=TfdsSource("oxford_iiit_pet:4.0.0", read_pets_segmentation,
                              "Oxford-IIIT Pets trimaps (tfds oxford_iiit_pet): pet, background, border"),
            substitute=Substitute(generated_segmentation, f"generated scenes of 1–3 shapes {clutter}, per-pixel "
                                                          "masks (background, circle, square, triangle)")),
        DatasetSpec(
            name="detection_scenes", description="PASCAL VOC 2007: 9,963 photos, 20 classes, boxes",
            structure="DetectionData(train, test, class_names); split = (images, boxes float32 (n, 4, 4) (x, y, w, h), "
                      "labels int64 (n, 4) -1 = none, masks, instances uint8 (n, H, W) or None); kwargs image_size, "
                      "train_size, test_size (substitute: seed)",
            source=TfdsSource("voc/2007", read_voc_detection,
                              "PASCAL VOC 2007 (tfds voc/2007), 20 classes, bounding boxes"),
            substitute=Substitute(generated_detection, f"generated scenes of 1–4 shapes {clutter}, boxes, labels, "
                                                       "semantic and instance masks, centres in distinct 7×7 cells")),
    ]


def register() -> None:
    """Register :data:`SCENE_DATASETS` (replacing earlier registrations of the same names)."""
    from .registry import register as register_spec

    for spec in specs():
        register_spec(spec, replace=True)


def real_data_prepared(name: str) -> bool:
    """True when the real data of scene dataset ``name`` is already prepared by tfds on this machine."""
    from .registry import get_spec

    if name not in SCENE_DATASETS:
        raise ValueError(f"name must be one of {', '.join(SCENE_DATASETS)}; got {name!r}")
    return get_spec(name).source.prepared_dir() is not None


def preference(name: str, download_real: bool) -> str:
    """The ``prefer`` argument for :func:`chapters_src.data.load`: ``"auto"`` (real data, downloading it if
    needed) when ``download_real``, or when the real data is already prepared; else ``"substitute"`` (so the
    default profiles never start a download of hundreds of megabytes by themselves)."""
    return "auto" if download_real or real_data_prepared(name) else "substitute"
