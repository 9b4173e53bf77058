"""`selftaught serve`: a local, read-only web app over the run store that shows runs live.

Pages: the runs and experiments, a run (the report's sections, updating while it runs),
an experiment's rows as they arrive, two runs or two arms side by side. It reuses the
report's templates (autoescape on), ships every asset, opens the store read-only, and off
the loopback address requires a token on every request. Needs the `serve` extra
(Starlette and Uvicorn); see docs/serve.md.
"""

from __future__ import annotations

from selftaught.serve.readonly import ReadOnlyStore, StoreUnreadable
from selftaught.serve.server import AddressUnavailable, Served, serve

__all__ = ["AddressUnavailable", "ReadOnlyStore", "Served", "StoreUnreadable", "serve"]
