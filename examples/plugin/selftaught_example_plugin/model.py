"""`--model canned`: a deterministic, offline model kind with canned answers.

Asked to improve an improver (the prompt shows `def improve_algorithm`), it answers with a
plain hill-climbing improver; asked to improve a solution, it answers with a largest-first
greedy partition (a good answer for `number_partition`, a wrong one elsewhere). `canned:N`
makes every N-th sample of a call an answer without code, so that selection matters.
"""

from __future__ import annotations

from selftaught.errors import UserInputError
from selftaught.models import ModelKind
from selftaught.models.base import ModelRequest, ModelResponse
from selftaught.models.registry import ModelOptions

GREEDY = '''import numpy as np


def algorithm(numbers):
    """Largest first, each number onto the side with the smaller sum so far."""
    numbers = np.asarray(numbers)
    sides = [0] * len(numbers)
    sums = [0, 0]
    for index in np.argsort(-numbers, kind="stable"):
        side = 0 if sums[0] <= sums[1] else 1
        sides[int(index)] = side
        sums[side] += int(numbers[index])
    return sides
'''
HILL_CLIMBER = r'''from helpers import extract_code


def improve_algorithm(initial_solution, utility, language_model):
    """Ask for a better version of the best solution so far, call after call; keep the best."""
    expertise = "You are an expert computer scientist."
    best, best_score = initial_solution, utility(initial_solution)
    for _ in range(language_model.budget):
        n_samples = min(language_model.max_responses_per_call, utility.budget - utility.uses)
        if n_samples <= 0:
            break
        message = "Improve this solution:\n" + best + "\nIt is scored by:\n" + utility.str
        for candidate in extract_code(language_model.batch_prompt(expertise, [message] * n_samples)):
            if candidate:
                score = utility(candidate)
                if score > best_score:
                    best, best_score = candidate, score
    return best
'''


class CannedModel:
    """Answers from the two canned texts above; the same request always gets the same answers."""

    def __init__(self, every: int) -> None:
        self.every = every
        self.identity = f"canned:{every}" if every else "canned"

    def _answer(self, user: str, sample: int) -> str:
        if self.every and (sample + 1) % self.every == 0:
            return "I would rather not change anything."
        if "def improve_algorithm" in user:
            return f"Climb from the best solution so far.\n\n```python\n{HILL_CLIMBER}```\n"
        return f"Place the largest numbers first.\n\n```python\n{GREEDY}```\n"

    def complete(self, request: ModelRequest) -> ModelResponse:
        answers = [self._answer(request.user, sample) for sample in range(request.n)]
        return ModelResponse(answers, self.identity)

    def close(self) -> None:
        pass


def _build(argument: str, options: ModelOptions) -> CannedModel:
    if argument and not argument.isdigit():
        raise UserInputError(f"canned:{argument}: the argument is a whole number (every N-th sample fails)")
    return CannedModel(int(argument or 0))


CANNED = ModelKind("canned", "canned[:N] - canned answers for number_partition (example plugin)", _build)
