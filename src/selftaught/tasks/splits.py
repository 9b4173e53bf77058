"""Which instances a run scores on: the reference's public seeds, or fresh ones from a secret.

`reference` (the default) reproduces the paper: validation instance i is seeded 4321 + i
and test instance i 5678 + i. Those seeds are public, so a candidate can regenerate the
instances and return their answers. `fresh` draws, once per run, a secret with
`secrets.token_hex`; each task's split starts at a seed derived from it (HMAC-SHA256 of
the task name and split), kept clear of the reference's seeds. The secret is recorded in
the run store (table `split_secrets`) so that resume scores on the same instances, and it
stays on the trusted side: instances are generated and checked in the orchestrator, the
candidate only ever gets one instance's arguments.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import TYPE_CHECKING, Literal

from selftaught.errors import UserInputError
from selftaught.tasks.base import SPLITS, Task

if TYPE_CHECKING:
    from selftaught.config import RunConfig
    from selftaught.store.store import Store

SplitsChoice = Literal["reference", "fresh"]
SPLITS_CHOICES: tuple[str, ...] = ("reference", "fresh")
SECRET_BYTES = 32
# fresh base seeds lie in [LOWEST_SEED, HIGHEST_SEED): far above the reference's (4321, 5678),
# and base + i stays below 2**32 (what np.random.RandomState accepts) for any split size
LOWEST_SEED = 1_000_000
HIGHEST_SEED = 2**31


def new_secret() -> str:
    """A new split secret (hex), from the operating system's random source."""
    return secrets.token_hex(SECRET_BYTES)


def fresh_base_seeds(secret: str, task_name: str) -> dict[str, int]:
    """The base seed of each split of `task_name` under `secret` (deterministic; none near 4321/5678)."""
    bases: dict[str, int] = {}
    for split in SPLITS:
        message = f"{task_name}\0{split}".encode()
        digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
        bases[split] = LOWEST_SEED + int.from_bytes(digest[:8], "big") % (HIGHEST_SEED - LOWEST_SEED)
    return bases


def fresh_tasks(tasks: list[Task], secret: str) -> list[Task]:
    """`tasks` with every split drawn from `secret`; a task with fixed instances is a UserInputError."""
    drawn = []
    for task in tasks:
        twin = task.reseeded(fresh_base_seeds(secret, task.name))
        if twin is None:
            raise UserInputError(
                f"task {task.name!r} has fixed instances (they do not come from split seeds), so "
                "--splits fresh cannot draw new ones; use --splits reference for it"
            )
        drawn.append(twin)
    return drawn


def run_tasks(config: RunConfig, tasks: list[Task], store: Store | None, run_id: str | None) -> list[Task]:
    """The tasks a run scores on: as given under `reference`, else drawn from the run's secret.

    The first call for a run records a new secret; every later one (resume, an experiment
    continued) reads the recorded one, so the run keeps its instances.
    """
    choice = getattr(config, "splits", "reference")
    if choice == "reference":
        return tasks
    if choice != "fresh":
        raise UserInputError(f"unknown splits {choice!r} (use reference or fresh)")
    if store is None or run_id is None:
        return fresh_tasks(tasks, new_secret())
    secret = store.split_secret(run_id, create=True)
    assert secret is not None  # just recorded, or recorded before
    return fresh_tasks(tasks, secret)
