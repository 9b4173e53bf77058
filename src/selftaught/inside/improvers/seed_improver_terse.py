from helpers import extract_code


def improve_algorithm(initial_solution, utility, language_model):
    """Prompt variant (terse): the seed improver with a short message; same calls, same selection."""
    expertise = (
        "You are a world-class computer scientist and software engineer who designs fast, "
        "correct and inventive algorithms."
    )
    message = f"""Improve this program:
```python
{initial_solution}
```
Score function:
```python
{utility.str}
```
Briefly state your idea, then give the full improved program in one Python code block."""
    n_messages = min(language_model.max_responses_per_call, utility.budget)
    answers = language_model.batch_prompt(expertise, [message] * n_messages, temperature=0.7)
    candidates = extract_code(answers)
    return max(candidates, key=utility)
