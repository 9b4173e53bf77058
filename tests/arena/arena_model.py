"""A scripted model for the arena tests (`script:tests/arena/arena_model.py`).

Asked to improve a parity solver, it answers with a learner that searches parity vectors
of at most one 1 (weak) -- or of every weight (strong) when the message says STRONG, which
only tests/arena/strong_improver.py writes. Asked by OpenEvolve to rewrite any other
program (circle packing), it returns the current program with a comment added.
"""

import re

SOLVER = """import itertools

import numpy as np

MAX_WEIGHT = {weight}


def algorithm(train_samples, train_parity, test_samples):
    X = np.asarray(train_samples)
    y = np.asarray(train_parity).reshape(-1)
    n_bits = X.shape[1]
    candidates = [np.zeros(n_bits, dtype=int)]
    for weight in range(1, min(MAX_WEIGHT, n_bits) + 1):
        for ones in itertools.combinations(range(n_bits), weight):
            vector = np.zeros(n_bits, dtype=int)
            vector[list(ones)] = 1
            candidates.append(vector)
    C = np.array(candidates)
    errors = ((X @ C.T) % 2 != y[:, None]).sum(axis=0)
    return (np.asarray(test_samples) @ C[int(np.argmin(errors))]) % 2
"""

CURRENT = re.compile(r"# Current Program\s*```[a-z]*\n(.*?)```", re.DOTALL)


def respond(system, user, temperature, sample):
    if "train_parity" in user or "parity" in user.lower():
        weight = 10 if "STRONG" in user else 1
        code = SOLVER.format(weight=weight)
        return f"Search parity vectors of weight up to {weight}.\n\n```python\n{code}```\n"
    found = CURRENT.search(user)
    if found:
        return f"The same program, tidied.\n\n```python\n# revised\n{found.group(1)}```\n"
    return "I have no idea."
