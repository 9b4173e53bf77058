import math


def utility(algorithm_str: str):
    """
    Scores a circle packing: algorithm(n) places n circles in the unit square [0, 1] x [0, 1]
    and the score is the sum of their radii divided by the best sum known for that n
    (n = 26 here: about 2.636).
    Your function must be named 'algorithm' and take one argument, n. It must return two lists,
    (centers, radii): n centers [x, y] and n radii. The packing scores 0 unless there are exactly
    n circles, every number is finite, no radius is negative, every circle lies inside the square
    and no two circles overlap (both up to 1e-9).
    If the algorithm takes more than 5 seconds, it is a failure.
    """
    n = 26
    best_known = 2.635983
    tolerance = 1e-9
    try:
        exec(algorithm_str, globals())
        centers, radii = algorithm(n)
    except Exception:
        return 0
    if len(centers) != n or len(radii) != n:
        return 0
    for (x, y), r in zip(centers, radii):
        if not all(math.isfinite(v) for v in (x, y, r)) or r < 0:
            return 0
        if x - r < -tolerance or x + r > 1 + tolerance or y - r < -tolerance or y + r > 1 + tolerance:
            return 0
    for i in range(n):
        for j in range(i + 1, n):
            distance = math.dist(centers[i], centers[j])
            if distance < radii[i] + radii[j] - tolerance:
                return 0
    return sum(radii) / best_known
