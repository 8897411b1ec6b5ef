"""Offline-first data registry: every dataset with its real source, cache location and offline substitute.

Usage::

    from chapters_src import data
    loaded = data.load("mnist")                # Loaded(data=..., provenance=Provenance(...))
    print(loaded.provenance)                   # one line: kind, what, where, why
    data.load("imdb", prefer="real")           # RealDataUnavailableError offline instead of substituting

Registered now (``data.available()``), with what ``loaded.data`` is:

- ``mnist``: ``((x_train, y_train), (x_test, y_test))``, x uint8 ``(n, 28, 28)`` 0..255, y uint8. Real: Keras
  ``mnist.npz`` in ``$KERAS_HOME/datasets``. Substitute: scikit-learn digits upsampled to 28×28.
- ``imdb``: :class:`ImdbData` ``((x_train, y_train), (x_test, y_test), word_index)`` with Keras' conventions
  (kwargs ``num_words, skip_top, maxlen, seed, start_char, oov_char, index_from``; substitute only:
  ``num_reviews, generation_seed``). Substitute: seeded synthetic reviews. :func:`decode_review` reads them.
- ``char_corpus``: ``str`` (kwargs ``lower, max_chars``). Real: War and Peace in ``$CHAPTERS_DATA_DIR``.
  Substitute: Python's ``pydoc_data/topics.py`` prose.
- ``daily_prices``: :class:`DailyPrices` ``(dates datetime64[D], close float64, symbol)``. Real: a manual
  ``DJI.csv`` (or ``^DJI.csv``) from Yahoo Finance in ``$CHAPTERS_DATA_DIR``. Substitute: matplotlib ``goog.npz``.
- ``sample_photos``: ``dict`` name → uint8 ``(h, w, 3)``. Real photos shipped in scikit-image/scikit-learn:
  provenance kind ``"packaged"`` (real data, no download, nothing substituted).

Provenance kinds: ``downloaded`` (fetched now, checksum verified), ``cached`` (real data found locally),
``packaged`` (real data inside an installed package), ``substitute``. ``CHAPTERS_OFFLINE=1`` forbids any
network access; otherwise a HEAD request to the source host decides within 3 s (cached per process).
"""
from .download import FileRecord, cache_dir, keras_home, tfds_data_dir
from .errors import (ChecksumMismatchError, CorruptCacheError, DataError, DownloadError,
                     RealDataUnavailableError)
from .imdb import ImdbData, decode_review
from .network import network_available, offline_forced, reset_network_cache
from .registry import KINDS, PREFERENCES, DatasetSpec, Loaded, Provenance, available, get_spec, load, register, unregister
from .sources import ManualFileSource, PackagedSource, RemoteFile, Substitute, TfdsSource, UrlSource
from .substitutes import DailyPrices
from . import catalog as _catalog

_catalog.register_builtin()

__all__ = [
    "load", "available", "register", "unregister", "get_spec", "network_available", "reset_network_cache",
    "offline_forced", "cache_dir", "keras_home", "tfds_data_dir", "DatasetSpec", "Loaded", "Provenance",
    "FileRecord", "RemoteFile", "UrlSource", "TfdsSource", "ManualFileSource", "PackagedSource", "Substitute",
    "ImdbData", "DailyPrices", "decode_review", "KINDS", "PREFERENCES", "DataError", "CorruptCacheError",
    "DownloadError", "ChecksumMismatchError", "RealDataUnavailableError",
]
