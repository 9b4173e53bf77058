"""Serve a store in this process (Uvicorn in a thread, on a free loopback port) for the tests."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_MODEL, run_cli
from tests.report.hostile import write_hostile_store


def serve_extra_missing() -> str | None:
    """Why serve's tests cannot run here, or None when they can."""
    import importlib.util

    missing = [name for name in ("starlette", "uvicorn") if importlib.util.find_spec(name) is None]
    return f"selftaught serve needs the 'serve' extra ({', '.join(missing)} missing)" if missing else None


@contextmanager
def serving(store: Path, token: str | None = None) -> Iterator[str]:
    """The app over `store` on 127.0.0.1 and a free port; yields its base URL."""
    import uvicorn

    from selftaught.serve.app import create_app
    from selftaught.serve.readonly import ReadOnlyStore
    from selftaught.serve.server import bind

    opened = ReadOnlyStore.open(store)
    sock = bind("127.0.0.1", 0)
    config = uvicorn.Config(create_app(opened, token), log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
        opened.close()


@dataclass
class Reply:
    status: int
    body: str
    headers: dict[str, str] = field(default_factory=dict)

    def json(self):
        return json.loads(self.body)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # the reply itself (a 303 after a token) is what the tests look at


_opener = urllib.request.build_opener(_NoRedirect)


def get(url: str, method: str = "GET", headers: dict[str, str] | None = None) -> Reply:
    """One request to the app; a redirect is returned, not followed."""
    request = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with _opener.open(request, timeout=60) as response:
            return Reply(
                response.status, response.read().decode(), {k.lower(): v for k, v in response.headers.items()}
            )
    except urllib.error.HTTPError as error:
        return Reply(error.code, error.read().decode(), {k.lower(): v for k, v in error.headers.items()})


@dataclass(frozen=True)
class StoreWithRuns:
    path: Path
    run_id: str
    experiment_id: str
    hostile_id: str


@pytest.fixture(scope="package")
def store_with_runs(tmp_path_factory) -> StoreWithRuns:
    """One store holding a scripted STOP run, a baselines experiment and a run of hostile text."""
    path = tmp_path_factory.mktemp("served") / "runs.db"
    model = f"script:{EXAMPLE_MODEL}"
    small = ("--n-tests", "1", "--calls", "2", "--samples", "2", "--store", str(path), "--json")
    ran = run_cli("run", "--model", model, "--iterations", "2", *small)
    assert ran.returncode == 0, ran.stderr
    experiment = run_cli("experiment", "baselines", "--model", model, "--runs", "1", *small)
    assert experiment.returncode == 0, experiment.stderr
    hostile_id = write_hostile_store(path)
    return StoreWithRuns(
        path, json.loads(ran.stdout)["run_id"], json.loads(experiment.stdout)["id"], hostile_id
    )
