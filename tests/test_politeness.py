"""Per-host politeness within one process, counted at the source (the replica).

Scrapy 2.19 under its asyncio reactor lets more requests than
``CONCURRENT_REQUESTS_PER_DOMAIN`` reach a host at once, and every crawler of
a ``crawlall`` has its own bound; the politeness middleware holds the bound
for the whole process. The control (the middleware off) shows the test can fail.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import Mirror, ReplicaServer, replica_feeds


@pytest.fixture(scope="module")
def replica_50ms() -> Iterator[ReplicaServer]:
    server = ReplicaServer("--latency-ms", "50")
    yield server
    server.stop()


def crawl_all(replica: ReplicaServer, root, *settings: str) -> int:  # type: ignore[no-untyped-def]
    mirror = Mirror(root, replica_feeds(replica))
    replica.reset()
    result = mirror.scrapy("crawlall", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=3", *settings)
    assert result.returncode == 0, result.output[-3000:]
    assert len(mirror.posts()) > 200
    return replica.stats()["max_in_flight"]


def test_seven_feeds_in_one_process_keep_the_per_host_limit(replica_50ms, tmp_path):
    assert crawl_all(replica_50ms, tmp_path) <= 3


def test_without_the_middleware_scrapy_overshoots(replica_50ms, tmp_path):
    assert crawl_all(replica_50ms, tmp_path, "-s", "POLITENESS_ENABLED=False") > 3
