"""What a command may spend, before it spends it: `--plan` on `run`, `experiment ...`, `audit circumvention`.

STOP is expensive (the paper's reference budgets ask up to ~3,000 samples per iteration),
so every paying command can print, without a single model request, upper bounds of what it
may ask for: improver runs, model requests, samples, prompt and completion tokens, USD at
the given prices, and the worst-case time spent waiting for the model at a given latency.

Where each bound comes from (the budgets are enforced on the trusted side, stop/improver_run.py):
- an improver run makes at most `calls` charged calls, each of at most `samples` samples;
  a batch of distinct messages goes out as one request per message, so at most
  `calls * samples` requests and `calls * samples` samples;
- an improver improving an improver may call its meta-utility at most `meta budget` times,
  each running the candidate `n_tests` times per task (those runs' calls count too); with
  `--speculate`, each of those call numbers may also have a speculation that no call claims
  (the improver asked for other code under that number), so twice as many evaluations;
- prompt tokens per request: the UTF-8 bytes (a byte-level tokenizer never makes more
  tokens than bytes) of the seed improver's request for the target (its expertise and
  message, read from the packaged source as the circumvention audit renders it), plus room
  for two programs of `max_tokens` each that model-written improvers may paste in (a
  program the model wrote is at most one completion long); an improver that builds longer
  prompts on purpose exceeds this estimate, which the plan states (`--max-cost` is the hard
  stop);
- completion tokens: `max_tokens` per sample (no bound without `--max-tokens`);
- model wait: each request takes `latency` seconds; improver runs go in waves of
  `parallel` with at most `max_concurrency` requests in flight, meta-utility calls one after
  another. Improver and scoring compute comes on top (each improver run is cut at `timeout`).
Runs served from the store or the response cache spend less; the plan is for a fresh start.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from importlib import resources
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from selftaught.config import RunConfig
    from selftaught.store.store import Store
    from selftaught.tasks.base import Task

CHAT_OVERHEAD_TOKENS = 32  # role markers and template tokens of a two-message chat request
DEFAULT_LATENCY_S = 30.0


@dataclass(frozen=True)
class Counts:
    """Upper bounds of one part of a command (or of all of it)."""

    improver_runs: int = 0
    requests: int = 0
    samples: int = 0
    prompt_tokens: int = 0
    completion_tokens: int | None = 0
    wait_s: float = 0.0

    def __add__(self, other: Counts) -> Counts:
        completion = (
            None
            if self.completion_tokens is None or other.completion_tokens is None
            else self.completion_tokens + other.completion_tokens
        )
        return Counts(
            self.improver_runs + other.improver_runs,
            self.requests + other.requests,
            self.samples + other.samples,
            self.prompt_tokens + other.prompt_tokens,
            completion,
            self.wait_s + other.wait_s,
        )

    def times(self, k: int) -> Counts:
        return Counts(
            self.improver_runs * k,
            self.requests * k,
            self.samples * k,
            self.prompt_tokens * k,
            None if self.completion_tokens is None else self.completion_tokens * k,
            self.wait_s * k,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "improver_runs": self.improver_runs,
            "requests": self.requests,
            "samples": self.samples,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "wait_s": round(self.wait_s, 3),
        }


@dataclass(frozen=True)
class PlanPart:
    what: str
    counts: Counts


@dataclass(frozen=True)
class Plan:
    """A command's upper bounds, part by part, their total, and USD at the given prices."""

    command: str
    parts: tuple[PlanPart, ...]
    latency_s: float
    price_prompt: float  # USD per million tokens
    price_completion: float
    assumptions: tuple[str, ...] = ()

    @property
    def total(self) -> Counts:
        total = Counts()
        for part in self.parts:
            total = total + part.counts
        return total

    @property
    def usd(self) -> float | None:
        """USD at most (None where completion tokens have no bound and completions are priced)."""
        total = self.total
        prompt = total.prompt_tokens * self.price_prompt / 1e6
        if total.completion_tokens is None:
            return None if self.price_completion else prompt
        return prompt + total.completion_tokens * self.price_completion / 1e6

    def to_json(self) -> dict[str, Any]:
        return {
            "command": self.command,
            "upper_bounds": {**self.total.to_json(), "usd": self.usd},
            "parts": [{"what": p.what, **p.counts.to_json()} for p in self.parts],
            "latency_s": self.latency_s,
            "prices_per_million": {"prompt": self.price_prompt, "completion": self.price_completion},
            "assumptions": list(self.assumptions),
        }

    def lines(self) -> list[str]:
        """The plan as plain text, one line per part, the totals and the assumptions."""
        total = self.total
        out = [f"plan of {self.command} (upper bounds; no model request made):"]
        for part in self.parts:
            c = part.counts
            out.append(
                f"  {part.what}: {c.improver_runs:,} improver runs, {c.requests:,} requests,"
                f" {c.samples:,} samples"
            )
        completion = (
            "unbounded (give --max-tokens)"
            if total.completion_tokens is None
            else f"{total.completion_tokens:,} tokens"
        )
        usd = self.usd
        prices = (
            f"{self.price_prompt:g} / {self.price_completion:g} USD per million prompt / completion tokens"
        )
        out += [
            f"  requests    {total.requests:,}",
            f"  samples     {total.samples:,}",
            f"  prompt      {total.prompt_tokens:,} tokens",
            f"  completion  {completion}",
            f"  USD         {'unbounded' if usd is None else f'{usd:,.2f}'} (at {prices})",
            f"  model wait  {_duration(total.wait_s)} at {self.latency_s:g} s per request"
            " (compute comes on top)",
        ]
        out += [f"  note: {a}" for a in self.assumptions]
        return out


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


# --- the planner ---------------------------------------------------------------------------------


class Planner:
    """Bounds of the building blocks every command is made of, for one configuration."""

    def __init__(self, config: RunConfig, tasks: list[Task], latency_s: float = DEFAULT_LATENCY_S) -> None:
        self.config = config
        self.tasks = tasks
        self.latency_s = latency_s

    # prompt size ------------------------------------------------------------------------------
    def prompt_tokens(self, target: str, utility_str: str) -> int:
        """Bytes of the seed improver's request for `target`, plus two model-written programs."""
        from selftaught.audits.prompt import seed_request

        request = seed_request("seed", target, utility_str)
        measured = len(request.expertise.encode()) + len(request.message.encode()) + CHAT_OVERHEAD_TOKENS
        return measured + 2 * (self.config.max_tokens or 0)

    def meta_utility_str(self) -> str:
        config = self.config
        template = resources.files("selftaught.data").joinpath("meta_utility.txt").read_text()
        return template.format(
            meta_budget=config.meta_utility_budget,
            n_tests=config.n_tests,
            calls=config.calls,
            samples=config.samples,
        )

    # blocks -------------------------------------------------------------------------------------
    def _wave_wait(self, runs_at_once: int) -> float:
        """Model wait of one wave of improver runs: `calls` rounds, queued behind max_concurrency."""
        config = self.config
        in_flight = runs_at_once * config.samples
        return config.calls * self.latency_s * math.ceil(in_flight / config.max_concurrency)

    def _run(self, prompt_tokens: int) -> Counts:
        config = self.config
        requests = config.calls * config.samples
        completion = None if config.max_tokens is None else requests * config.max_tokens
        return Counts(1, requests, requests, requests * prompt_tokens, completion, 0.0)

    def evaluation(self, tasks: list[Task] | None = None, repeats: int | None = None) -> Counts:
        """An improver run n_tests times on each task (a meta-utility, or one arm of an experiment)."""
        tasks = self.tasks if tasks is None else tasks
        repeats = self.config.n_tests if repeats is None else repeats
        total = Counts()
        for task in tasks:
            total = total + self._run(self.prompt_tokens(task.seed_solution(), task.shown_utility())).times(
                repeats
            )
        jobs = len(tasks) * repeats
        at_once = max(1, min(jobs, self.config.parallel_improvers))
        return replace(total, wait_s=math.ceil(jobs / at_once) * self._wave_wait(at_once))

    def self_improvement(self, target: str) -> Counts:
        """An improver improving the improver `target`: its own run and every meta-utility call it makes."""
        own = self._run(self.prompt_tokens(target, self.meta_utility_str()))
        own = replace(own, wait_s=self._wave_wait(1))
        return own + self.evaluation().times(self.meta_evaluations())

    def meta_evaluations(self) -> int:
        """The most meta-utility evaluations one self-improvement may start (see the module docstring)."""
        budget = self.config.meta_utility_budget
        return 2 * budget if self.config.speculate else budget


def _seed_improver() -> str:
    from selftaught.stop.seed import seed_improver_source

    return seed_improver_source()


def _planner(config: RunConfig, latency_s: float) -> Planner:
    from selftaught.runs.start import resolve_tasks

    config, tasks = resolve_tasks(config)
    return Planner(config, tasks, latency_s)


def _plan(config: RunConfig, command: str, parts: list[PlanPart], latency_s: float, *notes: str) -> Plan:
    assumptions = [
        "prompt tokens assume improvers ask what the seed improver asks, with up to two"
        " model-written programs pasted in; an improver may build longer prompts (--max-cost stops a run)",
        *notes,
    ]
    if config.max_tokens is None:
        assumptions.append("no --max-tokens: completion tokens and their USD have no bound")
    if config.speculate:
        assumptions.append(
            "--speculate: each meta-utility call number may also have a speculation no call claims,"
            " so up to twice the meta-utility evaluations (an improver that evaluates every candidate"
            " it received, in order, as the seed improver does, claims them all)"
        )
    return Plan(
        command, tuple(parts), latency_s, config.price_prompt, config.price_completion, tuple(assumptions)
    )


def _stop_parts(planner: Planner, prefix: str = "") -> list[PlanPart]:
    config = planner.config
    parts = [
        PlanPart(
            f"{prefix}iteration 0: the seed improver's meta-utility (val and test)", planner.evaluation()
        )
    ]
    if config.iterations:
        step = planner.self_improvement(_seed_improver()) + planner.evaluation()
        parts.append(
            PlanPart(
                f"{prefix}iterations 1-{config.iterations}: self-improvement with its meta-utility calls,"
                " then the new improver's evaluation",
                step.times(config.iterations),
            )
        )
    return parts


def plan_run(config: RunConfig, latency_s: float = DEFAULT_LATENCY_S) -> Plan:
    """`selftaught run`: T self-improvement iterations after the seed's evaluation."""
    planner = _planner(config, latency_s)
    return _plan(config, "run", _stop_parts(planner), latency_s)


def plan_runs(config: RunConfig, runs: int, latency_s: float = DEFAULT_LATENCY_S) -> Plan:
    """`run --runs R` and `experiment runs`: R STOP runs, one after another."""
    planner = _planner(config, latency_s)
    one = _stop_parts(planner)
    total = Counts()
    for part in one:
        total = total + part.counts
    return _plan(
        config,
        f"{runs} STOP runs",
        [PlanPart(f"{runs} runs of {config.iterations} iterations", total.times(runs))],
        latency_s,
    )


def plan_transfer(config: RunConfig, latency_s: float = DEFAULT_LATENCY_S) -> Plan:
    """`experiment transfer`: I_0 and I_T on every task (scoring u(s) asks no model)."""
    planner = _planner(config, latency_s)
    parts = [
        PlanPart("I_0 on every task", planner.evaluation()),
        PlanPart("I_T on every task", planner.evaluation()),
    ]
    return _plan(config, "experiment transfer", parts, latency_s)


def plan_compare(
    config: RunConfig, kind: str, arms: tuple[str, ...], runs: int, latency_s: float = DEFAULT_LATENCY_S
) -> Plan:
    """`experiment baselines` / `prompts`: every arm n_tests times per task in each of `runs` runs."""
    planner = _planner(config, latency_s)
    parts = [PlanPart(f"{arm}, {runs} runs", planner.evaluation().times(runs)) for arm in arms]
    return _plan(config, f"experiment {kind}", parts, latency_s)


def plan_recursion(
    config: RunConfig, store: Store, run_id: str, latency_s: float = DEFAULT_LATENCY_S
) -> Plan:
    """`experiment recursion`: the run's I_t evaluated, and three rewriting arms per step."""
    from selftaught.experiments.recursion import recorded_improvers

    steps = len(recorded_improvers(store, run_id)) - 1
    planner = _planner(config, latency_s)
    evaluation = planner.evaluation()
    rewrite = planner.self_improvement(_seed_improver()) + evaluation
    parts = [
        PlanPart(f"recursive: I_0..I_{steps} on the test split", evaluation.times(steps + 1)),
        PlanPart(f"seed_improves_current: {steps} rewrites and evaluations", rewrite.times(steps)),
        PlanPart(f"current_improves_seed: {steps} rewrites and evaluations", rewrite.times(steps)),
        PlanPart(
            f"recursive_significant: I_0 and {steps} rewrites with evaluations",
            evaluation + rewrite.times(steps),
        ),
    ]
    return _plan(config, "experiment recursion", parts, latency_s)


def plan_circumvention(
    config: RunConfig, n: int, variants: list[str], latency_s: float = DEFAULT_LATENCY_S
) -> Plan:
    """`audit circumvention`: n samples of the seed improver's request per variant, `samples` per request."""
    from selftaught.audits.circumvention_audit import TASK
    from selftaught.audits.prompt import seed_request
    from selftaught.tasks import get_task

    task = get_task(TASK)
    requests = math.ceil(n / config.samples)
    parts = []
    for variant in variants:
        request = seed_request(variant, task.seed_solution(), task.shown_utility())
        prompt = len(request.expertise.encode()) + len(request.message.encode()) + CHAT_OVERHEAD_TOKENS
        completion = None if config.max_tokens is None else n * config.max_tokens
        wait = math.ceil(requests / config.max_concurrency) * latency_s
        parts.append(
            PlanPart(
                f"{variant} prompt: {n} improvements",
                Counts(0, requests, n, requests * prompt, completion, wait),
            )
        )
    plan = _plan(config, "audit circumvention", parts, latency_s)
    return replace(plan, assumptions=plan.assumptions[1:])  # its prompts are ours, measured exactly
