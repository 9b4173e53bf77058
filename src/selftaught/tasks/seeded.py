"""Built-in tasks whose instances are generated from seeds, split by split.

Validation instance i is generated from seed 4321 + i and test instance i from 5678 + i, as
in the reference (`--splits reference`, the default), and with the reference's own random
streams: Python's Mersenne Twister (`random.seed`) and numpy's legacy global generator
(`np.random.seed`), drawn in the reference's order. We hold private `random.Random` and
`np.random.RandomState` objects seeded the same way, which produce the same numbers without
touching the process-wide state. Each split is generated once per task object and reused.
The seed solution, the shown utility and a strong hand-written solution are files in the
task's folder next to its `task.py`. Those seeds are public, so a candidate could regenerate
the instances and return their answers; `reseeded` gives a copy whose splits start at other
(secret) seeds, which is what `--splits fresh` uses (tasks/splits.py).
"""

from __future__ import annotations

import copy
import random
import sys
from abc import abstractmethod
from dataclasses import dataclass
from importlib import resources

import numpy as np

from selftaught.tasks.base import SPLITS, Instance, Task

SPLIT_BASE_SEEDS = {"val": 4321, "test": 5678}


@dataclass(frozen=True)
class LegacyStreams:
    """The two generators the reference seeds before each instance (`random` and `np.random`)."""

    py: random.Random
    np: np.random.RandomState


def legacy_streams(seed: int) -> LegacyStreams:
    """Generators in the state `random.seed(seed); np.random.seed(seed)` leaves the globals in."""
    return LegacyStreams(random.Random(seed), np.random.RandomState(seed))


def environment_note() -> str:
    """Comment lines that open a built-in task's shown utility: what the solution's interpreter offers.

    Weak models import pandas or scikit-learn, which the sandbox does not have, and every such
    candidate scores 0; saying so is part of describing the task, as the time limit is.
    """
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    numpy = ".".join(np.__version__.split(".")[:2])
    return (
        f"# The solution runs in a sandbox: Python {python} with its standard library and numpy {numpy}.\n"
        "# No other package is installed (no pandas, scipy, scikit-learn, networkx, torch): importing one\n"
        "# fails and the solution scores 0. Files and the network cannot be used.\n\n"
    )


class SeededTask(Task):
    """A task with a data folder and `split_sizes[split]` instances seeded `base + i`."""

    data_folder: str
    data_package: str = "selftaught.tasks"  # the package whose `data_folder` holds the task's files
    split_sizes: dict[str, int]
    split_base_seeds: dict[str, int] = SPLIT_BASE_SEEDS  # instance i of split s: seed base[s] + i

    @abstractmethod
    def make_instance(self, seed: int) -> Instance:
        """One instance, reproducible from its seed."""

    def _read(self, filename: str) -> str:
        return resources.files(self.data_package).joinpath(self.data_folder, filename).read_text()

    def seed_solution(self) -> str:
        return self._read("seed_algorithm.py")

    def shown_utility(self) -> str:
        return environment_note() + self._read("utility.py")

    def reference_solution(self) -> str:
        """A strong hand-written solution (what `docs/tasks.md` reports next to the seed)."""
        return self._read("reference_solution.py")

    def instances(self, split: str) -> list[Instance]:
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r} (use val or test)")
        cache: dict[str, list[Instance]] = self.__dict__.setdefault("_split_cache", {})
        if split not in cache:
            base = self.split_base_seeds[split]
            cache[split] = [self.make_instance(base + i) for i in range(self.split_sizes[split])]
        return cache[split]

    def reseeded(self, base_seeds: dict[str, int]) -> SeededTask:
        """A copy of this task whose split s starts at seed `base_seeds[s]` (its own instance cache)."""
        missing = sorted(set(SPLITS) - set(base_seeds))
        if missing:
            raise ValueError(f"base seeds missing for split(s) {', '.join(missing)}")
        twin = copy.copy(self)
        twin.__dict__.pop("_split_cache", None)
        twin.split_base_seeds = {split: int(base_seeds[split]) for split in SPLITS}
        return twin
