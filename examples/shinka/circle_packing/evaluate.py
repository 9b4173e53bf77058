"""Evaluator for the circle packing example (ShinkaEvolve format).

Run as `python evaluate.py --program_path P --results_dir R`; writes R/metrics.json and
R/correct.json through shinka.core.run_shinka_eval. A packing is valid only with exactly 26
circles, finite values, no negative radius, every circle inside the unit square and no two
circles overlapping (both up to 1e-9). combined_score = sum of radii / 2.635983 (the best sum
known for 26 circles).
"""

import argparse
import math

from shinka.core import run_shinka_eval

N = 26
BEST_KNOWN = 2.635983
TOLERANCE = 1e-9


def validate_packing(run_output):
    """(is_valid, error message) of one run's (centers, radii, reported sum)."""
    centers, radii, _reported = run_output
    if len(centers) != N or len(radii) != N:
        return False, f"expected {N} circles, got {len(centers)} centers and {len(radii)} radii"
    for index, (center, r) in enumerate(zip(centers, radii, strict=True)):
        if len(center) != 2:
            return False, f"center {index} is not a point (x, y)"
        x, y = (float(v) for v in center)
        r = float(r)
        if not all(math.isfinite(v) for v in (x, y, r)):
            return False, f"circle {index} has a value that is not finite"
        if r < 0:
            return False, f"circle {index} has a negative radius"
        if x - r < -TOLERANCE or x + r > 1 + TOLERANCE or y - r < -TOLERANCE or y + r > 1 + TOLERANCE:
            return False, f"circle {index} is not inside the unit square"
    for i in range(N):
        for j in range(i + 1, N):
            if math.dist(centers[i], centers[j]) < float(radii[i]) + float(radii[j]) - TOLERANCE:
                return False, f"circles {i} and {j} overlap"
    return True, None


def aggregate_metrics(results):
    centers, radii, _reported = results[0]
    total = sum(float(r) for r in radii)
    return {
        "combined_score": total / BEST_KNOWN,
        "public": {"sum_radii": total, "circles": len(radii)},
        "private": {"best_known": BEST_KNOWN},
        "text_feedback": f"sum of radii {total:.6f} (best known {BEST_KNOWN})",
    }


def main(program_path, results_dir):
    metrics, correct, error = run_shinka_eval(
        program_path=program_path,
        results_dir=results_dir,
        experiment_fn_name="run_packing",
        num_runs=1,
        get_experiment_kwargs=lambda run_index: {},
        validate_fn=validate_packing,
        aggregate_metrics_fn=aggregate_metrics,
    )
    return metrics, correct, error


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="circle packing evaluator")
    parser.add_argument("--program_path", type=str, default="initial.py")
    parser.add_argument("--results_dir", type=str, default="results")
    arguments = parser.parse_args()
    main(arguments.program_path, arguments.results_dir)
