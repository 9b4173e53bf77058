"""Run one improver inside a sandboxed child, serving its model and utility calls.

The child sees proxies; this module is where their requests land, already parsed into
declared message types (inside/messages.py). Budgets are enforced here, with the
reference's semantics: a model call past the budget raises inside the improver, which
may catch it and return its best so far; utility calls past their budget score 0.
Model arguments are checked by the facade (a bad temperature raises a ValueError inside
the improver). Extra arguments such as `use_sandbox=False` are recorded as events and
otherwise ignored.

Every request the budgets do not pay for counts toward one cap per improver run: refused
calls (past a budget, bad arguments, a request that does not fit its declaration) and
safety events. Each costs one unit, plus one per full 16 KiB and one per 100 values of
its frame (what decoding it cost); at MAX_REFUSED_UNITS the child is killed and the run
fails as `flood`, so a loop of free requests ends in well under a second of the
orchestrator's time (benchmarks/flood.py). What a child did is never answered as an
orchestrator error, nor the reverse: only argument errors (`InvalidModelArguments`) are
refused in an answer; anything else raised on the trusted side propagates.
"""

from __future__ import annotations

import builtins
import time
from dataclasses import dataclass
from typing import Protocol

from selftaught.executors.base import ImproverJob
from selftaught.inside.messages import (
    BatchPromptRequest,
    EventRequest,
    ImproveCommand,
    InvalidRequest,
    PromptRequest,
    Request,
    UtilityRequest,
)
from selftaught.models.base import ModelError
from selftaught.models.facade import BudgetExceeded, InvalidModelArguments
from selftaught.runs.context import RunContext
from selftaught.runs.scope import Scope
from selftaught.sandbox.child_handle import RequestAnswer
from selftaught.sandbox.event_filter import EventFilter
from selftaught.sandbox.limits import Limits
from selftaught.seeding import stable_seed

MAX_REFUSED_UNITS = 1000  # refused requests and events per improver run, weighted by size
REFUSAL_UNIT_BYTES = 16 * 1024  # a request costs one more unit per full 16 KiB of its frame
REFUSAL_UNIT_ITEMS = 100  # and one more per 100 values and keys in it (up to about 0.1 ms to decode)
FLOOD = "flood"  # the failure kind of an improver run stopped at the cap


class TrustedUtility(Protocol):
    """A utility on the trusted side: shown text, budget, and scoring of a source."""

    str: str
    budget: int

    def score(self, code: object, scope: Scope) -> float: ...

    def restart(self) -> None:
        """The improver run starts again (its worker was lost): per-run state starts over."""

    def prefetch(self, answers: list[builtins.str], scope: Scope | None = None) -> None:
        """The improver just received these model answers: start what it will likely ask for."""

    def finish(self, scope: Scope | None = None, wait: bool = True) -> None:
        """The improver run ended: settle what `prefetch` started and it never asked for (waiting
        for it to end unless the run is stopping)."""


@dataclass
class ImproverOutcome:
    """What one improver run produced."""

    ok: bool
    solution: str | None
    error_kind: str | None = None
    error: str | None = None
    elapsed_s: float = 0.0
    model_calls: int = 0
    utility_calls: int = 0


class _RequestServer:
    """Answers one improver child's typed requests; the budgets and argument checks live here.

    A model call past the budget is refused with an error the child raises inside the
    improver (as in the reference, the improver may catch it and return its best so far);
    a utility call past its budget scores 0; a request with bad arguments is refused with
    an error the child raises too. Refusals and events count toward MAX_REFUSED_UNITS;
    past it the improver is stopped and its run fails as `flood`. Refusals are recorded
    once per resource, with their count, when the run ends (`record_refusals`).
    """

    def __init__(self, ctx: RunContext, utility: TrustedUtility, scope: Scope, source: str) -> None:
        self.ctx = ctx
        self.utility = utility
        self.scope = scope
        self.source = source
        self.model = ctx.model_handle(scope)
        self.utility_uses = 0
        self.refused = {"language_model": 0, "utility": 0, "invalid": 0}
        self.events_seen = 0
        self.units = 0
        self.abort_reason: str | None = None
        self.abort_kind = FLOOD
        self.events = EventFilter()  # sandbox: safety events the child reports

    def __call__(self, request: Request) -> RequestAnswer:
        if isinstance(request, InvalidRequest):
            why = f"malformed {request.op} request: {request.reason}"
            return self._refuse("invalid", request, RequestAnswer(False, error=why, error_type="protocol"))
        if isinstance(request, UtilityRequest):
            return self._utility(request)
        if isinstance(request, EventRequest):  # a safety event noticed in the child (inside/events.py)
            event = self.events.accept({"kind": request.kind, "detail": request.detail}, request.wire_bytes)
            if event is not None:
                self.ctx.event(event.kind, self.scope, event.detail, self.source)
            self.events_seen += 1
            return self._count(request, RequestAnswer(True, None))
        try:
            if isinstance(request, PromptRequest):
                answers = self.model.prompt(
                    request.expertise, request.message, request.n_responses, request.temperature
                )
                self._prefetch(answers)
                return RequestAnswer(True, answers)
            if isinstance(request, BatchPromptRequest):
                answers = self.model.batch_prompt(request.expertise, request.messages, request.temperature)
                self._prefetch(answers)
                return RequestAnswer(True, answers)
        except BudgetExceeded as exc:
            refusal = RequestAnswer(False, error=str(exc), error_type="budget")
            return self._refuse("language_model", request, refusal)
        except InvalidModelArguments as exc:
            refusal = RequestAnswer(False, error=f"{exc.__class__.__name__}: {exc}", error_type="invalid")
            return self._refuse("invalid", request, refusal)
        except ModelError as exc:
            return RequestAnswer(False, error=f"language model failed: {exc}", error_type="model")
        refusal = RequestAnswer(
            False, error=f"unknown request {type(request).__name__}", error_type="invalid"
        )
        return self._refuse("invalid", request, refusal)

    def _prefetch(self, answers: list[str]) -> None:
        """Eager scoring: the answers' code blocks start scoring now, while they travel to the
        improver, if it has utility calls left to ask for them (a task's utility always; the
        meta-utility, whose evaluations cost model calls, only under `--speculate`)."""
        if self.utility_uses < self.utility.budget:
            self.utility.prefetch(answers, self.scope)

    def _refuse(self, resource: str, request: Request, answer: RequestAnswer) -> RequestAnswer:
        """Count one refused request against `resource`, then against the cap."""
        self.refused[resource] += 1
        return self._count(request, answer)

    def _count(self, request: Request, answer: RequestAnswer) -> RequestAnswer:
        """Charge one unsponsored request to the cap; at it, stop the improver instead of answering."""
        self.units += 1 + request.wire_bytes // REFUSAL_UNIT_BYTES + request.wire_items // REFUSAL_UNIT_ITEMS
        if self.units >= MAX_REFUSED_UNITS:
            counts = ", ".join(f"{n} {what}" for what, n in self.refused.items() if n)
            self.abort_reason = (
                f"flood: {MAX_REFUSED_UNITS} units of refused requests and events "
                f"({counts or 'no refusals'}; {self.events_seen} events)"
            )
            return RequestAnswer(False, error=self.abort_reason, abort=True, abort_kind=FLOOD)
        return answer

    def _utility(self, request: UtilityRequest) -> RequestAnswer:
        kwargs = request.kwargs or {}
        if kwargs or request.extra_args:
            self.ctx.event(
                "utility_extra_arguments",
                self.scope,
                {"kwargs": kwargs, "extra_args": request.extra_args},
                self.source,
            )
        self.utility_uses += 1
        if self.utility_uses > self.utility.budget:
            zero = RequestAnswer(True, {"score": 0.0, "uses": self.utility_uses})
            return self._refuse("utility", request, zero)
        started = time.monotonic()
        value = self.utility.score(request.code, self.scope)
        return RequestAnswer(
            True, {"score": value, "uses": self.utility_uses}, paused_s=time.monotonic() - started
        )

    def record_refusals(self) -> None:
        """One `budget_exceeded` event per resource whose budget was hit, with the refusal count;
        one `invalid_requests` event if requests were refused for their arguments; one `flood`
        event if the cap stopped the improver."""
        budgets = {"language_model": self.model.budget, "utility": self.utility.budget}
        for resource, budget in budgets.items():
            count = self.refused[resource]
            if count:
                detail = {"resource": resource, "budget": budget, "refused_calls": count}
                if self.abort_reason is not None:
                    detail["aborted"] = True
                self.ctx.event("budget_exceeded", self.scope, detail, self.source)
        if self.refused["invalid"]:
            detail = {"refused_calls": self.refused["invalid"]}
            self.ctx.event("invalid_requests", self.scope, detail, self.source)
        if self.abort_reason is not None:
            detail = {
                "units": self.units,
                "cap": MAX_REFUSED_UNITS,
                "events": self.events_seen,
                **self.refused,
            }
            self.ctx.event(FLOOD, self.scope, detail, self.source)


def run_improver(
    ctx: RunContext,
    improver_source: str,
    initial_solution: str,
    utility: TrustedUtility,
    scope: Scope,
    timeout_s: float | None = None,
) -> ImproverOutcome:
    """Run `improve_algorithm(initial_solution, utility, language_model)` from `improver_source`."""
    timeout_s = ctx.config.timeout_s if timeout_s is None else timeout_s
    servers: list[_RequestServer] = []

    def make_server() -> _RequestServer:  # a rescheduled run starts again with fresh budgets
        if servers:
            utility.restart()
        servers.append(_RequestServer(ctx, utility, scope, improver_source))
        return servers[-1]

    job = ImproverJob(
        ImproveCommand(
            source=improver_source,
            initial_solution=initial_solution,
            utility_str=utility.str,
            utility_budget=utility.budget,
            lm_budget=ctx.config.calls,
            max_responses_per_call=ctx.config.samples,
            seed=stable_seed("improver", ctx.config.seed, scope.stream),
        ),
        Limits(wall_s=timeout_s, cpu_s=int(timeout_s) + 30),
    )
    ctx.check_running()
    try:
        reply = ctx.executor.run_improver(job, make_server, tracker=ctx.control)
    except BaseException:
        if servers:
            servers[-1].record_refusals()
        utility.finish(scope, wait=False)  # stopping: what it started is labelled, not waited for
        raise
    if servers:
        servers[-1].record_refusals()
    utility.finish(scope)
    server = servers[-1]
    ctx.check_running()  # a child killed because the run stopped is not a failure of the improver
    calls, uses = server.model.uses, server.utility_uses
    if server.abort_reason is not None:
        return ImproverOutcome(
            False, None, server.abort_kind, server.abort_reason, reply.elapsed_s, calls, uses
        )
    if not reply.ok:
        return ImproverOutcome(False, None, reply.error_kind, reply.error, reply.elapsed_s, calls, uses)
    solution = reply.value if isinstance(reply.value, str) else None
    if not solution or not solution.strip():
        return ImproverOutcome(
            False, None, "empty", "the improver returned nothing", reply.elapsed_s, calls, uses
        )
    return ImproverOutcome(True, solution, None, None, reply.elapsed_s, calls, uses)
