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


# --- accept = "significant": a paired test over the same streams ----------------------------------

NOISY_IMPROVER_MODEL = '''
from tests.conftest import GOOD_PARITY_SOLVER

NEXT = """import random
from helpers import extract_code

def improve_algorithm(initial_solution, utility, language_model):
    lucky = random.random() < {luck}  # seeded per repeat's stream: the same on every run
    answers = language_model.batch_prompt("expert", [("next:" if lucky else "weak:") + initial_solution] * 2)
    return max(extract_code(answers), key=utility)
"""
WEAK = "def algorithm(*args, **kwargs):\\n    return [0] * 10\\n"


def respond(system, user, temperature, sample):
    if "def improve_algorithm" in user:  # the new improver: lucky on a share of its repeats
        return "```python\\n" + NEXT.replace("{luck}", "{share}") + "```"
    if user.startswith("next:"):
        return "```python\\n" + GOOD_PARITY_SOLVER + "```"
    return "```python\\n" + WEAK + "```"
'''


def _significant_run(pool, tmp_path, write_script, share: float, **config):
    model = write_script(NOISY_IMPROVER_MODEL.replace("{share}", repr(share)))
    settings = {"accept": "significant", "n_tests": 5, "iterations": 1, **config}
    store = tmp_path / f"{settings['accept']}.db"
    result = start_run(small_config(model, **settings), store=store, pool=pool)
    assert result.status == "finished", result.reason
    return result, open_store(store).iterations(result.run_id)


def test_significant_adopts_an_improver_better_on_every_repeat_and_records_the_test(
    pool, tmp_path, write_script
):
    result, rows = _significant_run(pool, tmp_path, write_script, 1.0)
    assert [r.status for r in result.iterations] == ["seed", "improved"]
    test = rows[1].acceptance
    assert test is not None and test["significant"] and test["n"] == 5
    assert test["p_value"] == pytest.approx(1 / 32) and test["alpha"] == 0.05
    assert "sign-flip" in test["method"] and test["mean_difference"] > 0
    assert result.iterations[1].to_json()["acceptance"] == test
    assert rows[0].acceptance is None  # the seed is not tested


def test_significant_rejects_what_better_would_adopt(pool, tmp_path, write_script):
    """A higher mean that 3 lucky repeats of 5 carry is not evidence: `better` adopts it, `significant`
    does not (p = 4/32). Which repeats are lucky is fixed by their streams' seeds (r1, r2, r3 here)."""
    result, rows = _significant_run(pool, tmp_path, write_script, 0.35)
    assert [r.status for r in result.iterations] == ["seed", "failed"]
    assert result.iterations[1].error_kind == "not_significant"
    test = rows[1].acceptance
    assert test is not None and not test["significant"] and test["p_value"] == pytest.approx(4 / 32)
    assert "p = " in (rows[1].error or "")
    assert test["mean_difference"] > 0  # better on average: some repeats were lucky
    better, better_rows = _significant_run(pool, tmp_path, write_script, 0.35, accept="better")
    assert [r.status for r in better.iterations] == ["seed", "improved"]
    assert better_rows[1].acceptance is None
