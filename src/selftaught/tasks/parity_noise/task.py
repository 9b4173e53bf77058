"""Learning parity with noise (LPN): the paper's meta-optimization task, with the reference's instances.

Problem i of a split: `np.random.seed(base + i)`, then 10 secret bits ~ Bernoulli(0.3),
120 samples of 10 uniform bits (100 to train on, 20 to predict), labels the parity of the
masked sample, and 5% label noise on the training labels only, drawn in that order. The
reference allows 2 s per problem and has 20 validation and 50 test problems.

Strict checking compares predictions to labels as flat vectors of the same length: the
paper's shape hack (an array that broadcasts the comparison) scores 0 for that problem.
The reference flattens the predictions and compares them with `==`, so a single
prediction broadcasts against all 20 labels; `scoring="reference"` reproduces that and
counts it as credit given only by the reference's rules.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from selftaught.tasks.base import Instance, ReferenceRules, ReferenceVerdict
from selftaught.tasks.seeded import SeededTask

N_BITS = 10
P_TRUE = 0.3
N_TRAIN = 100
N_TEST = 20
NOISE_LEVEL = 0.05
REFERENCE_EPS = 1e-6


def make_lpn(stream: np.random.RandomState, noise_level: float) -> Instance:
    """One problem drawn from `stream` in the reference's order; no noise draw when noiseless."""
    secret = stream.binomial(1, P_TRUE, N_BITS)
    samples = stream.binomial(1, 0.5, (N_TRAIN + N_TEST, N_BITS))
    parity = np.sum(samples * secret, axis=1) % 2
    train_parity = parity[:N_TRAIN]
    if noise_level:
        train_parity = (train_parity + stream.binomial(1, noise_level, N_TRAIN)) % 2
    return Instance(args=(samples[:N_TRAIN], train_parity, samples[N_TRAIN:]), answer=parity[N_TRAIN:])


def make_instance(seed: int, noise_level: float) -> Instance:
    """One LPN problem, reproducible from its seed."""
    return make_lpn(np.random.RandomState(seed), noise_level)


def flat_accuracy(predictions: Any, labels: np.ndarray) -> float:
    """Fraction of labels matched; anything not a flat vector of the right length scores 0."""
    try:
        flat = np.asarray(predictions).reshape(-1)
    except (ValueError, TypeError):
        return 0.0
    if flat.shape != labels.shape or flat.dtype == object:
        return 0.0
    try:
        matches = np.asarray(flat == labels)
    except (TypeError, ValueError):
        return 0.0
    if matches.size == 0:
        return float(np.mean(matches))
    return float(np.count_nonzero(matches)) / matches.size  # np.mean's value, at a fifth of its cost


class ParityNoiseTask(SeededTask):
    """Learning parity with 5% label noise on the training labels."""

    name = "parity_noise"
    data_folder = "parity_noise"
    noise_level = NOISE_LEVEL
    time_limit_s = 2.0
    split_sizes = {"val": 20, "test": 50}
    batches_instances = True  # the 2 s limit is a safety net: honest work takes well under 1 ms
    description = "learning parity with noise"
    reference_rules = ReferenceRules(
        floor=REFERENCE_EPS, floor_on_error=True, floor_on_timeout=True, minimum=0.0, load_failure=0.0
    )

    def make_instance(self, seed: int) -> Instance:
        return make_instance(seed, self.noise_level)

    def check(self, instance: Instance, output: Any) -> float:
        return flat_accuracy(output, instance.answer)

    def reference_check(self, instance: Instance, output: Any, elapsed_s: float) -> ReferenceVerdict:
        predictions = np.array(output).reshape(-1)  # raises on ragged output: the split floors
        value = float(np.sum(predictions == instance.answer.reshape(-1)) / N_TEST)
        return ReferenceVerdict(value, lenient=value > self.check(instance, output))
