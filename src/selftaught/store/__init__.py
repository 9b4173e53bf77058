"""The run store: SQLite schema, migrations, writes and the read API (records named like columns)."""

from selftaught.store.migrations import SCHEMA_VERSION, StoreError
from selftaught.store.records import (
    AuditFindingRecord,
    AuditItemRecord,
    EvaluationRecord,
    EventRecord,
    ImproverRunRecord,
    IterationRecord,
    ModelCallRecord,
    RunRecord,
)
from selftaught.store.store import Store, default_store_path, source_hash

RunStore = Store

__all__ = [
    "SCHEMA_VERSION",
    "AuditFindingRecord",
    "AuditItemRecord",
    "EvaluationRecord",
    "EventRecord",
    "ImproverRunRecord",
    "IterationRecord",
    "ModelCallRecord",
    "RunRecord",
    "RunStore",
    "Store",
    "StoreError",
    "default_store_path",
    "source_hash",
]
