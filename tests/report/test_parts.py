"""The report's small parts: failure classification, intervals, diffs."""

from __future__ import annotations

import math

import pytest

from selftaught.report.diff import diff_html
from selftaught.report.failures import NO_CODE, classify
from selftaught.report.intervals import mean_interval


@pytest.mark.parametrize(
    ("kind", "error", "expected"),
    [
        (
            "load_error",
            "ModuleNotFoundError: No module named 'sklearn.linear_model'",
            "missing module sklearn",
        ),
        ("exception", "ModuleNotFoundError: No module named 'pandas'", "missing module pandas"),
        (
            "load_error",
            'File "<candidate>", line 1\n    def f(:\nSyntaxError: invalid syntax',
            "syntax error",
        ),
        ("load_error", "NameError: name 'np' is not defined", "exception on load: NameError"),
        (
            "exception",
            "Traceback ...\nnumpy.linalg.LinAlgError: Singular matrix",
            "exception: numpy.linalg.LinAlgError",
        ),
        ("exception", "something odd", "exception"),
        ("timeout", "wall-clock limit reached", "timeout"),
        ("time_limit", "130 ms > limit", "timeout"),
        ("check_error", "TypeError: bad output", "invalid answer"),
        ("bad_result", "improve_algorithm returned int, not str", "invalid answer"),
        ("empty", "no solution source", NO_CODE),
        ("budget_exceeded", "BudgetExceededError: 5 calls", "budget exceeded"),
        (None, "ignored", None),
    ],
)
def test_failures_are_classified_in_words(kind, error, expected):
    assert classify(kind, error) == expected


def test_t_interval_matches_the_textbook_figure():
    interval = mean_interval([1.0, 2.0, 3.0])
    assert interval.mean == 2.0 and interval.n == 3
    assert interval.high - interval.mean == pytest.approx(4.303 / math.sqrt(3), rel=1e-3)
    assert mean_interval([0.5]).low == mean_interval([0.5]).high == 0.5
    assert mean_interval([]) is None
    wide = mean_interval([0.0, 1.0] * 20)
    assert wide.high - wide.mean == pytest.approx(2.023 * math.sqrt(40 / 39 * 0.25) / math.sqrt(40), rel=0.04)


def test_diffs_escape_model_written_lines():
    html = diff_html("x = 1\n", "x = 1\ny = '</pre><script>alert(1)</script>'\n")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert '<span class="add">+y = ' in html and "1 lines added, 0 removed" in html
    assert "no change" in diff_html("same\n", "same\n")
