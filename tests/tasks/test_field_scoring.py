"""Scoring field-format tasks in the sandbox: the same seed score through every route, and evaluators
that crash, hang or return NaN, candidates that edit outside their block or try to reach the evaluator."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest
from tests.conftest import ROOT

from selftaught.tasks import get_task, load_task_folder
from selftaught.tasks.scoring import score_solution

EXAMPLES = ROOT / "examples"
OPENEVOLVE_EXAMPLE = EXAMPLES / "openevolve" / "circle_packing"
SHINKA_EXAMPLE = EXAMPLES / "shinka" / "circle_packing"
SEED_SUM = 26 / 12  # the seed's grid: 26 circles of radius 1/12

NAN_BLOCK = """
def construct_packing(n):
    nan = float("nan")
    return [[nan, nan] for _ in range(n)], [nan] * n
"""


def copy_of(example: Path, tmp_path: Path, name: str, **files: str) -> Path:
    target = tmp_path / name
    shutil.copytree(example, target, ignore=shutil.ignore_patterns("__pycache__"))
    for filename, text in files.items():
        (target / filename).write_text(textwrap.dedent(text))
    return target


def with_block(program: str, body: str) -> str:
    head, rest = program.split("# EVOLVE-BLOCK-START\n")
    _, tail = rest.split("# EVOLVE-BLOCK-END")
    return head + "# EVOLVE-BLOCK-START\n" + textwrap.dedent(body) + "\n\n# EVOLVE-BLOCK-END" + tail


def test_the_builtin_and_both_example_folders_give_the_same_seed_score(pool):
    builtin = get_task("circle_packing")
    scores = {"builtin": score_solution(builtin, builtin.seed_solution(), "val", pool)}
    for name, folder in (("openevolve", OPENEVOLVE_EXAMPLE), ("shinka", SHINKA_EXAMPLE)):
        task = get_task(str(folder))
        for split in ("val", "test"):
            scores[f"{name} {split}"] = score_solution(task, task.seed_solution(), split, pool)
    for label, result in scores.items():
        assert result.error_kind is None, (label, result)
        assert result.score == pytest.approx(SEED_SUM / 2.635983, abs=1e-12), label
    held_out = score_solution(builtin, builtin.seed_solution(), "test", pool)
    assert held_out.score == pytest.approx(32 / 12 / 2.939570, abs=1e-12)  # n = 32 on the test split


def test_an_all_nan_packing_scores_zero_through_every_route(pool):
    builtin = get_task("circle_packing")
    nan_algorithm = "def algorithm(n):\n    nan = float('nan')\n    return [[nan, nan]] * n, [nan] * n\n"
    result = score_solution(builtin, nan_algorithm, "val", pool)
    assert result.score == 0.0 and result.error_kind == "check_error" and "not finite" in result.error
    for folder in (OPENEVOLVE_EXAMPLE, SHINKA_EXAMPLE):
        task = get_task(str(folder))
        result = score_solution(task, with_block(task.seed_solution(), NAN_BLOCK), "val", pool)
        assert result.score == 0.0, (folder, result)


def test_openevolve_evaluators_that_crash_hang_or_return_nan_score_zero_with_the_reason(tmp_path, pool):
    cases = {
        "crash": (
            "def evaluate(program_path):\n    raise RuntimeError('evaluator broke')\n",
            "exception",
            "broke",
        ),
        "hang": ("def evaluate(program_path):\n    while True:\n        pass\n", "timeout", ""),
        "nan": (
            "def evaluate(program_path):\n    return {'combined_score': float('nan')}\n",
            "check_error",
            "NaN",
        ),
        "text": (
            "def evaluate(program_path):\n    return {'combined_score': 'high'}\n",
            "check_error",
            "not a number",
        ),
        "missing": (
            "def evaluate(program_path):\n    return {'error': 'no score'}\n",
            "check_error",
            "no numeric",
        ),
        "reported": (
            "def evaluate(program_path):\n    return {'combined_score': 0.0, 'error': 'could not start'}\n",
            "check_error",
            "reported an error: could not start",
        ),
    }
    for name, (evaluator, kind, reason) in cases.items():
        folder = copy_of(
            OPENEVOLVE_EXAMPLE,
            tmp_path,
            name,
            **{"evaluator.py": evaluator, "selftaught.toml": "time_limit_s = 1\n"},
        )
        task = load_task_folder(folder)
        result = score_solution(task, task.seed_solution(), "val", pool)
        assert (result.score, result.error_kind) == (0.0, kind), (name, result)
        assert reason in (result.error or ""), (name, result)


def test_openevolve_cascade_stops_at_a_failed_threshold_and_merges_passing_stages(tmp_path, pool):
    evaluator = """
    def evaluate_stage1(program_path):
        return {"combined_score": 0.6, "stage": 1.0}

    def evaluate_stage2(program_path):
        return {"combined_score": 0.7, "stage2": 1.0}

    def evaluate_stage3(program_path):
        return {"combined_score": 0.9}

    def evaluate(program_path):
        return {"combined_score": 0.1}
    """
    folder = copy_of(OPENEVOLVE_EXAMPLE, tmp_path, "cascade", **{"evaluator.py": evaluator})
    task = load_task_folder(folder)
    assert score_solution(task, task.seed_solution(), "val", pool).score == pytest.approx(0.7)  # 0.7 < 0.75
    flat = copy_of(
        OPENEVOLVE_EXAMPLE,
        tmp_path,
        "flat",
        **{"evaluator.py": evaluator, "selftaught.toml": "cascade = false\n"},
    )
    task = load_task_folder(flat)
    assert score_solution(task, task.seed_solution(), "val", pool).score == pytest.approx(0.1)


def test_openevolve_allows_edits_outside_the_block(pool):
    task = get_task(str(OPENEVOLVE_EXAMPLE))
    edited = "# a comment above the block\n" + task.seed_solution().replace(
        '"""Called by the evaluator', '"""Edited outside the block; called by the evaluator'
    )
    result = score_solution(task, edited, "val", pool)
    assert result.error_kind is None and result.score == pytest.approx(SEED_SUM / 2.635983)


def test_shinka_rejects_edits_outside_the_block_before_running_anything(pool):
    task = get_task(str(SHINKA_EXAMPLE))
    edited = task.seed_solution().replace("construct_packing(26)", "construct_packing(25)")
    result = score_solution(task, edited, "val", pool)
    assert (result.score, result.error_kind) == (0.0, "outside_evolve_block")
    assert "after block 1" in result.error


def test_shinka_evaluators_and_programs_that_crash_hang_or_return_nan_score_zero_with_the_reason(
    tmp_path, pool
):
    seed = (SHINKA_EXAMPLE / "evaluate.py").read_text()
    crashing = seed.replace(
        "def main(program_path, results_dir):",
        "def main(program_path, results_dir):\n    raise RuntimeError('evaluator broke')",
    )
    hanging = seed.replace(
        "def main(program_path, results_dir):",
        "def main(program_path, results_dir):\n    while True:\n        pass",
    )
    nan = seed.replace('"combined_score": total / BEST_KNOWN', '"combined_score": float("nan")')
    settings = {"selftaught.toml": "time_limit_s = 1\nevaluator_time_limit_s = 2\n"}
    for name, evaluator, kind, reason in (
        ("crash", crashing, "evaluator_error", "evaluator broke"),
        ("hang", hanging, "timeout", "evaluate.py (plan)"),
        ("nan", nan, "check_error", "NaN"),
    ):
        task = load_task_folder(
            copy_of(SHINKA_EXAMPLE, tmp_path, name, **{"evaluate.py": evaluator, **settings})
        )
        result = score_solution(task, task.seed_solution(), "val", pool)
        assert (result.score, result.error_kind) == (0.0, kind), (name, result)
        assert reason in (result.error or ""), (name, result)
    task = load_task_folder(copy_of(SHINKA_EXAMPLE, tmp_path, "slow_program", **settings))
    raising = with_block(
        task.seed_solution(), "def construct_packing(n):\n    raise ValueError('no packing')\n"
    )
    looping = with_block(task.seed_solution(), "def construct_packing(n):\n    while True:\n        pass\n")
    for program, reason in ((raising, "no packing"), (looping, "timeout")):
        result = score_solution(task, program, "val", pool)
        assert result.score == 0.0 and result.error_kind == "check_error", result
        assert "incorrect" in result.error and reason in result.error, result


def test_a_shinka_candidate_runs_apart_from_its_evaluator(pool):
    task = get_task(str(SHINKA_EXAMPLE))
    # The candidate tries to reach the evaluator's process: patch run_shinka_eval's module and the
    # evaluator's validator. In its own child neither exists, so the run fails and scores 0.
    tamper = with_block(
        task.seed_solution(),
        """
        import sys

        def construct_packing(n):
            import shinka.core  # only the evaluator's child has it
            sys.modules["__main__"].validate_packing = lambda output: (True, None)
            return [[0.5, 0.5]] * n, [0.5] * n
        """,
    )
    result = score_solution(task, tamper, "val", pool)
    assert result.score == 0.0 and "ModuleNotFoundError" in result.error, result
    assert task.last_route == "split"


def test_a_shinka_evaluator_that_imports_the_program_itself_runs_jointly_and_is_still_checked(tmp_path, pool):
    evaluator = """
    import argparse, importlib.util, json, os

    def main(program_path, results_dir):
        spec = importlib.util.spec_from_file_location("program", program_path)
        program = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(program)
        centers, radii, total = program.run_packing()
        os.makedirs(results_dir, exist_ok=True)
        with open(os.path.join(results_dir, "metrics.json"), "w") as f:
            json.dump({"combined_score": total / 2.635983}, f)
        with open(os.path.join(results_dir, "correct.json"), "w") as f:
            json.dump({"correct": True, "error": None}, f)

    if __name__ == "__main__":
        parser = argparse.ArgumentParser()
        parser.add_argument("--program_path")
        parser.add_argument("--results_dir")
        args = parser.parse_args()
        main(args.program_path, args.results_dir)
    """
    task = load_task_folder(copy_of(SHINKA_EXAMPLE, tmp_path, "joint", **{"evaluate.py": evaluator}))
    result = score_solution(task, task.seed_solution(), "val", pool)
    assert result.error_kind is None and result.score == pytest.approx(SEED_SUM / 2.635983)
    assert task.last_route == "joint"


def test_a_test_evaluator_or_split_seeds_make_a_held_out_split(tmp_path, pool):
    test_evaluator = "def evaluate(program_path):\n    return {'combined_score': 0.125}\n"
    folder = copy_of(
        OPENEVOLVE_EXAMPLE,
        tmp_path,
        "with_test",
        **{
            "evaluator_test.py": test_evaluator,
            "selftaught.toml": "[splits]\ntest_evaluator = 'evaluator_test.py'\n",
        },
    )
    task = load_task_folder(folder)
    assert task.held_out
    assert score_solution(task, task.seed_solution(), "val", pool).score == pytest.approx(SEED_SUM / 2.635983)
    assert score_solution(task, task.seed_solution(), "test", pool).score == pytest.approx(0.125)
    random_evaluator = (
        "import random\n\ndef evaluate(program_path):\n    return {'combined_score': random.random()}\n"
    )
    seeded = load_task_folder(
        copy_of(
            OPENEVOLVE_EXAMPLE,
            tmp_path,
            "seeded",
            **{
                "evaluator.py": random_evaluator,
                "selftaught.toml": "[splits]\nval_seed = 1\ntest_seed = 2\n",
            },
        )
    )
    val = score_solution(seeded, seeded.seed_solution(), "val", pool).score
    test = score_solution(seeded, seeded.seed_solution(), "test", pool).score
    assert (
        val != test
        and val == score_solution(seeded, seeded.seed_solution() + "\n# other code\n", "val", pool).score
    )
