import math


def algorithm(n):
    """Equal circles on a square grid: row by row, each in its own cell of a side x side grid."""
    side = math.ceil(math.sqrt(n))
    radius = 0.5 / side
    centers = [[(2 * (i % side) + 1) * radius, (2 * (i // side) + 1) * radius] for i in range(n)]
    radii = [radius] * n
    return centers, radii
