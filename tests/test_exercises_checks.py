"""Unit tests of the exercise checkers: pass, wrong, unanswered, wrong type, shape mismatch.

Every failing check must raise ExerciseError (an AssertionError) whose message names the exercise and
says what was expected in words, and must never contain the expected value itself.
"""
from __future__ import annotations

import numpy as np
import pytest

from chapters_src.exercises import (
    ExerciseError,
    check_close,
    check_equal,
    check_function,
    check_true,
    check_type,
)

EXERCISE = "Exercise 7 (output width)"
WORDS = "the width of the output feature map, an int"


def failure_message(check, *args, **kwargs) -> str:
    """Run a check that must fail and return its ExerciseError message."""
    with pytest.raises(ExerciseError) as caught:
        check(*args, **kwargs)
    assert isinstance(caught.value, AssertionError)
    return str(caught.value)


def assert_good_message(message: str, words: str, forbidden: list[str], *phrases: str) -> None:
    """The message names the exercise, holds the words and phrases, and none of the forbidden strings."""
    assert message.startswith(EXERCISE + ":"), message
    assert words in message, message
    for phrase in phrases:
        assert phrase in message, f"{phrase!r} not in {message!r}"
    for secret in forbidden:
        assert secret not in message, f"the expected value {secret!r} leaked into {message!r}"


# ---- check_equal ---------------------------------------------------------------------------------

def test_check_equal_passes_and_prints_a_tick(capsys):
    check_equal(EXERCISE, 32, expected=32, expected_in_words=WORDS)
    check_equal(EXERCISE, np.int64(32), expected=32, expected_in_words=WORDS)
    assert capsys.readouterr().out == f"✓ {EXERCISE}: correct\n" * 2


@pytest.mark.parametrize(
    "answer, phrases",
    [
        (None, ["not answered yet: replace None with"]),
        (..., ["not answered yet: replace ... with"]),
        (47, ["not correct yet", "47"]),
        ("thirty", ["wrong type", "got a str"]),
        (31.5, ["wrong type", "got a float", "//"]),
        (True, ["wrong type", "bool"]),
    ],
    ids=["none", "ellipsis", "wrong", "str", "float", "bool"],
)
def test_check_equal_failures_name_the_exercise_and_hide_the_answer(answer, phrases):
    message = failure_message(check_equal, EXERCISE, answer, expected=32, expected_in_words=WORDS)
    assert_good_message(message, WORDS, ["32"], *phrases)


def test_check_equal_on_shapes_and_arrays():
    words = "the output shape as a tuple"
    check_equal(EXERCISE, [None, 30, 30, 16], (None, 30, 30, 16), words)  # list or tuple both accepted
    message = failure_message(check_equal, EXERCISE, (None, 31, 31, 16), (None, 30, 30, 16), words)
    assert_good_message(message, words, ["30, 30"], "not correct yet")
    message = failure_message(check_equal, EXERCISE, (None, 30, 30), (None, 30, 30, 16), words)
    assert_good_message(message, words, ["16"], "wrong length")
    expected = np.array([[1, 2], [3, 4]])
    message = failure_message(check_equal, EXERCISE, np.zeros((2, 3)), expected, words)
    assert_good_message(message, words, ["[1, 2]", "[[1"], "wrong shape", "(2, 3)")
    message = failure_message(check_equal, EXERCISE, np.array([[1, 2], [3, 5]]), expected, words)
    assert_good_message(message, words, ["4]"], "not correct yet")


# ---- check_close ---------------------------------------------------------------------------------

class FakeTensor:
    """Stands in for a tf.Tensor: converts with __array__ (no TensorFlow import in this module)."""

    def __init__(self, values):
        self.values = np.asarray(values)

    def __array__(self, dtype=None, copy=None):
        return self.values.astype(dtype) if dtype else self.values


def test_check_close_passes_on_scalars_arrays_and_tensors(capsys):
    check_close(EXERCISE, 0.1 + 0.2, 0.3, "a third of 0.9")
    check_close(EXERCISE, [0.5, 1.0], np.array([0.5, 1.0]), "two halves")
    check_close(EXERCISE, FakeTensor([[1.0, 2.0]]), np.array([[1.0, 2.0000001]]), "a row")
    check_close(EXERCISE, 1.05, 1.0, "about one", rtol=0.1)
    assert capsys.readouterr().out.count("✓") == 4


@pytest.mark.parametrize(
    "answer, phrases",
    [
        (None, ["not answered yet: replace None with"]),
        ("0.125", ["wrong type", "got a str"]),
        ({"value": 1}, ["wrong type", "got a dict"]),
        (np.ones((3, 2)), ["wrong shape", "(2, 3)", "(3, 2)"]),
        (np.full((2, 3), 0.9), ["not correct yet", "6 of 6 values differ", "index (0, 0)"]),
        (np.array([[0.125, 0.25, 0.375], [0.5, np.nan, 0.75]]), ["not correct yet", "NaN"]),
    ],
    ids=["none", "str", "dict", "shape", "wrong", "nan"],
)
def test_check_close_array_failures(answer, phrases):
    expected = np.arange(1, 7).reshape(2, 3) / 8  # 0.125 ... 0.75
    words = "the attention weights, an array of shape (2, 3)"
    message = failure_message(check_close, EXERCISE, answer, expected, words)
    assert_good_message(message, words, ["0.625", "0.62", "[0.125, 0.25"], *phrases)


def test_check_close_scalar_failures_never_show_the_difference():
    words = "the mean squared error, a float"
    message = failure_message(check_close, EXERCISE, 2.5, 0.7071, words)
    assert_good_message(message, words, ["0.7071", "1.7929", "1.79"], "not correct yet", "2.5")
    message = failure_message(check_close, EXERCISE, [1.0, 2.0], 0.7071, words)
    assert_good_message(message, words, ["0.7071"], "wrong shape", "a single number")


# ---- check_true ----------------------------------------------------------------------------------

def test_check_true_passes_with_bool_numpy_bool_and_callable(capsys):
    check_true(EXERCISE, True, WORDS)
    check_true(EXERCISE, np.bool_(True), WORDS)
    check_true(EXERCISE, lambda: np.array(3) > 2, WORDS, answer=3)
    assert capsys.readouterr().out.count(f"✓ {EXERCISE}: correct") == 3


def test_check_true_failures():
    words = "a layer with 16 filters"
    assert_good_message(failure_message(check_true, EXERCISE, False, words), words, [], "not correct yet")
    assert_good_message(failure_message(check_true, EXERCISE, None, words), words, [], "not answered yet")
    message = failure_message(check_true, EXERCISE, lambda: answer.filters == 16, words, answer=None)
    assert_good_message(message, words, ["16 filters ="], "not answered yet: replace None with")
    message = failure_message(check_true, EXERCISE, lambda: 1 / 0, words, answer=object())
    assert_good_message(message, words, [], "ZeroDivisionError")
    assert_good_message(failure_message(check_true, EXERCISE, "yes", words), words, [], "wrong type", "got a str")


# ---- check_function ------------------------------------------------------------------------------

RELU_WORDS = "the input with negative entries replaced by 0"
RELU_CASES = [((np.array([-2.0, 3.0]),), np.array([0.0, 3.0])), ((np.array([-7.0, 9.0]),), np.array([0.0, 9.0]))]


def test_check_function_passes_and_counts_cases(capsys):
    check_function(EXERCISE, lambda values: np.maximum(values, 0), RELU_CASES, RELU_WORDS)
    check_function(EXERCISE, lambda length, window: length - window + 1,
                   [({"length": 10, "window": 3}, 8), ((5, 5), 1)], "the number of positions, an int")
    assert capsys.readouterr().out == f"✓ {EXERCISE}: correct (2 test cases)\n" * 2


def test_check_function_reports_the_first_failing_inputs_but_not_the_expected_output():
    def clip_above_five(values):
        return np.minimum(np.maximum(values, 0), 5)

    message = failure_message(check_function, EXERCISE, clip_above_five, RELU_CASES, RELU_WORDS)
    assert_good_message(message, RELU_WORDS, ["[0., 9.]", "[0.0, 9.0]", "0., 9."], "not correct yet",
                        "clip_above_five([-7.,  9.])")


@pytest.mark.parametrize(
    "function, phrases",
    [
        (None, ["not answered yet: replace None with"]),
        (lambda values: None, ["not answered yet", "returned None", "replace None with"]),
        (42, ["wrong type", "a function", "got an int"]),
        (lambda values: values.tolist()[5], ["raised IndexError"]),
        (lambda values: "relu", ["wrong type", "got a str"]),
        (lambda values: values[:1], ["wrong shape", "(1,)"]),
    ],
    ids=["none", "returns-none", "not-callable", "raises", "wrong-type", "wrong-shape"],
)
def test_check_function_failures(function, phrases):
    message = failure_message(check_function, EXERCISE, function, RELU_CASES, RELU_WORDS)
    assert_good_message(message, RELU_WORDS, ["[0., 3.]", "0., 3."], *phrases)


def test_check_function_does_not_let_the_reader_mutate_the_cases():
    def relu_in_place(values):
        values[values < 0] = 0
        return values

    cases = [((np.array([-1.0, 2.0]),), np.array([0.0, 2.0]))]
    check_function(EXERCISE, relu_in_place, cases, RELU_WORDS)
    assert cases[0][0][0][0] == -1.0


# ---- check_type ----------------------------------------------------------------------------------

def test_check_type(capsys):
    check_type(EXERCISE, [1, 2], (list, tuple), "a list of layer sizes")
    assert capsys.readouterr().out == f"✓ {EXERCISE}: correct\n"
    message = failure_message(check_type, EXERCISE, {"sizes": 1}, (list, tuple), "a list of layer sizes")
    assert_good_message(message, "a list of layer sizes", [], "wrong type", "a list or a tuple", "got a dict")
    message = failure_message(check_type, EXERCISE, None, list, "a list of layer sizes")
    assert_good_message(message, "a list of layer sizes", [], "not answered yet")


# ---- bad arguments from the chapter author -------------------------------------------------------

@pytest.mark.parametrize(
    "call",
    [
        lambda: check_equal("", 1, 1, WORDS),
        lambda: check_equal(EXERCISE, 1, 1, "  "),
        lambda: check_close(EXERCISE, 1.0, 1.0, WORDS, rtol=-1),
        lambda: check_close(EXERCISE, 1.0, "one", WORDS),
        lambda: check_true(EXERCISE, True, None),
        lambda: check_function(EXERCISE, abs, [], WORDS),
        lambda: check_function(EXERCISE, abs, [(-1, 1)], WORDS),
        lambda: check_type(EXERCISE, 1, "int", WORDS),
    ],
    ids=["empty-exercise", "blank-words", "negative-rtol", "non-numeric-expected", "no-words", "no-cases",
         "args-not-tuple", "type-not-a-type"],
)
def test_author_mistakes_raise_value_error_not_exercise_error(call):
    with pytest.raises(ValueError) as caught:
        call()
    assert not isinstance(caught.value, ExerciseError)
