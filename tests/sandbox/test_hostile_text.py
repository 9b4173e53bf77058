"""Text a child sends with lone surrogates reaches the store, the report and `show` as valid text.

Issue 18: a lone surrogate ("\\ud800") in a returned source, an improver's or a candidate's
exception message, a model call's expertise or an event made SQLite raise
UnicodeEncodeError, which ended runs, zeroed meta-utilities and lost model-call rows.
Surrogates are replaced by U+FFFD at the frame (inside/protocol.py); these tests send
them from real children, through the real code paths, and read the store back. The
default sandbox mode is used (the one most users run), as root or not.
"""

from __future__ import annotations

import json
import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import GOOD_PARITY_SOLVER, run_cli

from selftaught.inside.messages import Result, parse_answerable, parse_child_message
from selftaught.inside.protocol import decode_frame
from selftaught.inside.wire import REPLACEMENT_CHAR, make_text_valid, valid_text
from selftaught.runs.scope import Scope
from selftaught.sandbox.errors import ProtocolError
from selftaught.stop.improver_run import ImproverOutcome, _RequestServer, run_improver
from selftaught.stop.meta_utility import MetaUtility, TaskUtility
from selftaught.tasks.scoring import SolutionScore

LONE = "\ud800"

# Every string a child can make: any code point, lone surrogates included (Hypothesis leaves them out
# of st.text() unless asked).
hostile_chars = st.one_of(st.characters(), st.integers(0xD800, 0xDFFF).map(chr))
hostile_text = st.text(hostile_chars, max_size=12)


def _all_text(value) -> list[str]:
    """Every string and key in a decoded value."""
    found = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            found.append(item)
        elif isinstance(item, dict):
            found += [k for k in item if isinstance(k, str)]
            stack += list(item.values())
        elif isinstance(item, list | tuple):
            stack += list(item)
        elif hasattr(item, "__dataclass_fields__"):
            stack += [getattr(item, name) for name in item.__dataclass_fields__]
    return found


def _encodable(texts) -> bool:
    for text in texts:
        text.encode("utf-8")  # raises on a surrogate
    return True


def _all_store_text(path) -> list[str]:
    """Every text value in every table of a store, read with a fresh connection."""
    db = sqlite3.connect(path)
    tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    texts = []
    for table in tables:
        for row in db.execute(f"SELECT * FROM {table}"):  # names from sqlite_master
            texts += [v for v in row if isinstance(v, str)]
    db.close()
    return texts


# --- the text helpers ---------------------------------------------------------------------


@given(st.recursive(hostile_text, lambda inner: st.lists(inner) | st.dictionaries(hostile_text, inner)))
def test_make_text_valid_leaves_only_encodable_text_and_keeps_valid_text(value):
    original = json.loads(json.dumps(value))
    fixed = make_text_valid(json.loads(json.dumps(value)))
    assert _encodable(_all_text(fixed))
    if _encodable_quiet(_all_text(original)):
        assert fixed == original  # valid text is never touched


def _encodable_quiet(texts) -> bool:
    try:
        return _encodable(texts)
    except UnicodeEncodeError:
        return False


def test_valid_text_replaces_each_surrogate_and_keeps_astral_characters():
    assert valid_text("a\ud800b\udfffc\U0001f600") == f"a{REPLACEMENT_CHAR}b{REPLACEMENT_CHAR}c\U0001f600"
    frame = json.dumps(
        {"type": "result", "ok": False, "error_kind": "exception", "error": "\ud83d\ude00\ud800"}
    )
    assert decode_frame(frame.encode())["error"] == "\U0001f600" + REPLACEMENT_CHAR


def test_a_surrogate_encoded_as_raw_bytes_is_a_protocol_error_not_text():
    raw = b'{"type":"result","ok":true,"value":"\xed\xa0\x80"}'  # U+D800 as (invalid) UTF-8 bytes
    with pytest.raises(ProtocolError):
        decode_frame(raw)
    utf16 = '{"type":"result","ok":true,"value":"x"}'.encode("utf-16-le")
    with pytest.raises(ProtocolError):
        decode_frame(utf16)


# --- every message field, fuzzed with hostile text ---------------------------------------

wire_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | hostile_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(hostile_text, inner, max_size=3),
    max_leaves=10,
)
MESSAGE_SHAPES = {
    "lm.prompt": ["expertise", "message", "n_responses", "temperature"],
    "lm.batch_prompt": ["expertise", "messages", "temperature"],
    "utility": ["code", "extra_args", "kwargs"],
    "event": ["kind", "detail"],
}


@st.composite
def hostile_messages(draw):
    if draw(st.booleans()):
        kind = draw(st.sampled_from(["exception", "load_error", "bad_result", "protocol"]))
        if draw(st.booleans()):
            return {"type": "result", "ok": True, "value": draw(wire_values)}
        return {"type": "result", "ok": False, "error_kind": kind, "error": draw(hostile_text)}
    op = draw(st.sampled_from(sorted(MESSAGE_SHAPES)))
    body = {name: draw(wire_values | hostile_text) for name in MESSAGE_SHAPES[op] if draw(st.booleans())}
    if op == "lm.batch_prompt" and draw(st.booleans()):
        body["messages"] = draw(st.lists(hostile_text, max_size=3))
    if op == "utility" and draw(st.booleans()):
        body["kwargs"] = draw(st.dictionaries(hostile_text, hostile_text, max_size=3))
    if op == "event" and draw(st.booleans()):
        body["detail"] = draw(st.dictionaries(hostile_text, wire_values, max_size=3))
    return {"type": "request", "op": op, **body}


@settings(max_examples=400, deadline=None)
@given(hostile_messages())
def test_every_field_of_every_message_arrives_as_valid_text(message):
    frame = json.dumps(message).encode("utf-8")  # as the child sends it: surrogates escaped
    try:
        parsed = parse_child_message(decode_frame(frame), wire_bytes=len(frame))
    except ProtocolError:
        return
    if not isinstance(parsed, Result):
        assert parsed.wire_bytes == len(frame)
    assert _encodable(_all_text(parsed))


# --- every store write path, through a real run context -----------------------------------


class _HalfUtility:
    str = "shown"
    budget = 3

    def score(self, code, scope):
        return 0.5

    def restart(self):
        pass

    def prefetch(self, answers, scope=None):
        pass

    def finish(self, scope=None, wait=True):
        pass


def test_every_store_write_path_takes_what_a_child_sends(make_context, write_script):
    """Model calls, events, utility arguments, evaluations, improver runs and sources, each written
    with text decoded from a child's frame, then read back."""
    ctx = make_context(write_script("def respond(system, user, temperature, sample):\n    return user\n"))

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(texts=st.lists(hostile_text, min_size=6, max_size=6))
    def write_all(texts):
        expertise, message, kwarg, detail, error, source = (
            decode_frame(json.dumps({"t": t}).encode())["t"] for t in texts
        )
        scope = ctx.start_improver_run(
            Scope(iteration=0), "test", "improver", "fuzz", task="parity_noise", repeat=0
        )
        server = _RequestServer(ctx, _HalfUtility(), scope, "improver source " + source)
        for frame in [
            {"type": "request", "op": "lm.prompt", "expertise": expertise, "message": message},
            {
                "type": "request",
                "op": "lm.batch_prompt",
                "expertise": expertise,
                "messages": [message, kwarg],
            },
            {"type": "request", "op": "utility", "code": source, "extra_args": 1, "kwargs": {kwarg: detail}},
            {
                "type": "request",
                "op": "event",
                "kind": "budget_tamper",
                "detail": {detail: error, "v": [source]},
            },
            {"type": "request", "op": "event", "kind": "model_import", "detail": {"module": detail}},
            {"type": "request", "op": "utility", "code": source, "kwargs": [kwarg]},  # refused, counted
        ]:
            server(parse_answerable(decode_frame(json.dumps(frame).encode())))
        server.record_refusals()
        ctx.recorder.evaluation(
            scope, source, "parity_noise", "val", SolutionScore(0.0, 1, "exception", error)
        )
        outcome = ImproverOutcome(False, source or "x", "exception", error)
        ctx.finish_improver_run(scope, outcome, "solution", {"val": 0.0})

    write_all()
    assert _encodable(_all_store_text(ctx.store.path))
    assert (
        ctx.store.query("SELECT COUNT(*) AS n FROM model_calls WHERE run_id = ?", (ctx.run_id,))[0]["n"] >= 60
    )


# --- real children, real runs ----------------------------------------------------------------

ECHO_MODEL = """
from tests.conftest import GOOD_PARITY_SOLVER
def respond(system, user, temperature, sample):
    return "Idea.\\n```python\\n" + GOOD_PARITY_SOLVER + "\\n```"
"""


def _run(ctx, improver, timeout_s=30):
    task = ctx.tasks[0]
    scope = ctx.start_improver_run(
        Scope(iteration=0), "test", improver, "hostile_text", task=task.name, repeat=0
    )
    outcome = run_improver(
        ctx, improver, task.seed_solution(), TaskUtility(ctx, task), scope, timeout_s=timeout_s
    )
    scores = {"val": ctx.score(task, outcome.solution, "val", scope).score} if outcome.ok else None
    ctx.finish_improver_run(scope, outcome, "solution", scores)
    return outcome, scope


SURROGATE_IMPROVER = """
LONE = chr(0xD800)
def improve_algorithm(initial_solution, utility, language_model):
    language_model.prompt("expert " + LONE, "improve " + chr(0xDFFF))
    utility(initial_solution + "\\n# tried " + LONE + "\\n", **{"k" + LONE: "v"})
    try:
        __import__("socket." + LONE, globals())  # reported as a network import, then fails
    except Exception:
        pass
    return initial_solution + "\\n# returned " + LONE + "\\n"
"""


def test_surrogates_from_an_improver_are_recorded_as_valid_text(make_context, write_script):
    ctx = make_context(write_script(ECHO_MODEL), calls=2)
    outcome, scope = _run(ctx, SURROGATE_IMPROVER)
    assert outcome.ok, outcome.error
    assert outcome.solution.endswith(f"# returned {REPLACEMENT_CHAR}\n")
    calls = ctx.store.query("SELECT system, messages_json FROM model_calls WHERE run_id = ?", (ctx.run_id,))
    assert [c["system"] for c in calls] == [f"expert {REPLACEMENT_CHAR}"]  # charged and recorded
    assert json.loads(calls[0]["messages_json"]) == [f"improve {REPLACEMENT_CHAR}"]
    events = {e.kind: e.detail for e in ctx.store.events(ctx.run_id, improver_run_id=scope.improver_run_id)}
    assert events["utility_extra_arguments"]["kwargs"] == {f"k{REPLACEMENT_CHAR}": "'v'"}
    assert events["network_import"]["module"] == f"socket.{REPLACEMENT_CHAR}"
    result = ctx.store.query(
        "SELECT status, score_val FROM improver_run_results WHERE improver_run_id = ?",
        (scope.improver_run_id,),
    )[0]
    assert result["status"] == "ok" and result["score_val"] > 0  # the seed solution, scored
    assert _encodable(_all_store_text(ctx.store.path))


def test_an_improver_exception_with_surrogates_fails_its_run_and_is_recorded(make_context, write_script):
    ctx = make_context(write_script(ECHO_MODEL))
    raising = (
        "def improve_algorithm(initial_solution, utility, language_model):\n"
        "    raise RuntimeError(chr(0xD800) * 3)\n"
    )
    outcome, scope = _run(ctx, raising)
    assert not outcome.ok and outcome.error_kind == "exception"
    assert REPLACEMENT_CHAR * 3 in outcome.error
    row = ctx.store.query(
        "SELECT error_kind, error FROM improver_run_results WHERE improver_run_id = ?",
        (scope.improver_run_id,),
    )[0]
    assert row["error_kind"] == "exception" and REPLACEMENT_CHAR * 3 in row["error"]


MIXED_MODEL = """
from tests.conftest import GOOD_PARITY_SOLVER
RAISING = "def algorithm(*args):\\n    raise ValueError('bad ' + chr(0xD800) + chr(0xDC00) * 2)\\n"
def respond(system, user, temperature, sample):
    code = RAISING if sample % 2 == 0 else GOOD_PARITY_SOLVER
    return "Idea.\\n```python\\n" + code + "\\n```"
"""


def test_a_candidate_raising_surrogates_scores_zero_and_the_seed_improver_still_picks_the_best(
    make_context, write_script
):
    from selftaught.stop.seed import seed_improver_source

    ctx = make_context(write_script(MIXED_MODEL), samples=3)
    outcome, _ = _run(ctx, seed_improver_source())
    assert outcome.ok, outcome.error  # max(..., key=utility) did not raise
    assert "itertools.product" in outcome.solution
    failed = ctx.store.query(
        "SELECT score, error_kind, error FROM evaluations WHERE run_id = ? AND error_kind IS NOT NULL",
        (ctx.run_id,),
    )
    assert failed and all(r["score"] == 0.0 for r in failed)
    assert any(r["error_kind"] == "exception" and REPLACEMENT_CHAR in r["error"] for r in failed)
    assert _encodable(_all_store_text(ctx.store.path))


SURROGATE_RETURNING_IMPROVER = """
from helpers import extract_code
def improve_algorithm(initial_solution, utility, language_model):
    answers = extract_code(language_model.batch_prompt("expert " + chr(0xD800), ["improve"]))
    best = max(answers + [initial_solution], key=utility)
    return best + "\\n# " + chr(0xDBFF) + "\\n"
"""


def test_an_improver_returning_surrogates_keeps_its_meta_utility(make_context, write_script):
    ctx = make_context(write_script(ECHO_MODEL), calls=2)
    scope = ctx.start_improver_run(Scope(iteration=1), "test", "meta", "meta", task="parity_noise", repeat=0)
    score = MetaUtility(ctx).score(SURROGATE_RETURNING_IMPROVER, scope)
    assert score > 0.5  # the good solver it returned, scored: not a 0 from a failed write


HOSTILE_TEXT_MODEL = f'''
GOOD_PARITY_SOLVER = {GOOD_PARITY_SOLVER!r}
IMPROVER = """
from helpers import extract_code
def improve_algorithm(initial_solution, utility, language_model):
    answers = extract_code(language_model.batch_prompt("expert " + chr(0xD800), ["improve"] * 2))
    best = max(answers + [initial_solution], key=utility)
    return best + "\\\\n# " + chr(0xDFFF) + "\\\\n"
"""
RAISING = "def algorithm(*args):\\n    raise ValueError(chr(0xD800))\\n"
def respond(system, user, temperature, sample):
    if "def improve_algorithm" in user:
        code = IMPROVER
    else:
        code = RAISING if sample % 2 else GOOD_PARITY_SOLVER
    return "Idea.\\n```python\\n" + code + "\\n```"
'''


def test_a_run_with_surrogates_everywhere_finishes_and_reads_back(tmp_path):
    model = tmp_path / "hostile_text_model.py"
    model.write_text(HOSTILE_TEXT_MODEL)
    store = tmp_path / "runs.db"
    common = ["--store", str(store)]
    result = run_cli(
        "run", "--model", f"script:{model}", "--iterations", "1", "--n-tests", "1", "--samples", "2",
        "--calls", "1", "--json", "--timeout", "60", *common,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    payload = json.loads(result.stdout)
    run_id = payload["run_id"]
    assert [it["iteration"] for it in payload["iterations"]] == [0, 1]
    assert payload["iterations"][1]["meta_utility_val"] > 0.5, payload["iterations"]
    db = sqlite3.connect(store)
    status = db.execute(
        "SELECT status FROM run_status WHERE run_id = ? ORDER BY id DESC", (run_id,)
    ).fetchone()[0]
    assert status == "finished"
    kept = [r[0] for r in db.execute("SELECT source FROM sources") if REPLACEMENT_CHAR in r[0]]
    assert kept  # the returned sources, with U+FFFD where the surrogates were
    assert _encodable(_all_store_text(store))
    shown = run_cli("show", run_id, "--json", *common)
    assert shown.returncode == 0, shown.stderr[-2000:]
    json.loads(shown.stdout)
    page = tmp_path / "report.html"
    report = run_cli("report", run_id, "-o", str(page), *common)
    assert report.returncode == 0, report.stderr[-2000:]
    page.read_text(encoding="utf-8")
    improver = tmp_path / "improver.py"
    improver.write_text(SURROGATE_RETURNING_IMPROVER)
    evaluated = run_cli(
        "evaluate-improver", str(improver), "--model", f"script:{model}", "--n-tests", "1", "--json", *common
    )
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    assert json.loads(evaluated.stdout)["failed_runs"] == 0


HOSTILE_CANDIDATES = [
    "def algorithm(*args):\n    raise ValueError(chr(0xD800) + chr(0xDFFF))\n",  # exception text
    "def algorithm(*args):\n    return chr(0xD800) * 10\n",  # a surrogate as the output
    "import sys\nsys.stderr.write(chr(0xD800))\n"
    "def algorithm(*args):\n    print(chr(0xDC00))\n    return 0\n",  # surrogates on stdout and stderr
    "x = 1 +\ndef algorithm(*args):\n    return 0\n",  # does not load
    "def algorithm(*args):\n    raise SystemExit(chr(0xD800))\n",
    (  # a raw result frame whose error text holds a lone surrogate escape
        "import gc, socket, struct, time\n"
        "def algorithm(*args):\n"
        "    sock = next(o for o in gc.get_objects() if isinstance(o, socket.socket) and o.fileno() >= 0)\n"
        '    body = b\'{"type":"result","ok":false,"error_kind":"exception","error":"\\\\ud800"}\'\n'
        "    sock.sendall(struct.pack('>I', len(body)) + body)\n"
        "    time.sleep(30)\n"
    ),
]

UTILITY_PROBE = f"""
CANDIDATES = {HOSTILE_CANDIDATES!r}
def improve_algorithm(initial_solution, utility, language_model):
    seen = []
    for candidate in CANDIDATES:
        try:
            seen.append(repr(utility(candidate)))
        except BaseException as exc:
            seen.append("raised " + type(exc).__name__)
    return initial_solution + "\\n# " + "|".join(seen) + "\\n"
"""


def test_utility_never_raises_for_what_a_candidate_did(make_context, write_script):
    ctx = make_context(write_script(ECHO_MODEL), calls=3, samples=3)  # a utility budget of 10
    outcome, _ = _run(ctx, UTILITY_PROBE, timeout_s=120)
    assert outcome.ok, outcome.error
    seen = outcome.solution.rsplit("# ", 1)[1].strip().split("|")
    assert seen == ["0.0"] * len(HOSTILE_CANDIDATES), seen
    kinds = {
        r["error_kind"]
        for r in ctx.store.query(
            "SELECT error_kind FROM evaluations WHERE run_id = ? AND score = 0", (ctx.run_id,)
        )
    }
    assert {"exception", "load_error"} <= kinds, kinds
    assert _encodable(_all_store_text(ctx.store.path))
