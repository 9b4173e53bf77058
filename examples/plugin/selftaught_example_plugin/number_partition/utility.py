import time

import numpy as np


def utility(algorithm_str: str):
    """
    Scores a number-partitioning algorithm: split positive integers into two sides whose sums
    are as close as possible. A partition scores 1 - |sum(side 0) - sum(side 1)| / max(numbers),
    at least 0, averaged over random lists.
    Your function must be named 'algorithm' and take one argument, numbers: a 1-d numpy array
    of 20 to 60 integers in [1, 1000]. It must return a list of len(numbers) labels, each 0 or 1.
    If the algorithm takes more than 100 milliseconds on a list, it is a failure.
    """
    n_tests = 30
    total_score = 0.0
    try:
        exec(algorithm_str, globals())
    except Exception:
        return 0

    for _ in range(n_tests):
        numbers = np.random.randint(1, 1001, size=np.random.randint(20, 61))
        start_time = time.time()
        try:
            sides = np.asarray(algorithm(numbers.copy()))
        except Exception:
            continue
        if time.time() - start_time > 0.1:
            continue  # over the time limit
        if sides.shape != numbers.shape or not np.isin(sides, (0, 1)).all():
            continue
        difference = abs(int(numbers[sides == 0].sum()) - int(numbers[sides == 1].sum()))
        total_score += max(0.0, 1.0 - difference / numbers.max())
    return total_score / n_tests
