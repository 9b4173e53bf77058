"""An arena's repeats as the report plots them: calls used against the test score, per arm.

Recomputed from the recorded improver runs, as the arena itself does (arena/internal.py,
arena/external_repeat.py): a repeat is the improver runs of one stream
`arena/<arm>/run<r>/<task>/r<i>` (an internal arm's rounds are `/k<n>` below it); its calls
are the model calls recorded under them; its program is the round best on validation (the
first of equals), and its score that program's recorded test score (0 when none returned).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

from selftaught.report.data import ImproverRunView, SplitScore

PURPOSE = "arena:"
_ROUND = re.compile(r"/k(\d+)$")


@dataclass(frozen=True)
class ArenaPoint:
    arm: str
    repeat: str  # the repeat's stream
    calls: int
    test: float


def _round_number(run: ImproverRunView) -> int:
    found = _ROUND.search(run.stream)
    return int(found.group(1)) if found else 0


def arena_points(
    runs: list[ImproverRunView], scores: dict[tuple[str, str, str], SplitScore]
) -> list[ArenaPoint]:
    groups: dict[tuple[str, str], list[ImproverRunView]] = defaultdict(list)
    for run in runs:
        if run.purpose.startswith(PURPOSE):
            groups[(run.purpose[len(PURPOSE) :], _ROUND.sub("", run.stream))].append(run)
    points = []
    for (arm, stream), rounds in groups.items():
        rounds.sort(key=_round_number)
        best: ImproverRunView | None = None
        for r in rounds:
            ok = r.status == "ok" and r.result_hash is not None and r.score_val is not None
            if ok and (best is None or r.score_val > best.score_val):  # type: ignore[operator]
                best = r
        test = 0.0
        if best is not None:
            if best.score_test is not None:
                test = best.score_test
            else:
                recorded = scores.get((best.result_hash or "", best.task or "", "test"))
                test = recorded.score if recorded is not None else 0.0
        points.append(ArenaPoint(arm, stream, sum(r.calls for r in rounds), test))
    return sorted(points, key=lambda p: (p.arm, p.repeat))
