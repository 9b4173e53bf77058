"""A batch (every instance sent at once, each result timed on arrival) scores as a round trip per
instance does: the same scores and failures, each instance on its own clock."""

from __future__ import annotations

import pytest
from tests.tasks.subset import Subset

from selftaught.tasks import get_task
from selftaught.tasks.scoring import score_solution

LIMIT_S = 0.4  # a kill comes at 0.6 s (scoring._kill_grace): late answers fall well between


class Quick(Subset):
    """Eight parity instances with a 0.4 s limit, batched or not."""

    def __init__(self, batched: bool) -> None:
        super().__init__(get_task("parity_noise"), list(range(8)))
        self.time_limit_s, self._batched = LIMIT_S, batched
        self.name = f"parity-quick-{'batched' if batched else 'round-trips'}"

    @property
    def batches_instances(self) -> bool:
        return self._batched


# Instances are told apart by their first training sample; a table of what to do for each.
FAULTY = """
import time
import numpy as np

def algorithm(train_samples, train_parity, test_samples):
    what = ACTIONS[int(train_samples[0].sum()) % len(ACTIONS)]
    if what == "raise":
        raise ValueError("no")
    if what == "hang":
        time.sleep(5)
    if what == "slow":  # over the 0.4 s limit, answered well before the kill at 0.6 s
        time.sleep(0.5)
    if what == "bad":
        return "not a prediction"
    return np.zeros(len(test_samples), dtype=int)
"""

CASES = {
    "honest": ["ok"],
    "raises on some": ["ok", "raise", "ok"],
    "hangs on some (killed, a new child goes on)": ["ok", "ok", "hang"],
    "over the limit on some (answered late)": ["ok", "slow"],
    "malformed on some": ["bad", "ok"],
    "every fault": ["ok", "raise", "hang", "slow", "bad"],
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_batch_scores_what_round_trips_score(pool, case):
    source = FAULTY.replace("ACTIONS", repr(CASES[case]))
    batched = score_solution(Quick(True), source, "val", pool)
    one_by_one = score_solution(Quick(False), source, "val", pool)
    assert batched.score == one_by_one.score
    assert batched.error_kind == one_by_one.error_kind
    if case != "honest":  # the faults cost something: the comparison is not of two honest runs
        honest = score_solution(Quick(True), FAULTY.replace("ACTIONS", "['ok']"), "val", pool)
        assert batched.score < honest.score


@pytest.mark.parametrize("batched", [True, False])
def test_each_instance_has_its_own_clock_in_a_batch(pool, batched):
    """0.3 s an instance passes a 0.4 s limit 8 times over (a clock running from the batch's send
    would fail all but the first); 0.5 s an instance fails each one (answered before the kill)."""
    under = "import time\ndef algorithm(a, b, c):\n    time.sleep(0.3)\n    return [0] * len(c)\n"
    over = under.replace("0.3", "0.5")
    passed = score_solution(Quick(batched), under, "val", pool)
    failed = score_solution(Quick(batched), over, "val", pool)
    assert passed.error_kind is None and passed.score > 0.3
    assert failed.score == 0.0 and failed.error_kind == "time_limit"


def test_only_tasks_whose_limit_is_a_safety_net_batch_their_instances():
    assert get_task("parity_noise").batches_instances and get_task("parity_noiseless").batches_instances
    for name in ("maxcut", "three_sat", "str_grid_dist", "mqap"):  # the limit is part of the problem
        assert not get_task(name).batches_instances, name
