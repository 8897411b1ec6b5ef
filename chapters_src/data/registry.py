"""The registry: :class:`DatasetSpec`, :func:`register`, :func:`load` and the provenance it returns."""
from __future__ import annotations

import dataclasses
import inspect
import re
import warnings
from pathlib import Path
from typing import Any, Callable, Union

from .download import FileRecord
from .errors import DownloadError, RealDataUnavailableError
from .sources import ManualFileSource, NotAvailable, PackagedSource, Substitute, TfdsSource, UrlSource

Source = Union[UrlSource, TfdsSource, ManualFileSource, PackagedSource]
KINDS = ("downloaded", "cached", "packaged", "substitute")
PREFERENCES = ("auto", "real", "substitute")
_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclasses.dataclass(frozen=True)
class Provenance:
    """Where loaded data came from.

    ``kind``: ``"downloaded"`` (fetched now, checksum verified), ``"cached"`` (real data found locally),
    ``"packaged"`` (real data shipped inside an installed package) or ``"substitute"`` (offline stand-in).
    ``path``/``n_bytes``/``sha256`` describe the primary file used (``None`` for generated data); ``files``
    lists every file used. ``source`` is always the real source; ``reason`` says why this kind was chosen.
    """

    name: str
    kind: str
    source: str
    description: str
    path: Path | None
    n_bytes: int | None
    sha256: str | None
    reason: str
    files: tuple[FileRecord, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """Plain dict (paths as strings) with name, kind, source, description, path, n_bytes, sha256, reason, files."""
        return {
            "name": self.name, "kind": self.kind, "source": self.source, "description": self.description,
            "path": None if self.path is None else str(self.path), "n_bytes": self.n_bytes,
            "sha256": self.sha256, "reason": self.reason,
            "files": [{"path": str(f.path), "n_bytes": f.n_bytes, "sha256": f.sha256} for f in self.files],
        }

    def __str__(self) -> str:
        """One readable line, e.g. ``mnist: substitute — ...; real source https://... (offline: ...)``."""
        if self.kind == "substitute":
            return f"{self.name}: substitute — {self.description}; real source {self.source} ({self.reason})"
        where = f"{self.path}" if self.path else "no file"
        size = f", {self.n_bytes:,} bytes" if self.n_bytes is not None else ""
        digest = f", sha256 {self.sha256[:12]}…" if self.sha256 else ""
        more = f" (+{len(self.files) - 1} more files)" if len(self.files) > 1 else ""
        return f"{self.name}: {self.kind} — {self.description}; {where}{size}{digest}{more} ({self.reason})"


@dataclasses.dataclass(frozen=True)
class Loaded:
    """The result of :func:`load`: ``data`` (structure documented per dataset) and its ``provenance``."""

    data: Any
    provenance: Provenance

    def __repr__(self) -> str:
        return f"Loaded(data=<{type(self.data).__name__}>, provenance={str(self.provenance)!r})"


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """One dataset: its ``name``, a one-line ``description`` of the real data, a ``structure`` docstring
    (what ``Loaded.data`` is), the real ``source`` (or ``None``) and an offline ``substitute`` (or ``None``)."""

    name: str
    description: str
    structure: str
    source: Source | None
    substitute: Substitute | None

    def __post_init__(self):
        if not isinstance(self.name, str) or not _NAME_PATTERN.match(self.name):
            raise ValueError(f"name must match {_NAME_PATTERN.pattern} (lower case, digits, _); got {self.name!r}")
        if self.source is None and self.substitute is None:
            raise ValueError(f"dataset {self.name!r} needs a source, a substitute, or both")
        if self.source is not None and not isinstance(self.source, Source.__args__):
            raise ValueError(f"source must be UrlSource, TfdsSource, ManualFileSource or PackagedSource; "
                             f"got {type(self.source).__name__}")

    def accepted_arguments(self) -> set[str]:
        """Keyword arguments :func:`load` accepts for this dataset (union of the real reader's and substitute's)."""
        names: set[str] = set()
        for function in _callables(self):
            names |= _keyword_names(function)
        return names


_REGISTRY: dict[str, DatasetSpec] = {}


def _callables(spec: DatasetSpec) -> list[Callable[..., Any]]:
    """The functions that receive load()'s keyword arguments."""
    functions = []
    if isinstance(spec.source, PackagedSource):
        functions.append(spec.source.load)
    elif spec.source is not None:
        functions.append(spec.source.read)
    if spec.substitute is not None:
        functions.append(spec.substitute.make)
    return functions


def _keyword_names(function: Callable[..., Any]) -> set[str]:
    """Names of keyword-capable parameters of ``function`` (readers' first, positional argument excluded)."""
    parameters = inspect.signature(function).parameters.values()
    return {p.name for p in parameters
            if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is not inspect.Parameter.empty}


def _call(function: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
    """Call ``function`` with the subset of ``kwargs`` it accepts (substitute-only arguments are dropped)."""
    accepted = _keyword_names(function)
    return function(**{key: value for key, value in kwargs.items() if key in accepted})


def register(spec: DatasetSpec, *, replace: bool = False) -> DatasetSpec:
    """Add ``spec`` to the registry; ``ValueError`` if the name is taken and ``replace`` is False."""
    if not isinstance(spec, DatasetSpec):
        raise ValueError(f"spec must be a DatasetSpec; got {type(spec).__name__}")
    if spec.name in _REGISTRY and not replace:
        raise ValueError(f"dataset {spec.name!r} is already registered (pass replace=True to override it)")
    _REGISTRY[spec.name] = spec
    return spec


def unregister(name: str) -> None:
    """Remove a registered dataset (tests and notebooks that registered a temporary one)."""
    get_spec(name)
    del _REGISTRY[name]


def available() -> list[str]:
    """Registered dataset names, sorted."""
    return sorted(_REGISTRY)


def get_spec(name: str) -> DatasetSpec:
    """The :class:`DatasetSpec` registered as ``name``; ``ValueError`` listing the registered names."""
    if name not in _REGISTRY:
        raise ValueError(f"unknown dataset name {name!r}; registered: {', '.join(available())}")
    return _REGISTRY[name]


def _substitute(spec: DatasetSpec, reason: str, kwargs: dict[str, Any]) -> Loaded:
    """Build the substitute and its provenance (``reason``: why the real data was not used)."""
    if spec.substitute is None:
        raise RealDataUnavailableError(f"{spec.name}: the real data is unavailable ({reason}) and no "
                                       f"substitute is registered")
    data = _call(spec.substitute.make, kwargs)
    records = tuple(FileRecord.of(path) for path in spec.substitute.files())
    primary = records[0] if records else None
    source = spec.source.describe() if spec.source is not None else "none registered"
    provenance = Provenance(spec.name, "substitute", source, spec.substitute.description,
                            primary and primary.path, primary and primary.n_bytes, primary and primary.sha256,
                            reason, records)
    return Loaded(data, provenance)


def _real(spec: DatasetSpec, kwargs: dict[str, Any]) -> Loaded:
    """Fetch and read the real data; raises NotAvailable, DownloadError or CorruptCacheError."""
    fetched = spec.source.fetch(spec.name)
    data = _call(fetched.read, kwargs)
    primary = fetched.files[0] if fetched.files else None
    n_bytes = fetched.n_bytes if fetched.n_bytes is not None else (primary and primary.n_bytes)
    provenance = Provenance(spec.name, fetched.kind, spec.source.describe(), spec.source.description,
                            fetched.path, n_bytes, primary and primary.sha256, fetched.reason, fetched.files)
    return Loaded(data, provenance)


def _check_arguments(spec: DatasetSpec, prefer: str, kwargs: dict[str, Any]) -> None:
    """``ValueError`` for a bad ``prefer`` or a keyword argument the dataset does not take."""
    if prefer not in PREFERENCES:
        raise ValueError(f"prefer must be one of {', '.join(PREFERENCES)}; got {prefer!r}")
    unknown = sorted(set(kwargs) - spec.accepted_arguments())
    if unknown:
        accepted = ", ".join(sorted(spec.accepted_arguments())) or "none"
        raise ValueError(f"unknown argument(s) {', '.join(unknown)} for dataset {spec.name!r}; accepted: {accepted}")
    if prefer == "substitute" and spec.substitute is None:
        raise ValueError(f"prefer='substitute' is not possible for {spec.name!r}: it has no substitute "
                         f"({spec.source.describe()}); use prefer='auto'")
    if prefer == "real" and spec.source is None:
        raise ValueError(f"prefer='real' is not possible for {spec.name!r}: no real source is registered")


def load(name: str, prefer: str = "auto", **kwargs: Any) -> Loaded:
    """Load dataset ``name`` and say where it came from.

    ``prefer="auto"``: real data if cached or downloadable now, else the substitute (reason recorded).
    ``prefer="real"``: real data or :class:`RealDataUnavailableError` / :class:`DownloadError`.
    ``prefer="substitute"``: the substitute, without looking at caches or the network.
    A corrupt cached file that cannot be re-downloaded raises :class:`CorruptCacheError` (auto and real).
    ``kwargs`` go to the dataset's reader or substitute (see each dataset's ``structure``); arguments only
    the substitute understands are ignored when real data is read.
    """
    spec = get_spec(name)
    _check_arguments(spec, prefer, kwargs)
    if prefer == "substitute":
        return _substitute(spec, "prefer='substitute'", kwargs)
    if spec.source is None:
        return _substitute(spec, "no real source registered", kwargs)
    try:
        return _real(spec, kwargs)
    except NotAvailable as unavailable:
        if prefer == "real":
            raise RealDataUnavailableError(
                f"{name}: prefer='real' but the real data ({spec.source.describe()}) is not available: "
                f"{unavailable}. Run once online without CHAPTERS_OFFLINE=1, or use prefer='auto'.") from None
        return _substitute(spec, str(unavailable), kwargs)
    except DownloadError as error:
        if prefer == "real":
            raise
        warnings.warn(f"{name}: download failed, using the substitute: {error}", RuntimeWarning, stacklevel=2)
        return _substitute(spec, f"download failed: {error}", kwargs)
