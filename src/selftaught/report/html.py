"""One self-contained static HTML page: inline CSS and SVG, no script, nothing fetched when opened.

The page is a list of sections, each a function `(data, texts) -> HTML fragment`, so that
experiment and audit pages are one more section each. Everything that came from a model
or a store is escaped; long texts are collapsed in `<details>` and shown once each.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

from selftaught.report.data import ReportData

MAX_TEXT_CHARS = 12_000  # longer answers are cut here; the store keeps the full text
TEXT_BUDGET_CHARS = 3_200_000  # all linked texts together (improver sources excepted), for a page < 5 MB
FRAME_CHARS = 200  # a text's <details> frame, summary and note

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


class TextRefs:
    """Texts referenced by sections, rendered once each in the texts section at the end."""

    def __init__(self, texts: dict[str, str]) -> None:
        self.texts = texts
        self.used: dict[str, str] = {}  # hash -> label, in order of first use
        self.whole: set[str] = set()  # never cut (improver sources)

    def link(self, digest: str | None, label: str, title: str = "", whole: bool = False) -> str:
        if not digest or digest not in self.texts:
            return ""
        self.used.setdefault(digest, title or label)
        if whole:
            self.whole.add(digest)
        return f'<a href="#{anchor(digest)}">{escape(label)}</a>'


def anchor(digest: str) -> str:
    return f"t{digest[:12]}"


def text_cap(lengths: list[int], budget: int = TEXT_BUDGET_CHARS, cap: int = MAX_TEXT_CHARS) -> int:
    """The largest per-text cap (at most `cap`) under which all texts together fit in `budget`.

    Each text also costs its collapsed frame, counted as `FRAME_CHARS`; no cap goes below 200.
    """
    budget -= FRAME_CHARS * len(lengths)
    low, high = 200, cap
    if sum(min(n, high) for n in lengths) <= budget:
        return high
    while low < high:
        middle = (low + high + 1) // 2
        if sum(min(n, middle) for n in lengths) <= budget:
            low = middle
        else:
            high = middle - 1
    return low


def text_block(text: str, limit: int | None = MAX_TEXT_CHARS) -> str:
    """Escaped `<pre>`; past `limit` characters the rest is left to the store, and said so."""
    if limit is not None and len(text) > limit:
        rest = len(text) - limit
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


def render_page(data: ReportData, sections: Sequence[Section]) -> str:
    refs = TextRefs(data.texts)
    parts = [section(data, refs) for section in sections]
    title = f"selftaught run {data.run.id}"
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        # nothing may be fetched: no external resource, and a policy that forbids any
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; img-src data:\">"
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>"
        f"<h1>{escape(title)}</h1>" + "".join(parts) + "</body></html>\n"
    )
