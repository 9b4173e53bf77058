"""Evaluator for the circle packing example (OpenEvolve format): evaluate(program_path) -> metrics.

A packing is valid only with exactly 26 circles, finite values, no negative radius, every
circle inside the unit square and no two circles overlapping (both up to 1e-9).
combined_score = sum of radii / 2.635983 (the best sum known for 26 circles); an invalid
packing scores 0.
"""

import importlib.util
import math

N = 26
BEST_KNOWN = 2.635983
TOLERANCE = 1e-9


def packing_problem(centers, radii):
    """Why the packing is invalid, or None."""
    if len(centers) != N or len(radii) != N:
        return f"expected {N} circles, got {len(centers)} centers and {len(radii)} radii"
    for index, (center, r) in enumerate(zip(centers, radii, strict=True)):
        if len(center) != 2:
            return f"center {index} is not a point (x, y)"
        x, y = center
        if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in (x, y, r)):
            return f"circle {index} has a value that is not a finite number"
        if r < 0:
            return f"circle {index} has a negative radius"
        if x - r < -TOLERANCE or x + r > 1 + TOLERANCE or y - r < -TOLERANCE or y + r > 1 + TOLERANCE:
            return f"circle {index} is not inside the unit square"
    for i in range(N):
        for j in range(i + 1, N):
            if math.dist(centers[i], centers[j]) < radii[i] + radii[j] - TOLERANCE:
                return f"circles {i} and {j} overlap"
    return None


def evaluate(program_path):
    spec = importlib.util.spec_from_file_location("program", program_path)
    program = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(program)
    centers, radii, _reported = program.run_packing()
    centers = [[float(v) for v in center] for center in centers]
    radii = [float(r) for r in radii]
    problem = packing_problem(centers, radii)
    if problem is not None:
        return {"combined_score": 0.0, "validity": 0.0, "sum_radii": 0.0, "error": problem}
    total = sum(radii)
    return {"combined_score": total / BEST_KNOWN, "validity": 1.0, "sum_radii": total}
