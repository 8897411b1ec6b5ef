"""Exceptions of the data registry. All subclass :class:`DataError` (a ``RuntimeError``)."""
from __future__ import annotations


class DataError(RuntimeError):
    """Base class of every error the data registry raises on purpose (argument errors are ``ValueError``)."""


class CorruptCacheError(DataError):
    """A cached file exists but its checksum (or recorded hash) is wrong, and it cannot be re-downloaded now."""


class DownloadError(DataError):
    """Every URL of a source failed (HTTP error, timeout, refused connection, ...)."""


class ChecksumMismatchError(DownloadError):
    """The server sent bytes whose checksum differs from the registered one; nothing was saved."""


class RealDataUnavailableError(DataError):
    """``prefer="real"`` was asked for, but the real data is neither cached nor downloadable now."""
