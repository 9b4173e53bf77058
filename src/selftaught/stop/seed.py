"""The seed improver's source, shipped beside the other code that runs inside the sandbox."""

from __future__ import annotations

from importlib import resources


def seed_improver_source() -> str:
    return resources.files("selftaught.inside").joinpath("improvers", "seed_improver.py").read_text()
