"""Progress on stderr while a run works, and the per-iteration table it ends with."""

from __future__ import annotations

import threading
import time

from rich.table import Table

from selftaught.cli.common import err


class ProgressView:
    """Progress on stderr: phase, model calls, tokens/s, improver runs, evaluations.

    A live line on a terminal; elsewhere (CI, a log file) a plain line when the phase
    changes and at most every `PLAIN_EVERY_S` seconds. Nothing at all with --json.
    """

    PLAIN_EVERY_S = 15.0

    def __init__(self, enabled: bool) -> None:
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self.live = enabled and err.is_terminal
        self.plain = enabled and not self.live
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=err,
            transient=True,
            disable=not self.live,
        )
        self.task_id = self.progress.add_task("starting", total=None)
        self._last = 0.0
        self._last_phase = ""
        self._started = time.monotonic()
        self._counters = None
        self._done = threading.Event()
        self._heartbeat = threading.Thread(target=self._beat, name="progress", daemon=True)

    def __enter__(self) -> ProgressView:
        self.progress.start()
        if self.plain:
            self._heartbeat.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self.progress.stop()

    def _beat(self) -> None:
        """Off a terminal, still say something during long model calls."""
        while not self._done.wait(self.PLAIN_EVERY_S):
            if self._counters is not None and time.monotonic() - self._last >= self.PLAIN_EVERY_S:
                self._print(self._counters)

    def _print(self, counters) -> None:
        self._last, self._last_phase = time.monotonic(), counters.phase
        err.print(
            f"[{self._last - self._started:6.0f}s] {self.describe(counters)}", highlight=False, soft_wrap=True
        )

    @staticmethod
    def describe(counters) -> str:
        rate = ""
        if counters.completion_tokens and counters.model_seconds:
            rate = f" ({counters.completion_tokens / counters.model_seconds:.1f} tok/s)"
        return (
            f"{counters.phase} · {counters.model_calls} model calls{rate} · "
            f"{counters.improver_runs} improver runs · {counters.evaluations} evaluations"
        )

    def update(self, counters) -> None:
        now = time.monotonic()
        if self.live and now - self._last >= 0.1:
            self._last = now
            self.progress.update(self.task_id, description=self.describe(counters))
        elif self.plain and (counters.phase != self._last_phase or now - self._last >= self.PLAIN_EVERY_S):
            self._last, self._last_phase = now, counters.phase
            err.print(
                f"[{now - self._started:6.0f}s] {self.describe(counters)}", highlight=False, soft_wrap=True
            )


def iteration_table(rows: list[dict], run_id: str) -> Table:
    table = Table(title=f"run {run_id}")
    table.add_column("iteration", justify="right")
    table.add_column("meta-utility (val)", justify="right")
    table.add_column("meta-utility (test)", justify="right")
    table.add_column("status")
    for row in rows:
        val, test = row["meta_utility_val"], row["meta_utility_test"]
        table.add_row(
            str(row["iteration"]),
            "-" if val is None else f"{val:.3f}",
            "-" if test is None else f"{test:.3f}",
            row["status"],
        )
    return table
