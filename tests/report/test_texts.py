"""Texts fit the page by the first of: as they are, shown in part with packed rests, packed whole."""

from __future__ import annotations

import hashlib
import random

from selftaught.report.texts import FRAME_CHARS, MAX_TEXT_CHARS, MIN_SHOWN_CHARS, anchor, plan_texts, unpack

WORDS = ["def", "return", "for", "in", "range", "np", "x", "y", "score", "best", "+", "=", "(", ")", ":"]


def _entries(count: int, chars: int, seed: int = 0) -> dict[str, tuple[str, str]]:
    rng = random.Random(seed)
    entries = {}
    for i in range(count):
        text = " ".join(rng.choice(WORDS) for _ in range(chars // 3))[:chars]
        entries[hashlib.sha256(text.encode()).hexdigest()] = (f"answer {i}", text)
    return entries


def _recovered(entries, plan) -> dict[str, str]:
    packed = unpack(plan.packed) if plan.packed else {"rests": {}, "whole": {}}
    out = {}
    for digest, (_, text) in entries.items():
        name = anchor(digest)
        if name in packed["whole"]:
            out[digest] = packed["whole"][name][1]
        else:
            out[digest] = text[: plan.shown] + packed["rests"].get(name, "")
    return out


def _cost(entries, plan) -> int:
    shown = sum(
        min(len(t), plan.shown) + FRAME_CHARS for d, (_, t) in entries.items() if anchor(d) not in plan.whole
    )
    return shown + len(plan.packed)


def test_texts_that_fit_are_shown_as_they_are():
    entries = _entries(20, 3000)
    plan = plan_texts(entries, budget=1_000_000)
    assert plan.shown == MAX_TEXT_CHARS and not plan.is_packed
    assert _recovered(entries, plan) == {d: t for d, (_, t) in entries.items()}


def test_a_tight_budget_shows_the_start_of_each_text_and_packs_the_rest():
    entries = _entries(100, 3000)
    budget = 150_000  # half the texts' size
    plan = plan_texts(entries, budget)
    assert MIN_SHOWN_CHARS <= plan.shown < 3000 and plan.rests and not plan.whole
    assert _cost(entries, plan) <= budget
    assert _recovered(entries, plan) == {d: t for d, (_, t) in entries.items()}


def test_a_tighter_budget_packs_every_text_whole():
    entries = _entries(100, 3000)
    budget = 100_000  # a third of the texts' size: 200 shown of each and its frame leave too little
    plan = plan_texts(entries, budget)
    assert plan.shown == 0 and len(plan.whole) == 100 and not plan.rests
    assert _cost(entries, plan) <= budget
    assert _recovered(entries, plan) == {d: t for d, (_, t) in entries.items()}
    assert unpack(plan.packed)["whole"][anchor(next(iter(entries)))][0] == "answer 0"


def test_past_what_packing_can_hold_texts_are_cut_and_not_packed():
    entries = _entries(100, 3000)
    plan = plan_texts(entries, budget=60_000)  # the texts compress about 3 to 1: packed whole is 95,000
    assert MIN_SHOWN_CHARS <= plan.shown < 3000 and not plan.is_packed
    assert _cost(entries, plan) <= 60_000


def test_a_page_over_the_byte_limit_is_rendered_again_with_less_text(scripted_run, monkeypatch):
    from selftaught.report import collect_report, html, render_report
    from selftaught.store.store import Store
    from tests.report.page_texts import page_texts

    data = collect_report(Store.open_existing(scripted_run.store), scripted_run.run_id)
    full = render_report(data)
    limit = len(full.encode()) - 2_000  # as if escaping or non-ASCII text had made bytes of more
    monkeypatch.setattr(html, "PAGE_LIMIT_BYTES", limit)
    smaller = render_report(data)
    assert len(smaller.encode()) <= limit
    held = page_texts(smaller)  # still every text, whole: packed now
    assert held and all(text == data.texts[d] for d, text in data.texts.items() if anchor(d) in held)
