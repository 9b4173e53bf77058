"""Number partitioning, as a selftaught task: built like the built-in tasks, shipped by this package.

Instance i of a split is drawn from seed `base + i` (selftaught's split seeds): 20 to 60
integers in [1, 1000]. The candidate returns one 0/1 label per number; a partition scores
1 - |difference of the two sums| / largest number, at least 0 (greedy largest-first reaches
a difference below the largest number, so this spreads the scores of good answers). Anything
else (wrong length, labels other than 0 and 1) scores 0. This code runs on selftaught's
trusted side, like a built-in task's; candidates run only in its sandbox.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from selftaught.tasks import Instance
from selftaught.tasks.seeded import SeededTask


class NumberPartitionTask(SeededTask):
    """Two-way number partitioning: sums as equal as possible, 100 ms per list."""

    name = "number_partition"
    data_package = "selftaught_example_plugin"  # seed_algorithm.py and utility.py live here
    data_folder = "number_partition"
    time_limit_s = 0.1
    split_sizes = {"val": 20, "test": 20}
    description = "two-way number partitioning, 20-60 integers in 1..1000 (example plugin)"

    def make_instance(self, seed: int) -> Instance:
        rng = np.random.default_rng(seed)
        numbers = rng.integers(1, 1001, size=int(rng.integers(20, 61)))
        return Instance(args=(numbers,), answer=None)

    def check(self, instance: Instance, output: Any) -> float:
        numbers = instance.args[0]
        try:
            sides = np.asarray(output)
        except Exception:  # noqa: BLE001 - anything that is not an array of labels scores 0
            return 0.0
        if sides.shape != numbers.shape or not np.isin(sides, (0, 1)).all():
            return 0.0
        difference = abs(int(numbers[sides == 0].sum()) - int(numbers[sides == 1].sum()))
        return max(0.0, 1.0 - difference / int(numbers.max()))
