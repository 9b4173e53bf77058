"""The command line, through its real entry point (`python -m selftaught`)."""

from __future__ import annotations

import json
import os
import sqlite3
import textwrap

import pytest

from tests.conftest import EXAMPLE_MODEL, run_cli

PAPER_STYLE_IMPROVER = textwrap.dedent('''
    from helpers import extract_code

    def improve_algorithm(initial_solution, utility, language_model):
        """Improves a solution according to a utility function."""
        expertise = "You are an expert computer science researcher and programmer."
        message = f"""Improve the following solution:
    ```python
    {initial_solution}
    ```

    You will be evaluated based on this score function:
    ```python
    {utility.str}
    ```

    First, propose an idea, then implement it."""
        n_messages = min(language_model.max_responses_per_call, utility.budget)
        new_solutions = language_model.batch_prompt(expertise, [message] * n_messages, temperature=0.7)
        new_solutions = extract_code(new_solutions)
        best_solution = max(new_solutions, key=utility)
        return best_solution
''')


def test_run_end_to_end_improves_the_improver_and_records_everything(tmp_path):
    store = tmp_path / "runs.db"
    result = run_cli(
        "run",
        "--model",
        f"script:{EXAMPLE_MODEL}",
        "--iterations",
        "2",
        "--n-tests",
        "2",
        "--samples",
        "3",
        "--calls",
        "2",
        "--store",
        str(store),
        "--json",
        "--timeout",
        "60",
    )
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    iterations = payload["iterations"]
    assert [it["iteration"] for it in iterations] == [0, 1, 2]
    assert iterations[0]["status"] == "seed" and iterations[1]["status"] == "improved"
    # the greedy best-so-far improver the model wrote beats the seed improver on both splits
    assert iterations[1]["meta_utility_val"] > iterations[0]["meta_utility_val"] + 0.1
    assert iterations[1]["meta_utility_test"] > iterations[0]["meta_utility_test"]

    db = sqlite3.connect(store)
    run_id = payload["run_id"]
    assert (
        db.execute("SELECT status FROM run_status WHERE run_id = ? ORDER BY id DESC", (run_id,)).fetchone()[0]
        == "finished"
    )
    rows = db.execute(
        "SELECT iteration, meta_utility_val, improver_hash FROM iterations WHERE run_id = ? "
        "ORDER BY iteration",
        (run_id,),
    ).fetchall()
    assert [(r[0], r[1]) for r in rows] == [(it["iteration"], it["meta_utility_val"]) for it in iterations]
    improver = db.execute("SELECT source FROM sources WHERE hash = ?", (rows[1][2],)).fetchone()[0]
    assert "best_so_far" in improver.replace("-", "_") and "def improve_algorithm" in improver
    calls = db.execute(
        "SELECT system, messages_json, n, temperature, responses_json, latency_s FROM model_calls "
        "WHERE run_id = ?",
        (run_id,),
    ).fetchall()
    assert calls and all(json.loads(c[4]) and c[2] >= 1 and c[5] is not None for c in calls)
    evaluations = db.execute(
        "SELECT task, split, score, code_hash FROM evaluations WHERE run_id = ?", (run_id,)
    ).fetchall()
    assert {e[1] for e in evaluations} == {"val", "test"}
    assert all(0.0 <= e[2] <= 1.0 for e in evaluations)
    # the recorded meta-utility is recomputable from the recorded improver runs
    repeats = db.execute(
        "SELECT r.score_val FROM improver_runs i JOIN improver_run_results r "
        "ON r.improver_run_id = i.id WHERE i.run_id = ? AND i.iteration = 1 "
        "AND i.purpose = 'iteration_eval'",
        (run_id,),
    ).fetchall()
    assert len(repeats) == 2
    assert sum(r[0] for r in repeats) / 2 == pytest.approx(iterations[1]["meta_utility_val"])

    shown = run_cli("show", run_id, "--store", str(store), "--json")
    assert shown.returncode == 0 and json.loads(shown.stdout)["iterations"][1]["status"] == "improved"
    listed = run_cli("runs", "--store", str(store), "--json")
    assert [r["id"] for r in json.loads(listed.stdout)] == [run_id]


def test_paper_style_improver_runs_unchanged_under_evaluate_improver(tmp_path):
    improver = tmp_path / "paper_improver.py"
    improver.write_text(PAPER_STYLE_IMPROVER)
    result = run_cli(
        "evaluate-improver",
        str(improver),
        "--model",
        f"script:{EXAMPLE_MODEL}",
        "--n-tests",
        "2",
        "--samples",
        "3",
        "--calls",
        "1",
        "--store",
        str(tmp_path / "s.db"),
        "--json",
    )
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["failed_runs"] == 0
    assert 0.5 < payload["meta_utility"] <= 1.0
    assert payload["per_task"]["parity_noise"] == payload["meta_utility"]


def test_tasks_eval_scores_a_solution_file(tmp_path):
    from tests.conftest import GOOD_PARITY_SOLVER

    solution = tmp_path / "solution.py"
    solution.write_text(GOOD_PARITY_SOLVER)
    result = run_cli("tasks", "eval", "parity_noise", "--code", str(solution), "--split", "test", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["score"] >= 0.95


@pytest.mark.parametrize(
    "args",
    [
        ["run", "--model", "script:{model}", "--tasks", "no_such_task"],
        ["run", "--model", "nonsense:model"],
        ["run", "--model", "script:/no/such/file.py"],
        ["run", "--model", "openai:gpt-4o"],
        ["evaluate-improver", "/no/such/improver.py", "--model", "script:{model}"],
        ["evaluate-improver", "{not_improver}", "--model", "script:{model}"],
        ["tasks", "eval", "parity_noise", "--code", "/no/such/solution.py"],
        ["tasks", "eval", "nope", "--code", "{not_improver}"],
        ["run", "--n-tests", "0"],  # usage errors too: a bad value, an unknown option, a missing argument
        ["run", "--no-such-option"],
        ["show"],
        ["no-such-command"],
    ],
)
def test_bad_input_prints_one_line_exits_2_and_writes_nothing(tmp_path, args):
    not_improver = tmp_path / "not_improver.py"
    not_improver.write_text("def algorithm():\n    return 1\n")
    store = tmp_path / "store.db"
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    env["SELFTAUGHT_STORE"] = str(store)
    argv = [a.format(model=EXAMPLE_MODEL, not_improver=not_improver) for a in args]
    result = run_cli(*argv, env=env, cwd=tmp_path)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    assert "Traceback" not in result.stderr
    assert not store.exists() and not (tmp_path / "selftaught.db").exists()


def test_version_and_help_on_every_command():
    assert run_cli("--version").stdout.startswith("selftaught ")
    for command in (
        ["run"],
        ["evaluate-improver"],
        ["tasks", "list"],
        ["tasks", "eval"],
        ["runs"],
        ["show"],
        ["models"],
        ["doctor"],
        ["resume"],
    ):
        result = run_cli(*command, "--help")
        assert result.returncode == 0 and "Usage" in result.stdout, command


def test_doctor_reports_protections_and_strict_mode_runs_where_available(tmp_path):
    from tests.conftest import GOOD_PARITY_SOLVER

    result = run_cli("doctor", "--json")
    assert result.returncode == 0, result.stderr
    protections = {p["name"]: p for p in json.loads(result.stdout)}
    assert "seccomp filter" in protections and all("available" in p for p in protections.values())
    solution = tmp_path / "solution.py"
    solution.write_text(GOOD_PARITY_SOLVER)
    strict = run_cli(
        "tasks", "eval", "parity_noise", "--code", str(solution), "--sandbox", "strict", "--json"
    )
    from selftaught.sandbox.isolation import STRICT_REQUIREMENTS

    required = {name for names in STRICT_REQUIREMENTS.values() for name in names}
    if not all(p["available"] for name, p in protections.items() if name in required):
        assert strict.returncode == 2 and strict.stderr.startswith("error: strict sandbox unavailable")
        pytest.skip("this machine cannot give strict isolation: " + strict.stderr.strip())
    assert strict.returncode == 0, strict.stderr
    assert json.loads(strict.stdout)["score"] >= 0.95


def test_models_lists_every_kind():
    listed = run_cli("models")
    assert listed.returncode == 0
    for kind in ("script", "openai", "local", "replay"):
        assert f"│ {kind}" in listed.stdout


def test_config_file_sets_the_run_and_command_line_options_win(tmp_path):
    config = tmp_path / "run.toml"
    config.write_text(
        f'[model]\nmodel = "script:{EXAMPLE_MODEL}"\nmax_retries = 2\n'
        '[algorithm]\niterations = 3\nn_tests = 1\nsamples = 2\ncalls = 1\ntasks = ["parity_noise"]\n'
    )
    store = tmp_path / "s.db"
    result = run_cli("run", "--config", str(config), "--iterations", "1", "--store", str(store), "--json")
    assert result.returncode == 0, result.stderr
    run_id = json.loads(result.stdout)["run_id"]
    recorded = json.loads(run_cli("show", run_id, "--store", str(store), "--json").stdout)["config"]
    assert recorded["iterations"] == 1  # the command line wins
    from_file = (recorded["n_tests"], recorded["samples"], recorded["calls"], recorded["max_retries"])
    assert from_file == (1, 2, 1, 2)
    assert recorded["model"] == f"script:{EXAMPLE_MODEL}"


@pytest.mark.parametrize(
    "text",
    [
        "iterations = 'many'\n",
        "no_such_setting = 1\n",
        "iterations = \n",
        "max_calls = 3\n",  # a setting of [budgets]
        "[budgets]\nmax_calls = 0\n",
    ],
)
def test_bad_config_files_exit_2_and_write_nothing(tmp_path, text):
    config = tmp_path / "run.toml"
    config.write_text(f'[model]\nmodel = "script:{EXAMPLE_MODEL}"\n[algorithm]\n' + text)
    store = tmp_path / "s.db"
    result = run_cli("run", "--config", str(config), "--store", str(store))
    assert result.returncode == 2 and result.stderr.startswith("error:"), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not store.exists()


def test_a_run_on_a_task_folder_records_its_path_and_resumes_from_elsewhere(tmp_path):
    made = run_cli("tasks", "new", "mytask", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    store = tmp_path / "s.db"
    args = ["--model", f"script:{EXAMPLE_MODEL}", "-T", "1", "--n-tests", "1", "--samples", "2"]
    args += ["--calls", "1"]
    args += ["--store", str(store), "--json"]
    env = {**os.environ, "SELFTAUGHT_FAILPOINTS": "iteration_end:1"}
    killed = run_cli("run", "--tasks", "./mytask", *args, cwd=tmp_path, env=env)
    assert killed.returncode == -9, killed.stderr
    run_id = json.loads(run_cli("runs", "--store", str(store), "--json").stdout)[0]["id"]
    config = json.loads(run_cli("show", run_id, "--store", str(store), "--json").stdout)["config"]
    assert config["tasks"] == [str(tmp_path / "mytask")]
    resumed = run_cli("resume", run_id, "--store", str(store), "--json")  # from another directory
    assert resumed.returncode == 0, resumed.stderr
    assert [it["iteration"] for it in json.loads(resumed.stdout)["iterations"]] == [0, 1]


def test_evaluate_improver_takes_every_run_setting_from_options_file_and_environment(tmp_path):
    improver = tmp_path / "paper_improver.py"
    improver.write_text(PAPER_STYLE_IMPROVER)
    config = tmp_path / "eval.toml"
    config.write_text(
        "[algorithm]\nn_tests = 2\nsamples = 2\ncalls = 1\nseed = 9\n[model]\nmax_retries = 2\n"
    )
    store = tmp_path / "s.db"
    env = {**os.environ, "SELFTAUGHT_MODEL": f"script:{EXAMPLE_MODEL}"}
    args = ["evaluate-improver", str(improver), "--config", str(config), "--store", str(store), "--json"]
    result = run_cli(*args, "--seed", "3", "--request-timeout", "5", "--price-prompt", "1.5", env=env)
    assert result.returncode == 0, result.stderr
    run_id = json.loads(result.stdout)["run_id"]
    recorded = json.loads(run_cli("show", run_id, "--store", str(store), "--json").stdout)["config"]
    assert (recorded["seed"], recorded["n_tests"], recorded["max_retries"]) == (3, 2, 2)  # option wins
    assert (recorded["request_timeout_s"], recorded["price_prompt"]) == (5.0, 1.5)
    assert recorded["model"] == f"script:{EXAMPLE_MODEL}"  # from SELFTAUGHT_MODEL
    limited = run_cli(*args, "--max-calls", "1", "--no-cache", env=env)
    assert limited.returncode == 1 and "--max-calls 1 reached" in limited.stderr, limited.stderr
    bad = run_cli(*args, "--timeout", "0", env=env)
    assert bad.returncode == 2 and bad.stderr.startswith("error: invalid --timeout"), bad.stderr
