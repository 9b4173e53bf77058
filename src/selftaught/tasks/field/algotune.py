"""AlgoTune-style folders: a task class with generate_problem(n, random_seed), solve and is_solution.

The task class is the user's own code and runs here, on the trusted side, as a trusted
`secret_utility.py` does: it generates each split's problems (validation seeds 0..k-1,
test seeds from 100000, size `n` from `selftaught.toml`) and judges each answer with
`is_solution`. The candidate is a `class Solver` with `solve(self, problem)` (AlgoTune's
solver convention); it runs in the sandbox once per problem, timed on the trusted side like
the built-in tasks (round trip minus the transfer credit). The reference `solve` is timed
the same way, in the sandbox, the first time a split is scored (the faster of two passes).

One problem scores `is_solution x min(speed-up, cap) / cap`, where the speed-up is the
reference's time over the candidate's and `cap` is `speedup_cap` (default 10): the seed
(the reference itself) scores about 1 / cap, a solver ten times faster scores 1. The seed is
the folder's `solver.py` if there is one, else a `Solver` that calls the reference.

AlgoTune's task files import `AlgoTuneTasks.base` (`register_task`, `Task`); a small
stand-in for that module is provided here and in the sandbox.
"""

from __future__ import annotations

import ast
import copy
import hashlib
import importlib.util
import sys
import types
from pathlib import Path
from typing import Any

from selftaught.errors import UserInputError
from selftaught.sandbox.pool import WorkerPool
from selftaught.tasks.base import SPLITS, Instance, Task
from selftaught.tasks.field.common import field_task_name, folder_files, parse, read_text
from selftaught.tasks.field.settings import FieldSettings, read_settings
from selftaught.tasks.folder import wire_safe
from selftaught.tasks.seeded import environment_note

FORMAT = "algotune"
REQUIRED_METHODS = ("generate_problem", "solve", "is_solution")
SOLVER_FILE = "solver.py"
ENTRY = "_selftaught_algotune_solve"
TEST_SEED_BASE = 100_000
REFERENCE_PASSES = 2
DEFAULT_LIMIT_S = 1.0
SHIM_MODULES = ("AlgoTuneTasks", "AlgoTuneTasks.base")

BASE_SHIM = """import sys as _st_sys
import types as _st_types

if "AlgoTuneTasks.base" not in _st_sys.modules:
    _st_package = _st_types.ModuleType("AlgoTuneTasks")
    _st_package.__path__ = []
    _st_base = _st_types.ModuleType("AlgoTuneTasks.base")

    def _st_register_task(name=None):
        def decorate(cls):
            return cls
        return decorate

    class _StTask:
        def __init__(self, *args, **kwargs):
            self.n = kwargs.get("n")
            self.target_time_ms = kwargs.get("target_time_ms")

    _st_base.register_task = _st_register_task
    _st_base.Task = _st_base.BaseTask = _StTask
    _st_base.TASK_REGISTRY = {}
    _st_package.base = _st_base
    _st_sys.modules["AlgoTuneTasks"] = _st_package
    _st_sys.modules["AlgoTuneTasks.base"] = _st_base
"""

ADAPTER = f"""

_selftaught_solver = Solver()


def {ENTRY}(problem):
    return _selftaught_solver.solve(problem)
"""


def task_classes(tree: ast.Module) -> list[str]:
    """Classes of a module that define all three AlgoTune methods (read, not run)."""
    found = []
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            methods = {n.name for n in node.body if isinstance(n, ast.FunctionDef)}
            if set(REQUIRED_METHODS) <= methods:
                found.append(node.name)
    return found


def find_task_file(folder: Path) -> tuple[Path, str] | None:
    """The folder's task file and class: `<folder>.py` first, then any other top-level .py file."""
    candidates = sorted(folder.glob("*.py"), key=lambda p: (p.stem != folder.name, p.name))
    for path in candidates:
        if path.name == SOLVER_FILE:
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, SyntaxError):
            continue
        classes = task_classes(tree)
        if classes:
            return path, classes[0]
    return None


class _Timing(Task):
    """A view of an AlgoTune task whose checker records the time charged for each problem."""

    def __init__(self, owner: AlgoTuneTask, record: dict[int, float]) -> None:
        self.owner, self.record = owner, record
        self.name, self.entry, self.time_limit_s = owner.name, ENTRY, owner.time_limit_s

    def seed_solution(self) -> str:
        return self.owner.seed_solution()

    def shown_utility(self) -> str:
        return self.owner.shown_utility()

    def instances(self, split: str) -> list[Instance]:
        return self.owner.instances(split)

    def program(self, code: str) -> str:
        return self.owner.program(code)

    def check(self, instance: Instance, output: Any) -> float:
        return self.owner.solved(instance, output)

    def check_timed(self, instance: Instance, output: Any, elapsed_s: float) -> float:
        solved = self.owner.solved(instance, output)
        if solved:
            self.record[self.owner.index_of(instance)] = elapsed_s
        return solved


class AlgoTuneTask(Task):
    """A task read from an AlgoTune-style folder (see the module docstring)."""

    format = FORMAT
    entry = ENTRY
    route = "task class on the trusted side (problems, is_solution, timing); the Solver alone in the sandbox"
    checker_trusted = True

    def __init__(self, folder: Path, taken: set[str] | None = None) -> None:
        self.folder = folder
        self.settings: FieldSettings = read_settings(folder)
        found = find_task_file(folder)
        if found is None:
            raise UserInputError(
                f"task folder {str(folder)!r} has no class defining {', '.join(REQUIRED_METHODS)}"
            )
        self.task_file, self.class_name = found
        if self.settings.task_class:
            self.class_name = self.settings.task_class
        self._task_source = read_text(folder, self.task_file.name)
        if self.class_name not in task_classes(parse(self._task_source, self.task_file)):
            raise UserInputError(f"{str(self.task_file)!r} has no task class {self.class_name!r}")
        solver = folder / SOLVER_FILE
        self._seed = read_text(folder, SOLVER_FILE) if solver.exists() else self._reference_solver()
        if "Solver" not in {n.name for n in parse(self._seed, solver).body if isinstance(n, ast.ClassDef)}:
            raise UserInputError(f"{str(solver)!r} defines no class Solver")
        description = folder / "description.txt"
        self._description = description.read_text(encoding="utf-8") if description.is_file() else ""
        self.name = field_task_name(self.settings.name or folder.name, FORMAT, folder, taken)
        self.description = self.settings.description or f"AlgoTune-style task {self.class_name}"
        self.time_limit_s = float(self.settings.time_limit_s or DEFAULT_LIMIT_S)
        files = folder_files(folder)
        digest = hashlib.sha256("\0".join(f"{k}\0{v}" for k, v in sorted(files.items())).encode())
        digest.update(self.settings.model_dump_json().encode())
        self.cache_token = digest.hexdigest()
        self.spec = f"{FORMAT}:{folder}"
        self.held_out = True  # validation and test problems come from different seeds
        self.check_errors = 0
        self.first_check_error: str | None = None
        self._reference_times: dict[str, dict[int, float]] = {}
        self.split_base_seeds = {"val": 0, "test": TEST_SEED_BASE}
        self._load()

    # --- loading the user's class on the trusted side -------------------------------------
    def _load(self) -> None:
        shimmed = [name for name in SHIM_MODULES if name not in sys.modules]
        shim = types.ModuleType("_selftaught_algotune_shim")
        exec(compile(BASE_SHIM, "<algotune shim>", "exec"), shim.__dict__)  # our own text, not the user's
        name = f"selftaught_algotune_{self.cache_token[:12]}"
        spec = importlib.util.spec_from_file_location(name, self.task_file)
        if spec is None or spec.loader is None:
            raise UserInputError(f"cannot load {str(self.task_file)!r}")
        module = importlib.util.module_from_spec(spec)
        sys.path.insert(0, str(self.folder))
        try:
            spec.loader.exec_module(module)
            self._instance = getattr(module, self.class_name)()
        except Exception as exc:
            raise UserInputError(
                f"{str(self.task_file)!r} failed to load: {exc.__class__.__name__}: {exc}"
            ) from exc
        finally:
            sys.path.remove(str(self.folder))
            for name in shimmed:  # the stand-in lives only while the task file loads
                sys.modules.pop(name, None)
        self._splits = {split: self._generate(split) for split in SPLITS}
        self._index = {id(inst): (split, i) for split in SPLITS for i, inst in enumerate(self._splits[split])}
        self._scored_view = _Scored(self)

    def _generate(self, split: str) -> list[Instance]:
        count = self.settings.instances_val if split == "val" else self.settings.instances_test
        base = self.split_base_seeds[split]
        problems = []
        for i in range(count):
            try:
                problem = self._instance.generate_problem(self.settings.n, random_seed=base + i)
            except Exception as exc:
                raise UserInputError(
                    f"{self.class_name}.generate_problem({self.settings.n}, random_seed={base + i}) failed: "
                    f"{exc.__class__.__name__}: {exc}"
                ) from exc
            if not wire_safe(problem):
                raise UserInputError(
                    f"{self.class_name}.generate_problem returned a problem that is not JSON values or "
                    "numpy arrays of numbers"
                )
            problems.append(Instance(args=(problem,), answer=base + i))
        return problems

    def __getstate__(self) -> dict[str, Any]:  # the user's objects are rebuilt from the folder
        state = dict(self.__dict__)
        for key in ("_instance", "_splits", "_index", "_scored_view"):
            state.pop(key, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._load()

    def reseeded(self, base_seeds: dict[str, int]) -> AlgoTuneTask:
        """A copy whose problems of split s are drawn from seeds base_seeds[s] + i (`--splits fresh`)."""
        twin = copy.copy(self)
        twin.split_base_seeds = {split: int(base_seeds[split]) for split in SPLITS}
        twin._reference_times = {}
        twin._load()
        return twin

    def _reference_solver(self) -> str:
        return (
            self._task_source.rstrip() + f"\n\n\nclass Solver:\n    def solve(self, problem, **kwargs):\n"
            f"        return {self.class_name}().solve(problem)\n"
        )

    # --- the Task interface --------------------------------------------------------------
    def seed_solution(self) -> str:
        return self._seed

    def shown_utility(self) -> str:
        header = (
            f"# {self.description}\n"
            "# Write `class Solver` with a method `solve(self, problem)` returning what the task's\n"
            "# `solve` returns. Each problem scores is_solution(problem, answer) x min(speed-up, "
            f"{self.settings.speedup_cap:g}) / {self.settings.speedup_cap:g},\n"
            "# the speed-up being the reference solve's time over yours (timed outside your process); "
            f"{self.time_limit_s * 1000:.0f} ms per problem.\n"
        )
        body = self._description + "\n" if self._description else ""
        return (
            header
            + environment_note()
            + body
            + "# The task class (reference solve and checker):\n"
            + self._task_source
        )

    def instances(self, split: str) -> list[Instance]:
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r} (use val or test)")
        return self._splits[split]

    def program(self, code: str) -> str:
        return BASE_SHIM + "\n" + code + ADAPTER

    def index_of(self, instance: Instance) -> int:
        return self._index.get(id(instance), ("", -1))[1]

    def solved(self, instance: Instance, output: Any) -> float:
        try:
            return 1.0 if bool(self._instance.is_solution(instance.args[0], output)) else 0.0
        except Exception as exc:  # noqa: BLE001 - a malformed answer may break the user's checker: it scores 0
            self.check_errors += 1
            self.first_check_error = self.first_check_error or f"{exc.__class__.__name__}: {exc}"
            return 0.0

    def check(self, instance: Instance, output: Any) -> float:
        return self.solved(instance, output) / self.settings.speedup_cap

    def check_timed(self, instance: Instance, output: Any, elapsed_s: float) -> float:
        if not self.solved(instance, output):
            return 0.0
        split, index = self._index.get(id(instance), ("", -1))
        reference = self._reference_times.get(split, {}).get(index)
        if reference is None:  # the reference failed on this problem: no speed-up to measure
            return 1.0 / self.settings.speedup_cap
        speedup = reference / max(elapsed_s, 1e-6)
        return min(speedup, self.settings.speedup_cap) / self.settings.speedup_cap

    def reference_times(self, split: str, pool: WorkerPool) -> dict[int, float]:
        """Time charged to the reference solve per problem (fastest of REFERENCE_PASSES), measured once."""
        if split not in self._reference_times:
            from selftaught.tasks.scoring import score_solution

            best: dict[int, float] = {}
            record: dict[int, float] = {}
            timing = _Timing(self, record)
            for _ in range(REFERENCE_PASSES):
                record.clear()
                score_solution(timing, self._reference_solver(), split, pool)
                for index, elapsed in record.items():
                    best[index] = min(elapsed, best.get(index, elapsed))
            self._reference_times[split] = best
        return self._reference_times[split]

    def score_in_sandbox(self, code: object, split: str, pool: WorkerPool, *, scoring: str = "strict") -> Any:
        """Time the reference once per split, then score `code` through the usual per-problem path."""
        from selftaught.tasks.scoring import score_solution

        self.reference_times(split, pool)
        return score_solution(self._scored_view, code, split, pool, scoring=scoring)

    def record(self) -> dict[str, Any]:
        return {"format": FORMAT, "folder": str(self.folder), "held_out": True}


class _Scored(_Timing):
    """The task as score_solution sees it once the reference is timed (no score_in_sandbox hook)."""

    def __init__(self, owner: AlgoTuneTask) -> None:
        super().__init__(owner, {})
        self.reference_rules = owner.reference_rules

    def check_timed(self, instance: Instance, output: Any, elapsed_s: float) -> float:
        return self.owner.check_timed(instance, output, elapsed_s)
