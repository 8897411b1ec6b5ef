"""Exercise notebooks across the repository, and the fixture chapter executed for real.

- sync: every committed notebooks/exercises/<name> equals what the generator makes from notebooks/<name>;
- checks are real (slow): every generated exercise notebook, run with its stubs in place, has every check
  cell raise ExerciseError naming its own exercise; for the first chapter (and the fixture) the reader's command
  ``python -m pytest --nbval-lax notebooks/exercises/<name>`` is run too and must fail with "not answered yet".

Chapter notebooks are discovered at collection time, so every future chapter is covered; while no chapter
notebook has an '## Exercises' section the repository-wide tests are skipped with that reason.
"""
from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from chapters_src.exercises import (
    build_exercise_notebook,
    checker_exercise_names,
    exercise_path_for,
    find_chapter_notebooks,
    problems_with_stubbed_run,
    render_notebook,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURE = Path(__file__).parent / "fixtures" / "exercises" / "01-sliding-windows.ipynb"
CELL_TIMEOUT_SECONDS = 600
GENERATE_COMMAND = "python -m chapters_src.exercises generate"


def chapter_parameters() -> list:
    """One pytest param per chapter notebook with exercises, or one skipped param saying there are none."""
    chapters = find_chapter_notebooks(REPO_ROOT)
    if not chapters:
        reason = "no notebooks/[0-9]*.ipynb with an '## Exercises' section yet"
        return [pytest.param(None, marks=pytest.mark.skip(reason=reason), id="no-chapter-with-exercises")]
    return [pytest.param(path, id=path.name) for path in chapters]


CHAPTERS = chapter_parameters()
CHAPTERS_WITH_READER_COMMAND_RUN = next((param.values[0] for param in CHAPTERS), None)


def execute(notebook, working_directory: Path):
    """Run a notebook in one kernel from this interpreter (errors recorded, not raised), smoke profile."""
    from nbclient import NotebookClient

    os.environ["CHAPTERS_PROFILE"] = "smoke"  # the kernel inherits this process's environment
    client = NotebookClient(copy.deepcopy(notebook), kernel_name="python3", timeout=CELL_TIMEOUT_SECONDS,
                            allow_errors=True, resources={"metadata": {"path": str(working_directory)}})
    return client.execute()


def run_reader_command(exercise_notebook: Path) -> subprocess.CompletedProcess:
    """The reader's documented command, run from the repository root."""
    command = [sys.executable, "-m", "pytest", "--nbval-lax", "-p", "no:cacheprovider", str(exercise_notebook)]
    environment = dict(os.environ, CHAPTERS_PROFILE="smoke")
    return subprocess.run(command, cwd=REPO_ROOT, env=environment, capture_output=True, text=True,
                          timeout=CELL_TIMEOUT_SECONDS)


def assert_reader_command_fails_on_stubs(exercise_notebook: Path) -> None:
    """nbval must fail on the stubbed notebook and show the 'not answered yet' message."""
    result = run_reader_command(exercise_notebook)
    output = result.stdout + result.stderr
    assert result.returncode != 0, f"--nbval-lax passed on the stubbed {exercise_notebook}:\n{output[-3000:]}"
    assert "ExerciseError" in output and "not answered yet" in output, output[-3000:]


# ---- repository-wide -----------------------------------------------------------------------------

@pytest.mark.parametrize("chapter_path", CHAPTERS)
def test_committed_exercise_notebook_is_in_sync(chapter_path):
    target = exercise_path_for(chapter_path)
    generated = render_notebook(build_exercise_notebook(nbformat.read(str(chapter_path), as_version=4),
                                                        chapter_path.name))
    assert target.exists(), f"{target.relative_to(REPO_ROOT)} is missing; run: {GENERATE_COMMAND}"
    if target.read_text(encoding="utf-8") != generated:  # no giant JSON diff: say what to do
        pytest.fail(f"{target.relative_to(REPO_ROOT)} differs from what {chapter_path.name} generates; "
                    f"run: {GENERATE_COMMAND}", pytrace=False)


def test_no_orphan_exercise_notebooks():
    chapters = {path.name for path in find_chapter_notebooks(REPO_ROOT)}
    orphans = [path.name for path in sorted((REPO_ROOT / "notebooks" / "exercises").glob("*.ipynb"))
               if path.name not in chapters]
    assert not orphans, f"exercise notebooks without a chapter notebook with exercises: {orphans}; delete them"


@pytest.mark.slow
@pytest.mark.parametrize("chapter_path", CHAPTERS)
def test_every_check_fails_on_the_stubs(chapter_path):
    exercise_notebook = build_exercise_notebook(nbformat.read(str(chapter_path), as_version=4), chapter_path.name)
    target = exercise_path_for(chapter_path)
    executed = execute(exercise_notebook, target.parent if target.parent.is_dir() else chapter_path.parent)
    problems = problems_with_stubbed_run(executed)
    assert not problems, f"{target.name} run with its stubs:\n- " + "\n- ".join(problems)
    assert target.exists(), f"{target.relative_to(REPO_ROOT)} is missing; run: {GENERATE_COMMAND}"
    if chapter_path == CHAPTERS_WITH_READER_COMMAND_RUN:
        # The reader's nbval command is one more full run per chapter; its mechanism is the same for every chapter
        # (and is also tested on the fixture below), so CI runs it on the first chapter only.
        assert_reader_command_fails_on_stubs(target)


# ---- the fixture chapter, executed ---------------------------------------------------------------

@pytest.fixture(scope="module")
def fixture_exercise_file(tmp_path_factory):
    """The fixture's exercise notebook, generated into <tmp>/notebooks/exercises/ like a real chapter."""
    chapter = nbformat.read(str(FIXTURE), as_version=4)
    target = tmp_path_factory.mktemp("project") / "notebooks" / "exercises" / FIXTURE.name
    target.parent.mkdir(parents=True)
    target.write_text(render_notebook(build_exercise_notebook(chapter, FIXTURE.name)), encoding="utf-8")
    return target


@pytest.mark.slow
def test_fixture_solution_notebook_passes_every_check():
    executed = execute(nbformat.read(str(FIXTURE), as_version=4), FIXTURE.parent)
    errors = [(cell.id, output.ename, output.evalue) for cell in executed.cells if cell.cell_type == "code"
              for output in cell.outputs if output.output_type == "error"]
    assert not errors, errors
    for cell in executed.cells:
        for name in checker_exercise_names(cell.source) if cell.cell_type == "code" else []:
            printed = "".join(output.get("text", "") for output in cell.outputs)
            assert printed.startswith(f"✓ {name}: correct"), (cell.id, printed)


@pytest.mark.slow
def test_fixture_exercise_notebook_checks_all_fail_on_stubs(fixture_exercise_file):
    executed = execute(nbformat.read(str(fixture_exercise_file), as_version=4), fixture_exercise_file.parent)
    assert problems_with_stubbed_run(executed) == []
    messages = [output.evalue for cell in executed.cells if cell.cell_type == "code" for output in cell.outputs
                if output.output_type == "error"]
    assert len(messages) == 4 and all("not answered yet: replace None with" in message for message in messages)


@pytest.mark.slow
def test_fixture_reader_command_fails_on_stubs(fixture_exercise_file):
    assert_reader_command_fails_on_stubs(fixture_exercise_file)


def fake_executed(check_source: str, outputs: list) -> nbformat.NotebookNode:
    """A one-check-cell 'executed' notebook, to test the judge without a kernel."""
    cell = nbformat.v4.new_code_cell(check_source, outputs=outputs)
    return nbformat.v4.new_notebook(cells=[cell])


def test_a_check_that_cannot_fail_is_detected():
    source = 'check_true("Exercise 9 (always)", True, "anything")'
    assert "cannot fail" in problems_with_stubbed_run(fake_executed(source, []))[0]
    wrong_error = nbformat.v4.new_output("error", ename="NameError", evalue="name 'x' is not defined", traceback=[])
    assert "expected ExerciseError naming 'Exercise 9 (always)'" in problems_with_stubbed_run(
        fake_executed(source, [wrong_error]))[0]
    other_name = nbformat.v4.new_output("error", ename="ExerciseError", evalue="Exercise 8: not answered yet",
                                        traceback=[])
    assert problems_with_stubbed_run(fake_executed(source, [other_name]))
    own_name = nbformat.v4.new_output("error", ename="ExerciseError", evalue="Exercise 9 (always): not answered yet",
                                      traceback=[])
    assert problems_with_stubbed_run(fake_executed(source, [own_name])) == []
    stub_cell_error = fake_executed("x = None\nx.shape", [wrong_error])
    assert any("only check cells may fail" in problem for problem in problems_with_stubbed_run(stub_cell_error))
