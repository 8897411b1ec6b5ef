"""Digits for the GAN chapter: [-1, 1] pixels, flattened or padded images, one-hot labels, batches, the 4×10 grid.

The source (ch. 7, ``load_dataset``/``load_dataset_pad``/``load_dataset_label``) concatenates MNIST's training and
test images (70,000, no split is needed to train a GAN), scales them ``/255*2-1`` to [-1, 1] and either flattens
them to 784 values (dense models) or pads them from 28×28 to 32×32 (convolutional models: 4→8→16→32 needs a power
of two). It pads *after* scaling with 0, which is mid-grey, not the background value -1; :func:`pad_to_32` pads
with -1 by default and ``value=0.0`` reproduces the source.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

IMAGE_SIZE = 28
PADDED_SIZE = 32
CLASSES = 10
GRID_ROWS, GRID_COLUMNS = 4, 10     # the source's display_images: the first 40 images, figsize (10, 4)
BACKGROUND = -1.0                   # a white MNIST background (pixel 0) after scaling to [-1, 1]


class GanDigits(NamedTuple):
    """``images`` float32 ``(N, 28, 28)`` in [-1, 1]; ``labels`` int64 ``(N,)`` digits 0–9; ``provenance`` text."""

    images: np.ndarray
    labels: np.ndarray
    provenance: object


def to_signed_unit(images) -> np.ndarray:
    """uint8 pixels 0..255 → float32 in [-1, 1] (``x / 255 * 2 - 1``, as the source)."""
    array = np.asarray(images)
    if not np.issubdtype(array.dtype, np.integer) or array.min(initial=0) < 0 or array.max(initial=0) > 255:
        raise ValueError(f"images must be integers in 0..255 (uint8); got dtype {array.dtype}")
    return (array.astype("float32") / 255.0) * 2.0 - 1.0


def load_digits(prefer: str = "auto", max_images: int | None = None, seed: int = 0) -> GanDigits:
    """The registry's ``mnist``, training and test images concatenated (real MNIST: 70,000; offline substitute:
    1,797 scikit-learn digits), scaled to [-1, 1]. ``max_images`` keeps a random subset (seeded by ``seed``)."""
    from chapters_src import data

    if max_images is not None and (isinstance(max_images, bool) or not isinstance(max_images, int) or max_images < 10):
        raise ValueError(f"max_images must be None or an integer >= 10; got {max_images!r}")
    loaded = data.load("mnist", prefer=prefer)
    (x_train, y_train), (x_test, y_test) = loaded.data
    images = to_signed_unit(np.concatenate([x_train, x_test]))
    labels = np.concatenate([y_train, y_test]).astype("int64")
    if max_images is not None and max_images < len(images):
        keep = np.sort(np.random.default_rng(seed).permutation(len(images))[:max_images])
        images, labels = images[keep], labels[keep]
    return GanDigits(images, labels, loaded.provenance)


def flatten(images) -> np.ndarray:
    """``(N, 28, 28)`` (or ``(N, 28, 28, 1)``) → ``(N, 784)`` float32, for the dense models."""
    array = np.asarray(images, dtype="float32")
    if array.ndim not in (3, 4) or array.shape[1:3] != (IMAGE_SIZE, IMAGE_SIZE):
        raise ValueError(f"images must have shape (N, 28, 28) or (N, 28, 28, 1); got {array.shape}")
    return array.reshape(len(array), IMAGE_SIZE * IMAGE_SIZE)


def pad_to_32(images, value: float = BACKGROUND) -> np.ndarray:
    """``(N, 28, 28)`` → ``(N, 32, 32, 1)`` float32, 2 pixels of ``value`` on every side.

    ``value=-1.0`` (default) is the background of [-1, 1] digits; ``value=0.0`` is the source's choice, a mid-grey
    frame around every real image, which the generator then reproduces around a black background (notebook 18).
    """
    array = np.asarray(images, dtype="float32")
    if array.ndim == 4 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim != 3 or array.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise ValueError(f"images must have shape (N, 28, 28) or (N, 28, 28, 1); got {array.shape}")
    if not -1.0 <= value <= 1.0:
        raise ValueError(f"value must be a pixel value in [-1, 1]; got {value!r}")
    margin = (PADDED_SIZE - IMAGE_SIZE) // 2
    return np.pad(array, ((0, 0), (margin, margin), (margin, margin)), constant_values=value)[..., None]


def frame_mean(images) -> float:
    """Mean pixel value of the 2-pixel frame of 32×32 images ``(N, 32, 32[, 1])`` (or ``(N, 1024)``): -1 for
    digits padded with the background, 0 for the source's padding; for generated images, what the generator
    draws there."""
    array = as_display_images(images)
    if array.shape[1:] != (PADDED_SIZE, PADDED_SIZE) or len(array) == 0:
        raise ValueError(f"images must be a non-empty stack of 32×32 images; got shape {array.shape}")
    margin = (PADDED_SIZE - IMAGE_SIZE) // 2
    frame = np.ones((PADDED_SIZE, PADDED_SIZE), bool)
    frame[margin:-margin, margin:-margin] = False
    return float(array[:, frame].mean())


def one_hot(labels, classes: int = CLASSES) -> np.ndarray:
    """Integer labels ``(N,)`` → float32 ``(N, classes)`` one-hot rows (``keras.utils.to_categorical``)."""
    array = np.asarray(labels)
    if array.ndim != 1 or not np.issubdtype(array.dtype, np.integer) or (array.size and
                                                                          (array.min() < 0 or array.max() >= classes)):
        raise ValueError(f"labels must be a 1-D integer array with values in 0..{classes - 1}")
    return np.eye(classes, dtype="float32")[array]


def batch_indices(count: int, batch_size: int, rng: np.random.Generator | None = None,
                  drop_remainder: bool = False) -> list[np.ndarray]:
    """Index arrays of the batches of one epoch over ``count`` items, shuffled by ``rng`` (None: in order).

    ``drop_remainder=False`` keeps the partial last batch (the source's ``gen_batches``: 547 batches for 70,000
    images of 128, the last of 112); ``True`` drops it (``gen_batches_label``: 546).
    """
    for name, value in (("count", count), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1; got {value!r}")
    order = rng.permutation(count) if rng is not None else np.arange(count)
    stop = count - count % batch_size if drop_remainder else count
    return [order[start:start + batch_size] for start in range(0, stop, batch_size)]


def grid_labels(count: int = GRID_ROWS * GRID_COLUMNS, classes: int = CLASSES) -> np.ndarray:
    """The source's display labels: ``sample_y[i, i % 10] = 1``, so each grid row reads 0, 1, …, 9."""
    return np.arange(count) % classes


def as_display_images(images) -> np.ndarray:
    """Flattened ``(N, 784)`` / ``(N, 1024)`` or ``(N, H, W[, 1])`` images → ``(N, H, W)``."""
    array = np.asarray(images, dtype="float32")
    if array.ndim == 2:
        side = int(round(np.sqrt(array.shape[1])))
        if side * side != array.shape[1]:
            raise ValueError(f"flattened images must have a square number of pixels; got {array.shape[1]}")
        array = array.reshape(len(array), side, side)
    if array.ndim == 4 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim != 3:
        raise ValueError(f"images must have shape (N, pixels), (N, H, W) or (N, H, W, 1); got {array.shape}")
    return array


def sample_grid(images, title: str | None = None, rows: int = GRID_ROWS, columns: int = GRID_COLUMNS,
                per_image_scaling: bool = False, row_labels=None, column_labels=None):
    """The source's 4×10 sample grid (``display_images``): the first ``rows * columns`` images, no gaps.

    ``per_image_scaling=True`` min–max scales every image on its own, as the source does (it hides how grey a
    generated background is); the default shows [-1, 1] as black..white for all images alike.
    Returns a matplotlib Figure (0.8 inch per cell).
    """
    import matplotlib.pyplot as plt

    from chapters_src import plots

    pictures = as_display_images(images)
    if len(pictures) < rows * columns:
        raise ValueError(f"images must hold at least rows*columns = {rows * columns} images; got {len(pictures)}")
    with plots.style_context():
        top_margin = (0.45 if title else 0.05) + (0.25 if column_labels is not None else 0.0)
        left_margin = 0.5 if row_labels is not None else 0.05
        width, height = 0.8 * columns + left_margin, 0.8 * rows + top_margin
        figure, axes = plt.subplots(rows, columns, figsize=(width, height), squeeze=False)
        figure.subplots_adjust(left=left_margin / width, right=0.99, bottom=0.01, top=1 - top_margin / height,
                               wspace=0.03, hspace=0.03)
        for index, ax in enumerate(axes.flat):
            picture = pictures[index]
            if per_image_scaling:
                low, high = float(picture.min()), float(picture.max())
                picture = (picture - low) / (high - low) if high > low else np.zeros_like(picture)
            else:
                picture = (np.clip(picture, -1, 1) + 1) / 2
            ax.imshow(picture, cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([]), ax.set_yticks([])
            ax.grid(False)
            for spine in ax.spines.values():
                spine.set_visible(False)
        if row_labels is not None:
            for ax, label in zip(axes[:, 0], row_labels):
                ax.set_ylabel(str(label), rotation=0, ha="right", va="center")
        if column_labels is not None:
            for ax, label in zip(axes[0], column_labels):
                ax.set_title(str(label), fontsize=9)
        if title:
            figure.suptitle(title)
    return figure
