"""The EVOLVE-BLOCK rule, and our own checks of what an evaluator reports (data, read on the trusted side)."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import ROOT

from selftaught.tasks.base import Instance
from selftaught.tasks.field.evolve_block import MalformedBlocks, find_blocks, marking_note, outside_edit
from selftaught.tasks.field.metrics import (
    MetricRejected,
    as_score,
    openevolve_fitness,
    parse_json,
    shinka_fitness,
)
from selftaught.tasks.field.openevolve import OpenEvolveTask
from selftaught.tasks.field.shinka import judge_report

OPENEVOLVE = OpenEvolveTask(ROOT / "examples" / "openevolve" / "circle_packing")

PROGRAM = """import math

# EVOLVE-BLOCK-START
def construct(n):
    return [0.1] * n
# EVOLVE-BLOCK-END


def run():
    return construct(26)
"""


def with_block(body: str) -> str:
    head, rest = PROGRAM.split("# EVOLVE-BLOCK-START\n")
    _, tail = rest.split("# EVOLVE-BLOCK-END")
    return head + "# EVOLVE-BLOCK-START\n" + body + "# EVOLVE-BLOCK-END" + tail


def test_blocks_are_found_and_malformed_markers_refused():
    assert find_blocks(PROGRAM).spans == ((3, 6),)
    assert not find_blocks("x = 1\n").marked
    for bad in (
        "# EVOLVE-BLOCK-START\n",
        "# EVOLVE-BLOCK-END\n",
        "# EVOLVE-BLOCK-START\n# EVOLVE-BLOCK-START\n",
    ):
        with pytest.raises(MalformedBlocks):
            find_blocks(bad)
    assert "lines 3-6" in marking_note(PROGRAM, enforced=True) and "rejected" in marking_note(PROGRAM, True)
    assert "whole program" in marking_note("x = 1\n", enforced=True)


def test_edits_inside_the_block_pass_and_edits_outside_are_named():
    assert outside_edit(PROGRAM, PROGRAM) is None
    assert outside_edit(PROGRAM, with_block("def construct(n):\n    return [0.2] * n\n\n\n")) is None
    assert outside_edit(PROGRAM, PROGRAM + "\n\n") is None  # trailing blank lines are not an edit
    changed = PROGRAM.replace("return construct(26)", "return construct(27)")
    assert "after block 1" in outside_edit(PROGRAM, changed)
    assert "before the first block" in outside_edit(PROGRAM, "import os\n" + PROGRAM)
    assert "do not pair up" in outside_edit(PROGRAM, PROGRAM.replace("# EVOLVE-BLOCK-END", ""))
    doubled = PROGRAM + "# EVOLVE-BLOCK-START\nx = 1\n# EVOLVE-BLOCK-END\n"
    assert "2 EVOLVE-BLOCKs" in outside_edit(PROGRAM, doubled)
    assert outside_edit("x = 1\n", "anything at all") is None  # no markers: the whole file evolves


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200))
def test_any_block_body_without_markers_is_allowed(body):
    body = body.replace("EVOLVE-BLOCK", "")
    assert outside_edit(PROGRAM, with_block(body + "\n")) is None


@given(st.text(min_size=1, max_size=40).filter(lambda s: s.strip() and "EVOLVE-BLOCK" not in s))
def test_any_added_line_outside_the_block_is_an_edit(line):
    line = line.replace("\r", " ").replace("\n", " ").replace("\x0b", " ").replace("\x0c", " ")
    line = "".join(ch if ch.isprintable() else " " for ch in line)
    if not line.strip():
        return
    assert outside_edit(PROGRAM, line + "\n" + PROGRAM) is not None
    assert outside_edit(PROGRAM, PROGRAM + line + "\n") is not None


@pytest.mark.parametrize(
    ("metrics", "reason"),
    [
        ({"combined_score": float("nan")}, "is NaN"),
        ({"combined_score": float("inf")}, "infinite"),
        ({"combined_score": "0.9"}, "not a number"),
        ({"combined_score": None}, "not a number"),
        ({"combined_score": True}, "not a number"),
        ({"validity": float("nan"), "speed": 1.0}, "'validity' is NaN"),
        ({"error": "crashed"}, "no numeric metric"),
        ({}, "no numeric metric"),
        ([0.5], "not a dict"),
    ],
)
def test_openevolve_metrics_that_cannot_be_a_score_are_rejected_with_the_reason(metrics, reason):
    with pytest.raises(MetricRejected, match=reason):
        openevolve_fitness(metrics)


def test_openevolve_fitness_is_combined_score_else_the_mean_of_numeric_metrics():
    assert openevolve_fitness({"combined_score": 0.25, "other": 9.0}) == 0.25
    assert openevolve_fitness({"a": 0.2, "b": 0.6, "error": 5.0, "note": "text"}) == pytest.approx(0.4)
    assert as_score(1.7, 1.0) == 1.0 and as_score(-3.0, 1.0) == 0.0 and as_score(5.0, 10.0) == 0.5


@pytest.mark.parametrize(
    ("metrics", "correct", "reason"),
    [
        ({"combined_score": 0.5}, {"correct": False, "error": "overlap"}, "incorrect: overlap"),
        ({"combined_score": 0.5}, {"error": None}, "correct.json is not"),
        ({"combined_score": 0.5}, {"correct": "yes"}, "correct.json is not"),
        ({"public": {}}, {"correct": True}, "no 'combined_score'"),
        ({"combined_score": float("-inf")}, {"correct": True}, "infinite"),
        ({"combined_score": float("nan")}, {"correct": True}, "NaN"),
        ("text", {"correct": True}, "not a dict"),
    ],
)
def test_shinka_results_are_checked_here(metrics, correct, reason):
    with pytest.raises(MetricRejected, match=reason):
        shinka_fitness(metrics, correct)


def test_shinka_fitness_of_a_correct_program_is_its_combined_score():
    assert (
        shinka_fitness({"combined_score": 0.75, "text_feedback": "ok"}, {"correct": True, "error": None})
        == 0.75
    )


def test_parse_json_keeps_nan_tokens_for_the_checks_and_refuses_non_json():
    assert math.isnan(parse_json('{"combined_score": NaN}', "m")["combined_score"])
    for bad in (None, 3, "{not json", "x" * 3_000_000):
        with pytest.raises(MetricRejected):
            parse_json(bad, "m")


json_values = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@given(json_values, json_values)
def test_whatever_an_evaluator_writes_is_a_score_in_0_1_or_a_rejection(metrics, correct):
    text = json.dumps(metrics)
    for check in (
        lambda: openevolve_fitness(parse_json(text, "m")),
        lambda: shinka_fitness(parse_json(text, "m"), correct),
    ):
        try:
            fitness = check()
        except MetricRejected:
            continue
        assert math.isfinite(fitness) and 0.0 <= as_score(fitness, 1.0) <= 1.0


child_reports = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {},
        optional={
            "metrics": st.one_of(st.none(), st.integers(), json_values.map(json.dumps), st.text(max_size=20)),
            "correct": st.one_of(st.none(), json_values.map(json.dumps), st.text(max_size=20)),
            "failure": st.one_of(st.none(), st.text(max_size=20)),
            "artifacts": st.text(max_size=20),
        },
    ),
)


@settings(deadline=None)
@given(child_reports)
def test_whatever_an_evaluator_child_sends_is_a_score_or_a_rejection(report):
    """What a (possibly subverted) evaluator's child sends is data: a score in [0, 1] or MetricRejected."""
    for judge in (
        lambda: judge_report(report, 1.0),
        lambda: OPENEVOLVE.check(Instance(("val",), None), report),
    ):
        try:
            score = judge()
        except MetricRejected:
            continue
        assert 0.0 <= score <= 1.0
