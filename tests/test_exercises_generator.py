"""The solution → exercise notebook generator, on the fixture chapter
tests/fixtures/exercises/01-sliding-windows.ipynb.

Fixture cells (ids): fixture-01 setup (tagged exercise-setup, has an output), fixture-02 chapter code (not
copied), fixture-04 the '## Exercises' heading, fixture-06/09/12/15 solution cells, fixture-07/10/13/16 checks.
"""
from __future__ import annotations

import copy
import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from chapters_src import exercises
from chapters_src.exercises import (
    SolutionNotebookError,
    build_exercise_notebook,
    checker_exercise_names,
    exercise_path_for,
    find_chapter_notebooks,
    render_notebook,
    stub_solutions,
)

FIXTURE = Path(__file__).parent / "fixtures" / "exercises" / "01-sliding-windows.ipynb"
REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def chapter():
    """A fresh copy of the fixture chapter notebook (nbformat node)."""
    return nbformat.read(str(FIXTURE), as_version=4)


@pytest.fixture
def generated(chapter):
    """The exercise notebook generated from the fixture, by cell id."""
    notebook = build_exercise_notebook(chapter, FIXTURE.name)
    return notebook, {cell.id: cell for cell in notebook.cells}


def cell_by_id(notebook, cell_id):
    """The cell of ``notebook`` with id ``cell_id``."""
    return next(cell for cell in notebook.cells if cell.id == cell_id)


def build_error(notebook) -> str:
    """Generate from a broken notebook and return the SolutionNotebookError message."""
    with pytest.raises(SolutionNotebookError) as caught:
        build_exercise_notebook(notebook, "01-broken.ipynb")
    return str(caught.value)


# ---- what the exercise notebook holds ------------------------------------------------------------

def test_stubs_replace_solution_blocks_and_markers_are_gone(generated):
    notebook, cells = generated
    text = "\n".join(cell.source for cell in notebook.cells)
    assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text
    for solution_code in ("10 - 3 + 1", "np.array([0.5, 0.5])", "np.maximum(values, 0.0)", "threshold = 3.0"):
        assert solution_code not in text
    assert cells["fixture-06"].source == "output_length = None  # ✎ your answer here\nprint(output_length)"
    assert cells["fixture-09"].source.splitlines()[1:] == [
        "kernel = None  # ✎ your answer here", "averaged = None  # ✎ your answer here"]
    assert cells["fixture-12"].source.endswith('"""\n    return None  # ✎ your answer here')


def test_setup_cells_come_first_then_the_whole_exercises_section(generated, chapter):
    notebook, _ = generated
    ids = [cell.id for cell in notebook.cells]
    heading = next(i for i, cell in enumerate(chapter.cells) if cell.source.startswith("## Exercises"))
    assert ids == ["exercises-header", "fixture-01"] + [cell.id for cell in chapter.cells[heading:]]
    assert notebook.cells[0].source.startswith("# Exercises: Sliding windows (a fixture chapter)")
    assert "python -m pytest --nbval-lax notebooks/exercises/01-sliding-windows.ipynb" in notebook.cells[0].source
    assert cell_by_id(notebook, "fixture-07").source == cell_by_id(chapter, "fixture-07").source  # checks unchanged


def test_outputs_counts_and_execution_metadata_are_cleared(generated):
    notebook, _ = generated
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.id
        assert not {"execution", "collapsed", "ExecuteTime"} & set(cell.metadata), cell.id
    assert notebook.metadata == {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python",
                                                "name": "python3"}, "language_info": {"name": "python"}}


def test_tags_hide_input_removed_from_stubs_and_setup_tag_dropped(generated, chapter):
    notebook, cells = generated
    for cell in notebook.cells:
        assert "hide-input" not in cell.metadata.get("tags", []), cell.id
        assert "exercise-setup" not in cell.metadata.get("tags", []), cell.id
    assert "hide-input" in cell_by_id(chapter, "fixture-06").metadata.tags  # the source is not modified
    assert "### BEGIN SOLUTION" in cell_by_id(chapter, "fixture-06").source


def test_rendering_is_deterministic_sorted_and_valid(chapter):
    first = render_notebook(build_exercise_notebook(chapter, FIXTURE.name))
    second = render_notebook(build_exercise_notebook(copy.deepcopy(chapter), FIXTURE.name))
    assert first == second and first.endswith("}\n")
    assert first == json.dumps(json.loads(first), sort_keys=True, indent=1, ensure_ascii=False) + "\n"
    nbformat.validate(nbformat.reads(first, as_version=4))


# ---- author mistakes give clear errors -----------------------------------------------------------

def test_a_missing_stub_is_an_error_naming_the_cell(chapter):
    cell = cell_by_id(chapter, "fixture-06")
    cell.source = cell.source.replace(" (stub: output_length = None)", "")
    message = build_error(chapter)
    assert "fixture-06" in message and "needs a stub" in message and "(stub: output_width = None)" in message
    cell.source = cell.source.replace("### BEGIN SOLUTION", "### BEGIN SOLUTION (stub:   )")
    assert "needs a stub" in build_error(chapter)


@pytest.mark.parametrize(
    "edit, phrase",
    [
        (lambda source: source.replace("### END SOLUTION", ""), "never closed"),
        (lambda source: source.replace("### BEGIN SOLUTION (stub: output_length = None)", ""), "without a '### BEGIN"),
        (lambda source: "### BEGIN SOLUTION (stub: x = None)\n" + source, "inside an open solution block"),
        (lambda source: source.replace("### END SOLUTION", "## END SOLUTION"), "malformed solution marker"),
        (lambda source: source.replace("output_length = None)", "output_length = = None)"), "not valid Python"),
    ],
    ids=["begin-without-end", "end-without-begin", "nested", "malformed", "stub-not-python"],
)
def test_unbalanced_or_malformed_markers_are_errors_naming_the_cell(chapter, edit, phrase):
    cell = cell_by_id(chapter, "fixture-06")
    cell.source = edit(cell.source)
    message = build_error(chapter)
    assert "fixture-06" in message and phrase in message, message


def test_a_solution_cell_without_hide_input_fails_with_how_to_fix(chapter):
    cell_by_id(chapter, "fixture-09").metadata.tags = []
    message = build_error(chapter)
    assert "fixture-09" in message and "'hide-input'" in message
    assert "python -m chapters_src.exercises generate --fix-tags" in message


@pytest.mark.parametrize(
    "cell_id, new_source, phrase, named_cell",
    [
        ("fixture-07", "print('no check here')", "a solution cell needs a check cell", "fixture-06"),
        ("fixture-16", "print('no check here')", "a solution cell needs a check cell", "fixture-15"),
        ("fixture-07", 'check_true("Exercise 1 (a)", True, "x")\ncheck_true("Exercise 1 (b)", True, "y")',
         "exactly one checker", "fixture-07"),
        ("fixture-10", 'check_true("Exercise 1 (output length)", averaged is not None, "an array")', "already used",
         "fixture-07"),
        ("fixture-10", 'check_true(name, averaged is not None, "an array")', "string literal", "fixture-10"),
        ("fixture-02", "### BEGIN SOLUTION (stub: x = None)\nx = 1\n### END SOLUTION", "only allowed in the",
         "fixture-02"),
        ("fixture-06", '### BEGIN SOLUTION (stub: n = None)\nn = 8\n### END SOLUTION\ncheck_equal("E", n, 8, "8")',
         "also calls a checker", "fixture-06"),
    ],
    ids=["no-check-cell", "last-without-check", "two-checkers", "duplicate-name", "name-not-literal",
         "marker-outside", "check-in-solution"],
)
def test_check_cell_conventions_are_enforced(chapter, cell_id, new_source, phrase, named_cell):
    cell_by_id(chapter, cell_id).source = new_source
    message = build_error(chapter)
    assert phrase in message and f"id '{named_cell}'" in message, message


def test_exercises_heading_missing_or_repeated(chapter):
    heading = cell_by_id(chapter, "fixture-04")
    heading.source = "## Exercises (again)\n\n" + heading.source
    chapter.cells.append(nbformat.v4.new_markdown_cell("## Exercises"))
    assert "keep one" in build_error(chapter)
    del chapter.cells[-1]
    heading.source = "## Practice"
    assert "no markdown cell starting with '## Exercises'" in build_error(chapter)


def test_stub_solutions_keeps_indentation_and_several_blocks():
    source = ("def f(x):\n    ### BEGIN SOLUTION (stub: return None)\n    return x\n    ### END SOLUTION\n"
              "### BEGIN SOLUTION (stub: shape = (None, None))\nshape = (2, 3)\n### END SOLUTION")
    assert stub_solutions(source) == ("def f(x):\n    return None  # ✎ your answer here\n"
                                      "shape = (None, None)  # ✎ your answer here")


def test_checker_exercise_names_reads_literals_and_survives_magics():
    assert checker_exercise_names('check_close("Ex 2", a, b, "w")\nexercises.check_true(exercise="Ex 3", '
                                  'condition=True, expected_in_words="w")') == ["Ex 2", "Ex 3"]
    assert checker_exercise_names('%time check_equal("Ex 4", a, b, "w")') == ["Ex 4"]
    assert checker_exercise_names("%matplotlib inline\n!ls\nprint(check)") == []


# ---- files, discovery and the command line -------------------------------------------------------

@pytest.fixture
def project(tmp_path):
    """A temporary project root with the fixture chapter and two notebooks that have no exercises."""
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    shutil.copy(FIXTURE, notebooks / FIXTURE.name)
    plain = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# No exercises")])
    nbformat.write(plain, str(notebooks / "02-no-exercises.ipynb"))
    nbformat.write(plain, str(notebooks / "scratch.ipynb"))
    return tmp_path


def test_discovery_finds_numbered_chapters_with_exercises(project):
    assert find_chapter_notebooks(project) == [project / "notebooks" / FIXTURE.name]
    assert exercise_path_for(Path("notebooks/01-a.ipynb")) == Path("notebooks/exercises/01-a.ipynb")


def test_generate_then_check_and_detect_stale_missing_and_orphan_files(project, capsys):
    target = project / "notebooks" / "exercises" / FIXTURE.name
    root = ["--root", str(project)]
    assert exercises.main(["generate", "--check", *root]) == 1
    assert "missing" in capsys.readouterr().err
    assert exercises.main(["generate", *root]) == 0 and target.exists()
    assert exercises.main(["generate", "--check", *root]) == 0
    target.write_text(target.read_text().replace("# ✎ your answer here", "# edited"))
    assert exercises.main(["generate", "--check", *root]) == 1
    error = capsys.readouterr().err
    assert str(target) in error and "out of date" in error and "python -m chapters_src.exercises generate" in error
    exercises.main(["generate", *root])
    shutil.copy(target, target.with_name("09-renamed.ipynb"))
    assert exercises.main(["generate", "--check", *root]) == 1
    assert "09-renamed.ipynb has no chapter notebook" in capsys.readouterr().err


def test_explicit_notebooks_and_fix_tags(project, capsys):
    chapter_path = project / "notebooks" / FIXTURE.name
    notebook = nbformat.read(str(chapter_path), as_version=4)
    cell_by_id(notebook, "fixture-12").metadata.tags = []
    nbformat.write(notebook, str(chapter_path))
    assert exercises.main(["generate", str(chapter_path)]) == 1
    assert "fixture-12" in capsys.readouterr().err
    assert exercises.main(["generate", "--fix-tags", str(chapter_path)]) == 0
    assert "added tag 'hide-input'" in capsys.readouterr().out
    assert "hide-input" in cell_by_id(nbformat.read(str(chapter_path), as_version=4), "fixture-12").metadata.tags
    assert exercises.main(["generate", "--check", str(chapter_path)]) == 0


def test_command_line_module_entry_point(project, monkeypatch):
    command = [sys.executable, "-m", "chapters_src.exercises", "generate"]
    result = subprocess.run(command, cwd=project, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "wrote notebooks/exercises/01-sliding-windows.ipynb" in result.stdout
    assert exercises.main(["generate", "--check", "--root", str(project)]) == 0
    monkeypatch.chdir(project / "notebooks")
    with pytest.raises(SystemExit) as caught:
        exercises.main(["generate"])
    assert caught.value.code == 2
