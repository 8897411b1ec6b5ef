"""Boxes: conversions, intersection over union, non-max suppression, ROI max-pooling, drawing.

Box convention (*Deep Learning with TensorFlow and Keras*, ch. 20 §1.1): ``(x, y, w, h)`` = top-left corner, width,
height, as fractions of the image size (so every value is in [0, 1] for a box inside the image). Arrays of boxes
have shape ``(..., 4)``. ``corners`` means ``(x1, y1, x2, y2)`` = top-left and bottom-right.

- :func:`iou` (broadcasting) and :func:`pairwise_iou` ((N, 4) × (M, 4) → (N, M));
- :func:`non_max_suppression`: greedy NMS, the same rule as ``tf.image.non_max_suppression``;
- :func:`roi_max_pool_reference` (NumPy, loops) and :class:`RoiMaxPool` (a Keras layer, ``keras.ops``): Fast R-CNN's
  ROI pooling, which max-pools the part of a feature map under a box into a fixed ``H × W`` grid;
- :func:`roi_align_reference` and :class:`RoiAlign`: Mask R-CNN's RoIAlign (bilinear samples, no snapping);
- :func:`draw_boxes`: rectangles with captions on a matplotlib axes;
- :func:`block_diagram`: schematic architecture drawings (boxes and arrows) for the chapters' figures.
"""
from __future__ import annotations

from typing import NamedTuple

import keras
import numpy as np


def _as_boxes(boxes, name: str) -> np.ndarray:
    array = np.asarray(boxes, dtype="float64")
    if array.ndim == 0 or array.shape[-1] != 4:
        raise ValueError(f"{name} must have shape (..., 4) (x, y, w, h); got shape {array.shape}")
    if np.any(array[..., 2:] < 0):
        raise ValueError(f"{name} must have non-negative widths and heights")
    return array


def xywh_to_corners(boxes) -> np.ndarray:
    """``(x, y, w, h)`` → ``(x1, y1, x2, y2)``, shape (..., 4)."""
    boxes = _as_boxes(boxes, "boxes")
    return np.concatenate([boxes[..., :2], boxes[..., :2] + boxes[..., 2:]], axis=-1)


def corners_to_xywh(corners) -> np.ndarray:
    """``(x1, y1, x2, y2)`` → ``(x, y, w, h)``, shape (..., 4)."""
    corners = np.asarray(corners, dtype="float64")
    return np.concatenate([corners[..., :2], corners[..., 2:] - corners[..., :2]], axis=-1)


def iou(box_a, box_b) -> np.ndarray | float:
    """Intersection over union of ``(x, y, w, h)`` boxes (arrays broadcast; a float for two single boxes).

    IoU = area(A ∩ B) / area(A ∪ B): 1 for identical boxes, 0 for disjoint ones; 0 when both areas are 0.
    """
    a, b = _as_boxes(box_a, "box_a"), _as_boxes(box_b, "box_b")
    left = np.maximum(a[..., 0], b[..., 0])
    top = np.maximum(a[..., 1], b[..., 1])
    right = np.minimum(a[..., 0] + a[..., 2], b[..., 0] + b[..., 2])
    bottom = np.minimum(a[..., 1] + a[..., 3], b[..., 1] + b[..., 3])
    intersection = np.clip(right - left, 0, None) * np.clip(bottom - top, 0, None)
    union = a[..., 2] * a[..., 3] + b[..., 2] * b[..., 3] - intersection
    result = np.where(union > 0, intersection / np.where(union > 0, union, 1.0), 0.0)
    return float(result) if result.ndim == 0 else result


def pairwise_iou(boxes_a, boxes_b) -> np.ndarray:
    """IoU of every box of ``boxes_a`` (N, 4) with every box of ``boxes_b`` (M, 4): shape (N, M)."""
    a, b = _as_boxes(boxes_a, "boxes_a").reshape(-1, 4), _as_boxes(boxes_b, "boxes_b").reshape(-1, 4)
    return np.asarray(iou(a[:, None, :], b[None, :, :])).reshape(len(a), len(b))


def non_max_suppression(boxes, scores, iou_threshold: float = 0.5, max_output_size: int | None = None,
                        score_threshold: float = float("-inf")) -> np.ndarray:
    """Indices of the boxes kept by greedy non-max suppression, highest score first.

    Take the highest-scoring box left, keep it, drop every remaining box whose IoU with it is **greater than**
    ``iou_threshold``; repeat. Boxes scoring ``<= score_threshold`` are never kept (the rule of
    ``tf.image.non_max_suppression``, which takes corner boxes ``(y1, x1, y2, x2)``). ``boxes`` (N, 4) ``(x, y, w, h)``,
    ``scores`` (N,). Returns int64 indices (at most ``max_output_size``).
    """
    boxes = _as_boxes(boxes, "boxes").reshape(-1, 4)
    scores = np.asarray(scores, dtype="float64").reshape(-1)
    if len(scores) != len(boxes):
        raise ValueError(f"scores must have one value per box: {len(scores)} scores for {len(boxes)} boxes")
    if not 0.0 <= iou_threshold <= 1.0:
        raise ValueError(f"iou_threshold must be in [0, 1]; got {iou_threshold}")
    if max_output_size is not None and (isinstance(max_output_size, bool) or max_output_size < 0):
        raise ValueError(f"max_output_size must be a non-negative int or None; got {max_output_size!r}")
    limit = len(boxes) if max_output_size is None else int(max_output_size)
    order = [int(i) for i in np.argsort(-scores, kind="stable") if scores[i] > score_threshold]
    kept: list[int] = []
    while order and len(kept) < limit:
        best, order = order[0], order[1:]
        kept.append(best)
        if order:
            overlaps = np.atleast_1d(iou(boxes[best], boxes[order]))
            order = [index for index, overlap in zip(order, overlaps) if overlap <= iou_threshold]
    return np.asarray(kept, dtype="int64")


# -----------------------------------------------------------------------------------------------------------------
# ROI max-pooling (Fast R-CNN)
# -----------------------------------------------------------------------------------------------------------------


def _check_output_size(output_size) -> tuple[int, int]:
    if isinstance(output_size, (int, np.integer)) and not isinstance(output_size, bool):
        output_size = (output_size, output_size)
    if (not isinstance(output_size, (tuple, list)) or len(output_size) != 2
            or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1 for v in output_size)):
        raise ValueError(f"output_size must be a positive int or a pair (height, width) of them; got {output_size!r}")
    return int(output_size[0]), int(output_size[1])


def roi_cells(start: float, length: float, cells: int) -> tuple[int, int]:
    """The feature-map cells ``[first, end)`` a box side covers: ``floor(start·cells)`` to
    ``ceil((start + length)·cells)``, clipped to the map and at least one cell wide (float32 arithmetic, as in
    :class:`RoiMaxPool`)."""
    first = int(np.floor(np.float32(start) * np.float32(cells)))
    end = int(np.ceil((np.float32(start) + np.float32(length)) * np.float32(cells)))
    first = min(max(first, 0), cells - 1)
    return first, min(max(end, first + 1), cells)


def roi_max_pool_reference(feature_map, box, output_size=(2, 2)) -> np.ndarray:
    """Fast R-CNN ROI max-pooling of one box, written with loops: ``(H, W, C)`` map, ``(x, y, w, h)`` box in [0, 1]
    → ``(out_h, out_w, C)``.

    The box is snapped outwards to whole feature cells (:func:`roi_cells`), giving ``h × w`` cells; output row ``i``
    pools rows ``floor(i·h/out_h)`` to ``ceil((i+1)·h/out_h)`` of it (likewise columns), so bins may overlap by one
    cell when ``h`` is not a multiple of ``out_h``, and a bin is never empty.
    """
    feature_map = np.asarray(feature_map, dtype="float32")
    if feature_map.ndim != 3:
        raise ValueError(f"feature_map must have shape (height, width, channels); got {feature_map.shape}")
    out_h, out_w = _check_output_size(output_size)
    x, y, w, h = _as_boxes(box, "box").reshape(4)
    row0, row1 = roi_cells(y, h, feature_map.shape[0])
    col0, col1 = roi_cells(x, w, feature_map.shape[1])
    rows, cols = row1 - row0, col1 - col0
    pooled = np.empty((out_h, out_w, feature_map.shape[2]), dtype="float32")
    for i in range(out_h):
        r_start, r_end = row0 + (i * rows) // out_h, row0 + -(-((i + 1) * rows) // out_h)
        for j in range(out_w):
            c_start, c_end = col0 + (j * cols) // out_w, col0 + -(-((j + 1) * cols) // out_w)
            pooled[i, j] = feature_map[r_start:r_end, c_start:c_end].max(axis=(0, 1))
    return pooled


def _bin_masks(start, length, cells: int, bins: int):
    """Boolean ``(..., bins, cells)``: which cells each bin of each box side pools (keras.ops, int arithmetic)."""
    ops = keras.ops
    first = ops.cast(ops.floor(start * cells), "int32")
    end = ops.cast(ops.ceil((start + length) * cells), "int32")
    first = ops.clip(first, 0, cells - 1)
    end = ops.clip(ops.maximum(end, first + 1), 0, cells)
    count = end - first
    index = ops.arange(bins, dtype="int32")
    lower = first[..., None] + ops.floor_divide(index * count[..., None], bins)
    upper = first[..., None] - ops.floor_divide(-(index + 1) * count[..., None], bins)
    positions = ops.arange(cells, dtype="int32")
    return (positions >= lower[..., None]) & (positions < upper[..., None])


@keras.saving.register_keras_serializable(package="chapters_src")
class RoiMaxPool(keras.layers.Layer):
    """Keras layer: ROI max-pooling of ``R`` boxes per image to a fixed ``output_size``.

    Inputs ``[feature_maps (B, H, W, C), boxes (B, R, 4)]`` with boxes ``(x, y, w, h)`` in [0, 1]; output
    ``(B, R, out_h, out_w, C)``. The same bins as :func:`roi_max_pool_reference`, computed with masks so that it
    runs on any backend and passes gradients to the maximal cells (max over columns, then over rows).
    """

    def __init__(self, output_size=(7, 7), **kwargs):
        super().__init__(**kwargs)
        self.output_size = _check_output_size(output_size)

    def call(self, feature_maps, boxes):
        ops = keras.ops
        height, width = int(feature_maps.shape[1]), int(feature_maps.shape[2])
        out_h, out_w = self.output_size
        boxes = ops.cast(boxes, "float32")
        row_masks = _bin_masks(boxes[..., 1], boxes[..., 3], height, out_h)          # (B, R, out_h, H)
        col_masks = _bin_masks(boxes[..., 0], boxes[..., 2], width, out_w)           # (B, R, out_w, W)
        lowest = ops.cast(-3.0e38, feature_maps.dtype)
        maps = feature_maps[:, None, :, None, :, :]                                   # (B, 1, H, 1, W, C)
        by_columns = ops.max(ops.where(col_masks[:, :, None, :, :, None], maps, lowest), axis=4)   # (B, R, H, out_w, C)
        pooled = ops.max(ops.where(row_masks[:, :, :, :, None, None], by_columns[:, :, None], lowest), axis=3)
        return pooled                                                                 # (B, R, out_h, out_w, C)

    def compute_output_shape(self, feature_maps_shape, boxes_shape):
        return (feature_maps_shape[0], boxes_shape[1], *self.output_size, feature_maps_shape[-1])

    def get_config(self):
        return {**super().get_config(), "output_size": self.output_size}


def _sample_positions(start, length, cells: int, bins: int):
    """Feature-map coordinates (pixel centres at integers) of the bin centres of a box side, clipped to the map."""
    fractions = (np.arange(bins, dtype="float32") + 0.5) / np.float32(bins)
    positions = (start[..., None] + fractions * length[..., None]) * np.float32(cells) - np.float32(0.5)
    return keras.ops.clip(positions, 0.0, float(cells - 1)) if not isinstance(positions, np.ndarray) else np.clip(
        positions, 0.0, float(cells - 1))


def roi_align_reference(feature_map, box, output_size=(2, 2)) -> np.ndarray:
    """Mask R-CNN's RoIAlign of one box, with loops: the box ``(x, y, w, h)`` in [0, 1] is cut into
    ``out_h × out_w`` bins, *not snapped* to feature cells, and each bin takes the bilinear interpolation of the
    ``(H, W, C)`` map at its centre (one sample per bin; coordinates clipped to the map). Output ``(out_h, out_w, C)``."""
    feature_map = np.asarray(feature_map, dtype="float32")
    if feature_map.ndim != 3:
        raise ValueError(f"feature_map must have shape (height, width, channels); got {feature_map.shape}")
    out_h, out_w = _check_output_size(output_size)
    x, y, w, h = _as_boxes(box, "box").reshape(4).astype("float32")
    height, width = feature_map.shape[:2]
    rows = _sample_positions(np.float32(y), np.float32(h), height, out_h)
    cols = _sample_positions(np.float32(x), np.float32(w), width, out_w)
    aligned = np.empty((out_h, out_w, feature_map.shape[2]), dtype="float32")
    for i, row in enumerate(rows):
        r0 = int(np.floor(row)); r1 = min(r0 + 1, height - 1); fr = row - r0
        for j, col in enumerate(cols):
            c0 = int(np.floor(col)); c1 = min(c0 + 1, width - 1); fc = col - c0
            aligned[i, j] = ((1 - fr) * ((1 - fc) * feature_map[r0, c0] + fc * feature_map[r0, c1])
                             + fr * ((1 - fc) * feature_map[r1, c0] + fc * feature_map[r1, c1]))
    return aligned


@keras.saving.register_keras_serializable(package="chapters_src")
class RoiAlign(keras.layers.Layer):
    """Keras layer: RoIAlign (one bilinear sample per bin) of ``R`` boxes per image, as :func:`roi_align_reference`.

    Inputs ``[feature_maps (B, H, W, C), boxes (B, R, 4)]``; output ``(B, R, out_h, out_w, C)``. It gathers only
    ``4·out_h·out_w`` values per box, so it is far cheaper than the masked :class:`RoiMaxPool`, and its output moves
    smoothly with the box: Mask R-CNN replaced RoIPool by it because snapping to cells misaligns masks.
    """

    def __init__(self, output_size=(7, 7), **kwargs):
        super().__init__(**kwargs)
        self.output_size = _check_output_size(output_size)

    def call(self, feature_maps, boxes):
        ops = keras.ops
        height, width, channels = (int(v) for v in feature_maps.shape[1:])
        out_h, out_w = self.output_size
        boxes = ops.cast(boxes, "float32")
        rows = _sample_positions(boxes[..., 1], boxes[..., 3], height, out_h)         # (B, R, out_h)
        cols = _sample_positions(boxes[..., 0], boxes[..., 2], width, out_w)          # (B, R, out_w)
        r0, c0 = ops.floor(rows), ops.floor(cols)
        fr, fc = (rows - r0)[..., :, None, None], (cols - c0)[..., None, :, None]
        r0, c0 = ops.cast(r0, "int32"), ops.cast(c0, "int32")
        r1, c1 = ops.minimum(r0 + 1, height - 1), ops.minimum(c0 + 1, width - 1)
        batch = ops.arange(ops.shape(feature_maps)[0], dtype="int32")[:, None, None, None] * (height * width)
        flat = ops.reshape(feature_maps, (-1, channels))

        def gather(r, c):
            return ops.take(flat, batch + r[..., :, None] * width + c[..., None, :], axis=0)   # (B, R, oh, ow, C)

        top = (1 - fc) * gather(r0, c0) + fc * gather(r0, c1)
        bottom = (1 - fc) * gather(r1, c0) + fc * gather(r1, c1)
        return (1 - fr) * top + fr * bottom

    def compute_output_shape(self, feature_maps_shape, boxes_shape):
        return (feature_maps_shape[0], boxes_shape[1], *self.output_size, feature_maps_shape[-1])

    def get_config(self):
        return {**super().get_config(), "output_size": self.output_size}


# -----------------------------------------------------------------------------------------------------------------
# Drawing
# -----------------------------------------------------------------------------------------------------------------


def draw_boxes(axes, boxes, image_size, captions=None, color="yellow", linestyle="-", linewidth=1.5):
    """Draw ``(x, y, w, h)`` boxes (normalised) on ``axes`` showing an image ``image_size`` pixels wide
    (``int`` or ``(height, width)``), each with an optional caption at its top-left corner."""
    from matplotlib.patches import Rectangle

    height, width = (image_size, image_size) if np.isscalar(image_size) else image_size
    boxes = _as_boxes(boxes, "boxes").reshape(-1, 4)
    captions = [None] * len(boxes) if captions is None else list(captions)
    if len(captions) != len(boxes):
        raise ValueError(f"captions must have one entry per box: {len(captions)} for {len(boxes)} boxes")
    for (x, y, w, h), caption in zip(boxes, captions):
        axes.add_patch(Rectangle((x * width - 0.5, y * height - 0.5), w * width, h * height, fill=False,
                                 edgecolor=color, linestyle=linestyle, linewidth=linewidth))
        if caption:
            axes.text(x * width - 0.5, y * height - 1.5, caption, color="black", fontsize=7,
                      bbox=dict(facecolor=color, edgecolor="none", pad=1, alpha=0.85))
    return axes


def box_grid(images, boxes, captions=None, ncols: int = 6, color="yellow", titles=None, suptitle=None,
             true_boxes=None):
    """A grid of images, each with its ``(k, 4)`` boxes (and optional per-box captions, per-image titles, and
    ``true_boxes`` drawn dashed in green underneath)."""
    import matplotlib.pyplot as plt

    from .. import plots

    count = len(images)
    rows = -(-count // ncols)
    with plots.style_context():
        figure, axes = plt.subplots(rows, ncols, figsize=(1.9 * ncols, 2.0 * rows), squeeze=False,
                                    layout="constrained")
        for index, ax in enumerate(axes.flat):
            ax.axis("off")
            if index >= count:
                continue
            ax.imshow(np.clip(images[index], 0, 1))
            size = np.asarray(images[index]).shape[:2]
            if true_boxes is not None:
                draw_boxes(ax, true_boxes[index], size, color="lime", linestyle="--", linewidth=1.0)
            draw_boxes(ax, boxes[index], size, None if captions is None else captions[index], color=color)
            if titles is not None:
                ax.set_title(titles[index], fontsize=8)
        if suptitle:
            figure.suptitle(suptitle)
    return figure


# -----------------------------------------------------------------------------------------------------------------
# Architecture diagrams (schematic: keras.utils.plot_model needs graphviz, which the companion does not install)
# -----------------------------------------------------------------------------------------------------------------

BLOCK_COLOURS = {"data": "#e8e8e8", "external": "#c7e9c0", "conv": "#c6dbef", "pool": "#9ecae1",
                 "head": "#fdd0a2", "loss": "#fcbba1", "new": "#dadaeb"}


class Block(NamedTuple):
    """One box of a :func:`block_diagram`: centre ``(x, y)`` and size ``(width, height)`` in diagram units, its text
    and its kind (a key of :data:`BLOCK_COLOURS`: data, external, conv, pool, head, loss, new)."""

    x: float
    y: float
    text: str
    kind: str = "conv"
    width: float = 1.6
    height: float = 0.8


def block_diagram(blocks: dict, arrows=(), title=None, figsize=(9.0, 2.8)):
    """A schematic architecture drawing: ``blocks`` ``{name: Block}``, ``arrows`` ``(from, to[, label[, style]])``
    with style ``"-"`` (data flow) or ``"--"`` (skip / side input). Returns the matplotlib Figure; every block is a
    ``FancyBboxPatch`` whose ``gid`` is its name, every arrow an annotation whose ``gid`` is ``"from->to"``."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    from .. import plots

    for block in blocks.values():
        if block.kind not in BLOCK_COLOURS:
            raise ValueError(f"block kind must be one of {sorted(BLOCK_COLOURS)}; got {block.kind!r}")
    with plots.style_context():
        figure, ax = plt.subplots(figsize=figsize, layout="constrained")
        patches = {}
        for name, block in blocks.items():
            patch = FancyBboxPatch((block.x - block.width / 2, block.y - block.height / 2), block.width, block.height,
                                   boxstyle="round,pad=0.02,rounding_size=0.08", facecolor=BLOCK_COLOURS[block.kind],
                                   edgecolor="#444444", linewidth=0.8, gid=name)
            ax.add_patch(patch)
            patches[name] = patch
            ax.text(block.x, block.y, block.text, ha="center", va="center", fontsize=7.5)
        for arrow in arrows:
            start, end, *rest = arrow
            label, style = (rest[0] if rest else None), (rest[1] if len(rest) > 1 else "-")
            if start not in blocks or end not in blocks:
                raise ValueError(f"arrow {start!r} -> {end!r} names a block that does not exist")
            a, b = blocks[start], blocks[end]
            note = ax.annotate("", xy=(b.x, b.y), xytext=(a.x, a.y),
                               arrowprops=dict(arrowstyle="-|>", color="#333333", linestyle=style, linewidth=1.0,
                                               patchA=patches[start], patchB=patches[end], shrinkA=1, shrinkB=1))
            note.set_gid(f"{start}->{end}")
            if label:
                ax.text((a.x + b.x) / 2, (a.y + b.y) / 2 + 0.12, label, ha="center", va="bottom", fontsize=6.5,
                        color="#333333", bbox=dict(facecolor="white", edgecolor="none", pad=0.5, alpha=0.8))
        xs = [v for block in blocks.values() for v in (block.x - block.width / 2, block.x + block.width / 2)]
        ys = [v for block in blocks.values() for v in (block.y - block.height / 2, block.y + block.height / 2)]
        ax.set_xlim(min(xs) - 0.2, max(xs) + 0.2)
        ax.set_ylim(min(ys) - 0.2, max(ys) + 0.35)
        ax.set_aspect("equal")
        ax.axis("off")
        if title:
            ax.set_title(title, fontsize=9)
    return figure
