"""One self-contained static HTML page, rendered from Jinja2 templates with autoescape on.

The page is a list of sections, each a function `(data, refs) -> HTML fragment` that renders
one template of templates/, so that experiment and audit pages are one more section each.
Autoescape is on for every template: a value from a model or a store is escaped unless it
is marked safe, and only our own markup is (a section's rendered template, the matplotlib
plot, the packed-texts script). Long texts are collapsed in `<details>` and shown once each,
or packed when a large run's texts would not fit the page as they are (see texts.py).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import time
from collections.abc import Callable, Sequence
from html import escape as escape_content
from typing import Any

import jinja2
from markupsafe import Markup

from selftaught.report.data import ReportData
from selftaught.report.texts import FRAME_CHARS, PACKED_SCRIPT, TEXT_BUDGET_CHARS, anchor

Section = Callable[[ReportData, "TextRefs"], Markup]
PAGE_LIMIT_BYTES = 5_000_000
MAX_ERROR_CHARS = 400
# the report as a file: nothing may be fetched (no external resource, and a policy that forbids any)
PAGE_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:;"


class TextRefs:
    """Texts referenced by sections, rendered once each in the texts section at the end."""

    def __init__(self, texts: dict[str, str], budget: int = TEXT_BUDGET_CHARS) -> None:
        self.texts = texts
        self.budget = budget
        self.used: dict[str, str] = {}  # hash -> label, in order of first use
        self.whole: set[str] = set()  # never cut (improver sources)
        self.packed = False  # the texts section packed texts: the page needs PACKED_SCRIPT

    def href(self, digest: str) -> str:
        """Where a link to a text points: its block in this page (a served page points elsewhere)."""
        return f"#{anchor(digest)}"

    def link(self, digest: str | None, label: str, title: str = "", whole: bool = False) -> Markup:
        if not digest or digest not in self.texts:
            return Markup("")
        self.used.setdefault(digest, title or label)
        if whole:
            self.whole.add(digest)
        return Markup('<a href="{}">{}</a>').format(self.href(digest), label)  # format escapes both


def fmt(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def when(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(timestamp))


def clip_error(text: str | None) -> str:
    """The end of an error text (where the exception is), at most MAX_ERROR_CHARS."""
    message = (text or "").strip()
    return "…" + message[-MAX_ERROR_CHARS:] if len(message) > MAX_ERROR_CHARS else message


def last_line(text: str | None, limit: int = 120) -> str:
    lines = (text or "").strip().splitlines()
    last = lines[-1].strip() if lines else ""
    return last if len(last) <= limit else last[: limit - 1] + "…"


def content(text: Any) -> Markup:
    """Escape for element content (`<pre>`, `<code>`): <, > and & only, so quotes stay one byte each.

    Never for an attribute value; templates use it inside elements only.
    """
    if isinstance(text, Markup):
        return text
    return Markup(escape_content(str(text), quote=False))


def json_text(value: Any) -> str:
    return json.dumps(value)


def make_environment(*loaders: jinja2.BaseLoader) -> jinja2.Environment:
    """A Jinja2 environment with autoescape on for every template: `loaders` first, then the report's."""
    environment = jinja2.Environment(
        loader=jinja2.ChoiceLoader([*loaders, jinja2.PackageLoader("selftaught.report", "templates")]),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    environment.globals.update(fmt=fmt, when=when, clip_error=clip_error, last_line=last_line)
    environment.filters.update(content=content, json_text=json_text)
    return environment


@functools.cache
def environment() -> jinja2.Environment:
    return make_environment()


def render(name: str, **context: Any) -> Markup:
    """A template of templates/ rendered with `context`.

    Marked safe as a whole: it is the output of an autoescaped template, so every value in it
    was escaped already (or was our own markup).
    """
    return Markup(environment().get_template(name).render(**context))


def render_page(data: ReportData, sections: Sequence[Section], text_budget: int = TEXT_BUDGET_CHARS) -> str:
    """The page, under PAGE_LIMIT_BYTES where the texts' budget can make it so.

    The budget counts characters; escaping and non-ASCII text make bytes of more, so a page
    over the limit is rendered again with the texts' budget lowered by the excess.
    """
    budget = text_budget
    at_most = sum(len(t) for t in data.texts.values()) + FRAME_CHARS * len(data.texts)  # all texts
    for _ in range(4):
        page = _render_once(data, sections, budget)
        excess = len(page.encode("utf-8")) - PAGE_LIMIT_BYTES
        budget = min(budget, at_most) - 2 * excess  # texts shrink less than their budget: aim lower
        if excess <= 0 or budget <= 0:
            return page
    return page


def script_policy(script: str) -> str:
    """The CSP source that allows exactly this inline script, by its hash."""
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    return f" script-src 'sha256-{digest}';"


def _render_once(data: ReportData, sections: Sequence[Section], text_budget: int) -> str:
    refs = TextRefs(data.texts, text_budget)
    parts = [section(data, refs) for section in sections]
    page = environment().get_template("page.html.j2")
    return (
        page.render(
            title=f"selftaught run {data.run.id}",
            policy=PAGE_POLICY + (script_policy(PACKED_SCRIPT) if refs.packed else ""),
            packed_script=PACKED_SCRIPT if refs.packed else "",  # the one script, allowed by its hash
            sections=parts,
        )
        + "\n"
    )
