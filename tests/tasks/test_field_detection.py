"""Field-format folders: told apart by their files; malformed ones are one error line and exit status 2."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest
from tests.conftest import ROOT, run_cli

from selftaught.errors import UserInputError
from selftaught.tasks import get_task, load_task_folder
from selftaught.tasks.field import (
    ALGOTUNE,
    OPENEVOLVE,
    SELFTAUGHT,
    SHINKA,
    detect_format,
    recorded_task_notes,
    split_spec,
    task_record,
)
from selftaught.tasks.field.algotune import AlgoTuneTask
from selftaught.tasks.field.openevolve import OpenEvolveTask
from selftaught.tasks.field.shinka import ShinkaTask

EXAMPLES = ROOT / "examples"
OPENEVOLVE_EXAMPLE = EXAMPLES / "openevolve" / "circle_packing"
SHINKA_EXAMPLE = EXAMPLES / "shinka" / "circle_packing"
ALGOTUNE_EXAMPLE = EXAMPLES / "algotune" / "count_inversions"


def copy_of(example: Path, tmp_path: Path, name: str = "mytask") -> Path:
    target = tmp_path / name
    shutil.copytree(example, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def write(folder: Path, **files: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name.replace("__", ".")).write_text(textwrap.dedent(text))
    return folder


def test_each_example_folder_is_detected_in_its_own_format(tmp_path):
    assert detect_format(OPENEVOLVE_EXAMPLE) == OPENEVOLVE
    assert detect_format(SHINKA_EXAMPLE) == SHINKA
    assert detect_format(ALGOTUNE_EXAMPLE) == ALGOTUNE
    template = ROOT / "src" / "selftaught" / "tasks" / "template"
    assert detect_format(template) == SELFTAUGHT
    assert isinstance(load_task_folder(copy_of(OPENEVOLVE_EXAMPLE, tmp_path, "a")), OpenEvolveTask)
    assert isinstance(load_task_folder(copy_of(SHINKA_EXAMPLE, tmp_path, "b")), ShinkaTask)
    assert isinstance(load_task_folder(copy_of(ALGOTUNE_EXAMPLE, tmp_path, "c")), AlgoTuneTask)


def test_a_folder_named_like_a_builtin_gets_its_format_as_a_suffix():
    assert get_task(str(OPENEVOLVE_EXAMPLE)).name == "circle_packing@openevolve"
    assert get_task(str(SHINKA_EXAMPLE)).name == "circle_packing@shinka"


def test_a_spec_names_the_format_and_a_mismatch_is_refused(tmp_path):
    folder = copy_of(SHINKA_EXAMPLE, tmp_path)
    assert split_spec(f"shinka:{folder}") == ("shinka", str(folder))
    assert split_spec("circle_packing") == (None, "circle_packing")
    assert split_spec("C:/not/a/format") == (None, "C:/not/a/format")
    task = get_task(f"shinka:{folder}")
    assert task.spec == f"shinka:{folder.resolve()}"
    other = copy_of(OPENEVOLVE_EXAMPLE, tmp_path, "other")
    with pytest.raises(UserInputError, match="OpenEvolve format, not ShinkaEvolve"):
        get_task(f"shinka:{other}")


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"initial_program__py": "x = 1\n"}, "looks like the OpenEvolve format .* no evaluator.py"),
        ({"evaluate__py": "x = 1\n"}, "looks like the ShinkaEvolve format .* no initial.py"),
        ({"notes__txt": "nothing\n"}, "in no known format"),
        (
            {
                "initial_program__py": "x = 1\n",
                "evaluator__py": "def evaluate(p):\n    return {}\n",
                "initial__py": "x = 1\n",
                "evaluate__py": "x = 1\n",
            },
            "files of both OpenEvolve and ShinkaEvolve",
        ),
        (
            {"initial_program__py": "x = 1\n", "evaluator__py": "def score(p):\n    return {}\n"},
            "defines no function 'evaluate'",
        ),
        (
            {"initial_program__py": "def f(:\n", "evaluator__py": "def evaluate(p):\n    return {}\n"},
            "does not parse",
        ),
        (
            {
                "initial_program__py": "# EVOLVE-BLOCK-START\nx = 1\n",
                "evaluator__py": "def evaluate(p):\n    return {}\n",
            },
            "never closed by EVOLVE-BLOCK-END",
        ),
        (
            {"initial__py": "# EVOLVE-BLOCK-END\nx = 1\n", "evaluate__py": "x = 1\n"},
            "EVOLVE-BLOCK-END without",
        ),
        (
            {
                "initial__py": "x = 1\n",
                "evaluate__py": "x = 1\n",
                "selftaught__toml": "no_such_key = 1\n",
            },
            "no_such_key",
        ),
        (
            {
                "initial__py": "x = 1\n",
                "evaluate__py": "x = 1\n",
                "selftaught__toml": "[splits]\ntest_evaluator = 'missing.py'\n",
            },
            "has no missing.py",
        ),
        (
            {
                "task__py": (
                    "class T:\n"
                    "    def generate_problem(self, n, random_seed=1):\n"
                    "        raise ValueError('x')\n"
                    "    def solve(self, p):\n        return p\n"
                    "    def is_solution(self, p, s):\n        return True\n"
                )
            },
            r"generate_problem\(8, random_seed=0\) failed",
        ),
    ],
)
def test_malformed_folders_are_one_clear_error(tmp_path, files, message):
    folder = write(tmp_path / "bad", **files)
    with pytest.raises(UserInputError, match=message):
        load_task_folder(folder)


def test_tasks_check_on_a_malformed_folder_prints_one_line_and_exits_2(tmp_path):
    folder = write(tmp_path / "bad", initial_program__py="x = 1\n")
    result = run_cli("tasks", "check", str(folder))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "no evaluator.py" in lines[0]


def test_tasks_check_says_the_format_where_it_runs_and_that_there_is_no_held_out_split(tmp_path):
    folder = copy_of(SHINKA_EXAMPLE, tmp_path)
    result = run_cli("tasks", "check", str(folder), "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["format"] == "shinka" and payload["held_out"] is False
    assert "children of its own" in payload["route"]
    assert payload["seed_score_val"] == pytest.approx(26 / 12 / 2.635983)
    text = run_cli("tasks", "check", str(folder))
    assert text.returncode == 0, text.stderr
    assert "format: ShinkaEvolve" in text.stdout
    assert "no held-out split" in text.stderr


def test_an_evaluator_that_crashes_on_the_seed_makes_the_folder_invalid(tmp_path):
    folder = write(
        tmp_path / "crashy",
        initial_program__py="def f():\n    return 1\n",
        evaluator__py="def evaluate(program_path):\n    raise RuntimeError('evaluator broke')\n",
    )
    result = run_cli("tasks", "check", str(folder))
    assert result.returncode == 2
    assert "evaluator broke" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_split_settings_decide_whether_the_test_split_is_held_out(tmp_path):
    plain = copy_of(OPENEVOLVE_EXAMPLE, tmp_path, "plain")
    assert task_record(load_task_folder(plain))["held_out"] is False
    seeded = copy_of(OPENEVOLVE_EXAMPLE, tmp_path, "seeded")
    (seeded / "selftaught.toml").write_text("[splits]\nval_seed = 1\ntest_seed = 2\n")
    assert task_record(load_task_folder(seeded))["held_out"] is True
    same = copy_of(OPENEVOLVE_EXAMPLE, tmp_path, "same")
    (same / "selftaught.toml").write_text("[splits]\nval_seed = 1\ntest_seed = 1\n")
    assert task_record(load_task_folder(same))["held_out"] is False
    notes = recorded_task_notes(
        [
            f"openevolve:{plain}",
            f"openevolve:{seeded}",
            "maxcut",
            f"algotune:{ALGOTUNE_EXAMPLE}",
            "shinka:/gone",
        ]
    )
    assert [(n["format"], n["held_out"]) for n in notes] == [
        ("openevolve", False),
        ("openevolve", True),
        ("algotune", True),
        ("shinka", False),  # a folder that is gone has no settings file: no split given
    ]
    assert task_record(get_task("circle_packing")) == {
        "task": "circle_packing",
        "format": "builtin",
        "route": None,
        "held_out": True,
    }


def test_a_validation_evaluator_alone_is_not_a_held_out_split(tmp_path):
    folder = copy_of(OPENEVOLVE_EXAMPLE, tmp_path, "val_only")
    shutil.copy(folder / "evaluator.py", folder / "evaluator_val.py")
    (folder / "selftaught.toml").write_text("[splits]\nval_evaluator = 'evaluator_val.py'\n")
    assert task_record(load_task_folder(folder))["held_out"] is False
    (folder / "selftaught.toml").write_text(
        "[splits]\nval_evaluator = 'evaluator_val.py'\ntest_evaluator = 'evaluator.py'\n"
    )
    assert task_record(load_task_folder(copy_of(folder, tmp_path, "both")))["held_out"] is True
