"""Execute chapter notebooks in parallel into Jupyter Book's execution cache.

``jupyter-book build`` (MyST-NB, ``execute_notebooks: cache``) executes notebooks one after the other. This script
fills the same cache (``<build>/.jupyter_cache``, jupyter-cache's SQLite store) with one worker process per CPU
core first, so the build then finds every notebook cached and only renders. A notebook that fails here is simply
not cached: the build executes it again and reports the error as usual, so nothing is hidden.

Usage (what ``make book`` and the site test run)::

    python tools/preexecute.py --cache _build/.jupyter_cache notebooks/[0-9]*.ipynb

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, required=True, help="the build's .jupyter_cache folder")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per cell (as _config.yml)")
    parser.add_argument("--serial", action="store_true", help="one notebook at a time (default: one per core)")
    parser.add_argument("notebooks", type=Path, nargs="+")
    arguments = parser.parse_args(argv)
    missing = [str(path) for path in arguments.notebooks if not path.is_file()]
    if missing:
        parser.error(f"no such notebook: {', '.join(missing)}")
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    started = time.perf_counter()
    outcome = preexecute(arguments.cache, arguments.notebooks, arguments.timeout, not arguments.serial)
    seconds = time.perf_counter() - started
    print(f"pre-executed {len(outcome['succeeded'])} notebook(s) in {seconds:.0f} s "
          f"({'serial' if arguments.serial else 'parallel'}); not cached: {len(outcome['excepted']) + len(outcome['errored'])} "
          "(the build executes those again and reports their errors)")
    for uri in outcome["excepted"] + outcome["errored"]:
        print(f"  not cached: {uri}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
