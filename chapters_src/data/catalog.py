"""The datasets the first chapters need, registered once with real source, cache location and substitute.

Real-source facts come from the installed Keras (``keras/src/datasets/mnist.py``, ``imdb.py``: URLs and
hashes) and from the source chapters (War and Peace as Karpathy's ``warpeace_input.txt``; ``^DJI.csv``).
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from . import imdb, series, substitutes
from .registry import DatasetSpec, register
from .sources import ManualFileSource, PackagedSource, RemoteFile, Substitute, UrlSource

KERAS_DATASETS_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
MNIST_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
IMDB_SHA256 = "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"
IMDB_WORD_INDEX_MD5 = "bfafd718b763782e994055a2d397834f"
WAR_AND_PEACE_URL = "https://cs.stanford.edu/people/karpathy/char-rnn/warpeace_input.txt"
WAR_AND_PEACE_GUTENBERG_URL = "https://www.gutenberg.org/files/2600/2600-0.txt"
WAR_AND_PEACE_OPENING = "Well, Prince, so Genoa and Lucca are now just family estates"
WAR_AND_PEACE_BYTES = (3_000_000, 3_700_000)


def read_mnist(paths: tuple[Path, ...]):
    """Keras' ``mnist.npz`` → ``((x_train, y_train), (x_test, y_test))``: x uint8 (60,000|10,000, 28, 28), y uint8."""
    with np.load(paths[0], allow_pickle=False) as archive:
        return (archive["x_train"], archive["y_train"]), (archive["x_test"], archive["y_test"])


def strip_gutenberg(text: str) -> str:
    """Drop a Project Gutenberg header, table of contents and licence footer; other text is returned unchanged."""
    start, end = text.find("*** START OF"), text.find("*** END OF")
    if start < 0:
        return text
    body = text[text.index("\n", start) + 1:end if end > start else None]
    opening = body.find(WAR_AND_PEACE_OPENING)
    return body[body.rfind("\n", 0, opening) + 1:] if opening >= 0 else body.strip()


def _char_text(raw: str, lower: bool, max_chars: int | None) -> str:
    """Normalise line endings, strip Gutenberg boilerplate, optionally lower-case and truncate."""
    if max_chars is not None and (isinstance(max_chars, bool) or not isinstance(max_chars, int) or max_chars < 1):
        raise ValueError(f"max_chars must be a positive integer or None; got {max_chars!r}")
    text = strip_gutenberg(raw.replace("\r\n", "\n").replace("\r", "\n"))
    text = text.lower() if lower else text
    return text[:max_chars] if max_chars else text


def verify_war_and_peace(path: Path) -> None:
    """``ValueError`` unless ``path`` looks like War and Peace: 3.0–3.7 MB of UTF-8 holding the opening line,
    with at most 120 distinct lower-case characters (the source reports 57 for Karpathy's copy)."""
    size = path.stat().st_size
    if not WAR_AND_PEACE_BYTES[0] <= size <= WAR_AND_PEACE_BYTES[1]:
        raise ValueError(f"{path.name} has {size:,} bytes, expected {WAR_AND_PEACE_BYTES[0]:,}–{WAR_AND_PEACE_BYTES[1]:,}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(f"{path.name} is not UTF-8 text: {error}") from None
    if WAR_AND_PEACE_OPENING not in text.replace("\r\n", "\n").replace("\n", " "):
        raise ValueError(f"{path.name} does not contain the opening line {WAR_AND_PEACE_OPENING!r}")
    distinct = len(set(text.lower()))
    if distinct > 120:
        raise ValueError(f"{path.name} has {distinct} distinct lower-case characters, expected at most 120")


def read_war_and_peace(paths: tuple[Path, ...], *, lower: bool = False, max_chars: int | None = None) -> str:
    """The novel as one ``str`` (BOM kept as in the source chapter, ``\\n`` line ends); ``lower`` as the chapter does."""
    return _char_text(paths[0].read_text(encoding="utf-8"), lower, max_chars)


def read_yahoo_csv(paths: tuple[Path, ...]) -> substitutes.DailyPrices:
    """Yahoo Finance CSV (Date, Open, High, Low, Close, Adj Close, Volume) → dates + Close; ``null`` rows dropped."""
    with open(paths[0], newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    if not rows or not {"Date", "Close"} <= set(rows[0]):
        raise ValueError(f"{paths[0]} is not a Yahoo Finance CSV: it needs Date and Close columns")
    kept = [row for row in rows if row["Close"] not in ("", "null", None)]
    dates = np.array([row["Date"] for row in kept], dtype="datetime64[D]")
    close = np.array([float(row["Close"]) for row in kept], dtype="float64")
    order = np.argsort(dates, kind="stable")
    symbol = Path(paths[0]).stem.lstrip("^").upper()
    return substitutes.DailyPrices(dates[order], close[order], symbol)


def _url_specs() -> list[DatasetSpec]:
    """mnist, imdb and char_corpus: downloadable sources."""
    mnist = DatasetSpec(
        name="mnist", description="MNIST, 70,000 handwritten digits 28×28 uint8 (Keras mnist.npz)",
        structure="((x_train, y_train), (x_test, y_test)): x uint8 (n, 28, 28) in 0..255, y uint8 digits 0..9",
        source=UrlSource((RemoteFile(KERAS_DATASETS_URL + "mnist.npz", "mnist.npz", MNIST_SHA256),), read_mnist,
                         "MNIST, 60,000 + 10,000 handwritten digits 28×28 uint8 (Keras mnist.npz)"),
        substitute=Substitute(substitutes.mnist_from_digits, "scikit-learn digits (1,797 8×8) upsampled to 28×28 "
                              "(1,500 train / 297 test)", substitutes.digits_files))
    imdb_spec = DatasetSpec(
        name="imdb", description="IMDB movie reviews, 25,000 + 25,000 labelled (Keras imdb.npz + word index)",
        structure="ImdbData((x_train, y_train), (x_test, y_test), word_index): x object arrays of int lists "
                  "(Keras conventions: 0 pad, 1 start, 2 oov, index_from=3), y int64 0/1",
        source=UrlSource((RemoteFile(KERAS_DATASETS_URL + "imdb.npz", "imdb.npz", IMDB_SHA256),
                          RemoteFile(KERAS_DATASETS_URL + "imdb_word_index.json", "imdb_word_index.json",
                                     IMDB_WORD_INDEX_MD5)), imdb.read_real,
                         "IMDB movie reviews, 25,000 + 25,000 labelled (Keras imdb.npz + imdb_word_index.json)"),
        substitute=Substitute(imdb.make_synthetic, "synthetic reviews (seeded generator, hand-written word lists, "
                              "negations and a verdict sentence decide the label), Keras IMDB conventions"))
    char_corpus = DatasetSpec(
        name="char_corpus", description="War and Peace, ~3.2 MB English text (Karpathy's warpeace_input.txt)",
        structure="str: the whole text (kwargs lower=False, max_chars=None)",
        source=UrlSource((RemoteFile(WAR_AND_PEACE_URL, "warpeace_input.txt", None, "chapters",
                                     (WAR_AND_PEACE_GUTENBERG_URL,), verify_war_and_peace),), read_war_and_peace,
                         "War and Peace, ~3.2 MB English text (Karpathy's char-rnn warpeace_input.txt)"),
        substitute=Substitute(substitutes.pydoc_text, "Python's pydoc_data/topics.py help text (~465,000 characters "
                              f"of English prose, {substitutes.python_version_note()})", substitutes.pydoc_topics_files))
    return [mnist, imdb_spec, char_corpus]


def _local_specs() -> list[DatasetSpec]:
    """daily_prices (manual file) and sample_photos (packaged)."""
    daily_prices = DatasetSpec(
        name="daily_prices", description="Dow Jones Industrial Average daily closes 2001–2017 (Yahoo ^DJI.csv)",
        structure="DailyPrices(dates datetime64[D] (n,), close float64 (n,), symbol str)",
        source=ManualFileSource(("DJI.csv", "^DJI.csv"), read_yahoo_csv,
                                "DJIA daily closes 2001-01-02 → 2017-12-29 (Yahoo Finance ^DJI.csv, 4,276 rows)",
                                "download ^DJI daily history 2001-01-01 to 2017-12-31 from Yahoo Finance by hand"),
        substitute=Substitute(substitutes.goog_prices, "matplotlib goog.npz: GOOG daily closes, 1,047 days "
                              "2004-08-19 → 2008-10-14", substitutes.goog_files))
    sample_photos = DatasetSpec(
        name="sample_photos", description="six real photos (skimage astronaut, chelsea, rocket, coffee; "
                                          "scikit-learn china, flower)",
        structure="dict name → uint8 (height, width, 3) RGB; kwarg names=... picks a subset",
        source=PackagedSource(substitutes.sample_photos, substitutes.photo_files,
                              "six real photos shipped with scikit-image (astronaut, chelsea, rocket, coffee) and "
                              "scikit-learn (china, flower)"),
        substitute=None)
    return [daily_prices, sample_photos]


def register_builtin() -> None:
    """Register every built-in dataset (replacing earlier registrations of the same names)."""
    for spec in _url_specs() + _local_specs():
        register(spec, replace=True)
    series.register_series()  # sunspots, mauna_loa_co2 (statsmodels' packaged series; the RNN chapter)
    from . import media; media.register()  # noqa: E702  breakbeat, audio_tones, moving_shapes, sort_of_clevr (CNNs beyond still images)
    from . import faces, glyphs, letters  # new-trends chapters: notMNIST letters, ORL faces, Omniglot glyphs
    letters.register_letters(); faces.register_faces(); glyphs.register_glyphs()
    from . import scenes; scenes.register()  # noqa: E702 - localization, segmentation and detection scenes
