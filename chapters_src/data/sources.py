"""Where a dataset's real data comes from: a URL (+ checksum), a tfds name, a manual file, or a package.

Each source class has ``describe()`` (one line for provenance) and ``fetch(name)``, which returns a
:class:`Fetched` (the bound reader, the kind, the files used and why) or raises :class:`NotAvailable`
(the registry then substitutes) or :class:`~chapters_src.data.errors.CorruptCacheError` (never substituted).
"""
from __future__ import annotations

import dataclasses
import functools
import importlib
from pathlib import Path
from typing import Any, Callable, Mapping

from .download import (FileRecord, cache_dir, checksum_algorithm, download_verified, keras_home,
                       matches_checksum, record_first_use, recorded_sha256, tfds_data_dir)
from .errors import CorruptCacheError
from .network import network_available, network_reason, offline_forced

LOCATIONS = ("keras", "chapters")


class NotAvailable(Exception):
    """Internal: the real data cannot be had right now; ``str(error)`` says why (for provenance)."""


@dataclasses.dataclass(frozen=True)
class Fetched:
    """What a source produced: ``read()`` returns the data; ``kind`` is downloaded/cached/packaged."""

    read: Callable[..., Any]
    kind: str
    files: tuple[FileRecord, ...]
    reason: str
    path: Path | None = None
    n_bytes: int | None = None  # set when ``files`` is not hashed (a whole tfds folder)


def online_for(url: str) -> bool:
    """May we use the network for ``url`` now? False under ``CHAPTERS_OFFLINE`` without opening a socket."""
    return not offline_forced() and network_available(url=url)


@dataclasses.dataclass(frozen=True)
class RemoteFile:
    """One downloadable file.

    ``checksum``: the publisher's md5 or sha256 hex. Without one, ``verify(path)`` (raising ``ValueError``)
    checks size/statistics, and the sha256 of the first file accepted is recorded beside it
    (``<file>.sha256.json``); a later change of the file is then treated as corruption.
    ``location``: ``"keras"`` → ``$KERAS_HOME/datasets/<filename>``; ``"chapters"`` → ``$CHAPTERS_DATA_DIR/<filename>``.
    """

    url: str
    filename: str
    checksum: str | None = None
    location: str = "keras"
    mirrors: tuple[str, ...] = ()
    verify: Callable[[Path], None] | None = None

    def __post_init__(self):
        if self.location not in LOCATIONS:
            raise ValueError(f"location must be one of {', '.join(LOCATIONS)}; got {self.location!r}")
        if self.checksum is not None:
            checksum_algorithm(self.checksum)
        if not self.filename or "/" in self.filename:
            raise ValueError(f"filename must be a plain file name; got {self.filename!r}")

    def local_path(self) -> Path:
        """Cache path, from the environment at call time."""
        root = keras_home() / "datasets" if self.location == "keras" else cache_dir()
        return root / self.filename

    def cache_problem(self, path: Path) -> str | None:
        """``None`` if the cached ``path`` is good, else what is wrong with it (in words)."""
        if self.checksum is not None:
            if matches_checksum(path, self.checksum):
                return None
            return f"its {checksum_algorithm(self.checksum)} differs from the published {self.checksum}"
        recorded = recorded_sha256(path)
        if recorded is not None:
            current = FileRecord.of(path).sha256
            return None if current == recorded else f"its sha256 {current} differs from {recorded} recorded on first use"
        try:
            if self.verify is not None:
                self.verify(path)
        except ValueError as error:
            return f"it failed the content check: {error}"
        record_first_use(path, f"found in cache; expected source {self.url}")
        return None

    def download(self) -> FileRecord:
        """Download (verified, atomic) to :meth:`local_path`; record the hash if there is no checksum."""
        record = download_verified((self.url, *self.mirrors), self.local_path(), self.checksum, self.verify)
        if self.checksum is None:
            record_first_use(record.path, self.url)
        return record


def _corrupt_message(name: str, path: Path, problem: str, reason: str) -> str:
    """The error text for a corrupt cached file that cannot be replaced now."""
    return (f"{name}: cached file {path} is corrupt or partial ({problem}) and cannot be re-downloaded "
            f"({reason}). Delete it and re-run online, or set CHAPTERS_OFFLINE=1 and call "
            f"load({name!r}, prefer='substitute') to use the offline substitute.")


@dataclasses.dataclass(frozen=True)
class UrlSource:
    """Files fetched over HTTP(S) and cached; ``read(paths: tuple[Path, ...], **kwargs)`` parses them."""

    files: tuple[RemoteFile, ...]
    read: Callable[..., Any]
    description: str

    def describe(self) -> str:
        """The URLs, for provenance."""
        return " + ".join(remote.url for remote in self.files)

    def _obtain(self, name: str, remote: RemoteFile) -> tuple[FileRecord, bool]:
        """One file: ``(record, downloaded?)``; raises NotAvailable or CorruptCacheError."""
        path = remote.local_path()
        if path.exists():
            problem = remote.cache_problem(path)
            if problem is None:
                return FileRecord.of(path), False
            if not online_for(remote.url):
                raise CorruptCacheError(_corrupt_message(name, path, problem, network_reason(remote.url)))
            return remote.download(), True  # replaces the corrupt file atomically once the new one is verified
        if not online_for(remote.url):
            raise NotAvailable(network_reason(remote.url))
        return remote.download(), True

    def fetch(self, name: str) -> Fetched:
        """Use cached files whose checksum holds, download the others."""
        results = [self._obtain(name, remote) for remote in self.files]
        records = tuple(record for record, _ in results)
        downloaded = any(flag for _, flag in results)
        reason = ("downloaded, checksum verified" if downloaded else "found in cache, checksum verified")
        paths = tuple(record.path for record in records)
        return Fetched(functools.partial(self.read, paths), "downloaded" if downloaded else "cached",
                       records, reason, paths[0])


def _import_tfds():
    """Import tensorflow_datasets lazily (it imports TensorFlow: seconds). Tests replace this function."""
    return importlib.import_module("tensorflow_datasets")


@dataclasses.dataclass(frozen=True)
class TfdsSource:
    """A tfds dataset (``"mnist"``, ``"cifar10:3.0.2"``), prepared under ``$TFDS_DATA_DIR``.

    Prepared data is loaded with ``download=False``; downloading is only allowed after the network check
    passed, so tfds' long retry loop is never entered offline. ``read(tfds_output, **kwargs)`` converts.
    """

    name: str
    read: Callable[..., Any]
    description: str
    load_kwargs: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    probe_url: str = "https://storage.googleapis.com/"

    def describe(self) -> str:
        return f"tfds:{self.name}"

    def prepared_dir(self) -> Path | None:
        """The prepared dataset folder (one holding ``dataset_info.json``) or ``None``."""
        base, _, version = self.name.partition(":")
        folder = tfds_data_dir() / base
        if not folder.is_dir():
            return None
        infos = sorted(folder.rglob("dataset_info.json"))
        if version:
            infos = [info for info in infos if info.parent.name == version]
        return infos[0].parent if infos else None

    def fetch(self, name: str) -> Fetched:
        """Load prepared data without downloading, or download when the network check passed."""
        prepared = self.prepared_dir()
        if prepared is None and not online_for(self.probe_url):
            raise NotAvailable(network_reason(self.probe_url) + f"; not prepared in {tfds_data_dir()}")
        tfds = _import_tfds()
        output = tfds.load(self.name, data_dir=str(tfds_data_dir()), download=prepared is None,
                           **dict(self.load_kwargs))
        folder = prepared or self.prepared_dir()
        n_bytes = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) if folder else None
        kind, reason = (("cached", "prepared by tfds, loaded with download=False") if prepared
                        else ("downloaded", "downloaded and prepared by tfds"))
        # A prepared folder can hold gigabytes: its size is reported, its files are not hashed.
        return Fetched(functools.partial(self.read, output), kind, (), reason, folder, n_bytes)


@dataclasses.dataclass(frozen=True)
class ManualFileSource:
    """A file the reader places by hand at ``$CHAPTERS_DATA_DIR/<one of filenames>`` (no stable public URL)."""

    filenames: tuple[str, ...]
    read: Callable[..., Any]
    description: str
    instructions: str

    def describe(self) -> str:
        return f"manual file {self.filenames[0]} placed at {cache_dir() / self.filenames[0]} ({self.instructions})"

    def fetch(self, name: str) -> Fetched:
        """Use the first of ``filenames`` present in the cache folder; never touches the network."""
        for filename in self.filenames:
            path = cache_dir() / filename
            if path.is_file():
                record = FileRecord.of(path)
                return Fetched(functools.partial(self.read, (record.path,)), "cached", (record,),
                               "manual file found in the cache folder", record.path)
        raise NotAvailable(f"no manual file {' or '.join(self.filenames)} in {cache_dir()}")


@dataclasses.dataclass(frozen=True)
class PackagedSource:
    """Real data shipped inside installed packages: ``load(**kwargs)``; ``files()`` lists the files used."""

    load: Callable[..., Any]
    files: Callable[[], tuple[Path, ...]]
    description: str

    def describe(self) -> str:
        return "files shipped inside installed packages"

    def fetch(self, name: str) -> Fetched:
        records = tuple(FileRecord.of(path) for path in self.files())
        return Fetched(self.load, "packaged", records, "shipped with installed packages, no download",
                       records[0].path if records else None)


@dataclasses.dataclass(frozen=True)
class Substitute:
    """Offline stand-in: ``make(**kwargs)`` returns data of the same structure; ``files()`` the files it reads."""

    make: Callable[..., Any]
    description: str
    files: Callable[[], tuple[Path, ...]] = lambda: ()
