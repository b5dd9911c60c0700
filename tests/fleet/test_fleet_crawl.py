"""A fleet of workers on a real Redis crawls the replica once between them (SPEC §8).

Every worker is a real ``scrapy`` process; what they did is read back from
the mirror they wrote and from the replica's own request counts.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from urllib.parse import urlsplit

import pytest

from crawler.fleet.connection import Keys
from crawler.mirror.paths import INDEX_FILE, STATE_DIR
from crawler.mirror.runlog import RunLog
from replica.site import kind_of
from tests.conftest import FAST, Mirror, ReplicaServer, replica_feeds
from tests.fleet.conftest import (
    RedisServer,
    finish,
    fleet_args,
    start_worker,
    wait_until_expired,
)
from tests.utils.cmdline import run_scrapy, scrapy_env

pytestmark = pytest.mark.slow
KEYS = Keys("news-mirror")  # FLEET_KEY_PREFIX

ARTICLE_KINDS = {"share", "api", "content"}
# Every kind of feed (HTML, GBK, content API, list APIs), none sharing
# articles with another: which feed finds a shared article first is a race.
FEEDS = ("kunmingribao", "chunchengwanbao", "yunnanribao", "yunnanwang", "dalidaily")
NEW = re.compile(r"^\d+ feeds?, (\d+) new posts?", re.M)


def contents(mirror: Mirror) -> dict[str, bytes]:
    return {name: path.read_bytes() for name, path in mirror.posts().items()}


def requested(replica: ReplicaServer) -> dict[str, int]:
    """Requests by path, robots.txt aside (each worker reads it once per crawler)."""
    return {p: n for p, n in replica.stats()["by_path"].items() if p != "/robots.txt"}


def new_posts(output: str) -> int:
    found = NEW.search(output)
    assert found, output[-3000:]
    return int(found[1])


def index_commits(mirror: Mirror) -> dict[str, int]:
    """How many times each infoCode was recorded as written in the folder's index."""
    counts: dict[str, int] = {}
    for line in (mirror.dir / STATE_DIR / INDEX_FILE).read_text("utf-8").splitlines():
        code, kind = line.split("\t")[:2]
        if kind == "m":
            counts[code] = counts.get(code, 0) + 1
    return counts


@pytest.fixture(scope="module")
def reference(slow_replica, tmp_path_factory) -> tuple[dict[str, bytes], dict[str, int]]:
    """One process, no Redis: the posts and the requests of a whole crawl."""
    mirror = Mirror(tmp_path_factory.mktemp("reference"), replica_feeds(slow_replica, *FEEDS))
    slow_replica.reset()
    # Page by page, as a fleet walks a listing (one process may fetch pages ahead).
    result = mirror.scrapy("crawlall", "-s", "MIRROR_LISTING_PREFETCH=0")
    assert result.returncode == 0, result.output[-3000:]
    return contents(mirror), requested(slow_replica)


def test_three_workers_do_one_crawl_once(slow_replica, redis_url, tmp_path, reference):
    posts, requests = reference
    mirror = Mirror(tmp_path, replica_feeds(slow_replica, *FEEDS))
    slow_replica.reset()
    limit = ("-s", "CONCURRENT_REQUESTS_PER_DOMAIN=2")
    workers = [start_worker(mirror, redis_url, "crawlall", extra=limit) for _ in range(3)]
    statuses = [finish(w) for w in workers]
    assert statuses == [0, 0, 0], [
        w.output[-3000:] for w, s in zip(workers, statuses, strict=True) if s
    ]

    # Every post, byte for byte as one process writes it, written once.
    assert contents(mirror) == posts
    assert set(index_commits(mirror).values()) == {1}
    # Each share page, content API call and listing page asked for as often
    # as one process asks for it: once (retried 500s aside, as in one process).
    fleet = requested(slow_replica)
    assert fleet == requests
    assert all(n == 1 for p, n in fleet.items() if kind_of(urlsplit(p).path) in ARTICLE_KINDS
               and "fault-500" not in p)  # fmt: skip
    # Together, never more than the per-host limit at the source.
    assert slow_replica.stats()["max_in_flight"] <= 2
    # The work was spread: every worker wrote posts, and they add up.
    written = [new_posts(w.out) for w in workers]
    assert all(n > 0 for n in written), written
    assert sum(written) == len(posts)

    # The next run reads every feed's first listing page again, once, and
    # fetches no article but those that failed with a 500 (tried each run).
    wait_until_expired(redis_url, KEYS.feed("*", "ended"))  # a new run, not the end of this one
    slow_replica.reset()
    again = [start_worker(mirror, redis_url, "crawlall") for _ in range(2)]
    assert [finish(w) for w in again] == [0, 0]
    second = requested(slow_replica)
    assert not [p for p in second if kind_of(urlsplit(p).path) in ARTICLE_KINDS
                and "fault-500" not in p]  # fmt: skip
    firsts = [p for p in requests if p.startswith("/category/") and "_" not in p]
    assert firsts and all(second.get(p) == 1 for p in firsts), second
    assert sum(new_posts(w.out) for w in again) == 0
    assert contents(mirror) == posts


def test_a_killed_worker_loses_nothing(slow_replica, redis_url, tmp_path, reference):
    posts, _ = reference
    mirror = Mirror(tmp_path, replica_feeds(slow_replica, *FEEDS))
    limit = ("-s", "CONCURRENT_REQUESTS_PER_DOMAIN=2")
    workers = [start_worker(mirror, redis_url, "crawlall", extra=limit) for _ in range(3)]
    victim = workers[1]
    victim.wait_for(r"joined run")
    deadline = time.monotonic() + 60
    while len(mirror.posts()) < 40 and time.monotonic() < deadline:
        time.sleep(0.05)
    victim.proc.send_signal(signal.SIGKILL)
    assert finish(victim) == -signal.SIGKILL
    # `scrapy status` shows the fleet meanwhile: the workers, their heartbeats.
    status = run_scrapy("status", *fleet_args(mirror, redis_url), cwd=mirror.root)
    for w in (workers[0], workers[2]):
        if w.proc.poll() is None:
            assert f"pid {w.proc.pid} on " in status.stdout, status.output[-3000:]
    assert "last heartbeat" in status.stdout and "queue: " in status.stdout
    assert [finish(w) for w in (workers[0], workers[2])] == [0, 0]
    # The others did what it held: every post, whole, written once.
    assert contents(mirror) == posts
    assert set(index_commits(mirror).values()) == {1}

    # And the next run finds nothing left to do (but the hidden temporary file
    # the killed worker may have left mid-write, which it removes).
    wait_until_expired(redis_url, KEYS.feed("*", "ended"))
    again = start_worker(mirror, redis_url, "crawlall")
    assert finish(again) == 0
    assert "joined run" in again.output
    assert new_posts(again.out) == 0
    assert not list(mirror.dir.rglob(".*.tmp"))
    # The dead worker was named, by the others (or, had it held nothing and
    # they finished before its heartbeat lapsed, by the next run).
    logs = workers[0].output + workers[2].output + again.output
    dead = rf"requests held by workers that stopped beating: \S+:{victim.proc.pid}:"
    assert re.search(dead, logs), logs[-3000:]


def test_a_fleet_killed_whole_is_finished_by_the_next_run(slow_replica, redis_url, tmp_path,
                                                         reference):  # fmt: skip
    posts, _ = reference
    mirror = Mirror(tmp_path, replica_feeds(slow_replica, *FEEDS))
    slow_replica.reset()
    limit = ("-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1")
    workers = [start_worker(mirror, redis_url, "crawlall", extra=limit) for _ in range(2)]
    deadline = time.monotonic() + 60
    while len(mirror.posts()) < 30 and time.monotonic() < deadline:
        time.sleep(0.05)
    for w in workers:
        w.proc.send_signal(signal.SIGKILL)
    assert [finish(w) for w in workers] == [-signal.SIGKILL] * 2
    assert len(mirror.posts()) < len(posts)
    wait_until_expired(redis_url, KEYS.alive("*"))  # FLEET_WORKER_TIMEOUT: they are dead

    again = start_worker(mirror, redis_url, "crawlall")
    assert finish(again) == 0, again.output[-3000:]
    assert contents(mirror) == posts
    assert set(index_commits(mirror).values()) == {1}
    assert slow_replica.stats()["by_path"]["/category/kunmingribao.html"] == 2


def test_without_redis_url_nothing_imports_redis(replica, mirror_factory):
    mirror = mirror_factory(replica_feeds(replica, "kunmingribao"))
    # fmt: off
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "scrapy", "crawl", "kunmingribao",
         "-s", f"MIRROR_DIR={mirror.dir}", "-s", f"NEWS_FEEDS_FILE={mirror.catalog_path}",
         *FAST],
        cwd=mirror.root, env=scrapy_env(), capture_output=True, text=True, timeout=180,
    )
    # fmt: on
    assert proc.returncode == 0, proc.stderr[-3000:]
    imported = {
        line.rsplit("|", 1)[1].strip()
        for line in proc.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    assert "scrapy" in imported and "crawler.spiders.feed" in imported
    fleet = sorted(m for m in imported if m.split(".")[0] in ("redis", "scrapy_redis")
                   or m.startswith("crawler.fleet"))  # fmt: skip
    assert fleet == []
    assert len(mirror.posts()) == 40


def test_status_without_redis_says_nothing_of_a_fleet(replica, mirror_factory):
    mirror = mirror_factory(replica_feeds(replica, "kunmingribao"))
    result = run_scrapy(
        "status", "-s", f"MIRROR_DIR={mirror.dir}", "-s", f"NEWS_FEEDS_FILE={mirror.catalog_path}",
        cwd=mirror.root,
    )  # fmt: skip
    assert "Fleet" not in result.output


def test_redis_going_away_stops_the_workers_and_loses_no_post(slow_replica, tmp_path, reference):
    posts, _ = reference
    server = RedisServer()
    try:
        mirror = Mirror(tmp_path, replica_feeds(slow_replica, *FEEDS))
        limit = ("-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1", "-s", "DOWNLOAD_DELAY=0.02")
        workers = [start_worker(mirror, server.url, "crawlall", extra=limit) for _ in range(2)]
        deadline = time.monotonic() + 60
        while len(mirror.posts()) < 20 and time.monotonic() < deadline:
            time.sleep(0.05)
        server.kill()
        statuses = [finish(w, timeout=90) for w in workers]  # they stop, not hang
        assert statuses == [1, 1]
        for w in workers:
            assert f"Redis at {server.safe_url} is unreachable" in w.output, w.output[-3000:]
            assert "fleet-secret-pw" not in w.output
            assert "FAILED" in w.out and "closed: redis_unavailable" in w.out
            assert "Traceback" not in w.output and "never retrieved" not in w.output, w.output[
                -3000:
            ]
            assert "refused" not in w.out, "requests stopped by the loss are not refusals"
        # Both runs are in the history: status shows the feeds failed.
        runs = list(RunLog(mirror.dir).records())
        assert [r["status"] for r in runs] == [1, 1]
        assert {f["reason"] for r in runs for f in r["feeds"].values()} == {"redis_unavailable"}
        status = mirror.scrapy("status")
        assert "closed: redis_unavailable" in status.stdout, status.output
        # What was written is whole, and a post of the source.
        written = contents(mirror)
        assert 20 <= len(written) < len(posts)
        assert all(posts[name] == text for name, text in written.items())
        assert not list(mirror.dir.rglob(".*.tmp"))

        # Redis back, empty: the next run learns the mirror from its folder
        # and mirrors the rest, each post once.
        server.start()
        again = start_worker(mirror, server.url, "crawlall")
        assert finish(again) == 0, again.output[-3000:]
        assert new_posts(again.out) == len(posts) - len(written)
        assert contents(mirror) == posts
        assert set(index_commits(mirror).values()) == {1}
    finally:
        server.stop()
