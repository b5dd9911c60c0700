"""Several ``scrapy schedule`` processes of a fleet run each tick once between them."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from replica.site import kind_of
from tests.conftest import Mirror, replica_feeds
from tests.fleet.conftest import finish, start_worker

pytestmark = pytest.mark.slow


def test_two_schedulers_crawl_each_tick_once(slow_replica, redis_url, tmp_path):
    mirror = Mirror(tmp_path, replica_feeds(slow_replica, "kunmingribao", "yunnanribao"))
    slow_replica.reset()
    # No grace after a run: only the ticks keep a late scheduler from running it again.
    schedulers = [
        start_worker(mirror, redis_url, "schedule", "--every", "5s", "--max-runs", "2",
                     extra=("-s", "FLEET_RUN_GRACE=0"))
        for _ in range(2)
    ]  # fmt: skip
    assert [finish(s, timeout=120) for s in schedulers] == [0, 0], schedulers[0].output[-3000:]
    by_path = slow_replica.stats()["by_path"]
    ran = [{line.split("FLEET_TICK=")[1].split()[0] for line in s.lines if "FLEET_TICK=" in line}
           for s in schedulers]  # fmt: skip
    # Each ran two ticks, one at least the same as the other's. Mostly both ran
    # the same two; a scheduler that started past a tick's boundary (the two
    # start a second apart under load), or whose run outlasted --every, ran a
    # third one alone.
    assert [len(ticks) for ticks in ran] == [2, 2], ran
    assert ran[0] & ran[1], ran
    ticks = ran[0] | ran[1]
    # Each tick: each feed's first listing page read once, by one of them.
    assert by_path["/category/kunmingribao.html"] == len(ticks), (by_path, ran)
    assert by_path["/category/yunnanribao.html"] == len(ticks), (by_path, ran)
    # Each article fetched once over both ticks (500s aside: retried each run).
    articles = {p: n for p, n in by_path.items()
                if kind_of(urlsplit(p).path) in {"share", "api", "content"}}  # fmt: skip
    assert articles and all(n == 1 for p, n in articles.items() if "fault-500" not in p)
    assert len(mirror.posts()) == 80
