"""The import graph of src/selftaught: packages in layers, no import from a lower layer to a higher one,
and no circle among the imports a module runs when it is loaded.

Every module's imports are read with `ast` (not by importing it): module-level ones, the ones
inside functions (run when called: they still make a lower layer depend on a higher one), and
those under `if TYPE_CHECKING:`, which are left out. Those never run: they load nothing, so they
can make no circle and no load-time dependency; they only name a type for mypy (the hooks in
runs/calls.py name the STOP loop's `IterationResult` their `on_iteration` callback receives).

A module may import from its own layer and the layers below it. A new package has to be given a
layer here (the test says which modules have none).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src"

# bottom to top; a module belongs to the longest entry that is its name or a package above it
LAYERS: tuple[tuple[str, ...], ...] = (
    # the package's own init (the version; the API names are imported lazily on first use),
    # one-line errors, stable seeds, crash points, entry points; package data; the fake server
    (
        "selftaught",
        "selftaught.errors",
        "selftaught.seeding",
        "selftaught.failpoints",
        "selftaught.plugins",
        "selftaught.data",
        "selftaught.testing",
    ),
    ("selftaught.inside",),  # what runs inside a sandboxed child
    ("selftaught.sandbox",),  # the host side of the sandbox
    ("selftaught.tasks",),
    ("selftaught.store",),
    ("selftaught.models",),
    ("selftaught.config",),
    ("selftaught.executors",),
    ("selftaught.analysis",),  # statistics and classifiers over records: used by the loop's accept test
    ("selftaught.runs",),  # run machinery: session, context, recorder, scorer, control, resume
    ("selftaught.stop",),  # the algorithm: seed, improver runs, meta-utility, loop
    ("selftaught.api",),
    ("selftaught.experiments", "selftaught.audits", "selftaught.report"),
    ("selftaught.plan",),
    ("selftaught.arena",),  # built on experiments (its sessions, transfer arms) and plan
    ("selftaught.serve", "selftaught.cli"),
    # the command's entry point: it starts the OpenAI SDK's host (models) before it imports the CLI
    ("selftaught.launcher", "selftaught.__main__"),
)

# Imports inside a function from a higher layer, each a deliberate late binding: (importer, imported, why)
LATE_BINDINGS: tuple[tuple[str, str, str], ...] = (
    (
        "selftaught.experiments.api",
        "selftaught.arena.api",
        "resume_experiment continues any recorded experiment by its kind; the arena is the one kind "
        "built on top of experiments/",
    ),
)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES: dict[str, Path] = {_module_name(p): p for p in sorted((SRC / "selftaught").rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The selftaught modules an import statement loads (a name imported from a package may be a module)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:  # relative: from the importing module's package
        package = module.split(".") if MODULES[module].name == "__init__.py" else module.split(".")[:-1]
        package = package[: len(package) - node.level + 1]
        base = ".".join([*package, base] if base else package)
    return [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]


def imports(module: str, source: str | None = None) -> list[tuple[str, bool, int]]:
    """(imported selftaught module, imported inside a function, line) for each import that can run."""
    found: list[tuple[str, bool, int]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for branch in child.orelse:  # the body is for mypy only; an else branch runs
                    visit_statement(branch, in_function)
                continue
            visit_statement(child, in_function)

    def visit_statement(node: ast.AST, in_function: bool) -> None:
        if isinstance(node, ast.Import | ast.ImportFrom):
            for target in _targets(module, node):
                if target == "selftaught" or target.startswith("selftaught."):
                    found.append((target, in_function, node.lineno))
        visit(node, in_function or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda))

    visit(ast.parse(MODULES[module].read_text() if source is None else source), False)
    return found


def layer_of(module: str) -> int | None:
    best: tuple[int, int] | None = None  # (length of the entry, layer)
    for index, entries in enumerate(LAYERS):
        for entry in entries:
            matches = module == entry or (entry != "selftaught" and module.startswith(entry + "."))
            if matches and (best is None or len(entry) > best[0]):
                best = (len(entry), index)
    return None if best is None else best[1]


GRAPH = {module: imports(module) for module in MODULES}


def test_every_module_has_a_layer() -> None:
    missing = [m for m in MODULES if layer_of(m) is None]
    assert not missing, f"give these modules a layer in LAYERS: {missing}"
    named = [entry for entries in LAYERS for entry in entries]
    stale = [e for e in named if not any(m == e or m.startswith(e + ".") for m in MODULES)]
    assert not stale, f"LAYERS names packages that no longer exist: {stale}"


def test_no_module_imports_from_a_higher_layer() -> None:
    allowed = {(importer, imported) for importer, imported, _ in LATE_BINDINGS}
    upward = []
    for module, found in GRAPH.items():
        own = layer_of(module)
        for target, in_function, line in found:
            target_layer = layer_of(target)
            if own is None or target_layer is None or target_layer <= own:
                continue
            if in_function and (module, target) in allowed:
                continue
            where = "in a function" if in_function else "at module level"
            upward.append(f"{MODULES[module].relative_to(SRC)}:{line} imports {target} {where}")
    assert not upward, "imports from a higher layer:\n" + "\n".join(upward)


def test_every_allowed_late_binding_is_still_needed() -> None:
    for importer, imported, _ in LATE_BINDINGS:
        assert any(t == imported and f for t, f, _ in GRAPH.get(importer, ())), (importer, imported)


def _cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One circle of `edges`, if there is one (depth-first, iterative)."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    for start in edges:
        if state.get(start):
            continue
        path, stack = [start], [iter(sorted(edges[start]))]
        state[start] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            elif not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(sorted(edges.get(nxt, ()))))
    return None


def test_no_circle_among_module_level_imports() -> None:
    edges = {m: {t for t, later, _ in found if not later and t != m} for m, found in GRAPH.items()}
    circle = _cycle(edges)
    assert circle is None, "import circle: " + " -> ".join(circle or [])


@pytest.mark.parametrize(
    ("edges", "circle"),
    [({"a": {"b"}, "b": {"c"}, "c": set()}, False), ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, True)],
)
def test_the_circle_finder_finds_circles(edges: dict[str, set[str]], circle: bool) -> None:
    assert (_cycle(edges) is not None) == circle


def test_the_reader_sees_function_level_imports_and_skips_type_checking_ones() -> None:
    source = """
from typing import TYPE_CHECKING
import selftaught.errors
from selftaught.runs import scope
if TYPE_CHECKING:
    from selftaught.stop.loop import IterationResult
else:
    from selftaught.store import Store
class Holder:
    from selftaught.models.limits import Prices
def late():
    from selftaught.arena.api import resume_arena
"""
    found = {(target, later) for target, later, _ in imports("selftaught.runs.calls", source)}
    assert found == {
        ("selftaught.errors", False),
        ("selftaught.runs.scope", False),
        ("selftaught.store", False),
        ("selftaught.models.limits", False),
        ("selftaught.arena.api", True),
    }
