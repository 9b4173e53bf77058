import random
import time


def grid_dist(s: str, t: str):
    assert isinstance(s, str) and isinstance(t, str) and len(s) == len(t) and set(s + t) <= set("AB")
    distance = sum(a != b for a, b in zip(s, t))  # positions where s and t differ
    distance += sum(a != b for a, b in zip(s, s[1:]))  # changes between neighbours in s
    distance += sum(a != b for a, b in zip(t, t[1:]))  # changes between neighbours in t
    return distance


def score_test(t: str, dist: int, find_at_dist: callable, max_time=0.1) -> float:
    start_time = time.time()
    try:
        s = find_at_dist(t, dist)
        d = grid_dist(s, t)
        if time.time() - start_time > max_time:
            return 0.0  # too slow
        if d == dist:
            return 1.0  # exactly at the requested distance
        return 0.5 - abs(d - dist) / (6 * len(t))  # partial credit, between 0 and 0.5
    except Exception:
        return 0.0  # wrong type, wrong length or other letters


def utility(algorithm_str: str):
    """Scores a solution to the string grid distance task. Returns a value between 0 and 1."""
    try:
        exec(algorithm_str, globals())
    except Exception:
        return 0.0

    scores = []
    for _ in range(50):
        length = random.randint(1, 30)
        t = "".join(random.choice("AB") for _ in range(length))
        s = "".join(random.choice("AB") for _ in range(length))
        dist = grid_dist(s, t)
        scores.append(score_test(t, dist, algorithm))
    return sum(scores) / len(scores)
