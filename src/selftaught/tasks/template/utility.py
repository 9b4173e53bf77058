import random
import time


def best_value(values, weights, capacity):
    best = [0] * (capacity + 1)
    for value, weight in zip(values, weights):
        for c in range(capacity, weight - 1, -1):
            best[c] = max(best[c], best[c - weight] + value)
    return best[capacity]


def utility(algorithm_str: str):
    """
    Scores a 0/1 knapsack solver: the value of the items it chooses divided by the best possible
    value, averaged over random problems.
    Your function must be named 'algorithm' and take three arguments: values and weights (lists
    of n positive integers) and capacity (an integer). It must return the indices of the chosen
    items; choices that repeat an index or exceed the capacity score 0.
    If the algorithm takes more than 100 milliseconds on a problem, it is a failure.
    It runs in a sandbox with Python's standard library and numpy only: other packages
    (pandas, scipy, scikit-learn, ...) are not installed, and importing one scores 0.
    """
    n_tests = 20
    total = 0
    try:
        exec(algorithm_str, globals())
    except Exception:
        return 0

    for _ in range(n_tests):
        n = random.randint(20, 40)
        values = [random.randint(1, 99) for _ in range(n)]
        weights = [random.randint(1, 99) for _ in range(n)]
        capacity = sum(weights) // 3
        start_time = time.time()
        try:
            chosen = list(algorithm(values, weights, capacity))
        except Exception:
            continue
        if time.time() - start_time > 0.1:
            continue
        if len(set(chosen)) != len(chosen) or not set(chosen) <= set(range(n)):
            continue
        if sum(weights[i] for i in chosen) > capacity:
            continue
        total += sum(values[i] for i in chosen) / best_value(values, weights, capacity)
    return total / n_tests
