"""A local Ray cluster of two nodes on this machine, shared by the executor tests (skipped without Ray).

The nodes bind to the address Ray picks for this machine: `ray.cluster_utils.Cluster` with
`node_ip_address="127.0.0.1"` waits forever for a GCS it looks for on the host's address.
"""

from __future__ import annotations

import signal

import pytest

ray = pytest.importorskip(
    "ray", reason="the Ray executor's tests need selftaught[ray] (pip install 'selftaught[ray]')"
)

OBJECT_STORE = 80 * 1024 * 1024  # Ray's minimum; the tests move a few kilobytes


@pytest.fixture(scope="session")
def ray_cluster():
    """Two Ray nodes of one CPU each on this machine; this process is connected to them."""
    from ray.cluster_utils import Cluster

    node = {"num_cpus": 1, "object_store_memory": OBJECT_STORE}
    interrupt = signal.getsignal(signal.SIGINT)
    cluster = Cluster(initialize_head=True, head_node_args={**node, "include_dashboard": False})
    cluster.add_node(**node)
    ray.init(address=cluster.address, include_dashboard=False, log_to_driver=False, configure_logging=False)
    signal.signal(signal.SIGINT, interrupt)  # Ray may leave SIGINT ignored; later tests' children inherit it
    try:
        cluster.wait_for_nodes()
        yield cluster
    finally:
        ray.shutdown()
        cluster.shutdown()


@pytest.fixture
def ray_executor(ray_cluster):
    """A Ray executor on the two nodes (default sandbox mode), closed after the test."""
    from selftaught.executors.ray import RayExecutor

    executor = RayExecutor.connect("default", on_warning=lambda message: None)
    try:
        yield executor
    finally:
        executor.close()
