"""Arena arms by name: selftaught's improvers (internal) and adapters of other optimizers (external).

`--arms seed,improved:RUN,best_of_n,greedy,openevolve` names them. Internal arms are
improvers run in selftaught's sandbox: `seed` (the seed improver), `best_of_n`, `greedy`
(the greedy iterative baseline), `chain_of_thought`, `improved:RUN[:ITERATION]` (the
improver a recorded STOP run ended with, or the one it used after ITERATION) and
`improver:PATH` (a file). External arms are the registered adapters (external.py).
Each arm's source (or recorded settings) is part of the experiment's identity.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from selftaught.arena.budget import ArmBudget
from selftaught.arena.external import external_names, external_optimizer, require_available
from selftaught.errors import UserInputError
from selftaught.store.store import Store

# arena name -> shipped improver (analysis/packaged.py)
SHIPPED = {
    "seed": "seed",
    "best_of_n": "best_of_n",
    "greedy": "greedy_iterative",
    "chain_of_thought": "chain_of_thought",
}


@dataclass(frozen=True)
class ArmSpec:
    """One arm: its name as given, its kind, and what it runs (improver source or adapter settings)."""

    name: str
    kind: str  # "internal" or "external"
    source: str | None = None  # internal: the improver's source
    label: str = ""  # internal: where the source came from (RUN:ITERATION, a path)
    settings: dict[str, Any] | None = None  # external: the adapter's recorded configuration

    @property
    def slug(self) -> str:
        """The arm's name as a stream segment (no slashes)."""
        if self.name.startswith("improver:"):
            return f"improver-{self.identity[:12]}"
        return self.name.replace("/", "_")

    @property
    def identity(self) -> str:
        """A digest of what the arm runs."""
        text = self.source if self.source is not None else json.dumps(self.settings, sort_keys=True)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]

    def to_json(self) -> dict[str, Any]:
        record: dict[str, Any] = {"name": self.name, "kind": self.kind, "identity": self.identity}
        if self.label:
            record["label"] = self.label
        if self.settings is not None:
            record["settings"] = self.settings
        return record


def split_arms(text: str) -> list[str]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names:
        raise UserInputError("--arms names no arm")
    if len(set(names)) != len(names):
        raise UserInputError("--arms names an arm twice")
    return names


def resolve_arm(name: str, store: Store, budget: ArmBudget) -> ArmSpec:
    """The arm called `name`, or a UserInputError listing the known ones."""
    from selftaught.analysis.packaged import improver_source

    if name in SHIPPED:
        return ArmSpec(name, "internal", improver_source(SHIPPED[name]), f"shipped {SHIPPED[name]}")
    if name.startswith("improved:"):
        from selftaught.experiments.transfer import improver_from_run

        source, label = improver_from_run(store, name.removeprefix("improved:"))
        return ArmSpec(name, "internal", source, label)
    if name.startswith("improver:"):
        from selftaught.api import check_improver

        path = Path(name.removeprefix("improver:"))
        if not path.is_file():
            raise UserInputError(f"arm {name}: no improver file {str(path)!r}")
        source = path.read_text(encoding="utf-8")
        check_improver(source, str(path))
        return ArmSpec(name, "internal", source, str(path))
    adapter = external_optimizer(name)
    if adapter is not None:
        require_available(adapter)
        return ArmSpec(name, "external", settings=adapter.settings(budget))
    known = [*SHIPPED, "improved:RUN[:ITERATION]", "improver:PATH", *external_names()]
    raise UserInputError(f"unknown arm {name!r} (known: {', '.join(known)})")


def reference_arm(arms: list[ArmSpec]) -> str:
    """The arm differences are taken against: `seed` when present, else the first."""
    names = [arm.name for arm in arms]
    return "seed" if "seed" in names else names[0]
