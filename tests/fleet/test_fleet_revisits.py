"""Revisits in a fleet (SPEC §9): each done once across the workers."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest

from crawler.mirror.revisions import REVISIONS_DIR
from replica.site import kind_of
from tests.conftest import Mirror, ReplicaServer, replica_feeds
from tests.fleet.conftest import GRACE, finish, start_worker

T0 = datetime(2026, 1, 1, 8, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
ARTICLES = 12


@pytest.mark.slow
def test_three_workers_revisit_each_article_once_and_keep_one_revision(redis_url, tmp_path):
    with ReplicaServer(
        "--articles", str(ARTICLES), "--no-faults", "--latency-ms", "30"
    ) as replica:  # fmt: skip
        mirror = Mirror(tmp_path, replica_feeds(replica, "kunmingribao"))

        def run(at: timedelta) -> list[str]:
            replica.reset()
            extra = ("-s", "MIRROR_REVISIT=1h", "-s", f"MIRROR_NOW={(T0 + at).isoformat()}",
                     "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=2")  # fmt: skip
            workers = [start_worker(mirror, redis_url, "crawl", "kunmingribao", extra=extra)
                       for _ in range(3)]  # fmt: skip
            statuses = [finish(w) for w in workers]
            assert statuses == [0, 0, 0], [w.output[-3000:] for w in workers]
            return [w.out for w in workers]

        run(timedelta(0))
        posts = {name: path.read_bytes() for name, path in mirror.posts().items()}
        assert len(posts) == ARTICLES
        code = next(iter(posts))[11:-3]
        replica.revise(code, body="<p>更正后的正文。</p>")
        time.sleep(GRACE + 0.5)  # a new run of the fleet, not the end of the first
        outs = run(timedelta(hours=1))

        shares = {p: n for p, n in replica.stats()["by_path"].items()
                  if kind_of(urlsplit(p).path) == "share"}  # fmt: skip
        assert len(shares) == ARTICLES and set(shares.values()) == {1}, shares
        assert replica.stats()["max_in_flight"] <= 2
        kept = list((mirror.dir / REVISIONS_DIR / code).glob("*.md"))
        assert len(kept) == 1
        assert kept[0].read_bytes() == next(text for n, text in posts.items() if code in n)
        assert sum(int(o.split(" revisited")[0].rsplit(" ", 1)[1]) for o in outs if
                   " revisited" in o) == ARTICLES, outs  # fmt: skip

        # Nothing left due: a worker gave back no claim another worker answered.
        time.sleep(GRACE + 0.5)
        run(timedelta(hours=2))
        assert not [p for p in replica.stats()["by_path"] if kind_of(urlsplit(p).path) == "share"]
