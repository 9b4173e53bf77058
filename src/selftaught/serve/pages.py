"""What each served page shows, as named parts: the full page renders them all, and a live
update sends again only the parts of a page whose store version moved.

A run's page is the report's sections (summary, curve, improver runs, usage, lineage,
events, configuration) with the live ones (the iteration in progress, failures by reason,
an experiment's rows); texts open on a page of their own instead of a texts section.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from markupsafe import Markup

from selftaught.report.collect import RunNotFound, collect_report
from selftaught.report.data import ImproverRunView, ReportData
from selftaught.report.html import TextRefs
from selftaught.report.sections import (
    config_section,
    curve_section,
    events_section,
    experiment_section,
    improver_runs_section,
    lineage_section,
    productivity_section,
    run_block,
    run_groups,
    summary_section,
    usage_section,
)
from selftaught.serve.queries import EXPERIMENT_KIND, run_summaries, run_version, store_version
from selftaught.serve.readonly import ReadOnlyStore
from selftaught.serve.rendering import render
from selftaught.serve.sections import arm_pair_section, arm_rows_section, failures_section, progress_section

Section = Callable[[ReportData, TextRefs], Markup]
STOP_PARTS: tuple[tuple[str, Section], ...] = (
    ("summary", summary_section),
    ("progress", progress_section),
    ("iterations", curve_section),
    ("failures", failures_section),
    ("usage", usage_section),
    ("productivity", productivity_section),
    ("improver-runs", improver_runs_section),
    ("lineage", lineage_section),
    ("events", events_section),
    ("experiment", experiment_section),
    ("config", config_section),
)
EXPERIMENT_PARTS: tuple[tuple[str, Section], ...] = (
    ("summary", summary_section),
    ("experiment", experiment_section),
    ("arm-rows", arm_rows_section),
    ("usage", usage_section),
    ("improver-runs", improver_runs_section),
    ("events", events_section),
    ("config", config_section),
)
COMPARE_PARTS: tuple[tuple[str, Section], ...] = (
    ("summary", summary_section),
    ("iterations", curve_section),
    ("usage", usage_section),
)


class NotFound(LookupError):
    """No such run, text or arm in the store: a 404 page with this message."""


@dataclass
class Page:
    """A page's title, its store version, and its parts in order (element id suffix, HTML)."""

    title: str
    version: str
    parts: list[tuple[str, Markup]] = field(default_factory=list)
    heading: Markup | None = None  # under the title, not updated
    side_by_side: bool = False  # the parts in two columns


class ServedRefs(TextRefs):
    """Links to texts point at the text's own page (a served run page has no texts section)."""

    def __init__(self, texts: dict[str, str], run_id: str) -> None:
        super().__init__(texts)
        self.run_id = run_id

    def href(self, digest: str) -> str:
        return f"/runs/{self.run_id}/texts/{digest}"


class Pages:
    """Builds pages from a read-only store.

    Kept between requests: the data of the last few run versions, each improver run's block
    (a finished one never changes, and a paper-sized run has hundreds), and the digests of
    the parts sent at each version, so a live update sends only the parts that changed.
    """

    KEEP = 8
    KEEP_BLOCKS = 20_000
    KEEP_SENT = 64

    def __init__(self, store: ReadOnlyStore) -> None:
        self.store = store
        self._data: OrderedDict[tuple[str, str], ReportData] = OrderedDict()
        self._blocks: dict[tuple, Markup] = {}
        self._sent: OrderedDict[tuple[str, str], dict[str, str]] = OrderedDict()
        self._lock = threading.Lock()

    def changed_parts(self, address: str, since: str, page: Page) -> dict[str, str]:
        """The parts of `page` that differ from what the page at `address` showed at version `since`
        (all of them when that version is not known here)."""
        digests = {name: hashlib.sha256(html.encode()).hexdigest() for name, html in page.parts}
        with self._lock:
            before = self._sent.get((address, since), {})
            self._sent[(address, page.version)] = digests
            while len(self._sent) > self.KEEP_SENT:
                self._sent.popitem(last=False)
        return {name: str(html) for name, html in page.parts if before.get(name) != digests[name]}

    def _run_block(self, run: ImproverRunView, refs: TextRefs, run_id: str) -> Markup:
        """An improver run's block, rendered again only when something of it was recorded."""
        key = (
            run_id,
            run.id,
            run.status,
            run.calls,
            len(run.candidates),
            sum(len(c.scores) for c in run.candidates),
            run.improver_hash in refs.texts,
        )
        with self._lock:
            found = self._blocks.get(key)
        if found is None:
            found = run_block(run, refs)
            with self._lock:
                if len(self._blocks) >= self.KEEP_BLOCKS:
                    self._blocks.clear()
                self._blocks[key] = found
        return found

    def _improver_runs_parts(self, data: ReportData, refs: TextRefs) -> list[tuple[str, Markup]]:
        """The improver runs as one part per iteration, so a live update sends the iteration that grew."""
        groups = run_groups(data.improver_runs)
        parts = [("improver-runs", render("improver_runs_head.html.j2", groups=groups))]
        for group in groups:
            iteration = group.runs[0].iteration
            name = "improver-runs-" + ("outside" if iteration is None else str(iteration))
            block = partial(self._run_block, refs=refs, run_id=data.run.id)
            parts.append((name, render("improver_run_group.html.j2", group=group, run_block=block)))
        return parts

    def _parts(self, data: ReportData, refs: TextRefs, sections: tuple[tuple[str, Section], ...]):
        parts: list[tuple[str, Markup]] = []
        for name, section in sections:
            if section is improver_runs_section:
                parts += self._improver_runs_parts(data, refs)
            else:
                parts.append((name, section(data, refs)))
        return parts

    # --- versions: cheap, asked each second by a live page ---------------------------------------
    def version(self, kind: str, *run_ids: str) -> str:
        if kind == "runs":
            return store_version(self.store)
        return "/".join(run_version(self.store, run_id) for run_id in run_ids)

    def data(self, run_id: str) -> tuple[ReportData, str]:
        """The run's report data and the version it was read at (one snapshot of the store)."""
        with self.store.snapshot():
            version = run_version(self.store, run_id)
            with self._lock:
                cached = self._data.get((run_id, version))
            if cached is not None:
                return cached, version
            try:
                data = collect_report(self.store, run_id)
            except RunNotFound:
                raise NotFound(f"no run {run_id!r} in this store") from None
        with self._lock:
            self._data[(run_id, version)] = data
            while len(self._data) > self.KEEP:
                self._data.popitem(last=False)
        return data, version

    # --- pages ----------------------------------------------------------------------------------
    def runs(self) -> Page:
        with self.store.snapshot():
            version = store_version(self.store)
            summaries = run_summaries(self.store)
        runs = [s for s in summaries if not s.is_experiment]
        experiments = [s for s in summaries if s.is_experiment]
        return Page(
            f"runs in {self.store.path.name}",
            version,
            [
                ("runs", render("runs_table.html.j2", id="runs", title="Runs", rows=runs)),
                ("experiments", render("runs_table.html.j2", id="experiments", title="Experiments",
                                       rows=experiments)),
                ("compare-form", render("compare_form.html.j2", runs=summaries)),
            ],
        )  # fmt: skip

    def run(self, run_id: str) -> Page:
        data, version = self.data(run_id)
        refs = ServedRefs(data.texts, run_id)
        parts = EXPERIMENT_PARTS if data.run.kind == EXPERIMENT_KIND else STOP_PARTS
        what = "experiment" if data.run.kind == EXPERIMENT_KIND else "run"
        return Page(
            f"selftaught {what} {run_id}",
            version,
            self._parts(data, refs, parts),
        )

    def compare_runs(self, a: str, b: str) -> Page:
        columns = []
        versions = []
        for side, run_id in (("left", a), ("right", b)):
            data, version = self.data(run_id)
            refs = ServedRefs(data.texts, run_id)
            sections = [section(data, refs) for _, section in COMPARE_PARTS]
            columns.append((side, render("compare_column.html.j2", data=data, sections=sections)))
            versions.append(version)
        return Page(f"runs {a} and {b}, side by side", "/".join(versions), columns, side_by_side=True)

    def compare_arms(self, run_id: str, a: str, b: str) -> Page:
        data, version = self.data(run_id)
        return Page(
            f"experiment {run_id}: {a} and {b}",
            version,
            [("arm-pair", arm_pair_section(data, a, b))],
            heading=render("back_link.html.j2", run_id=run_id),
        )

    def text(self, run_id: str, digest: str) -> Page:
        data, version = self.data(run_id)
        if digest not in data.texts:
            raise NotFound(f"no text {digest[:12]!r} in run {run_id!r}")
        return Page(
            f"text {digest[:10]} of run {run_id}",
            version,
            [("text", render("text.html.j2", run_id=run_id, digest=digest, text=data.texts[digest]))],
        )
