"""Offline data: stand-ins built from files that installed packages ship, and the packaged sample photos.

Heavy imports (scikit-learn, scikit-image, matplotlib) happen inside the functions, so importing
``chapters_src.data`` stays fast.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import NamedTuple

import numpy as np

MNIST_TEST_SIZE = 297  # 1,797 digits → 1,500 train / 297 test, stratified, fixed seed


def digits_files() -> tuple[Path, ...]:
    """scikit-learn's bundled ``digits.csv.gz`` (found without importing scikit-learn, which costs ~2 s)."""
    import importlib.util

    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("scikit-learn is not installed: it ships the digits used as the MNIST substitute")
    return (Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data" / "digits.csv.gz",)


def _bilinear_resize(images: np.ndarray, size: int) -> np.ndarray:
    """Resize ``(n, h, w)`` images to ``(n, size, size)`` by bilinear interpolation on pixel centres (edge mode)."""
    n, height, width = images.shape
    rows = np.clip((np.arange(size) + 0.5) * height / size - 0.5, 0, height - 1)
    cols = np.clip((np.arange(size) + 0.5) * width / size - 0.5, 0, width - 1)
    r0, c0 = np.floor(rows).astype(int), np.floor(cols).astype(int)
    r1, c1 = np.minimum(r0 + 1, height - 1), np.minimum(c0 + 1, width - 1)
    fr, fc = (rows - r0)[None, :, None], (cols - c0)[None, None, :]
    top = images[:, r0][:, :, c0] * (1 - fc) + images[:, r0][:, :, c1] * fc
    bottom = images[:, r1][:, :, c0] * (1 - fc) + images[:, r1][:, :, c1] * fc
    return top * (1 - fr) + bottom * fr


def _stratified_split(labels: np.ndarray, test_size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train, test)`` with ``test_size`` test items spread over the classes in proportion."""
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(labels, return_counts=True)
    quotas = np.floor(counts * test_size / len(labels)).astype(int)
    remainder = test_size - quotas.sum()
    quotas[np.argsort(-(counts * test_size / len(labels) - quotas), kind="stable")[:remainder]] += 1
    test = np.concatenate([rng.permutation(np.flatnonzero(labels == c))[:q] for c, q in zip(classes, quotas)])
    train = np.setdiff1d(np.arange(len(labels)), test)
    return rng.permutation(train), rng.permutation(test)


def mnist_from_digits(*, test_size: int = MNIST_TEST_SIZE, split_seed: int = 0):
    """MNIST-shaped digits: ``((x_train, y_train), (x_test, y_test))``, x uint8 ``(n, 28, 28)`` in 0..255, y uint8.

    Each 8×8 scikit-learn digit (values 0..16, read from its bundled ``digits.csv.gz``) is scaled to 0..255 and
    resized (bilinear) to 20×20, then padded by 4 pixels to 28×28, the way MNIST centres 20×20 digits.
    Split: stratified by class, seeded by ``split_seed``.
    """
    if isinstance(test_size, bool) or not isinstance(test_size, int) or not 10 <= test_size <= 1_787:
        raise ValueError(f"test_size must be an integer in [10, 1787]; got {test_size!r}")
    table = np.loadtxt(digits_files()[0], delimiter=",", dtype="float64")
    images, labels = table[:, :64].reshape(-1, 8, 8) / 16.0, table[:, 64].astype("uint8")
    padded = np.pad(_bilinear_resize(images, 20), ((0, 0), (4, 4), (4, 4)))
    x = np.clip(np.rint(padded * 255.0), 0, 255).astype("uint8")
    train, test = _stratified_split(labels, test_size, split_seed)
    return (x[train], labels[train]), (x[test], labels[test])


def pydoc_topics_files() -> tuple[Path, ...]:
    """The standard library's ``pydoc_data/topics.py``."""
    import pydoc_data.topics

    return (Path(pydoc_data.topics.__file__),)


def pydoc_text(*, lower: bool = False, max_chars: int | None = None) -> str:
    """About 465,000 characters of English prose: Python's help topics, sorted by topic, blank-line separated."""
    import pydoc_data.topics

    if max_chars is not None and (isinstance(max_chars, bool) or not isinstance(max_chars, int) or max_chars < 1):
        raise ValueError(f"max_chars must be a positive integer or None; got {max_chars!r}")
    topics = pydoc_data.topics.topics
    text = "\n\n".join(topics[key] for key in sorted(topics))
    text = text.lower() if lower else text
    return text[:max_chars] if max_chars else text


class DailyPrices(NamedTuple):
    """Daily closing prices: ``dates`` datetime64[D] ``(n,)`` ascending, ``close`` float64 ``(n,)``, ``symbol``."""

    dates: np.ndarray
    close: np.ndarray
    symbol: str


def goog_files() -> tuple[Path, ...]:
    """matplotlib's ``sample_data/goog.npz``."""
    import matplotlib

    return (Path(matplotlib.get_data_path()) / "sample_data" / "goog.npz",)


def goog_prices() -> DailyPrices:
    """GOOG daily closes, 1,047 trading days 2004-08-19 → 2008-10-14, from ``cbook.get_sample_data('goog.npz')``."""
    from matplotlib import cbook

    prices = cbook.get_sample_data("goog.npz")["price_data"]
    order = np.argsort(prices["date"], kind="stable")
    return DailyPrices(prices["date"][order].astype("datetime64[D]"), prices["close"][order].astype("float64"),
                       "GOOG")


PHOTO_NAMES = ("astronaut", "chelsea", "rocket", "coffee", "china", "flower")


def photo_files() -> tuple[Path, ...]:
    """The six image files: four in scikit-image's ``data/``, two in scikit-learn's ``datasets/images/``."""
    import skimage
    import sklearn.datasets

    skimage_data = Path(skimage.__file__).parent / "data"
    sklearn_images = Path(sklearn.datasets.__file__).parent / "images"
    return (skimage_data / "astronaut.png", skimage_data / "chelsea.png", skimage_data / "rocket.jpg",
            skimage_data / "coffee.png", sklearn_images / "china.jpg", sklearn_images / "flower.jpg")


def sample_photos(*, names: tuple[str, ...] | list[str] | None = None) -> dict[str, np.ndarray]:
    """Real photos shipped with scikit-image and scikit-learn: name → uint8 ``(height, width, 3)`` RGB.

    astronaut 512×512, chelsea 300×451, rocket 427×640, coffee 400×600, china 427×640, flower 427×640.
    ``names`` picks a subset (default: all six, in :data:`PHOTO_NAMES` order).
    """
    import skimage.data
    from sklearn.datasets import load_sample_image

    chosen = PHOTO_NAMES if names is None else tuple(names)
    unknown = [name for name in chosen if name not in PHOTO_NAMES]
    if unknown or not chosen:
        raise ValueError(f"names must be a non-empty subset of {', '.join(PHOTO_NAMES)}; got {names!r}")
    loaders = {name: getattr(skimage.data, name) for name in PHOTO_NAMES[:4]}
    loaders.update(china=lambda: load_sample_image("china.jpg"), flower=lambda: load_sample_image("flower.jpg"))
    return {name: np.ascontiguousarray(loaders[name]()[..., :3], dtype="uint8") for name in chosen}


def python_version_note() -> str:
    """The interpreter whose pydoc topics were used (the text differs slightly between Python versions)."""
    return f"Python {sys.version_info.major}.{sys.version_info.minor}"
