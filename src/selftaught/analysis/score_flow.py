"""Follow utility scores through an improver's assignments, to see whether a prompt shows one.

Self-refinement means the model is told how its earlier attempts scored. That is a data
flow question (does a utility result reach a prompt's message?), answered here without
running the code: names bound to a score, to arithmetic on one or to text showing one, and
collections of scores, to a fixed point over the syntax tree.
"""

from __future__ import annotations

import ast

_COLLECTION_UPDATES = frozenset({"append", "extend", "add", "insert", "update", "setdefault", "appendleft"})
_SCORE_FUNCS = frozenset({"max", "min", "round", "float", "int", "str", "abs", "sum", "format", "repr"})


def _root_name(target: ast.AST) -> str | None:
    while isinstance(target, ast.Subscript | ast.Attribute | ast.Starred):
        target = target.value
    return target.id if isinstance(target, ast.Name) else None


class ScoreFlow:
    """Which names hold a score (a utility result, arithmetic on one, or text that shows one).

    Programs chosen *by* score are not scores: keeping the best rewrite is selection, and
    only showing the number itself to the model is feedback.
    """

    def __init__(self, tree: ast.Module, utility_calls: list[ast.Call]) -> None:
        self.utility_calls = utility_calls
        self.names: set[str] = set()
        self.collections: set[str] = set()
        while True:
            before = (len(self.names), len(self.collections))
            for node in ast.walk(tree):
                self._visit(node)
            if (len(self.names), len(self.collections)) == before:
                break

    def is_score(self, node: ast.AST) -> bool:
        if isinstance(node, ast.Call):
            if node in self.utility_calls:
                return True
            func = node.func
            if isinstance(func, ast.Name) and func.id in _SCORE_FUNCS:
                return any(self.is_score(a) or self.is_collection(a) for a in node.args)
            if isinstance(func, ast.Attribute) and func.attr == "format":
                return any(self.is_score(a) for a in [*node.args, *(k.value for k in node.keywords)])
            if isinstance(func, ast.Attribute) and func.attr == "get":
                return self.is_collection(func.value)
            return False
        if isinstance(node, ast.Name):
            return node.id in self.names
        if isinstance(node, ast.Subscript):
            return self.is_collection(node.value)
        if isinstance(node, ast.BinOp):
            return self.is_score(node.left) or self.is_score(node.right)
        if isinstance(node, ast.UnaryOp):
            return self.is_score(node.operand)
        if isinstance(node, ast.IfExp):
            return self.is_score(node.body) or self.is_score(node.orelse)
        if isinstance(node, ast.JoinedStr):
            return any(isinstance(v, ast.FormattedValue) and self.is_score(v.value) for v in node.values)
        return False

    def is_collection(self, node: ast.AST) -> bool:
        if isinstance(node, ast.Name):
            return node.id in self.collections
        if isinstance(node, ast.ListComp | ast.SetComp | ast.GeneratorExp):
            return self.is_score(node.elt)
        if isinstance(node, ast.DictComp):
            return self.is_score(node.value)
        if isinstance(node, ast.List | ast.Tuple | ast.Set):
            return any(self.is_score(e) for e in node.elts)
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in {"sorted", "list"}
        ):
            return bool(node.args) and self.is_collection(node.args[0])
        return False

    def _bind(self, target: ast.AST, value: ast.AST) -> None:
        if isinstance(target, ast.Tuple | ast.List):
            if isinstance(value, ast.Tuple | ast.List) and len(value.elts) == len(target.elts):
                for part, item in zip(target.elts, value.elts, strict=True):
                    self._bind(part, item)
            return
        if isinstance(target, ast.Name):
            if self.is_score(value):
                self.names.add(target.id)
            elif self.is_collection(value):
                self.collections.add(target.id)
        elif isinstance(target, ast.Subscript) and self.is_score(value):
            name = _root_name(target)
            if name:
                self.collections.add(name)

    def _visit(self, node: ast.AST) -> None:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                self._bind(target, node.value)
        elif isinstance(node, ast.AugAssign | ast.AnnAssign) and node.value is not None:
            self._bind(node.target, node.value)
        elif isinstance(node, ast.For | ast.AsyncFor | ast.comprehension):
            if self.is_collection(node.iter) and isinstance(node.target, ast.Name):
                self.names.add(node.target.id)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in _COLLECTION_UPDATES
            and any(self.is_score(arg) for arg in node.args)
        ):
            name = _root_name(node.func.value)
            if name:
                self.collections.add(name)

    def mentioned(self, node: ast.AST) -> bool:
        return any(self.is_score(part) for part in ast.walk(node))
