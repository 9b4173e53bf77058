"""The embedded local model (`--model local`): Qwen2.5-Coder-1.5B-Instruct run in-process by llama.cpp.

The runtime is `xllamacpp`, which wraps llama.cpp's own server engine. We call its
OpenAI-style chat endpoint in-process (no HTTP round trip for generation) and ask for
all `n` samples of a request in ONE call: llama.cpp then evaluates the shared prompt
once and copies it to `n` parallel slots that decode together. On 2 CPU cores, n=4 x 300
tokens took 52 s this way against 82 s as 4 concurrent requests (each re-reads the
prompt). The engine also binds a loopback HTTP port; we protect it with a random API
key and use it only to count the tokens of samples 2..n (the engine's `usage` counts
only the first).

Nothing here imports xllamacpp at module import time, so `selftaught` works without
the `local` extra; a missing extra becomes one clear MissingOptionalDependency line.
"""

from __future__ import annotations

import gc
import importlib.util
import json
import logging
import os
import secrets
import threading
import time
import urllib.request
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from selftaught.errors import MissingOptionalDependency, UserInputError
from selftaught.models.base import ModelError, ModelRequest, ModelResponse
from selftaught.models.weights import INSTALL_HINT, QWEN_CODER_1_5B_Q4_K_M, ensure_weights, weights_status

log = logging.getLogger(__name__)

DEFAULT_MAX_TOKENS = 1024


@dataclass(frozen=True)
class LocalOptions:
    """Settings of the local model; every field can be given in the spec, e.g. `local:ctx=16384,parallel=8`.

    ctx is the size of the KV cache shared by all parallel slots (llama.cpp's unified
    cache): a request for n samples needs about prompt + n * max_tokens cells, so the
    default fits n=8 samples of 1,024 tokens after a 2,000-token STOP prompt (~460 MB).
    """

    path: str = ""  # a GGUF file; empty means the bundled Qwen2.5-Coder weights
    ctx: int = 16384
    parallel: int = 8  # most samples decoded together; larger n is split into several calls
    threads: int = 0  # 0 means the CPUs this process may use
    max_tokens: int = DEFAULT_MAX_TOKENS  # used when a request does not say
    seed: int = -1  # -1 means a fresh random seed per request
    top_p: float = 0.95
    batch: int = 512  # tokens of prompt evaluated per step

    @classmethod
    def parse(cls, argument: str) -> LocalOptions:
        """Read `local:` arguments: empty, a path to a .gguf file, or comma-separated key=value pairs."""
        argument = argument.strip()
        if not argument:
            return cls()
        if "=" not in argument:
            return cls(path=argument)
        known = {f.name: f for f in fields(cls)}
        values: dict[str, Any] = {}
        for item in argument.split(","):
            key, sep, raw = item.partition("=")
            key = key.strip()
            if not sep or key not in known:
                raise UserInputError(f"bad local model option {item!r} (known: {', '.join(known)})")
            kind = type(getattr(cls(), key))
            try:
                values[key] = kind(raw.strip())
            except ValueError:
                raise UserInputError(
                    f"local model option {key} needs a {kind.__name__}, got {raw!r}"
                ) from None
        options = cls(**values)
        if options.ctx < 512 or options.parallel < 1 or options.max_tokens < 1 or options.threads < 0:
            raise UserInputError(
                "local model options out of range (ctx >= 512, parallel >= 1, max_tokens >= 1, threads >= 0)"
            )
        return options


def _require_runtime() -> None:
    """Fail with the install hint, without importing it, when xllamacpp is absent."""
    if importlib.util.find_spec("xllamacpp") is None:
        raise MissingOptionalDependency(f"the local model needs the xllamacpp runtime; run: {INSTALL_HINT}")


def _available_cpus() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class LocalModel:
    """A ModelBackend answering with a GGUF model loaded in this process by llama.cpp.

    The engine is loaded on the first `complete` (about 3 s) and released by `close`.
    Requests are serialised by a lock: the CPU is saturated by one request already,
    and serialising keeps the shared KV cache from overflowing.
    """

    def __init__(
        self, model_path: Path, options: LocalOptions | None = None, identity: str | None = None
    ) -> None:
        self.model_path = Path(model_path)
        self.options = options or LocalOptions()
        self.identity = identity or f"local:{self.model_path.stem.lower()}"
        self._lock = threading.Lock()
        self._server: Any = None
        self._api_key = secrets.token_hex(16)
        self._closed = False

    @classmethod
    def from_spec(cls, argument: str = "") -> LocalModel:
        """Build from the text after `local:`; checks the runtime and weights now so errors show early."""
        options = LocalOptions.parse(argument)
        _require_runtime()
        if options.path:
            path = Path(options.path).expanduser()
            if not path.is_file():
                raise UserInputError(f"local model file not found: {path}")
            return cls(path, options)
        path = ensure_weights()
        return cls(path, options, identity=f"local:{QWEN_CODER_1_5B_Q4_K_M.filename.removesuffix('.gguf')}")

    # -- engine ---------------------------------------------------------------

    def _engine(self) -> Any:
        """The llama.cpp server object, created on first use (caller holds the lock)."""
        if self._closed:
            raise ModelError("the local model was closed")
        if self._server is None:
            self._server = self._start()
        return self._server

    def _start(self) -> Any:
        try:
            import xllamacpp
        except ImportError as exc:
            raise MissingOptionalDependency(
                f"the local model needs the xllamacpp runtime ({exc}); run: {INSTALL_HINT}"
            ) from None
        opts = self.options
        threads = opts.threads or _available_cpus()
        params = xllamacpp.CommonParams()
        params.model.path = str(self.model_path)
        params.n_ctx = opts.ctx  # 0 would mean the model's 32k training context
        params.n_predict = opts.ctx  # a server-side cap; each request sets max_tokens
        params.n_parallel = opts.parallel
        params.kv_unified = True  # slots share one cache, so a shared prompt is stored once
        params.n_batch = max(opts.batch, 64)
        params.n_ubatch = max(opts.batch, 64)
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = threads
        params.verbosity = 0  # llama.cpp logs every request at the default level
        params.warmup = False  # saves a second; the first request warms the caches anyway
        params.cache_ram_mib = 0  # no host-RAM prompt cache (would grow to 8 GB by default)
        params.reasoning_format = xllamacpp.common_reasoning_format.COMMON_REASONING_FORMAT_NONE
        params.sampling.top_p = opts.top_p
        params.ui = False
        params.endpoint_slots = False
        params.n_threads_http = 2
        params.api_keys = [self._api_key]  # the engine also listens on 127.0.0.1; keep others out
        started = time.perf_counter()
        try:
            server = xllamacpp.Server(params)
        except Exception as exc:  # the binding raises plain RuntimeError/ValueError on bad files
            raise ModelError(f"could not load local model {self.model_path}: {exc}") from exc
        log.info(
            "local model loaded in %.1f s (%d threads, ctx %d, %d slots)",
            time.perf_counter() - started,
            threads,
            opts.ctx,
            opts.parallel,
        )
        return server

    def close(self) -> None:
        """Free the model and its memory; safe to call twice."""
        with self._lock:
            self._closed = True
            server, self._server = self._server, None
        if server is not None:
            del server
            gc.collect()

    def __enter__(self) -> LocalModel:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- requests -------------------------------------------------------------

    def complete(self, request: ModelRequest) -> ModelResponse:
        """Return exactly `request.n` completions, sampled together where the slots allow."""
        if request.n < 1:
            raise ModelError(f"n must be at least 1, got {request.n}")
        max_tokens = request.max_tokens or self.options.max_tokens
        messages = [{"role": "user", "content": request.user}]
        if request.system:
            messages.insert(0, {"role": "system", "content": request.system})
        completions: list[str] = []
        prompt_tokens = 0
        completion_tokens = 0
        cached_tokens = 0
        calls = 0
        finish_reasons: list[str] = []
        timings: list[dict] = []
        started = time.perf_counter()
        slots = self._slots_for(len(request.system) + len(request.user), max_tokens)
        with self._lock:
            server = self._engine()
            remaining = request.n
            while remaining > 0:
                batch = min(remaining, slots)
                body: dict[str, Any] = {
                    "messages": messages,
                    "n": batch,
                    "max_tokens": max_tokens,
                    "temperature": max(0.0, float(request.temperature)),
                    "cache_prompt": True,
                }
                if self.options.seed >= 0:
                    body["seed"] = self.options.seed + calls
                answer = self._call(server, body)
                calls += 1
                choices = sorted(answer.get("choices") or [], key=lambda c: c.get("index", 0))
                texts = [_choice_text(c) for c in choices][:batch]
                texts += [""] * (batch - len(texts))
                completions += texts
                finish_reasons += [str(c.get("finish_reason")) for c in choices][:batch]
                timings.append(dict(answer.get("timings") or {}))
                usage = answer.get("usage") or {}
                prompt_tokens += int(usage.get("prompt_tokens") or 0)
                cached_tokens += int((usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0)
                completion_tokens += self._count_completion_tokens(server, choices, usage)
                remaining -= batch
        latency = time.perf_counter() - started
        return ModelResponse(
            completions=completions,
            model_identity=self.identity,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            latency_s=latency,
            extra={
                "engine_calls": calls,
                "cached_prompt_tokens": cached_tokens,
                "finish_reasons": finish_reasons,
                "timings": timings,  # llama.cpp's per-call figures (generation: first sample only)
            },
        )

    def _slots_for(self, prompt_chars: int, max_tokens: int) -> int:
        """How many samples one engine call may decode together without overflowing the shared cache.

        The prompt is stored once and each sample adds up to `max_tokens` cells; the prompt
        size is estimated generously (3 characters per token) since it is not tokenized yet.
        """
        prompt_estimate = prompt_chars // 3 + 64
        room = (self.options.ctx - prompt_estimate) // max(1, max_tokens)
        return max(1, min(self.options.parallel, room))

    def _call(self, server: Any, body: dict[str, Any]) -> dict[str, Any]:
        try:
            answer = server.handle_chat_completions(body)
        except Exception as exc:
            raise ModelError(f"local model failed: {exc}") from exc
        if not isinstance(answer, dict):
            raise ModelError(f"local model gave a malformed answer: {str(answer)[:200]}")
        if "error" in answer:
            error = answer["error"]
            message = error.get("message") if isinstance(error, dict) else error
            raise ModelError(f"local model refused the request: {message}")
        return answer

    def _count_completion_tokens(self, server: Any, choices: list[dict], usage: dict) -> int:
        """Tokens generated across all choices; llama.cpp's `usage` reports the first choice only."""
        first = int(usage.get("completion_tokens") or 0)
        if len(choices) <= 1:
            return first
        total = first
        for choice in choices[1:]:
            text = _choice_text(choice)
            count = self._tokenize_count(server, text)
            if count is None:  # endpoint unreachable: about 4 characters per token for code
                count = (len(text) + 3) // 4
            total += count
        return total

    def _tokenize_count(self, server: Any, text: str) -> int | None:
        """Token count of `text` from the engine's loopback /tokenize endpoint, or None if unreachable."""
        if not text:
            return 0
        try:
            req = urllib.request.Request(
                f"{server.listening_address}/tokenize",
                data=json.dumps({"content": text, "add_special": False}).encode(),
                headers={"Content-Type": "application/json", "Authorization": f"Bearer {self._api_key}"},
            )
            with urllib.request.urlopen(req, timeout=10) as reply:  # a loopback URL we own
                return len(json.loads(reply.read())["tokens"])
        except (OSError, ValueError, KeyError):
            return None


def _choice_text(choice: dict) -> str:
    message = choice.get("message") or {}
    content = message.get("content")
    return content if isinstance(content, str) else ""


def readiness() -> str:
    """One line: is the runtime installed, are the weights installed/assembled, how big."""
    runtime = (
        "xllamacpp installed"
        if importlib.util.find_spec("xllamacpp") is not None
        else f"xllamacpp missing ({INSTALL_HINT})"
    )
    return f"{runtime}; {weights_status()}"
