from helpers import extract_code


def improve_algorithm(initial_solution, utility, language_model):
    """Asks for a STRONG rewrite (the arena tests' model answers it with a better solver)."""
    message = f"STRONG rewrite of this parity program:\n```python\n{initial_solution}\n```"
    n = min(language_model.max_responses_per_call, utility.budget)
    candidates = [c for c in extract_code(language_model.prompt("expert", message, n_responses=n)) if c]
    return max(candidates, key=utility) if candidates else initial_solution
