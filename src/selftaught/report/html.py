"""One self-contained static HTML page: inline CSS and SVG, nothing fetched when opened.

The page is a list of sections, each a function `(data, texts) -> HTML fragment`, so that
experiment and audit pages are one more section each. Everything that came from a model
or a store is escaped; long texts are collapsed in `<details>` and shown once each, or
packed when a large run's texts would not fit the page as they are (see texts.py).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Sequence
from html import escape

from selftaught.report.data import ReportData
from selftaught.report.texts import FRAME_CHARS, MAX_TEXT_CHARS, PACKED_SCRIPT, TEXT_BUDGET_CHARS, anchor

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.5em auto;max-width:1200px;
padding:0 1em;color:#222}
h1{font-size:1.5em}h2{font-size:1.25em;border-bottom:1px solid #ccc;margin-top:2em}
table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #ddd;padding:2px 6px;text-align:left;
vertical-align:top}th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
pre{background:#f7f7f7;padding:.5em;overflow:auto;max-height:40em;font-size:12px}
details{margin:.2em 0}summary{cursor:pointer}.note{color:#666;font-size:.9em}
.failed,.del{color:#b00}.improved,.add{color:#070}.hunk{color:#05a}.file{color:#666}
pre.diff span{display:block;white-space:pre}.diff .add{background:#e6ffe6}.diff .del{background:#ffe6e6}
code{font-size:12px}details details{margin-left:1.2em}.plot svg{max-width:100%;height:auto}
"""

Section = Callable[[ReportData, "TextRefs"], str]
PAGE_LIMIT_BYTES = 5_000_000


class TextRefs:
    """Texts referenced by sections, rendered once each in the texts section at the end."""

    def __init__(self, texts: dict[str, str], budget: int = TEXT_BUDGET_CHARS) -> None:
        self.texts = texts
        self.budget = budget
        self.used: dict[str, str] = {}  # hash -> label, in order of first use
        self.whole: set[str] = set()  # never cut (improver sources)
        self.packed = False  # the texts section packed texts: the page needs PACKED_SCRIPT

    def link(self, digest: str | None, label: str, title: str = "", whole: bool = False) -> str:
        if not digest or digest not in self.texts:
            return ""
        self.used.setdefault(digest, title or label)
        if whole:
            self.whole.add(digest)
        return f'<a href="#{anchor(digest)}">{escape(label)}</a>'


def text_block(text: str, limit: int | None = MAX_TEXT_CHARS, packed_as: str | None = None) -> str:
    """Escaped `<pre>`; past `limit` characters the rest is packed (`packed_as`) or left to the store."""
    if limit is not None and len(text) > limit:
        rest = len(text) - limit
        if packed_as is not None:
            note = (
                f"{rest} more characters, packed in this page "
                f'<button class="rest" data-for="{escape(packed_as)}" hidden>show them</button>'
            )
        else:
            note = f"{rest} more characters in the run store (sources and model_calls tables)"
        return f'<pre>{escape(text[:limit], quote=False)}</pre><p class="note">{note}</p>'
    return f"<pre>{escape(text, quote=False)}</pre>"


def collapsed(summary: str, body: str, open_: bool = False, id_: str | None = None) -> str:
    attributes = (" open" if open_ else "") + (f' id="{escape(id_)}"' if id_ else "")
    return f"<details{attributes}><summary>{summary}</summary>{body}</details>"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], numeric: set[int] | None = None) -> str:
    """An HTML table; cells are HTML already (escape before); `numeric` columns are right-aligned."""
    numeric = numeric or set()
    head = "".join(f"<th>{escape(h)}</th>" for h in headers) if any(headers) else ""
    body = "".join(
        "<tr>"
        + "".join(f'<td class="num">{c}</td>' if i in numeric else f"<td>{c}</td>" for i, c in enumerate(row))
        + "</tr>"
        for row in rows
    )
    head = f"<thead><tr>{head}</tr></thead>" if head else ""
    return f"<table>{head}<tbody>{body}</tbody></table>"


def fmt(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


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


def _render_once(data: ReportData, sections: Sequence[Section], text_budget: int) -> str:
    refs = TextRefs(data.texts, text_budget)
    parts = [section(data, refs) for section in sections]
    title = f"selftaught run {data.run.id}"
    script = policy = ""
    if refs.packed:  # the one script, allowed by its hash and nothing else
        digest = base64.b64encode(hashlib.sha256(PACKED_SCRIPT.encode()).digest()).decode()
        policy = f" script-src 'sha256-{digest}';"
        script = f"<script>{PACKED_SCRIPT}</script>"
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        # nothing may be fetched: no external resource, and a policy that forbids any
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        f"style-src 'unsafe-inline'; img-src data:;{policy}\">"
        f"<title>{escape(title)}</title><style>{CSS}</style>{script}</head><body>"
        f"<h1>{escape(title)}</h1>" + "".join(parts) + "</body></html>\n"
    )
