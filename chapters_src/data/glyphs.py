"""Omniglot-style few-shot data: handwritten characters of many alphabets, few examples per character.

``data.load("omniglot").data`` is :class:`Glyphs` ``(images, labels, alphabets)``: images uint8 ``(n, 28, 28)``
(white strokes on black, like MNIST), labels int64 character class ``0 … C−1`` (unique over all alphabets),
alphabets int64 ``0 … A−1``.

Real source: tfds ``omniglot`` (Lake et al. 2015), split ``train`` ("background": 30 alphabets, 964 characters,
20 drawers each = 19,280 images of 105×105), reduced to 28×28 by area averaging. Used only when prepared under
``$TFDS_DATA_DIR`` or when the network is available.

Offline: :func:`synthetic_glyphs` draws ``n_alphabets`` × ``characters_per_alphabet`` random characters, each made
of 1–4 pen strokes (polylines through random control points whose style, straight or curvy, is shared by the
alphabet), and ``examples_per_character`` "drawers" per character (jittered control points, small rotation, scale,
shift and pen width), rendered anti-aliased with PIL. Deterministic for a given ``seed``.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .registry import DatasetSpec, register
from .sources import Substitute, TfdsSource

SIZE = 28


class Glyphs(NamedTuple):
    """Few-shot character data: ``images`` uint8 ``(n, 28, 28)``, ``labels`` and ``alphabets`` int64 ``(n,)``."""

    images: np.ndarray
    labels: np.ndarray
    alphabets: np.ndarray


def _stroke_points(rng: np.random.Generator, curvy: bool) -> np.ndarray:
    """Control points of one stroke in the unit square (3–5 points; curvy strokes get smoothed)."""
    count = int(rng.integers(3, 6))
    points = [rng.uniform(0.15, 0.85, size=2)]
    for _ in range(count - 1):
        step = rng.normal(0, 0.28, size=2)
        points.append(np.clip(points[-1] + step, 0.08, 0.92))
    points = np.array(points)
    if curvy:   # Chaikin corner cutting, twice: a smooth pen path through the same region
        for _ in range(2):
            q = 0.75 * points[:-1] + 0.25 * points[1:]
            r = 0.25 * points[:-1] + 0.75 * points[1:]
            points = np.vstack([points[:1], np.column_stack([q, r]).reshape(-1, 2), points[-1:]])
    return points


def _render(strokes, rng: np.random.Generator, jitter: float) -> np.ndarray:
    """One drawing of ``strokes`` by a random "drawer": jitter, rotation, scale, shift, pen width; 4× supersampled."""
    from PIL import Image, ImageDraw

    scale_up = 4
    canvas = Image.new("L", (SIZE * scale_up, SIZE * scale_up), 0)
    draw = ImageDraw.Draw(canvas)
    angle = np.deg2rad(rng.uniform(-12, 12))
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    scale, shift = rng.uniform(0.85, 1.1), rng.uniform(-0.05, 0.05, size=2)
    width = int(round(rng.uniform(1.6, 2.6) * scale_up))
    for points in strokes:
        moved = points + rng.normal(0, jitter, size=points.shape)
        moved = (moved - 0.5) @ rotation.T * scale + 0.5 + shift
        pixels = [tuple(p) for p in np.clip(moved, 0.02, 0.98) * SIZE * scale_up]
        draw.line(pixels, fill=255, width=width, joint="curve")
    small = canvas.resize((SIZE, SIZE), Image.BOX)
    return np.asarray(small, dtype="uint8")


def synthetic_glyphs(*, n_alphabets: int = 5, characters_per_alphabet: int = 20, examples_per_character: int = 20,
                     seed: int = 0) -> Glyphs:
    """Omniglot-like glyphs, generated (see the module docstring); classes numbered alphabet by alphabet."""
    for name, value, high in (("n_alphabets", n_alphabets, 100), ("characters_per_alphabet", characters_per_alphabet, 200),
                              ("examples_per_character", examples_per_character, 200)):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
            raise ValueError(f"{name} must be an integer in [1, {high}]; got {value!r}")
    images, labels, alphabets = [], [], []
    for alphabet in range(n_alphabets):
        style = np.random.default_rng([seed, alphabet])
        curvy, strokes_range = bool(style.random() < 0.5), (1, int(style.integers(2, 5)))
        for character in range(characters_per_alphabet):
            rng = np.random.default_rng([seed, alphabet, character])
            strokes = [_stroke_points(rng, curvy) for _ in range(int(rng.integers(strokes_range[0], strokes_range[1] + 1)))]
            for _ in range(examples_per_character):
                images.append(_render(strokes, rng, jitter=0.025))
                labels.append(alphabet * characters_per_alphabet + character)
                alphabets.append(alphabet)
    return Glyphs(np.stack(images), np.asarray(labels, "int64"), np.asarray(alphabets, "int64"))


def read_tfds_omniglot(dataset) -> Glyphs:
    """tfds ``omniglot`` (split ``train``, 105×105×3 black-on-white) → :class:`Glyphs` 28×28 white-on-black."""
    from PIL import Image

    images, labels, alphabets = [], [], []
    for example in dataset.as_numpy_iterator():
        grey = 255 - np.asarray(example["image"], dtype="float64").mean(axis=-1)
        small = Image.fromarray(np.clip(grey, 0, 255).astype("uint8")).resize((SIZE, SIZE), Image.BOX)
        images.append(np.asarray(small, dtype="uint8"))
        labels.append(int(example["label"]))
        alphabets.append(int(example["alphabet"]))
    return Glyphs(np.stack(images), np.asarray(labels, "int64"), np.asarray(alphabets, "int64"))


def register_glyphs() -> None:
    """Register ``omniglot`` (tfds when prepared or online; generated glyphs offline)."""
    register(DatasetSpec(
        name="omniglot", description="Omniglot background set: 964 characters of 30 alphabets × 20 drawers (tfds)",
        structure="Glyphs(images uint8 (n, 28, 28) white on black, labels int64 character, alphabets int64); "
                  "substitute kwargs: n_alphabets=5, characters_per_alphabet=20, examples_per_character=20, seed=0",
        source=TfdsSource("omniglot", read_tfds_omniglot, "Omniglot (Lake et al. 2015), tfds split 'train' "
                          "(background: 19,280 images 105×105), resized to 28×28", {"split": "train"}),
        substitute=Substitute(synthetic_glyphs, "synthetic glyphs: random 1–4-stroke characters per alphabet, "
                              "20 jittered drawings each, rendered with PIL, seeded")), replace=True)
