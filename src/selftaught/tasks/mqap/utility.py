import time

import numpy as np


def utility(algorithm_str: str):
    """
    Scores a solver for the modified quadratic assignment problem (MQAP) with n facilities and
    n locations: the mean objective per pair of facilities, where higher is better.
    Your function must be named 'algorithm' and take three arguments, F, D and P: numpy arrays
    of shape (n, n) holding the flows between facilities, the distances between locations and
    the preference of each facility for each location. It must return an assignment: a
    permutation of range(n), facility i going to location assignment[i].
    The algorithm must be fast: if it takes more than 500 milliseconds, it is a failure.
    """
    n_tests = 10
    n = 15
    preference_weight = 0.5
    average_objective = 0
    try:
        exec(algorithm_str, globals())
    except Exception:
        return 0

    for _ in range(n_tests):
        F = np.random.rand(n, n)
        D = np.random.rand(n, n)
        P = np.random.rand(n, n)
        start_time = time.time()
        try:
            assignment = algorithm(F, D, P)
        except Exception:
            continue
        total_time = time.time() - start_time
        if total_time > 0.5 or sorted(assignment) != list(range(n)):
            continue  # too slow, or not a permutation
        objective = sum(F[i, j] * D[assignment[i], assignment[j]] for i in range(n) for j in range(n))
        objective -= preference_weight * sum(P[i, assignment[i]] for i in range(n))
        objective += total_time
        average_objective += objective / n_tests
    return average_objective / (n * n)
