import random
import time


def random_3sat_formula(n, m):
    """A random 3-SAT formula with n variables and m clauses that a hidden assignment satisfies."""
    hidden = [False] + [random.random() < 0.5 for _ in range(n)]
    formula = []
    while len(formula) < m:
        variables = random.sample(range(1, n + 1), 3)
        clause = [v if random.random() < 0.5 else -v for v in variables]
        if any(hidden[abs(lit)] == (lit > 0) for lit in clause):
            formula.append(clause)
    return formula


def satisfies(formula, assignment):
    return all(any((assignment[abs(lit)] > 0) == (lit > 0) for lit in clause) for clause in formula)


def utility(algorithm_str: str):
    """
    Scores a solver for random 3-SAT: the fraction of formulas it solves within the time limit.
    Your function must be named 'algorithm' and take one argument, formula: a list of m clauses,
    each a list of 3 literals (v means variable v is true, -v that it is false, variables 1..n).
    It must return a list of n + 1 truth values indexed by variable (index 0 is unused).
    The algorithm must be extremely fast: more than 10 milliseconds on a formula is a failure.
    """
    n_tests = 30
    solved = 0
    try:
        exec(algorithm_str, globals())
    except Exception:
        return 0

    for _ in range(n_tests):
        n = random.randint(5, 50)  # number of variables
        m = 4 * n  # number of clauses
        formula = random_3sat_formula(n, m)
        start_time = time.time()
        try:
            assignment = algorithm([list(clause) for clause in formula])
            ok = len(assignment) == n + 1 and satisfies(formula, assignment)
        except Exception:
            ok = False
        if time.time() - start_time > 0.01:
            ok = False
        solved += ok
    return solved / n_tests
