"""Strategy labels from the syntax tree, on hand-written improvers, and the judge's answer parser."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from selftaught.analysis.packaged import IMPROVER_FILES, improver_source
from selftaught.analysis.strategies import Strategy, classify_strategies
from selftaught.analysis.strategy_judge import judge_message, parse_judge_labels
from selftaught.tasks import get_task

FIXTURES = Path(__file__).parent / "fixtures"
EXPECTED = {
    "beam_search": Strategy.BEAM_OR_TREE_SEARCH,
    "genetic_model": Strategy.GENETIC_MODEL_MUTATION,
    "genetic_character": Strategy.GENETIC_CHARACTER_MUTATION,
    "simulated_annealing": Strategy.SIMULATED_ANNEALING,
    "decomposition": Strategy.DECOMPOSITION,
    "bandit": Strategy.MULTI_ARMED_BANDIT,
    "varying_temperature": Strategy.VARYING_TEMPERATURE,
    "self_refinement": Strategy.SELF_REFINEMENT,
}


def test_every_strategy_has_a_fixture():
    assert set(EXPECTED.values()) == set(Strategy)
    assert {path.stem for path in FIXTURES.glob("*.py")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_hand_written_improvers_get_exactly_their_label(name):
    source = (FIXTURES / f"{name}.py").read_text()
    report = classify_strategies(source)
    assert report.parsed
    assert report.names == [EXPECTED[name].value]
    (label,) = report.labels
    lines = source.splitlines()
    assert label.lines and list(label.lines) == sorted(label.lines)
    assert label.evidence == tuple(lines[i - 1].strip() for i in label.lines)


@pytest.mark.parametrize(
    ("name", "must_show"),
    [
        ("beam_search", "sorted(scored, reverse=True)[:width]"),
        ("simulated_annealing", "math.exp"),
        ("bandit", "math.sqrt(2 * math.log"),
        ("varying_temperature", "temperature=temperature"),
        ("self_refinement", "language_model.prompt"),
        ("decomposition", "ast.FunctionDef"),
        ("genetic_character", "string.printable"),
        ("genetic_model", "language_model.prompt"),
    ],
)
def test_evidence_points_at_the_deciding_construct(name, must_show):
    (label,) = classify_strategies((FIXTURES / f"{name}.py").read_text()).labels
    assert any(must_show in line for line in label.evidence), label.evidence


@pytest.mark.parametrize("name", sorted(IMPROVER_FILES))
def test_seed_baselines_and_variants_are_unlabelled(name):
    assert classify_strategies(improver_source(name)).names == []


def test_the_sandbox_seed_and_strategy_words_in_prompts_are_unlabelled():
    assert classify_strategies(get_task("sandbox").seed_solution()).names == []
    seed = improver_source("seed")
    worded = seed.replace(
        "Write an improved version",
        "Use beam search, simulated annealing or a genetic algorithm. Write an improved version",
    )
    assert worded != seed and classify_strategies(worded).names == []


def test_near_misses_are_not_labelled():
    constant_temperature = (
        improver_source("seed")
        .replace("temperature=0.7", "temperature=TEMPERATURE")
        .replace("def improve_algorithm", "TEMPERATURE = 0.7\n\n\ndef improve_algorithm")
    )
    assert classify_strategies(constant_temperature).names == []
    two_temperatures = (
        (FIXTURES / "varying_temperature.py")
        .read_text()
        .replace(
            "for temperature in (0.2, 0.7, 1.2):", "for temperature in [0.7]:\n        temperature = 0.7"
        )
    )
    assert Strategy.VARYING_TEMPERATURE.value not in classify_strategies(two_temperatures).names
    # selection by score is not feedback: the greedy baseline shows the best program, not its score
    greedy = improver_source("greedy_iterative")
    assert "best_score" in greedy and classify_strategies(greedy).names == []
    with_score = greedy.replace("Here is the best program found so far:", "Best so far (score {best_score}):")
    assert classify_strategies(with_score).names == [Strategy.SELF_REFINEMENT.value]


def test_unparseable_source():
    report = classify_strategies("def improve_algorithm(:\n")
    assert not report.parsed and report.labels == ()


def test_judge_message_embeds_the_improver():
    message = judge_message("def improve_algorithm(a, b, c):\n    return a\n")
    assert "def improve_algorithm(a, b, c):" in message and "{improver}" not in message
    for strategy in Strategy:
        assert strategy.value in message
    assert "LABELS:" in message


@pytest.mark.parametrize(
    ("answer", "labels"),
    [
        ("It keeps a beam.\nLABELS: beam_or_tree_search", ["beam_or_tree_search"]),
        ("LABELS: Simulated Annealing, self-refinement", ["simulated_annealing", "self_refinement"]),
        ("labels: none", []),
        (
            "**LABELS:** multi_armed_bandit; varying_temperature",
            ["multi_armed_bandit", "varying_temperature"],
        ),
        (
            "LABELS: beam search, tree search, genetic algorithm",
            ["beam_or_tree_search", "genetic_model_mutation"],
        ),
        ("LABELS: decomposition\nWait, let me revise.\nLABELS: none", []),
        ("LABELS: quantum annealing, decomposition, decomposition", ["decomposition"]),
        ("I think it uses beam search.", []),
        ("", []),
    ],
)
def test_parse_judge_labels(answer, labels):
    assert parse_judge_labels(answer) == labels


@given(st.text())
def test_parse_judge_labels_is_total(text):
    labels = parse_judge_labels(text)
    assert all(label in Strategy._value2member_map_ for label in labels)
    assert len(labels) == len(set(labels))


@given(st.lists(st.sampled_from(list(Strategy)), unique=True), st.text(alphabet="abc .\n", max_size=40))
def test_parse_judge_labels_round_trips(chosen, preamble):
    text = f"{preamble}\nLABELS: {', '.join(s.value for s in chosen) or 'none'}"
    assert parse_judge_labels(text) == [s.value for s in chosen]


def test_parse_judge_labels_rejects_non_text():
    assert parse_judge_labels(None) == []  # type: ignore[arg-type]
