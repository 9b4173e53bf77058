"""The `selftaught` command line: parsing, calls into `selftaught.api`, printing. No run logic here.

Modules: run.py (run, resume, evaluate-improver), inspection.py (runs, show, models,
doctor), tasks.py (the `tasks` subcommands), options.py (options derived from
RunConfig), progress.py (progress view and tables), common.py (consoles, shared options).
"""

from __future__ import annotations

import sys
import warnings
from typing import Annotated, Any

import typer

from selftaught import __version__
from selftaught.cli.arena import arena_cmd
from selftaught.cli.audit import audit_app
from selftaught.cli.common import err, out, warn
from selftaught.cli.experiment import experiment_app
from selftaught.cli.inspection import doctor_cmd, models_cmd, runs_cmd, show_cmd
from selftaught.cli.report import report_cmd
from selftaught.cli.run import evaluate_improver_cmd, resume, run
from selftaught.cli.serve import serve_cmd
from selftaught.cli.tasks import tasks_app
from selftaught.config import ConfigWarning
from selftaught.errors import UserInputError
from selftaught.plugins import PluginWarning

__all__ = ["app", "main"]

app = typer.Typer(
    name="selftaught",
    help="STOP, the Self-Taught Optimizer: improve programs with a language model, then the improver itself.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(tasks_app, name="tasks")
experiment_app.command("arena")(arena_cmd)
app.add_typer(experiment_app, name="experiment")
app.add_typer(audit_app, name="audit")


def _version(value: bool) -> None:
    if value:
        out.print(f"selftaught {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="print the version and exit")
    ] = False,
) -> None:
    """STOP, the Self-Taught Optimizer."""


app.command("run")(run)
app.command("resume")(resume)
app.command("evaluate-improver")(evaluate_improver_cmd)
app.command("runs")(runs_cmd)
app.command("show")(show_cmd)
app.command("doctor")(doctor_cmd)
app.command("models")(models_cmd)
app.command("report")(report_cmd)
app.command("serve")(serve_cmd)


def _plugin_warnings_as_lines() -> None:
    """Show a PluginWarning or ConfigWarning as one `warning:` line, like the other warnings."""
    shown = warnings.showwarning

    def show(message: Warning | str, category: type[Warning], *args: Any, **kwargs: Any) -> None:
        if issubclass(category, PluginWarning | ConfigWarning):
            warn(str(message))
        else:
            shown(message, category, *args, **kwargs)

    warnings.showwarning = show


def main() -> None:
    """Entry point of the `selftaught` script."""
    _plugin_warnings_as_lines()
    try:
        returned = app(standalone_mode=False)  # usage errors come here, to be said in one line
    except UserInputError as exc:  # raised from deeper layers after validation
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        _exit_now(2)
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            _exit_now(exc.code or 0)
        raise
    except typer.Abort:
        err.print("[bold red]error:[/] aborted", highlight=False)
        _exit_now(1)
    except Exception as exc:
        _usage_error(exc)
        raise
    _exit_now(returned if isinstance(returned, int) else 0)  # typer.Exit's code, else 0


def _usage_error(exc: Exception) -> None:
    """A command-line usage error (unknown option, bad value, missing argument) as one line, exit 2.

    Click's errors carry `format_message()` and `exit_code`; anything else is not a usage error
    and goes on to the normal traceback."""
    message = getattr(exc, "format_message", None)
    code = getattr(exc, "exit_code", None)
    if not callable(message) or not isinstance(code, int):
        return
    context = getattr(exc, "ctx", None)
    path = getattr(context, "command_path", None)
    hint = f" (see '{path} --help')" if isinstance(path, str) and path else ""
    err.print(f"[bold red]error:[/] {message()}{hint}", highlight=False, soft_wrap=True)
    _exit_now(code)


def _exit_now(code: int) -> None:
    """Exit once the command has finished, without tearing the interpreter down.

    Every run, store and executor is closed by then; what is left is freeing a heap of
    imported modules (the openai SDK's types alone are thousands of classes), which took
    0.2-0.3 s of every command. Threads are finished and atexit handlers (logging, temporary
    directories) run, as at a normal exit.
    """
    import atexit
    import os
    import threading

    finish_threads = getattr(threading, "_shutdown", None)  # what interpreter exit does first
    if callable(finish_threads):
        finish_threads()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream: nothing more can be said
            pass
    os._exit(code)
