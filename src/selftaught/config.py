"""Run configuration: the paper's reference budgets as defaults, validated with pydantic."""

from __future__ import annotations

import tomllib
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from selftaught.errors import UserInputError
from selftaught.models.defaults import API_KEY_ENV, MAX_CONCURRENCY, MAX_RETRIES, REQUEST_TIMEOUT_S

if TYPE_CHECKING:
    from selftaught.models.registry import ModelOptions


Role = Literal["computes", "limits", "keeps"]
# computes: changes what a run computes; fixed on resume, part of an experiment's identity.
# limits: how far, how fast and where a run goes (limits, transport, execution); may change on resume.
# keeps: neither (the response cache: on or off for the whole run, yet the numbers are the same).


def _setting(default: Any, role: Role, description: str, **constraints: Any) -> Any:
    """A setting's field, carrying its role (from which resume and identity rules are derived)."""
    if callable(default):
        constraints["default_factory"] = default
        return Field(description=description, json_schema_extra={"role": role}, **constraints)
    return Field(default, description=description, json_schema_extra={"role": role}, **constraints)


class Section(BaseModel):
    """A group of settings: a table of a TOML configuration file."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class AlgorithmSettings(Section):
    """[algorithm]: what STOP computes (the paper's budgets are the defaults)."""

    tasks: list[str] = _setting(
        lambda: ["parity_noise"], "computes", "task names or task folders", min_length=1
    )
    iterations: int = _setting(6, "computes", "self-improvement iterations T", ge=0)
    n_tests: int = _setting(5, "computes", "meta-utility repeats per task", ge=1)
    calls: int = _setting(4, "computes", "language-model calls per improver run", ge=1)
    samples: int = _setting(6, "computes", "max_responses_per_call", ge=1)
    seed: int = _setting(
        0, "computes", "seeds model-written code's RNGs (with its stream) and seedable models"
    )
    timeout_s: float = _setting(1800.0, "computes", "wall-clock limit of one improver run", gt=0)
    scoring: Literal["strict", "reference"] = _setting(
        "strict", "computes", "strict (our checks) or reference (the paper's scoring, for comparison with it)"
    )
    splits: Literal["reference", "fresh"] = _setting(
        "reference",
        "computes",
        "hidden instances: reference (the paper's public seeds) or fresh (drawn from a secret per run, kept"
        " in the store)",
    )
    accept: Literal["nonzero", "better", "significant"] = _setting(
        "nonzero",
        "computes",
        "adopt a new improver whose validation meta-utility is nonzero, only a better one, or only one better"
        " by a paired test at level --alpha",
    )
    alpha: float = _setting(
        0.05, "computes", "level of the paired test that --accept significant adopts by", gt=0, lt=1
    )


class BudgetSettings(Section):
    """[budgets]: when a run stops before its iterations are done, and what its tokens cost."""

    max_calls: int | None = _setting(None, "limits", "stop the run after this many model requests", ge=1)
    max_cost: float | None = _setting(None, "limits", "stop the run after this many USD", gt=0)
    price_prompt: float = _setting(0.0, "limits", "USD per million prompt tokens", ge=0)
    price_completion: float = _setting(0.0, "limits", "USD per million completion tokens", ge=0)


class ModelSettings(Section):
    """[model]: the language model, and the transport of its requests."""

    model: str = _setting("local", "computes", "model spec: local, script:PATH, openai:MODEL, replay:RUN")
    max_tokens: int | None = _setting(
        None, "computes", "most tokens per answer (None: the model's default)", ge=1
    )
    cache: bool = _setting(True, "keeps", "serve repeated requests from the response cache")
    base_url: str | None = _setting(None, "limits", "OpenAI-compatible endpoint (else OPENAI_BASE_URL)")
    api_key_env: str = _setting(API_KEY_ENV, "limits", "environment variable holding the API key")
    max_concurrency: int = _setting(MAX_CONCURRENCY, "limits", "model requests in flight at once", ge=1)
    request_timeout_s: float = _setting(REQUEST_TIMEOUT_S, "limits", "timeout of one model request", gt=0)
    max_retries: int = _setting(
        MAX_RETRIES, "limits", "retries of one model request (429, 5xx, timeouts, resets)", ge=0
    )


class ExecutionSettings(Section):
    """[execution]: where improvers and candidates run, and how many at once."""

    sandbox: Literal["default", "strict"] = _setting(
        "default", "limits", "sandbox mode (see selftaught doctor)"
    )
    executor: str = _setting(
        "local",
        "limits",
        "where improvers and candidates run: local (a worker pool), ray (selftaught[ray]) or an installed"
        " plugin's executor",
        min_length=1,
    )
    ray_address: str | None = _setting(
        None, "limits", "Ray cluster to join (HOST:PORT or ray://HOST:PORT); none: start a local one"
    )
    parallel_improvers: int = _setting(8, "limits", "improver runs of one meta-utility run at once", ge=1)
    speculate: bool = _setting(
        False,
        "limits",
        "start the meta-utility of every candidate improver an improver receives at once (same results;"
        " costs model calls for candidates it never evaluates)",
    )


SECTIONS: dict[str, type[Section]] = {
    "algorithm": AlgorithmSettings,
    "budgets": BudgetSettings,
    "model": ModelSettings,
    "execution": ExecutionSettings,
}


def section_of(name: str) -> str:
    """The table a setting belongs in."""
    return next(table for table, section in SECTIONS.items() if name in section.model_fields)


def settings_in(*tables: str) -> tuple[str, ...]:
    """The settings of these tables, in declaration order."""
    return tuple(name for table in tables for name in SECTIONS[table].model_fields)


def _with_role(role: Role) -> tuple[str, ...]:
    return tuple(
        name
        for section in SECTIONS.values()
        for name, field in section.model_fields.items()
        if isinstance(field.json_schema_extra, dict) and field.json_schema_extra.get("role") == role
    )


# What identifies what a run computes (an experiment's digest), and what a resumed run may change.
COMPUTING_SETTINGS: tuple[str, ...] = _with_role("computes")
RESUMABLE_SETTINGS: tuple[str, ...] = _with_role("limits")


class RunConfig(ExecutionSettings, BudgetSettings, AlgorithmSettings, ModelSettings):
    """Everything that determines a STOP run (recorded in the store with the run, flat).

    The settings are declared in sections (`AlgorithmSettings`, `BudgetSettings`, `ModelSettings`,
    `ExecutionSettings`); a RunConfig holds them all, built and read by name:
    `RunConfig(model=..., tasks=..., iterations=...)`, `config.iterations`.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="after")
    def _significance_is_reachable(self) -> RunConfig:
        """--accept significant over too few repeats could never adopt anything: say so up front."""
        pairs = len(self.tasks) * self.n_tests
        if self.accept == "significant" and 0.5**pairs > self.alpha:
            raise ValueError(
                f"--accept significant pairs tasks x n_tests = {pairs} repeats, whose smallest p-value"
                f" (1/{2**pairs}) is above --alpha {self.alpha:g}: no improver could be adopted;"
                " give more --n-tests or a larger --alpha"
            )
        return self

    def model_options(self, store_path: str | None = None) -> ModelOptions:
        """The settings model backends take from this configuration."""
        from selftaught.models.registry import ModelOptions

        return ModelOptions(
            base_url=self.base_url,
            api_key_env=self.api_key_env,
            max_concurrency=self.max_concurrency,
            request_timeout_s=self.request_timeout_s,
            max_retries=self.max_retries,
            seed=self.seed,
            store_path=store_path,
        )

    @property
    def utility_budget(self) -> int:
        """n * m + 1 utility calls per improver run (25 in the reference)."""
        return self.samples * self.calls + 1

    @property
    def meta_utility_budget(self) -> int:
        return self.utility_budget


class ConfigWarning(UserWarning):
    """A configuration file that still loads but should be written differently."""


def _from_tables(document: dict[str, Any], where: str) -> dict[str, Any]:
    """The settings of a TOML document written in sections (`[algorithm]`, `[budgets]`, ...).

    Settings at the top level (the flat form of earlier releases) still load, with one warning.
    """
    values: dict[str, Any] = {}
    flat: list[str] = []
    for key, value in document.items():
        section = SECTIONS.get(key)
        if section is None:
            flat.append(key)
            values[key] = value
            continue
        if not isinstance(value, dict):
            raise UserInputError(f"configuration file {where!r}: [{key}] must be a table of settings")
        for name, setting in value.items():
            if name not in section.model_fields:
                hint = f" (it belongs in [{section_of(name)}])" if name in RunConfig.model_fields else ""
                raise UserInputError(f"invalid setting {key}.{name}: not a setting of [{key}]{hint}")
            values[name] = setting
    known = [name for name in flat if name in RunConfig.model_fields]
    if known:
        tables = ", ".join(f"{name} in [{section_of(name)}]" for name in known)
        warnings.warn(
            f"{where}: settings outside a section are deprecated; write {tables}", ConfigWarning, stacklevel=3
        )
    return values


def load_config(
    file: Path | None = None,
    given: Mapping[str, Any] | None = None,
    base: Mapping[str, Any] | None = None,
) -> RunConfig:
    """One configuration from three layers, each winning over the ones before: `base`, a TOML file, `given`.

    `given` holds only the settings someone chose explicitly (command-line options, environment
    variables); anything invalid is a UserInputError naming the setting.
    """
    values: dict[str, Any] = dict(base or {})
    if file is not None:
        try:
            values.update(_from_tables(tomllib.loads(file.read_text(encoding="utf-8")), str(file)))
        except FileNotFoundError as exc:
            raise UserInputError(f"configuration file {str(file)!r} does not exist") from exc
        except OSError as exc:
            raise UserInputError(f"cannot read configuration file {str(file)!r}: {exc}") from exc
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise UserInputError(f"configuration file {str(file)!r} is not valid TOML: {exc}") from exc
    values.update(given or {})
    if isinstance(values.get("tasks"), str):
        values["tasks"] = [values["tasks"]]
    try:
        return RunConfig(**values)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(map(str, error["loc"])) or "configuration"
        raise UserInputError(f"invalid setting {where}: {error['msg']}") from exc
