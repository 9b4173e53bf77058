"""Schema 3: a version-2 store gains the audit tables and the reference-only column, keeping its rows."""

from __future__ import annotations

import sqlite3

from selftaught.store import SCHEMA_VERSION, Store
from selftaught.store.migrations import MIGRATIONS, _run_script


def _version_2_store(path) -> None:
    """A store as schema version 2 left it, with one evaluation."""
    db = sqlite3.connect(path, isolation_level=None)
    for migration in MIGRATIONS[:2]:
        _run_script(db, migration.script())
    db.execute("INSERT INTO schema_info(version) VALUES (2)")
    db.execute("PRAGMA user_version = 2")
    db.execute("INSERT INTO runs VALUES ('r1', 'stop', 1.0, '{}', 'script:x.py', 'script:x', '0.1.0')")
    db.execute("INSERT INTO sources VALUES ('h1', 'solution', 'def algorithm(): pass')")
    db.execute(
        "INSERT INTO evaluations (run_id, iteration, code_hash, task, split, score, instances, "
        "elapsed_s, created) VALUES ('r1', 0, 'h1', 'parity_noise', 'val', 0.5, 20, 0.1, 1.0)"
    )
    db.close()


def test_a_version_2_store_migrates_and_keeps_its_rows(tmp_path):
    path = tmp_path / "v2.db"
    _version_2_store(path)
    store = Store.open(path)
    assert store.schema_version == SCHEMA_VERSION >= 3
    (old,) = store.evaluations("r1")
    assert old.score == 0.5 and old.accepted_by_reference_only is None
    store.add_evaluation(
        run_id="r1", iteration=1, improver_run_id=None, code_hash="h1", task="parity_noise", split="val",
        score=0.5, instances=20, elapsed_s=0.1, accepted_by_reference_only=3,
    )  # fmt: skip
    assert [e.accepted_by_reference_only for e in store.evaluations("r1")] == [None, 3]
    run_id = store.new_run("audit", {"audit": "circumvention"}, "script:x.py", "script:x")
    findings = [{"label": "sandbox_off", "line": 4, "text": "utility(c, use_sandbox=False)", "detail": "x"}]
    item = store.add_audit_item(
        findings,
        run_id=run_id,
        audit="circumvention",
        item="0",
        classifier="ast",
        labels_json='["sandbox_off"]',
    )
    (record,) = store.audit_items(run_id, "circumvention")
    assert record.id == item and record.labels == ["sandbox_off"]
    (finding,) = store.audit_findings(run_id)[item]
    assert (finding.label, finding.line, finding.text) == ("sandbox_off", 4, "utility(c, use_sandbox=False)")
    store.close()
    assert Store.open(path).schema_version == SCHEMA_VERSION  # opening again changes nothing
