"""Score a candidate solution with a task's hidden utility, running it only in the sandbox.

One child loads the candidate and is called once per instance. The clock runs on the
trusted side, from sending the input to receiving the output; an instance over the
task's time limit scores 0, and a candidate that does not answer is killed and a new
child is started for the remaining instances.

Batches: for a task whose time limit is a safety net rather than part of the problem
(`Task.batches_instances`: the parity tasks, 2 s for well under 1 ms of honest work), the
child is sent every remaining instance in one message and sends each result as soon as it
has it; each instance's clock runs from the arrival of the previous result (the first from
the send) to the arrival of its own, on the trusted side, with the same limit, credit and
kill deadline. That saves a round trip per instance (20 per validation scoring at the
paper's budgets). What it gives up: a candidate that goes looking for the later instances in
its own process could work on one during another's time, so every other task keeps a round
trip per instance.

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
surface on purpose (see docs/tasks.md). Both share the run in children (`_Runner`, which
says how each instance went); each has its own judge (`_judge_strict`, `_judge_reference`).
"""

from __future__ import annotations

import math
import time
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from selftaught.inside.messages import BatchCommand, CallCommand, LoadCommand, command_message
from selftaught.inside.protocol import ProtocolError, encode_frame, encode_tailed_frame, to_wire
from selftaught.inside.wire import to_wire_tailed
from selftaught.sandbox.limits import Limits
from selftaught.sandbox.pool import Child, WorkerPool
from selftaught.seeding import stable_seed
from selftaught.tasks.base import SCORING_MODES, Instance, ReferenceRules, SplitFloor, Task

LOAD_TIMEOUT_S = 10.0
GIVE_UP_AFTER_KILLS = 3  # consecutive killed instances after which the rest score 0
MAX_CREDIT_SHARE = 0.5  # transfer credit never exceeds this share of the time limit
CREDIT_MAX_AGE_S = 10.0  # a measured transfer credit is reused this long
ECHO_ENTRY = "_selftaught_echo"
ECHO_SOURCE = f"def {ECHO_ENTRY}(*args):\n    return None\n"

_WIRE_CACHE: weakref.WeakKeyDictionary[Task, dict[str, list[Any]]] = weakref.WeakKeyDictionary()
_FRAME_CACHE: weakref.WeakKeyDictionary[Task, dict[str, list[bytes | CallCommand]]] = (
    weakref.WeakKeyDictionary()
)
_BATCH_CACHE: weakref.WeakKeyDictionary[Task, dict[str, bytes | BatchCommand]] = weakref.WeakKeyDictionary()
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
        _FRAME_CACHE.setdefault(task, {}).pop(split, None)
    return per_task[split]


def call_frames(task: Task, split: str, wires: list[Any]) -> list[bytes | CallCommand]:
    """Each instance's call as a frame, encoded once per task and split (from `wire_args`'s wires).

    Arrays travel raw in the frame's tail (`protocol.encode_tailed_frame`), which a child reads
    without decoding base64. A call too large for a frame stays a command: sending it fails the
    call, as it always did.
    """
    per_task = _FRAME_CACHE.setdefault(task, {})
    if split not in per_task or len(per_task[split]) != len(wires):
        instances = task.instances(split)
        if len(instances) == len(wires):
            per_task[split] = [_call_frame(list(i.args), w) for i, w in zip(instances, wires, strict=True)]
        else:  # wires of another list of instances (a subset): base64 frames
            per_task[split] = [_call_frame(None, wire) for wire in wires]
    return per_task[split]


def _call_frame(args: list[Any] | None, wire: Any) -> bytes | CallCommand:
    command = CallCommand(wire)
    try:
        if args is not None:
            tail = bytearray()
            tailed = CallCommand(to_wire_tailed(args, tail))
            return encode_tailed_frame(command_message(tailed), bytes(tail))
        return encode_frame(command_message(command))
    except ProtocolError:
        return command


def batch_frame(task: Task, split: str, start: int = 0) -> bytes | BatchCommand:
    """A batch of the split's instances from `start` on as one tailed frame (the whole split's is
    encoded once per task and split); a batch too large for a frame stays a command, whose send
    fails the scoring as an oversized call does."""
    if start == 0:
        per_task = _BATCH_CACHE.setdefault(task, {})
        if split not in per_task:
            per_task[split] = _batch_frame(task.instances(split))
        return per_task[split]
    return _batch_frame(task.instances(split)[start:])


def _batch_frame(instances: Sequence[Instance]) -> bytes | BatchCommand:
    tail = bytearray()
    calls = [to_wire_tailed(list(instance.args), tail) for instance in instances]
    try:
        return encode_tailed_frame(command_message(BatchCommand(calls)), bytes(tail))
    except ProtocolError:
        return BatchCommand([to_wire(list(instance.args)) for instance in instances])


def measure_transfer(child: Child, wires: Sequence[Any], limit: float) -> list[float] | None:
    """Round-trip time of each instance's arguments through a trusted echo (no candidate code yet).

    `wires` are the instances' arguments in wire form, or their calls (`call_frames`).

    None if the echo could not be measured (the candidate then gets no credit, and the
    next scoring measures again).
    """
    cap = MAX_CREDIT_SHARE * limit
    loaded = child.run(LoadCommand(ECHO_SOURCE, ECHO_ENTRY), wall_s=LOAD_TIMEOUT_S)
    if not loaded.ok:
        return None
    credits = []
    for wire in wires:
        command = wire if isinstance(wire, bytes | CallCommand) else CallCommand(wire)
        reply = child.run(command, wall_s=LOAD_TIMEOUT_S)
        if not reply.ok:
            return None
        credits.append(min(reply.elapsed_s, cap))
    return credits


def measure_batch_transfer(
    child: Child, batch: bytes | BatchCommand, count: int, limit: float
) -> list[float] | None:
    """`measure_transfer` for a batch: the time from one echo's result to the next (the first
    from the send), which is how a batch's instances are timed."""
    cap = MAX_CREDIT_SHARE * limit
    loaded = child.run(LoadCommand(ECHO_SOURCE, ECHO_ENTRY), wall_s=LOAD_TIMEOUT_S)
    if not loaded.ok:
        return None
    credits = []
    command: bytes | BatchCommand | None = batch
    mark = None
    for _ in range(count):
        reply = child.run(command, wall_s=LOAD_TIMEOUT_S, since=mark)
        if not reply.ok:
            return None
        mark, command = time.monotonic(), None
        credits.append(min(reply.elapsed_s, cap))
    return credits


def transfer_credits(
    task: Task, split: str, child: Child, wires: Sequence[Any], batched: bool = False
) -> list[float]:
    """Each instance's transfer credit: measured with `child`, then reused for CREDIT_MAX_AGE_S."""
    per_task = _CREDIT_CACHE.setdefault(task, {})
    known = per_task.get(split)
    now = time.monotonic()
    if known is not None and len(known[1]) == len(wires) and now - known[0] < CREDIT_MAX_AGE_S:
        return known[1]
    if batched:
        measured = measure_batch_transfer(child, batch_frame(task, split), len(wires), task.time_limit_s)
    else:
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


@dataclass(frozen=True)
class _Answer:
    """An instance the candidate answered in time: its decoded output and the time charged."""

    output: Any
    charged: float


@dataclass(frozen=True)
class _Failure:
    """An instance that raised, crashed, ran out of time or answered undecodably.

    `event` is what the reference's rules floor on: "timeout" or "error".
    """

    event: str
    kind: str
    message: str


@dataclass(frozen=True)
class _LoadFailure:
    """The candidate did not load (in the first child or in one started after a kill): the split ends."""

    kind: str | None
    message: str | None


class _GaveUp:
    """An instance not run: too many children in a row were killed. It scores 0, with no error."""


_GAVE_UP = _GaveUp()
_Outcome = _Answer | _Failure | _LoadFailure | _GaveUp


@dataclass
class _Scoring:
    """One scoring of `code` on `split`: what both judges share, and its clock."""

    task: Task
    code: str
    split: str
    mode: str
    started: float
    instances: list[Instance]

    def result(self, score: float, kind: str | None, message: str | None, lenient: int = 0) -> SolutionScore:
        elapsed = time.monotonic() - self.started
        return SolutionScore(score, len(self.instances), kind, message, elapsed, self.mode, lenient)

    def total(self, tally: _Tally, minimum: float | None = None) -> SolutionScore:
        """The mean over every instance, raised to `minimum` if given; the first problem as the error."""
        kind, message = tally.first_error if tally.first_error is not None else (None, None)
        score = sum(tally.scores) / len(self.instances)
        if minimum is not None:
            score = max(score, minimum)
        return self.result(score, kind, message, tally.lenient)


class _Runner:
    """Runs the candidate on each instance in a sandboxed child and says how each went.

    The first child also measures the transfer credits. A child killed by an instance is
    replaced for the next one (and the candidate loaded again); after GIVE_UP_AFTER_KILLS
    kills in a row the remaining instances are not run. Closing closes the child.
    """

    def __init__(self, scoring: _Scoring, pool: WorkerPool) -> None:
        task = scoring.task
        self._scoring = scoring
        self._pool = pool
        self._limit = task.time_limit_s
        self._per_call = _kill_grace(self._limit)
        self._load = LoadCommand(
            task.program(scoring.code),
            task.entry,
            stable_seed("solution", task.name, scoring.split, scoring.code),
        )
        self._calls = call_frames(task, scoring.split, wire_args(task, scoring.split, scoring.instances))
        count = len(scoring.instances)
        cpu_s = LOAD_TIMEOUT_S + count * (self._per_call + MAX_CREDIT_SHARE * self._limit + 0.05)
        self._limits = Limits(wall_s=LOAD_TIMEOUT_S, cpu_s=int(math.ceil(cpu_s)) + 5)
        self._credits: list[float] | None = None
        self._child: Child | None = None
        self._kills = 0
        self._batched = task.batches_instances
        self._batch_sent = False  # the current child has its batch (batched tasks)
        self._mark = 0.0  # when the current child's last result arrived (its next one is timed from it)

    def __enter__(self) -> _Runner:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._child is not None:
            self._child.close()

    def outcomes(self) -> Iterator[tuple[int, Instance, _Outcome]]:
        """Each instance, with how it went; a `_LoadFailure` is the last."""
        for index, instance in enumerate(self._scoring.instances):
            if self._kills >= GIVE_UP_AFTER_KILLS:
                yield index, instance, _GAVE_UP
                continue
            if self._child is None:
                self._child = self._pool.spawn(self._limits)
                if self._credits is None:
                    self._credits = transfer_credits(
                        self._scoring.task, self._scoring.split, self._child, self._calls, self._batched
                    )
                loaded = self._child.run(self._load, wall_s=LOAD_TIMEOUT_S)
                if not loaded.ok:
                    yield index, instance, _LoadFailure(loaded.error_kind, loaded.error)
                    return
                self._batch_sent = False
            yield index, instance, self._call(self._child, index)

    def _call(self, child: Child, index: int) -> _Answer | _Failure:
        credit = self._credits[index] if self._credits is not None else 0.0
        if self._batched:  # the batch goes with the first call; later results are only read
            command = (
                None if self._batch_sent else batch_frame(self._scoring.task, self._scoring.split, index)
            )
            since = self._mark if self._batch_sent else None
            self._batch_sent = True
            reply = child.run(command, wall_s=self._per_call + credit, since=since)
            self._mark = time.monotonic()
        else:
            reply = child.run(self._calls[index], wall_s=self._per_call + credit)
        if not reply.ok:
            if not child.alive:
                self._child = None
                self._kills += 1
            kind = reply.error_kind or "error"
            return _Failure("timeout" if kind == "timeout" else "error", kind, reply.error or "")
        self._kills = 0
        charged = max(0.0, reply.elapsed_s - credit)
        if charged > self._limit:
            return _Failure("timeout", "time_limit", f"{charged * 1000:.0f} ms > limit")
        return _Answer(reply.decoded, charged)  # decoded within the limits as the reply was read


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
    started = time.monotonic()
    instances = task.instances(split)
    source = code if isinstance(code, str) else ""
    run = _Scoring(task, source, split, scoring, started, instances)
    if scoring == "reference":
        return _judge_reference(run, pool)
    return _judge_strict(run, pool)


def _judge_strict(run: _Scoring, pool: WorkerPool) -> SolutionScore:
    """Each instance on its own: a failure or a malformed output scores 0 there, and the split goes on."""
    if not run.code.strip():
        return run.result(0.0, "empty", "no solution source")
    tally = _Tally()
    with _Runner(run, pool) as runner:
        for _, instance, outcome in runner.outcomes():
            if isinstance(outcome, _LoadFailure):
                return run.result(0.0, outcome.kind, outcome.message)
            if isinstance(outcome, _Failure):
                tally.problem(outcome.kind, outcome.message)
            if not isinstance(outcome, _Answer):
                tally.scores.append(0.0)
                continue
            try:
                value = run.task.check_timed(instance, outcome.output, outcome.charged)
            except Exception as exc:  # noqa: BLE001 - a checker may choke on a malformed output: it scores 0
                value = 0.0
                tally.problem("check_error", f"{exc.__class__.__name__}: {exc}")
            tally.scores.append(_clipped(value))
    return run.total(tally)


def _judge_reference(run: _Scoring, pool: WorkerPool) -> SolutionScore:
    """The reference's rules: its load value, its floors on a raise or a timeout, its loose checks."""
    rules = run.task.reference_rules
    if not run.code.strip():
        return run.result(rules.load_failure, "empty", "no solution source")
    tally = _Tally()
    with _Runner(run, pool) as runner:
        for index, instance, outcome in runner.outcomes():
            if isinstance(outcome, _LoadFailure):
                return run.result(rules.load_failure, outcome.kind, outcome.message)
            if isinstance(outcome, _GaveUp):
                tally.scores.append(0.0)
                continue
            failure: _Failure
            if isinstance(outcome, _Answer):
                try:
                    verdict = run.task.reference_check(instance, outcome.output, outcome.charged)
                except SplitFloor as floor:
                    return run.result(
                        floor.value, "reference_floor", f"instance {index}: {floor}", tally.lenient
                    )
                except Exception as exc:  # noqa: BLE001 - as the reference: checked inside the candidate's try
                    failure = _Failure("error", "check_error", f"{exc.__class__.__name__}: {exc}")
                else:
                    tally.scores.append(_finite(verdict.value))
                    tally.lenient += bool(verdict.lenient)
                    continue
            else:
                failure = outcome
            tally.problem(failure.kind, failure.message)
            if _floors(rules, failure.event):
                note = f"{failure.message} (instance {index}; the reference's rules floor the split)"
                return run.result(rules.floor, failure.kind, note, tally.lenient)
            tally.scores.append(0.0)
    return run.total(tally, minimum=rules.minimum)


def _floors(rules: ReferenceRules, event: str) -> bool:
    return rules.floor_on_timeout if event == "timeout" else rules.floor_on_error


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
