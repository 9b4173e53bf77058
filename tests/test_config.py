"""Settings come in sections; what resume may change and what identifies an experiment follow from them."""

from __future__ import annotations

import warnings

import pytest

from selftaught.config import (
    COMPUTING_SETTINGS,
    RESUMABLE_SETTINGS,
    SECTIONS,
    ConfigWarning,
    RunConfig,
    load_config,
)
from selftaught.errors import UserInputError
from selftaught.experiments.session import experiment_digest

# as written by hand before the sections (kept here: recorded digests must not move)
RESUMABLE_BEFORE = {
    "max_calls", "max_cost", "max_concurrency", "request_timeout_s", "max_retries", "base_url",
    "api_key_env", "parallel_improvers", "price_prompt", "price_completion", "sandbox", "executor",
    "ray_address",
}  # fmt: skip


def test_every_setting_is_in_exactly_one_section_and_flat_access_still_works():
    names = [name for section in SECTIONS.values() for name in section.model_fields]
    assert sorted(names) == sorted(RunConfig.model_fields) and len(names) == len(set(names))
    config = RunConfig(model="script:x.py", tasks=["maxcut"], iterations=2, max_calls=3)
    assert (config.model, config.tasks, config.iterations, config.max_calls) == (
        "script:x.py",
        ["maxcut"],
        2,
        3,
    )
    assert config.model_dump()["iterations"] == 2  # recorded flat, as before


ADDED_SINCE = {"speculate"}  # execution settings added since, which change neither identity nor results


def test_resume_and_identity_sets_are_those_written_by_hand_before():
    assert set(RESUMABLE_SETTINGS) == RESUMABLE_BEFORE | ADDED_SINCE
    assert set(COMPUTING_SETTINGS) == set(RunConfig.model_fields) - RESUMABLE_BEFORE - ADDED_SINCE - {"cache"}


def test_an_experiment_digest_is_the_one_recorded_before_the_sections():
    config = RunConfig(
        model="script:x.py",
        tasks=["parity_noise", "maxcut"],
        iterations=2,
        max_calls=40,
        cache=False,
        request_timeout_s=30,
    )
    assert experiment_digest(config, "transfer", {"improver": "a.py"}) == "205590023d4ef8af"


def test_a_file_in_sections_loads_without_a_warning(tmp_path):
    file = tmp_path / "run.toml"
    file.write_text('[model]\nmodel = "local"\n[algorithm]\niterations = 2\n[budgets]\nmax_calls = 9\n')
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        config = load_config(file)
    assert (config.iterations, config.max_calls) == (2, 9)


def test_flat_keys_still_load_with_one_warning_naming_their_sections(tmp_path):
    file = tmp_path / "run.toml"
    file.write_text("iterations = 2\nmax_calls = 9\n")
    with pytest.warns(ConfigWarning) as caught:
        config = load_config(file)
    assert (config.iterations, config.max_calls) == (2, 9)
    assert len(caught) == 1 and "iterations in [algorithm]" in str(caught[0].message)


def test_a_setting_in_the_wrong_section_names_its_section(tmp_path):
    file = tmp_path / "run.toml"
    file.write_text("[algorithm]\nmax_calls = 9\n")
    with pytest.raises(UserInputError, match=r"belongs in \[budgets\]"):
        load_config(file)
