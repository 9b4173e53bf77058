"""How a run's texts fit a report page of under 5 MB, collapsed but never dropped.

A paper-sized run has thousands of model answers, about 14 MB of text, against a page
budget of 5 MB. Three ways, tried in order, keep every text in the page:

1. every text as it is (up to `MAX_TEXT_CHARS` shown each), when they all fit;
2. the first characters of each shown, the rest of every longer text packed: gzip-compressed
   and base64-encoded in one inert data block, that the page's only script (allowed by its
   hash) unpacks when "show them" is pressed;
3. every text packed whole, opened by its links when followed (the tables stay readable
   without JavaScript; the texts then need it).

Only if even that does not fit are texts cut, and the page says where the rest is kept.
"""

from __future__ import annotations

import base64
import gzip
import json
from dataclasses import dataclass, field

MAX_TEXT_CHARS = 12_000  # shown at most per text; the rest is packed
TEXT_BUDGET_CHARS = 3_200_000  # all linked texts together (improver sources excepted), for a page < 5 MB
FRAME_CHARS = 200  # a text's <details> frame, summary and note
MIN_SHOWN_CHARS = 200  # no text shown in part shows fewer characters than this

# Unpacks the block on first need. "show them" appends the rest of a text to its <pre>; a link
# to a text packed whole builds its <details> in the texts section. Texts go in as text nodes,
# never as HTML. Buttons stay hidden where this cannot run.
PACKED_SCRIPT = (
    'document.addEventListener("DOMContentLoaded",()=>{'
    'const block=document.getElementById("packed");'
    "if(!block||!window.DecompressionStream)return;"
    "let packed=null;"
    "async function unpack(){if(packed===null){"
    "const bytes=Uint8Array.from(atob(block.textContent.trim()),c=>c.charCodeAt(0));"
    'const stream=new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));'
    "packed=JSON.parse(await new Response(stream).text());}return packed;}"
    'for(const button of document.querySelectorAll("button.rest")){'
    "button.hidden=false;"
    'button.addEventListener("click",async()=>{'
    "const rest=(await unpack()).rests[button.dataset.for];"
    'const pre=document.getElementById(button.dataset.for).querySelector("pre");'
    'if(rest!==undefined){pre.append(rest);button.closest("p").remove();}});}'
    "async function reveal(id){"
    "if(!id||document.getElementById(id))return false;"
    "const entry=(await unpack()).whole[id];if(!entry)return false;"
    'const details=document.createElement("details");details.id=id;details.open=true;'
    'const summary=document.createElement("summary");summary.textContent=entry[0];'
    'const pre=document.createElement("pre");pre.textContent=entry[1];'
    'details.append(summary,pre);document.getElementById("texts").append(details);'
    "details.scrollIntoView();return true;}"
    'document.addEventListener("click",async(event)=>{'
    "const link=event.target.closest('a[href^=\"#t\"]');if(!link)return;"
    'const id=link.getAttribute("href").slice(1);if(document.getElementById(id))return;'
    'event.preventDefault();if(await reveal(id))history.replaceState(null,"","#"+id);});'
    "if(location.hash)reveal(location.hash.slice(1));"
    'const note=document.getElementById("packed-note");if(note)note.hidden=true;'
    'const ready=document.getElementById("packed-ready");if(ready)ready.hidden=false;});'
)


def anchor(digest: str) -> str:
    """The id of a text's block in the page (its links point here)."""
    return f"t{digest[:12]}"


@dataclass
class TextPlan:
    """How the texts go into the page: shown characters each, and what is packed."""

    shown: int  # characters shown of each text (0: all packed whole)
    rests: dict[str, str] = field(default_factory=dict)  # anchor -> rest past `shown`
    whole: dict[str, tuple[str, str]] = field(default_factory=dict)  # anchor -> (summary, text)
    packed: bytes = b""  # the data block: base64 of gzip of {"rests": ..., "whole": ...}

    @property
    def is_packed(self) -> bool:
        return bool(self.packed)


def text_cap(lengths: list[int], budget: int = TEXT_BUDGET_CHARS, cap: int = MAX_TEXT_CHARS) -> int:
    """The largest per-text cap (at most `cap`) under which all texts together fit in `budget`.

    Each text also costs its collapsed frame, counted as `FRAME_CHARS`; no cap goes below
    `MIN_SHOWN_CHARS`.
    """
    budget -= FRAME_CHARS * len(lengths)
    low, high = MIN_SHOWN_CHARS, cap
    if sum(min(n, high) for n in lengths) <= budget:
        return high
    while low < high:
        middle = (low + high + 1) // 2
        if sum(min(n, middle) for n in lengths) <= budget:
            low = middle
        else:
            high = middle - 1
    return low


def pack(rests: dict[str, str], whole: dict[str, tuple[str, str]]) -> bytes:
    data = json.dumps({"rests": rests, "whole": whole}, separators=(",", ":"))
    return base64.b64encode(gzip.compress(data.encode("utf-8"), 6, mtime=0))


def unpack(block: bytes | str) -> dict:
    """The data block back as {"rests": ..., "whole": ...} (what the page's script reads)."""
    data: dict = json.loads(gzip.decompress(base64.b64decode(block)))
    return data


def plan_texts(entries: dict[str, tuple[str, str]], budget: int = TEXT_BUDGET_CHARS) -> TextPlan:
    """A plan for `entries` ({digest: (summary, text)}) that keeps every text within `budget`.

    The rests grow as the shown parts shrink, but compressed, so lowering the shown budget by
    the overshoot converges in a few rounds.
    """
    texts = {digest: text for digest, (_, text) in entries.items()}
    lengths = [len(t) for t in texts.values()]
    shown = text_cap(lengths, budget)
    if all(n <= shown for n in lengths):
        return TextPlan(shown)
    shown_budget = budget
    for _ in range(8):
        shown = text_cap(lengths, shown_budget)
        rests = {anchor(d): t[shown:] for d, t in texts.items() if len(t) > shown}
        packed = pack(rests, {})
        used = sum(min(n, shown) for n in lengths) + FRAME_CHARS * len(lengths) + len(packed)
        if used <= budget:
            return TextPlan(shown, rests=rests, packed=packed)
        if shown == MIN_SHOWN_CHARS:
            break
        shown_budget -= used - budget + 10_000
    whole = {anchor(d): entry for d, entry in entries.items()}
    packed = pack({}, whole)
    if len(packed) <= budget:
        return TextPlan(0, whole=whole, packed=packed)
    return TextPlan(text_cap(lengths, budget))  # cut, and said so next to each text
