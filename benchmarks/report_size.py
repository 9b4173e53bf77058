"""Print the size and browser load time of the report of a synthetic 6-iteration, 5-repeat run.

The store is written row by row through the Store's write methods, shaped like a run with
the paper's budgets (4 calls of 6 samples per improver run, n_tests 5, a seed improver
that proposes 6 improvers per iteration, each scored by a 5-repeat meta-utility): about
220 improver runs and 5,000 distinct model answers of 1.5 to 3 KB, every failure kind
among the candidates. The page is opened in headless Chromium from a file:// URL.

Usage: python benchmarks/report_size.py [--out DIR] [--answer-chars 2500] [--loads 3]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from selftaught.inside.helpers import extract_code
from selftaught.report import collect_report, render_report
from selftaught.store.store import Store

ITERATIONS, REPEATS, CALLS, SAMPLES, PROPOSALS = 6, 5, 4, 6, 6
FAILURES = [
    (None, None),
    ("load_error", "ModuleNotFoundError: No module named 'pandas'"),
    (
        "exception",
        "Traceback (most recent call last):\n  ...\nValueError: shapes (20,10) and (9,) not aligned",
    ),
    ("timeout", "wall-clock limit reached"),
    ("load_error", 'File "<candidate>", line 3\n    def algorithm(x:\nSyntaxError: invalid syntax'),
    ("check_error", "TypeError: unsupported operand"),
]


def _program(rng: random.Random, chars: int) -> str:
    lines = ["import numpy as np", "", "", "def algorithm(train_samples, train_parity, test_samples):"]
    while sum(len(line) + 1 for line in lines) < chars:
        lines.append(
            f"    value_{rng.randrange(10**6)} = np.asarray(train_samples) * {rng.random():.6f}  # step"
        )
    return "\n".join(lines + ["    return np.zeros(len(test_samples), dtype=int)", ""])


def _answer(code: str) -> str:
    return f"Here is an idea: weigh the samples.\n\n```python\n{code}```\n"


def build_store(path: Path, answer_chars: int, seed: int = 0) -> str:
    rng = random.Random(seed)
    store = Store.open(path)
    config = {"iterations": ITERATIONS, "n_tests": REPEATS, "calls": CALLS, "samples": SAMPLES,
              "tasks": ["parity_noise"], "price_prompt": 1.0, "price_completion": 2.0}  # fmt: skip
    run_id = store.new_run("stop", config, "openai:synthetic", "synthetic-model")
    improver = (
        "def improve_algorithm(initial_solution, utility, language_model):\n    return initial_solution\n"
    )

    def improver_run(iteration, purpose, improver_source, parent=None, meta_call=None, repeat=None):
        run = store.start_improver_run(
            run_id=run_id, iteration=iteration, parent_id=parent, purpose=purpose, meta_call=meta_call,
            improver_hash=store.put_source(improver_source, "improver"),
            task=None if purpose == "self_improve" else "parity_noise", repeat=repeat,
            stream=f"it{iteration}/{purpose}/{meta_call}/{repeat}",
        )  # fmt: skip
        best, best_hash = 0.0, None
        for _call in range(CALLS if purpose != "self_improve" else 1):
            answers = []
            for sample in range(SAMPLES):
                if purpose == "self_improve":
                    code = improver + f"# variant {rng.randrange(10**9)}\n" + _program(rng, answer_chars)
                else:
                    code = _program(rng, answer_chars)
                answers.append(_answer(code))
                code = extract_code(answers[-1])  # what an improver passes to its utility
                digest = store.put_source(code, "solution")
                kind, error = FAILURES[sample % len(FAILURES)]
                score = 0.0 if kind else rng.uniform(0.4, 0.9)
                if purpose != "self_improve":
                    for split in ("val", "test"):
                        store.add_evaluation(
                            run_id=run_id, iteration=iteration, improver_run_id=run, code_hash=digest,
                            task="parity_noise", split=split, score=score, error_kind=kind, error=error,
                            instances=20, elapsed_s=0.1,
                        )  # fmt: skip
                if score > best:
                    best, best_hash = score, digest
            store.add_model_call(
                run_id=run_id, iteration=iteration, improver_run_id=run, method="batch_prompt",
                system="You are an expert.", messages_json=json.dumps(["Improve this."] * SAMPLES), n=SAMPLES,
                temperature=0.7, responses_json=json.dumps(answers), prompt_tokens=900,
                completion_tokens=700 * SAMPLES, latency_s=4.0, model_identity="synthetic-model",
            )  # fmt: skip
        store.finish_improver_run(run, status="ok", result_hash=best_hash, score_val=best,
                                  score_test=best * 0.95, elapsed_s=30.0)  # fmt: skip
        return run, best

    for t in range(ITERATIONS + 1):
        started = time.time()
        candidate = None
        if t:
            step, _ = improver_run(t, "self_improve", improver)
            for k in range(1, PROPOSALS + 1):
                for r in range(REPEATS):
                    improver_run(
                        t, "meta_call", improver + f"# proposal {k}\n", parent=step, meta_call=k, repeat=r
                    )
            candidate = improver + f"# iteration {t}\n"
            store.put_source(candidate, "improver")
            improver = candidate
        scores = [improver_run(t, "iteration_eval", improver, repeat=r)[1] for r in range(REPEATS)]
        mean = sum(scores) / len(scores)
        store.add_iteration(run_id=run_id, iteration=t, status="seed" if t == 0 else "improved",
                            improver_hash=store.put_source(improver, "improver"),
                            candidate_hash=store.put_source(candidate, "improver") if candidate else None,
                            meta_utility_val=mean, meta_utility_test=mean * 0.95,
                            started=started, ended=time.time())  # fmt: skip
    store.set_run_status(run_id, "finished")
    return run_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="folder for the store and the page")
    parser.add_argument("--answer-chars", type=int, default=2500, help="length of each synthetic program")
    parser.add_argument("--loads", type=int, default=3, help="browser loads to time")
    args = parser.parse_args()
    folder = args.out or Path(tempfile.mkdtemp(prefix="report-size-"))
    folder.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    run_id = build_store(folder / "synthetic.db", args.answer_chars)
    built = time.monotonic() - started
    store = Store.open_existing(folder / "synthetic.db")
    counts = store.counts(run_id)
    started = time.monotonic()
    html = render_report(collect_report(store, run_id))
    rendered = time.monotonic() - started
    page = folder / "report.html"
    page.write_text(html, encoding="utf-8")
    size = page.stat().st_size
    print(f"store: {counts} (built in {built:.1f} s)")
    print(f"report: {size / 1e6:.2f} MB, rendered in {rendered:.1f} s -> {page}")
    from tests.report.browser import browser_missing, visit

    missing = browser_missing()
    if missing:
        print(f"load time: not measured ({missing})")
        return
    visits = [visit(page) for _ in range(args.loads)]
    times = [v.load_seconds for v in visits]
    errors = sum(len(v.console_errors) for v in visits)
    others = {url for v in visits for url in v.requests if url != page.resolve().as_uri()}
    print(
        f"load time over {len(times)} loads: median {statistics.median(times):.2f} s, "
        f"max {max(times):.2f} s; console errors {errors}; other requests {len(others)}"
    )
    if 'id="packed"' in html:
        opened = [visit(page, OPEN_PACKED).facts for _ in range(args.loads)]
        how = "whole" if 'id="packed-note"' in html else "rests"
        median_s = statistics.median(o["ms"] for o in opened) / 1000
        print(
            f"texts packed ({how}); opening one from its link, unpacking included, over "
            f"{len(opened)} loads: median {median_s:.2f} s; opened: {all(o['length'] > 0 for o in opened)}"
        )


OPEN_PACKED = """async () => {
    const link = Array.from(document.querySelectorAll('a[href^="#t"]'))
        .find(a => !document.getElementById(a.getAttribute('href').slice(1)));
    const button = document.querySelector('button.rest');
    const id = link ? link.getAttribute('href').slice(1) : button.dataset.for;
    const started = performance.now();
    (link || button).click();
    const block = () => document.getElementById(id);
    const done = () => link ? block() : !block().querySelector('button');
    while (!done() && performance.now() - started < 10000) await new Promise(r => setTimeout(r, 5));
    return {ms: performance.now() - started, length: block().querySelector('pre').textContent.length};
}"""


if __name__ == "__main__":
    main()
