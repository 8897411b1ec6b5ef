"""Keeps what nbval executed, so the book can be built from the very runs that were tested.

``make test`` runs every chapter notebook once, under ``pytest --nbval-lax`` in the smoke profile. With
``CHAPTERS_RECORD_NOTEBOOKS=<folder>`` set, this plugin writes each notebook whose cells all passed to
``<folder>/<name>.ipynb`` with the outputs nbval received and the widget state of its kernel (what nbclient stores
in ``metadata.widgets``). The site test (``tests/test_site.py``) puts those notebooks into the build's execution
cache, so the smoke book is rendered from them instead of executing every notebook a second time. A notebook with
a failing cell is not written: the build executes it again and reports its error.

Without the variable (a reader running nbval), this file does nothing.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pytest

RECORD_ENV = "CHAPTERS_RECORD_NOTEBOOKS"
WIDGET_STATE_MIME = "application/vnd.jupyter.widget-state+json"
_STATE_TIMEOUT_S = 120

# Executed in the notebook's kernel after its last cell: every live widget's embeddable state, as ipywidgets'
# own embedding (ipywidgets.embed) and nbclient write it. Nothing is written when ipywidgets was never imported.
_DUMP_WIDGET_STATE = """
def _chapters_dump_widget_state(path):
    import json, sys
    if "ipywidgets" not in sys.modules:
        return
    from ipywidgets import Widget
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(Widget.get_manager_state(drop_defaults=False), handle)
_chapters_dump_widget_state({path!r})
del _chapters_dump_widget_state
"""


def _record_folder() -> Path | None:
    folder = os.environ.get(RECORD_ENV)
    return Path(folder).resolve() if folder else None


def _is_nbval_cell(item) -> bool:
    return type(item).__name__ == "IPyNbCell" and hasattr(item, "cell_num")


def pytest_runtest_makereport(item, call):
    """Remember each executed cell's outputs, and whether any cell of its notebook failed."""
    if call.when != "call" or _record_folder() is None or not _is_nbval_cell(item):
        return
    notebook = item.parent
    outcomes = notebook.__dict__.setdefault("_chapters_cells", {})
    failed = call.excinfo is not None and not call.excinfo.errisinstance(pytest.skip.Exception)
    outcomes[item.cell_num] = (list(item.test_outputs or []), failed)


def _widget_state(notebook_item, scratch: Path) -> dict | None:
    kernel = getattr(notebook_item, "kernel", None)
    if kernel is None or not kernel.is_alive():
        return None
    scratch.unlink(missing_ok=True)
    message_id = kernel.execute_cell_input(_DUMP_WIDGET_STATE.format(path=str(scratch)), allow_stdin=False)
    kernel.await_idle(message_id, _STATE_TIMEOUT_S)
    if not scratch.is_file():
        return None
    state = json.loads(scratch.read_text(encoding="utf-8"))
    scratch.unlink()
    return state if state.get("state") else None


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item, nextitem):
    """After a notebook's last cell (its kernel still running): write the executed notebook."""
    folder = _record_folder()
    if folder is None or not _is_nbval_cell(item):
        return
    if nextitem is not None and nextitem.parent is item.parent:
        return
    notebook_item = item.parent
    cells = notebook_item.__dict__.get("_chapters_cells", {})
    source = nbformat.read(str(notebook_item.fspath), as_version=4)
    code_cells = [cell for cell in source.cells if cell.cell_type == "code"]
    target = folder / Path(str(notebook_item.fspath)).name
    target.unlink(missing_ok=True)
    if len(cells) != len(code_cells) or any(failed for _, failed in cells.values()):
        return  # not every cell ran and passed: the build executes this notebook itself
    folder.mkdir(parents=True, exist_ok=True)
    for number, cell in enumerate(code_cells):
        outputs, _ = cells[number]
        cell.outputs = [nbformat.from_dict(output) for output in outputs]
        for output in cell.outputs:
            if output.output_type == "execute_result":
                output["execution_count"] = number + 1
        cell.execution_count = number + 1
    state = _widget_state(notebook_item, folder / f".{target.stem}.widgets.json")
    if state is not None:
        source.metadata["widgets"] = {WIDGET_STATE_MIME: state}
    nbformat.validate(source)
    nbformat.write(source, str(target))
