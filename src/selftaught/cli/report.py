"""`selftaught report RUN`: write a run's report as one self-contained HTML file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from selftaught.cli.common import StoreOpt, fail, out, resolve_store_path


def report_cmd(
    run_id: Annotated[str, typer.Argument(metavar="RUN_ID", help="run id (see `selftaught runs`)")],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="HTML file to write (default: report-RUN_ID.html)")
    ] = None,  # type: ignore[assignment]
    store: StoreOpt = None,
) -> None:
    """Write one static HTML page: meta-utility curve, lineage with diffs, each candidate and its failure."""
    from selftaught.report import RunNotFound, collect_report, render_report, summary_line
    from selftaught.store.store import Store, StoreError

    try:
        db = Store.open_existing(resolve_store_path(store))
    except StoreError as exc:
        raise fail(str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - any file the user names: sqlite3.DatabaseError and friends
        raise fail(f"cannot open run store {str(resolve_store_path(store))!r}: {exc}") from None
    try:
        data = collect_report(db, run_id)
    except RunNotFound as exc:
        raise fail(str(exc)) from None
    path = output or Path(f"report-{run_id}.html")
    try:
        path.write_text(render_report(data), encoding="utf-8")
    except OSError as exc:
        raise fail(f"cannot write {str(path)!r}: {exc.strerror or exc}") from None
    out.print(f"report written to {path}", highlight=False, soft_wrap=True)
    out.print(summary_line(data), highlight=False, soft_wrap=True)
