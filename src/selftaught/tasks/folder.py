"""Tasks of one's own: a folder with a seed, a shown utility and a hidden utility.

The layout is the reference implementation's:

    mytask/
        seed_algorithm.py   the solution the improver starts from (defines `algorithm`)
        utility.py          the scoring function shown to the model, as text
        secret_utility.py   the hidden utility

`secret_utility.py` comes in two kinds, told apart by reading it (without running it):

- trusted (preferred): it defines `instances(split)` and `check(args, answer, output)`
  (or `check(args, output)`). It is the user's own code, like a configuration file, and
  runs in this process; the candidate runs in the sandbox, once per instance, under the
  time limit, and cannot touch the checker.
- reference style: it defines `utility(algorithm_str)` (optionally with `mode`), which
  execs the candidate itself. That file never runs here: it runs inside a sandboxed
  child together with the candidate, once per split, under `TIME_LIMIT_S` (default 60 s)
  for the whole split. This is weaker: the candidate shares a process with its checker
  and can tamper with it. Shims for the reference's `helpers.temp_override`,
  `helpers.read_file_as_str` and `config` are provided inside the child.

Optional constants at the top level of `secret_utility.py`, read without running it:
`NAME`, `ENTRY` (default "algorithm"), `TIME_LIMIT_S` (per instance; default 0.1 for the
trusted kind), `DESCRIPTION`.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import inspect
import sys
from pathlib import Path
from typing import Any

import numpy as np

from selftaught.errors import UserInputError
from selftaught.tasks.base import SPLITS, Instance, Task

FILES = ("seed_algorithm.py", "utility.py", "secret_utility.py")
TRUSTED, SANDBOXED = "trusted", "sandboxed"
REFERENCE_ENTRY = "_selftaught_secret_utility"
DEFAULT_LIMITS = {TRUSTED: 0.1, SANDBOXED: 60.0}
_METADATA: dict[str, type | tuple[type, ...]] = {
    "NAME": str,
    "ENTRY": str,
    "TIME_LIMIT_S": (int, float),
    "DESCRIPTION": str,
}

_REFERENCE_WRAPPER = """import inspect as _inspect
import sys as _sys
import types as _types

_SECRET = {secret!r}
_SHOWN = {shown!r}
_CANDIDATE = {code!r}


def _install_shims():
    shim = _types.ModuleType("helpers")
    base = _sys.modules.get("helpers")
    if base is not None:
        shim.__dict__.update({{k: v for k, v in vars(base).items() if not k.startswith("__")}})

    def temp_override(define_fn_str, base_name, *args, **kwargs):
        module = _types.ModuleType(base_name)
        exec(compile(define_fn_str, "<algorithm>", "exec"), module.__dict__)
        return getattr(module, base_name)

    def read_file_as_str(path):
        try:
            with open(path) as handle:
                return handle.read()
        except OSError:
            return _SHOWN

    shim.temp_override = temp_override
    shim.read_file_as_str = read_file_as_str
    _sys.modules["helpers"] = shim
    config = _types.ModuleType("config")
    config.config = {{"utility_budget": 25, "join_pools": False}}
    _sys.modules.setdefault("config", config)


def {entry}(split):
    _install_shims()
    module = _types.ModuleType("secret_utility")
    exec(compile(_SECRET, "<secret_utility>", "exec"), module.__dict__)
    utility = module.utility
    try:
        params = _inspect.signature(utility).parameters
    except (TypeError, ValueError):
        params = {{}}
    if "mode" in params:
        return float(utility(_CANDIDATE, mode=split))
    if len(params) >= 2:
        return float(utility(_CANDIDATE, split))
    return float(utility(_CANDIDATE))
"""


def _read(folder: Path, filename: str) -> str:
    path = folder / filename
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise UserInputError(f"task folder {str(folder)!r} has no {filename}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise UserInputError(f"cannot read {str(path)!r}: {exc}") from exc


def _parse(source: str, path: Path) -> ast.Module:
    try:
        return ast.parse(source, filename=str(path))
    except SyntaxError as exc:
        raise UserInputError(f"{str(path)!r} does not parse: {exc.msg} (line {exc.lineno})") from exc


def _top_level_functions(tree: ast.Module) -> set[str]:
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)}


def read_metadata(tree: ast.Module, path: Path) -> dict[str, Any]:
    """NAME, ENTRY, TIME_LIMIT_S and DESCRIPTION given as top-level literals (never executed)."""
    found: dict[str, Any] = {}
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1):
            continue
        target = node.targets[0]
        if not (isinstance(target, ast.Name) and target.id in _METADATA):
            continue
        try:
            value = ast.literal_eval(node.value)
        except ValueError as exc:
            raise UserInputError(f"{str(path)!r}: {target.id} must be a literal") from exc
        kind = _METADATA[target.id]
        if not isinstance(value, kind) or isinstance(value, bool):
            raise UserInputError(f"{str(path)!r}: {target.id} has the wrong type ({type(value).__name__})")
        found[target.id] = value
    limit = found.get("TIME_LIMIT_S")
    if limit is not None and not 0 < limit <= 3600:
        raise UserInputError(f"{str(path)!r}: TIME_LIMIT_S must be in (0, 3600] seconds")
    if "ENTRY" in found and not found["ENTRY"].isidentifier():
        raise UserInputError(f"{str(path)!r}: ENTRY must be a Python identifier")
    return found


def wire_safe(value: Any, depth: int = 0) -> bool:
    """True if `value` crosses the sandbox protocol unchanged (JSON values and plain numpy arrays)."""
    if depth > 50:
        return False
    if value is None or isinstance(value, bool | int | str):
        return True
    if isinstance(value, float):
        return True
    if isinstance(value, list | tuple):
        return all(wire_safe(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and wire_safe(v, depth + 1) for k, v in value.items())
    if isinstance(value, np.ndarray | np.generic):  # plain numbers only: bool, int, uint, float
        return value.dtype.kind in "biuf" and value.dtype.itemsize <= 8
    return False


def _as_instance(item: Any, split: str, index: int) -> Instance:
    if isinstance(item, Instance):
        args, answer = item.args, item.answer
    elif isinstance(item, dict) and "args" in item:
        args, answer = item["args"], item.get("answer")
    elif isinstance(item, list | tuple) and len(item) == 2:
        args, answer = item
    else:
        raise UserInputError(
            f"instances({split!r})[{index}] must be an (args, answer) pair, a dict with 'args' or an Instance"
        )
    args = tuple(args) if isinstance(args, list | tuple) else (args,)
    if not wire_safe(args):
        raise UserInputError(
            f"instances({split!r})[{index}]: arguments must be JSON values or numpy arrays of numbers"
        )
    return Instance(args=args, answer=answer)


class FolderTask(Task):
    """A task read from a folder; see the module docstring for the layout and the two kinds."""

    def __init__(self, folder: Path, taken: set[str] | None = None) -> None:
        if not folder.is_dir():
            raise UserInputError(f"task folder {str(folder)!r} does not exist or is not a directory")
        self.folder = folder
        texts = {filename: _read(folder, filename) for filename in FILES}
        self._seed, self._shown, secret = (texts[f] for f in FILES)
        secret_path = folder / "secret_utility.py"
        tree = _parse(secret, secret_path)
        meta = read_metadata(tree, secret_path)
        functions = _top_level_functions(tree)
        if {"instances", "check"} <= functions:
            self.kind = TRUSTED
        elif "utility" in functions:
            self.kind = SANDBOXED
        else:
            raise UserInputError(
                f"{str(secret_path)!r} must define instances(split) and check(args, answer, output) "
                "(preferred), or utility(algorithm_str) (reference style)"
            )
        name = meta.get("NAME", folder.name)
        self.name = str(folder) if name in (taken or set()) else name
        self.entry = meta.get("ENTRY", "algorithm")
        self.time_limit_s = float(meta.get("TIME_LIMIT_S", DEFAULT_LIMITS[self.kind]))
        self.description = meta.get("DESCRIPTION") or (ast.get_docstring(tree) or "").split("\n")[0]
        self.description = self.description or f"task folder {folder}"
        self.checker_trusted = self.kind == TRUSTED
        self.cache_token = hashlib.sha256("\0".join(texts[f] for f in FILES).encode()).hexdigest()
        self.check_errors = 0
        self.first_check_error: str | None = None
        seed_path = folder / "seed_algorithm.py"
        if self.entry not in _top_level_functions(_parse(self._seed, seed_path)):
            raise UserInputError(f"{str(seed_path)!r} defines no function {self.entry!r}")
        self._secret_source = secret
        self._splits: dict[str, list[Instance]] = {}
        if self.kind == TRUSTED:
            self._module = self._load_module(secret_path)
            self._check_arity = self._arity(self._module.check)
            for split in SPLITS:
                self._splits[split] = self._generate(split)
        else:
            self.entry = REFERENCE_ENTRY
            self._splits = {split: [Instance(args=(split,), answer=None)] for split in SPLITS}

    def _load_module(self, path: Path) -> Any:
        module_name = f"selftaught_user_task_{self.cache_token[:12]}"
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise UserInputError(f"cannot load {str(path)!r}")
        module = importlib.util.module_from_spec(spec)
        sys.path.insert(0, str(self.folder))  # so the hidden utility can import its own helpers
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            raise UserInputError(f"{str(path)!r} failed to load: {exc.__class__.__name__}: {exc}") from exc
        finally:
            sys.path.remove(str(self.folder))
        return module

    @staticmethod
    def _arity(check: Any) -> int:
        try:
            params = [
                p
                for p in inspect.signature(check).parameters.values()
                if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
            ]
        except (TypeError, ValueError):
            return 3
        if len(params) not in (2, 3):
            raise UserInputError("secret_utility.check must take (args, answer, output) or (args, output)")
        return len(params)

    def _generate(self, split: str) -> list[Instance]:
        try:
            items = list(self._module.instances(split))
        except Exception as exc:
            raise UserInputError(
                f"secret_utility.instances({split!r}) failed: {exc.__class__.__name__}: {exc}"
            ) from exc
        if not items:
            raise UserInputError(f"secret_utility.instances({split!r}) returned no instances")
        return [_as_instance(item, split, index) for index, item in enumerate(items)]

    def seed_solution(self) -> str:
        return self._seed

    def shown_utility(self) -> str:
        return self._shown

    def instances(self, split: str) -> list[Instance]:
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r} (use val or test)")
        return self._splits[split]

    def program(self, code: str) -> str:
        if self.kind == TRUSTED:
            return code
        return _REFERENCE_WRAPPER.format(
            secret=self._secret_source, shown=self._shown, code=code, entry=REFERENCE_ENTRY
        )

    def check(self, instance: Instance, output: Any) -> float:
        if self.kind == SANDBOXED:
            return _number(output)
        args = instance.args
        try:
            if self._check_arity == 3:
                value = self._module.check(args, instance.answer, output)
            else:
                value = self._module.check(args, output)
        except Exception as exc:  # noqa: BLE001 - a malformed output may break the user's checker: it scores 0
            self.check_errors += 1
            self.first_check_error = self.first_check_error or f"{exc.__class__.__name__}: {exc}"
            return 0.0
        return _number(value)


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        return 0.0
    number = float(value)
    return min(1.0, max(0.0, number)) if np.isfinite(number) else 0.0
