"""Label an improver with the search strategies the paper saw models invent, from its syntax tree.

The paper names beam or tree search, genetic algorithms (mutation by the model, or by
random character edits), simulated annealing, improving one function at a time,
multi-armed bandits, varying the sampling temperature, and (as the natural reading of
"self-refinement") feeding scores back into the next prompt. Each rule below looks for
the construct that makes the strategy work, not for words in prompts: strings are
prompts for the model and say nothing about what the improver itself does. Every label
carries the lines that justify it, so a reader can check it. The plain seed improver
(one batched call, keep the best) gets no label.

`selftaught.analysis.strategy_judge` asks a model the same question and reads its answer.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum

from selftaught.analysis.score_flow import ScoreFlow


class Strategy(StrEnum):
    BEAM_OR_TREE_SEARCH = "beam_or_tree_search"
    GENETIC_MODEL_MUTATION = "genetic_model_mutation"
    GENETIC_CHARACTER_MUTATION = "genetic_character_mutation"
    SIMULATED_ANNEALING = "simulated_annealing"
    DECOMPOSITION = "decomposition"
    MULTI_ARMED_BANDIT = "multi_armed_bandit"
    VARYING_TEMPERATURE = "varying_temperature"
    SELF_REFINEMENT = "self_refinement"


@dataclass(frozen=True)
class StrategyLabel:
    """A strategy and the (1-based) lines, with their text, that show it."""

    strategy: Strategy
    lines: tuple[int, ...]
    evidence: tuple[str, ...]


@dataclass(frozen=True)
class StrategyReport:
    """The labels of one improver; `parsed` is False when the source is not valid Python."""

    labels: tuple[StrategyLabel, ...]
    parsed: bool

    @property
    def names(self) -> list[str]:
        return [label.strategy.value for label in self.labels]


_MODEL_METHODS = frozenset({"prompt", "batch_prompt"})
_LOOPS = (ast.For, ast.AsyncFor, ast.While)
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.Module)
_GA_WORDS = frozenset({"population", "crossover", "offspring", "mutate", "mutation", "mutations", "genome"})
_BEAM_WORDS = frozenset({"beam", "beams", "frontier", "mcts"})
_ANNEAL_WORDS = frozenset({"anneal", "annealing", "cooling"})
_BANDIT_WORDS = frozenset({"bandit", "bandits", "ucb", "ucb1", "thompson"})
_MUTATION_SCOPE_WORDS = frozenset({"mutate", "mutation", "crossover", "breed", "recombine"})
_NOT_MESSAGE_KEYWORDS = frozenset({"temperature", "n_responses", "n"})


def _words(identifier: str) -> set[str]:
    """The lower-case words of a snake_case or camelCase identifier."""
    spaced = "".join(f"_{c}" if c.isupper() else c for c in identifier)
    return {word for word in spaced.lower().split("_") if word}


def _call_name(call: ast.Call) -> str:
    return ast.unparse(call.func)


class _Tree:
    """The parsed improver with the few indexes every rule needs."""

    def __init__(self, tree: ast.Module, lines: list[str]) -> None:
        self.tree = tree
        self.lines = lines
        self.parents: dict[ast.AST, ast.AST] = {}
        for parent in ast.walk(tree):
            for child in ast.iter_child_nodes(parent):
                self.parents[child] = parent
        self.utility = {"utility"}
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name == "improve_algorithm":
                params = node.args.posonlyargs + node.args.args
                if len(params) > 1:
                    self.utility.add(params[1].arg)
        self.calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)]
        self.model_calls = [
            c for c in self.calls if isinstance(c.func, ast.Attribute) and c.func.attr in _MODEL_METHODS
        ]
        self.utility_calls = [
            c for c in self.calls if isinstance(c.func, ast.Name) and c.func.id in self.utility
        ]

    def ancestors(self, node: ast.AST) -> Iterator[ast.AST]:
        while node in self.parents:
            node = self.parents[node]
            yield node

    def in_loop(self, node: ast.AST) -> bool:
        for ancestor in self.ancestors(node):
            if isinstance(ancestor, _LOOPS):
                return True
            if isinstance(ancestor, ast.FunctionDef | ast.AsyncFunctionDef):
                return False
        return False

    def scope(self, node: ast.AST) -> ast.AST:
        return next(a for a in self.ancestors(node) if isinstance(a, _SCOPES))

    def label(self, strategy: Strategy, nodes: Iterable[ast.AST]) -> StrategyLabel | None:
        numbers = sorted({int(getattr(n, "lineno", 0)) for n in nodes if getattr(n, "lineno", 0) > 0})
        if not numbers:
            return None
        return StrategyLabel(strategy, tuple(numbers), tuple(self.lines[i - 1].strip() for i in numbers))

    def named(self, words: frozenset[str]) -> list[ast.AST]:
        """Nodes that bind or use an identifier containing one of `words`."""
        found: list[ast.AST] = []
        for node in ast.walk(self.tree):
            name = None
            if isinstance(node, ast.Name):
                name = node.id
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = node.name
            elif isinstance(node, ast.arg):
                name = node.arg
            elif isinstance(node, ast.Attribute):
                name = node.attr
            if name and _words(name) & words:
                found.append(node)
        return found


def _is_random_call(call: ast.Call) -> bool:
    name = _call_name(call)
    prefixes = ("random.", "np.random.", "numpy.random.", "rng.")
    return name.startswith(prefixes) or name in {"randint", "choice", "uniform", "randrange"}


def _beam(t: _Tree) -> list[ast.AST]:
    nodes: list[ast.AST] = list(t.named(_BEAM_WORDS))
    if not t.model_calls:
        return []
    for node in ast.walk(t.tree):
        if isinstance(node, ast.Call) and _call_name(node) in {
            "heapq.nlargest",
            "heapq.nsmallest",
            "nlargest",
        }:
            nodes.append(node)
        elif (
            isinstance(node, ast.Subscript)
            and isinstance(node.slice, ast.Slice)
            and node.slice.lower is None
            and node.slice.upper is not None
            and isinstance(node.value, ast.Call)
            and _call_name(node.value) == "sorted"
        ):
            loop = next((a for a in t.ancestors(node) if isinstance(a, _LOOPS)), None)
            if loop is not None and any(c in t.model_calls for c in ast.walk(loop)):
                nodes.append(node)  # keep the top k, then expand them with the model
    return nodes


def _character_mutation(t: _Tree) -> list[ast.AST]:
    """Random edits of program text: spliced slices or random characters, in a scope with randomness."""
    found: list[ast.AST] = []
    for node in ast.walk(t.tree):
        edit = (
            isinstance(node, ast.BinOp)
            and isinstance(node.op, ast.Add)
            and sum(
                isinstance(part, ast.Subscript) and isinstance(part.slice, ast.Slice)
                for part in ast.walk(node)
            )
            >= 2
        ) or (
            isinstance(node, ast.Attribute)
            and ast.unparse(node).startswith("string.")
            and node.attr != "Template"
        )
        if not edit:
            continue
        scope = t.scope(node)
        if any(isinstance(c, ast.Call) and _is_random_call(c) for c in ast.walk(scope)):
            found.append(node)
    return found


def _genetic(t: _Tree) -> tuple[list[ast.AST], list[ast.AST]]:
    core = t.named(_GA_WORDS)
    if not core:
        return [], []
    character = _character_mutation(t)
    model: list[ast.AST] = []
    for call in t.model_calls:
        scopes = [a for a in t.ancestors(call) if isinstance(a, ast.FunctionDef | ast.AsyncFunctionDef)]
        if any(_words(s.name) & _MUTATION_SCOPE_WORDS for s in scopes) or (t.in_loop(call) and not character):
            model.append(call)
    return (core[:3] + model if model else []), (core[:3] + character if character else [])


def _annealing(t: _Tree) -> list[ast.AST]:
    nodes: list[ast.AST] = list(t.named(_ANNEAL_WORDS))
    for node in ast.walk(t.tree):
        if isinstance(node, ast.Compare):
            parts = [node.left, *node.comparators]
            has_exp = any(
                isinstance(c, ast.Call) and _call_name(c).split(".")[-1] == "exp"
                for p in parts
                for c in ast.walk(p)
            )
            has_random = any(isinstance(p, ast.Call) and _is_random_call(p) for p in parts)
            if has_exp and has_random:
                nodes.append(node)
    return nodes if t.utility_calls else []


def _decomposition(t: _Tree) -> list[ast.AST]:
    splits: list[ast.AST] = []
    for node in ast.walk(t.tree):
        if isinstance(node, ast.Attribute) and node.attr in {"FunctionDef", "AsyncFunctionDef"}:
            splits.append(node)
        elif (
            isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "split"
        ):
            marker = node.args[0] if node.args else None
            if isinstance(marker, ast.Constant) and str(marker.value).strip().startswith("def"):
                splits.append(node)
    looped = [c for c in t.model_calls if t.in_loop(c)]
    return [*splits, *looped] if splits and looped else []


def _bandit(t: _Tree) -> list[ast.AST]:
    nodes: list[ast.AST] = list(t.named(_BANDIT_WORDS))
    for call in t.calls:
        name = _call_name(call)
        if name.split(".")[-1] in {"betavariate", "beta"} and _is_random_call(call):
            nodes.append(call)  # Thompson sampling
        elif name.split(".")[-1] == "sqrt" and any(
            isinstance(c, ast.Call) and _call_name(c).split(".")[-1] == "log" for c in ast.walk(call)
        ):
            nodes.append(call)  # an upper confidence bound
    for node in ast.walk(t.tree):
        if isinstance(node, ast.Compare):
            parts = [node.left, *node.comparators]
            if any(isinstance(p, ast.Call) and _is_random_call(p) for p in parts) and any(
                isinstance(p, ast.Name) and _words(p.id) & {"eps", "epsilon"} for p in parts
            ):
                nodes.append(node)  # epsilon-greedy
    return nodes if nodes and t.model_calls else []


def _varying_temperature(t: _Tree) -> list[ast.AST]:
    assigned: dict[str, list[ast.expr]] = {}
    for node in ast.walk(t.tree):
        if not isinstance(node, ast.Assign):
            continue
        for target in node.targets:
            if isinstance(target, ast.Name):
                assigned.setdefault(target.id, []).append(node.value)
    constants: set[object] = set()
    varying: list[ast.AST] = []
    for call in t.model_calls:
        for keyword in call.keywords:
            if keyword.arg != "temperature":
                continue
            value = keyword.value
            if isinstance(value, ast.Name) and len(assigned.get(value.id, [])) == 1:
                only = assigned[value.id][0]
                value = only if isinstance(only, ast.Constant) else value
            if isinstance(value, ast.Constant):
                constants.add(value.value)
            else:
                varying.append(call)
    if varying:
        return varying
    if len(constants) > 1:
        return [c for c in t.model_calls if any(k.arg == "temperature" for k in c.keywords)]
    return []


def _self_refinement(t: _Tree) -> list[ast.AST]:
    """Scores (utility results) that reach a prompt's message, as numbers or as text."""
    scores = ScoreFlow(t.tree, t.utility_calls)
    fed: list[ast.AST] = []
    for call in t.model_calls:
        parts = list(call.args) + [k.value for k in call.keywords if k.arg not in _NOT_MESSAGE_KEYWORDS]
        if any(scores.mentioned(part) for part in parts):
            fed.append(call)
    return [*t.utility_calls, *fed] if fed else []


def classify_strategies(source: str) -> StrategyReport:
    """The strategies `source` implements, each with its evidence, in `Strategy` order."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return StrategyReport((), False)
    t = _Tree(tree, source.splitlines())
    model_mutation, character_mutation = _genetic(t)
    found = {
        Strategy.BEAM_OR_TREE_SEARCH: _beam(t),
        Strategy.GENETIC_MODEL_MUTATION: model_mutation,
        Strategy.GENETIC_CHARACTER_MUTATION: character_mutation,
        Strategy.SIMULATED_ANNEALING: _annealing(t),
        Strategy.DECOMPOSITION: _decomposition(t),
        Strategy.MULTI_ARMED_BANDIT: _bandit(t),
        Strategy.VARYING_TEMPERATURE: _varying_temperature(t),
        Strategy.SELF_REFINEMENT: _self_refinement(t),
    }
    labels = (t.label(strategy, nodes) for strategy, nodes in found.items())
    return StrategyReport(tuple(label for label in labels if label is not None), True)
