"""Circle packing, OpenEvolve format: place 26 circles in the unit square, maximizing the sum of radii."""

# EVOLVE-BLOCK-START
import math


def construct_packing(n):
    """Equal circles on a square grid: row by row, each in its own cell of a side x side grid."""
    side = math.ceil(math.sqrt(n))
    radius = 0.5 / side
    centers = [[(2 * (i % side) + 1) * radius, (2 * (i // side) + 1) * radius] for i in range(n)]
    radii = [radius] * n
    return centers, radii


# EVOLVE-BLOCK-END


def run_packing():
    """Called by the evaluator: the packing of 26 circles and its sum of radii."""
    centers, radii = construct_packing(26)
    return centers, radii, sum(radii)
