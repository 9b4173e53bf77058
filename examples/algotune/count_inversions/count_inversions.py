"""Count the inversions of a sequence: pairs i < j with values[i] > values[j].

An AlgoTune-style task written for selftaught: the task class generates problems,
solves them with a plain reference and checks answers. `n` scales the problem: a
sequence of 100 * n integers.
"""

import random

from AlgoTuneTasks.base import Task, register_task


@register_task("count_inversions")
class CountInversions(Task):
    def generate_problem(self, n, random_seed=1):
        rng = random.Random(random_seed)
        length = 100 * n
        return {"values": [rng.randrange(10 * length) for _ in range(length)]}

    def solve(self, problem):
        """Reference: compare every pair."""
        values = problem["values"]
        count = 0
        for i in range(len(values)):
            current = values[i]
            for later in values[i + 1 :]:
                if current > later:
                    count += 1
        return {"inversions": count}

    def is_solution(self, problem, solution):
        """True if the answer states the exact count (computed here by merge sort)."""
        if not isinstance(solution, dict) or "inversions" not in solution:
            return False
        answer = solution["inversions"]
        if isinstance(answer, bool) or not isinstance(answer, int):
            return False
        return answer == _merge_count(list(problem["values"]))[1]


def _merge_count(values):
    if len(values) <= 1:
        return values, 0
    middle = len(values) // 2
    left, left_count = _merge_count(values[:middle])
    right, right_count = _merge_count(values[middle:])
    merged, count, i, j = [], left_count + right_count, 0, 0
    while i < len(left) and j < len(right):
        if left[i] <= right[j]:
            merged.append(left[i])
            i += 1
        else:
            merged.append(right[j])
            count += len(left) - i
            j += 1
    merged.extend(left[i:])
    merged.extend(right[j:])
    return merged, count
