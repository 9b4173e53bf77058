"""`selftaught tasks ...` through the real command line: list, show, new, check, eval, and a run on
a scaffolded task folder."""

from __future__ import annotations

import json
import os
import textwrap

import pytest

from selftaught.tasks import builtin_names, get_task
from selftaught.tasks.seed_scores import cache_key
from tests.conftest import run_cli


@pytest.fixture
def env(tmp_path):
    """An environment with its own seed-score cache, pre-filled for the built-ins (measuring them all
    takes about 15 s; `seed_scores` is what fills it for real)."""
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir()
    entries = {
        cache_key(get_task(name)): {"val": 0.25, "test": 0.75, "task": name} for name in builtin_names()
    }
    (cache_dir / "seed_scores.json").write_text(json.dumps(entries))
    return {**os.environ, "SELFTAUGHT_CACHE_DIR": str(cache_dir), "SELFTAUGHT_STORE": str(tmp_path / "s.db")}


def _one_error_line(result) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and "Traceback" not in result.stderr, lines
    return lines[0]


def test_list_shows_seed_scores_from_the_cache_and_measures_folders(tmp_path, env):
    assert run_cli("tasks", "new", "knap", "--dir", str(tmp_path), env=env).returncode == 0
    result = run_cli("tasks", "list", "--json", str(tmp_path / "knap"), env=env)
    assert result.returncode == 0, result.stderr
    items = {item["name"]: item for item in json.loads(result.stdout)}
    assert set(items) == set(builtin_names()) | {"knap"}
    for name in builtin_names():
        assert (items[name]["seed_score_val"], items[name]["seed_score_test"]) == (0.25, 0.75)
        assert {"description", "time_limit_s", "instances_val", "instances_test"} <= set(items[name])
    assert 0.7 < items["knap"]["seed_score_val"] < 1.0  # measured in the sandbox, then cached
    cached = json.loads((tmp_path / "cache" / "seed_scores.json").read_text())
    assert len(cached) == len(builtin_names()) + 1
    table = run_cli("tasks", "list", env=env)
    assert table.returncode == 0 and "three_sat" in table.stdout and "0.750" in table.stdout


def test_show_prints_the_shown_utility_or_the_seed(tmp_path, env):
    shown = run_cli("tasks", "show", "three_sat", env=env)
    assert shown.returncode == 0 and "10 milliseconds" in shown.stdout  # the paper's shown limit
    seed = run_cli("tasks", "show", "maxcut", "--seed", env=env)
    assert seed.returncode == 0 and seed.stdout == get_task("maxcut").seed_solution()
    _one_error_line(run_cli("tasks", "show", "no_such_task", env=env))


def test_new_check_eval_and_run_on_a_scaffolded_task(tmp_path, env):
    created = run_cli("tasks", "new", "mytask", env=env, cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    assert {p.name for p in (tmp_path / "mytask").iterdir()} >= {
        "seed_algorithm.py",
        "utility.py",
        "secret_utility.py",
        "README.md",
    }
    checked = run_cli("tasks", "check", "./mytask", "--json", env=env, cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    report = json.loads(checked.stdout)
    assert report["kind"] == "trusted" and report["problems"] == []
    assert 0.7 < report["seed_score_val"] < 1.0 and 0.7 < report["seed_score_test"] < 1.0

    solution = tmp_path / "dp.py"
    solution.write_text(
        textwrap.dedent('''
        def algorithm(values, weights, capacity):
            """Exact 0/1 knapsack by dynamic programming over capacities."""
            best = [(0, [])] * (capacity + 1)
            for i, (v, w) in enumerate(zip(values, weights)):
                for c in range(capacity, w - 1, -1):
                    if best[c - w][0] + v > best[c][0]:
                        best[c] = (best[c - w][0] + v, best[c - w][1] + [i])
            return best[capacity][1]
        ''')
    )
    evaluated = run_cli("tasks", "eval", "./mytask", "--code", str(solution), "--json", env=env, cwd=tmp_path)
    assert evaluated.returncode == 0, evaluated.stderr
    assert json.loads(evaluated.stdout)["score"] > 0.99

    model = tmp_path / "model.py"
    model.write_text(
        textwrap.dedent(f"""
        SOLUTION = {solution.read_text()!r}

        def respond(system, user, temperature, sample):
            return "Use dynamic programming.\\n\\n```python\\n" + SOLUTION + "```\\n"
        """)
    )
    ran = run_cli(
        "run",
        "--model",
        f"script:{model}",
        "--tasks",
        "./mytask",
        "-T",
        "1",
        "--n-tests",
        "1",
        "--samples",
        "2",
        "--calls",
        "1",
        "--json",
        env=env,
        cwd=tmp_path,
    )
    assert ran.returncode == 0, ran.stderr
    iterations = json.loads(ran.stdout)["iterations"]
    assert len(iterations) == 2
    assert all(0.0 <= row["meta_utility_val"] <= 1.0 for row in iterations)


@pytest.mark.parametrize(
    "args",
    [
        ["tasks", "check", "./absent"],
        ["tasks", "check", "./broken"],
        ["tasks", "new", "existing"],
        ["tasks", "new", "not a name"],
        ["tasks", "eval", "./absent", "--code", "x.py"],
        ["run", "--model", "script:x.py", "--tasks", "./broken"],
    ],
)
def test_bad_task_folders_print_one_line_and_exit_2(tmp_path, env, args):
    (tmp_path / "existing").mkdir()
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "seed_algorithm.py").write_text("def algorithm(x):\n    return x\n")
    (broken / "utility.py").write_text("shown\n")
    (broken / "secret_utility.py").write_text("def nothing_useful():\n    pass\n")
    _one_error_line(run_cli(*args, env=env, cwd=tmp_path))


def test_check_reports_a_seed_that_does_not_load(tmp_path, env):
    assert run_cli("tasks", "new", "t", env=env, cwd=tmp_path).returncode == 0
    seed = "import no_such_module\n\ndef algorithm(v, w, c):\n    return []\n"
    (tmp_path / "t" / "seed_algorithm.py").write_text(seed)
    line = _one_error_line(run_cli("tasks", "check", "t", env=env, cwd=tmp_path))
    assert "load_error" in line


def test_instances_prints_the_reference_instances_as_json_lines(env):
    import hashlib

    from selftaught.tasks.instances import canonical_json, instances_digest

    result = run_cli("tasks", "instances", "three_sat", "--split", "test", "--json", env=env)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [row["index"] for row in rows] == list(range(30)) and rows[0]["seed"] == 5678
    args = [row["args"] for row in rows]
    assert hashlib.sha256(canonical_json(args).encode()).hexdigest() == instances_digest(
        get_task("three_sat"), "test"
    )
    summary = run_cli("tasks", "instances", "mqap", "--split", "val", env=env)
    assert summary.returncode == 0 and "10 instances" in summary.stdout and "500 ms" in summary.stdout
    _one_error_line(run_cli("tasks", "instances", "mqap", "--split", "train", env=env))


def test_eval_scores_under_either_rule(tmp_path, env):
    solution = tmp_path / "labels.py"
    solution.write_text("def algorithm(a):\n    return list(range(len(a)))\n")  # not a partition into two
    scores = {}
    for scoring in ("strict", "reference"):
        result = run_cli(
            "tasks", "eval", "maxcut", "--code", str(solution), "--scoring", scoring, "--json", env=env
        )
        assert result.returncode == 0, result.stderr
        scores[scoring] = json.loads(result.stdout)
        assert scores[scoring]["scoring"] == scoring
    assert scores["strict"]["score"] == 0.0 and scores["strict"]["accepted_by_reference_only"] == 0
    assert scores["reference"]["score"] == 1.0 and scores["reference"]["accepted_by_reference_only"] == 100
    _one_error_line(
        run_cli("tasks", "eval", "maxcut", "--code", str(solution), "--scoring", "loose", env=env)
    )
