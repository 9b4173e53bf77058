"""Shared by the boundary tests: an improver's raw channel, a do-nothing model, a context per mode."""

from __future__ import annotations

from tests.conftest import small_config

from selftaught.runs.scope import Scope
from selftaught.stop.improver_run import run_improver
from selftaught.stop.meta_utility import TaskUtility

# Lets improver code send its own frames on its channel and read the answer.
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

ALWAYS_SEED = """
def respond(system, user, temperature, sample):
    return "no code"
"""


def context_maker(pool, tmp_path):
    """Builds run contexts the way every run builds one, on `pool` (default or strict mode)."""
    from selftaught.runs.start import make_context as session_context
    from selftaught.runs.start import resolve_backend, resolve_tasks
    from selftaught.store.store import Store

    def make(model: str, **config):
        cfg, tasks = resolve_tasks(small_config(model, **config))
        store = Store.open(tmp_path / "store.db")
        backend = resolve_backend(cfg, store.path)
        run_id = store.new_run("test", cfg.model_dump(), model, backend.identity)
        return session_context(cfg, tasks, backend=backend, store=store, run_id=run_id, pool=pool)

    return make


def run_on_seed(ctx, improver, timeout_s=30):
    """Run `improver` on the first task's seed solution; its outcome and recorded scope."""
    task = ctx.tasks[0]
    scope = ctx.start_improver_run(Scope(iteration=0), "test", improver, "boundary", task=task.name, repeat=0)
    outcome = run_improver(
        ctx, improver, task.seed_solution(), TaskUtility(ctx, task), scope, timeout_s=timeout_s
    )
    return outcome, scope
