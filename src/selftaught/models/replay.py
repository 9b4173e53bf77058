"""`replay:RUN`: answer only from the responses a recorded run received.

Replay is the response cache restricted to one run's recorded model calls, with a
backend that is never allowed to be asked: a request the run never made stops the
run with a clear error instead of silently calling a model.
"""

from __future__ import annotations

from pathlib import Path

from selftaught.errors import UserInputError
from selftaught.models.base import ModelRequest, ModelResponse
from selftaught.models.limits import RunStopped


class ReplayModel:
    """A backend whose every call is a replay miss; paired with `RecordedResponses` as cache."""

    def __init__(self, run_id: str, identity: str, store_path: str) -> None:
        self.run_id = run_id
        self.identity = identity  # the recorded run's identity, so that cache keys match
        self.store_path = store_path

    @classmethod
    def from_spec(cls, argument: str, store_path: str | None) -> ReplayModel:
        from selftaught.store.store import Store, StoreError, default_store_path

        if not argument:
            raise UserInputError("replay: needs a run id, as in replay:20261124-101500-ab12cd")
        path = store_path or str(default_store_path())
        if not Path(path).is_file():
            raise UserInputError(f"replay:{argument}: no run store at {path}")
        try:
            store = Store.open_existing(path)
        except StoreError as exc:
            raise UserInputError(str(exc)) from exc
        try:
            row = store.run(argument)
        finally:
            store.close()
        if row is None:
            raise UserInputError(f"replay:{argument}: no such run in {path}")
        return cls(argument, row.model_identity or row.model_spec, path)

    def complete(self, request: ModelRequest) -> ModelResponse:
        raise RunStopped(
            f"replay:{self.run_id} has no recorded answer for a request ({request.n} samples, "
            f"message starting {request.user[:60]!r})"
        )

    def close(self) -> None:
        pass
