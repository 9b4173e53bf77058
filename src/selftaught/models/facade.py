"""The paper's `language_model` interface, on the trusted side, with its budget enforced.

Improvers in sandboxed children talk to an instance of `LanguageModel` through a proxy;
this object is the authority: it counts calls, checks `max_responses_per_call`, serves
cached samples, asks the backend for the rest, and records every call (messages,
parameters, responses, tokens, latency, retries). Arguments from a child arrive as valid
text (inside/protocol.py); answers from the backend are made valid here (a lone
surrogate becomes U+FFFD) before they are cached, recorded or sent to a child.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from selftaught.inside.wire import valid_text
from selftaught.models.base import ModelBackend, ModelError, ModelRequest
from selftaught.models.cache import ResponseSource, cache_key
from selftaught.models.limits import UsageLimiter

MAX_TEMPERATURE = 2.0  # the range OpenAI-style chat models accept
MAX_PROMPT_CHARS = 1_000_000  # per expertise or message string


class BudgetExceeded(Exception):
    """A call past the language model's (or utility's) budget."""


class InvalidModelArguments(ValueError):
    """Arguments no model call accepts (a temperature out of range, a count that is not an int)."""


def check_temperature(value: object) -> float:
    """`value` as a float if it is a finite number in [0, MAX_TEMPERATURE]; else InvalidModelArguments."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidModelArguments(f"temperature must be a number, not {type(value).__name__}")
    if isinstance(value, int) and not 0 <= value <= MAX_TEMPERATURE:  # before float(): 10**400 overflows
        raise InvalidModelArguments(f"temperature must be within [0, {MAX_TEMPERATURE}]")
    number = float(value)
    if not math.isfinite(number) or not 0.0 <= number <= MAX_TEMPERATURE:
        raise InvalidModelArguments(f"temperature must be a finite number within [0, {MAX_TEMPERATURE}]")
    return number


def check_text(value: object, what: str) -> str:
    """`value` if it is a string of at most MAX_PROMPT_CHARS characters."""
    if not isinstance(value, str):
        raise InvalidModelArguments(f"{what} must be a string, not {type(value).__name__}")
    if len(value) > MAX_PROMPT_CHARS:
        raise InvalidModelArguments(f"{what} is longer than {MAX_PROMPT_CHARS} characters")
    return value


@dataclass(frozen=True)
class CallRecord:
    """One model call as the store records it."""

    method: str
    system: str
    messages: list[str]
    n: int
    temperature: float
    max_tokens: int | None
    responses: list[str] | None
    prompt_tokens: int | None
    completion_tokens: int | None
    latency_s: float
    model_identity: str
    error: str | None
    stream: str = ""
    occurrence: int = 0
    cache_key: str | None = None
    cached_samples: int = 0
    failed_samples: int = 0
    retries: int = 0


CallRecorder = Callable[[CallRecord], None]


class LanguageModel:
    """`prompt`, `batch_prompt`, `budget` and `max_responses_per_call`, as in the paper."""

    def __init__(
        self,
        backend: ModelBackend,
        budget: int = 4,
        max_responses_per_call: int = 6,
        max_tokens: int | None = None,
        recorder: CallRecorder | None = None,
        cache: ResponseSource | None = None,
        stream: str = "",
        limiter: UsageLimiter | None = None,
    ) -> None:
        self.backend = backend
        self.budget = budget
        self.max_responses_per_call = max_responses_per_call
        self.max_tokens = max_tokens
        self.uses = 0
        self.stream = stream
        self._recorder = recorder
        self._cache = cache
        self._limiter = limiter
        self._occurrences: Counter[tuple[str, str, float]] = Counter()
        self._lock = threading.Lock()

    def _charge(self) -> None:
        with self._lock:
            if self.uses >= self.budget:
                raise BudgetExceeded(f"language model call budget of {self.budget} exceeded")
            self.uses += 1

    def _check_count(self, n: object) -> int:
        if isinstance(n, bool) or not hasattr(n, "__index__"):
            raise InvalidModelArguments(f"n_responses must be an integer, not {type(n).__name__}")
        count: int = n.__index__()  # type: ignore[attr-defined]  # checked with hasattr just above
        if count < 1:
            raise InvalidModelArguments("at least one response must be requested")
        if count > self.max_responses_per_call:
            raise InvalidModelArguments(
                f"{count} responses requested; at most {self.max_responses_per_call} per call"
            )
        return count

    def _ask(self, method: str, system: str, message: str, n: int, temperature: float) -> list[str]:
        """n samples for one request position: cached samples first, the backend for the rest."""
        with self._lock:
            self._occurrences[(system, message, temperature)] += 1
            occurrence = self._occurrences[(system, message, temperature)]
        identity = getattr(self.backend, "identity", "unknown")
        key = cache_key(identity, system, message, temperature, self.max_tokens, self.stream, occurrence)
        cached = self._cache.get(key) if self._cache is not None else {}
        missing = [i for i in range(n) if i not in cached]
        record: dict[str, Any] = {
            "method": method,
            "system": system,
            "messages": [message] * n,
            "n": n,
            "temperature": temperature,
            "max_tokens": self.max_tokens,
            "stream": self.stream,
            "occurrence": occurrence,
            "cache_key": key,
            "cached_samples": n - len(missing),
        }
        if not missing:
            answers = [cached[i] for i in range(n)]
            self._emit(
                CallRecord(
                    **record,
                    responses=answers,
                    prompt_tokens=None,
                    completion_tokens=None,
                    latency_s=0.0,
                    model_identity=identity,
                    error=None,
                )
            )
            return answers
        if self._limiter is not None:
            self._limiter.before_call()
        request = ModelRequest(
            system=system,
            user=message,
            n=len(missing),
            temperature=temperature,
            max_tokens=self.max_tokens,
            key=key,
        )
        started = time.monotonic()
        try:
            response = self.backend.complete(request)
        except ModelError as exc:
            self._emit(
                CallRecord(
                    **record,
                    responses=None,
                    prompt_tokens=None,
                    completion_tokens=None,
                    latency_s=time.monotonic() - started,
                    model_identity=identity,
                    error=str(exc),
                    failed_samples=len(missing),
                )
            )
            raise
        if self._limiter is not None:
            self._limiter.after_call(response.prompt_tokens, response.completion_tokens)
        # a server's JSON may hold lone surrogate escapes: made valid before anything keeps them
        fresh = [
            valid_text(text) if isinstance(text, str) else ""
            for text in (list(response.completions) + [""] * len(missing))[: len(missing)]
        ]
        received = dict(zip(missing, fresh, strict=True))
        merged = {**cached, **received}
        if self._cache is not None:
            kept = {index: text for index, text in received.items() if text}
            if kept:
                self._cache.put(key, kept, response.model_identity)
        answers = [merged[i] for i in range(n)]
        self._emit(
            CallRecord(
                **record,
                responses=answers,
                prompt_tokens=response.prompt_tokens,
                completion_tokens=response.completion_tokens,
                latency_s=response.latency_s or (time.monotonic() - started),
                model_identity=response.model_identity,
                error=response.extra.get("error"),
                failed_samples=sum(1 for text in fresh if not text),
                retries=int(response.extra.get("retries", 0)),
            )
        )
        return answers

    def _emit(self, record: CallRecord) -> None:
        if self._recorder is not None:
            self._recorder(record)

    def prompt(
        self, expertise: str, message: str, n_responses: int = 1, temperature: float = 0.7
    ) -> list[str]:
        """`n_responses` answers to one message; one call against the budget.

        Arguments are checked before the budget: a refused call raises InvalidModelArguments
        (a ValueError) and costs nothing; a call past the budget raises BudgetExceeded.
        """
        check_text(expertise, "expertise")
        check_text(message, "message")
        n = self._check_count(n_responses)
        temperature = check_temperature(temperature)
        self._charge()
        return self._ask("prompt", expertise, message, n, temperature)

    def batch_prompt(self, expertise: str, messages: list[str], temperature: float = 0.7) -> list[str]:
        """One answer per message, in order; identical messages go out as one request with n samples."""
        if isinstance(messages, str):
            messages = [messages]
        if not isinstance(messages, list | tuple):
            raise InvalidModelArguments("messages must be a list of strings")
        if len(messages) > self.max_responses_per_call:
            self._check_count(len(messages))
        messages = [check_text(m, "each message") for m in messages]
        check_text(expertise, "expertise")
        temperature = check_temperature(temperature)
        if not messages:
            return []
        self._check_count(len(messages))
        self._charge()
        groups = list(Counter(messages).items())

        def ask(group: tuple[str, int]) -> list[str]:
            return self._ask("batch_prompt", expertise, group[0], group[1], temperature)

        if len(groups) == 1:
            results = [ask(groups[0])]
        else:  # distinct messages are independent requests: send them at once
            with ThreadPoolExecutor(max_workers=len(groups), thread_name_prefix="batch") as executor:
                results = list(executor.map(ask, groups))
        answers = {message: list(result) for (message, _), result in zip(groups, results, strict=True)}
        return [answers[message].pop(0) for message in messages]


def record_to_row(record: CallRecord) -> dict[str, Any]:
    """The columns of a `model_calls` row for one call record."""
    return {
        "method": record.method,
        "system": record.system,
        "messages_json": json.dumps(record.messages),
        "n": record.n,
        "temperature": record.temperature,
        "max_tokens": record.max_tokens,
        "responses_json": None if record.responses is None else json.dumps(record.responses),
        "prompt_tokens": record.prompt_tokens,
        "completion_tokens": record.completion_tokens,
        "latency_s": record.latency_s,
        "model_identity": record.model_identity,
        "error": record.error,
        "stream": record.stream,
        "occurrence": record.occurrence,
        "cache_key": record.cache_key,
        "cached_samples": record.cached_samples,
        "failed_samples": record.failed_samples,
        "retries": record.retries,
    }
