"""A store whose every model- or user-written text is hostile, and a check that a page keeps it inert.

Shared by the report's tests and `selftaught serve`'s: every text field a page can show
(run settings, model names, reasons, errors, tasks, purposes, streams, answers, sources,
prompts, event kinds and details) holds a closing script tag, a script, a made-up element,
a template expression and quotes. A page is inert when a parser finds none of those
elements and every script in it is one of ours.
"""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

from selftaught.store.store import Store

HOSTILE = "</script><script>alert(1)</script><xss-probe a='1'>{{7*7}}{% raw %}</xss-probe>\"'&"


def hostile(name: str) -> str:
    """The hostile string, tagged with the field it went into."""
    return f"{name}:{HOSTILE}"


def write_hostile_store(path: Path) -> str:
    """A finished two-iteration run (and one arm of an experiment) with hostile text everywhere."""
    store = Store.open(path)
    config = {"iterations": 1, hostile("config key"): hostile("config value"), "tasks": [hostile("task")]}
    run_id = store.new_run(hostile("kind"), config, hostile("model spec"), hostile("model identity"))
    improver = store.put_source(hostile("improver source") + "\ndef improve_algorithm(): pass\n", "improver")
    proposed = store.put_source(hostile("proposed improver") + "\nimport subprocess\n", "improver")
    solution = store.put_source(hostile("solution source"), "solution")
    store.add_iteration(
        run_id=run_id, iteration=0, status="seed", improver_hash=improver, meta_utility_val=0.25,
        meta_utility_test=0.5, started=1.0, ended=2.0,
    )  # fmt: skip
    step = store.start_improver_run(
        run_id=run_id, iteration=1, purpose="self_improve", improver_hash=improver,
        task=hostile("improver task"), stream=hostile("stream"),
    )  # fmt: skip
    filler = "# a long answer, so that a small page packs its rest\n" * 60
    code = f"{hostile('proposed improver')}\nimport subprocess\n"
    answer = f"{hostile('answer')}\n{filler}{hostile('answer end')}\n\n```python\n{code}```\n"
    store.add_model_call(
        run_id=run_id, iteration=1, improver_run_id=step, method="batch_prompt", system=hostile("system"),
        messages_json=json.dumps([hostile("prompt")]), n=2, temperature=0.7,
        responses_json=json.dumps([answer, hostile("answer without code")]), prompt_tokens=10,
        completion_tokens=20, latency_s=0.5, model_identity=hostile("served model"), stream="s",
    )  # fmt: skip
    store.finish_improver_run(
        step, status="failed", error_kind=hostile("error kind"), error=hostile("improver error"),
        result_hash=proposed, elapsed_s=1.0,
    )  # fmt: skip
    arm = store.start_improver_run(
        run_id=run_id, iteration=1, purpose=f"arm:{hostile('arm')}/run0", improver_hash=proposed,
        task=hostile("arm task"), repeat=0, stream=hostile("arm stream"),
    )  # fmt: skip
    store.add_evaluation(
        run_id=run_id, iteration=1, improver_run_id=arm, code_hash=solution, task=hostile("arm task"),
        split="test", score=0.0, error_kind=hostile("evaluation error kind"),
        error=hostile("evaluation error"), instances=1, elapsed_s=0.1,
    )  # fmt: skip
    store.finish_improver_run(arm, status="ok", result_hash=solution, score_test=0.5, elapsed_s=1.0)
    store.add_iteration(
        run_id=run_id, iteration=1, status="failed", improver_hash=improver, candidate_hash=proposed,
        error_kind=hostile("iteration error kind"), error=hostile("iteration error"), started=2.0, ended=3.0,
    )  # fmt: skip
    store.add_event(
        run_id=run_id, iteration=1, improver_run_id=step, kind=hostile("event kind"),
        detail_json=json.dumps({hostile("detail key"): hostile("detail value"), "line": 2}),
        code_hash=proposed,
    )  # fmt: skip
    store.set_run_status(run_id, "failed", hostile("reason"))
    store.close()
    return run_id


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self.text: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"
        if tag == "script":
            self.scripts.append("")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1] += data
        else:
            self.text.append(data)


def assert_inert(html: str, our_scripts: tuple[str, ...] = ()) -> str:
    """Fail if a hostile text made markup; return the page's text (for checks that it is shown)."""
    parsed = _Elements()
    parsed.feed(html)
    assert not [tag for tag, _ in parsed.tags if tag == "xss-probe"], "a hostile text made an element"
    scripts = [attrs for tag, attrs in parsed.tags if tag == "script"]
    for attrs, body in zip(scripts, parsed.scripts, strict=True):
        if attrs.get("type") == "application/octet-stream":
            assert "<" not in body  # the packed texts: base64 only
        elif attrs.get("src"):
            assert attrs["src"] in our_scripts, attrs["src"]
        else:
            assert body in our_scripts, body[:200]
    assert "alert(1)" not in "".join(parsed.scripts)
    for _, attrs in parsed.tags:  # no hostile text in an attribute name, nor as an event handler
        assert not [name for name in attrs if name.startswith("on") or "{" in name or "'" in name]
    return "".join(parsed.text)
