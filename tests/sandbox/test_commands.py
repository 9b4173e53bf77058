"""The commands to children: declared in messages.py, put on the wire unchanged, read back in the child."""

import re

import pytest

from selftaught.inside.messages import (
    CallCommand,
    ExitCommand,
    ImproveCommand,
    LoadCommand,
    ProbeCommand,
    command_message,
    parse_command,
)
from selftaught.inside.protocol import from_wire, to_wire
from selftaught.sandbox.errors import MalformedMessage
from selftaught.sandbox.limits import Limits

IMPROVE = ImproveCommand(
    source="def improve_algorithm(s, u, m):\n    return s\n",
    initial_solution="x = 1\n",
    utility_str="u",
    utility_budget=3,
    lm_budget=2,
    max_responses_per_call=4,
    seed=7,
)


def test_the_wire_form_is_the_one_the_child_always_read():
    assert command_message(LoadCommand("src", "algorithm", 5)) == {
        "op": "load",
        "source": "src",
        "entry": "algorithm",
        "seed": 5,
    }
    assert command_message(LoadCommand("src", "entry")) == {"op": "load", "source": "src", "entry": "entry"}
    assert command_message(CallCommand([1, [2]])) == {"op": "call", "args": [1, [2]]}
    assert command_message(ProbeCommand()) == {"op": "probe"}
    assert command_message(ExitCommand()) == {"op": "exit"}
    assert list(command_message(IMPROVE)) == [
        "op",
        "source",
        "initial_solution",
        "utility_str",
        "utility_budget",
        "lm_budget",
        "max_responses_per_call",
        "seed",
    ]


@pytest.mark.parametrize(
    "command",
    [LoadCommand("src", "f", 1), LoadCommand("src"), CallCommand([]), IMPROVE, ProbeCommand(), ExitCommand()],
)
def test_the_child_reads_back_what_the_host_built(command):
    assert parse_command(command_message(command)) == command


def test_a_raw_command_reads_with_the_child_s_old_defaults():
    assert parse_command({"op": "load", "source": "s"}) == LoadCommand("s", "algorithm", None)
    assert parse_command({"op": "call"}) == CallCommand([])
    assert parse_command({"op": "call", "args": [], "extra": 1}) == CallCommand([])


@pytest.mark.parametrize(
    ("message", "text"),
    [
        ({"op": "store.delete"}, "unknown op 'store.delete'"),
        ({}, "unknown op None"),
        ({"op": ["load"]}, "unknown op ['load']"),
        ({"op": "load"}, "load:"),
        ({"op": "improve", "source": "s"}, "improve:"),
    ],
)
def test_an_unknown_op_or_a_missing_field_is_malformed(message, text):
    with pytest.raises(MalformedMessage, match=re.escape(text)):
        parse_command(message)


def test_a_child_answers_a_command_it_cannot_read_as_protocol_and_goes_on(pool):
    with pool.spawn(Limits(wall_s=10)) as child:
        unknown = child.run({"op": "store.delete"})
        missing = child.run({"op": "load"})
        loaded = child.run(LoadCommand("def algorithm(x):\n    return x + 1\n"))
        called = child.run(CallCommand(to_wire([41])))
    assert (unknown.ok, unknown.error_kind, unknown.error) == (False, "protocol", "unknown op 'store.delete'")
    assert (missing.ok, missing.error_kind) == (False, "protocol")
    assert loaded.ok and called.ok and from_wire(called.value) == 42
