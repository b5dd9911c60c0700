"""Back-off of failing feeds on its own (crawler.mirror.backoff).

A scheduler's side (runs sat out, the state kept across schedulers, `status`)
is in tests/test_schedule.py.
"""

from __future__ import annotations

import logging

from crawler.mirror.backoff import FeedBackoff

FAILED = {"failed": "no listing page could be read: HTTP 500"}
OK = {"new": 3, "failed": ""}


def run(backoff: FeedBackoff, feeds: list[str], failing: set[str]) -> list[str]:
    """One scheduled run: the feeds it crawls, each failing or not."""
    crawled, _ = backoff.plan(feeds)
    backoff.record({name: FAILED if name in failing else OK for name in crawled})
    return crawled


def test_a_failing_feed_sits_out_more_runs_each_time_up_to_the_cap(tmp_path):
    backoff = FeedBackoff(tmp_path, max_skip=2)
    feeds = ["broken", "good"]
    crawled = [run(backoff, feeds, {"broken"}) for _ in range(7)]
    # Fails in runs 1 and 2 → sits out 1 (run 3); fails in 4 → sits out 3, capped
    # at 2 (runs 5, 6); fails in 7.
    assert [i for i, names in enumerate(crawled, 1) if "broken" in names] == [1, 2, 4, 7]
    assert all("good" in names for names in crawled)
    state = FeedBackoff(tmp_path, max_skip=2).load()  # as a new scheduler reads it
    assert state["broken"]["failures"] == 4 and state["broken"]["skip"] == 2
    assert state["broken"]["error"] == FAILED["failed"]
    assert "good" not in state


def test_one_run_that_works_clears_it(tmp_path, caplog):
    backoff = FeedBackoff(tmp_path, max_skip=5)
    for _ in range(2):
        run(backoff, ["flaky"], {"flaky"})
    assert backoff.plan(["flaky"])[0] == [], "sits one run out"
    with caplog.at_level(logging.INFO, logger="crawler.mirror.backoff"):
        assert run(backoff, ["flaky"], set()) == ["flaky"]
    assert backoff.load() == {}
    assert "Feed flaky works again after 2 failed runs" in caplog.text


def test_damaged_state_starts_afresh_with_a_warning(tmp_path, caplog):
    backoff = FeedBackoff(tmp_path, max_skip=2)
    backoff.path.parent.mkdir(parents=True)
    backoff.path.write_text("{not json", "utf-8")
    assert backoff.load() == {}
    assert f"Back-off state {backoff.path} is damaged" in caplog.text
    assert run(backoff, ["broken"], {"broken"}) == ["broken"]
    assert backoff.load()["broken"]["failures"] == 1
