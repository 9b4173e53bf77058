"""The budgeted model gateway: one allowance (a lease) per arm repeat, in front of the run's model.

An external optimizer never holds the model: it holds a lease token and an address. Each
chat request on a lease is counted against the lease's requests and samples before any
model is asked (past either: refused, HTTP 429), then answered by the run's
`LanguageModel` facade with the lease's stream, so it is cached by (arm, task, repeat)
position, recorded in the run store as a model call of the repeat's improver run, and
priced with the run's prices. Validation scoring goes through the same lease, so an
optimizer's evaluator reaches selftaught's sandboxed scoring on the validation split
only, and no more often than the repeat's scoring budget.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from selftaught.arena.budget import ArmBudget
from selftaught.arena.chat import ChatRequestError, chat_response, error_body, parse_chat_request
from selftaught.models.base import ModelError
from selftaught.models.facade import BudgetExceeded, CallRecord, InvalidModelArguments, LanguageModel
from selftaught.models.limits import RunStopped
from selftaught.runs.context import RunContext
from selftaught.runs.scope import Scope
from selftaught.tasks.base import Task

MODEL_NAME = "selftaught-gateway"  # what /v1/models lists; the run's model stands behind it


@dataclass
class GatewayAnswer:
    """An HTTP status and the JSON object to send."""

    status: int
    body: dict[str, Any]


@dataclass
class LeaseUsage:
    """What one lease has used so far (paid and cached calls alike)."""

    requests: int = 0
    samples: int = 0
    refused: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    evaluations: int = 0

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


class Lease:
    """One arm repeat's allowance on the gateway."""

    def __init__(
        self, token: str, budget: ArmBudget, model: LanguageModel, score_validation: Callable[[str], float]
    ) -> None:
        self.token = token
        self.budget = budget
        self.model = model
        self.score_validation = score_validation
        self.usage = LeaseUsage()
        self.lock = threading.Lock()
        self._answering = threading.local()  # the tokens of the call this thread is answering

    def chat(self, body: bytes) -> GatewayAnswer:
        try:
            request = parse_chat_request(body)
        except ChatRequestError as exc:
            return GatewayAnswer(400, error_body(str(exc), "invalid_request_error"))
        if request.n > self.budget.samples_per_call:
            why = f"n={request.n}: at most {self.budget.samples_per_call} samples per request"
            return GatewayAnswer(400, error_body(why, "invalid_request_error"))
        with self.lock:
            if self.usage.samples + request.n > self.budget.samples:
                self.usage.refused += 1
                left = self.budget.samples - self.usage.samples
                return GatewayAnswer(
                    429,
                    error_body(
                        f"arm budget exhausted: {self.usage.samples} of {self.budget.samples} samples used "
                        f"in {self.usage.requests} requests; this request asks {request.n}, {left} left",
                        "budget_exceeded",
                        "insufficient_quota",
                    ),
                )
            self.usage.requests += 1
            self.usage.samples += request.n
        self._answering.tokens = (None, None)
        try:
            answers = self.model.prompt(request.system, request.user, request.n, request.temperature)
        except (InvalidModelArguments, BudgetExceeded) as exc:
            return GatewayAnswer(400, error_body(str(exc), "invalid_request_error"))
        except ModelError as exc:
            return GatewayAnswer(502, error_body(f"the model failed: {exc}", "model_error"))
        except RunStopped as exc:
            return GatewayAnswer(503, error_body(f"the run stopped: {exc.reason}", "run_stopped"))
        prompt_tokens, completion_tokens = self._answering.tokens
        return GatewayAnswer(
            200, chat_response(answers, request.model or MODEL_NAME, prompt_tokens, completion_tokens)
        )

    def account(self, call: CallRecord, cost: float) -> None:
        """Called by the facade's recorder, in the thread that asked (see `chat`)."""
        with self.lock:
            self.usage.prompt_tokens += call.prompt_tokens or 0
            self.usage.completion_tokens += call.completion_tokens or 0
            self.usage.cost += cost
        self._answering.tokens = (call.prompt_tokens, call.completion_tokens)

    def evaluate(self, code: object) -> GatewayAnswer:
        if not isinstance(code, str):
            return GatewayAnswer(400, error_body("'code' must be a string", "invalid_request_error"))
        with self.lock:
            self.usage.evaluations += 1
            uses = self.usage.evaluations
        if uses > self.budget.evaluations:  # as for an improver: past the utility budget, 0
            return GatewayAnswer(200, {"score": 0.0, "uses": uses, "over_budget": True})
        try:
            score = self.score_validation(code)
        except RunStopped as exc:
            return GatewayAnswer(503, error_body(f"the run stopped: {exc.reason}", "run_stopped"))
        return GatewayAnswer(200, {"score": score, "uses": uses, "over_budget": False})


class Gateway:
    """Leases by token; the HTTP server (server.py) routes each request to its lease."""

    def __init__(self) -> None:
        self._leases: dict[str, Lease] = {}
        self._lock = threading.Lock()

    def open_lease(self, ctx: RunContext, task: Task, scope: Scope, budget: ArmBudget) -> Lease:
        """A lease whose calls are recorded under `scope` and scored on `task`'s validation split."""
        token = "st-" + secrets.token_urlsafe(24)
        holder: dict[str, Lease] = {}

        def record(call: CallRecord) -> None:
            ctx.recorder.model_call(scope, call)
            cost = (
                0.0
                if call.cached_samples == call.n
                else ctx.control.limiter.prices.cost(call.prompt_tokens, call.completion_tokens)
            )
            holder["lease"].account(call, cost)

        stream = scope.stream if not ctx.config.seed else f"seed{ctx.config.seed}/{scope.stream}"
        model = LanguageModel(
            ctx.backend,
            budget=budget.samples,  # the lease counts first; this is a second fence
            max_responses_per_call=budget.samples_per_call,
            max_tokens=ctx.config.max_tokens,
            recorder=record,
            cache=ctx.cache,
            stream=stream,
            limiter=ctx.control.limiter,
        )

        def score_validation(code: str) -> float:
            return ctx.score(task, code, "val", scope).score

        lease = Lease(token, budget, model, score_validation)
        holder["lease"] = lease
        with self._lock:
            self._leases[token] = lease
        return lease

    def close_lease(self, token: str) -> None:
        with self._lock:
            self._leases.pop(token, None)

    def lease(self, token: str | None) -> Lease | None:
        if not token:
            return None
        with self._lock:
            return self._leases.get(token)
