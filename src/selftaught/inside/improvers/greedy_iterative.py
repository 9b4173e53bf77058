from helpers import extract_code


def improve_algorithm(initial_solution, utility, language_model):
    """Greedy iterative baseline: spend each permitted call on rewrites of the best program so far.

    Each round asks for as many samples as one call and the remaining utility budget allow,
    scores every rewrite, keeps the best (the starting program included) and shows that best
    in the next round's message. Rounds stop before either budget would be exceeded; a call
    the model refuses anyway also ends the search, with the best program found.
    """
    expertise = (
        "You are a world-class computer scientist and software engineer who designs fast, "
        "correct and inventive algorithms."
    )
    best_solution = initial_solution
    best_score = utility(initial_solution)
    calls_made = 0
    while calls_made < language_model.budget:
        samples = min(language_model.max_responses_per_call, utility.budget - utility.uses)
        if samples < 1:
            break
        message = f"""Here is the best program found so far:
```python
{best_solution}
```

It is scored by this utility function:
```python
{utility.str}
```

Write a version of the program that scores higher. Explain your idea in a few sentences,
then give the complete program in one Python code block."""
        try:
            answers = language_model.prompt(expertise, message, n_responses=samples, temperature=0.7)
        except Exception:  # a refused call: the budget is spent, keep what we have
            break
        calls_made += 1
        for candidate in extract_code(answers):
            if not candidate or utility.uses >= utility.budget:
                continue
            score = utility(candidate)
            if score > best_score:
                best_solution, best_score = candidate, score
    return best_solution
