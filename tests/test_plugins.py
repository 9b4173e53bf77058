"""Plugins by entry point: the example plugin package installed offline and used through the real command
line, broken plugins as one line each, the built-ins declared like any plugin, lazy discovery."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

from selftaught import plugins
from selftaught.models import ModelKind, register_model_kind, resolve_model
from selftaught.models.registry import _KINDS
from selftaught.tasks import builtin_names, get_task
from selftaught.tasks.seed_scores import cache_key
from tests.conftest import EXAMPLE_MODEL, ROOT, run_cli

EXAMPLE_PLUGIN = ROOT / "examples" / "plugin"


def _setuptools_builds_wheels() -> bool:
    """--no-build-isolation needs setuptools (>= 70.1 builds wheels by itself; the dev extra has it)."""
    if importlib.util.find_spec("setuptools") is None:
        return False
    from setuptools import __version__

    major, minor = (int(part) for part in __version__.split(".")[:2])
    return (major, minor) >= (70, 1) or importlib.util.find_spec("wheel") is not None


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The example plugin, built from a copy of its folder and installed into a folder of its own, offline."""
    if not _setuptools_builds_wheels():
        pytest.skip("building the example plugin offline needs setuptools >= 70.1 (pip install -e '.[dev]')")
    root = tmp_path_factory.mktemp("plugin")
    source = shutil.copytree(EXAMPLE_PLUGIN, root / "source")  # the build writes build/ and egg-info there
    target = root / "site"
    pip = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--no-deps",
        "--no-build-isolation",
        "--no-index",
    ]
    done = subprocess.run([*pip, "--target", str(target), str(source)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return target


def _env(tmp_path: Path, *paths: Path) -> dict[str, str]:
    """The plugin folders on the path; a seed-score cache pre-filled for the built-ins (test_cli_tasks.py)."""
    cache = tmp_path / "cache"
    cache.mkdir(exist_ok=True)
    entries = {
        cache_key(get_task(name)): {"val": 0.25, "test": 0.75, "task": name} for name in builtin_names()
    }
    (cache / "seed_scores.json").write_text(json.dumps(entries))
    pythonpath = os.pathsep.join([*map(str, paths), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return {
        **os.environ,
        "PYTHONPATH": pythonpath,
        "SELFTAUGHT_CACHE_DIR": str(cache),
        "SELFTAUGHT_STORE": str(tmp_path / "s.db"),
    }


def test_the_example_plugin_adds_a_task_and_a_model_kind(installed, tmp_path):
    env = _env(tmp_path, installed)
    listed = run_cli("tasks", "list", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    items = {item["name"]: item for item in json.loads(listed.stdout)}
    assert set(items) == set(builtin_names()) | {"number_partition"}
    assert (
        0.05 < items["number_partition"]["seed_score_val"] < 0.6
    )  # alternate sides, measured in the sandbox
    shown = run_cli("tasks", "show", "number_partition", env=env)
    assert shown.returncode == 0 and "def utility(algorithm_str: str)" in shown.stdout
    models = run_cli("models", env=env)
    assert models.returncode == 0 and "canned" in models.stdout and "script" in models.stdout
    assert "warning" not in models.stderr


def test_a_run_and_an_evaluation_with_the_plugin_model_on_the_plugin_task(installed, tmp_path):
    env = _env(tmp_path, installed)
    small = ("--tasks", "number_partition", "--n-tests", "1", "--calls", "1", "--parallel", "1")
    run = run_cli("run", "--model", "canned:3", *small, "-T", "1", "--samples", "3", "--json", env=env)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["status"] == "finished"
    seed, first = result["iterations"]
    assert seed["meta_utility_val"] > 0.9  # the canned greedy partition, chosen over an answer without code
    assert first["status"] == "improved" and first["meta_utility_val"] > 0.9
    improver = tmp_path / "improver.py"
    improver.write_text(
        textwrap.dedent(
            """
            from helpers import extract_code

            def improve_algorithm(initial_solution, utility, language_model):
                answers = language_model.batch_prompt("expert", ["Improve:\\n" + initial_solution])
                return max([a for a in extract_code(answers) if a] + [initial_solution], key=utility)
            """
        )
    )
    evaluated = run_cli("evaluate-improver", str(improver), "--model", "canned", *small, "--json", env=env)
    assert evaluated.returncode == 0, evaluated.stderr
    assert json.loads(evaluated.stdout)["per_task"]["number_partition"] > 0.9


def _broken_plugin(root: Path) -> Path:
    """An installed package (its metadata written by hand) whose entry points are all wrong in some way."""
    site = root / "broken-site"
    package = site / "brokenplugin"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("NOT_A_KIND = 42\n")
    (package / "boom.py").write_text("raise RuntimeError('this plugin is broken')\n")
    info = site / "brokenplugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: brokenplugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        textwrap.dedent(
            """
            [selftaught.models]
            boom = brokenplugin.boom:KIND
            wrong = brokenplugin:NOT_A_KIND

            [selftaught.tasks]
            missing = brokenplugin.nowhere:Task
            maxcut = brokenplugin:NOT_A_KIND

            [selftaught.executors]
            wrong = brokenplugin:NOT_A_KIND
            """
        )
    )
    return site


def _one_line(result, prefix: str) -> str:
    """The one stderr line that starts with `prefix` (the shadowed `maxcut` adds a warning line elsewhere)."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "Traceback" not in result.stderr, result.stderr
    assert all(line.startswith(("error:", "warning:")) for line in lines), lines
    chosen = [line for line in lines if line.startswith(prefix)]
    assert len(chosen) == 1, lines
    return chosen[0]


def test_a_broken_plugin_is_one_line_and_the_built_ins_go_on(tmp_path):
    env = _env(tmp_path, _broken_plugin(tmp_path))
    models = run_cli("models", env=env)
    assert models.returncode == 0 and "script" in models.stdout and "openai" in models.stdout
    warnings = [line for line in models.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 2 and "Traceback" not in models.stderr, models.stderr
    boom, wrong = sorted(warnings)
    assert "'boom' of package brokenplugin" in boom and "RuntimeError: this plugin is broken" in boom
    assert "selftaught.models: wrong = brokenplugin:NOT_A_KIND" in wrong and "found int" in wrong

    line = _one_line(run_cli("run", "--model", "boom:x", "--tasks", "maxcut", env=env), "error:")
    assert "entry point selftaught.models: boom = brokenplugin.boom:KIND" in line
    line = _one_line(run_cli("tasks", "show", "missing", env=env), "error:")
    assert "'missing' of package brokenplugin" in line and "ModuleNotFoundError" in line
    builtin = run_cli("tasks", "show", "maxcut", "--seed", env=env)  # the built-in, not the plugin's
    assert builtin.returncode == 0 and builtin.stdout == get_task("maxcut").seed_solution()
    assert builtin.stderr.count("\n") == 1
    line = _one_line(builtin, "warning:")
    assert "'maxcut' of package brokenplugin" in line and "ignored: it takes a built-in's name" in line
    args = ("run", "--model", f"script:{EXAMPLE_MODEL}", "--executor", "wrong", "-T", "0", "--n-tests", "1")
    line = _one_line(run_cli(*args, env=env), "error:")
    assert "entry point selftaught.executors: wrong = brokenplugin:NOT_A_KIND" in line


def test_plugins_are_imported_only_when_asked_for(installed, tmp_path):
    probe = textwrap.dedent(
        f"""
        import sys
        from selftaught.models import resolve_model
        from selftaught.tasks import get_task, task_names
        assert "number_partition" in task_names()
        get_task("maxcut").seed_solution()
        resolve_model("script:{EXAMPLE_MODEL}")
        assert "selftaught_example_plugin" not in sys.modules, "discovery imported the plugin"
        assert get_task("number_partition").name == "number_partition"
        assert "selftaught_example_plugin.task" in sys.modules
        assert "selftaught_example_plugin.model" not in sys.modules
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], env=_env(tmp_path, installed), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


def test_the_built_ins_are_declared_as_entry_points_in_pyproject():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]
    assert {group: declared[group] for group in plugins.GROUPS} == plugins.BUILTINS
    for group in plugins.GROUPS:
        found = plugins.discover(group)
        assert list(found)[: len(plugins.BUILTINS[group])] == list(plugins.BUILTINS[group])
        assert all(plugin.builtin for name, plugin in found.items() if name in plugins.BUILTINS[group])


def test_without_metadata_the_built_ins_still_resolve(monkeypatch):
    monkeypatch.setattr(plugins.metadata, "entry_points", lambda **_: [])
    plugins.forget()
    try:
        assert set(builtin_names()) == set(plugins.BUILTINS[plugins.TASKS])
        assert resolve_model(f"script:{EXAMPLE_MODEL}").identity.startswith("script:")
    finally:
        monkeypatch.undo()
        plugins.forget()


def test_a_kind_registered_in_process_wins_and_unknown_names_list_the_known(monkeypatch):
    from selftaught.errors import UserInputError
    from selftaught.models.scripted import ScriptedModel

    monkeypatch.setitem(_KINDS, "mine", _KINDS.get("mine"))  # restored after the test
    register_model_kind(
        ModelKind("mine", "mine - a test kind", lambda arg, opts: ScriptedModel.from_path(arg))
    )
    assert resolve_model(f"mine:{EXAMPLE_MODEL}").identity.startswith("script:")
    with pytest.raises(UserInputError, match="known kinds: .*local.*mine.*openai"):
        resolve_model("nope:x")
