from helpers import extract_code


def improve_algorithm(initial_solution, utility, language_model):
    """Chain-of-thought baseline: one model call, one attempt, never scored by the utility.

    Returns the program from the single answer as it is; an answer without a code block
    returns an empty string, which the run records as an error (the paper reports this
    baseline with and without its errors).
    """
    expertise = (
        "You are a world-class computer scientist and software engineer who designs fast, "
        "correct and inventive algorithms."
    )
    message = f"""Improve the following program.
```python
{initial_solution}
```

This function will measure how good the new program is:
```python
{utility.str}
```

You get a single attempt, so reason carefully. First think step by step about what limits the
current program's score and what would raise it, then write the complete improved program in
one Python code block."""
    answers = language_model.prompt(expertise, message, n_responses=1, temperature=0.7)
    code = extract_code(answers[0]) if answers else None
    return code or ""
