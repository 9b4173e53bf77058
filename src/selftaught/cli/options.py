"""Command-line options derived from RunConfig's fields: one source for names, types, limits and help.

`with_settings(fields)` adds one option per field to a command. Every option defaults to
None ("not given"), so a command knows exactly what was chosen on the command line or in
the environment, and `load_config` layers it over a `--config` file and the defaults.
"""

from __future__ import annotations

import inspect
import types
from collections.abc import Callable, Iterable
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, Optional, Union, cast, get_args, get_origin

import annotated_types
import typer

from selftaught.config import RunConfig

# option names where the field's name would read badly on a command line
_NAMES: dict[str, tuple[str, ...]] = {
    "model": ("--model", "-m"),
    "iterations": ("--iterations", "-T"),
    "timeout_s": ("--timeout",),
    "request_timeout_s": ("--request-timeout",),
    "parallel_improvers": ("--parallel",),
    "cache": ("--cache/--no-cache",),
    "speculate": ("--speculate/--no-speculate",),
}
# settings that make sense to fix for a whole shell session or machine
ENV_VARS = {
    "model": "SELFTAUGHT_MODEL",
    "sandbox": "SELFTAUGHT_SANDBOX",
    "scoring": "SELFTAUGHT_SCORING",
    "splits": "SELFTAUGHT_SPLITS",
    "max_concurrency": "SELFTAUGHT_MAX_CONCURRENCY",
    "parallel_improvers": "SELFTAUGHT_PARALLEL",
}
ALL_SETTINGS = tuple(RunConfig.model_fields)

ConfigFileOpt = Annotated[
    Path | None,
    typer.Option("--config", help="TOML file of settings (RunConfig's fields); options given here win"),
]
PlanOpt = Annotated[
    bool,
    typer.Option(
        "--plan",
        help="print upper bounds of requests, samples, tokens, USD and model wait; ask no model",
    ),
]
LatencyOpt = Annotated[
    float, typer.Option("--latency", min=0.0, help="seconds per model request, for --plan's worst-case wait")
]


def option_name(field: str) -> str:
    """The long option that sets `field`, as users type it."""
    if field == "cache":
        return "--no-cache"
    if field == "speculate":
        return "--speculate"
    return _NAMES.get(field, ("--" + field.replace("_", "-"),))[0]


def _option(field: str) -> inspect.Parameter:
    """The Typer option of one field: its type, lower bound (ge; gt is left to pydantic), help and env var."""
    info = RunConfig.model_fields[field]
    annotation = info.annotation
    if get_origin(annotation) in (Union, types.UnionType):
        annotation = next(a for a in get_args(annotation) if a is not type(None))
    bounds = [cast(float, m.ge) for m in info.metadata if isinstance(m, annotated_types.Ge)]
    lower = bounds[0] if bounds else None
    default = info.get_default(call_default_factory=True)
    shown = ", ".join(default) if isinstance(default, list) else default
    option = typer.Option(
        *_NAMES.get(field, ("--" + field.replace("_", "-"),)),
        help=(info.description or field) + (" (repeatable)" if annotation == list[str] else ""),
        envvar=ENV_VARS.get(field),
        show_default=str(shown) if shown is not None else False,
        min=(int(lower) if annotation is int else lower) if lower is not None else None,
    )
    return inspect.Parameter(
        field,
        inspect.Parameter.KEYWORD_ONLY,
        default=None,
        annotation=Annotated[Optional[annotation], option],  # noqa: UP045 - a runtime type
    )


def with_settings(fields: Iterable[str] = ALL_SETTINGS) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Give a command one option per RunConfig field; it receives them as `settings`, only those given."""
    chosen = [f for f in ALL_SETTINGS if f in set(fields)]

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        own = [
            p for p in inspect.signature(command, eval_str=True).parameters.values() if p.name != "settings"
        ]
        parameters = own + [_option(field) for field in chosen]

        @wraps(command)
        def wrapper(**kwargs: Any) -> Any:
            settings = {field: kwargs.pop(field) for field in chosen}
            return command(settings={k: v for k, v in settings.items() if v is not None}, **kwargs)

        wrapper.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in parameters}
        del wrapper.__wrapped__  # typer must read the new signature, not the command's
        return wrapper

    return decorate
