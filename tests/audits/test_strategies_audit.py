"""`selftaught audit strategies` labels hand-written improvers of each strategy, through a recorded run."""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).parents[1] / "analysis" / "fixtures"
NAMES = {
    "beam_search": "beam_or_tree_search",
    "genetic_model": "genetic_model_mutation",
    "genetic_character": "genetic_character_mutation",
    "simulated_annealing": "simulated_annealing",
    "decomposition": "decomposition",
    "bandit": "multi_armed_bandit",
    "varying_temperature": "varying_temperature",
    "self_refinement": "self_refinement",
}
ORDER = sorted(NAMES)

# asked to improve an improver, sample k returns the k-th hand-written improver; anything else: no code
MODEL = f"""
from pathlib import Path

SOURCES = [Path({str(FIXTURES)!r}, name + ".py").read_text() for name in {ORDER!r}]


def respond(system, user, temperature, sample):
    if "def improve_algorithm" in user:
        return "```python\\n" + SOURCES[sample % len(SOURCES)] + "```\\n"
    return "No code this time."
"""

JUDGE = """
def respond(system, user, temperature, sample):
    label = "simulated annealing" if "math.exp" in user else "none"
    return "The improver keeps the best rewrite.\\nLABELS: " + label
"""


def test_each_hand_written_improver_gets_its_label_and_the_seed_none(write_script, cli, sql):
    model = write_script(MODEL)
    settings = ["--iterations", "1", "--n-tests", "1", "--calls", "1", "--samples", "8", "--timeout", "20"]
    run_id = cli("run", "--model", model, *settings)["run_id"]
    result = cli("audit", "strategies", run_id)
    assert result["status"] == "finished" and result["subject_run_id"] == run_id
    by_source = {item["code_hash"]: item for item in result["improvers"]}
    seed_hash = sql("SELECT improver_hash FROM iterations WHERE run_id = ? AND iteration = 0", (run_id,))[0][
        0
    ]
    assert by_source[seed_hash]["labels"] == {}  # the plain seed improver: no strategy
    texts = {h: sql("SELECT source FROM sources WHERE hash = ?", (h,))[0][0] for h in by_source}
    for fixture, strategy in NAMES.items():
        source = (FIXTURES / f"{fixture}.py").read_text().rstrip("\n")
        (item,) = [by_source[h] for h, text in texts.items() if text == source]
        assert list(item["labels"]) == [strategy], fixture
        lines = source.splitlines()
        for evidence in item["labels"][strategy]:
            assert lines[evidence["line"] - 1].strip() == evidence["text"]
    assert result["counts"] == {strategy: 1 for strategy in NAMES.values()}
    per_iteration = {row["iteration"]: row["counts"] for row in result["counts_by_iteration"]}
    assert sum(per_iteration[1].values()) == len(NAMES) and sum(per_iteration[0].values()) == 0
    audit_run = result["run_id"]
    stored = sql("SELECT COUNT(*) FROM audit_items WHERE run_id = ? AND classifier = 'ast'", (audit_run,))
    assert stored[0][0] == len(result["improvers"])

    judged = cli("audit", "strategies", run_id, "--judge", write_script(JUDGE, "judge.py"))
    assert judged["judge_counts"]["simulated_annealing"] == 1
    assert sum(judged["judge_counts"].values()) == 1
    calls = sql("SELECT SUM(n), SUM(cached_samples) FROM model_calls WHERE run_id = ?", (judged["run_id"],))
    assert calls[0] == (len(judged["improvers"]), 0)
    again = cli("audit", "strategies", run_id, "--judge", write_script(JUDGE, "judge.py"))
    calls = sql("SELECT SUM(n), SUM(cached_samples) FROM model_calls WHERE run_id = ?", (again["run_id"],))
    assert calls[0] == (len(judged["improvers"]), len(judged["improvers"]))  # the judge's answers are cached
