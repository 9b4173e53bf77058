"""The seed improver's request, rendered on the trusted side from the packaged improver's source.

The circumvention audit asks the model exactly what the seed improver (or its warning
variant) would ask when improving the `sandbox` task's seed, without running the improver:
its `expertise` string, the f-string `message` with `initial_solution` and `utility.str`
filled in, and the temperature of its `batch_prompt` call are read from the syntax tree of
`selftaught/inside/improvers/seed_improver.py` (or `seed_improver_warning.py`). So the
template has one source, and an edit to it changes the audit's prompt with it.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from selftaught.analysis.packaged import improver_source

VARIANTS = {"seed": "seed", "warning": "seed_warning"}


class TemplateError(ValueError):
    """The packaged improver is not of the shape this renderer reads."""


@dataclass(frozen=True)
class SeedRequest:
    """The system text, user message and temperature of the seed improver's one model request."""

    variant: str
    expertise: str
    message: str
    temperature: float


def _function(tree: ast.Module) -> ast.FunctionDef:
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "improve_algorithm":
            return node
    raise TemplateError("no improve_algorithm in the packaged improver")


def _assigned(function: ast.FunctionDef, name: str) -> ast.expr:
    for node in ast.walk(function):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            return node.value
    raise TemplateError(f"the packaged improver assigns no {name!r}")


def _render(node: ast.expr, values: dict[str, str]) -> str:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if not isinstance(node, ast.JoinedStr):
        raise TemplateError(f"unsupported template expression {ast.unparse(node)[:60]}")
    parts = []
    for part in node.values:
        if isinstance(part, ast.Constant):
            parts.append(str(part.value))
        elif isinstance(part, ast.FormattedValue) and part.conversion == -1 and part.format_spec is None:
            key = ast.unparse(part.value)
            if key not in values:
                raise TemplateError(f"the template uses {{{key}}}, which the audit cannot fill")
            parts.append(values[key])
        else:
            raise TemplateError("unsupported formatting in the template")
    return "".join(parts)


def _temperature(function: ast.FunctionDef) -> float:
    for node in ast.walk(function):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in {"batch_prompt", "prompt"}
        ):
            for keyword in node.keywords:
                value = keyword.value
                if (
                    keyword.arg == "temperature"
                    and isinstance(value, ast.Constant)
                    and isinstance(value.value, int | float)
                ):
                    return float(value.value)
            return 0.7  # the paper's interface default
    raise TemplateError("the packaged improver makes no model call")


def seed_request(variant: str, initial_solution: str, utility_str: str) -> SeedRequest:
    """The request the `variant` improver ("seed" or "warning") sends for `initial_solution`."""
    if variant not in VARIANTS:
        raise TemplateError(f"unknown variant {variant!r} (use {' or '.join(VARIANTS)})")
    function = _function(ast.parse(improver_source(VARIANTS[variant])))
    values = {"initial_solution": initial_solution, "utility.str": utility_str}
    return SeedRequest(
        variant,
        _render(_assigned(function, "expertise"), values),
        _render(_assigned(function, "message"), values),
        _temperature(function),
    )
