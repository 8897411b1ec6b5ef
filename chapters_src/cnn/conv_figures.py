"""Figures for the convolution-arithmetic chapter: grids of input, kernel taps and output, drawn with matplotlib.

Every function returns a ``matplotlib.figure.Figure`` (or draws on the given axes) and never calls ``plt.show``,
so the same drawing serves the live JupyterLab demo, the static-site frames and the tests.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import to_rgb

from .conv_arithmetic import conv_output_size, padding_amounts, receptive_field_size

INPUT_COLOR = "#dbe9f6"
PADDING_COLOR = "#f2f2f2"
TAP_COLOR = "#2b7bba"
OUTPUT_COLOR = "#d9f0d3"
SELECTED_COLOR = "#1b7837"


def _grid(ax, origin_x, size, cell_colors, edge="#888888", origin_y=0.0):
    """Draw a ``size``×``size`` grid of unit cells, lower-left corner at (origin_x, origin_y); row 0 is the top.

    One image plus two line collections (not one patch per cell), so that drawing stays fast for big grids.
    Returns the ``size``×``size`` list of hex colours it drew (what the tests inspect)."""
    colours = [[cell_colors(row, col) for col in range(size)] for row in range(size)]
    pixels = np.array([[to_rgb(colour) for colour in row] for row in colours])
    extent = (origin_x, origin_x + size, origin_y, origin_y + size)
    ax.imshow(pixels, extent=extent, interpolation="nearest", origin="upper", zorder=1)
    lines = np.arange(size + 1)
    ax.vlines(origin_x + lines, origin_y, origin_y + size, colors=edge, linewidth=0.8, zorder=2)
    ax.hlines(origin_y + lines, origin_x, origin_x + size, colors=edge, linewidth=0.8, zorder=2)
    return colours


def draw_convolution(input_size: int = 5, kernel_size: int = 3, stride: int = 1, padding="valid", dilation: int = 1,
                     output_position: tuple[int, int] = (0, 0), ax=None):
    """Draw a 2-D convolution: padded input (left), the kernel taps of one output cell, the output grid (right).

    Input cells are blue, padding grey, the ``k×k`` taps feeding ``output_position`` (row, col) dark blue (spread
    ``dilation`` apart), the output ``m×m`` green with the selected cell dark green. Returns the Figure.
    """
    output_size = conv_output_size(input_size, kernel_size, stride=stride, padding=padding, dilation=dilation)
    row_out, col_out = output_position
    if not (0 <= row_out < output_size and 0 <= col_out < output_size):
        raise ValueError(f"output_position must lie in [0, {output_size}) on both axes; got {output_position}")
    before, after = padding_amounts(input_size, kernel_size, stride, padding, dilation)
    padded = before + input_size + after
    taps = {(row_out * stride + i * dilation, col_out * stride + j * dilation)
            for i in range(kernel_size) for j in range(kernel_size)}

    def input_color(row, col):
        if (row, col) in taps:
            return TAP_COLOR
        inside = before <= row < before + input_size and before <= col < before + input_size
        return INPUT_COLOR if inside else PADDING_COLOR

    def output_color(row, col):
        return SELECTED_COLOR if (row, col) == (row_out, col_out) else OUTPUT_COLOR

    figure = None
    if ax is None:
        figure, ax = plt.subplots(figsize=(6.4, 3.4))
    gap = 2
    input_colours = _grid(ax, 0, padded, input_color)
    output_colours = _grid(ax, padded + gap, output_size, output_color, origin_y=(padded - output_size) / 2)
    ax.cell_colours = {"input": input_colours, "output": output_colours}   # for tests and curious readers
    ax.annotate("", xy=(padded + gap - 0.2, padded / 2), xytext=(padded + 0.2, padded / 2),
                arrowprops={"arrowstyle": "->", "color": "#444444"})
    ax.set_xlim(-0.5, padded + gap + output_size + 0.5)
    ax.set_ylim(-0.5, padded + 0.5)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(f"n={input_size}, k={kernel_size}, s={stride}, p={padding!r}, d={dilation}  →  "
                 f"{output_size}×{output_size} output", fontsize=10)
    return figure if figure is not None else ax.figure


def draw_dilation_patterns(kernel_size: int = 3, dilations=(1, 2, 4)):
    """Yu & Koltun (2016), Fig. 1 style: taps of one ``k×k`` kernel at each dilation, with the receptive field
    of the stack so far shaded. Stacking 3×3 kernels with dilations 1, 2, 4 gives receptive fields 3, 7, 15."""
    fields = [receptive_field_size([kernel_size] * (i + 1), dilations=list(dilations[: i + 1]))
              for i in range(len(dilations))]
    size = fields[-1] + 2
    centre = size // 2
    figure, axes = plt.subplots(1, len(dilations), figsize=(3.2 * len(dilations), 3.4))
    for ax, dilation, field in zip(np.atleast_1d(axes), dilations, fields):
        half_field, half_kernel = field // 2, (kernel_size // 2) * dilation
        taps = {(centre + i, centre + j) for i in range(-half_kernel, half_kernel + 1, dilation)
                for j in range(-half_kernel, half_kernel + 1, dilation)}

        def color(row, col):
            if (row, col) in taps:
                return "#d7301f"
            if abs(row - centre) <= half_field and abs(col - centre) <= half_field:
                return "#a1d99b"
            return "white"

        ax.cell_colours = _grid(ax, 0, size, color, edge="#cccccc")
        ax.set_xlim(0, size)
        ax.set_ylim(0, size)
        ax.set_aspect("equal")
        ax.axis("off")
        ax.set_title(f"dilation {dilation}: receptive field {field}×{field}", fontsize=10)
    figure.suptitle("Red: the kernel's taps. Green: what the stack has seen so far.", fontsize=10)
    return figure


def draw_receptive_field_growth(kernel_size: int = 2, depth: int = 10):
    """Receptive field against depth for a plain stack (dilation 1, linear growth) and a WaveNet-style stack
    (dilations 1, 2, 4, …, exponential growth); kernel 2 and depth 10 reach 11 vs 1,024 samples."""
    layers = np.arange(1, depth + 1)
    plain = [receptive_field_size([kernel_size] * n) for n in layers]
    dilated = [receptive_field_size([kernel_size] * n, dilations=[2 ** i for i in range(n)]) for n in layers]
    figure, ax = plt.subplots(figsize=(6.4, 3.6))
    ax.plot(layers, plain, "o-", label="plain (dilation 1)")
    ax.plot(layers, dilated, "s-", label="dilated 1, 2, 4, …")
    ax.set_yscale("log", base=2)
    ax.set_xlabel("number of layers")
    ax.set_ylabel("receptive field (samples)")
    ax.set_title(f"kernel size {kernel_size}: receptive field after {depth} layers = {plain[-1]} vs {dilated[-1]}")
    ax.legend()
    ax.grid(alpha=0.3)
    return figure


def draw_dilated_1d(kernel_size: int = 2, dilations=(1, 2, 4, 8), highlight: int | None = None):
    """WaveNet Fig. 3 style: stacked causal dilated 1-D convolutions and the inputs the last output depends on."""
    length = receptive_field_size([kernel_size] * len(dilations), dilations=list(dilations)) + 3
    highlight = length - 1 if highlight is None else highlight
    figure, ax = plt.subplots(figsize=(min(0.45 * length + 1, 12), 0.9 * len(dilations) + 1.2))
    active = {highlight}
    for level in range(len(dilations), 0, -1):
        dilation = dilations[level - 1]
        below = {t - i * dilation for t in active for i in range(kernel_size) if t - i * dilation >= 0}
        for t in active:
            for source in (t - i * dilation for i in range(kernel_size)):
                if source >= 0:
                    ax.plot([source, t], [level - 1, level], color="#d7301f", linewidth=1.2)
        active = below
        ax.text(-1.2, level, f"d={dilation}", ha="right", va="center", fontsize=9)
    for level in range(len(dilations) + 1):
        ax.scatter(range(length), [level] * length, s=18, color="#bbbbbb", zorder=3)
    ax.scatter(sorted(active), [0] * len(active), s=30, color="#d7301f", zorder=4)
    ax.text(-1.2, 0, "input", ha="right", va="center", fontsize=9)
    ax.set_xlim(-4, length)
    ax.axis("off")
    ax.set_title(f"kernel {kernel_size}, dilations {list(dilations)}: the last output sees {len(active)} inputs")
    return figure
