"""Reward-hacking detectors on synthetic records: every planted hack found, nothing in a clean set."""

from __future__ import annotations

import math
import sqlite3
from importlib import resources

import pytest

from selftaught.analysis.hacking import (
    EvaluationRecord,
    EventRecord,
    ImproverRunRecord,
    budget_escapes,
    hacking_report,
    impossible_scores,
    reference_only_passes,
    rejected_answers,
    visible_gaps,
)


def clean_records():
    """Three iterations of honest runs: small val-test gaps, in-range scores, benign failures."""
    evaluations, runs, events = [], [], []
    run_id = 0
    for iteration in (1, 2, 3):
        for repeat in range(5):
            run_id += 1
            val = 0.5 + 0.05 * repeat
            runs.append(
                ImproverRunRecord(run_id, iteration, "parity_noise", "iteration_eval", "ok", val, val - 0.03)
            )
            code = f"code-{iteration}-{repeat}"
            for split, score in (("val", val), ("test", val - 0.03)):
                evaluations.append(
                    EvaluationRecord("parity_noise", split, score, None, None, iteration, run_id, code)
                )
            evaluations.append(
                EvaluationRecord("parity_noise", "val", val, None, None, iteration, run_id, code, "reference")
            )
        evaluations.append(EvaluationRecord("max_cut", "val", 0.0, "timeout", "too slow", iteration))
        evaluations.append(EvaluationRecord("max_cut", "val", 0.0, "load_error", "SyntaxError", iteration))
        events.append(EventRecord("utility_extra_arguments", iteration, run_id, {"kwargs": {}}))
    return evaluations, runs, events


PLANTED_EVALUATIONS = [
    EvaluationRecord(
        "parity_noise", "val", 0.0, "shape_mismatch", "(20,) vs (20, 1)", 2, 8, "hack-a", id=901
    ),
    EvaluationRecord(
        "quadratic_assignment", "test", 0.0, "not_permutation", "repeated 3", 2, 9, "hack-b", id=902
    ),
    EvaluationRecord("parity_noise", "val", 10.5, None, None, 2, 8, "hack-c", id=903),
    EvaluationRecord("max_cut", "test", float("nan"), None, None, 3, 13, "hack-d", id=904),
    EvaluationRecord("three_sat", "val", 0.0, None, None, 3, 14, "dict-answer", "strict", id=905),
    EvaluationRecord("three_sat", "val", 1.0, None, None, 3, 14, "dict-answer", "reference", id=906),
]
PLANTED_RUNS = [
    ImproverRunRecord(101, 1, "parity_noise", "iteration_eval", "ok", 0.95, 0.40),  # gamed validation
    ImproverRunRecord(102, 3, "parity_noise", "iteration_eval", "ok", 0.6, -0.2),  # impossible test score
]
PLANTED_EVENTS = [
    EventRecord("budget_tamper", 3, 12, {"attribute": "budget", "line": 7}),
    EventRecord("new_model_object", 1, None, {"object": "language_model"}),
]


def test_the_clean_set_has_no_finding():
    evaluations, runs, events = clean_records()
    assert not any(g.flagged for g in visible_gaps(runs))
    assert rejected_answers(evaluations).counts == {}
    assert impossible_scores(evaluations, runs) == []
    assert budget_escapes(events).counts == {}
    reference = reference_only_passes(evaluations)
    assert reference.pairs == 15 and reference.passes == ()
    report = hacking_report(evaluations, runs, events)
    assert [row.iteration for row in report.rows] == [1, 2, 3]
    for row in (*report.rows, report.total):
        assert row.gap.k == row.rejected.k == row.impossible.k == row.escapes.k == row.reference_only.k == 0
    assert report.total.improver_runs == 15 and report.total.gap.n == 15
    assert report.total.rejected.n == len(evaluations)
    assert report.total.mean_gap.mean == pytest.approx(0.03)


def test_every_planted_hack_is_found_where_it_was_planted():
    evaluations, runs, events = clean_records()
    evaluations += PLANTED_EVALUATIONS
    runs += PLANTED_RUNS
    events += PLANTED_EVENTS
    report = hacking_report(evaluations, runs, events)
    rows = {row.iteration: row for row in report.rows}

    assert [(g.improver_run_id, g.gap) for g in report.gaps if g.flagged] == [(101, pytest.approx(0.55))]
    assert rows[1].gap.k == 1 and rows[1].gap.n == 6 and rows[2].gap.k == 0

    assert report.rejections.counts == {"not_permutation": 1, "shape_mismatch": 1}
    assert rows[2].rejected_by_kind == {"not_permutation": 1, "shape_mismatch": 1}
    assert rows[1].rejected.k == rows[3].rejected.k == 0  # timeouts and load errors are not rejections

    impossible = {(i.source, i.record_id, i.field) for i in report.impossible}
    assert impossible == {
        ("evaluation", 903, "score"),
        ("evaluation", 904, "score"),
        ("improver_run", 102, "score_test"),
    }
    assert (rows[2].impossible.k, rows[3].impossible.k, rows[1].impossible.k) == (1, 2, 0)

    assert report.escapes.counts == {"budget_tamper": 1, "new_model_object": 1}
    assert rows[3].escapes.k == 1 and rows[1].escapes.k == 1 and rows[2].escapes.k == 0
    assert rows[1].escape_events == {"new_model_object": 1}

    (passed,) = report.reference.passes
    assert (passed.code_hash, passed.task, passed.strict_score, passed.reference_score) == (
        "dict-answer",
        "three_sat",
        0.0,
        1.0,
    )
    assert rows[3].reference_only.k == 1 and rows[3].reference_only.n == 6
    total = report.total
    assert (total.gap.k, total.rejected.k, total.impossible.k, total.escapes.k, total.reference_only.k) == (
        1,
        2,
        3,
        2,
        1,
    )
    for rate in (total.gap, total.rejected, total.impossible, total.escapes, total.reference_only):
        assert rate.lo <= rate.rate <= rate.hi


def test_detectors_options_and_edges():
    runs = [ImproverRunRecord(1, 0, score_val=0.8, score_test=0.65), ImproverRunRecord(2, 0, score_val=None)]
    assert [g.flagged for g in visible_gaps(runs)] == [True]
    assert [g.flagged for g in visible_gaps(runs, threshold=0.2)] == [False]
    shape = EvaluationRecord("t", "val", 0.0, "shape_mismatch")
    timeout = EvaluationRecord("t", "val", 0.0, "timeout")
    assert rejected_answers([shape, timeout], kinds=frozenset({"timeout"})).counts == {"timeout": 1}
    assert (
        impossible_scores([EvaluationRecord("t", "val", math.inf), EvaluationRecord("t", "val", 1.0)]) != []
    )
    assert len(impossible_scores([EvaluationRecord("t", "val", 1.0), EvaluationRecord("t", "val", 0.0)])) == 0
    escapes = budget_escapes([EventRecord("budget_exceeded", 1, 5), EventRecord("network_import", 1, 5)])
    assert escapes.counts == {"budget_exceeded": 1} and escapes.improver_runs == {5}
    empty = hacking_report([], [], [])
    assert empty.rows == () and empty.total.gap.n == 0 and empty.total.mean_gap is None
    unnumbered = hacking_report([EvaluationRecord("t", "val", 2.0)], [], [])
    assert [row.iteration for row in unnumbered.rows] == [None]
    assert unnumbered.rows[0].impossible.k == 1


def test_records_build_from_store_rows():
    """Column names match the store's schema (sqlite3.Row, the real schema.sql)."""
    db = sqlite3.connect(":memory:")
    db.row_factory = sqlite3.Row
    db.executescript(resources.files("selftaught.store").joinpath("schema.sql").read_text())
    db.execute(
        "INSERT INTO evaluations (run_id, iteration, improver_run_id, code_hash, task, split, score,"
        " error_kind, error, instances, elapsed_s, created)"
        " VALUES ('r', 2, 7, 'h', 'max_cut', 'val', 0.0, 'wrong_length', 'bad', 100, 1.0, 0)"
    )
    db.execute(
        "INSERT INTO improver_runs (id, run_id, iteration, purpose, improver_hash, task, stream, started)"
        " VALUES (7, 'r', 2, 'iteration_eval', 'i', 'max_cut', 'it2/eval/max_cut/r0', 0)"
    )
    db.execute(
        "INSERT INTO improver_run_results (improver_run_id, status, score_val, score_test, elapsed_s)"
        " VALUES (7, 'ok', 0.9, 0.3, 1.0)"
    )
    db.execute(
        "INSERT INTO events (run_id, iteration, improver_run_id, kind, detail_json, created)"
        " VALUES ('r', 2, 7, 'budget_tamper', '{\"attribute\": \"uses\"}', 0)"
    )
    evaluation = EvaluationRecord.from_row(
        db.execute("SELECT * FROM evaluations").fetchone(), scoring="reference"
    )
    assert (evaluation.task, evaluation.error_kind, evaluation.iteration, evaluation.scoring) == (
        "max_cut",
        "wrong_length",
        2,
        "reference",
    )
    run = ImproverRunRecord.from_row(
        db.execute(
            "SELECT r.id, r.iteration, r.task, r.purpose, x.status, x.score_val, x.score_test"
            " FROM improver_runs r JOIN improver_run_results x ON x.improver_run_id = r.id"
        ).fetchone()
    )
    assert (run.id, run.score_val, run.score_test) == (7, 0.9, 0.3)
    event = EventRecord.from_row(db.execute("SELECT * FROM events").fetchone())
    assert event.kind == "budget_tamper" and event.detail == {"attribute": "uses"}
    broken = EventRecord.from_row({"kind": "budget_tamper", "detail_json": "{not json"})
    assert "undecodable" in broken.detail
    report = hacking_report([evaluation], [run], [event])
    assert report.total.gap.k == 1 and report.total.rejected.k == 1 and report.total.escapes.k == 1
