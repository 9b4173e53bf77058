"""The trust boundary in the tree: which selftaught modules a sandboxed child has loaded.

`selftaught.inside` is what runs inside the sandbox; it imports nothing else from selftaught.
A child is forked from a worker, so it also holds the worker's own modules (the confinement,
applied before any model-written code runs). Both sets are written out here: a module that
joins either is a decision, made by changing this file and the README's sentence about it.
"""

from __future__ import annotations

import json
import subprocess
import sys

from selftaught.inside.wire import from_wire
from selftaught.sandbox.limits import Limits

# The child runtime and everything it imports (numpy aside, which the worker preloads).
INSIDE = {
    "selftaught",
    "selftaught.inside",
    "selftaught.inside.child",
    "selftaught.inside.events",
    "selftaught.inside.messages",
    "selftaught.inside.probe",
    "selftaught.inside.protocol",
    "selftaught.inside.wire",
    "selftaught.inside.wire_errors",
}
# The helpers model-written code imports, which the worker preloads for it.
HELPERS = {"selftaught.inside.helpers"}
# The modules of the worker's confinement, which a forked child inherits: they confined the child
# before its first command, and none gives a child anything its confinement does not already allow.
# (The worker itself, sandbox/worker.py, runs as `__main__`.)
CONFINEMENT = {
    "selftaught.sandbox",
    "selftaught.sandbox.cgroup",
    "selftaught.sandbox.isolation",
    "selftaught.sandbox.kernel",
    "selftaught.sandbox.landlock",
    "selftaught.sandbox.limits",
    "selftaught.sandbox.pidns",
    "selftaught.sandbox.seccomp",
}


def _loaded_by(*imports: str) -> set[str]:
    """The selftaught modules a fresh interpreter holds after importing `imports`."""
    code = (
        "import importlib, json, sys\n"
        f"for name in {list(imports)!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'selftaught')))\n"
    )
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(json.loads(found.stdout))


def test_the_child_runtime_loads_only_the_inside_package():
    assert _loaded_by("selftaught.inside.child") == INSIDE


def test_the_helpers_load_nothing_else():
    assert _loaded_by("selftaught.inside.helpers") == {"selftaught", "selftaught.inside", *HELPERS}


def test_the_worker_loads_the_inside_package_and_its_confinement_only():
    loaded = _loaded_by("selftaught.sandbox.worker", "selftaught.inside.helpers")
    assert loaded == INSIDE | HELPERS | CONFINEMENT | {"selftaught.sandbox.worker"}


def test_a_forked_child_holds_exactly_those_modules(pool):
    source = (
        "import sys\n"
        "def algorithm():\n"
        "    return sorted(m for m in sys.modules if m.split('.')[0] == 'selftaught')\n"
    )
    with pool.spawn(Limits(wall_s=10)) as child:
        assert child.run({"op": "load", "source": source, "entry": "algorithm"}).ok
        reply = child.run({"op": "call", "args": []})
    assert reply.ok, reply
    assert set(from_wire(reply.value)) == INSIDE | HELPERS | CONFINEMENT
