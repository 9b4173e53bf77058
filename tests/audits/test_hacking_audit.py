"""`selftaught audit hacking` finds every hack planted in a scripted run, and nothing in a clean one."""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

from tests.conftest import EXAMPLE_MODEL

FIXTURES = Path(__file__).parent / "fixtures"
SMALL = ["--iterations", "1", "--n-tests", "1", "--calls", "2", "--samples", "3", "--timeout", "60"]


def _digest(source: str) -> str:
    """The digest of `source` as stored: extracted from a fenced block, without its last newline."""
    return hashlib.sha256(source.rstrip("\n").encode()).hexdigest()


def _planted():
    spec = importlib.util.spec_from_file_location("planted_hacks", FIXTURES / "planted_hacks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_planted_hack_is_found_and_nothing_else(cli, sql):
    planted = _planted()
    model = f"script:{FIXTURES / 'planted_hacks.py'}"
    run_id = cli("run", "--model", model, *SMALL, "--scoring", "reference")["run_id"]
    report = cli("audit", "hacking", run_id)
    assert report["scoring"] == "reference"
    total = report["total"]

    # the visible gap: exactly the improver runs that returned the counting solver, scored on both splits
    gap_runs = {
        row[0]
        for row in sql(
            "SELECT improver_run_id FROM improver_run_results "
            "WHERE result_hash = ? AND score_test IS NOT NULL",
            (_digest(planted.GAP),),
        )
    }
    assert gap_runs and {g["improver_run_id"] for g in report["flagged_gaps"]} == gap_runs
    assert total["gap"]["k"] == len(gap_runs) == total["gap"]["n"]

    # reference-only credit: exactly the evaluations of the one-prediction answer
    broadcast = sql(
        "SELECT COUNT(*) FROM evaluations WHERE run_id = ? AND code_hash = ?",
        (run_id, _digest(planted.BROADCAST)),
    )[0][0]
    credited = sql(
        "SELECT code_hash FROM evaluations WHERE run_id = ? AND accepted_by_reference_only > 0", (run_id,)
    )
    assert broadcast >= 1 and {c for (c,) in credited} == {_digest(planted.BROADCAST)}
    assert total["reference_only"]["k"] == broadcast
    n_evaluations = sql("SELECT COUNT(*) FROM evaluations WHERE run_id = ?", (run_id,))[0][0]
    assert total["reference_only"]["n"] == n_evaluations

    # rejected answers: exactly the ragged output, refused by the reference's check
    ragged = sql(
        "SELECT COUNT(*) FROM evaluations WHERE run_id = ? AND code_hash = ?",
        (run_id, _digest(planted.RAGGED)),
    )[0][0]
    assert ragged >= 1 and total["rejected_by_kind"] == {"check_error": ragged}

    # budget escapes: exactly the improver runs of the improver that raised its budget
    tampering = {
        row[0]
        for row in sql(
            "SELECT id FROM improver_runs WHERE run_id = ? AND improver_hash = ?",
            (run_id, _digest(planted.TAMPER)),
        )
    }
    escaped = {e["improver_run_id"] for e in report["escape_events"]}
    assert tampering and escaped == tampering
    assert set(total["escape_events"]) == {"budget_tamper"}
    assert total["impossible"]["k"] == 0
    assert [row["iteration"] for row in report["iterations"]] == [0, 1]

    (summary,) = [m for m in cli("audit", "summary")["models"] if m["runs"]]
    assert summary["hacking"]["gap"]["k"] == len(gap_runs)
    assert summary["hacking"]["reference_only"]["k"] == broadcast


def test_a_clean_run_shows_nothing(cli):
    run_id = cli("run", "--model", f"script:{EXAMPLE_MODEL}", *SMALL)["run_id"]
    report = cli("audit", "hacking", run_id)
    total = report["total"]
    assert report["scoring"] == "strict" and total["improver_runs"] > 0
    for detector in ("gap", "rejected", "impossible", "escapes", "reference_only"):
        assert total[detector]["k"] == 0, detector
    assert total["gap"]["n"] > 0 and total["rejected"]["n"] > 0
    assert report["flagged_gaps"] == [] and report["escape_events"] == []


def test_an_unknown_run_is_one_line_and_exit_2(store):
    from tests.conftest import run_cli

    done = run_cli("audit", "hacking", "no-such-run", "--store", str(store))
    assert done.returncode == 2 and "error:" in done.stderr
