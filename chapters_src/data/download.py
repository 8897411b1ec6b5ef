"""Cache locations, file hashes and the verified download (temporary file, check, atomic rename).

Three cache roots, each read from the environment at call time:

- :func:`keras_home`      ``$KERAS_HOME`` (default ``~/.keras``): Keras' own files, in ``datasets/``.
- :func:`tfds_data_dir`   ``$TFDS_DATA_DIR`` (default ``~/tensorflow_datasets``): data prepared by tfds.
- :func:`cache_dir`       ``$CHAPTERS_DATA_DIR`` (default ``~/.cache/chapters_src``): our own downloads.
"""
from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import os
import tempfile
import urllib.error
from pathlib import Path
from typing import Callable, Sequence

from .errors import ChecksumMismatchError, DownloadError
from .network import opener_for

CHUNK_BYTES = 1 << 20
DOWNLOAD_TIMEOUT_S = 30.0
_ALGORITHM_BY_LENGTH = {32: "md5", 64: "sha256"}


def _env_path(variable: str, default: Path) -> Path:
    """``Path($variable)`` with ``~`` expanded, or ``default`` when unset or empty."""
    value = os.environ.get(variable, "").strip()
    return Path(value).expanduser() if value else default


def keras_home() -> Path:
    """Keras' cache root: ``$KERAS_HOME`` or ``~/.keras`` (dataset files live in ``<root>/datasets``)."""
    return _env_path("KERAS_HOME", Path.home() / ".keras")


def tfds_data_dir() -> Path:
    """Where tfds keeps prepared datasets: ``$TFDS_DATA_DIR`` or ``~/tensorflow_datasets``."""
    return _env_path("TFDS_DATA_DIR", Path.home() / "tensorflow_datasets")


def cache_dir() -> Path:
    """The companion's own download cache: ``$CHAPTERS_DATA_DIR`` or ``~/.cache/chapters_src`` (not created)."""
    return _env_path("CHAPTERS_DATA_DIR", Path.home() / ".cache" / "chapters_src")


def checksum_algorithm(checksum: str) -> str:
    """``"md5"`` for 32 hex digits, ``"sha256"`` for 64 (Keras uses both); ``ValueError`` otherwise."""
    text = checksum.lower() if isinstance(checksum, str) else ""
    if len(text) not in _ALGORITHM_BY_LENGTH or any(c not in "0123456789abcdef" for c in text):
        raise ValueError(f"checksum must be 32 (md5) or 64 (sha256) hex digits; got {checksum!r}")
    return _ALGORITHM_BY_LENGTH[len(text)]


@dataclasses.dataclass(frozen=True)
class FileRecord:
    """One file a load used: absolute ``path``, size ``n_bytes`` and ``sha256`` (hex)."""

    path: Path
    n_bytes: int
    sha256: str

    @classmethod
    def of(cls, path: Path | str) -> "FileRecord":
        """Measure ``path`` (size and sha256)."""
        path = Path(path).resolve()
        return cls(path=path, n_bytes=path.stat().st_size, sha256=file_digest(path, "sha256"))


def file_digest(path: Path | str, algorithm: str = "sha256") -> str:
    """Hex digest of a file read in 1 MiB chunks (``algorithm``: ``"sha256"`` or ``"md5"``)."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def matches_checksum(path: Path, checksum: str) -> bool:
    """True when the file's md5/sha256 (chosen by the checksum's length) equals ``checksum``."""
    return file_digest(path, checksum_algorithm(checksum)) == checksum.lower()


def _fetch_to(url: str, handle, timeout: float) -> None:
    """Stream ``url`` into the open binary file ``handle``."""
    with opener_for(url).open(url, timeout=timeout) as response:
        for chunk in iter(lambda: response.read(CHUNK_BYTES), b""):
            handle.write(chunk)


def _download_one(url: str, destination: Path, checksum: str | None,
                  verify: Callable[[Path], None] | None, timeout: float) -> None:
    """Download ``url`` to a temporary file beside ``destination``, check it, then rename it into place."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(dir=destination.parent, prefix=f".{destination.name}.", suffix=".part",
                                         delete=False)
    temporary = Path(handle.name)
    try:
        with handle:
            _fetch_to(url, handle, timeout)
        if checksum is not None and not matches_checksum(temporary, checksum):
            got = file_digest(temporary, checksum_algorithm(checksum))
            raise ChecksumMismatchError(
                f"{url} sent a file whose {checksum_algorithm(checksum)} is {got}, expected {checksum}; "
                f"it was refused and not saved as {destination}")
        if verify is not None:
            verify(temporary)
        os.replace(temporary, destination)
    finally:
        temporary.unlink(missing_ok=True)


def download_verified(urls: Sequence[str], destination: Path, checksum: str | None = None,
                      verify: Callable[[Path], None] | None = None,
                      timeout: float = DOWNLOAD_TIMEOUT_S) -> FileRecord:
    """Download the first URL that works to ``destination`` and return its :class:`FileRecord`.

    Each try writes a temporary file in the destination folder, checks ``checksum`` (md5 or sha256 hex) and/or
    calls ``verify(path)`` (which raises ``ValueError`` to refuse), and only then renames it over
    ``destination`` (``os.replace``, atomic): a failed or refused download never leaves a partial file there.
    Raises :class:`ChecksumMismatchError` when every URL sent wrong bytes, else :class:`DownloadError`.
    """
    if not urls:
        raise ValueError("urls must name at least one URL")
    failures: list[Exception] = []
    for url in urls:
        try:
            _download_one(url, Path(destination), checksum, verify, timeout)
            return FileRecord.of(destination)
        except (ChecksumMismatchError, urllib.error.URLError, OSError, ValueError) as error:
            failures.append(error if isinstance(error, ChecksumMismatchError) else
                            DownloadError(f"{url}: {type(error).__name__}: {error}"))
    if all(isinstance(error, ChecksumMismatchError) for error in failures):
        raise failures[-1]
    raise DownloadError(f"could not download {destination.name}: " + "; ".join(str(e) for e in failures))


def sidecar_path(path: Path) -> Path:
    """Where the hash recorded on first use of a file without a published checksum is kept."""
    return path.with_name(path.name + ".sha256.json")


def record_first_use(path: Path, source: str) -> FileRecord:
    """Write ``<file>.sha256.json`` (sha256, size, source, UTC date) and return the file's record."""
    record = FileRecord.of(path)
    sidecar_path(path).write_text(json.dumps({
        "sha256": record.sha256, "n_bytes": record.n_bytes, "source": source,
        "recorded_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }, indent=2))
    return record


def recorded_sha256(path: Path) -> str | None:
    """The sha256 recorded on first use of ``path``, or ``None`` when nothing (readable) was recorded."""
    try:
        return json.loads(sidecar_path(path).read_text())["sha256"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
