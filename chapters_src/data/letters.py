"""notMNIST letters A–J: the real ``notMNIST_small`` archive, or a notMNIST-like set rendered from the fonts that
ship with matplotlib (deterministic, no download).

``data.load("notmnist").data`` is ``(x, y)``: x uint8 ``(n, 28, 28)`` in 0..255 (white letter on black, like
MNIST), y uint8 ``0..9`` for the letters ``"ABCDEFGHIJ"`` (:data:`LETTERS`).

Real source: Yaroslav Bulatov's notMNIST (``notMNIST_small.tar.gz``, 18,724 PNG files 28×28 in folders ``A/`` …
``J/``; the source chapter's text calls it "MNIST_small.tar.gz"). No checksum is published: the archive is
checked for its layout on first use and its sha256 is recorded then.
"""
from __future__ import annotations

import functools
import io
import tarfile
from pathlib import Path

import numpy as np

from .registry import DatasetSpec, register
from .sources import RemoteFile, Substitute, UrlSource

LETTERS = "ABCDEFGHIJ"
IMAGE_SIZE = 28
NOT_MNIST_SMALL_URL = "http://yaroslavvb.com/upload/notMNIST/notMNIST_small.tar.gz"
NOT_MNIST_MIRROR = "https://yaroslavvb.com/upload/notMNIST/notMNIST_small.tar.gz"
# Font files of matplotlib's mpl-data/fonts/ttf that have Latin capitals: sans, serif, mono, STIX, Computer Modern.
FONT_FILES = (
    "DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSans-BoldOblique.ttf",
    "DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf", "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf",
    "DejaVuSerif-Italic.ttf", "DejaVuSerif-BoldItalic.ttf", "STIXGeneral.ttf", "STIXGeneralBol.ttf",
    "STIXGeneralItalic.ttf", "STIXGeneralBolIta.ttf", "cmr10.ttf", "cmss10.ttf", "cmtt10.ttf", "cmb10.ttf",
    "cmti10.ttf",
)


def font_files() -> tuple[Path, ...]:
    """The matplotlib font files the generator renders with (all ship in ``mpl-data/fonts/ttf``)."""
    import matplotlib

    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    return tuple(folder / name for name in FONT_FILES)


@functools.lru_cache(maxsize=512)
def _glyph_bitmap(font_path: Path, letter: str, pixel_size: int) -> np.ndarray:
    """The anti-aliased glyph of ``letter`` as a read-only float array in 0..1, cropped to its ink (cached)."""
    from matplotlib.ft2font import FT2Font, LoadFlags

    font = FT2Font(str(font_path))
    font.set_size(pixel_size, 72)
    font.set_text(letter, 0.0, flags=LoadFlags.NO_HINTING)
    font.draw_glyphs_to_bitmap(antialiased=True)
    image = np.asarray(font.get_image(), dtype="float64") / 255.0
    rows, cols = np.flatnonzero(image.max(axis=1) > 0.05), np.flatnonzero(image.max(axis=0) > 0.05)
    glyph = image[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1].copy()
    glyph.flags.writeable = False
    return glyph


def render_letter(letter: str, font_path: Path, *, height: int = 24, width_scale: float = 1.0,
                  shift: tuple[int, int] = (0, 0), size: int = IMAGE_SIZE) -> np.ndarray:
    """One letter as uint8 ``(size, size)``: the glyph scaled to ``height`` pixels (wider or narrower by
    ``width_scale``, at most ``size`` wide), centred, then moved by ``shift`` = (rows, cols) and clipped."""
    from PIL import Image

    if letter not in LETTERS:
        raise ValueError(f"letter must be one of {LETTERS!r}; got {letter!r}")
    if not 4 <= height <= size:
        raise ValueError(f"height must be in [4, {size}]; got {height!r}")
    glyph = _glyph_bitmap(font_path, letter, 64)
    glyph_height, glyph_width = glyph.shape
    width = int(np.clip(round(glyph_width * height / glyph_height * width_scale), 2, size))
    resized = np.asarray(Image.fromarray((glyph * 255).astype("uint8")).resize((width, height), Image.BILINEAR))
    canvas = np.zeros((size, size), dtype="uint8")
    top = (size - height) // 2 + shift[0]
    left = (size - width) // 2 + shift[1]
    top, left = int(np.clip(top, 0, size - height)), int(np.clip(left, 0, size - width))
    canvas[top:top + height, left:left + width] = resized
    return canvas


def notmnist_like(*, per_class: int = 100, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A notMNIST-like set: ``per_class`` images of each letter A–J rendered from matplotlib's fonts.

    Every image draws a font (19 styles), a height of 18–28 pixels, a width scale of 0.75–1.3 and a shift of up
    to ±2 pixels from ``numpy.random.default_rng(seed)``, so the same arguments give the same pixels.
    Returns ``(x uint8 (10·per_class, 28, 28), y uint8)``, ordered A…A, B…B, ….
    """
    if isinstance(per_class, bool) or not isinstance(per_class, int) or not 1 <= per_class <= 10_000:
        raise ValueError(f"per_class must be an integer in [1, 10000]; got {per_class!r}")
    rng = np.random.default_rng(seed)
    fonts = font_files()
    images, labels = [], []
    for label, letter in enumerate(LETTERS):
        for _ in range(per_class):
            font = fonts[int(rng.integers(len(fonts)))]
            height = int(rng.integers(18, IMAGE_SIZE + 1))
            width_scale = float(rng.uniform(0.75, 1.3))
            shift = (int(rng.integers(-2, 3)), int(rng.integers(-2, 3)))
            images.append(render_letter(letter, font, height=height, width_scale=width_scale, shift=shift))
            labels.append(label)
    return np.stack(images), np.asarray(labels, dtype="uint8")


def verify_notmnist_archive(path: Path) -> None:
    """``ValueError`` unless ``path`` is a gzipped tar with PNG files under ``notMNIST_small/A/`` … ``J/``."""
    try:
        with tarfile.open(path, "r:gz") as archive:
            folders = {Path(name).parts[1] for name in archive.getnames()
                       if name.endswith(".png") and len(Path(name).parts) == 3}
    except (tarfile.TarError, OSError, EOFError) as error:
        raise ValueError(f"{path.name} is not a readable .tar.gz: {error}") from None
    if folders != set(LETTERS):
        raise ValueError(f"{path.name} should hold folders A–J of PNG files; found {sorted(folders)}")


def read_notmnist(paths: tuple[Path, ...]) -> tuple[np.ndarray, np.ndarray]:
    """``notMNIST_small.tar.gz`` → ``(x uint8 (n, 28, 28), y uint8)``, read with PIL; the few unreadable PNG files
    of the archive are skipped (the source chapter used ``scipy.ndimage.imread``, removed in SciPy 1.2)."""
    from PIL import Image, UnidentifiedImageError

    images, labels = [], []
    with tarfile.open(paths[0], "r:gz") as archive:
        for member in sorted(archive.getmembers(), key=lambda m: m.name):
            parts = Path(member.name).parts
            if not member.isfile() or not member.name.endswith(".png") or len(parts) != 3 or parts[1] not in LETTERS:
                continue
            try:
                with Image.open(io.BytesIO(archive.extractfile(member).read())) as image:
                    pixels = np.asarray(image.convert("L"), dtype="uint8")
            except (UnidentifiedImageError, OSError):
                continue
            if pixels.shape == (IMAGE_SIZE, IMAGE_SIZE):
                images.append(pixels)
                labels.append(LETTERS.index(parts[1]))
    return np.stack(images), np.asarray(labels, dtype="uint8")


def register_letters() -> None:
    """Register ``notmnist`` (real archive when online/cached; rendered letters offline)."""
    register(DatasetSpec(
        name="notmnist", description="notMNIST_small: 18,724 letters A–J, 28×28 grey PNG (Yaroslav Bulatov)",
        structure="(x, y): x uint8 (n, 28, 28) in 0..255, white on black; y uint8 0..9 for 'ABCDEFGHIJ' "
                  "(substitute kwargs: per_class=100, seed=0)",
        source=UrlSource((RemoteFile(NOT_MNIST_SMALL_URL, "notMNIST_small.tar.gz", None, "chapters",
                                     (NOT_MNIST_MIRROR,), verify_notmnist_archive),), read_notmnist,
                         "notMNIST_small: 18,724 letters A–J, 28×28 grey PNG (Yaroslav Bulatov, 2011)"),
        substitute=Substitute(notmnist_like, "letters A–J rendered from 19 fonts that ship with matplotlib "
                              "(DejaVu, STIX, Computer Modern), random height, width and shift, seeded",
                              font_files)), replace=True)
