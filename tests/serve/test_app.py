"""The served pages over HTTP: what they show, live updates, escaping, the token, read-only."""

from __future__ import annotations

import hashlib
import re
import sqlite3
import urllib.parse

import pytest

from tests.report.hostile import assert_inert, hostile
from tests.serve.conftest import get, serve_extra_missing, serving

pytestmark = pytest.mark.skipif(serve_extra_missing() is not None, reason=serve_extra_missing() or "")

OURS = ("/static/live.js",)


@pytest.fixture(scope="module")
def served(store_with_runs):
    with serving(store_with_runs.path) as url:
        yield url


def test_the_runs_list_shows_runs_and_experiments(served, store_with_runs):
    page = get(served + "/")
    assert page.status == 200 and page.headers["content-type"].startswith("text/html")
    runs = page.body[page.body.index('id="runs"') : page.body.index('id="experiments"')]
    experiments = page.body[page.body.index('id="experiments"') : page.body.index('id="compare"')]
    assert f'href="/runs/{store_with_runs.run_id}"' in runs and store_with_runs.experiment_id not in runs
    assert f'href="/runs/{store_with_runs.experiment_id}"' in experiments and "baselines" in experiments
    assert re.search(r"<td>\w+ \d\.\d{3}</td>", experiments)  # the best arm so far, and its mean
    row = runs[runs.index(store_with_runs.run_id) :].split("</tr>")[0]
    assert "finished" in row and "2 of 2" in row  # status, iterations of planned
    assert "default-src 'none'" in page.headers["content-security-policy"]


def test_a_run_page_holds_the_reports_sections_and_the_live_ones(served, store_with_runs):
    page = get(f"{served}/runs/{store_with_runs.run_id}")
    assert page.status == 200
    for part in (
        "summary",
        "progress",
        "iterations",
        "failures",
        "usage",
        "improver-runs",
        "lineage",
        "config",
    ):
        assert f'id="part-{part}"' in page.body, part
    assert "<svg" in page.body and "No iteration in progress" in page.body
    assert f'href="/runs/{store_with_runs.run_id}/texts/' in page.body and 'id="texts"' not in page.body
    text_link = page.body.split(f'href="/runs/{store_with_runs.run_id}/texts/')[1].split('"')[0]
    text = get(f"{served}/runs/{store_with_runs.run_id}/texts/{text_link}")
    assert text.status == 200 and "<pre" in text.body
    assert get(f"{served}/runs/{store_with_runs.run_id}/texts/{'0' * 64}").status == 404
    assert get(f"{served}/runs/no-such-run").status == 404


def test_a_live_poll_answers_204_until_the_version_moves(served, store_with_runs):
    url = f"{served}/runs/{store_with_runs.run_id}"
    first = get(url + "?live=0")
    assert first.status == 200
    update = first.json()
    assert {"summary", "iterations", "progress"} <= set(update["parts"])
    assert get(url + "?live=" + urllib.parse.quote(update["version"])).status == 204
    listing = get(served + "/?live=0").json()
    assert get(served + "/?live=" + urllib.parse.quote(listing["version"])).status == 204


def test_experiment_and_comparisons(served, store_with_runs):
    experiment = get(f"{served}/runs/{store_with_runs.experiment_id}")
    assert experiment.status == 200 and 'id="part-arm-rows"' in experiment.body
    assert "chain_of_thought" in experiment.body and 'action="/compare"' in experiment.body
    arms = get(f"{served}/compare?run={store_with_runs.experiment_id}&a=chain_of_thought&b=greedy_iterative")
    assert arms.status == 200 and "paired difference" in arms.body
    assert arms.body.count("<tr>") >= 2  # header and one pair
    both = get(f"{served}/compare?a={store_with_runs.run_id}&b={store_with_runs.hostile_id}")
    assert both.status == 200 and 'class="parts pair"' in both.body
    assert 'id="part-left"' in both.body and 'id="part-right"' in both.body


def test_every_page_keeps_hostile_text_inert(served, store_with_runs):
    run = store_with_runs.hostile_id
    arm = urllib.parse.quote(hostile("arm"))
    urls = [
        "/",
        f"/runs/{run}",
        f"/compare?a={run}&b={store_with_runs.run_id}",
        f"/compare?run={run}&a={arm}&b=x",
    ]
    page = get(served + f"/runs/{run}")
    texts = sorted(set(page.body.split(f'href="/runs/{run}/texts/')[1:]))
    urls += [f"/runs/{run}/texts/{t.split(chr(34))[0]}" for t in texts]
    assert len(urls) > 6
    shown = ""
    for url in urls:
        reply = get(served + url)
        assert reply.status == 200, url
        shown += assert_inert(reply.body, OURS)
        live = get(served + url + ("&" if "?" in url else "?") + "live=0")
        if live.status == 200:  # the live parts too, as the page's script puts them in place
            for html in live.json()["parts"].values():
                shown += assert_inert(html)
    for name in ("model spec", "reason", "iteration error", "answer", "improver error", "arm", "event kind"):
        assert hostile(name) in shown, name


def test_only_get_is_served_and_only_for_loopback_names(served):
    assert get(served + "/", method="POST").status == 405
    assert get(served + "/", headers={"Host": "attacker.example"}).status == 421
    assert get(served + "/", headers={"Host": "localhost:1234"}).status == 200


def test_a_token_is_checked_on_every_request(store_with_runs):
    with serving(store_with_runs.path, token="s3cret") as url:
        assert get(url + "/").status == 401
        assert get(url + "/static/live.js").status == 401
        assert get(url + "/?token=wrong").status == 401
        opened = get(url + "/?token=s3cret")  # once: a cookie, and the address without the token
        assert opened.status == 303 and opened.headers["location"] == "/"
        assert opened.headers["set-cookie"].startswith("selftaught_token=s3cret;")
        assert (
            "HttpOnly" in opened.headers["set-cookie"] and "SameSite=Strict" in opened.headers["set-cookie"]
        )
        deep = get(url + "/compare?a=x&token=s3cret&b=y")
        assert deep.status == 303 and deep.headers["location"] == "/compare?a=x&b=y"
        assert get(url + "/", headers={"Cookie": "selftaught_token=s3cret"}).status == 200
        assert get(url + "/", headers={"Authorization": "Bearer s3cret"}).status == 200
        assert get(url + "/", headers={"Cookie": "selftaught_token=nope"}).status == 401


def test_loopback_addresses_are_told_apart():
    from selftaught.serve.access import is_loopback

    assert all(is_loopback(h) for h in ("127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "192.168.1.2", "example.org"))


def test_serving_never_writes_the_store_and_does_not_block_a_writer(store_with_runs, tmp_path):
    from selftaught.serve.readonly import ReadOnlyStore

    copy = tmp_path / "runs.db"
    with sqlite3.connect(store_with_runs.path) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    before = hashlib.sha256(copy.read_bytes()).hexdigest()
    with serving(copy) as url:
        assert get(url + "/").status == 200 and get(f"{url}/runs/{store_with_runs.run_id}").status == 200
    assert hashlib.sha256(copy.read_bytes()).hexdigest() == before
    store = ReadOnlyStore.open(copy)
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        store.query("INSERT INTO run_status (run_id, status, at) VALUES ('x', 'finished', 0)")
    writer = sqlite3.connect(copy, timeout=0, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    with store.snapshot():  # a page reading: the writer goes on at once, and the page sees its snapshot
        seen = store.query("SELECT COUNT(*) FROM run_status")[0][0]
        writer.execute("INSERT INTO run_status (run_id, status, at) VALUES ('x', 'finished', 0)")
        assert store.query("SELECT COUNT(*) FROM run_status")[0][0] == seen
    assert store.query("SELECT COUNT(*) FROM run_status")[0][0] == seen + 1
    writer.close()
    store.close()


def test_a_live_update_sends_only_the_parts_that_changed(store_with_runs, tmp_path):
    copy = tmp_path / "runs.db"
    with sqlite3.connect(store_with_runs.path) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    run = store_with_runs.run_id
    with serving(copy) as url:
        page = get(f"{url}/runs/{run}")
        version = page.body.split('data-version="')[1].split('"')[0]
        assert get(f"{url}/runs/{run}?live={urllib.parse.quote(version)}").status == 204
        with sqlite3.connect(copy) as writer:  # another process goes on writing: the run is resumed
            writer.execute(
                "INSERT INTO run_status (run_id, status, reason, at) VALUES (?, 'running', NULL, 0)", (run,)
            )
        update = get(f"{url}/runs/{run}?live={urllib.parse.quote(version)}").json()
        assert update["version"] != version
        assert "summary" in update["parts"] and "running" in update["parts"]["summary"]
        assert not {"improver-runs", "lineage", "iterations", "config"} & set(update["parts"])
