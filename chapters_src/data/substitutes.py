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
    """scikit-learn's bundled ``digits.csv.gz``."""
    import sklearn.datasets

    return (Path(sklearn.datasets.__file__).parent / "data" / "digits.csv.gz",)


def mnist_from_digits(*, test_size: int = MNIST_TEST_SIZE, split_seed: int = 0):
    """MNIST-shaped digits: ``((x_train, y_train), (x_test, y_test))``, x uint8 ``(n, 28, 28)`` in 0..255, y uint8.

    Each 8×8 scikit-learn digit (values 0..16) is scaled to 0..255 and resized (bilinear, skimage) to 20×20,
    then padded by 4 pixels to 28×28, the way MNIST centres 20×20 digits. Split: stratified, ``split_seed``.
    """
    from skimage.transform import resize
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    if isinstance(test_size, bool) or not isinstance(test_size, int) or not 10 <= test_size <= 1_787:
        raise ValueError(f"test_size must be an integer in [10, 1787]; got {test_size!r}")
    digits = load_digits()
    images = digits.images.astype("float64") / 16.0
    large = resize(images, (len(images), 20, 20), order=1, anti_aliasing=False, mode="edge")
    padded = np.pad(large, ((0, 0), (4, 4), (4, 4)))
    x = np.clip(np.rint(padded * 255.0), 0, 255).astype("uint8")
    y = digits.target.astype("uint8")
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=test_size, stratify=y,
                                                        random_state=split_seed)
    return (x_train, y_train), (x_test, y_test)


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
