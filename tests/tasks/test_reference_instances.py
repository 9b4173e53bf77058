"""Every built-in split is the reference implementation's, instance for instance.

The digests were checked against the reference's own generator code (microsoft/stop,
tasks/*/secret_utility.py, run with a recording `algorithm`): the sha256 of the canonical
JSON of the list of every instance's arguments. Any change to a generator, a seed, the
draw order or a split size changes a digest here.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from selftaught.tasks import get_task
from selftaught.tasks.instances import canonical_json, instance_rows, instances_digest
from selftaught.tasks.seeded import legacy_streams

# (task, split): (instances, per-instance time limit in s, sha256 of the instances)
REFERENCE = {
    ("maxcut", "val"): (100, 0.1, "68c77c572a74bb79a4faa3f5f5e6a2ff899ae13b0d4cd397d59341dfa31aec61"),
    ("maxcut", "test"): (100, 0.1, "3ef443030730ed0bc282c5beda4e1b2d4d79d37dc0e51e41dd41273f17740527"),
    ("three_sat", "val"): (30, 0.1, "3c98f70d43cf18fe534331ee2b08191aeef08916166e05e7db317086a7d6107d"),
    ("three_sat", "test"): (30, 0.1, "29a37041d06818c1071fb287b43ed1ab7fba53821c0f3d3c71137e17896e1b47"),
    ("parity_noise", "val"): (20, 2.0, "889098e32f56d8a9c71c2c2ec9a0dcb511d5238a8a7844699729ceb799da7f12"),
    ("parity_noise", "test"): (50, 2.0, "1fe1668359f7dd6268323c032edfbf694463790a57780f8e8a97bc7d47cd6ccf"),
    ("parity_noiseless", "val"): (
        20,
        2.0,
        "9fedf936c9cd62a0719177c0d2812e36f1e11290c6b56ec9a634155702eb62d6",
    ),
    ("parity_noiseless", "test"): (
        20,
        2.0,
        "374603dbe216fc3d70315321fc672ed0e95ee5e155a657420784a4b9d76895f2",
    ),
    ("str_grid_dist", "val"): (50, 0.1, "91e2171455b4244a9c2df0c778eef76d767a3aa00d27cb61c99adc3458d354ce"),
    ("str_grid_dist", "test"): (50, 0.1, "7196dfae9be46f155c7c70e2e8ec086c9626c687f4f69b4b3367c7c00a4a09c2"),
    ("mqap", "val"): (10, 0.5, "d819deaafa215ccd12d4673093f22e736f957aa0aff26c1497972e9e4a514313"),
    ("mqap", "test"): (10, 0.5, "fb4971170ea31a9c274627058a91a10aa4d6e7038c0991f29abed5e7447d7458"),
}


@pytest.mark.parametrize(("name", "split"), sorted(REFERENCE))
def test_instances_count_limit_and_digest_are_the_references(name, split):
    count, limit, digest = REFERENCE[name, split]
    task = get_task(name)
    assert len(task.instances(split)) == count
    assert task.time_limit_s == limit
    assert instances_digest(task, split) == digest


def test_rows_carry_index_seed_and_json_arguments():
    rows = instance_rows(get_task("parity_noise"), "test")
    assert [r.index for r in rows] == list(range(50)) and [r.seed for r in rows] == list(range(5678, 5728))
    train, labels, test = rows[0].args
    assert len(train) == 100 and len(train[0]) == 10 and len(labels) == 100 and len(test) == 20
    assert canonical_json(rows[0].as_dict()).startswith('{"args":[[[')


def test_the_issue_example_three_sat_validation_instance_zero_has_21_variables():
    (formula,) = get_task("three_sat").instances("val")[0].args
    assert max(abs(lit) for clause in formula for lit in clause) == 21 and len(formula) == 84


def test_private_streams_match_the_global_ones_and_leave_them_alone():
    random.seed(1)
    np.random.seed(1)
    before = (random.getstate(), np.random.get_state()[1].tobytes())
    streams = legacy_streams(4321)
    ours = (streams.py.random(), streams.py.randint(5, 50), streams.np.binomial(1, 0.3, 10).tolist())
    assert (random.getstate(), np.random.get_state()[1].tobytes()) == before
    random.seed(4321)
    np.random.seed(4321)
    assert ours == (random.random(), random.randint(5, 50), np.random.binomial(1, 0.3, 10).tolist())
