"""Real time series shipped inside statsmodels (no download): yearly sunspot numbers and weekly Mauna Loa CO₂.

- ``sunspots``: :class:`Series` of the yearly mean sunspot number, 1700–2008 (309 values, an ~11-year cycle).
- ``mauna_loa_co2``: :class:`Series` of weekly atmospheric CO₂ at Mauna Loa in ppm, 1958-03-29 → 2001-12-29 (2,284 weeks;
  the 59 missing weeks are filled by linear interpolation, as statsmodels' own examples do).

Both are real data ("packaged" provenance): statsmodels ships the CSV files and reads them without a network.
``statsmodels.datasets.get_rdataset`` is deliberately not used: it downloads.
"""
from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

from .registry import DatasetSpec, register
from .sources import PackagedSource


class Series(NamedTuple):
    """A univariate series: ``time`` ``(n,)`` (years as float64, or datetime64[D]), ``values`` float64 ``(n,)``,
    ``name`` and ``unit``."""

    time: np.ndarray
    values: np.ndarray
    name: str
    unit: str


def _statsmodels_file(module: str, filename: str) -> tuple[Path, ...]:
    """The CSV a statsmodels dataset module ships (found without importing statsmodels)."""
    import importlib.util

    spec = importlib.util.find_spec("statsmodels")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("statsmodels is not installed: it ships the sunspots and co2 series")
    return (Path(list(spec.submodule_search_locations)[0]) / "datasets" / module / filename,)


def sunspots_files() -> tuple[Path, ...]:
    return _statsmodels_file("sunspots", "sunspots.csv")


def co2_files() -> tuple[Path, ...]:
    return _statsmodels_file("co2", "co2.csv")


def load_sunspots() -> Series:
    """Yearly mean sunspot numbers 1700–2008 (309 values) from statsmodels' ``sunspots.csv``."""
    table = np.genfromtxt(sunspots_files()[0], delimiter=",", names=True)
    return Series(table["YEAR"].astype("float64"), table["SUNACTIVITY"].astype("float64"), "sunspots",
                  "mean sunspot number")


def load_co2() -> Series:
    """Weekly Mauna Loa CO₂ (ppm) 1958-03-29 → 2001-12-29, 2,284 weeks, gaps linearly interpolated."""
    with open(co2_files()[0], encoding="utf-8") as handle:
        rows = [line.strip().split(",") for line in handle.read().splitlines()[1:] if line.strip()]
    stamps = [row[0].strip('"') for row in rows]                       # YYYYMMDD
    dates = np.array([f"{d[:4]}-{d[4:6]}-{d[6:8]}" for d in stamps], dtype="datetime64[D]")
    values = np.array([float(row[1]) if len(row) > 1 and row[1] not in ("", "NA") else np.nan for row in rows])
    missing = np.isnan(values)
    positions = np.arange(len(values))
    values[missing] = np.interp(positions[missing], positions[~missing], values[~missing])
    return Series(dates, values, "co2", "ppm")


def register_series() -> None:
    """Register ``sunspots`` and ``mauna_loa_co2`` (packaged real data)."""
    register(DatasetSpec(
        name="sunspots", description="yearly mean sunspot numbers 1700–2008 (statsmodels sunspots.csv)",
        structure="Series(time float64 years (309,), values float64 (309,), name, unit)",
        source=PackagedSource(load_sunspots, sunspots_files, "yearly mean sunspot numbers 1700–2008, shipped with "
                                                             "statsmodels (datasets/sunspots/sunspots.csv)"),
        substitute=None), replace=True)
    register(DatasetSpec(
        name="mauna_loa_co2", description="weekly Mauna Loa CO₂ 1958–2001 in ppm (statsmodels co2.csv)",
        structure="Series(time datetime64[D] (2284,), values float64 ppm (2284,), name, unit)",
        source=PackagedSource(load_co2, co2_files, "weekly Mauna Loa CO₂ 1958-03-29 → 2001-12-29, shipped with "
                                                   "statsmodels (datasets/co2/co2.csv), 59 gaps interpolated"),
        substitute=None), replace=True)
