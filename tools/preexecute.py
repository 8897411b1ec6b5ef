"""Execute chapter notebooks in parallel into Jupyter Book's execution cache.

``jupyter-book build`` (MyST-NB, ``execute_notebooks: cache``) executes notebooks one after the other. This script
fills the same cache (``<build>/.jupyter_cache``, jupyter-cache's SQLite store) with one worker process per CPU
core first, so the build then finds every notebook cached and only renders. A notebook that fails here is simply
not cached: the build executes it again and reports the error as usual, so nothing is hidden.

Usage (what ``make book`` and the site test run)::

    python tools/preexecute.py --cache _build/.jupyter_cache notebooks/[0-9]*.ipynb
    python tools/preexecute.py --cache DIR --recorded _build/tested-notebooks notebooks/[0-9]*.ipynb

``--recorded FOLDER``: notebooks already executed elsewhere (the nbval run of ``make test`` writes them, see
``notebooks/conftest.py``) go into the cache as they are when their code cells equal the source's; only the others
are executed.

The environment (``CHAPTERS_PROFILE``, ``CHAPTERS_OFFLINE``) is inherited by the kernels. Timings: see README.
"""
from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path


def preexecute(cache_path: Path, notebooks: list[Path], timeout: int, parallel: bool = True) -> dict[str, list[str]]:
    """Execute ``notebooks`` that are not cached yet into the cache at ``cache_path``; returns their outcome.

    ``parallel``: jupyter-cache's ``local-parallel`` executor (a pool of one process per CPU core), else serial.
    """
    from jupyter_cache import get_cache
    from jupyter_cache.executors import load_executor

    cache = get_cache(str(cache_path))
    uris = []
    for notebook in notebooks:
        record = cache.add_nb_to_project(str(notebook.resolve()))
        uris.append(record.uri)
    logger = logging.getLogger("preexecute")
    kind = "local-parallel" if parallel and len(uris) > 1 else "local-serial"
    executor = load_executor(kind, cache=cache, logger=logger)
    result = executor.run_and_cache(filter_uris=uris, timeout=timeout, allow_errors=False)
    return {"succeeded": list(result.succeeded), "excepted": list(result.excepted),
            "errored": list(result.errored)}


def cache_recorded(cache_path: Path, notebooks: list[Path], folder: Path) -> tuple[list[Path], list[Path]]:
    """Cache the executed copies in ``folder`` of ``notebooks``; returns (cached, still to execute).

    A copy is used only when its code cells are exactly the source's (the cache matches notebooks by them anyway).
    """
    import nbformat
    from jupyter_cache import get_cache

    cache = get_cache(str(cache_path))
    cached, remaining = [], []
    for notebook in notebooks:
        recorded = folder / notebook.name
        if recorded.is_file():
            source = nbformat.read(notebook, as_version=4)
            executed = nbformat.read(recorded, as_version=4)
            codes = [[cell.source for cell in nb.cells if cell.cell_type == "code"] for nb in (source, executed)]
            if codes[0] == codes[1]:
                cache.cache_notebook_file(str(recorded), uri=str(notebook.resolve()), check_validity=False,
                                          overwrite=True)
                cached.append(notebook)
                continue
        remaining.append(notebook)
    return cached, remaining


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, required=True, help="the build's .jupyter_cache folder")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per cell (as _config.yml)")
    parser.add_argument("--serial", action="store_true", help="one notebook at a time (default: one per core)")
    parser.add_argument("--recorded", type=Path, help="folder of notebooks executed elsewhere (e.g. by nbval)")
    parser.add_argument("notebooks", type=Path, nargs="+")
    arguments = parser.parse_args(argv)
    missing = [str(path) for path in arguments.notebooks if not path.is_file()]
    if missing:
        parser.error(f"no such notebook: {', '.join(missing)}")
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    started = time.perf_counter()
    notebooks = arguments.notebooks
    if arguments.recorded is not None:
        cached, notebooks = cache_recorded(arguments.cache, notebooks, arguments.recorded)
        print(f"cached {len(cached)} notebook(s) executed before (from {arguments.recorded}); "
              f"executing {len(notebooks)}")
        for notebook in notebooks:
            print(f"  to execute: {notebook}")
        if not notebooks:
            return 0
    outcome = preexecute(arguments.cache, notebooks, arguments.timeout, not arguments.serial)
    seconds = time.perf_counter() - started
    print(f"pre-executed {len(outcome['succeeded'])} notebook(s) in {seconds:.0f} s "
          f"({'serial' if arguments.serial else 'parallel'}); not cached: {len(outcome['excepted']) + len(outcome['errored'])} "
          "(the build executes those again and reports their errors)")
    for uri in outcome["excepted"] + outcome["errored"]:
        print(f"  not cached: {uri}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
