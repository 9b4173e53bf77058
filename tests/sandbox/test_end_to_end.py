"""`selftaught run` finishes every iteration when the model's samples are crash values (issue 10)."""

from __future__ import annotations

import json
import sqlite3

from tests.conftest import run_cli

# Every sample is one program that is both a hostile candidate (`algorithm` sends a crash
# frame or value on its own channel) and a hostile improver (odd proxy arguments, then a
# crash frame). Sample i picks crash i.
HOSTILE_MODEL = r'''
CRASHES = [
    b'{"type":"result","ok":true,"value":NaN}',
    b'{"type":"result","ok":true,"value":' + b"7" * 5000 + b"}",
    b'{"type":"result","ok":true,"value":' + b"[" * 500 + b"]" * 500 + b"}",
    b'{"type":"result","ok":true,"value":{"__ndarray__":{"dtype":"float64","shape":[3],"b64":"AAAA"}}}',
    b'{"type":"result","ok":true,"value":{"__ndarray__":{"dtype":"bool","shape":[2],"b64":"AQc="}}}',
    b'{"type":"request","op":"lm.prompt","expertise":"e","message":"m","temperature":Infinity}',
]

PROGRAM = """
import gc, socket, struct, time
CRASH = {crash!r}
def send_raw(payload):
    sock = next(o for o in gc.get_objects() if isinstance(o, socket.socket) and o.fileno() >= 0)
    sock.sendall(struct.pack(">I", len(payload)) + payload)
def algorithm(*args):
    send_raw(CRASH)
    time.sleep(30)
def improve_algorithm(initial_solution, utility, language_model):
    for temperature in (10**400, "nan", float("inf")):
        try:
            language_model.prompt("e", "m", 1, temperature)
        except ValueError:
            pass
    utility(initial_solution)
    send_raw(CRASH)
    time.sleep(30)
"""


def respond(system, user, temperature, sample):
    return "```python\n" + PROGRAM.format(crash=CRASHES[sample % len(CRASHES)]) + "\n```"
'''


def test_run_with_crash_value_samples_finishes_every_iteration(tmp_path):
    model = tmp_path / "hostile_model.py"
    model.write_text(HOSTILE_MODEL)
    store = tmp_path / "runs.db"
    result = run_cli(
        "run",
        "--model",
        f"script:{model}",
        "--iterations",
        "2",
        "--n-tests",
        "1",
        "--samples",
        "6",
        "--calls",
        "1",
        "--store",
        str(store),
        "--json",
        "--timeout",
        "20",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    payload = json.loads(result.stdout)
    assert [it["iteration"] for it in payload["iterations"]] == [0, 1, 2]
    db = sqlite3.connect(store)
    kinds = {row[0] for row in db.execute("SELECT error_kind FROM evaluations WHERE score = 0")}
    assert "protocol" in kinds
    status = db.execute("SELECT status FROM run_status ORDER BY id DESC").fetchone()[0]
    assert status == "finished"
