"""Print how fast a flood of free requests is ended, and what it costs the orchestrator.

An improver that loops on requests its budgets do not pay for (issue 18 saw 1.4 million
refused calls in 40 s, 35 CPU-seconds of the orchestrator, stopped only by the 30-minute
wall clock) must now be stopped as a `flood` at one cap per improver run
(`improver_run.MAX_REFUSED_UNITS`). Each scenario runs one such improver through
`run_improver`, the way a run does, with the default 1800 s improver timeout, and reports
the wall-clock time of the improver run and the CPU time the orchestrator process spent on
it (`time.process_time`, all its threads; the sandboxed child's CPU is not included), next
to `resource.getrusage(RUSAGE_SELF)` for the same span. Goals: under 2 s and under 1
CPU-second each.

Usage: python benchmarks/flood.py [--mode default|strict] [--repeats 1]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from selftaught.config import RunConfig
from selftaught.runs.scope import Scope
from selftaught.runs.start import make_context, resolve_backend, resolve_tasks
from selftaught.sandbox.pool import WorkerPool
from selftaught.stop.improver_run import MAX_REFUSED_UNITS, run_improver
from selftaught.stop.meta_utility import TaskUtility
from selftaught.store.store import Store

MODEL = "def respond(system, user, temperature, sample):\n    return 'no code'\n"

RAW_SENDER = """
import gc, json, socket, struct
def _channel():
    return next(o for o in gc.get_objects() if isinstance(o, socket.socket) and o.fileno() >= 0)
def _exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError("closed")
        data += chunk
    return data
def raw(payload):
    sock = _channel()
    sock.sendall(struct.pack(">I", len(payload)) + payload)
    (size,) = struct.unpack(">I", _exact(sock, 4))
    return json.loads(_exact(sock, size))
"""

SCENARIOS = {
    "bad arguments (proxy)": """
def improve_algorithm(initial_solution, utility, language_model):
    while True:
        try:
            language_model.prompt("e", "m", 1, "hot")
        except Exception:
            pass
""",
    "model calls past the budget": """
def improve_algorithm(initial_solution, utility, language_model):
    while True:
        try:
            language_model.prompt("e", "m")
        except Exception:
            pass
""",
    "utility calls past the budget": """
def improve_algorithm(initial_solution, utility, language_model):
    while True:
        utility(None)
""",
    "undeclared raw requests": RAW_SENDER
    + """
def improve_algorithm(initial_solution, utility, language_model):
    while True:
        raw(b'{"type":"request","op":"store.delete","run":1}')
""",
    "tagged-array kwargs (raw)": RAW_SENDER
    + """
import base64
TAG = {"__ndarray__": {"dtype": "int64", "shape": [3], "b64": base64.b64encode(bytes(24)).decode()}}
FRAME = json.dumps({"type": "request", "op": "utility", "code": "x", "kwargs": TAG}).encode()
def improve_algorithm(initial_solution, utility, language_model):
    while True:
        raw(FRAME)
""",
    "events (budget tamper)": """
def improve_algorithm(initial_solution, utility, language_model):
    while True:
        language_model.budget = 10**6
""",
    "1 MiB refused frames (raw)": RAW_SENDER
    + """
FRAME = ('{"type":"request","op":"utility","code":null,"junk":"' + "x" * (1 << 20) + '"}').encode()
def improve_algorithm(initial_solution, utility, language_model):
    while True:
        raw(FRAME)
""",
    "16 MiB refused frames (raw)": RAW_SENDER
    + """
FRAME = ('{"type":"request","op":"utility","code":null,"junk":"' + "x" * (16_000_000) + '"}').encode()
def improve_algorithm(initial_solution, utility, language_model):
    while True:
        raw(FRAME)
""",
    "surrogate-dense refused frames (raw)": RAW_SENDER
    + """
LONE = '"' + chr(92) + 'ud800"'  # a JSON string holding one escaped lone surrogate
LONES = ",".join([LONE] * 100_000)
FRAME = ('{"type":"request","op":"utility","code":null,"kwargs":[' + LONES + "]}").encode()
def improve_algorithm(initial_solution, utility, language_model):
    while True:
        raw(FRAME)
""",
    "item-dense refused frames (raw)": RAW_SENDER
    + """
ZEROS = ",".join(["0"] * 490_000)
FRAME = ('{"type":"request","op":"utility","code":null,"kwargs":[' + ZEROS + "]}").encode()
def improve_algorithm(initial_solution, utility, language_model):
    while True:
        raw(FRAME)
""",
}


def _cpu_rusage() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", default="default", choices=["default", "strict"])
    parser.add_argument("--repeats", type=int, default=1, help="runs of each scenario")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder, WorkerPool(1, mode=args.mode) as pool:
        model = Path(folder) / "model.py"
        model.write_text(MODEL)
        config = RunConfig(model=f"script:{model}", iterations=1, n_tests=1, calls=2, samples=3)
        config, tasks = resolve_tasks(config)
        store = Store.open(Path(folder) / "store.db")
        backend = resolve_backend(config, store.path)
        run_id = store.new_run("benchmark", config.model_dump(), config.model, backend.identity)
        ctx = make_context(config, tasks, backend=backend, store=store, run_id=run_id, pool=pool)
        task = ctx.tasks[0]
        print(f"mode {pool.mode}, cap {MAX_REFUSED_UNITS} units, improver timeout {config.timeout_s:.0f} s")
        print(
            f"{'scenario':36s} {'outcome':8s} {'requests':>8s} {'wall s':>7s} {'CPU s':>6s} {'rusage s':>8s}"
        )
        worst_wall = worst_cpu = 0.0
        for name, improver in SCENARIOS.items():
            for _ in range(args.repeats):
                scope = ctx.start_improver_run(
                    Scope(0), "benchmark", improver, "flood", task=task.name, repeat=0
                )
                wall, cpu, rusage = time.monotonic(), time.process_time(), _cpu_rusage()
                outcome = run_improver(ctx, improver, task.seed_solution(), TaskUtility(ctx, task), scope)
                wall = time.monotonic() - wall
                cpu = time.process_time() - cpu
                rusage = _cpu_rusage() - rusage
                ctx.finish_improver_run(scope, outcome, "solution")
                flood = [e.detail for e in store.events(run_id, improver_run_id=scope.improver_run_id)]
                detail = next((d for d in flood if "units" in d and "cap" in d), {})
                requests = sum(detail.get(k, 0) for k in ("language_model", "utility", "invalid", "events"))
                kind = outcome.error_kind or "ok"
                print(f"{name:36s} {kind:8s} {requests:8d} {wall:7.3f} {cpu:6.3f} {rusage:8.3f}")
                worst_wall, worst_cpu = max(worst_wall, wall), max(worst_cpu, cpu)
        verdict = "met" if worst_wall < 2.0 and worst_cpu < 1.0 else "NOT met"
        print(f"worst: {worst_wall:.3f} s wall, {worst_cpu:.3f} CPU-s (goal: < 2 s, < 1 CPU-s: {verdict})")


if __name__ == "__main__":
    main()
