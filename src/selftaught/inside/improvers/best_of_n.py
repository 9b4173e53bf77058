from helpers import extract_code


def improve_algorithm(initial_solution, utility, language_model):
    """Best-of-N baseline: draw every sample the budgets allow, independently, and keep the best.

    N is the smaller of the utility budget and the model's calls times its samples per call;
    the samples come in as few calls as `max_responses_per_call` allows, all from the same
    message (no feedback between calls), and each rewrite is scored once. If no answer holds
    a program, the starting program is returned unchanged.
    """
    expertise = (
        "You are a world-class computer scientist and software engineer who designs fast, "
        "correct and inventive algorithms."
    )
    message = f"""Here is a program to improve:
```python
{initial_solution}
```

It will be scored by this utility function:
```python
{utility.str}
```

Write an improved version of the program that earns a higher score. Begin by explaining your
idea in a few sentences, then give the complete program in one Python code block."""
    per_call = max(1, language_model.max_responses_per_call)
    wanted = min(utility.budget - utility.uses, language_model.budget * per_call)
    candidates = []
    calls_made = 0
    while len(candidates) < wanted and calls_made < language_model.budget:
        samples = min(per_call, wanted - len(candidates))
        try:
            answers = language_model.prompt(expertise, message, n_responses=samples, temperature=0.7)
        except Exception:  # a refused call: score what we have
            break
        calls_made += 1
        candidates.extend(extract_code(answers))
    best_solution, best_score = initial_solution, None
    for candidate in candidates:
        if not candidate or utility.uses >= utility.budget:
            continue
        score = utility(candidate)
        if best_score is None or score > best_score:
            best_solution, best_score = candidate, score
    return best_solution
