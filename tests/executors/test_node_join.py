"""Joining a cluster: a node whose sandbox is weaker than the run's mode refuses, with its reason."""

from __future__ import annotations

import pytest

from selftaught.executors import node as node_module
from selftaught.executors.node import NodeInfo, NodeRunner
from selftaught.sandbox.errors import SandboxUnavailable

pytest.importorskip("ray", reason="needs selftaught[ray]")
pytestmark = pytest.mark.ray


def test_a_node_without_strict_protections_refuses_with_the_reason(monkeypatch):
    def no_strict(*args, **kwargs):
        raise SandboxUnavailable("strict sandbox unavailable: filesystem isolation: no Landlock")

    monkeypatch.setattr(node_module, "WorkerPool", no_strict)
    runner = NodeRunner("node-a", "strict", 2)
    info = runner.info()
    assert info.refusal == "strict sandbox unavailable: filesystem isolation: no Landlock"
    assert info.protections == []
    with pytest.raises(Exception, match="no Landlock"):
        runner.start("job", {"op": "improve"}, None)


class _FakeRef:
    def __init__(self, value):
        self.value = value


class _FakeActor:
    def __init__(self, info: NodeInfo) -> None:
        self.info = type("M", (), {"remote": staticmethod(lambda: _FakeRef(info))})()
        self.close = type("M", (), {"remote": staticmethod(lambda: _FakeRef(None))})()


class _FakeActorClass:
    def __init__(self, infos: dict[str, NodeInfo]) -> None:
        self.infos = infos

    def options(self, **options):
        return type(
            "O", (), {"remote": staticmethod(lambda node, mode, cores: _FakeActor(self.infos[node]))}
        )()


class _GetTimeoutError(Exception):
    pass


class _FakeRay:
    """The few Ray calls joining makes, over canned node answers (or none, when `silent`)."""

    exceptions = type("exceptions", (), {"GetTimeoutError": _GetTimeoutError})

    def __init__(self, infos: dict[str, NodeInfo], silent: bool = False) -> None:
        self.infos = infos
        self.killed: list = []
        self.silent = silent
        self.timeouts: list = []

    def nodes(self):
        return [{"NodeID": node, "Alive": True, "Resources": {"CPU": 2.0}} for node in self.infos]

    def get(self, refs, timeout=None):
        self.timeouts.append(timeout)
        if self.silent:
            raise _GetTimeoutError()
        return [ref.value for ref in refs] if isinstance(refs, list) else refs.value

    def kill(self, actor):
        self.killed.append(actor)


class _FakeRayToStart(_FakeRay):
    """A Ray not yet started in this process: `connect` must start it, and stop what it started."""

    def __init__(self, infos: dict[str, NodeInfo], silent: bool = False) -> None:
        super().__init__(infos, silent)
        self.calls: list[tuple] = []
        self.initialized = False

    def is_initialized(self):
        return self.initialized

    def init(self, **kwargs):
        self.calls.append(("init", kwargs.get("address")))
        self.initialized = True

    def shutdown(self):
        self.calls.append(("shutdown",))
        self.initialized = False


def test_joining_keeps_nodes_that_hold_the_mode_and_names_those_that_refuse(monkeypatch):
    from selftaught.executors import ray as ray_executor

    strong = NodeInfo("a1" * 28, "strong", 2, [{"name": "seccomp filter", "available": True, "detail": ""}])
    weak = NodeInfo("b2" * 28, "weak", 2, refusal="strict sandbox unavailable: process isolation: not root")
    fake = _FakeRay({strong.node: strong, weak.node: weak})
    monkeypatch.setattr(ray_executor, "_actor_class", lambda: _FakeActorClass(fake.infos))
    told: list[str] = []
    joined = ray_executor._join(fake, "strict", told.append)
    assert [n.info.host for n in joined] == ["strong"]
    assert len(fake.killed) == 1
    assert told == [f"node weak ({'b2' * 6}) refuses to join: {weak.refusal}"]

    fake_all_weak = _FakeRay({weak.node: weak})
    monkeypatch.setattr(ray_executor, "_actor_class", lambda: _FakeActorClass(fake_all_weak.infos))
    with pytest.raises(SandboxUnavailable, match="not root"):
        ray_executor._join(fake_all_weak, "strict", None)


def test_joining_gives_up_with_a_reason_when_no_actor_answers(monkeypatch):
    from selftaught.executors import ray as ray_executor

    info = NodeInfo("c3" * 28, "slow", 2)
    fake = _FakeRay({info.node: info}, silent=True)
    monkeypatch.setattr(ray_executor, "_actor_class", lambda: _FakeActorClass(fake.infos))
    with pytest.raises(SandboxUnavailable, match="did not start within 180 s"):
        ray_executor._join(fake, "default", None)
    assert fake.timeouts == [ray_executor.JOIN_TIMEOUT_S]
    assert len(fake.killed) == 1  # the actor that never answered is not left behind


def test_without_an_address_the_executor_starts_ray_and_stops_what_it_started(monkeypatch):
    from selftaught.executors import ray as ray_executor

    info = NodeInfo("d4" * 28, "here", 2)
    fake = _FakeRayToStart({info.node: info})
    monkeypatch.setattr(ray_executor, "_ray", lambda: fake)
    monkeypatch.setattr(ray_executor, "_actor_class", lambda: _FakeActorClass(fake.infos))
    executor = ray_executor.RayExecutor.connect("default")
    assert fake.calls == [("init", None)] and [n.host for n in executor.live_nodes()] == ["here"]
    executor.close()
    assert fake.calls[-1] == ("shutdown",)

    silent = _FakeRayToStart({info.node: info}, silent=True)  # a start whose nodes never answer
    monkeypatch.setattr(ray_executor, "_ray", lambda: silent)
    with pytest.raises(SandboxUnavailable, match="did not start"):
        ray_executor.RayExecutor.connect("default")
    assert silent.calls == [("init", None), ("shutdown",)]

    joined = _FakeRayToStart({info.node: info})
    joined.initialized = True  # a Ray this process already joined is used, and left running
    monkeypatch.setattr(ray_executor, "_ray", lambda: joined)
    ray_executor.RayExecutor.connect("default").close()
    assert joined.calls == []


def test_the_cluster_reports_each_protection_as_its_weakest_node_has_it():
    from selftaught.executors.ray import _weakest

    one = NodeInfo("a", "a", 1, [{"name": "seccomp filter", "available": True, "detail": "yes"}])
    two = NodeInfo("b", "b", 1, [{"name": "seccomp filter", "available": False, "detail": "old kernel"}])
    (merged,) = _weakest([one, two])
    assert not merged.available and merged.detail == "old kernel"
