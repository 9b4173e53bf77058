"""`openai:MODEL`: any OpenAI-compatible chat-completions endpoint through the official SDK.

One model kind covers OpenAI, vLLM, Ollama, llama.cpp and LM Studio servers, OpenRouter
and Azure's compatible endpoint. The kind runs this class in a process of its own, the SDK's
host (sdk_host.py, behind hosted.py's backend), so that the SDK's import is off the run's
path. Requests run on the SDK's async client in a private event loop thread, at most
`max_concurrency` at once. HTTP failures (429, 408, 409, 5xx,
timeouts, dropped connections) are retried by the SDK itself, which backs off with
jitter, honours `retry-after-ms`, `Retry-After` (seconds or HTTP date) and
`x-should-retry`, and reports how many retries it took; we count those. Our own code
retries only what the SDK cannot see: an answer that arrives but is malformed. A request
for n samples uses the endpoint's `n`; if the endpoint returns fewer choices, the rest
are fetched by fanning out single-sample requests. A sample that still fails is an
empty string (a failed sample), never an exception that ends the run. Every error text
that leaves this module (raised, or kept as a failed sample's reason) is scrubbed of the
API key and anything key-shaped (selftaught.models.redact): servers may echo the key.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import random
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from selftaught.errors import UserInputError
from selftaught.models.base import ModelError, ModelRequest, ModelResponse
from selftaught.models.defaults import API_KEY_ENV, MAX_CONCURRENCY, MAX_RETRIES, REQUEST_TIMEOUT_S
from selftaught.models.redact import Redactor

DEFAULT_MAX_TOKENS = 2048
MAX_ERROR_SCAN_CHARS = 20_000  # of a server's error text, scrubbed; the rest is never kept


@dataclass(frozen=True)
class RetryPolicy:
    """The SDK's retries of one HTTP request, and ours of a malformed answer."""

    max_retries: int = MAX_RETRIES
    malformed_attempts: int = 3
    malformed_delay_s: float = 0.5
    request_timeout_s: float = REQUEST_TIMEOUT_S

    def delay(self, attempt: int) -> float:
        return self.malformed_delay_s * (2**attempt) * (0.5 + random.random() / 2)


@dataclass
class _Outcome:
    completions: list[str]
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    model: str | None = None
    retries: int = 0
    error: str | None = None


class OpenAIModel:
    """A backend for one model on one OpenAI-compatible endpoint."""

    def __init__(
        self,
        model: str,
        api_key: str,
        base_url: str | None = None,
        max_concurrency: int = MAX_CONCURRENCY,
        *,
        retry: RetryPolicy | None = None,
        seed: int | None = None,
    ) -> None:
        import openai

        self.model = model
        self.base_url = base_url
        self.identity = openai_identity(model, base_url)
        self.retry = retry or RetryPolicy()
        self.seed = seed
        self.supports_n: bool | None = None
        self._redactor = Redactor([api_key, *_url_secrets(base_url)])
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="openai-client", daemon=True)
        self._thread.start()
        self._semaphore = asyncio.Semaphore(max_concurrency)
        self._client = openai.AsyncOpenAI(
            api_key=api_key,
            base_url=base_url,
            max_retries=self.retry.max_retries,
            timeout=self.retry.request_timeout_s,
        )

    def _run(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def complete(self, request: ModelRequest) -> ModelResponse:
        return self._run(self.respond(request))

    def submit(self, request: ModelRequest) -> concurrent.futures.Future[ModelResponse]:
        """Start answering `request` on the client's event loop; its response comes in the future."""
        return asyncio.run_coroutine_threadsafe(self.respond(request), self._loop)

    async def respond(self, request: ModelRequest) -> ModelResponse:
        started = time.monotonic()
        outcome = await self._complete(request)
        return ModelResponse(
            completions=outcome.completions,
            model_identity=f"openai:{outcome.model or self.model}",
            prompt_tokens=outcome.prompt_tokens,
            completion_tokens=outcome.completion_tokens,
            latency_s=time.monotonic() - started,
            extra={"retries": outcome.retries, **({"error": outcome.error} if outcome.error else {})},
        )

    async def _complete(self, request: ModelRequest) -> _Outcome:
        if request.n == 1 or self.supports_n is False:
            parts = await asyncio.gather(*(self._request(request, 1) for _ in range(request.n)))
            return _merge(list(parts))
        first = await self._request(request, request.n)
        if first.error is None and self.supports_n is None:
            self.supports_n = len(first.completions) >= request.n
        missing = request.n - len(first.completions)
        if missing <= 0:
            return first
        rest = await asyncio.gather(*(self._request(request, 1) for _ in range(missing)))
        return _merge([first, *rest])

    async def _request(self, request: ModelRequest, n: int) -> _Outcome:
        """One request for n choices (the SDK retries HTTP failures); failure gives n empty samples."""
        import openai

        retries, last_error = 0, "no attempt"
        for attempt in range(self.retry.malformed_attempts):
            try:
                async with self._semaphore:
                    raw = await self._client.chat.completions.with_raw_response.create(
                        model=self.model,
                        messages=[
                            {"role": "system", "content": request.system},
                            {"role": "user", "content": request.user},
                        ],
                        n=n,
                        temperature=request.temperature,
                        max_tokens=request.max_tokens or DEFAULT_MAX_TOKENS,
                        seed=self.seed if self.seed is not None else openai.omit,
                        extra_headers={"X-Selftaught-Request": request.key} if request.key else None,
                    )
                retries += raw.retries_taken
                reply = raw.parse()
                choices = sorted(reply.choices or [], key=lambda c: c.index or 0)
                if not choices:
                    raise _Malformed("the answer has no choices")
                texts = [(c.message.content or "") if c.message else "" for c in choices][:n]
                usage = reply.usage
                return _Outcome(
                    texts,
                    usage.prompt_tokens if usage else None,
                    usage.completion_tokens if usage else None,
                    reply.model,
                    retries,
                )
            except openai.APIStatusError as exc:
                kind = exc.__class__.__name__ + (f" ({exc.type})" if isinstance(exc.type, str) else "")
                error = f"HTTP {exc.status_code} {self._short(kind)}: {self._short(exc)}"
                if not _retryable(exc.status_code):
                    # a request the server will never accept; `from None`: the SDK's exception
                    # (its body, headers and request) must not travel on as our error's cause
                    raise ModelHTTPError(error, exc.status_code, self._short(kind)) from None
                return _Outcome([""] * n, retries=retries + self.retry.max_retries, error=error)
            except (openai.APITimeoutError, openai.APIConnectionError) as exc:
                error = f"{exc.__class__.__name__}: {self._short(exc)}"
                return _Outcome([""] * n, retries=retries + self.retry.max_retries, error=error)
            except (
                _Malformed,
                openai.APIResponseValidationError,
                ValueError,
                TypeError,
                AttributeError,
            ) as exc:
                last_error = f"malformed answer: {self._short(exc)}"
            if attempt + 1 < self.retry.malformed_attempts:
                retries += 1
                await asyncio.sleep(self.retry.delay(attempt))
        return _Outcome([""] * n, retries=retries, error=last_error)

    def _short(self, value: BaseException | str) -> str:
        """The first non-blank line of an error's text, scrubbed of secrets, at most 200 characters.

        Scrubbed before it is cut, so that a cut never leaves part of a key unrecognised.
        """
        text = self._redactor.scrub(str(value)[:MAX_ERROR_SCAN_CHARS])
        line = next((line for line in text.splitlines() if line.strip()), "")
        return line.strip()[:200] or value.__class__.__name__

    def close(self) -> None:
        if self._loop.is_closed():
            return
        try:
            self._run(self._client.close())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
            self._loop.close()


def openai_identity(model: str, base_url: str | None) -> str:
    """How an `openai:` backend names itself in records and cache keys."""
    return f"openai:{model}" + (f"@{base_url}" if base_url else "")


def spec_settings(
    argument: str,
    *,
    base_url: str | None = None,
    api_key_env: str = API_KEY_ENV,
    max_concurrency: int = MAX_CONCURRENCY,
    seed: int | None = None,
    request_timeout_s: float = REQUEST_TIMEOUT_S,
    max_retries: int = MAX_RETRIES,
) -> dict[str, Any]:
    """An `openai:MODEL` spec's backend settings, the key read from `api_key_env` (else UserInputError)."""
    if not argument:
        raise UserInputError("openai: needs a model name, as in openai:gpt-4o")
    key = os.environ.get(api_key_env)
    if not key:
        raise UserInputError(f"{api_key_env} is not set; openai: models need an API key (see --api-key-env)")
    return {
        "model": argument,
        "api_key": key,
        "base_url": base_url or os.environ.get("OPENAI_BASE_URL") or None,
        "max_concurrency": max_concurrency,
        "retry": RetryPolicy(max_retries=max_retries, request_timeout_s=request_timeout_s),
        "seed": seed,
    }


class ModelHTTPError(ModelError):
    """The server refused a request for good: its status code, error type and scrubbed message."""

    def __init__(self, message: str, status_code: int, error_type: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.error_type = error_type


class _Malformed(Exception):
    pass


def _url_secrets(base_url: str | None) -> list[str]:
    """Credentials written into the endpoint's address (user:password@host, ?api-key=...)."""
    if not base_url:
        return []
    from urllib.parse import parse_qsl, urlsplit

    parts = urlsplit(base_url)
    found = [parts.password or ""]
    found += [
        value for name, value in parse_qsl(parts.query) if "key" in name.lower() or "token" in name.lower()
    ]
    return [value for value in found if value]


def _retryable(status: int) -> bool:
    """Statuses the SDK retries (so reaching us means its retries are spent): 408, 409, 429, 5xx."""
    return status in (408, 409, 429) or status >= 500


def _merge(parts: list[_Outcome]) -> _Outcome:
    def total(values: list[int | None]) -> int | None:
        known = [v for v in values if v is not None]
        return sum(known) if known else None

    errors = [p.error for p in parts if p.error]
    return _Outcome(
        completions=[text for p in parts for text in p.completions],
        prompt_tokens=total([p.prompt_tokens for p in parts]),
        completion_tokens=total([p.completion_tokens for p in parts]),
        model=next((p.model for p in parts if p.model), None),
        retries=sum(p.retries for p in parts),
        error="; ".join(errors) if errors else None,
    )
