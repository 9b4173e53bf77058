"""Run one improver inside a sandboxed child, serving its model and utility calls.

The child sees proxies; this module is where their requests land, already parsed into
declared message types (sandbox/messages.py). Budgets are enforced here, with the
reference's semantics: a model call past the budget raises inside the improver, which
may catch it and return its best so far; utility calls past their budget score 0; a
loop of refused calls is cut short after MAX_REFUSED_CALLS and fails the run as
`budget_exceeded`. Model arguments are checked by the facade (a bad temperature raises
a ValueError inside the improver). Extra arguments such as `use_sandbox=False` are
recorded as events and otherwise ignored.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

from selftaught.executors.base import ImproverJob
from selftaught.models.base import ModelError
from selftaught.models.facade import BudgetExceeded
from selftaught.sandbox.child_handle import RequestAnswer
from selftaught.sandbox.events import EventFilter
from selftaught.sandbox.limits import Limits
from selftaught.sandbox.messages import (
    BatchPromptRequest,
    EventRequest,
    PromptRequest,
    Request,
    UtilityRequest,
)
from selftaught.seeding import stable_seed
from selftaught.stop.context import RunContext, Scope

MAX_REFUSED_CALLS = 1000


class TrustedUtility(Protocol):
    """A utility on the trusted side: shown text, budget, and scoring of a source."""

    str: str
    budget: int

    def score(self, code: object, scope: Scope) -> float: ...


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
    a utility call past its budget scores 0. After `MAX_REFUSED_CALLS` refusals in all, the
    improver is stopped and its run fails as `budget_exceeded`. Refusals are recorded once
    per resource, with their count, when the run ends (`record_refusals`).
    """

    def __init__(self, ctx: RunContext, utility: TrustedUtility, scope: Scope, source: str) -> None:
        self.ctx = ctx
        self.utility = utility
        self.scope = scope
        self.source = source
        self.model = ctx.model_handle(scope)
        self.utility_uses = 0
        self.refused = {"language_model": 0, "utility": 0}
        self.abort_reason: str | None = None
        self.events = EventFilter()  # sandbox: safety events the child reports

    def __call__(self, request: Request) -> RequestAnswer:
        try:
            if isinstance(request, PromptRequest):
                return RequestAnswer(
                    True,
                    self.model.prompt(
                        request.expertise, request.message, request.n_responses, request.temperature
                    ),
                )
            if isinstance(request, BatchPromptRequest):
                return RequestAnswer(
                    True, self.model.batch_prompt(request.expertise, request.messages, request.temperature)
                )
            if isinstance(request, UtilityRequest):
                return self._utility(request)
            if isinstance(request, EventRequest):  # a safety event noticed in the child (sandbox/events.py)
                event = self.events.accept({"kind": request.kind, "detail": request.detail})
                if event is not None:
                    self.ctx.event(event.kind, self.scope, event.detail, self.source)
                return RequestAnswer(True, None)
        except BudgetExceeded as exc:
            refusal = RequestAnswer(False, error=str(exc), error_type="budget")
            return self._refuse("language_model", str(exc), refusal)
        except (TypeError, ValueError) as exc:
            return RequestAnswer(False, error=f"{exc.__class__.__name__}: {exc}", error_type="invalid")
        except ModelError as exc:
            return RequestAnswer(False, error=f"language model failed: {exc}", error_type="model")
        return RequestAnswer(False, error=f"unknown request {type(request).__name__}", error_type="invalid")

    def _refuse(self, resource: str, why: str, answer: RequestAnswer) -> RequestAnswer:
        """Count one refused call; past MAX_REFUSED_CALLS, stop the improver instead of answering."""
        self.refused[resource] += 1
        if sum(self.refused.values()) >= MAX_REFUSED_CALLS:
            self.abort_reason = f"{MAX_REFUSED_CALLS} calls refused past the budget ({why})"
            return RequestAnswer(False, error=self.abort_reason, abort=True, abort_kind="budget_exceeded")
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
            why = f"utility budget of {self.utility.budget} exceeded"
            zero = RequestAnswer(True, {"score": 0.0, "uses": self.utility_uses})
            return self._refuse("utility", why, zero)
        started = time.monotonic()
        value = self.utility.score(request.code, self.scope)
        return RequestAnswer(
            True, {"score": value, "uses": self.utility_uses}, paused_s=time.monotonic() - started
        )

    def record_refusals(self) -> None:
        """One `budget_exceeded` event per resource whose budget was hit, with the refusal count."""
        budgets = {"language_model": self.model.budget, "utility": self.utility.budget}
        for resource, count in self.refused.items():
            if count:
                detail = {"resource": resource, "budget": budgets[resource], "refused_calls": count}
                if self.abort_reason is not None:
                    detail["aborted"] = True
                self.ctx.event("budget_exceeded", self.scope, detail, self.source)


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
        servers.append(_RequestServer(ctx, utility, scope, improver_source))
        return servers[-1]

    job = ImproverJob(
        {
            "op": "improve",
            "source": improver_source,
            "initial_solution": initial_solution,
            "utility_str": utility.str,
            "utility_budget": utility.budget,
            "lm_budget": ctx.config.calls,
            "max_responses_per_call": ctx.config.samples,
            "seed": stable_seed("improver", ctx.config.seed, scope.stream),
        },
        Limits(wall_s=timeout_s, cpu_s=int(timeout_s) + 30),
    )
    ctx.check_running()
    try:
        reply = ctx.executor.run_improver(job, make_server, tracker=ctx.control)
    finally:
        if servers:
            servers[-1].record_refusals()
    server = servers[-1]
    ctx.check_running()  # a child killed because the run stopped is not a failure of the improver
    calls, uses = server.model.uses, server.utility_uses
    if server.abort_reason is not None:
        return ImproverOutcome(
            False, None, "budget_exceeded", server.abort_reason, reply.elapsed_s, calls, uses
        )
    if not reply.ok:
        return ImproverOutcome(False, None, reply.error_kind, reply.error, reply.elapsed_s, calls, uses)
    solution = reply.value if isinstance(reply.value, str) else None
    if not solution or not solution.strip():
        return ImproverOutcome(
            False, None, "empty", "the improver returned nothing", reply.elapsed_s, calls, uses
        )
    return ImproverOutcome(True, solution, None, None, reply.elapsed_s, calls, uses)
