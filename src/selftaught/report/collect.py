"""Build a `ReportData` for one run from its store: every number the report shows, read once.

Candidates are matched to the model answers of their improver run by extracting each
answer's code block the way improvers do; scores come from the run's evaluations, which
are memoized per run (a program scored once is not scored again under a later run).
"""

from __future__ import annotations

import dataclasses
import json
from collections import defaultdict
from typing import Any

from selftaught.inside.helpers import extract_code
from selftaught.models.limits import Prices
from selftaught.report.arena_points import arena_points
from selftaught.report.data import (
    ArmView,
    Candidate,
    EventView,
    ImproverRunView,
    IterationView,
    LineageNode,
    ReportData,
    RunInfo,
    SplitScore,
    UsageRow,
)
from selftaught.report.failures import NO_CODE, classify
from selftaught.report.intervals import mean_interval
from selftaught.report.productivity import collect_productivity
from selftaught.store.queries import ReadQueries
from selftaught.store.store import source_hash
from selftaught.tasks.base import SPLITS

EVENT_CONTEXT_LINES = 2


class RunNotFound(LookupError):
    """The store holds no run of that id."""


class _Texts(dict):
    """Every text shown, stored once by hash."""

    def add(self, text: str | None) -> str | None:
        if text is None:
            return None
        digest = source_hash(text)
        self.setdefault(digest, text)
        return digest


def collect_report(store: ReadQueries, run_id: str) -> ReportData:
    """Read everything the report of `run_id` shows; RunNotFound when the store lacks it.

    `store`: a Store, or anything with its read methods (serve's read-only store).
    """
    db = store
    row = db.run(run_id)
    if row is None:
        raise RunNotFound(f"no run {run_id!r} in {getattr(store, 'path', 'the store')}")
    texts = _Texts()
    config = row.config if isinstance(row.config, dict) else {}
    info = RunInfo(
        id=row.id,
        kind=row.kind,
        status=row.status,
        reason=row.reason,
        model_spec=row.model_spec,
        model_identity=row.model_identity,
        package_version=row.package_version,
        created=row.created,
        config=config,
        served_models=store.served_models(run_id),
    )
    evaluations = db.evaluations(run_id)
    scores: dict[tuple[str, str, str], SplitScore] = {}
    for e in evaluations:
        scores.setdefault((e.code_hash, e.task, e.split), SplitScore(e.score, e.error_kind, e.error))
    calls_by_run: dict[int | None, list[Any]] = defaultdict(list)
    for call in db.model_calls(run_id):
        calls_by_run[call.improver_run_id].append(call)
    evals_by_run: dict[int | None, list[Any]] = defaultdict(list)
    for e in evaluations:
        evals_by_run[e.improver_run_id].append(e)
    raw_runs = db.improver_runs(run_id)
    children: dict[tuple[int, str], list[Any]] = defaultdict(list)
    for r in raw_runs:
        if r.parent_id is not None:
            children[(r.parent_id, r.improver_hash)].append(r)
    runs = [
        _improver_run(db, r, calls_by_run[r.id], evals_by_run[r.id], scores, children, texts)
        for r in raw_runs
    ]
    iterations = _iterations(db.iterations(run_id), raw_runs)
    seed, seed_note = _seed_scores(config, scores)
    tasks = sorted({r.task for r in raw_runs if r.task} | set(seed))
    return ReportData(
        run=info,
        iterations=iterations,
        improver_runs=runs,
        lineage=_lineage(db, iterations, runs, raw_runs, calls_by_run, texts),
        usage=_usage(store.usage(run_id), config),
        events=_events(db, db.events(run_id), texts),
        seed_scores=seed,
        seed_source=seed_note,
        texts=dict(texts),
        tasks=tasks,
        arms=_arms(raw_runs),
        arena=arena_points(runs, scores),
        productivity=collect_productivity(store, run_id, config),
    )


def _arms(raw_runs: list[Any]) -> list[ArmView]:
    """Experiments: each arm's recorded test scores per task (run r of an arm pooled with the others)."""
    groups: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for r in raw_runs:
        if r.purpose.startswith("arm:") and r.task and r.status is not None:
            arm = r.purpose[len("arm:") :].split("/run")[0]
            groups[(arm, r.task)].append(r)
    return [
        ArmView(
            arm,
            task,
            mean_interval([float(r.score_test or 0.0) for r in group]),
            len(group),
            sum(1 for r in group if r.status != "ok"),
        )
        for (arm, task), group in groups.items()
    ]


def _answers(call: Any) -> list[str]:
    try:
        answers = json.loads(call.responses_json) if call.responses_json else []
    except ValueError:
        return []
    return [a if isinstance(a, str) else "" for a in answers] if isinstance(answers, list) else []


def _improver_run(db, r, calls, evals, scores, children, texts: _Texts) -> ImproverRunView:
    view = ImproverRunView(
        **{name: getattr(r, name) for name in _RUN_FIELDS},
        calls=len(calls),
    )
    seen: set[str] = set()
    for call in calls:
        for sample, answer in enumerate(_answers(call)):
            answer_hash = texts.add(answer)
            digest = _code_hash(answer_hash, answer) if answer_hash and answer else None
            if digest is None:
                failure = NO_CODE if answer else "the model returned nothing"
                view.candidates.append(Candidate(None, answer_hash, call.id, sample, failure=failure))
                continue
            if digest in seen:
                continue
            seen.add(digest)
            view.candidates.append(Candidate(digest, answer_hash, call.id, sample))
    for e in evals:  # scored here without coming from an answer of this run (the seed, a rewrite)
        if e.code_hash not in seen:
            seen.add(e.code_hash)
            texts.setdefault(e.code_hash, db.source(e.code_hash) or "")
            view.candidates.append(Candidate(e.code_hash, None))
    if r.result_hash and r.result_hash not in seen:
        texts.setdefault(r.result_hash, db.source(r.result_hash) or "")
        view.candidates.append(Candidate(r.result_hash, None))
    for candidate in view.candidates:
        if candidate.code_hash is None:
            continue
        candidate.returned = candidate.code_hash == r.result_hash
        if r.purpose == "self_improve":
            _score_improver(candidate, children.get((r.id, candidate.code_hash), []))
        else:
            for split in SPLITS:
                found = scores.get((candidate.code_hash, r.task, split))
                if found is not None:
                    candidate.scores[split] = found
        errors = [s for s in candidate.scores.values() if s.error_kind]
        if errors:
            candidate.failure = classify(errors[0].error_kind, errors[0].error)
    return view


KEEP_CODE_HASHES = 20_000
_code_hashes: dict[str, str | None] = {}  # answer hash -> hash of the code extracted from it


def _code_hash(answer_hash: str, answer: str) -> str | None:
    """The hash of the program in an answer (None: no code block), extracted once per answer.

    A live page (selftaught serve) collects a run again each time it grows: extracting
    thousands of answers' code every time was a fifth of that.
    """
    known = _code_hashes.get(answer_hash, "")  # "" is no hash: not extracted yet
    if known != "":
        return known
    extracted = extract_code(answer)
    digest = source_hash(extracted) if isinstance(extracted, str) else None
    if len(_code_hashes) >= KEEP_CODE_HASHES:
        _code_hashes.clear()
    _code_hashes[answer_hash] = digest
    return digest


_RUN_FIELDS = tuple(
    f.name for f in dataclasses.fields(ImproverRunView) if f.name not in ("calls", "candidates")
)


def _score_improver(candidate: Candidate, meta_runs: list[Any]) -> None:
    """An improver candidate's score: the mean over its meta-utility repeats (validation)."""
    finished = [m for m in meta_runs if m.score_val is not None]
    if not finished:
        return
    failed = [m for m in finished if m.error_kind]
    first = failed[0] if failed else None
    candidate.scores["val"] = SplitScore(
        sum(m.score_val for m in finished) / len(finished),
        first.error_kind if first and len(failed) == len(finished) else None,
        first.error if first and len(failed) == len(finished) else None,
    )


def _iterations(rows: list[Any], raw_runs: list[Any]) -> list[IterationView]:
    repeats: dict[tuple[int, str], list[Any]] = defaultdict(list)
    for r in raw_runs:
        if r.purpose == "iteration_eval" and r.iteration is not None:
            repeats[(r.iteration, r.improver_hash)].append(r)
    views: list[IterationView] = []
    for it in rows:
        view = IterationView(
            iteration=it.iteration,
            status=it.status,
            meta_utility_val=it.meta_utility_val,
            meta_utility_test=it.meta_utility_test,
            improver_hash=it.improver_hash,
            candidate_hash=it.candidate_hash,
            error_kind=it.error_kind,
            error=it.error,
            attempt=it.attempt,
            seconds=max(0.0, it.ended - it.started),
        )
        behind = repeats.get((it.iteration, it.improver_hash), [])
        if it.status == "failed" and views:  # the improver in use kept the previous figures
            view.val, view.test = views[-1].val, views[-1].test
        elif behind:
            view.val = mean_interval([r.score_val for r in behind if r.score_val is not None])
            view.test = mean_interval([r.score_test for r in behind if r.score_test is not None])
        views.append(view)
    return views


def _lineage(db, iterations, runs, raw_runs, calls_by_run, texts: _Texts) -> list[LineageNode]:
    nodes: list[LineageNode] = []
    by_id = {r.id: r for r in runs}
    in_use: str | None = None
    for it in iterations:
        if it.iteration == 0 or it.candidate_hash is None:
            if in_use is None:
                texts.setdefault(it.improver_hash, db.source(it.improver_hash) or "")
                nodes.append(
                    LineageNode(
                        it.improver_hash, it.iteration, True, None, it.meta_utility_val, it.meta_utility_test
                    )
                )
                in_use = it.improver_hash
            continue
        texts.setdefault(it.candidate_hash, db.source(it.candidate_hash) or "")
        accepted = it.status == "improved"
        val, test = (it.meta_utility_val, it.meta_utility_test) if accepted else _eval_means(raw_runs, it)
        node = LineageNode(it.candidate_hash, it.iteration, accepted, in_use, val, test)
        step = next((r for r in runs if r.purpose == "self_improve" and r.iteration == it.iteration), None)
        if step is not None:
            node.produced_by_run = step.id
            source = next((c for c in by_id[step.id].candidates if c.code_hash == it.candidate_hash), None)
            if source is not None and source.answer_hash is not None:
                node.answer_hash = source.answer_hash
                call = next((c for c in calls_by_run[step.id] if c.id == source.call_id), None)
                node.prompt_hash = texts.add(_prompt_text(call)) if call is not None else None
        nodes.append(node)
        if accepted:
            in_use = it.candidate_hash
    return nodes


def _eval_means(raw_runs, it) -> tuple[float | None, float | None]:
    behind = [
        r
        for r in raw_runs
        if r.purpose == "iteration_eval"
        and r.iteration == it.iteration
        and r.improver_hash == it.candidate_hash
    ]
    val = mean_interval([r.score_val for r in behind if r.score_val is not None])
    test = mean_interval([r.score_test for r in behind if r.score_test is not None])
    return (val.mean if val else None, test.mean if test else None)


def _prompt_text(call: Any) -> str:
    try:
        messages = json.loads(call.messages_json)
    except (TypeError, ValueError):
        messages = []
    first = messages[0] if isinstance(messages, list) and messages else ""
    return f"system: {call.system}\n\nuser:\n{first if isinstance(first, str) else json.dumps(first)}"


def _usage(usage: dict, config: dict) -> list[UsageRow]:
    prices = Prices.of(config)
    return [
        UsageRow(
            iteration=iteration,
            requests=int(f.get("requests") or 0),
            cached_calls=int(f.get("cached_calls") or 0),
            prompt_tokens=int(f.get("prompt_tokens") or 0),
            completion_tokens=int(f.get("completion_tokens") or 0),
            retries=int(f.get("retries") or 0),
            failed_samples=int(f.get("failed_samples") or 0),
            model_seconds=float(f.get("model_seconds") or 0.0),
            cost_usd=prices.cost(f.get("prompt_tokens"), f.get("completion_tokens")),
        )
        for iteration, f in usage.items()
    ]


def _events(db, rows: list[Any], texts: _Texts) -> list[EventView]:
    views = []
    for e in rows:
        line = e.detail.get("line")
        line = line if isinstance(line, int) else None
        context: list[tuple[int, str]] = []
        if line is not None and e.code_hash:
            lines = (db.source(e.code_hash) or "").splitlines()
            low, high = max(1, line - EVENT_CONTEXT_LINES), min(len(lines), line + EVENT_CONTEXT_LINES)
            context = [(n, lines[n - 1]) for n in range(low, high + 1)]
        views.append(
            EventView(e.id, e.kind, e.iteration, e.improver_run_id, e.detail, e.code_hash, line, context)
        )
    return views


def _seed_scores(config: dict, scores: dict) -> tuple[dict[str, dict[str, float]], str]:
    """u(s) per task and split: scored in this run where it was, else from the seed-score cache."""
    from selftaught.tasks import get_task
    from selftaught.tasks.seed_scores import cache_key, cache_path

    try:
        cache = json.loads(cache_path().read_text())
    except (OSError, ValueError):
        cache = {}
    result: dict[str, dict[str, float]] = {}
    notes = set()
    for name in config.get("tasks") or []:
        try:
            task = get_task(name)
        except Exception:  # noqa: BLE001 - a folder task that moved or breaks: no reference line, still a report
            continue
        seed_hash = source_hash(task.seed_solution())
        entry = cache.get(cache_key(task)) if isinstance(cache, dict) else None
        for split in SPLITS:
            found = scores.get((seed_hash, task.name, split))
            if found is not None:
                result.setdefault(task.name, {})[split] = found.score
                notes.add("scored in this run")
            elif isinstance(entry, dict) and isinstance(entry.get(split), float):
                result.setdefault(task.name, {})[split] = entry[split]
                notes.add("from `selftaught tasks list`'s seed-score cache")
    return result, "; ".join(sorted(notes)) or "not recorded (run `selftaught tasks list` to measure them)"
