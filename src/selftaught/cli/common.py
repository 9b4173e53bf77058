"""Pieces shared by the command-line modules: consoles, common options, one-line errors."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from selftaught.errors import UserInputError

out = Console()
err = Console(stderr=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="print one JSON object on stdout")]


def fail(message: str) -> typer.Exit:
    """Print one error line on stderr and return the exit (status 2) to raise."""
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(2)


def read_text(path: Path, what: str) -> str:
    """Read a user-given text file, turning every failure into a UserInputError."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise UserInputError(f"{what} {str(path)!r} does not exist") from exc
    except IsADirectoryError as exc:
        raise UserInputError(f"{what} {str(path)!r} is a directory") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise UserInputError(f"cannot read {what} {str(path)!r}: {exc}") from exc


SandboxOpt = Annotated[
    str,
    typer.Option(
        "--sandbox",
        help="default (every protection available, warn on the rest) or strict (refuse "
        "to run without network, filesystem, process and signal isolation)",
    ),
]


def warn(message: str) -> None:
    """One warning line on stderr (missing sandbox protections and the like)."""
    err.print(f"[yellow]warning:[/] {message}", highlight=False, soft_wrap=True)


def start_pool(mode: str, n_workers: int | None = None):
    """Start the sandbox pool; missing protections become one warning line each, strict refusal an error."""
    from selftaught.runs.start import start_pool as start

    return start(mode, n_workers, on_warning=warn)


StoreOpt = Annotated[
    Path | None,
    typer.Option("--store", envvar="SELFTAUGHT_STORE", help="run store file [default: ./selftaught.db]"),
]


def resolve_store_path(store: Path | None) -> Path:
    """The store given with --store or SELFTAUGHT_STORE, else ./selftaught.db."""
    from selftaught.store.store import default_store_path

    return store or default_store_path()
