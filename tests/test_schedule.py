"""Unattended operation: crawlall's exit codes, the run lock, `schedule`, back-off.

Every test runs `scrapy` as real processes against a replica on loopback, the
way cron, systemd or a person at a terminal starts them.
"""

from __future__ import annotations

import itertools
import signal
import socket
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from crawler.mirror.backoff import FeedBackoff
from crawler.mirror.lock import EX_LOCKED, Holder, RunLock
from crawler.mirror.runlog import RunLog
from tests.conftest import FAST, Mirror, ReplicaServer, replica_feeds
from tests.utils.cmdline import popen_scrapy
from tests.utils.watch import Watched


def settings(mirror: Mirror, *extra: str) -> list[str]:
    return [
        "-s", f"MIRROR_DIR={mirror.dir}", "-s", f"NEWS_FEEDS_FILE={mirror.catalog_path}",
        *FAST, *extra,
    ]  # fmt: skip


# A post written is a DEBUG line of the writer: a test waits for the n-th.
DEBUG = ("-s", "LOG_LEVEL=DEBUG")
MIRRORED = r"Mirrored \S+ of feed \S+ to "


def start(mirror: Mirror, *args: str, extra: tuple[str, ...] = ()) -> Watched:
    return Watched(popen_scrapy(*args, *settings(mirror, *extra), cwd=mirror.root))


def broken_feed(replica: ReplicaServer, name: str) -> dict:
    """A feed whose only listing page answers HTTP 500."""
    return {
        "outlet": "坏报",
        "category": "broken",
        "start_urls": [f"{replica.url}/error/500/category/{name}.html"],
    }


def records(mirror: Mirror) -> list[dict]:
    return list(RunLog(mirror.dir).records())


def codes(mirror: Mirror) -> set[str]:
    return {name.split("-", 3)[3][:-3] for name in mirror.posts()}


def assert_complete(mirror: Mirror) -> None:
    """Every post file whole and loadable; no temporary file left behind."""
    for path in mirror.posts().values():
        text = path.read_text("utf-8")
        assert text.startswith("---\n") and text.rstrip().endswith("/)"), path
        meta = yaml.safe_load(text[4 : text.index("\n---\n", 3)])
        assert meta["layout"] == "post" and meta["title"], path
        mirror.read(path)
    assert not list(mirror.dir.glob("_posts/.*")), "a temporary file was left"


@pytest.fixture
def slow_replica():
    """A replica of its own whose every answer takes a while: runs last seconds."""
    server = ReplicaServer("--no-faults", "--articles", "40", "--latency-ms", "150")
    yield server
    server.stop()


@pytest.fixture
def own_replica():
    """A replica of its own, to publish new articles on."""
    server = ReplicaServer("--no-faults", "--articles", "20")
    yield server
    server.stop()


# --- crawlall's exit status ---------------------------------------------------


def test_crawlall_exit_status_is_1_when_a_feed_fails_outright(replica, mirror_factory, tmp_path):
    catalog = replica_feeds(replica, "kunmingribao")
    catalog["feeds"]["broken"] = broken_feed(replica, tmp_path.name)
    mirror = mirror_factory(catalog)

    failed = mirror.scrapy("crawlall", "-s", "RETRY_TIMES=0")
    assert failed.returncode == 1, failed.output
    assert "FAILED: broken" in failed.stdout
    assert "broken: 0 new" in failed.stdout and "no listing page could be read" in failed.stdout
    # The other feed was mirrored all the same.
    assert "kunmingribao: 40 new" in failed.stdout

    ok = mirror.scrapy("crawlall", "--feeds", "kunmingribao")
    assert ok.returncode == 0, ok.output
    assert "1 feed, 0 new posts" in ok.stdout
    [first, second] = records(mirror)
    assert first["status"] == 1 and first["feeds"]["broken"]["failed"]
    assert second["status"] == 0 and list(second["feeds"]) == ["kunmingribao"]


# --- the lock -----------------------------------------------------------------


@pytest.mark.slow
def test_two_crawlalls_started_at_once_one_runs_one_exits_75(slow_replica, mirror_factory):
    mirror = mirror_factory(replica_feeds(slow_replica, "kunmingribao", "yunnanribao"))
    procs = [start(mirror, "crawlall") for _ in range(2)]
    status = [p.finish(180) for p in procs]
    assert sorted(status) == [0, EX_LOCKED], [p.output[-3000:] for p in procs]
    winner, loser = sorted(procs, key=lambda p: p.proc.returncode)

    lock_path = RunLock(mirror.dir).path
    assert (
        f"is locked by pid {winner.proc.pid} on {socket.gethostname()} (scrapy crawlall "
        in loser.err
    ), loser.err
    assert f"lock file {lock_path}" in loser.err and " since 20" in loser.err
    assert loser.out == "", "the loser crawled nothing and printed no summary"

    assert "2 feeds, 80 new posts" in winner.out
    assert len(mirror.posts()) == 80
    assert len(records(mirror)) == 1, "only the run that crawled is recorded"
    assert_complete(mirror)
    assert RunLock(mirror.dir).holder() is None, "released at the end"


@pytest.mark.slow
def test_a_running_scheduler_keeps_every_other_run_out(own_replica, mirror_factory):
    mirror = mirror_factory(replica_feeds(own_replica, "kunmingribao"))
    scheduler = start(mirror, "schedule", "--every", "1h")
    scheduler.wait_for(r"Run 1 finished")
    scheduler.wait_for(r"Next run at")
    posts_before = {n: p.stat().st_mtime_ns for n, p in mirror.posts().items()}
    assert posts_before

    # What cron, a person, or a second scheduler would start meanwhile, all at once.
    others = [
        start(mirror, *args)
        for args in (
            ["crawlall"], ["crawl", "kunmingribao"], ["rotate"], ["schedule", "--every", "5m"]
        )
    ]  # fmt: skip
    for other in others:
        assert other.finish(60) == EX_LOCKED, other.output[-3000:]
        assert f"locked by pid {scheduler.proc.pid} on {socket.gethostname()} " in other.err
        assert "(scrapy schedule --every 1h " in other.err
        assert "new posts" not in other.out and "Rotation" not in other.out
    assert {n: p.stat().st_mtime_ns for n, p in mirror.posts().items()} == posts_before
    assert len(records(mirror)) == 1

    status = mirror.scrapy("status")
    assert f"Lock: held by pid {scheduler.proc.pid} " in status.stdout, status.output

    # SIGTERM while it waits for the next run: it stops at once, lock released.
    scheduler.proc.send_signal(signal.SIGTERM)
    assert scheduler.finish(30) == 0, scheduler.output[-3000:]
    assert RunLock(mirror.dir).holder() is None
    again = mirror.scrapy("crawlall")
    assert again.returncode == 0, again.output
    assert "Taking over" not in again.stderr, "a clean stop leaves no stale lock"


@pytest.mark.slow
def test_a_stale_lock_of_a_killed_crawl_is_taken_over(slow_replica, mirror_factory):
    mirror = mirror_factory(replica_feeds(slow_replica, "kunmingribao"))
    killed = start(mirror, "crawlall", extra=DEBUG)
    killed.wait_for(MIRRORED, count=3)
    killed.proc.send_signal(signal.SIGKILL)
    killed.finish(30)
    lock_file = RunLock(mirror.dir).path
    left = Holder.loads(lock_file.read_text())
    assert left is not None and left.pid == killed.proc.pid  # left behind

    result = mirror.scrapy("crawlall")
    assert result.returncode == 0, result.output
    assert f"Taking over the run lock {lock_file} left by pid {killed.proc.pid} " in (result.stderr)
    assert len(mirror.posts()) == 40, "the next run completes what the killed one left"
    assert_complete(mirror)


# --- schedule -----------------------------------------------------------------


@pytest.mark.slow
def test_schedule_mirrors_what_appears_between_runs_once(own_replica, mirror_factory):
    mirror = mirror_factory(replica_feeds(own_replica, "kunmingribao", "yunnanwang"))
    scheduler = start(mirror, "schedule", "--every", "1s", "--max-runs", "3")
    published = []
    scheduler.wait_for(r"Run 1 finished")
    published += own_replica.publish("kunmingribao", 3) + own_replica.publish("yunnanwang", 2)
    scheduler.wait_for(r"Run 2 finished")
    published += own_replica.publish("kunmingribao", 2)
    assert scheduler.finish(120) == 0, scheduler.output[-4000:]
    assert "Run 4" not in scheduler.output

    runs = records(mirror)
    assert len(runs) == 3
    new = [sum(f["new"] for f in run["feeds"].values()) for run in runs]
    assert new == [40, 5, 2], scheduler.output[-4000:]
    for run in runs:
        assert set(run["feeds"]) == {"kunmingribao", "yunnanwang"}
        assert not any(f["failed"] for f in run["feeds"].values())
    # Never two at once: each run starts after the one before ended.
    for before, after in itertools.pairwise(runs):
        assert datetime.fromisoformat(after["start"]) >= datetime.fromisoformat(before["end"])

    mirrored = codes(mirror)
    assert set(published) <= mirrored
    assert len(mirrored) == 47 == len(mirror.posts())
    fetched = own_replica.stats()["by_path"]
    articles = {p: n for p, n in fetched.items() if "NewsShare" in p or "/api/content" in p}
    assert len(articles) == 47 and set(articles.values()) == {1}, "each fetched once"
    assert_complete(mirror)


@pytest.mark.slow
def test_sigterm_mid_run_tears_nothing_and_the_next_run_completes(slow_replica, mirror_factory):
    mirror = mirror_factory(replica_feeds(slow_replica, "kunmingribao", "chunchengwanbao"))
    scheduler = start(mirror, "schedule", "--every", "1h", extra=DEBUG)
    scheduler.wait_for(MIRRORED, count=10)
    scheduler.proc.send_signal(signal.SIGTERM)
    assert scheduler.finish(60) == 0, scheduler.output[-3000:]
    # The lock is free only once the crawl it handed the lock to has ended.
    assert RunLock(mirror.dir).holder() is None
    assert "Scheduler stopped by a signal after 1 run" in scheduler.err

    assert_complete(mirror)
    [cut] = records(mirror)
    assert {f["reason"] for f in cut["feeds"].values()} == {"shutdown"}
    first = len(mirror.posts())
    assert sum(f["new"] for f in cut["feeds"].values()) == first < 80, "every post counted"

    result = mirror.scrapy("crawlall")
    assert result.returncode == 0, result.output
    assert f"{80 - first} new posts" in result.stdout
    assert len(mirror.posts()) == 80
    assert_complete(mirror)


@pytest.mark.slow
def test_a_failing_feed_backs_off_without_holding_up_the_others(replica, mirror_factory, tmp_path):
    catalog = replica_feeds(replica, "kunmingribao")
    catalog["feeds"]["broken"] = broken_feed(replica, tmp_path.name)
    mirror = mirror_factory(catalog)
    listing = f"/error/500/category/{tmp_path.name}.html"
    # At --every 1s, MIRROR_BACKOFF_MAX=2 caps the runs sat out at 2.
    backoff = ["-s", "MIRROR_BACKOFF_MAX=2", "-s", "RETRY_TIMES=0"]

    scheduler = start(mirror, "schedule", "--every", "1s", "--max-runs", "5", *backoff)
    assert scheduler.finish(180) == 0, scheduler.output[-4000:]
    runs = records(mirror)
    assert len(runs) == 5
    assert all("kunmingribao" in run["feeds"] for run in runs)
    # Fails in runs 1 and 2 → sits out 1 run; fails in 4 → sits out 2 (3, capped).
    assert [i for i, run in enumerate(runs, 1) if "broken" in run["feeds"]] == [1, 2, 4]
    assert replica.stats()["by_path"][listing] == 3
    assert "feed broken sits this run out (failed 2 runs in a row" in scheduler.err
    state = FeedBackoff(mirror.dir, max_skip=2).load()
    assert state["broken"]["failures"] == 3 and state["broken"]["skip"] == 1
    assert state["broken"]["error"] == "no listing page could be read: HTTP 500"
    assert "kunmingribao" not in state

    status = mirror.scrapy("status")
    row = next(x for x in status.stdout.splitlines() if x.startswith("broken "))
    assert "FAILING 3 runs in a row" in row and "BACKING OFF: sits out 1 more run" in row

    # A new scheduler goes on where the last one stopped: the run left to sit out.
    again = start(mirror, "schedule", "--every", "1s", "--max-runs", "1", *backoff)
    assert again.finish(120) == 0, again.output[-4000:]
    [last] = records(mirror)[5:]
    assert list(last["feeds"]) == ["kunmingribao"]
    assert replica.stats()["by_path"][listing] == 3
    state = FeedBackoff(mirror.dir, max_skip=2).load()
    assert state["broken"]["failures"] == 3 and state["broken"]["skip"] == 0


def test_schedule_rejects_bad_arguments(mirror_factory, replica):
    mirror = mirror_factory(replica_feeds(replica, "kunmingribao"))
    for args, message in (
        (["--every", "soon"], "is not a duration"),
        (["--every", "0"], "--every must be more than 0"),
        (["--every", "1m", "--max-runs", "0"], "--max-runs must be at least 1"),
        (["--every", "1m", "--feeds", "nosuch"], "unknown feed(s): nosuch"),
    ):
        result = mirror.scrapy("schedule", *args)
        assert result.returncode == 2, (args, result.output)
        assert message in result.stderr, (args, result.stderr)
    assert not Path(mirror.dir).exists(), "nothing touched"


@pytest.mark.slow
def test_a_forced_stop_is_recorded_as_shutdown(slow_replica, mirror_factory):
    mirror = mirror_factory(replica_feeds(slow_replica, "kunmingribao"))
    crawl = start(mirror, "crawl", "kunmingribao", extra=DEBUG)
    crawl.wait_for(MIRRORED, count=3)
    crawl.proc.send_signal(signal.SIGINT)
    crawl.wait_for(r"Received SIGINT, shutting down gracefully")
    crawl.proc.send_signal(signal.SIGINT)  # the second Ctrl-C: no waiting for the engine
    crawl.finish(60)
    assert "Received SIGINT twice, forcing unclean shutdown" in crawl.output
    [run] = records(mirror)
    assert run["command"] == "crawl"
    assert run["feeds"]["kunmingribao"]["reason"] == "shutdown", crawl.output[-3000:]
    assert len(mirror.posts()) < 40
