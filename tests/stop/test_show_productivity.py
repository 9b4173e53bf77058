"""`show` of a STOP run states each improver's metaproductivity and the USD per point gained."""

from __future__ import annotations

import json

from tests.conftest import EXAMPLE_MODEL, run_cli

MODEL = f"script:{EXAMPLE_MODEL}"


def test_show_states_metaproductivity_and_cost_per_gain(tmp_path):
    store = str(tmp_path / "s.db")
    args = ("--model", MODEL, "-T", "2", "--n-tests", "1", "--samples", "3", "--calls", "2")
    started = run_cli(
        "run", *args, "--price-prompt", "1", "--price-completion", "2", "--store", store, "--json"
    )
    assert started.returncode == 0, started.stderr
    run_id = json.loads(started.stdout.strip().splitlines()[-1])["run_id"]
    shown = run_cli("show", run_id, "--store", store, "--json")
    assert shown.returncode == 0, shown.stderr
    payload = json.loads(shown.stdout)
    rows = {row["iteration"]: row for row in payload["metaproductivity"]}
    assert rows[0]["parent"] is None and rows[0]["descendants"] == [1, 2]  # the scripted run improves twice
    assert rows[0]["metaproductivity"] is not None and rows[2]["metaproductivity"] is None
    gain = payload["cost_per_gain"]
    assert gain["gain_points"] > 0 and gain["requests"] > 0
    text = " ".join(run_cli("show", run_id, "--store", store).stdout.split())
    assert "metaproductivity" in text and "per point gained" in text
