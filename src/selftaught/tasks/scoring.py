"""Score a candidate solution with a task's hidden utility, running it only in the sandbox.

One child loads the candidate and is called once per instance. The clock runs on the
trusted side, from sending the input to receiving the output; an instance over the
task's time limit scores 0, and a candidate that does not answer is killed and a new
child is started for the remaining instances.

Transfer credit: sending an instance costs time that is not the candidate's (a 200-node
Max-Cut matrix takes about 16 ms to encode, send and decode as JSON, a sixth of its
100 ms limit). Before the candidate's code is loaded, the first child is asked to echo
every instance's arguments through a trusted no-op function; that round trip is the
instance's credit, subtracted from the time charged to the candidate (and added to its
kill deadline). The credit is measured while only our code runs in the child, so the
candidate cannot inflate it; it is capped at half the time limit. It depends on the
instance, not on the candidate, so it is measured once per task and split and reused for
CREDIT_MAX_AGE_S (measuring it on every scoring doubled the calls a scoring makes; measuring
it again now and then follows the machine's load).

Two scoring modes: `strict` (the default) scores each instance on its own and accepts
only honest answers; `reference` applies the reference implementation's rules, split
floors and loose acceptance included, to reproduce its figures and its reward-hacking
surface on purpose (see docs/tasks.md).
"""

from __future__ import annotations

import math
import time
import weakref
from dataclasses import dataclass, field
from typing import Any

from selftaught.sandbox.limits import Limits
from selftaught.sandbox.pool import Child, WorkerPool
from selftaught.sandbox.protocol import ProtocolError, from_wire, to_wire
from selftaught.seeding import stable_seed
from selftaught.tasks.base import SCORING_MODES, Instance, ReferenceRules, SplitFloor, Task

LOAD_TIMEOUT_S = 10.0
GIVE_UP_AFTER_KILLS = 3  # consecutive killed instances after which the rest score 0
MAX_CREDIT_SHARE = 0.5  # transfer credit never exceeds this share of the time limit
CREDIT_MAX_AGE_S = 10.0  # a measured transfer credit is reused this long
ECHO_ENTRY = "_selftaught_echo"
ECHO_SOURCE = f"def {ECHO_ENTRY}(*args):\n    return None\n"

_WIRE_CACHE: weakref.WeakKeyDictionary[Task, dict[str, list[Any]]] = weakref.WeakKeyDictionary()
_CREDIT_CACHE: weakref.WeakKeyDictionary[Task, dict[str, tuple[float, list[float]]]] = (
    weakref.WeakKeyDictionary()
)


@dataclass(frozen=True)
class SolutionScore:
    """The hidden utility of one solution on one split.

    `accepted_by_reference_only` counts instances whose output got credit only because
    `scoring="reference"` applied the reference's looser rules (a broadcast comparison, a
    third Max-Cut label, a non-permutation in MQAP...), so an audit can count them.
    """

    score: float
    instances: int
    error_kind: str | None = None
    error: str | None = None
    elapsed_s: float = 0.0
    scoring: str = "strict"
    accepted_by_reference_only: int = 0


def _kill_grace(limit: float) -> float:
    return limit + max(0.05, limit * 0.5)


def wire_args(task: Task, split: str, instances: list[Instance]) -> list[Any]:
    """Each instance's arguments in wire form, encoded once per task and split."""
    per_task = _WIRE_CACHE.setdefault(task, {})
    if split not in per_task or len(per_task[split]) != len(instances):
        per_task[split] = [to_wire(list(instance.args)) for instance in instances]
    return per_task[split]


def measure_transfer(child: Child, wires: list[Any], limit: float) -> list[float] | None:
    """Round-trip time of each instance's arguments through a trusted echo (no candidate code yet).

    None if the echo could not be measured (the candidate then gets no credit, and the
    next scoring measures again).
    """
    cap = MAX_CREDIT_SHARE * limit
    loaded = child.run({"op": "load", "source": ECHO_SOURCE, "entry": ECHO_ENTRY}, wall_s=LOAD_TIMEOUT_S)
    if not loaded.ok:
        return None
    credits = []
    for wire in wires:
        reply = child.run({"op": "call", "args": wire}, wall_s=LOAD_TIMEOUT_S)
        if not reply.ok:
            return None
        credits.append(min(reply.elapsed_s, cap))
    return credits


def transfer_credits(task: Task, split: str, child: Child, wires: list[Any]) -> list[float]:
    """Each instance's transfer credit: measured with `child`, then reused for CREDIT_MAX_AGE_S."""
    per_task = _CREDIT_CACHE.setdefault(task, {})
    known = per_task.get(split)
    now = time.monotonic()
    if known is not None and len(known[1]) == len(wires) and now - known[0] < CREDIT_MAX_AGE_S:
        return known[1]
    measured = measure_transfer(child, wires, task.time_limit_s)
    if measured is None:
        return [0.0] * len(wires)
    per_task[split] = (now, measured)
    return measured


@dataclass
class _Tally:
    """What scoring one split has found so far."""

    scores: list[float] = field(default_factory=list)
    first_error: tuple[str, str] | None = None
    lenient: int = 0

    def problem(self, kind: str, message: str) -> None:
        self.first_error = self.first_error or (kind, message)


def _floors(rules: ReferenceRules, event: str) -> bool:
    return rules.floor_on_timeout if event == "timeout" else rules.floor_on_error


def score_solution(
    task: Task, code: object, split: str, pool: WorkerPool, *, scoring: str = "strict"
) -> SolutionScore:
    """Score of `code` on `split`; never raises for anything the code does.

    `strict` (the default): the mean of per-instance scores in [0, 1], where a raise, a
    timeout or a malformed output scores 0 for that instance only. `reference`: the
    reference implementation's rules for this task (`task.reference_rules` and
    `task.reference_check`): the whole split floors on the first raise or timeout where
    the reference did so, and outputs are judged as loosely as it judged them.
    """
    if scoring not in SCORING_MODES:
        raise ValueError(f"unknown scoring mode {scoring!r} (use strict or reference)")
    own_route = getattr(task, "score_in_sandbox", None)
    if callable(own_route):  # a task scored across several children of its own (tasks/field/shinka.py)
        return own_route(code, split, pool, scoring=scoring)
    reference = scoring == "reference"
    rules = task.reference_rules
    started = time.monotonic()
    instances = task.instances(split)

    def result(score: float, kind: str | None, message: str | None, lenient: int = 0) -> SolutionScore:
        return SolutionScore(
            score, len(instances), kind, message, time.monotonic() - started, scoring, lenient
        )

    load_value = rules.load_failure if reference else 0.0
    if not isinstance(code, str) or not code.strip():
        return result(load_value, "empty", "no solution source")
    program = task.program(code)
    seed = stable_seed("solution", task.name, split, code)
    wires = wire_args(task, split, instances)
    limit = task.time_limit_s
    per_call = _kill_grace(limit)
    cpu_s = LOAD_TIMEOUT_S + len(instances) * (per_call + MAX_CREDIT_SHARE * limit + 0.05)
    limits = Limits(wall_s=LOAD_TIMEOUT_S, cpu_s=int(math.ceil(cpu_s)) + 5)
    tally = _Tally()
    credits: list[float] | None = None
    child = None
    consecutive_kills = 0

    def failed(index: int, event: str, kind: str, message: str) -> SolutionScore | None:
        """An instance that raised or ran out of time: the split's end under reference rules, else 0."""
        tally.problem(kind, message)
        if reference and _floors(rules, event):
            note = f"{message} (instance {index}; the reference's rules floor the split)"
            return result(rules.floor, kind, note, tally.lenient)
        tally.scores.append(0.0)
        return None

    try:
        for index, instance in enumerate(instances):
            if consecutive_kills >= GIVE_UP_AFTER_KILLS:
                tally.scores.append(0.0)
                continue
            if child is None:
                child = pool.spawn(limits)
                if credits is None:
                    credits = transfer_credits(task, split, child, wires)
                loaded = child.run(
                    {"op": "load", "source": program, "entry": task.entry, "seed": seed},
                    wall_s=LOAD_TIMEOUT_S,
                )
                if not loaded.ok:
                    return result(load_value, loaded.error_kind, loaded.error)
            credit = credits[index] if credits is not None else 0.0
            reply = child.run({"op": "call", "args": wires[index]}, wall_s=per_call + credit)
            if not reply.ok:
                if not child.alive:
                    child = None
                    consecutive_kills += 1
                kind = reply.error_kind or "error"
                floored = failed(index, "timeout" if kind == "timeout" else "error", kind, reply.error or "")
                if floored is not None:
                    return floored
                continue
            consecutive_kills = 0
            charged = max(0.0, reply.elapsed_s - credit)
            if charged > limit:
                floored = failed(index, "timeout", "time_limit", f"{charged * 1000:.0f} ms > limit")
                if floored is not None:
                    return floored
                continue
            try:
                output = from_wire(reply.value)
            except ProtocolError as exc:
                floored = failed(index, "error", "protocol", str(exc))
                if floored is not None:
                    return floored
                continue
            if not reference:
                try:
                    value = task.check_timed(instance, output, charged)
                except Exception as exc:  # a checker that chokes on a malformed output: it scores 0
                    value = 0.0
                    tally.problem("check_error", f"{exc.__class__.__name__}: {exc}")
                tally.scores.append(_clipped(value))
                continue
            try:
                verdict = task.reference_check(instance, output, charged)
            except SplitFloor as floor:
                return result(floor.value, "reference_floor", f"instance {index}: {floor}", tally.lenient)
            except Exception as exc:  # the reference ran its check inside the candidate's try block
                floored = failed(index, "error", "check_error", f"{exc.__class__.__name__}: {exc}")
                if floored is not None:
                    return floored
                continue
            tally.scores.append(_finite(verdict.value))
            tally.lenient += bool(verdict.lenient)
    finally:
        if child is not None:
            child.close()
    error_kind: str | None = None
    message: str | None = None
    if tally.first_error is not None:
        error_kind, message = tally.first_error
    score = sum(tally.scores) / len(instances)
    if reference:
        score = max(score, rules.minimum)
    return result(score, error_kind, message, tally.lenient)


def _finite(value: object) -> float:
    """A reference-rule score as the reference left it (not clipped; NaN and infinities score 0)."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0
    return number if math.isfinite(number) else 0.0


def _clipped(value: object) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0
    return min(1.0, max(0.0, number)) if math.isfinite(number) else 0.0
