"""The pool's own duties: modes, limits, timeouts, replacing workers (and redoing what a lost one
was doing), and leaving nothing behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import warnings

import pytest

import selftaught.sandbox.pool as pool_module
import selftaught.sandbox.worker as worker_module
from selftaught.errors import UserInputError
from selftaught.executors.base import MAX_WORKER_LOSSES, ImproverJob, WorkerLossLimit, redo_when_lost
from selftaught.executors.local import LocalExecutor
from selftaught.inside.wire import from_wire
from selftaught.sandbox.child_handle import RequestAnswer
from selftaught.sandbox.doctor import probe, report_lines
from selftaught.sandbox.errors import SandboxUnavailable, UnknownSandboxMode, WorkerLost
from selftaught.sandbox.isolation import STRICT_REQUIREMENTS, Protection, missing_for_strict
from selftaught.sandbox.limits import Limits
from selftaught.sandbox.pool import SIGNAL_CONTAINMENT, WorkerPool


def _load_and_call(pool, source, *args, wall_s=5.0):
    with pool.spawn(Limits(wall_s=wall_s)) as child:
        loaded = child.run({"op": "load", "source": source, "entry": "algorithm"})
        if not loaded.ok:
            return loaded
        return child.run({"op": "call", "args": list(args)})


def _gone(pid: int, timeout_s: float = 10.0) -> bool:
    """Whether `pid` is dead (or a zombie) within `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                if stat.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True
        except OSError:
            return True
        time.sleep(0.05)
    return False


def test_child_computes_with_numpy_and_threads(pool):
    source = """
import threading
import numpy as np
def algorithm(x):
    out = []
    t = threading.Thread(target=lambda: out.append(np.asarray(x) * 2))
    t.start()
    t.join()
    return out[0]
"""
    reply = _load_and_call(pool, source, [1, 2])
    assert reply.ok and from_wire(reply.value).tolist() == [2, 4]


def test_api_keys_in_the_orchestrator_are_not_visible_to_a_child(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-orchestrator-secret")
    monkeypatch.setenv("SELFTAUGHT_TEST_TOKEN", "token-secret")
    source = """
import os
def read(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode(errors="replace")
    except OSError as exc:
        return repr(exc)
def algorithm():
    return [dict(os.environ), read("/proc/self/environ"), read(f"/proc/{os.getppid()}/environ")]
"""
    with WorkerPool(1) as fresh:  # a worker started while the secret is in the environment
        reply = _load_and_call(fresh, source)
    assert reply.ok, reply.error
    environment, own, worker = reply.value
    assert "OPENAI_API_KEY" not in environment and "SELFTAUGHT_TEST_TOKEN" not in environment
    for text in (own, worker, repr(environment)):
        assert "sk-orchestrator-secret" not in text and "token-secret" not in text


def test_busy_loop_is_killed_at_its_timeout_and_the_pool_goes_on(pool):
    started = time.monotonic()
    reply = _load_and_call(pool, "def algorithm():\n    while True:\n        pass\n", wall_s=0.5)
    assert reply.error_kind == "timeout"
    assert time.monotonic() - started < 5
    assert _load_and_call(pool, "def algorithm():\n    return 7\n").value == 7


def test_a_forked_grandchild_dies_with_the_child(pool):
    """Where seccomp forbids fork this is moot; elsewhere the process group goes with the child."""
    source = """
import os, time
def algorithm():
    try:
        pid = os.fork()
    except OSError:
        return None
    if pid == 0:
        time.sleep(60)
        os._exit(0)
    return pid
def wait():
    time.sleep(60)
"""
    with pool.spawn(Limits(wall_s=5)) as child:
        assert child.run({"op": "load", "source": source, "entry": "algorithm"}).ok
        grandchild = child.run({"op": "call", "args": []}).value
        assert child.run({"op": "load", "source": source, "entry": "wait"}).ok
        assert child.run({"op": "call", "args": []}, wall_s=0.5).error_kind == "timeout"
    if grandchild is not None:
        assert _gone(grandchild)


def test_children_get_their_own_scratch_directory(pool):
    source = "import os\ndef algorithm():\n    open('note.txt', 'w').write('hi')\n    return os.getcwd()\n"
    first = _load_and_call(pool, source).value
    second = _load_and_call(pool, source).value
    assert first != second
    deadline = time.monotonic() + 5
    while os.path.exists(first) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not os.path.exists(first)  # removed once the child exited


def test_malformed_or_oversized_messages_fail_the_child(pool):
    # every descriptor the child may hold: as an ordinary user its socket sits past 100 (more are open)
    garbage = """
import os, stat
def algorithm():
    for fd in range(4096):
        try:
            if stat.S_ISSOCK(os.fstat(fd).st_mode):
                os.write(fd, b"\\xff\\xff\\xff\\xffgarbage")
        except OSError:
            pass
    import time
    time.sleep(30)
"""
    reply = _load_and_call(pool, garbage, wall_s=10)
    assert not reply.ok and reply.error_kind == "protocol"
    huge = "def algorithm():\n    return 'x' * (40 * 1024 * 1024)\n"
    reply = _load_and_call(pool, huge)
    assert not reply.ok
    assert _load_and_call(pool, "def algorithm():\n    return 1\n").value == 1


def _children_of(pid: int) -> set[int]:
    found: set[int] = set()
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/children") as f:
            found |= {int(child) for child in f.read().split()}
    return found


@pytest.mark.parametrize("spares", [None, 6])
def test_spares_wait_forked_ahead_and_no_child_holds_another_childs_socket(spares):
    with WorkerPool(2, spares=spares) as fresh:
        kept = -(-(spares or pool_module.POOL_SPARES) // fresh.n_workers)  # each worker's share
        time.sleep(0.5)  # before work begins, a worker forks only a few (the run's start needs the cores)
        early = min(kept, worker_module.EARLY_SPARES)
        assert all(len(_children_of(pid)) <= early + 1 for pid in fresh.worker_pids())
        for _ in range(fresh.n_workers):  # work begins on each worker: the rest are forked
            fresh.spawn().close()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # forked one at a time while no spawn comes
            if all(len(_children_of(pid)) >= kept for pid in fresh.worker_pids()):
                break
            time.sleep(0.05)
        assert all(len(_children_of(pid)) >= kept for pid in fresh.worker_pids())
        time.sleep(0.3)  # quiet: no more are forked than each keeps (and its PID namespace's init, if any)
        assert all(len(_children_of(pid)) <= kept + 1 for pid in fresh.worker_pids())
        count_sockets = """
import os, stat
def algorithm():
    found = 0
    for fd in range(4096):
        try:
            found += stat.S_ISSOCK(os.fstat(fd).st_mode)
        except OSError:
            pass
    return found
"""
        # each spare was forked while the others waited with their sockets open: it holds only its own
        for _ in range(kept + 1):
            reply = _load_and_call(fresh, count_sockets)
            assert reply.ok and reply.value == 1, reply


def _wait_for_children(pool: WorkerPool, at_least: int, timeout_s: float = 20) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if all(len(_children_of(pid)) >= at_least for pid in pool.worker_pids()):
            return True
        time.sleep(0.05)
    return False


def test_held_spares_wait_for_their_release_not_for_work():
    with WorkerPool(2, spares=16, hold_spares=True) as held:
        kept, early = 8, worker_module.EARLY_SPARES
        for _ in range(2 * held.n_workers):  # work begins, but the spares are held
            held.spawn().close()
        time.sleep(0.5)  # more than the pause after which a worker forks what it wants
        # each worker: its early spares, at most one forked at a hand-out, its PID namespace's init
        assert all(len(_children_of(pid)) <= early + 2 for pid in held.worker_pids())
        held.release_spares()
        assert _wait_for_children(held, kept)
        held.release_spares()  # a second release changes nothing
        reply = _load_and_call(held, "def algorithm():\n    return 7\n")
        assert reply.ok and reply.value == 7
    held.release_spares()  # nor does a release after close


# -- modes -----------------------------------------------------------------------------


def test_an_unknown_mode_is_a_user_error():
    with pytest.raises(UnknownSandboxMode, match="unknown sandbox mode"):
        WorkerPool(1, mode="lenient")


def test_strict_mode_refuses_to_start_without_every_isolation(monkeypatch):
    started: list[int] = []
    original = pool_module._Worker.__init__

    def record(self, *args, **kwargs):
        original(self, *args, **kwargs)
        started.append(self.process.pid)

    monkeypatch.setattr(pool_module._Worker, "__init__", record)
    monkeypatch.setattr(
        pool_module, "missing_for_strict", lambda _: ["filesystem isolation needs landlock (test)"]
    )
    with pytest.raises(SandboxUnavailable, match="^strict sandbox unavailable: filesystem isolation"):
        WorkerPool(1, mode="strict")
    assert started and all(_gone(pid) for pid in started)  # and it left nothing running


def test_default_mode_warns_naming_what_is_missing(monkeypatch):
    real = pool_module._Worker.__init__

    def without_landlock(self, *args, **kwargs):
        real(self, *args, **kwargs)
        self.protections = [
            Protection(p.name, False, "pretend") if p.name == "landlock network" else p
            for p in self.protections
        ]

    monkeypatch.setattr(pool_module._Worker, "__init__", without_landlock)
    with pytest.warns(pool_module.SandboxWarning, match="landlock network"), WorkerPool(1):
        pass


def test_missing_for_strict_names_each_kind_of_isolation():
    everything = [Protection(name, True, "") for names in STRICT_REQUIREMENTS.values() for name in names]
    assert missing_for_strict(everything) == []
    without_seccomp = [
        p if p.name != "seccomp filter" else Protection(p.name, False, "old kernel") for p in everything
    ]
    lines = missing_for_strict(without_seccomp)
    assert {line.split()[0] for line in lines} == {"network", "process", "signal"}
    assert all("seccomp filter (old kernel)" in line for line in lines)


def test_doctor_reports_every_protection():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        protections = probe()
    names = {p.name for p in protections}
    assert {name for names in STRICT_REQUIREMENTS.values() for name in names} <= names
    assert report_lines(protections)[-1].startswith("strict mode: ")


# -- workers and the end of a run ----------------------------------------------------------


def test_a_dead_worker_is_replaced():
    with WorkerPool(1) as pool:
        (old,) = pool.worker_pids()
        os.kill(old, signal.SIGKILL)
        assert _gone(old)
        assert _load_and_call(pool, "def algorithm():\n    return 5\n").value == 5
        assert pool.worker_pids() != [old]


def test_a_hung_worker_is_replaced():
    with WorkerPool(1, spawn_timeout_s=2.0) as pool:
        (old,) = pool.worker_pids()
        os.kill(old, signal.SIGSTOP)
        try:
            assert _load_and_call(pool, "def algorithm():\n    return 6\n").value == 6
        finally:
            try:
                os.kill(old, signal.SIGCONT)
            except ProcessLookupError:
                pass
        assert _gone(old)


def test_close_kills_running_children_and_workers():
    pool = WorkerPool(1)
    child = pool.spawn(Limits(wall_s=60))
    assert child.run(
        {"op": "load", "source": "import time\ntime.sleep(0)\ndef algorithm():\n    return 1\n"}
    ).ok
    workers = pool.worker_pids()
    pool.close()
    assert _gone(child.pid) and all(_gone(pid) for pid in workers)
    child.close()


def test_nothing_outlives_an_orchestrator_that_is_killed(tmp_path):
    script = textwrap.dedent(
        """
        import os, signal, sys
        from selftaught.sandbox.limits import Limits
        from selftaught.sandbox.pool import WorkerPool
        pool = WorkerPool(1)
        child = pool.spawn(Limits(wall_s=60))
        child.run({"op": "load", "source": "def algorithm():\\n    while True:\\n        pass\\n"})
        from selftaught.inside.protocol import send_message
        send_message(child.sock, {"op": "call", "args": []})
        print(" ".join(map(str, [child.pid, *pool.worker_pids()])), flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == -signal.SIGKILL, done.stderr
    pids = [int(p) for p in done.stdout.split()]
    assert len(pids) == 2 and all(_gone(pid) for pid in pids)


def test_a_dropped_pool_is_closed_by_its_finalizer():
    pool = WorkerPool(1)
    workers = pool.worker_pids()
    del pool
    import gc

    gc.collect()
    assert all(_gone(pid) for pid in workers)


# -- lost workers: the sandbox's loss is redone, the code's crash is not -------------------------

BUSY_THEN_SEVEN = """
import time
end = time.process_time() + 0.5
while time.process_time() < end:
    pass
def algorithm():
    return 7
"""


def _cpu_s(pid: int) -> float:
    """CPU seconds `pid` has used (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _kill_worker_once_running(child, worker_pid: int) -> threading.Thread:
    """SIGKILL `worker_pid` once `child` has spent 0.1 CPU-seconds in its command.

    Not sooner: a child still confining itself as a spare when its worker dies finds
    itself an orphan and simply goes on (nothing is lost then, and nothing to test).
    """

    def kill() -> None:
        for _ in range(100000):
            if _cpu_s(child.pid) >= 0.1:
                break
            time.sleep(0.0005)
        os.kill(worker_pid, signal.SIGKILL)

    thread = threading.Thread(target=kill, daemon=True)
    thread.start()
    return thread


def _worker_of(pool, child) -> int:
    return next(pid for pid in pool.worker_pids() if str(child.pid) in _children_of(pid))


def _children_of(pid: int) -> list[str]:
    with open(f"/proc/{pid}/task/{pid}/children") as children:
        return children.read().split()


def test_a_worker_killed_under_a_running_child_is_a_loss_and_its_command_is_redone():
    with WorkerPool(1) as pool:
        if not pool.redoes_lost_work():
            pytest.skip(
                "no seccomp, Landlock signal scope or uid per child here: a loss is charged to the code"
            )
        executor = LocalExecutor(pool)
        handlers, killers = [], []

        class Tracker:
            def track(self, child):
                if not killers:  # only the first try's worker dies
                    killers.append(_kill_worker_once_running(child, _worker_of(pool, child)))

            def untrack(self, child):
                pass

        def make_handler():
            handlers.append(object())
            return lambda request: RequestAnswer(False, error="no requests here")

        job = ImproverJob({"op": "load", "source": BUSY_THEN_SEVEN, "entry": "algorithm"}, Limits(wall_s=30))
        (first_worker,) = pool.worker_pids()
        reply = executor.run_improver(job, make_handler, Tracker())
        killers[0].join()
        assert reply.ok, reply
        assert len(handlers) == 2  # the command ran again, with a fresh handler
        assert pool.workers_lost == 1
        (loss,) = pool.worker_losses
        assert loss.worker_pid == first_worker and loss.redone and loss.how == "killed by SIGKILL"
        assert pool.worker_pids() != [first_worker]  # it ran again on a new worker


def test_a_lost_worker_raises_worker_lost_to_the_caller_of_run():
    with WorkerPool(1) as pool:
        if not pool.redoes_lost_work():
            pytest.skip(
                "no seccomp, Landlock signal scope or uid per child here: a loss is charged to the code"
            )
        with pool.spawn(Limits(wall_s=30)) as child:
            killer = _kill_worker_once_running(child, _worker_of(pool, child))
            with pytest.raises(WorkerLost, match="killed by SIGKILL"):
                child.run({"op": "load", "source": BUSY_THEN_SEVEN})
            killer.join()
        assert _load_and_call(pool, "def algorithm():\n    return 8\n").value == 8


def test_where_a_child_could_signal_its_worker_the_loss_is_charged_to_the_code(monkeypatch):
    with WorkerPool(1) as pool:
        weak = [
            Protection(p.name, False, "test") if p.name in SIGNAL_CONTAINMENT else p for p in pool.protections
        ]
        monkeypatch.setattr(pool, "protections", weak)
        assert not pool.redoes_lost_work()
        with pool.spawn(Limits(wall_s=30)) as child:
            killer = _kill_worker_once_running(child, _worker_of(pool, child))
            reply = child.run({"op": "load", "source": BUSY_THEN_SEVEN})
            killer.join()
        assert not reply.ok and reply.error_kind == "worker_lost"
        assert pool.workers_lost == 1 and not pool.worker_losses[0].redone


@pytest.mark.parametrize(
    "crash",
    ["import os\nos._exit(3)", "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"],
)
def test_a_child_that_crashes_or_kills_itself_is_the_codes_failure_not_a_loss(pool, crash):
    lost_before = pool.workers_lost
    reply = _load_and_call(pool, f"def algorithm():\n    {crash.replace(chr(10), chr(10) + '    ')}\n")
    assert not reply.ok and reply.error_kind == "crashed"
    assert pool.workers_lost == lost_before


def test_a_child_cannot_kill_its_worker_for_a_second_try(pool):
    if not pool.redoes_lost_work():
        pytest.skip("no seccomp, Landlock signal scope or uid per child here: a loss is charged to the code")
    lost_before = pool.workers_lost
    with pool.spawn(Limits(wall_s=10)) as child:
        worker = _worker_of(pool, child)
        source = f"import os, signal\ndef algorithm():\n    os.kill({worker}, signal.SIGKILL)\n"
        assert child.run({"op": "load", "source": source}).ok
        reply = child.run({"op": "call", "args": []})
    assert not reply.ok and reply.error_kind == "exception"
    assert "PermissionError" in (reply.error or "") or "ProcessLookupError" in (reply.error or "")
    assert worker in pool.worker_pids() and pool.workers_lost == lost_before


def test_idle_workers_killed_all_at_once_are_replaced_at_the_next_spawn():
    with WorkerPool(2) as pool:
        old = pool.worker_pids()
        for pid in old:
            os.kill(pid, signal.SIGKILL)
        assert _load_and_call(pool, "def algorithm():\n    return 9\n").value == 9
        assert _load_and_call(pool, "def algorithm():\n    return 10\n").value == 10
        assert not set(pool.worker_pids()) & set(old)


def test_work_whose_worker_keeps_dying_ends_the_run_with_a_clear_error():
    tries = []

    def always_lost():
        tries.append(1)
        raise WorkerLost("sandbox worker 1 was lost (killed by SIGKILL) while child 2 worked")

    with pytest.raises(WorkerLossLimit, match="lost its sandbox worker 4 times in a row") as caught:
        redo_when_lost(always_lost, "a scoring on parity")
    assert len(tries) == MAX_WORKER_LOSSES == 4
    assert isinstance(caught.value, UserInputError)  # one line on the command line, not a traceback
    outcomes = iter([WorkerLost("lost once"), "done"])

    def lost_once():
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    assert redo_when_lost(lost_once, "an improver run") == "done"


def test_replacements_killed_while_starting_are_a_loss_not_a_broken_sandbox(monkeypatch):
    with WorkerPool(1) as pool:
        (old,) = pool.worker_pids()
        os.kill(old, signal.SIGKILL)
        assert _gone(old)

        def killed_at_start(*args, **kwargs):
            raise pool_module._KilledWhileStarting("sandbox worker did not start: no hello; exit status -9")

        monkeypatch.setattr(pool_module, "_Worker", killed_at_start)
        with pytest.raises(WorkerLost, match="killed while starting"):
            pool.spawn(Limits(wall_s=5))


def test_a_spares_warm_up_leaves_no_trace_a_candidate_could_see():
    """The warm-up (a load and a call before hand-out) puts the random states back and drops its module."""
    import random

    import numpy as np

    from selftaught.inside.child import warm_up

    random.seed(7)
    np.random.seed(7)
    before = (random.getstate(), np.random.get_state()[1].copy())
    modules = set(sys.modules)
    warm_up()
    assert random.getstate() == before[0]
    assert np.array_equal(np.random.get_state()[1], before[1])
    assert set(sys.modules) - modules == set() and "candidate" not in sys.modules


def test_a_warmed_spare_loads_and_runs_a_candidate_seeded_as_a_fresh_child_would(pool):
    source = (
        "import random\nimport numpy as np\ndef f():\n    return [random.random(), float(np.random.rand())]\n"
    )
    values = []
    for _ in range(2):
        with pool.spawn(Limits(wall_s=10)) as child:
            assert child.run({"op": "load", "source": source, "entry": "f", "seed": 11}).ok
            values.append(child.run({"op": "call", "args": []}).value)
    random_state = __import__("random").Random(11)
    assert values[0] == values[1] and values[0][0] == random_state.random()


def _state(pid: int) -> str | None:
    """A process's state letter (R, S, T, Z...), or None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def test_a_closed_child_is_stopped_at_once_and_killed_once_spawns_pause(pool):
    """Closing stops the child's whole group (nothing in it runs again); the worker kills it later,
    off the burst of scorings that closed it."""
    spin = "[0 for _ in iter(int, 1)]"  # never ends
    spinner = f"import threading\ndef f():\n    threading.Thread(target=lambda: {spin}).start()\n"
    child = pool.spawn(Limits(wall_s=10))
    assert child.run({"op": "load", "source": spinner, "entry": "f"}).ok
    assert child.run({"op": "call", "args": []}).ok  # a thread now spins in the child
    child.close()
    threads = [int(tid) for tid in os.listdir(f"/proc/{child.pid}/task")] if _state(child.pid) else []
    assert len(threads) >= 2 or _state(child.pid) in ("Z", None)
    deadline = time.monotonic() + 0.5  # a signal is delivered within microseconds, not at once
    while time.monotonic() < deadline and any(_state(t) in ("R", "S", "D") for t in threads):
        time.sleep(0.001)
    assert all(_state(t) in ("T", "t", "Z", None) for t in threads)  # stopped, spinning thread and all
    deadline = time.monotonic() + 5
    while _state(child.pid) not in ("Z", None) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _state(child.pid) in ("Z", None)


BOUND_STOPPED = """
import os, signal, sys, time
from collections import deque
from selftaught.sandbox import worker

def child(megabytes):
    pid = os.fork()
    if pid == 0:
        held = bytearray(b"x") * (megabytes << 20)  # written, so resident
        os.kill(os.getpid(), signal.SIGSTOP)
        os._exit(len(held) and 0)
    return pid

children = worker._Children.__new__(worker._Children)
children.stopped, children.live, children.cgroups, children.spares = {}, {}, {}, deque()
sizes = {child(mb): mb for mb in (120, 10, 200, 10)}
children.live = dict.fromkeys(sizes, "")

def state(pid):
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0]

deadline = time.monotonic() + 30  # a loaded machine may take a while to write 200 MB
while any(state(pid) != "T" for pid in sizes) and time.monotonic() < deadline:
    time.sleep(0.02)
children.bound_stopped()
kept = sorted(sizes[pid] for pid in children.stopped)
print(kept, sum(kept))
children.kill_stopped()
deadline = time.monotonic() + 30  # tearing down hundreds of MB takes its time on a loaded machine
while children.live and time.monotonic() < deadline:
    children.reap()
    time.sleep(0.02)
print(len(children.live))
"""


def test_stopped_children_left_for_a_pause_are_bounded_in_memory():
    """A stopped child keeps what it allocated: beyond the worker's bound the largest are killed at once."""
    out = subprocess.run([sys.executable, "-c", BOUND_STOPPED], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    kept, left = out.stdout.splitlines()
    assert kept == "[10, 10, 120] 140"  # 340 MB stopped > 256 MB: the 200 MB one goes first
    assert left == "0"  # and killing the rest leaves nothing behind
