"""Read back every text a report page holds, shown or packed, as the page's script would."""

from __future__ import annotations

import re
from html import unescape

from selftaught.report.texts import unpack

BLOCK = re.compile(r'<details id="(t[0-9a-f]{12})"><summary>.*?</summary><pre>(.*?)</pre>', re.S)
PACKED = re.compile(r'<script type="application/octet-stream" id="packed">([^<]*)</script>')


def page_texts(html: str) -> dict[str, str]:
    """{anchor: full text}: each shown part joined with its packed rest, and texts packed whole."""
    texts = {name: unescape(shown) for name, shown in BLOCK.findall(html)}
    found = PACKED.search(html)
    if found:
        packed = unpack(found.group(1))
        for name, rest in packed["rests"].items():
            texts[name] += rest
        for name, (_, text) in packed["whole"].items():
            texts[name] = text
    return texts
