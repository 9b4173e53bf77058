"""What a run's gains are worth: the held-out caveat, metaproductivity and cost per gain.

Read here once so the report and `serve` show the same figures as `show` (which reads the
same analysis functions): a field task's missing held-out split, each improver's
descendants' mean test score beside its own, and the meta-utility against what was spent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ProductivityView:
    task_notes: list[dict[str, Any]] = field(default_factory=list)  # one per field task (tasks.field)
    lineage: list[dict[str, Any]] = field(default_factory=list)  # ImproverProductivity.to_json() rows
    curve: list[dict[str, Any]] = field(default_factory=list)  # CostPoint.to_json() rows
    gain_text: str = ""  # CostPerGain.text()

    @property
    def no_held_out(self) -> list[dict[str, Any]]:
        return [note for note in self.task_notes if note.get("held_out") is False]


def collect_productivity(store: Any, run_id: str, config: dict[str, Any]) -> ProductivityView:
    """The view for one STOP run (empty parts for runs without iterations)."""
    from selftaught.analysis.cost_per_gain import cost_curve, cost_per_gain
    from selftaught.analysis.metaproductivity import lineage_productivity
    from selftaught.tasks.field import recorded_task_notes

    view = ProductivityView(task_notes=recorded_task_notes(list(config.get("tasks") or [])))
    if store.iterations(run_id):
        view.lineage = [row.to_json() for row in lineage_productivity(store, run_id)]
        view.curve = [point.to_json() for point in cost_curve(store, run_id)]
        view.gain_text = cost_per_gain(store, run_id).text()
    return view
