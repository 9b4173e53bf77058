"""Run configuration: the paper's reference budgets as defaults, validated with pydantic."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from selftaught.errors import UserInputError

if TYPE_CHECKING:
    from selftaught.models.registry import ModelOptions


# Settings a resumed run may change: limits, transport and where work runs, never what is
# computed (`resume` offers exactly these; an experiment's identity leaves them out).
RESUMABLE_SETTINGS: tuple[str, ...] = (
    "max_calls",
    "max_cost",
    "max_concurrency",
    "request_timeout_s",
    "max_retries",
    "base_url",
    "api_key_env",
    "parallel_improvers",
    "price_prompt",
    "price_completion",
    "sandbox",
    "executor",
    "ray_address",
)


class RunConfig(BaseModel):
    """Everything that determines a STOP run (recorded in the store with the run)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field("local", description="model spec: local, script:PATH, openai:MODEL, replay:RUN")
    tasks: list[str] = Field(
        default_factory=lambda: ["parity_noise"], min_length=1, description="task names or task folders"
    )
    iterations: int = Field(6, ge=0, description="self-improvement iterations T")
    n_tests: int = Field(5, ge=1, description="meta-utility repeats per task")
    calls: int = Field(4, ge=1, description="language-model calls per improver run")
    samples: int = Field(6, ge=1, description="max_responses_per_call")
    seed: int = Field(0, description="seeds model-written code's RNGs (with its stream) and seedable models")
    timeout_s: float = Field(1800.0, gt=0, description="wall-clock limit of one improver run")
    max_tokens: int | None = Field(
        None, ge=1, description="most tokens per answer (None: the model's default)"
    )
    sandbox: Literal["default", "strict"] = Field(
        "default", description="sandbox mode (see selftaught doctor)"
    )
    parallel_improvers: int = Field(8, ge=1, description="improver runs of one meta-utility run at once")
    max_concurrency: int = Field(16, ge=1, description="model requests in flight at once")
    base_url: str | None = Field(None, description="OpenAI-compatible endpoint (else OPENAI_BASE_URL)")
    api_key_env: str = Field("OPENAI_API_KEY", description="environment variable holding the API key")
    request_timeout_s: float = Field(600.0, gt=0, description="timeout of one model request")
    max_retries: int = Field(5, ge=0, description="retries of one model request (429, 5xx, timeouts, resets)")
    cache: bool = Field(True, description="serve repeated requests from the response cache")
    max_calls: int | None = Field(None, ge=1, description="stop the run after this many model requests")
    max_cost: float | None = Field(None, gt=0, description="stop the run after this many USD")
    price_prompt: float = Field(0.0, ge=0, description="USD per million prompt tokens")
    price_completion: float = Field(0.0, ge=0, description="USD per million completion tokens")
    scoring: Literal["strict", "reference"] = Field(
        "strict",
        description="strict (our checks) or reference (the paper's scoring, for comparison with it)",
    )
    splits: Literal["reference", "fresh"] = Field(
        "reference",
        description="hidden instances: reference (the paper's public seeds) or fresh (drawn from a secret "
        "per run, kept in the store)",
    )
    executor: str = Field(
        "local",
        min_length=1,
        description="where improvers and candidates run: local (a worker pool), ray (selftaught[ray]) or"
        " an installed plugin's executor",
    )
    ray_address: str | None = Field(
        None, description="Ray cluster to join (HOST:PORT or ray://HOST:PORT); none: start a local one"
    )
    accept: Literal["nonzero", "better", "significant"] = Field(
        "nonzero",
        description="adopt a new improver whose validation meta-utility is nonzero, only a better one, or"
        " only one better by a paired test at level --alpha",
    )
    alpha: float = Field(
        0.05, gt=0, lt=1, description="level of the paired test that --accept significant adopts by"
    )

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
            values.update(tomllib.loads(file.read_text(encoding="utf-8")))
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
