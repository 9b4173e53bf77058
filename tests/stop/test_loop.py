"""The self-improvement loop, through the public API: failed iterations keep the previous improver."""

from __future__ import annotations

import pytest
from tests.conftest import small_config

from selftaught.api import open_store, start_run
from selftaught.stop.seed import seed_improver_source

FRAGILE_MODEL = '''
from tests.conftest import GOOD_PARITY_SOLVER

FRAGILE = """from helpers import extract_code

def improve_algorithm(initial_solution, utility, language_model):
    if "def improve_algorithm" in initial_solution:
        {failure}
    answers = language_model.batch_prompt("expert", ["improve:" + initial_solution] * 2)
    return max(extract_code(answers), key=utility)
"""


def respond(system, user, temperature, sample):
    if "def improve_algorithm" in user:
        return "```python\\n" + FRAGILE + "```"
    return "```python\\n" + GOOD_PARITY_SOLVER + "```"
'''


@pytest.mark.parametrize(
    ("failure", "error_kind"),
    [
        ("raise RuntimeError('cannot improve improvers')", "exception"),
        ("while True: pass", "timeout"),
        ("return ''", "empty"),
    ],
)
def test_failed_iteration_keeps_the_previous_improver(pool, tmp_path, write_script, failure, error_kind):
    model = write_script(FRAGILE_MODEL.replace("{failure}", failure))
    result = start_run(small_config(model, iterations=2, timeout_s=2.0), store=tmp_path / "s.db", pool=pool)
    assert result.status == "finished"
    assert [r.status for r in result.iterations] == ["seed", "improved", "failed"]
    assert result.iterations[2].error_kind == error_kind
    rows = open_store(tmp_path / "s.db").iterations(result.run_id)
    assert rows[2].improver_hash == rows[1].improver_hash != rows[0].improver_hash
    assert result.iterations[2].meta_utility_val == result.iterations[1].meta_utility_val > 0.9


def test_improver_returning_nothing_keeps_the_seed(pool, tmp_path, write_script):
    no_code = """
from tests.conftest import GOOD_PARITY_SOLVER
def respond(system, user, temperature, sample):
    if "def improve_algorithm" in user:
        return "I would rather not write code today."
    return "```python\\n" + GOOD_PARITY_SOLVER + "```"
"""
    result = start_run(small_config(write_script(no_code)), store=tmp_path / "s.db", pool=pool)
    assert [r.status for r in result.iterations] == ["seed", "failed"]
    store = open_store(tmp_path / "s.db")
    rows = store.iterations(result.run_id)
    assert store.source(rows[1].improver_hash) == seed_improver_source()
    assert result.iterations[1].meta_utility_val == result.iterations[0].meta_utility_val
    assert store.run(result.run_id).status == "finished"
