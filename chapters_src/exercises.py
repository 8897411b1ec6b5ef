"""Exercise checks and the solution → exercise notebook generator (one source of truth).

Each chapter notebook ``notebooks/NN-name.ipynb`` ends with an ``## Exercises`` section that holds the
solutions. The reader's notebook ``notebooks/exercises/NN-name.ipynb`` is generated from it::

    python -m chapters_src.exercises generate            # write every exercise notebook
    python -m chapters_src.exercises generate --check    # exit 1 if a committed one is out of date

Conventions in the chapter (solution) notebook:

- cells tagged ``exercise-setup`` (before the exercises) are copied, in order, ahead of the exercises;
- everything from the markdown cell whose first non-blank line starts with ``## Exercises`` to the end
  of the notebook is copied, with outputs cleared and execution counts removed;
- a solution block inside a code cell is written once and replaced by its stub in the exercise notebook::

      ### BEGIN SOLUTION (stub: output_width = None)
      output_width = conv_output_size(64, kernel_size=5, stride=2, padding="same")
      ### END SOLUTION

  becomes ``output_width = None  # ✎ your answer here`` (indented like the BEGIN marker);
- a cell holding a solution block must be tagged ``hide-input`` (``generate --fix-tags`` adds it);
  stubbed cells lose that tag in the exercise notebook;
- a check cell (one call to a ``check_*`` function, exercise name as a string literal) follows each
  solution cell. Checks raise :class:`ExerciseError` whose message names the exercise and says in words
  what was expected, never the expected value.

The checkers need only NumPy; the generator imports ``nbformat`` when it runs. This is a core module: it
imports no topic package and no TensorFlow (tensors are accepted through ``numpy.asarray``).
"""
from __future__ import annotations

import argparse
import ast
import contextlib
import copy
import io
import numbers
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

__all__ = [
    "ExerciseError",
    "SolutionNotebookError",
    "check_equal",
    "check_close",
    "check_true",
    "check_function",
    "check_type",
    "CHECKER_NAMES",
    "EXERCISES_HEADING",
    "SETUP_TAG",
    "HIDE_INPUT_TAG",
    "STUB_COMMENT",
    "READER_COMMAND",
    "parse_solution_blocks",
    "stub_solutions",
    "checker_exercise_names",
    "find_exercises_heading",
    "validate_solution_notebook",
    "build_exercise_notebook",
    "render_notebook",
    "exercise_path_for",
    "find_chapter_notebooks",
    "add_missing_hide_input_tags",
    "problems_with_stubbed_run",
    "describe_type",
    "generate",
    "main",
]

# --------------------------------------------------------------------------------------------------
# Checkers
# --------------------------------------------------------------------------------------------------


class ExerciseError(AssertionError):
    """An exercise answer is missing, of the wrong type or shape, or wrong. The message never holds the answer."""


def _require_text(argument_name: str, value: Any) -> str:
    """Return ``value`` if it is a non-empty string, else raise ``ValueError`` naming the argument."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{argument_name} must be a non-empty string, got {value!r}")
    return value.strip()


def _require_texts(exercise: Any, expected_in_words: Any) -> tuple[str, str]:
    """Validate a checker's ``exercise`` name and ``expected_in_words`` (both non-empty strings)."""
    return _require_text("exercise", exercise), _require_text("expected_in_words", expected_in_words)


def _is_unanswered(value: Any) -> bool:
    """True for the stub placeholders ``None`` and ``...`` (Ellipsis)."""
    return value is None or value is Ellipsis


def _with_article(noun: str) -> str:
    """``'int'`` → ``'an int'``, ``'str'`` → ``'a str'``."""
    return f"an {noun}" if noun[:1].lower() in "aeiou" else f"a {noun}"


def describe_type(value: Any) -> str:
    """Describe the type of ``value`` in words for messages: 'an int', 'a NumPy array of shape (2, 3)', ..."""
    if value is None:
        return "None"
    if value is Ellipsis:
        return "... (Ellipsis)"
    if isinstance(value, (bool, np.bool_)):
        return "a bool (True or False)"
    if isinstance(value, np.ndarray):
        return f"a NumPy array of shape {value.shape}"
    if isinstance(value, np.generic):
        return f"a NumPy {type(value).__name__}"
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return f"{_with_article(type(value).__name__)} of shape {tuple(value.shape)}"
    return _with_article(type(value).__name__)


def _short_repr(value: Any, limit: int = 80) -> str:
    """A one-line repr of ``value``, shortened to about ``limit`` characters (arrays summarised)."""
    if isinstance(value, np.ndarray):
        text = np.array2string(value, threshold=12, separator=", ").replace("\n", "")
    else:
        text = repr(value).replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _fail(exercise: str, message: str, hint: str | None = None) -> ExerciseError:
    """Build the ``ExerciseError`` for ``exercise`` (raise the result)."""
    text = f"{exercise}: {message}"
    if hint:
        text += f" Hint: {hint}"
    return ExerciseError(text)


def _not_answered(exercise: str, answer: Any, expected_in_words: str) -> ExerciseError:
    """The error for a stub left in place: 'not answered yet: replace None with <words>'."""
    placeholder = "..." if answer is Ellipsis else "None"
    return _fail(exercise, f"not answered yet: replace {placeholder} with {expected_in_words}.")


def _passed(exercise: str, detail: str = "") -> None:
    """Print the success line for ``exercise``."""
    print(f"✓ {exercise}: correct{detail}")


def _expected_kind(expected: Any) -> tuple[Callable[[Any], bool], str]:
    """For an expected value, a predicate accepting compatible answers and the kind in words."""
    if isinstance(expected, (bool, np.bool_)):
        return (lambda answer: isinstance(answer, (bool, np.bool_))), "True or False"
    if isinstance(expected, numbers.Integral):
        return (
            lambda answer: isinstance(answer, numbers.Integral) and not isinstance(answer, (bool, np.bool_)),
            "a whole number, an int",
        )
    if isinstance(expected, numbers.Real):
        return (
            lambda answer: isinstance(answer, numbers.Real) and not isinstance(answer, (bool, np.bool_)),
            "a number",
        )
    if isinstance(expected, str):
        return (lambda answer: isinstance(answer, str)), "a str (text)"
    if isinstance(expected, (tuple, list)):
        return (lambda answer: isinstance(answer, (tuple, list))), "a tuple or list"
    if isinstance(expected, np.ndarray):
        return (
            lambda answer: isinstance(answer, (np.ndarray, list, tuple)) or hasattr(answer, "__array__"),
            "an array",
        )
    expected_type = type(expected)
    return (lambda answer: isinstance(answer, expected_type)), _with_article(expected_type.__name__)


def _type_error(exercise: str, answer: Any, expected_in_words: str, kind: str, hint: str | None) -> ExerciseError:
    """The error for an answer of the wrong type (names the types only, never the values)."""
    message = f"wrong type: expected {expected_in_words} ({kind}); got {describe_type(answer)}."
    if "int" in kind and isinstance(answer, (float, np.floating)):
        message += " Use // for whole-number division, or int(...)."
    return _fail(exercise, message, hint)


def _values_equal(answer: Any, expected: Any) -> bool:
    """Exact equality that also works for arrays and sequences holding arrays."""
    if isinstance(answer, np.ndarray) or isinstance(expected, np.ndarray):
        answer_array, expected_array = np.asarray(answer), np.asarray(expected)
        return answer_array.shape == expected_array.shape and bool(np.array_equal(answer_array, expected_array))
    if isinstance(expected, (tuple, list)) and isinstance(answer, (tuple, list)):
        return len(answer) == len(expected) and all(_values_equal(a, e) for a, e in zip(answer, expected))
    try:
        return bool(answer == expected)
    except (TypeError, ValueError):
        return False


def check_type(exercise: str, answer: Any, expected_type: type | tuple[type, ...], expected_in_words: str,
               *, hint: str | None = None) -> None:
    """Check that ``answer`` is an instance of ``expected_type`` (e.g. ``keras.layers.Layer``).

    Raises ``ExerciseError`` if the answer is still a stub (None or ...) or has another type.
    """
    __tracebackhide__ = True
    exercise, expected_in_words = _require_texts(exercise, expected_in_words)
    types = expected_type if isinstance(expected_type, tuple) else (expected_type,)
    if not types or not all(isinstance(candidate, type) for candidate in types):
        raise ValueError(f"expected_type must be a type or a tuple of types, got {expected_type!r}")
    if _is_unanswered(answer):
        raise _not_answered(exercise, answer, expected_in_words)
    if not isinstance(answer, types):
        kind = " or ".join(_with_article(candidate.__name__) for candidate in types)
        raise _type_error(exercise, answer, expected_in_words, kind, hint)
    _passed(exercise)


def check_equal(exercise: str, answer: Any, expected: Any, expected_in_words: str, *, hint: str | None = None) -> None:
    """Check that ``answer`` equals ``expected`` exactly (ints, strings, tuples such as shapes, arrays).

    ``expected`` is usually computed in the check cell by a tested package function. The error message
    says what was expected in words (``expected_in_words``) and shows the reader's answer, never ``expected``.
    For floating-point results use :func:`check_close`.
    """
    __tracebackhide__ = True
    exercise, expected_in_words = _require_texts(exercise, expected_in_words)
    if _is_unanswered(answer):
        raise _not_answered(exercise, answer, expected_in_words)
    accepts, kind = _expected_kind(expected)
    if not accepts(answer):
        raise _type_error(exercise, answer, expected_in_words, kind, hint)
    if isinstance(expected, np.ndarray):
        answer_shape = np.shape(answer)
        if answer_shape != expected.shape:
            raise _fail(exercise, f"wrong shape: expected {expected_in_words}, an array of shape {expected.shape}; "
                                  f"got shape {answer_shape}.", hint)
    elif isinstance(expected, (tuple, list)) and len(answer) != len(expected):
        raise _fail(exercise, f"wrong length: expected {expected_in_words} with {len(expected)} items; "
                              f"got {len(answer)} items.", hint)
    if not _values_equal(answer, expected):
        raise _fail(exercise, f"not correct yet: expected {expected_in_words}; your answer "
                              f"{_short_repr(answer)} is different.", hint)
    _passed(exercise)


def _as_float_array(exercise: str, answer: Any, expected_in_words: str, hint: str | None) -> np.ndarray:
    """Convert the reader's answer (number, list, NumPy array, tensor) to a float array or raise a type error."""
    __tracebackhide__ = True
    kind = "a number or an array of numbers"
    if isinstance(answer, (str, bytes, dict, set)) or callable(answer):
        raise _type_error(exercise, answer, expected_in_words, kind, hint)
    try:
        return np.asarray(answer, dtype=float)
    except (TypeError, ValueError):
        raise _type_error(exercise, answer, expected_in_words, kind, hint) from None


def check_close(exercise: str, answer: Any, expected: Any, expected_in_words: str, *, rtol: float = 1e-5,
                atol: float = 1e-8, hint: str | None = None) -> None:
    """Check that ``answer`` (a number or array-like, tensors included) is close to ``expected``.

    Uses ``numpy.allclose(answer, expected, rtol, atol)`` after checking the shape; the message gives the
    shape and the index of the first differing value, never the expected values nor the difference.
    """
    __tracebackhide__ = True
    exercise, expected_in_words = _require_texts(exercise, expected_in_words)
    if rtol < 0 or atol < 0:
        raise ValueError(f"rtol and atol must be >= 0, got rtol={rtol}, atol={atol}")
    try:
        expected_array = np.asarray(expected, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"expected must be a number or an array of numbers, got {describe_type(expected)}") from None
    if _is_unanswered(answer):
        raise _not_answered(exercise, answer, expected_in_words)
    answer_array = _as_float_array(exercise, answer, expected_in_words, hint)
    if answer_array.shape != expected_array.shape:
        wanted = "a single number" if expected_array.ndim == 0 else f"an array of shape {expected_array.shape}"
        raise _fail(exercise, f"wrong shape: expected {expected_in_words}, {wanted}; "
                              f"got shape {answer_array.shape}.", hint)
    if np.isnan(answer_array).any():
        raise _fail(exercise, f"not correct yet: expected {expected_in_words}; your answer contains NaN.", hint)
    close = np.isclose(answer_array, expected_array, rtol=rtol, atol=atol)
    if not close.all():
        if expected_array.ndim == 0:
            where = ""
        else:
            first = tuple(int(i) for i in np.argwhere(~close)[0])
            where = f" {int((~close).sum())} of {close.size} values differ, the first at index {first}."
        raise _fail(exercise, f"not correct yet: expected {expected_in_words} (within rtol={rtol}, atol={atol});"
                              f"{where or ' your answer ' + _short_repr(answer) + ' is not close enough.'}", hint)
    _passed(exercise)


_NO_ANSWER = object()  # check_true's default for answer=: "no answer variable given"


def check_true(exercise: str, condition: Any, expected_in_words: str, *, answer: Any = _NO_ANSWER,
               hint: str | None = None) -> None:
    """Check that ``condition`` holds: a bool, or a no-argument callable returning one.

    Pass the reader's variable as ``answer=`` to get the "not answered yet" message while it is a stub;
    a callable condition is only evaluated once ``answer`` is filled in (so it may use attributes of it).
    ``condition`` itself being None or ... also counts as not answered.
    """
    __tracebackhide__ = True
    exercise, expected_in_words = _require_texts(exercise, expected_in_words)
    if _is_unanswered(condition) or (answer is not _NO_ANSWER and _is_unanswered(answer)):
        raise _not_answered(exercise, condition if _is_unanswered(condition) else answer, expected_in_words)
    if callable(condition):
        try:
            condition = condition()
        except Exception as error:  # the reader's object broke the check: say how, not what was expected
            raise _fail(exercise, f"checking your answer raised {type(error).__name__}: {error}. "
                                  f"Expected {expected_in_words}.", hint) from None
    if isinstance(condition, np.ndarray) and condition.shape == ():
        condition = condition.item()
    if not isinstance(condition, (bool, np.bool_)):
        raise _type_error(exercise, condition, expected_in_words, "a condition that is True or False", hint)
    if not condition:
        raise _fail(exercise, f"not correct yet: expected {expected_in_words}.", hint)
    _passed(exercise)


def _validate_cases(cases: Any) -> list[tuple[Any, Any]]:
    """Check ``cases`` is a non-empty list of ``(args, expected)`` with args a tuple or dict; return it."""
    if not isinstance(cases, (list, tuple)) or not cases:
        raise ValueError(f"cases must be a non-empty list of (args, expected) pairs, got {cases!r}")
    for index, case in enumerate(cases):
        if not isinstance(case, tuple) or len(case) != 2 or not isinstance(case[0], (tuple, dict)):
            raise ValueError(f"cases[{index}] must be (args, expected) with args a tuple of positional arguments "
                             f"or a dict of keyword arguments, got {case!r}")
    return list(cases)


def _format_call(function: Callable, args: tuple | dict) -> str:
    """``relu(array([-1.,  2.]))`` or ``size(n=64, k=5)``: the call with its inputs (inputs are fine to show)."""
    name = getattr(function, "__name__", "your_function")
    if isinstance(args, dict):
        inside = ", ".join(f"{key}={_short_repr(value, 40)}" for key, value in args.items())
    else:
        inside = ", ".join(_short_repr(value, 40) for value in args)
    return f"{name}({inside})"


def _call_case(exercise: str, function: Callable, args: tuple | dict, expected_in_words: str,
               hint: str | None) -> Any:
    """Call the reader's function on a deep copy of ``args``; turn its exceptions into ``ExerciseError``."""
    __tracebackhide__ = True
    arguments = copy.deepcopy(args)
    try:
        return function(**arguments) if isinstance(arguments, dict) else function(*arguments)
    except Exception as error:
        raise _fail(exercise, f"calling {_format_call(function, args)} raised {type(error).__name__}: {error}. "
                              f"Expected it to return {expected_in_words}.", hint) from None


def check_function(exercise: str, function: Any, cases: Sequence[tuple[Any, Any]], expected_in_words: str, *,
                   rtol: float | None = None, atol: float | None = None, hint: str | None = None) -> None:
    """Call the reader's ``function`` on each ``(args, expected)`` case; args is a tuple or a dict of kwargs.

    Results are compared with :func:`check_close` rules when ``expected`` is a float or an array (or
    ``rtol``/``atol`` is given), exactly otherwise. The first failing case's inputs are reported, never
    its expected output. A function that returns None (the usual stub) counts as not answered.
    """
    __tracebackhide__ = True
    exercise, expected_in_words = _require_texts(exercise, expected_in_words)
    cases = _validate_cases(cases)
    if _is_unanswered(function):
        raise _not_answered(exercise, function, expected_in_words)
    if not callable(function):
        raise _type_error(exercise, function, expected_in_words, "a function", hint)
    for args, expected in cases:
        result = _call_case(exercise, function, args, expected_in_words, hint)
        call = _format_call(function, args)
        if result is None and expected is not None:
            raise _fail(exercise, f"not answered yet: replace None with {expected_in_words} ({call} returned None; "
                                  f"is a `return` missing?).", hint)
        approximate = rtol is not None or atol is not None or isinstance(expected, (float, np.floating, np.ndarray))
        try:
            with contextlib.redirect_stdout(io.StringIO()):  # no inner ✓ line
                if approximate:
                    check_close(exercise, result, expected, expected_in_words,
                                rtol=1e-6 if rtol is None else rtol, atol=1e-8 if atol is None else atol)
                else:
                    check_equal(exercise, result, expected, expected_in_words)
        except ExerciseError as error:
            detail = str(error)[len(exercise) + 2:].replace("your answer", "it returned")
            raise _fail(exercise, f"for the input {call}: {detail}", hint) from None
    _passed(exercise, f" ({len(cases)} test case{'s' if len(cases) != 1 else ''})")


# --------------------------------------------------------------------------------------------------
# Notebook conventions and the generator
# --------------------------------------------------------------------------------------------------

EXERCISES_HEADING = "## Exercises"
SETUP_TAG = "exercise-setup"
HIDE_INPUT_TAG = "hide-input"
STUB_COMMENT = "# ✎ your answer here"
CHECKER_NAMES = ("check_equal", "check_close", "check_true", "check_function", "check_type")
GENERATE_COMMAND = "python -m chapters_src.exercises generate"
READER_COMMAND = "python -m pytest --nbval-lax {path}"
HEADER_CELL_ID = "exercises-header"
_BEGIN = re.compile(r"^(?P<indent>[ \t]*)### BEGIN SOLUTION(?:[ \t]*\(stub:(?P<stub>.*)\))?[ \t]*$")
_END = re.compile(r"^[ \t]*### END SOLUTION[ \t]*$")
_MARKER_WORDS = re.compile(r"(BEGIN|END) SOLUTION")
_DROPPED_CELL_METADATA = ("execution", "ExecuteTime", "collapsed", "scrolled", "jupyter", "papermill", "vscode")


class SolutionNotebookError(ValueError):
    """A chapter notebook breaks the exercise conventions (markers, stubs, tags, check cells)."""


@dataclass(frozen=True)
class SolutionBlock:
    """One ``### BEGIN SOLUTION (stub: ...)`` … ``### END SOLUTION`` block (0-based line numbers)."""

    begin_line: int
    end_line: int
    indent: str
    stub: str


def _cell_label(index: int, cell: Any) -> str:
    """'cell 12 (id 'ab12', starts "def relu(x):")': how messages name a cell."""
    first_line = next((line.strip() for line in cell.get("source", "").splitlines() if line.strip()), "")
    return f"cell {index} (id {cell.get('id', '?')!r}, starts {first_line[:50]!r})"


def parse_solution_blocks(source: str, cell_label: str = "cell") -> list[SolutionBlock]:
    """Find the solution blocks in a code cell's source; raise ``SolutionNotebookError`` on bad markers.

    Errors (all naming ``cell_label`` and the line): BEGIN without ``(stub: ...)`` or with an empty stub,
    a nested BEGIN, an END without BEGIN, a BEGIN never closed, a line mentioning BEGIN/END SOLUTION
    that is not exactly a marker.
    """
    blocks: list[SolutionBlock] = []
    open_begin: tuple[int, str, str] | None = None
    for number, line in enumerate(source.splitlines()):
        begin, end = _BEGIN.match(line), _END.match(line)
        where = f"{cell_label}, line {number + 1}"
        if begin:
            if open_begin is not None:
                raise SolutionNotebookError(f"{where}: '### BEGIN SOLUTION' inside an open solution block "
                                            f"(opened on line {open_begin[0] + 1}); add '### END SOLUTION' first")
            stub = (begin.group("stub") or "").strip()
            if not stub:
                raise SolutionNotebookError(f"{where}: '### BEGIN SOLUTION' needs a stub, e.g. "
                                            f"'### BEGIN SOLUTION (stub: output_width = None)'")
            open_begin = (number, begin.group("indent"), stub)
        elif end:
            if open_begin is None:
                raise SolutionNotebookError(f"{where}: '### END SOLUTION' without a '### BEGIN SOLUTION' before it")
            blocks.append(SolutionBlock(open_begin[0], number, open_begin[1], open_begin[2]))
            open_begin = None
        elif _MARKER_WORDS.search(line):
            raise SolutionNotebookError(f"{where}: malformed solution marker {line.strip()!r}; write exactly "
                                        f"'### BEGIN SOLUTION (stub: ...)' or '### END SOLUTION' on its own line")
    if open_begin is not None:
        raise SolutionNotebookError(f"{cell_label}, line {open_begin[0] + 1}: '### BEGIN SOLUTION' is never "
                                    f"closed; add '### END SOLUTION'")
    return blocks


def stub_solutions(source: str, cell_label: str = "cell") -> str:
    """Replace every solution block (markers included) by ``<indent><stub>  # ✎ your answer here``."""
    blocks = parse_solution_blocks(source, cell_label)
    lines = source.splitlines()
    for block in reversed(blocks):
        lines[block.begin_line: block.end_line + 1] = [f"{block.indent}{block.stub}  {STUB_COMMENT}"]
    stubbed = "\n".join(lines)
    _require_compiles(stubbed, cell_label)
    return stubbed


def _neutralise_magic_line(line: str) -> str:
    """``%time f(x)`` → ``f(x)``; other magic or shell lines (``%matplotlib inline``, ``!ls``) → ``pass``."""
    match = re.match(r"^([ \t]*)(%{1,2}\w+|!)(.*)$", line)
    if not match:
        return line
    indent, rest = match.group(1), match.group(3).strip()
    if match.group(2).startswith("%") and rest:
        try:
            ast.parse(rest)
            return indent + rest
        except SyntaxError:
            pass
    return indent + "pass"


def _neutralise_magics(source: str) -> str:
    """Make a cell with IPython magics parseable by ``ast`` (line by line, see ``_neutralise_magic_line``)."""
    return "\n".join(_neutralise_magic_line(line) for line in source.splitlines())


def _require_compiles(source: str, cell_label: str) -> None:
    """Raise ``SolutionNotebookError`` if the stubbed cell is not valid Python (a bad stub)."""
    try:
        ast.parse(_neutralise_magics(source))
    except SyntaxError as error:
        raise SolutionNotebookError(f"{cell_label}: the cell with its stubs in place is not valid Python "
                                    f"(line {error.lineno}: {error.msg}); fix the '(stub: ...)' text") from None


def checker_exercise_names(source: str) -> list[str]:
    """The exercise names of the ``check_*`` calls in a cell (string literal first argument or ``exercise=``).

    A call whose exercise name is not a string literal gives ``'<not a string literal>'``.
    """
    try:
        tree = ast.parse(_neutralise_magics(source))
    except SyntaxError:
        pattern = r"\b(?:%s)\s*\(\s*(['\"])(.*?)\1" % "|".join(CHECKER_NAMES)
        return [match.group(2) for match in re.finditer(pattern, source)]
    names = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        function_name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
        if function_name not in CHECKER_NAMES:
            continue
        argument = node.args[0] if node.args else next(
            (keyword.value for keyword in node.keywords if keyword.arg == "exercise"), None)
        is_literal = isinstance(argument, ast.Constant) and isinstance(argument.value, str)
        names.append(argument.value if is_literal else "<not a string literal>")
    return names


def find_exercises_heading(notebook: Any) -> int | None:
    """Index of the markdown cell whose first non-blank line starts with ``## Exercises`` (None if absent).

    Raises ``SolutionNotebookError`` if there are several.
    """
    found = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "markdown":
            continue
        first_line = next((line.strip() for line in cell.source.splitlines() if line.strip()), "")
        if first_line.startswith(EXERCISES_HEADING):
            found.append(index)
    if len(found) > 1:
        raise SolutionNotebookError(f"found {len(found)} '{EXERCISES_HEADING}' headings (cells {found}); keep one")
    return found[0] if found else None


def _tags(cell: Any) -> list[str]:
    """The cell's tags (a list, possibly empty)."""
    return list(cell.get("metadata", {}).get("tags", []))


def _problems_in_section(notebook: Any, heading: int) -> list[str]:
    """Convention problems in the exercises section: tags, check cells after solutions, unique names."""
    problems, seen_names, pending_solution = [], {}, None
    for index in range(heading, len(notebook.cells)):
        cell = notebook.cells[index]
        if cell.cell_type != "code":
            continue
        label = _cell_label(index, cell)
        blocks = parse_solution_blocks(cell.source, label)
        names = checker_exercise_names(cell.source)
        if blocks:
            stub_solutions(cell.source, label)
            if HIDE_INPUT_TAG not in _tags(cell):
                problems.append(f"{label}: a solution cell needs the tag '{HIDE_INPUT_TAG}' "
                                f"(add it in Jupyter, or run: {GENERATE_COMMAND} --fix-tags)")
            if names:
                problems.append(f"{label}: a solution cell also calls a checker; "
                                f"move the check into its own cell below")
            if pending_solution:
                problems.append(f"{pending_solution}: a solution cell needs a check cell (a check_* call) after it, "
                                f"before the next solution cell")
            pending_solution = label
        elif names:
            pending_solution = None
            if len(names) > 1:
                problems.append(f"{label}: a check cell must call exactly one checker, found {len(names)}; split it")
            for name in names:
                if name in seen_names:
                    problems.append(f"{label}: exercise name {name!r} is already used by {seen_names[name]}")
                seen_names[name] = label
                if name.startswith("<"):
                    problems.append(f"{label}: give the checker's exercise name as a string literal")
    if pending_solution:
        problems.append(f"{pending_solution}: a solution cell needs a check cell (a check_* call) after it")
    return problems


def validate_solution_notebook(notebook: Any, name: str = "notebook") -> int:
    """Check a chapter notebook against the exercise conventions; return the ``## Exercises`` cell index.

    Raises ``SolutionNotebookError`` listing every problem (prefixed with ``name``): no exercises
    heading, bad markers or stubs, missing ``hide-input`` tags, solution cells without a check cell,
    check cells with several checkers or duplicate exercise names, solution markers outside the section.
    """
    heading = find_exercises_heading(notebook)
    if heading is None:
        raise SolutionNotebookError(f"{name}: no markdown cell starting with '{EXERCISES_HEADING}'")
    problems = []
    for index in range(heading):
        cell = notebook.cells[index]
        if cell.cell_type == "code" and _MARKER_WORDS.search(cell.source):
            problems.append(f"{_cell_label(index, cell)}: solution markers are only allowed in the "
                            f"'{EXERCISES_HEADING}' section")
    try:
        problems += _problems_in_section(notebook, heading)
    except SolutionNotebookError as error:
        problems.append(str(error))
    if problems:
        raise SolutionNotebookError(f"{name} breaks the exercise conventions:\n- " + "\n- ".join(problems))
    return heading


def _clean_cell(cell: Any, index: int, stub: bool) -> Any:
    """A copy of ``cell`` with outputs, execution counts and execution metadata removed; stubs if asked."""
    cleaned = copy.deepcopy(cell)
    cleaned.setdefault("id", f"cell-{index}")
    for key in _DROPPED_CELL_METADATA:
        cleaned.metadata.pop(key, None)
    tags = [tag for tag in _tags(cleaned) if tag != SETUP_TAG]
    if cleaned.cell_type == "code":
        cleaned.outputs, cleaned.execution_count = [], None
        label = _cell_label(index, cell)
        if stub and parse_solution_blocks(cleaned.source, label):
            cleaned.source = stub_solutions(cleaned.source, label)
            tags = [tag for tag in tags if tag != HIDE_INPUT_TAG]
    if tags:
        cleaned.metadata["tags"] = tags
    else:
        cleaned.metadata.pop("tags", None)
    return cleaned


def _chapter_title(notebook: Any, fallback: str) -> str:
    """The text of the notebook's first ``# `` heading, or ``fallback``."""
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return fallback


def _header_cell(notebook: Any, chapter_file_name: str) -> Any:
    """The generated first cell: title, where it comes from, how to check every answer."""
    import nbformat

    title = _chapter_title(notebook, Path(chapter_file_name).stem)
    text = (f"# Exercises: {title}\n\n"
            f"Fill in every line marked `{STUB_COMMENT}`, then run the check cell below it: it prints ✓ when "
            f"your answer is right and otherwise tells you what is expected.\n"
            f"Solutions are in the chapter notebook [{chapter_file_name}](../{chapter_file_name}).\n\n"
            f"Check all your answers at once, from the repository root:\n\n"
            f"```bash\n{READER_COMMAND.format(path='notebooks/exercises/' + chapter_file_name)}\n```\n\n"
            f"*Generated by `{GENERATE_COMMAND}`; edit the chapter notebook, not this file.*")
    cell = nbformat.v4.new_markdown_cell(text)
    cell["id"] = HEADER_CELL_ID
    return cell


def build_exercise_notebook(notebook: Any, chapter_file_name: str) -> Any:
    """The reader's exercise notebook for a chapter notebook (an ``nbformat`` node; the input is unchanged).

    Header cell, then the ``exercise-setup`` cells before the exercises, then the exercises section with
    solution blocks replaced by stubs; outputs, execution counts and execution metadata removed.
    """
    import nbformat

    heading = validate_solution_notebook(notebook, chapter_file_name)
    setup = [(index, cell) for index, cell in enumerate(notebook.cells[:heading]) if SETUP_TAG in _tags(cell)]
    section = list(enumerate(notebook.cells))[heading:]
    cells = [_header_cell(notebook, chapter_file_name)]
    cells += [_clean_cell(cell, index, stub=True) for index, cell in setup + section]
    metadata = {key: copy.deepcopy(notebook.metadata[key]) for key in ("kernelspec",) if key in notebook.metadata}
    language = notebook.metadata.get("language_info", {}).get("name")
    if language:
        metadata["language_info"] = {"name": language}
    exercise_notebook = nbformat.v4.new_notebook(cells=cells, metadata=metadata)
    exercise_notebook.nbformat, exercise_notebook.nbformat_minor = 4, 5
    return exercise_notebook


def render_notebook(notebook: Any) -> str:
    """Deterministic JSON text of a notebook (nbformat's sorted keys, indent 1, final newline)."""
    import nbformat

    nbformat.validate(notebook)
    text = nbformat.writes(notebook, version=4)
    return text if text.endswith("\n") else text + "\n"


def exercise_path_for(chapter_path: Path) -> Path:
    """``notebooks/01-name.ipynb`` → ``notebooks/exercises/01-name.ipynb``."""
    chapter_path = Path(chapter_path)
    return chapter_path.parent / "exercises" / chapter_path.name


def _read_notebook(path: Path) -> Any:
    """Read a notebook as nbformat v4."""
    import nbformat

    return nbformat.read(str(path), as_version=4)


def find_chapter_notebooks(root: Path | str = ".") -> list[Path]:
    """Chapter notebooks ``<root>/notebooks/[0-9]*.ipynb`` that have an ``## Exercises`` section, sorted."""
    notebooks_dir = Path(root) / "notebooks"
    found = []
    for path in sorted(notebooks_dir.glob("[0-9]*.ipynb")):
        try:
            has_heading = find_exercises_heading(_read_notebook(path)) is not None
        except SolutionNotebookError:
            has_heading = True  # several headings: let generation report it
        if has_heading:
            found.append(path)
    return found


def add_missing_hide_input_tags(chapter_path: Path | str) -> list[str]:
    """Add the ``hide-input`` tag to every solution cell of a chapter notebook that lacks it (rewrites the file).

    Returns the labels of the cells changed (empty: the file is left untouched).
    """
    path = Path(chapter_path)
    notebook = _read_notebook(path)
    heading = find_exercises_heading(notebook)
    changed = []
    for index, cell in enumerate(notebook.cells):
        if heading is None or index < heading or cell.cell_type != "code":
            continue
        label = _cell_label(index, cell)
        if parse_solution_blocks(cell.source, label) and HIDE_INPUT_TAG not in _tags(cell):
            cell.metadata["tags"] = _tags(cell) + [HIDE_INPUT_TAG]
            changed.append(label)
    if changed:
        path.write_text(render_notebook(notebook), encoding="utf-8")
    return changed


def generate(chapter_paths: Sequence[Path | str], *, check: bool = False, fix_tags: bool = False) -> list[str]:
    """Write (or with ``check=True`` only compare) the exercise notebook of each chapter notebook.

    Returns the problems found (empty list: all good): in check mode, exercise notebooks missing or out of
    date; in both modes, convention errors (``SolutionNotebookError`` messages).
    """
    problems = []
    for chapter_path in map(Path, chapter_paths):
        target = exercise_path_for(chapter_path)
        try:
            if fix_tags and not check:
                for label in add_missing_hide_input_tags(chapter_path):
                    print(f"{chapter_path}: added tag '{HIDE_INPUT_TAG}' to {label}")
            text = render_notebook(build_exercise_notebook(_read_notebook(chapter_path), chapter_path.name))
        except SolutionNotebookError as error:
            problems.append(str(error))
            continue
        current = target.read_text(encoding="utf-8") if target.exists() else None
        if check:
            if current != text:
                problems.append(f"{target} is {'missing' if current is None else 'out of date'}; "
                                f"run: {GENERATE_COMMAND}")
        elif current != text:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            print(f"wrote {target}")
    return problems


def problems_with_stubbed_run(executed_notebook: Any) -> list[str]:
    """Judge an exercise notebook executed with its stubs in place (``allow_errors=True``).

    Every check cell must have raised ``ExerciseError`` naming its own exercise (a check that passes on a
    stub can never fail); every other code cell must have run without error. Returns the problems found,
    including "no check cell at all".
    """
    problems, check_cells = [], 0
    for index, cell in enumerate(executed_notebook.cells):
        if cell.cell_type != "code":
            continue
        names = checker_exercise_names(cell.source)
        errors = [output for output in cell.get("outputs", []) if output.get("output_type") == "error"]
        label = _cell_label(index, cell)
        if names:
            check_cells += 1
            if not errors:
                problems.append(f"{label}: the check for {names[0]!r} passed with the stubs in place (it cannot fail)")
            elif errors[0].ename != "ExerciseError" or names[0] not in errors[0].evalue:
                problems.append(f"{label}: expected ExerciseError naming {names[0]!r}, got "
                                f"{errors[0].ename}: {errors[0].evalue}")
        elif errors:
            problems.append(f"{label}: raised {errors[0].ename}: {errors[0].evalue} with the stubs in place "
                            f"(only check cells may fail)")
    if not check_cells:
        problems.append("no check cell (a cell calling one of " + ", ".join(CHECKER_NAMES) + ")")
    return problems


def _orphans(root: Path, chapter_paths: Sequence[Path]) -> list[str]:
    """Exercise notebooks under ``<root>/notebooks/exercises`` with no chapter notebook generating them."""
    expected = {exercise_path_for(path).resolve() for path in chapter_paths}
    return [f"{path} has no chapter notebook with '{EXERCISES_HEADING}' (renamed or removed?); delete it"
            for path in sorted((root / "notebooks" / "exercises").glob("*.ipynb")) if path.resolve() not in expected]


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m chapters_src.exercises generate [--check] [--fix-tags] [--root DIR] [NOTEBOOK ...]``.

    Returns the exit status: 0 when all is well, 1 when files are out of date or conventions are broken.
    """
    parser = argparse.ArgumentParser(prog="python -m chapters_src.exercises", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    generate_parser = commands.add_parser("generate",
                                          help="write notebooks/exercises/<name> from each chapter notebook")
    generate_parser.add_argument("notebooks", nargs="*", type=Path,
                                 help="chapter notebooks (default: every notebooks/[0-9]*.ipynb with exercises)")
    generate_parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a file is out of date")
    generate_parser.add_argument("--fix-tags", action="store_true", help=f"add '{HIDE_INPUT_TAG}' to solution cells")
    generate_parser.add_argument("--root", type=Path, default=Path("."), help="repository root (default: .)")
    arguments = parser.parse_args(argv)
    if arguments.notebooks:
        chapter_paths, orphans = list(arguments.notebooks), []
    else:
        if not (arguments.root / "notebooks").is_dir():
            parser.error(f"no notebooks/ folder under {arguments.root.resolve()}; "
                         f"run from the repository root or pass --root")
        chapter_paths = find_chapter_notebooks(arguments.root)
        orphans = _orphans(arguments.root, chapter_paths) if arguments.check else []
    problems = generate(chapter_paths, check=arguments.check, fix_tags=arguments.fix_tags) + orphans
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print(f"{len(chapter_paths)} exercise notebook(s) {'up to date' if arguments.check else 'generated'}")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
