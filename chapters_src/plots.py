"""Figures in one consistent style for every chapter: image grids, learning curves, comparisons.

Every function returns a ``matplotlib.figure.Figure`` drawn inside :func:`style_context` (the companion's
rcParams: readable font sizes, light grid, no top/right spines, a colour-blind-safe palette). Figures are made
with pyplot, so a notebook shows them automatically at the end of the cell; end the call with ``;`` or assign
it (``figure = plots.image_grid(...)``) to avoid a second copy from the returned value. Scripts and tests should
``plt.close(figure)`` when done. :func:`use_style` applies the same style to a reader's own plots.

Importing this module imports matplotlib only (no TensorFlow); Keras ``History`` objects and tensors are
recognised by duck typing.
"""
from __future__ import annotations

import io
import math
from typing import Mapping, Sequence

import matplotlib
import matplotlib.image
import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np
from cycler import cycler
from matplotlib.figure import Figure

# Okabe & Ito (2008) colour-blind-safe palette: blue, orange, green, vermillion, purple, sky blue, yellow.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442")
STYLE: dict = {
    "figure.figsize": (6.4, 4.0),
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "savefig.bbox": "tight",
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "legend.fontsize": 10,
    "legend.frameon": False,
    "figure.titlesize": 13,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": cycler(color=PALETTE),
    "lines.linewidth": 2.0,
    "image.interpolation": "nearest",
}
VALIDATION_PREFIX = "val_"


def use_style() -> None:
    """Apply :data:`STYLE` to every later matplotlib figure of this process (e.g. in a notebook's setup cell)."""
    matplotlib.rcParams.update(STYLE)


def style_context():
    """A context manager applying :data:`STYLE` only inside its ``with`` block (used by every plot function)."""
    return matplotlib.rc_context(STYLE)


# --------------------------------------------------------------------------------------------- images
def normalise_for_display(images) -> np.ndarray:
    """Images as float32 in [0, 1] for ``imshow``, with one rule for the whole array (relative brightness kept).

    uint8 / integers in [0, 255] → ``/ 255``; floats in [0, 1] unchanged; floats in [-1, 1] (tanh outputs)
    → ``(x + 1) / 2``; floats in [0, 255] → ``/ 255``; anything else (feature maps, gradients) → min–max scaled.
    Booleans become 0/1. Raises ``ValueError`` for NaN/inf values or non-numeric data.
    """
    array = np.asarray(images)
    if array.dtype == bool:
        return array.astype(np.float32)
    if not np.issubdtype(array.dtype, np.number) or np.iscomplexobj(array):
        raise ValueError(f"images must hold real numbers; got dtype {array.dtype}")
    values = array.astype(np.float32)
    if values.size == 0:
        return values
    if not np.all(np.isfinite(values)):
        raise ValueError("images contain NaN or infinite values")
    low, high = float(values.min()), float(values.max())
    if np.issubdtype(array.dtype, np.integer) and low >= 0 and high <= 255:
        return values / 255.0
    if low >= 0 and high <= 1:
        return values
    if low >= -1 and high <= 1:
        return (values + 1.0) / 2.0
    if low >= 0 and high <= 255:
        return values / 255.0
    return (values - low) / (high - low)


def _as_image_batch(images) -> np.ndarray:
    """``images`` as an array ``(N, H, W)`` (grey) or ``(N, H, W, 3)`` (RGB); ``(N, H, W, 1)`` is squeezed."""
    try:
        array = np.asarray(images)
    except ValueError as error:  # ragged list
        raise ValueError(f"images must share one shape: {error}") from error
    if array.dtype == object:
        raise ValueError("images must share one shape (got a ragged sequence)")
    if array.ndim == 4 and array.shape[-1] == 1:
        array = array[..., 0]
    if not (array.ndim == 3 or (array.ndim == 4 and array.shape[-1] == 3)):
        raise ValueError(f"images must have shape (N, H, W), (N, H, W, 1) or (N, H, W, 3); got {array.shape} "
                         "(for one image use images[None])")
    if array.shape[0] == 0 or array.shape[1] == 0 or array.shape[2] == 0:
        raise ValueError(f"images must not be empty; got shape {array.shape}")
    return array


def _grid_shape(count: int, ncols: int | None, default_columns: int = 8) -> tuple[int, int]:
    """(rows, columns) for ``count`` panels; ``ncols`` defaults to ``min(count, default_columns)``."""
    if ncols is None:
        ncols = min(count, default_columns)
    if isinstance(ncols, bool) or not isinstance(ncols, int) or ncols < 1:
        raise ValueError(f"ncols must be an integer >= 1; got {ncols!r}")
    ncols = min(ncols, count)
    return math.ceil(count / ncols), ncols


def _check_titles(titles, count: int, name: str = "titles") -> list[str] | None:
    """``titles`` as a list of ``count`` strings (or None); ``ValueError`` naming ``name`` if the length differs."""
    if titles is None:
        return None
    if isinstance(titles, str):
        raise ValueError(f"{name} must be a sequence of {count} strings, not one string")
    titles = [str(title) for title in titles]
    if len(titles) != count:
        raise ValueError(f"{name} must have one entry per image ({count}); got {len(titles)}")
    return titles


def _draw_image(axes, image: np.ndarray, title: str | None, cmap) -> None:
    """Show one ``(H, W)`` or ``(H, W, 3)`` image in [0, 1] on ``axes`` with no ticks."""
    if image.ndim == 2:
        axes.imshow(image, cmap=cmap or "gray", vmin=0.0, vmax=1.0)
    else:
        axes.imshow(np.clip(image, 0.0, 1.0))
    axes.set_axis_off()
    if title is not None:
        axes.set_title(title, y=1.0)  # fixed y: skips the per-draw bbox search


def image_grid(images, titles=None, ncols: int | None = None, cmap=None, figsize=None, suptitle=None) -> Figure:
    """A grid of ``N`` images, one axes per image (empty cells are removed).

    images: array-like ``(N, H, W)``, ``(N, H, W, 1)`` or ``(N, H, W, 3)``; uint8 [0, 255] or float in [0, 1],
    [-1, 1] or [0, 255] (see :func:`normalise_for_display`; one rule for the batch). titles: ``N`` strings.
    ncols: columns (default ``min(N, 8)``). cmap: for grey images (default "gray"). figsize: inches, default
    1.6 per cell.
    """
    batch = normalise_for_display(_as_image_batch(images))
    count = batch.shape[0]
    titles = _check_titles(titles, count)
    rows, columns = _grid_shape(count, ncols)
    with style_context():
        figure = plt.figure(figsize=figsize or (1.6 * columns, 1.6 * rows + (0.3 * rows if titles else 0)),
                            layout="constrained")
        for index in range(count):
            axes = figure.add_subplot(rows, columns, index + 1)
            _draw_image(axes, batch[index], titles[index] if titles else None, cmap)
        if suptitle:
            figure.suptitle(suptitle)
    return figure


def _figure_to_image(figure: Figure) -> np.ndarray:
    """Render a matplotlib ``figure`` to an RGBA float array ``(H, W, 4)`` in [0, 1] (any backend)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=figure.dpi)
    buffer.seek(0)
    return matplotlib.image.imread(buffer, format="png")


def _as_single_image(item, position: int) -> np.ndarray:
    """One panel of :func:`side_by_side` as ``(H, W)`` or ``(H, W, 3|4)`` in [0, 1]."""
    if isinstance(item, Figure):
        return _figure_to_image(item)
    array = np.asarray(item)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[-1] in (3, 4))):
        raise ValueError(f"images_or_figs[{position}] must be a Figure or an image (H, W), (H, W, 1), (H, W, 3) "
                         f"or (H, W, 4); got shape {array.shape}")
    return normalise_for_display(array)


def side_by_side(images_or_figs: Sequence, titles: Sequence[str], suptitle=None, cmap=None, figsize=None) -> Figure:
    """Before/after panels in one row: each item an image (``(H, W)``, ``(H, W, 1)``, ``(H, W, 3)``, any range of
    :func:`normalise_for_display`, each item scaled by itself) or a matplotlib ``Figure`` (rendered to pixels).

    titles: one string per item (required: a comparison needs labels). figsize: default 3.2 inches per panel.
    """
    items = list(images_or_figs)
    if not items:
        raise ValueError("images_or_figs must hold at least one image or figure")
    if titles is None:
        raise ValueError(f"titles is required: one label per panel ({len(items)})")
    titles = _check_titles(titles, len(items))
    panels = [_as_single_image(item, position) for position, item in enumerate(items)]
    with style_context():
        figure = plt.figure(figsize=figsize or (3.2 * len(panels), 3.4), layout="constrained")
        for index, (panel, title) in enumerate(zip(panels, titles)):
            axes = figure.add_subplot(1, len(panels), index + 1)
            if panel.ndim == 3 and panel.shape[-1] == 4:
                axes.imshow(panel)
                axes.set_axis_off()
                axes.set_title(title, y=1.0)  # fixed y: skips the per-draw bbox search
            else:
                _draw_image(axes, panel, title, cmap)
        if suptitle:
            figure.suptitle(suptitle)
    return figure


# --------------------------------------------------------------------------------------------- curves
def _history_dict(history) -> dict[str, list[float]]:
    """``{metric: [value per epoch]}`` from a dict, a Keras ``History`` or a ``training.TrainingResult``."""
    values = getattr(history, "history", history)
    if not isinstance(values, Mapping) or not values:
        raise ValueError("history must be a non-empty dict of metric -> values per epoch, a keras History "
                         f"or a training result; got {type(history).__name__}")
    curves = {str(name): [float(value) for value in series] for name, series in values.items()}
    lengths = {len(series) for series in curves.values()}
    if len(lengths) != 1 or 0 in lengths:
        raise ValueError(f"history must hold one value per epoch for every metric; got lengths "
                         f"{ {name: len(series) for name, series in curves.items()} }")
    return curves


def _metric_names(curves: Mapping[str, list], metrics) -> list[str]:
    """Base metric names to plot (``loss`` first), each present as ``name`` and/or ``val_name``."""
    available = list(dict.fromkeys(name.removeprefix(VALIDATION_PREFIX) for name in curves))
    available.sort(key=lambda name: name != "loss")
    if metrics is None:
        return available
    metrics = [metrics] if isinstance(metrics, str) else list(metrics)
    unknown = [name for name in metrics if name.removeprefix(VALIDATION_PREFIX) not in available]
    if unknown or not metrics:
        raise ValueError(f"metrics must be names from the history {available}; got {metrics}")
    return [name.removeprefix(VALIDATION_PREFIX) for name in metrics]


def learning_curves(history, metrics=None, title=None) -> Figure:
    """Training vs validation curves, one axes per metric (loss first), x = epoch (1-based).

    history: dict ``{"loss": [...], "val_loss": [...], "accuracy": [...], ...}``, a Keras ``History`` or a
    ``training.TrainingResult``. metrics: names to show (default all; ``"val_x"`` means ``"x"``). Up to 3 axes
    per row; the best validation epoch is marked with a dot.
    """
    curves = _history_dict(history)
    names = _metric_names(curves, metrics)
    epochs = np.arange(1, len(next(iter(curves.values()))) + 1)
    rows, columns = _grid_shape(len(names), None, default_columns=3)
    with style_context():
        figure = plt.figure(figsize=(4.6 * columns, 3.4 * rows), layout="constrained")
        for index, name in enumerate(names):
            axes = figure.add_subplot(rows, columns, index + 1)
            _draw_metric(axes, epochs, name, curves)
        if title:
            figure.suptitle(title)
    return figure


def _draw_metric(axes, epochs: np.ndarray, name: str, curves: Mapping[str, list]) -> None:
    """Plot ``name`` (training) and ``val_name`` (validation) against ``epochs`` on ``axes``."""
    if name in curves:
        axes.plot(epochs, curves[name], marker="o", markersize=3, label="training")
    validation = curves.get(VALIDATION_PREFIX + name)
    if validation is not None:
        axes.plot(epochs, validation, marker="o", markersize=3, label="validation")
        if not all(math.isnan(value) for value in validation):
            pick = np.nanargmax if any(word in name for word in ("acc", "auc", "precision", "recall")) else np.nanargmin
            best = int(pick(validation))
            axes.plot(epochs[best], validation[best], "o", color="black", markersize=6, label=f"best (epoch {best + 1})")
    axes.set_title(name)
    axes.set_xlabel("epoch")
    axes.set_ylabel(name)
    axes.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    axes.legend()


# --------------------------------------------------------------------------------------------- numbers
def comparison_bars(labels, values_a, values_b, label_a: str = "book", label_b: str = "companion", title=None,
                    ylabel=None, value_format: str = "{:.3g}", figsize=None) -> Figure:
    """Grouped bars comparing two sets of numbers per label, e.g. the source chapter's results vs ours.

    labels: ``K`` names; values_a, values_b: ``K`` numbers each (None or NaN = not reported: no bar, "n/a").
    Each bar is annotated with ``value_format``. figsize: default ``(max(5, 1.3 K + 2), 4)`` inches.
    """
    labels = [str(label) for label in labels]
    first, second = _bar_values(values_a, "values_a", len(labels)), _bar_values(values_b, "values_b", len(labels))
    if not labels:
        raise ValueError("labels must hold at least one name")
    positions, width = np.arange(len(labels)), 0.38
    with style_context():
        figure, axes = plt.subplots(figsize=figsize or (max(5.0, 1.3 * len(labels) + 2), 4.0), layout="constrained")
        for offset, values, name in ((-width / 2, first, label_a), (width / 2, second, label_b)):
            bars = axes.bar(positions + offset, np.nan_to_num(values), width, label=name)
            annotations = ["n/a" if math.isnan(value) else value_format.format(value) for value in values]
            axes.bar_label(bars, labels=annotations, padding=2, fontsize=9)
        axes.set_xticks(positions, labels)
        axes.grid(axis="x", visible=False)
        axes.legend()
        if ylabel:
            axes.set_ylabel(ylabel)
        if title:
            axes.set_title(title, y=1.0)  # fixed y: skips the per-draw bbox search
    return figure


def _bar_values(values, name: str, count: int) -> np.ndarray:
    """``values`` as ``count`` floats (None → NaN); ``ValueError`` naming ``name`` for a wrong length or type."""
    if isinstance(values, str) or not isinstance(values, (Sequence, np.ndarray)):
        raise ValueError(f"{name} must be a sequence of {count} numbers; got {type(values).__name__}")
    try:
        numbers = np.array([math.nan if value is None else float(value) for value in values], dtype=float)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must hold numbers (or None); {error}") from error
    if numbers.shape != (count,):
        raise ValueError(f"{name} must have one value per label ({count}); got {len(numbers)}")
    return numbers
