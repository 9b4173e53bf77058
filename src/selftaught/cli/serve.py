"""`selftaught serve`: the read-only web app over a run store (selftaught.serve, docs/serve.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from selftaught.cli.common import StoreOpt, err, fail, out, resolve_store_path


def serve_cmd(
    store: StoreOpt = None,
    host: Annotated[
        str, typer.Option("--host", help="address to listen on; any but loopback needs a token")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="port to listen on (0: any free port)")] = 8765,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            envvar="SELFTAUGHT_SERVE_TOKEN",
            help="token required off loopback (by default a new one, printed at start)",
        ),
    ] = None,  # fmt: skip
) -> None:
    """Watch runs live in a browser: a local, read-only web app over the run store."""
    from selftaught.errors import UserInputError
    from selftaught.serve import Served, serve

    def ready(served: Served) -> None:
        out.print(f"selftaught serve: {served.open_url}", highlight=False, soft_wrap=True)
        out.file.flush()  # a script reading our output gets the address now, not at exit
        note = "a token is required on every request" if served.token else "this machine only"
        err.print(f"read-only view of {path} ({note}); Ctrl-C stops", highlight=False, soft_wrap=True)

    path = resolve_store_path(store)
    try:
        serve(path, host, port, token, on_ready=ready)
    except UserInputError as exc:
        raise fail(str(exc)) from None
    except KeyboardInterrupt:
        pass
