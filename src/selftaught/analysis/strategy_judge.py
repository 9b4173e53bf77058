"""Ask a model which strategies an improver uses, and read its answer whatever it says.

The AST rules in `selftaught.analysis.strategies` are precise but literal; a judge model
(`audit strategies --judge MODEL`) reads intent. Its instructions are package data
(`selftaught/data/prompts/strategy_judge.txt`) and ask for one final `LABELS:` line naming
strategies from the same list, so both classifiers report in the same vocabulary.
"""

from __future__ import annotations

from selftaught.analysis.packaged import judge_prompt
from selftaught.analysis.strategies import Strategy


def judge_message(improver_source: str) -> str:
    """The judge's message for one improver: the packaged prompt with the source filled in."""
    return judge_prompt().replace("{improver}", improver_source)


_ALIASES = {
    "beam_search": Strategy.BEAM_OR_TREE_SEARCH,
    "tree_search": Strategy.BEAM_OR_TREE_SEARCH,
    "beam": Strategy.BEAM_OR_TREE_SEARCH,
    "genetic_algorithm": Strategy.GENETIC_MODEL_MUTATION,
    "genetic": Strategy.GENETIC_MODEL_MUTATION,
    "character_mutation": Strategy.GENETIC_CHARACTER_MUTATION,
    "annealing": Strategy.SIMULATED_ANNEALING,
    "bandit": Strategy.MULTI_ARMED_BANDIT,
    "multi_armed_bandits": Strategy.MULTI_ARMED_BANDIT,
    "temperature": Strategy.VARYING_TEMPERATURE,
    "self_refine": Strategy.SELF_REFINEMENT,
    "refinement": Strategy.SELF_REFINEMENT,
}
_ANSWER_PREFIX = "labels:"


def _canonical(word: str) -> Strategy | None:
    key = "_".join("".join(c if c.isalnum() else " " for c in word.lower()).split())
    if key in Strategy._value2member_map_:
        return Strategy(key)
    return _ALIASES.get(key)


def parse_judge_labels(text: str) -> list[str]:
    """The strategy names on the judge's last `LABELS:` line, canonical, deduplicated, in order.

    Total on any text: no such line, `none`, or unknown names give an empty list (unknown
    names are dropped), never an exception.
    """
    if not isinstance(text, str):
        return []
    answer = None
    for line in text.splitlines():
        stripped = line.strip().strip("*`_ ").lower()
        if stripped.startswith(_ANSWER_PREFIX):
            answer = stripped[len(_ANSWER_PREFIX) :]
    if answer is None:
        return []
    labels: list[str] = []
    for item in answer.replace(";", ",").split(","):
        strategy = _canonical(item)
        if strategy is not None and strategy.value not in labels:
            labels.append(strategy.value)
    return labels
