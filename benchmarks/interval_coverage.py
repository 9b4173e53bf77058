"""How often do the experiments' 95% intervals cover the truth? Prints one table (for docs/experiments.md).

Each row: a method, a score model with a known mean (selftaught.analysis.coverage), a size n,
and the share of simulated samples whose interval held the truth, with its misses on each
side. Methods the experiments use must hold 92-98%; t is shown beside them for comparison.

    .venv/bin/python benchmarks/interval_coverage.py [--sims 2000] [--seed 0] [--markdown]
"""

from __future__ import annotations

import argparse
import math
import time

from selftaught.analysis.coverage import coverage_table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sims", type=int, default=2000, help="simulated samples per row")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args()
    started = time.perf_counter()
    rows = coverage_table(args.sims, seed=args.seed)
    elapsed = time.perf_counter() - started
    if args.markdown:
        print("| method | model | n | coverage | truth below | truth above | mean width |")
        print("|---|---|---:|---:|---:|---:|---:|")
    else:
        print(f"{'method':28} {'model':34} {'n':>4} {'coverage':>9} {'below':>6} {'above':>6} {'width':>7}")
    for row in rows:
        coverage = "none" if math.isnan(row.rate) else f"{100 * row.rate:.1f}%"
        low, high = f"{100 * row.missed_low / row.sims:.1f}%", f"{100 * row.missed_high / row.sims:.1f}%"
        if args.markdown:
            print(
                f"| {row.method} | {row.model} | {row.n} | {coverage} | {low} | {high} "
                f"| {row.mean_width:.3f} |"
            )
        else:
            print(
                f"{row.method:28} {row.model:34} {row.n:>4} {coverage:>9} {low:>6} {high:>6} "
                f"{row.mean_width:>7.3f}"
            )
    print(f"\n{args.sims} simulated samples per row, seed {args.seed}; {elapsed:.1f} s")


if __name__ == "__main__":
    main()
