"""Every model- or user-written text a report shows is escaped by its templates, in every field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from selftaught.report import collect_report, render_report
from selftaught.report.texts import PACKED_SCRIPT
from selftaught.store.store import Store
from tests.report.hostile import HOSTILE, assert_inert, hostile, write_hostile_store

SHOWN = (
    "kind", "model spec", "model identity", "served model", "reason", "config key",
    "iteration error kind", "iteration error", "improver task", "stream", "error kind", "improver error",
    "arm", "arm task", "arm stream", "evaluation error", "event kind",
    "answer", "answer without code", "improver source", "proposed improver", "solution source",
)  # fmt: skip
SHOWN_AS_JSON = ("config value", "detail key", "detail value")
TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "selftaught" / "report" / "templates"
SERVE_TEMPLATES = TEMPLATES.parents[1] / "serve" / "templates"


@pytest.fixture(scope="module")
def hostile_data(tmp_path_factory):
    path = tmp_path_factory.mktemp("hostile") / "runs.db"
    run_id = write_hostile_store(path)
    with Store.open_existing(path) as store:
        return collect_report(store, run_id)


def test_every_text_field_is_escaped_and_shown(hostile_data):
    text = assert_inert(render_report(hostile_data))
    missing = [name for name in SHOWN if hostile(name) not in text]
    missing += [name for name in SHOWN_AS_JSON if json.dumps(hostile(name))[1:-1] not in text]
    assert not missing, f"not shown as text: {missing}"


@pytest.mark.parametrize("marker", ['class="rest"', 'id="packed-note"'], ids=["rests", "whole"])
def test_packed_pages_are_inert_too(hostile_data, marker):
    total = sum(len(t) for t in hostile_data.texts.values())
    for budget in range(total, 0, -max(1, total // 200)):
        html = render_report(hostile_data, text_budget=budget)
        if marker in html:
            break
    else:
        pytest.fail(f"no budget packs the texts with {marker}")
    assert_inert(html, our_scripts=(PACKED_SCRIPT,))
    assert html.count("<script") == 2  # ours, and the inert data block


def test_templates_mark_safe_only_our_own_markup():
    """`|safe` only on the plots (matplotlib's SVG) and the packed-texts script, each with a comment why
    (the served pages' templates included: they mark nothing safe)."""
    uses = []
    for template in sorted([*TEMPLATES.glob("*.j2"), *SERVE_TEMPLATES.glob("*.j2")]):
        lines = template.read_text().splitlines()
        for number, line in enumerate(lines):
            if "|safe" in line.replace(" ", "") and not line.lstrip().startswith("{#"):
                uses.append((template.name, line.strip()))
                assert "{#" in lines[number - 1] and "|safe" in lines[number - 1], (template.name, line)
    assert sorted(uses) == [
        ("experiment.html.j2", '<div class="plot">{{ arena_plot|safe }}</div>'),
        ("iterations.html.j2", '<div class="plot">{{ plot|safe }}</div>'),
        ("page.html.j2", "<script>{{ packed_script|safe }}</script>"),
        ("productivity.html.j2", '<div class="plot">{{ plot|safe }}</div>'),
    ]


def test_hostile_string_is_what_the_tests_think():
    assert "</script>" in HOSTILE and "{{7*7}}" in HOSTILE and "<xss-probe" in HOSTILE
