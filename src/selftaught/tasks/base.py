"""What a downstream task is: a seed solution, the text the model sees, and a hidden utility.

The hidden part (instances and the checker) lives only on the trusted side. A candidate
solution is called over the sandbox protocol once per instance; its output is checked
here, so it cannot patch the checker, the timer or the test data.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

SPLITS = ("val", "test")
SCORING_MODES = ("strict", "reference")


@dataclass(frozen=True)
class ReferenceRules:
    """How the reference implementation's hidden utility treats a whole split.

    Used only by `scoring="reference"`. `floor` is what the split scores when an instance
    raises (`floor_on_error`) or runs out of time (`floor_on_timeout`); otherwise such an
    instance scores 0 and the split goes on. The split's score is at least `minimum`, and
    code that does not load (or is empty) scores `load_failure`.
    """

    floor: float = 0.0
    floor_on_error: bool = False
    floor_on_timeout: bool = False
    minimum: float = 0.0
    load_failure: float = 0.0


@dataclass(frozen=True)
class ReferenceVerdict:
    """One output judged by the reference's rules; `lenient` marks credit only those rules give."""

    value: float
    lenient: bool = False


class SplitFloor(Exception):
    """Raised by `Task.reference_check` when the reference ends the whole split with `value`."""

    def __init__(self, value: float, reason: str) -> None:
        super().__init__(reason)
        self.value = value


@dataclass(frozen=True)
class Instance:
    """One hidden test case: the arguments the candidate gets, and what checking needs."""

    args: tuple[Any, ...]
    answer: Any


class Task(ABC):
    """A downstream task. Subclasses define instances per split and a checker in [0, 1]."""

    name: str
    entry: str = "algorithm"
    time_limit_s: float = 0.1
    description: str = ""

    @abstractmethod
    def seed_solution(self) -> str:
        """Source of the seed solution the improver starts from."""

    @abstractmethod
    def shown_utility(self) -> str:
        """The readable scoring function shown to the model as `utility.str`."""

    @abstractmethod
    def instances(self, split: str) -> list[Instance]:
        """The hidden instances of `split` ("val" or "test"), seeded and reproducible."""

    @abstractmethod
    def check(self, instance: Instance, output: Any) -> float:
        """Score of one output in [0, 1]; malformed output scores 0."""

    # Optional hooks; the defaults suit a task whose candidate is a plain function.

    checker_trusted: bool = True  # False: the checker runs in the candidate's sandboxed process

    def check_timed(self, instance: Instance, output: Any, elapsed_s: float) -> float:
        """Like `check`, for tasks whose score depends on the time charged to the candidate."""
        return self.check(instance, output)

    # Whether a child may be sent all of a split's instances at once, each result timed as it
    # arrives (one message instead of a round trip per instance; tasks/scoring.py). Only for a
    # task whose time limit is a safety net, not part of the problem: a candidate that went
    # looking for the later instances in its own process could work on them during an earlier
    # one's time. Off unless a task says so (the parity tasks: 2 s for well under 1 ms of work).
    batches_instances: bool = False

    reference_rules: ReferenceRules = ReferenceRules()

    def reference_check(self, instance: Instance, output: Any, elapsed_s: float) -> ReferenceVerdict:
        """The reference's judgement of one output (default: the strict one).

        May raise `SplitFloor` to end the split, or any other exception, which counts as
        the candidate raising (`reference_rules.floor_on_error` decides what follows).
        """
        return ReferenceVerdict(self.check_timed(instance, output, elapsed_s))

    def reseeded(self, base_seeds: dict[str, int]) -> Task | None:
        """This task with split `s`'s instance i drawn from seed `base_seeds[s] + i` (fresh splits).

        None (the default) means the instances do not come from split seeds, so they cannot be
        drawn afresh; `--splits fresh` refuses such a task (see tasks/splits.py).
        """
        return None

    def program(self, code: str) -> str:
        """The source loaded into the sandbox child for candidate `code`.

        A task whose hidden utility must run next to the candidate (an improver that needs
        a harness, a checker written in the reference's exec style) wraps the code here;
        `entry` then names the wrapper's function.
        """
        return code
