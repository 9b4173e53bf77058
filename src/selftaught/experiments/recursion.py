"""Does recursion matter? The reviewers' ablation over a recorded STOP run, at matched budget.

For each step t = 1..T of run RUN, three improvers are compared:
- `recursive`: the run's own I_t (I_{t-1} improved itself; the step's cost is the run's);
- `seed_improves_current`: I_0 rewrites I_{t-1};
- `current_improves_seed`: I_{t-1} rewrites I_0;
- `recursive_significant`: recursion under `--accept significant`, a chain of its own: its
  current improver C_{t-1} (C_0 = I_0) rewrites itself, and the rewrite is adopted only if a
  one-sided paired sign-flip test of its validation repeats against C_{t-1}'s, paired by
  (task, repeat), rejects at the run's `alpha` (recorded in the cell as `acceptance`).
The other rewrites use the run's budgets and validation meta-utility, and are adopted under
the paper's rule (its validation meta-utility is above 0; else I_{t-1} stays). Each adopted
improver's meta-utility is measured on the test split with n_tests repeats per task.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from selftaught.analysis.stats import Estimate, footnote, paired_sign_flip_test, score_mean_ci
from selftaught.errors import UserInputError
from selftaught.experiments.arms import STREAM_ROOT, RepeatScore, evaluate_arm, improve_once, mean_score
from selftaught.experiments.session import ExperimentRun
from selftaught.store.store import Store

SIGNIFICANT_ARM = "recursive_significant"
ARMS = ("recursive", "seed_improves_current", "current_improves_seed", SIGNIFICANT_ARM)


@dataclass(frozen=True)
class RecursionCell:
    arm: str
    step: int
    estimate: Estimate
    adopted: bool  # whether this step's rewrite was adopted (recursive: as the run recorded)
    acceptance: dict[str, Any] | None = None  # the paired test (recursive_significant only)

    def to_json(self) -> dict[str, Any]:
        data = {"arm": self.arm, "step": self.step, "adopted": self.adopted, **self.estimate.to_json()}
        if self.acceptance is not None:
            data["acceptance"] = self.acceptance
        return data


@dataclass(frozen=True)
class ArmCost:
    arm: str
    model_calls: int
    evaluations: int

    def to_json(self) -> dict[str, Any]:
        return {"arm": self.arm, "model_calls": self.model_calls, "evaluations": self.evaluations}


@dataclass(frozen=True)
class RecursionResult:
    id: str
    source_run: str
    cells: tuple[RecursionCell, ...]
    costs: tuple[ArmCost, ...]
    # per step t of the source run: the metaproductivity of its I_t (analysis/metaproductivity.py)
    productivity: tuple[dict[str, Any], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "run": self.source_run,
            "rows": [c.to_json() for c in self.cells],
            "costs": [c.to_json() for c in self.costs],
            "metaproductivity": list(self.productivity),
        }

    @property
    def note(self) -> str:
        return footnote([c.estimate for c in self.cells], unit="repeats") + (
            "; costs count the model calls and the distinct scorings (a program scored once per task and"
            " split; repeats are memoized) of the improvement steps (for `recursive`, the run's own)"
            " and of the test evaluations"
        )


def recorded_improvers(store: Store, run_id: str) -> list[tuple[str, bool]]:
    """(I_t, whether step t adopted a new improver) for t = 0..T of a STOP run."""
    run = store.run(run_id)
    if run is None or run.kind != "stop":
        raise UserInputError(f"no STOP run {run_id!r} in {store.path}")
    iterations = store.iterations(run_id)
    if len(iterations) < 2:
        raise UserInputError(f"run {run_id} has no self-improvement step recorded yet (needs T >= 1)")
    improvers = []
    for it in iterations:
        source = store.source(it.improver_hash)
        if source is None:
            raise UserInputError(f"run {run_id}: the improver of iteration {it.iteration} is missing")
        improvers.append((source, it.status == "improved"))
    return improvers


def _cost(store: Store, run_id: str, prefixes: tuple[str, ...]) -> tuple[int, int]:
    streams = {r.id: r.stream for r in store.improver_runs(run_id)}
    calls = sum(1 for c in store.model_calls(run_id) if (c.stream or "").startswith(prefixes))
    evaluations = sum(
        1
        for e in store.evaluations(run_id)
        if e.improver_run_id is not None and streams.get(e.improver_run_id, "").startswith(prefixes)
    )
    return calls, evaluations


def run_recursion(exp: ExperimentRun, source_run: str) -> RecursionResult:
    improvers = recorded_improvers(exp.store, source_run)
    seed = improvers[0][0]
    evaluated: dict[tuple[str, int], list[RepeatScore]] = {}
    cells = []
    for t, (source, adopted) in enumerate(improvers):
        exp.ctx.progress(f"recursion: I_{t} of run {source_run} on the test split")
        evaluated["recursive", t] = evaluate_arm(exp, f"recursive/t{t}", source, iteration=t)
        if t:
            cells.append(
                RecursionCell("recursive", t, score_mean_ci(_values(evaluated["recursive", t])), adopted)
            )
    for t in range(1, len(improvers)):
        current = improvers[t - 1][0]
        for arm, improver, target in (
            ("seed_improves_current", seed, current),
            ("current_improves_seed", current, seed),
        ):
            exp.ctx.progress(f"recursion: {arm}, step {t}")
            step = improve_once(exp, arm, t, improver, target)
            adopted = False
            scores = evaluated["recursive", t - 1]  # kept: I_{t-1}
            if step.candidate is not None:
                tried = evaluate_arm(exp, f"{arm}/t{t}", step.candidate, splits=("val", "test"), iteration=t)
                if (mean_score(tried, "val") or 0.0) > 0:
                    adopted, scores = True, tried
            cells.append(RecursionCell(arm, t, score_mean_ci(_values(scores)), adopted))
    cells += _significant_chain(exp, seed, len(improvers) - 1)
    costs = []
    for arm in ARMS:
        calls, evaluations = _cost(exp.store, exp.run_id, (f"{STREAM_ROOT}/{arm}/",))
        if arm == "recursive":  # the run's own improvement steps, not its per-iteration evaluations
            own = tuple(f"it{t}/self" for t in range(1, len(improvers)))
            run_calls, run_evaluations = _cost(exp.store, source_run, own)
            calls, evaluations = calls + run_calls, evaluations + run_evaluations
        costs.append(ArmCost(arm, calls, evaluations))
    return RecursionResult(
        exp.run_id, source_run, tuple(cells), tuple(costs), run_productivity(exp.store, source_run)
    )


def run_productivity(store: Store, run_id: str) -> tuple[dict[str, Any], ...]:
    """For each step t of a STOP run: its I_t's own test meta-utility (as the run evaluated it when it
    was proposed) and its metaproductivity, the mean test score of its descendants' solutions."""
    from selftaught.analysis.metaproductivity import in_use_after, lineage_productivity

    rows = lineage_productivity(store, run_id)
    steps = []
    for t in range(len(store.iterations(run_id))):
        row = in_use_after(rows, t)
        if row is not None:
            steps.append(
                {
                    "step": t,
                    "proposed_at": row.iteration,
                    "meta_utility_test": row.own_test,
                    "metaproductivity": row.descendant_test,
                    "descendants": len(row.descendants),
                }
            )
    return tuple(steps)


def _values(repeats: list[RepeatScore]) -> list[float]:
    return [r.scores["test"] for r in repeats]


def _by_pair(repeats: list[RepeatScore], split: str) -> dict[str, float]:
    return {r.pair_key: r.scores[split] for r in repeats}


def _significant_chain(exp: ExperimentRun, seed: str, steps: int) -> list[RecursionCell]:
    """Recursion under `--accept significant`: the arm's own improver rewrites itself, T times."""
    arm, alpha = SIGNIFICANT_ARM, exp.ctx.config.alpha
    exp.ctx.progress(f"recursion: {arm}, I_0 on validation and test")
    current, scores = seed, evaluate_arm(exp, f"{arm}/t0", seed, splits=("val", "test"), iteration=0)
    cells = []
    for t in range(1, steps + 1):
        exp.ctx.progress(f"recursion: {arm}, step {t}")
        step = improve_once(exp, arm, t, current, current)
        adopted, acceptance = False, None
        if step.candidate is not None:
            tried = evaluate_arm(exp, f"{arm}/t{t}", step.candidate, splits=("val", "test"), iteration=t)
            if (mean_score(tried, "val") or 0.0) > 0:
                test = paired_sign_flip_test(_by_pair(tried, "val"), _by_pair(scores, "val"), alpha)
                acceptance = test.to_json()
                if test.significant:
                    adopted, current, scores = True, step.candidate, tried
        cells.append(RecursionCell(arm, t, score_mean_ci(_values(scores)), adopted, acceptance))
    return cells
