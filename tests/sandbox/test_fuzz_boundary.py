"""Decoding is total at the trusted boundary: any value in any field of any request is a typed
request or a protocol error answered to the child, never another exception (issue 18).

The schema is `messages.FIELD_KINDS`; Hypothesis generates arbitrary wire values for each
field of each op (tagged arrays and floats, dictionaries where lists belong, deep nesting,
huge integers, hostile text) and sends them through the real frame decoder, the parser the
child's handle uses and the request server. Real improver children then send the issue's
malformed requests (a tagged numpy array as `kwargs` first) on their own channel and get
an answer to each, in default mode and, where the kernel allows it, in strict mode.
"""

from __future__ import annotations

import base64
import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.sandbox.boundary_support import ALWAYS_SEED, RAW_SENDER, context_maker, run_on_seed

from selftaught.inside.messages import (
    FIELD_KINDS,
    REQUEST_TYPES,
    InvalidRequest,
    PromptRequest,
    Result,
    parse_answerable,
    parse_child_message,
)
from selftaught.inside.protocol import decode_frame
from selftaught.inside.wire import to_wire
from selftaught.models.base import ModelResponse
from selftaught.models.facade import LanguageModel
from selftaught.sandbox.child_handle import RequestAnswer
from selftaught.sandbox.errors import MalformedRequest, ProtocolError
from selftaught.stop.improver_run import _RequestServer

hostile_text = st.text(st.one_of(st.characters(), st.integers(0xD800, 0xDFFF).map(chr)), max_size=10)
array_tags = st.fixed_dictionaries(
    {
        "dtype": st.sampled_from(["float64", "int8", "bool", "object", "uint64", 3, None]),
        "shape": st.lists(st.integers(-2, 4), max_size=3) | st.integers() | st.text(max_size=3),
        "b64": st.binary(max_size=48).map(lambda b: base64.b64encode(b).decode()) | st.text(max_size=8),
    }
).map(lambda spec: {"__ndarray__": spec})
real_arrays = st.sampled_from(
    [np.arange(4, dtype=np.int64), np.zeros((2, 2)), np.array([True, False]), np.array([], dtype=np.uint8)]
).map(to_wire)
float_tags = st.sampled_from(["nan", "inf", "-inf", "1e999", 3, None]).map(lambda v: {"__float__": v})
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**80), 2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | hostile_text
    | array_tags
    | real_arrays
    | float_tags
)
wire_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(hostile_text, inner, max_size=4),
    max_leaves=12,
)
deep = st.integers(1, 200).map(lambda n: json.loads("[" * n + "]" * n))
field_values = wire_values | deep

ALL_FIELDS = sorted({name for kinds in FIELD_KINDS.values() for name in kinds} | {"budget", "__ndarray__"})


@st.composite
def requests(draw):
    op = draw(st.sampled_from([*sorted(REQUEST_TYPES), "nope", "store.delete"]) | hostile_text)
    cls = REQUEST_TYPES.get(op)
    declared = sorted(FIELD_KINDS[cls]) if cls else []
    body = {name: draw(field_values) for name in declared if draw(st.integers(0, 4))}
    if draw(st.booleans()):
        body[draw(st.sampled_from(ALL_FIELDS) | hostile_text)] = draw(field_values)
    return {"type": "request", "op": op, **body}


def _frame(message) -> bytes:
    return json.dumps(message).encode("utf-8")  # as a child's runtime sends it


def _fits_the_schema(request) -> bool:
    return all(check(getattr(request, name)) for name, (check, _) in FIELD_KINDS[type(request)].items())


class _Echo:
    identity = "echo"

    def complete(self, request):
        return ModelResponse([request.user] * request.n, self.identity, 1, 1)


class _FakeContext:
    def __init__(self):
        self.events = []

    def model_handle(self, scope):
        return LanguageModel(_Echo(), budget=2, max_responses_per_call=3)

    def event(self, kind, scope, detail, code=None):
        json.dumps(detail).encode("utf-8")  # what the store would do with it
        self.events.append(kind)


class _FakeUtility:
    str = "shown"
    budget = 2

    def score(self, code, scope):
        assert code is None or isinstance(code, str)
        return 0.5

    def restart(self):
        pass

    def prefetch(self, answers, scope=None):
        pass

    def finish(self, scope=None, wait=True):
        pass


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(requests(), min_size=1, max_size=5))
def test_any_request_is_typed_or_refused_and_always_answered(batch):
    server = _RequestServer(_FakeContext(), _FakeUtility(), scope=None, source="src")
    for message in batch:
        frame = _frame(message)
        try:
            request = parse_answerable(decode_frame(frame), wire_bytes=len(frame))
        except ProtocolError:
            continue  # frame-level: the child is killed, the command fails as `protocol`
        assert not isinstance(request, Result)
        if isinstance(request, InvalidRequest):
            with pytest.raises(MalformedRequest):
                parse_child_message(decode_frame(frame))
        else:
            assert _fits_the_schema(request), request
        answer = server(request)
        assert isinstance(answer, RequestAnswer)
        if isinstance(request, InvalidRequest):
            assert not answer.ok and answer.error_type == "protocol"
    assert server.model.uses <= 2


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["type", "ok", "value", "error_kind", "error", "op"]), field_values))
def test_any_message_parses_or_raises_a_protocol_error(message):
    try:
        parse_child_message(decode_frame(_frame(message)))
    except ProtocolError:
        pass


def test_the_issue_cases_are_refused_not_raised():
    tagged = to_wire(np.arange(3))
    for message in [
        {"type": "request", "op": "utility", "code": "x", "kwargs": tagged},  # the ValueError of issue 18
        {"type": "request", "op": "utility", "code": "x", "kwargs": [1, 2]},
        {"type": "request", "op": "utility", "code": tagged},
        {"type": "request", "op": "lm.batch_prompt", "expertise": "e", "messages": {"a": "b"}},
        {
            "type": "request",
            "op": "lm.prompt",
            "expertise": "e",
            "message": "m",
            "temperature": {"__float__": "nan"},
        },
        {"type": "request", "op": "lm.prompt", "expertise": tagged, "message": "m"},
        {"type": "request", "op": "lm.prompt", "expertise": json.loads("[" * 80 + "]" * 80), "message": "m"},
        {"type": "request", "op": "event", "kind": "budget_tamper", "detail": [1]},
    ]:
        request = parse_answerable(decode_frame(_frame(message)))
        server = _RequestServer(_FakeContext(), _FakeUtility(), scope=None, source="src")
        answer = server(request)
        if isinstance(request, PromptRequest):
            assert math.isnan(request.temperature)  # typed, within the schema; the facade refuses it
        assert not answer.ok and answer.error_type in {"protocol", "invalid"}, (message, answer)
        assert server.refused["invalid"] == 1


# --- real improver children send them on their own channel ---------------------------------

TAGGED = json.dumps(to_wire(np.arange(3)))
MALFORMED_REQUESTS = [
    '{"type":"request","op":"utility","code":"x","kwargs":' + TAGGED + "}",
    '{"type":"request","op":"utility","code":"x","kwargs":[1,2]}',
    '{"type":"request","op":"utility","code":{"a":1}}',
    '{"type":"request","op":"lm.batch_prompt","expertise":"e","messages":{"a":"b"}}',
    '{"type":"request","op":"lm.prompt","expertise":"e","message":"m","temperature":{"__float__":"nan"}}',
    '{"type":"request","op":"lm.prompt","expertise":"e","message":"m","n_responses":1.5}',
    '{"type":"request","op":"lm.prompt","expertise":' + "[" * 90 + "]" * 90 + ',"message":"m"}',
    '{"type":"request","op":"lm.prompt","expertise":"e","message":"m","budget":1000000}',
    '{"type":"request","op":"lm.prompt","message":"m"}',
    '{"type":"request","op":"event","kind":"budget_tamper","detail":[1]}',
    '{"type":"request","op":"store.delete","run":1}',
    '{"type":"request","op":{"__ndarray__":1}}',
]

MALFORMED_IMPROVER = (
    RAW_SENDER
    + f"""
REQUESTS = {MALFORMED_REQUESTS!r}

def improve_algorithm(initial_solution, utility, language_model):
    answers = [raw(r.encode()) for r in REQUESTS]
    shown = [(a.get("ok"), a.get("error_type")) for a in answers]
    score = utility(initial_solution)  # the channel still works after every refusal
    return initial_solution + "\\n# " + json.dumps({{"answers": shown, "score": score}}) + "\\n"
"""
)


@pytest.fixture(params=["default", "strict"])
def context_in_mode(request, pool, tmp_path):
    """A run context on a default-mode or (where the kernel allows) a strict-mode pool."""
    chosen = pool if request.param == "default" else request.getfixturevalue("strict_pool")
    return context_maker(chosen, tmp_path)


def test_malformed_requests_from_a_real_improver_are_answered_and_the_run_goes_on(
    context_in_mode, write_script
):
    ctx = context_in_mode(write_script(ALWAYS_SEED))
    outcome, scope = run_on_seed(ctx, MALFORMED_IMPROVER)
    assert outcome.ok, outcome.error
    report = json.loads(outcome.solution.rsplit("# ", 1)[1])
    expected = [[False, "invalid" if "__float__" in r else "protocol"] for r in MALFORMED_REQUESTS]
    assert report["answers"] == expected  # a NaN temperature is typed, then refused by the facade
    assert report["score"] > 0  # the seed solution, scored after all the refusals
    events = ctx.store.events(ctx.run_id, improver_run_id=scope.improver_run_id)
    assert [e.detail["refused_calls"] for e in events if e.kind == "invalid_requests"] == [
        len(MALFORMED_REQUESTS)
    ]
    assert (
        ctx.store.query("SELECT COUNT(*) AS n FROM model_calls WHERE run_id = ?", (ctx.run_id,))[0]["n"] == 0
    )
