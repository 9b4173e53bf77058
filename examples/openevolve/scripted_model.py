"""A deterministic model for the field-format examples: `--model script:PATH_TO_THIS_FILE`.

It serves the built-in `circle_packing` task and the three example folders
(examples/openevolve/circle_packing, examples/shinka/circle_packing,
examples/algotune/count_inversions). Asked to improve a program, it answers with a better
one, keeping the text outside the EVOLVE-BLOCK as it was shown:

- circle packing: a 5 x 5 grid of circles of radius 0.1, and the remaining circles in the
  gaps between four of them (sum 2.54 for n = 26, where the seed's grid gives 2.17);
- count inversions: merge-sort counting instead of comparing every pair.

Asked to improve an improver, it answers with a greedy best-so-far improver. Sample 1 of
every call is a broken answer, so selection by utility matters.
"""

import re

PACKING = '''import math


def {name}(n):
    """A k x k grid of equal circles (k = floor(sqrt(n))), the rest in the gaps between four of them."""
    k = math.isqrt(n)
    radius = 0.5 / k
    centers = [[(2 * (i % k) + 1) * radius, (2 * (i // k) + 1) * radius] for i in range(k * k)]
    radii = [radius] * (k * k)
    gap = radius * (math.sqrt(2) - 1) - 1e-12
    for i in range(n - k * k):
        row, column = divmod(i, k - 1)
        centers.append([2 * radius * (column + 1), 2 * radius * (row + 1)])
        radii.append(gap)
    return centers, radii
'''

SOLVER = '''class Solver:
    def solve(self, problem, **kwargs):
        """Count inversions while merge-sorting."""
        _, count = self._sort(list(problem["values"]))
        return {"inversions": count}

    def _sort(self, values):
        if len(values) <= 1:
            return values, 0
        middle = len(values) // 2
        left, a = self._sort(values[:middle])
        right, b = self._sort(values[middle:])
        merged, count, i, j = [], a + b, 0, 0
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
'''

GREEDY_IMPROVER = '''from helpers import extract_code


def improve_algorithm(initial_solution, utility, language_model):
    """Greedy iterative improvement: spend every model call refining the best-so-far solution."""
    expertise = "You are an expert computer scientist who improves programs step by step."
    best_solution, best_score = initial_solution, utility(initial_solution)
    for _ in range(language_model.budget):
        n_messages = min(language_model.max_responses_per_call, utility.budget - utility.uses)
        if n_messages <= 0:
            break
        message = f"""Here is a program to improve:
```python
{best_solution}
```

It will be scored by this utility function:
```python
{utility.str}
```
Give the complete improved program in one Python code block."""
        for candidate in extract_code(language_model.batch_prompt(expertise, [message] * n_messages)):
            if candidate:
                score = utility(candidate)
                if score > best_score:
                    best_solution, best_score = candidate, score
    return best_solution
'''

BROKEN = "def algorithm(n:\n    return None\n"
BLOCK = re.compile(r"(# EVOLVE-BLOCK-START\n).*?(# EVOLVE-BLOCK-END)", re.DOTALL)


def _answer(idea, code):
    return f"{idea}\n\n```python\n{code}```\n"


def _shown_program(user):
    match = re.search(r"```python\n(.*?)\n```", user, re.DOTALL)
    return match.group(1) + "\n" if match else ""


def respond(system, user, temperature, sample):
    """One answer per requested sample; deterministic in (user, sample)."""
    if sample == 1:
        return _answer("A bold rewrite that I did not test.", BROKEN)
    if "def improve_algorithm" in user:
        return _answer("Refine the best solution so far with every call.", GREEDY_IMPROVER)
    program = _shown_program(user)
    if "def construct_packing" in program:
        improved = BLOCK.sub(
            lambda m: m.group(1) + PACKING.format(name="construct_packing") + "\n\n" + m.group(2), program
        )
        return _answer("Fill the gaps of a 5 x 5 grid with small circles.", improved)
    if "def algorithm(n)" in program:
        return _answer("Fill the gaps of a square grid with small circles.", PACKING.format(name="algorithm"))
    if "class Solver" in program:
        return _answer("Count inversions while merge-sorting: O(n log n).", SOLVER)
    return _answer("No idea; the program as it was.", program)
