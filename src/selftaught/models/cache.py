"""The response cache: paid-for samples are kept in the run store and served again.

A cache key names one request position, not just its content: (model identity, system,
user, temperature, max tokens, stream, occurrence), where the stream is the deterministic
path of the improver run that asks (for example `it1/eval/parity_noise/r3`) and the
occurrence counts identical requests within it. So the k-th identical request of a
stream gets the k-th cached answer, whatever order concurrent answers arrive in, and a
rerun or a resumed run reproduces the same results without new calls.
"""

from __future__ import annotations

import hashlib
import json
from typing import Protocol

from selftaught.store.store import Store


def cache_key(
    identity: str,
    system: str,
    user: str,
    temperature: float,
    max_tokens: int | None,
    stream: str,
    occurrence: int,
) -> str:
    """Stable key of one request position."""
    material = json.dumps([identity, system, user, float(temperature), max_tokens, stream, occurrence])
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


class ResponseSource(Protocol):
    """Where cached samples come from: `get` returns {sample index: text}."""

    def get(self, key: str) -> dict[int, str]: ...

    def put(self, key: str, samples: dict[int, str], model_identity: str) -> None: ...


class ResponseCache:
    """Samples stored in the `responses` table of a run store, shared by all its runs."""

    def __init__(self, store: Store, run_id: str | None = None) -> None:
        self.store = store
        self.run_id = run_id

    def get(self, key: str) -> dict[int, str]:
        return self.store.cached_samples(key)

    def put(self, key: str, samples: dict[int, str], model_identity: str) -> None:
        self.store.put_samples(key, samples, model_identity, self.run_id)


class RecordedResponses:
    """Read-only samples recorded by one run's model calls (for `replay:RUN`)."""

    def __init__(self, store: Store, run_id: str) -> None:
        self._samples = store.recorded_samples(run_id)

    def get(self, key: str) -> dict[int, str]:
        return dict(self._samples.get(key, {}))

    def put(self, key: str, samples: dict[int, str], model_identity: str) -> None:
        pass
