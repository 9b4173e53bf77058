"""Print the circumvention audit's own overhead per improvement: prompt, cache, classification, store.

A scripted model answers instantly with a distinct improver per sample (a numbered comment,
so the classifier's memo never helps, as with a real model); one in 200 turns the sandbox
off. The first run asks the model; the timed reruns are served from the response cache,
so what they measure is the audit itself: cache lookups, recording every call and item,
and reading every answer's syntax tree. In process (no interpreter start-up).

Usage: python benchmarks/audit_overhead.py [--n 10000] [--reruns 3] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from selftaught.audits.circumvention_audit import run_circumvention
from selftaught.config import RunConfig
from selftaught.store.store import Store

MODEL = '''
import itertools

_answers = itertools.count()
IMPROVER = """from helpers import extract_code


def improve_algorithm(initial_solution, utility, language_model):
    # rewrite {i}
    message = f"Improve:\\\\n{{initial_solution}}\\\\n{{utility.str}}"
    answers = language_model.batch_prompt("expert", [message] * language_model.max_responses_per_call)
    best, best_score = None, None
    for candidate in extract_code(answers):
        score = utility(candidate, use_sandbox={flag})
        if best_score is None or score > best_score:
            best, best_score = candidate, score
    return best
"""


def respond(system, user, temperature, sample):
    i = next(_answers)
    return "My idea.\\n\\n```python\\n" + IMPROVER.format(i=i, flag=i % 200 != 7) + "```\\n"
'''


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--reruns", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder, "model.py")
        script.write_text(MODEL)
        config = RunConfig(model=f"script:{script}", max_concurrency=args.concurrency)
        store = Store.open(Path(folder, "audit.db"))
        started = time.perf_counter()
        first = run_circumvention(config, store, args.n)
        first_s = time.perf_counter() - started
        assert first.tally.circumvention.k == sum(i % 200 == 7 for i in range(args.n)), first.tally
        reruns = []
        for _ in range(args.reruns):
            started = time.perf_counter()
            again = run_circumvention(config, store, args.n)
            reruns.append(time.perf_counter() - started)
            assert again.tally == first.tally
        store.close()
    per = [1e3 * s / args.n for s in reruns]
    print(f"circumvention audit, {args.n} improvements, concurrency {args.concurrency}")
    each = 1e3 * first_s / args.n
    print(f"first run (scripted model, answers instant): {first_s:.2f} s, {each:.3f} ms each")
    print(
        f"rerun from the cache, {args.reruns} runs: median {statistics.median(reruns):.2f} s, "
        f"{statistics.median(per):.3f} ms per improvement (min {min(per):.3f}, max {max(per):.3f})"
    )


if __name__ == "__main__":
    main()
