"""The improvers and prompts shipped with the package, by name.

Baselines and prompt variants are source files, like the seed improver, so that an
experiment records their exact source and a user can read (or copy) what ran. The
improvers run inside the sandbox (`selftaught/inside/improvers/`); the strategy judge's
prompt is package data (`selftaught/data/prompts/`).
"""

from __future__ import annotations

from importlib import resources

# name -> path under selftaught/inside
IMPROVER_FILES = {
    "seed": "improvers/seed_improver.py",
    "chain_of_thought": "improvers/chain_of_thought.py",
    "greedy_iterative": "improvers/greedy_iterative.py",
    "best_of_n": "improvers/best_of_n.py",
    "seed_terse": "improvers/seed_improver_terse.py",
    "seed_warning": "improvers/seed_improver_warning.py",
}
BASELINES = ("seed", "chain_of_thought", "greedy_iterative", "best_of_n")
# the seed's own wording first; `seed_warning` is also the circumvention audit's `--warning` prompt
PROMPT_VARIANTS = ("seed", "seed_terse", "seed_warning")
JUDGE_PROMPT_FILE = "prompts/strategy_judge.txt"  # under selftaught/data


def _read(path: str, package: str = "selftaught.data") -> str:
    node = resources.files(package)
    for part in path.split("/"):
        node = node.joinpath(part)
    return node.read_text(encoding="utf-8")


def improver_source(name: str) -> str:
    """The source of a shipped improver; an unknown name fails with the list of known ones."""
    if name not in IMPROVER_FILES:
        raise KeyError(f"unknown improver {name!r}; shipped: {', '.join(IMPROVER_FILES)}")
    return _read(IMPROVER_FILES[name], "selftaught.inside")


def judge_prompt() -> str:
    """The strategy judge's instructions; `{improver}` marks where the improver source goes."""
    return _read(JUDGE_PROMPT_FILE)
