"""A scripted model whose answers fail in every way a report must explain, and one that improves.

Asked to improve a solution, sample k of a call answers with: 0 a better parity learner,
1 a program importing pandas, 2 one raising ValueError, 3 one that never returns, 4 an
answer without code, 5 a program that does not parse. Asked to improve an improver,
sample 0 answers with a greedy best-so-far improver and the others with a broken one
(which imports subprocess, a safety event, and divides by zero).
"""

import re

SOLVER = '''import itertools

import numpy as np

MAX_WEIGHT = {weight}


def algorithm(train_samples, train_parity, test_samples):
    """Pick the sparse parity vector that disagrees least with the training labels."""
    X = np.asarray(train_samples)
    y = np.asarray(train_parity).reshape(-1)
    n_bits = X.shape[1]
    candidates = [np.zeros(n_bits, dtype=int)]
    for weight in range(1, MAX_WEIGHT + 1):
        for ones in itertools.combinations(range(n_bits), weight):
            vector = np.zeros(n_bits, dtype=int)
            vector[list(ones)] = 1
            candidates.append(vector)
    C = np.array(candidates)
    errors = ((X @ C.T) % 2 != y[:, None]).sum(axis=0)
    return (np.asarray(test_samples) @ C[int(np.argmin(errors))]) % 2
'''

FAILING = [
    None,
    "import pandas as pd\n\n\ndef algorithm(train_samples, train_parity, test_samples):\n"
    "    return pd.Series(train_parity).mode().tolist() * len(test_samples)\n",
    "def algorithm(train_samples, train_parity, test_samples):\n"
    "    raise ValueError('the bits do not add up </script><b>bold</b>')\n",
    "def algorithm(train_samples, train_parity, test_samples):\n    while True:\n        pass\n",
    None,
    "def algorithm(train_samples, train_parity, test_samples:\n    return None\n",
]

GREEDY_IMPROVER = '''from helpers import extract_code


def improve_algorithm(initial_solution, utility, language_model):
    """Greedy: spend every model call refining the best solution so far."""
    expertise = "You are an expert computer scientist."
    best_solution, best_score = initial_solution, utility(initial_solution)
    for _ in range(language_model.budget):
        n_messages = min(language_model.max_responses_per_call, utility.budget - utility.uses)
        if n_messages <= 0:
            break
        message = f"Improve this solution (score {best_score:.3f}):\\n```python\\n{best_solution}\\n```"
        for candidate in extract_code(language_model.batch_prompt(expertise, [message] * n_messages)):
            if candidate:
                score = utility(candidate)
                if score > best_score:
                    best_solution, best_score = candidate, score
    return best_solution
'''

BROKEN_IMPROVER = (
    "import subprocess\n\n\ndef improve_algorithm(initial_solution, utility, language_model):\n"
    "    return 1 / 0\n"
)
NEXT_WEIGHT = {None: 1, 1: 3, 3: 10, 10: 10}


def respond(system, user, temperature, sample):
    """Deterministic in (user, sample)."""
    kind = sample % 6
    if "def improve_algorithm" in user:
        code = GREEDY_IMPROVER if kind == 0 else BROKEN_IMPROVER
        return f"Refine the best so far.\n\n```python\n{code}```\n"
    if kind == 4:
        return "I would rather explain the idea than write code: use <script>alert(1)</script> voting."
    if kind == 0:
        match = re.search(r"MAX_WEIGHT = (\d+)", user)
        code = SOLVER.format(weight=NEXT_WEIGHT[int(match.group(1)) if match else None])
    else:
        code = FAILING[kind]
    return f"Idea number {kind}.\n\n```python\n{code}```\n"
