"""Extraction and cleaning in worker processes (crawler/offload): the same
posts as without them, nothing lost when a worker dies, off when asked."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from scrapy.http import HtmlResponse

from crawler.items import Article, ArticleDropped, Outcome
from crawler.mirror.archive import is_stale_temp, place, render, write_atomic, writer_id
from crawler.offload.child import frame
from crawler.offload.jobs import Jobs
from crawler.offload.pool import WorkerPool, usable_cores
from crawler.source.catalog import load_catalog
from tests.conftest import DATA, Mirror, replica_feeds
from tests.test_archive import seed_post

BODIES = sorted((DATA / "bodies").glob("*.html"))


@pytest.fixture(scope="module")
def feed(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The replica's kunmingribao: article pages of HTML, eastmoney's cleaning rules."""
    from replica import replica_catalog

    path = tmp_path_factory.mktemp("catalog") / "feeds.yaml"
    path.write_text(yaml.safe_dump(replica_catalog("http://127.0.0.1:1"), allow_unicode=True))
    return load_catalog(path)["kunmingribao"]


def article(feed: Any, body: str, code: str = "NW1") -> Article:
    return Article(feed=feed.name, info_code=code, url=f"http://example.com/{code}",
                   share_url=f"http://example.com/{code}", body=body)  # fmt: skip


def page(body: str) -> bytes:
    return (
        '<html><head><meta charset="utf-8"></head><body><h1>标题</h1>'
        '<div class="time">2022-02-20 10:00:00</div><div class="source"><a>昆明日报</a></div>'
        f'<div id="ContentBody">{body}</div></body></html>'
    ).encode()


async def started(pool: WorkerPool) -> None:
    """Start the pool's workers and wait until they are ready."""
    pool.start()
    await asyncio.gather(*(worker.readied for worker in pool.workers))


def test_a_worker_cleans_and_extracts_as_this_process_does(feed):
    jobs = Jobs()
    bodies = [path.read_text("utf-8") for path in BODIES]

    async def run() -> tuple[list[Any], list[Any]]:
        pool = WorkerPool(1)
        try:
            await started(pool)
            cleaned = [await pool.call("cleaned", feed, article(feed, b), 0) for b in bodies]
            url = "http://example.com/a"
            fields = [
                await pool.call("page_fields", feed, HtmlResponse, url, page(b), "utf-8")
                for b in bodies
            ]
            assert pool.workers[0].answered_jobs == 2 * len(bodies)  # none done here
            return cleaned, fields
        finally:
            pool.close()

    cleaned, fields = asyncio.run(run())
    expected_fields = [
        jobs.page_fields(feed, HtmlResponse, "http://example.com/a", page(b), "utf-8")
        for b in bodies
    ]
    expected_cleaned = [jobs.cleaned(feed, article(feed, b), 0) for b in bodies]
    assert cleaned == expected_cleaned and all(body for body, _ in cleaned)
    assert fields == expected_fields and all(f["body"] and f["title"] == "标题" for f in fields)


def test_a_worker_stages_a_post_that_this_process_places_byte_for_byte(feed, tmp_path):
    """The post rendered and written to a temporary file by a worker, then
    renamed into place here, is the file this process writes on its own; the
    temporary file is named for this process (it places it), so no other
    crawl takes it for a dead writer's while this one lives."""
    post = seed_post()
    base = "//finews.withounder.com"
    expected = write_atomic(tmp_path / "here" / post.filename, render(post, base)).read_bytes()
    path = tmp_path / "there" / post.filename

    async def run() -> str:
        pool = WorkerPool(1)
        try:
            await started(pool)
            staged = await pool.call("staged_post", feed, post, path, base, True, writer_id())
            assert pool.workers[0].answered_jobs == 1  # not done here
            return str(staged)
        finally:
            pool.close()

    staged = asyncio.run(run())
    assert not path.exists() and Path(staged).parent == path.parent
    assert Path(staged).name.startswith(f".{post.filename}.") and f"-{os.getpid()}." in staged
    assert not is_stale_temp(Path(staged))
    assert place(staged, path).read_bytes() == expected
    assert expected == (DATA / "seed" / post.filename).read_bytes()
    assert os.listdir(path.parent) == [post.filename]


def test_a_post_a_worker_stages_after_its_crawl_died_is_removed(feed, tmp_path):
    """The crawl is killed (here: its end of the socket closed) right after
    asking for a post: the worker, unable to answer, removes the file it
    staged, which no crawl will ever place or, having already swept the dead
    crawl's temporary files, remove."""
    post = seed_post()
    path = tmp_path / "_posts" / post.filename
    path.parent.mkdir()
    ours, theirs = socket.socketpair()
    with theirs:
        child = subprocess.Popen(
            [sys.executable, "-m", "crawler.offload.child", str(theirs.fileno())],
            pass_fds=(theirs.fileno(),), stderr=subprocess.PIPE,
        )  # fmt: skip
    with ours:
        assert ours.recv(len(frame(("ready",)))) == frame(("ready",))
        ours.sendall(frame(("feed", "k", feed)))
        args = (post, path, "//finews.withounder.com", True, writer_id())
        ours.sendall(frame(("job", 1, "staged_post", "k", args)))
    _, err = child.communicate(timeout=60)
    assert child.returncode == 0 and not err
    assert os.listdir(path.parent) == []


def test_a_drop_in_a_worker_keeps_its_reason_and_outcome(feed):
    async def run() -> None:
        pool = WorkerPool(1)
        try:
            await started(pool)
            with pytest.raises(ArticleDropped) as dropped:
                await pool.call("cleaned", feed, article(feed, "<script>x</script>"), 0)
            assert dropped.value.reason == "empty_body"
            assert dropped.value.outcome is Outcome.DROPPED
            with pytest.raises(ArticleDropped) as large:
                await pool.call("cleaned", feed, article(feed, "<p>正文</p>" * 100), 100)
            assert large.value.reason == "too_large" and "over MIRROR_MAX_BODY_BYTES" in str(
                large.value
            )
            with pytest.raises(LookupError, match="no job named 'nothing'"):
                await pool.workers[0].submit(0, "nothing", "x", feed, ())
            assert pool.workers[0].answered_jobs == 3
        finally:
            pool.close()

    asyncio.run(run())


def test_the_jobs_of_a_killed_worker_are_done_here(feed, caplog):
    body = BODIES[0].read_text("utf-8")
    expected = Jobs().cleaned(feed, article(feed, body), 0)

    async def run() -> tuple[int, list[Any]]:
        pool = WorkerPool(1)
        try:
            await started(pool)
            worker = pool.workers[0]
            os.kill(worker.proc.pid, signal.SIGSTOP)  # holds the jobs sent below
            calls = [
                asyncio.ensure_future(pool.call("cleaned", feed, article(feed, body), 0))
                for _ in range(5)
            ]
            await asyncio.sleep(0)  # each call sends its job
            assert len(worker.pending) == 5
            os.kill(worker.proc.pid, signal.SIGKILL)
            results = await asyncio.gather(*calls)
            assert worker.lost and worker.answered_jobs == 0
            # From now on every job is done here.
            results.append(await pool.call("cleaned", feed, article(feed, body), 0))
            return worker.proc.pid, results
        finally:
            pool.close()

    with caplog.at_level(logging.WARNING, logger="crawler.offload.pool"):
        pid, results = asyncio.run(run())
    assert results == [expected] * 6
    ended = [r.getMessage() for r in caplog.records if "ended" in r.getMessage()]
    assert ended == [f"Worker process {pid} ended: its jobs run in the crawl's process"]


def test_no_worker_starts_when_off_or_before_enough_jobs(feed):
    async def run() -> None:
        off = WorkerPool(0)
        late = WorkerPool(1, start_after=3)
        for _ in range(3):
            await off.call("cleaned", feed, article(feed, "<p>正文</p>"), 0)
            await late.call("cleaned", feed, article(feed, "<p>正文</p>"), 0)
        assert off.workers == [] and late.workers == []
        await late.call("cleaned", feed, article(feed, "<p>正文</p>"), 0)  # the 4th starts it
        assert len(late.workers) == 1
        late.close()
        off.close()

    asyncio.run(run())
    from scrapy.settings import Settings

    assert WorkerPool.from_settings(Settings({"MIRROR_WORKERS": 0})).size == 0
    assert WorkerPool.from_settings(Settings({"MIRROR_WORKERS": 3})).size == 3


def test_a_crawl_with_workers_writes_the_same_posts_and_summary(replica, tmp_path):
    """Every kind of feed of the replica, its faults included (drops by the
    extraction, the validation and the cleaning), with a worker from the first
    job and without one: the same post files, byte for byte, the same summary."""
    runs = {}
    for workers in ("0", "1"):
        replica.reset()
        (tmp_path / f"workers-{workers}").mkdir()
        mirror = Mirror(tmp_path / f"workers-{workers}", replica_feeds(replica))
        result = mirror.scrapy(
            "crawlall", "-s", f"MIRROR_WORKERS={workers}", "-s", "MIRROR_WORKERS_AFTER=0"
        )
        assert result.returncode == 0, result.output
        posts = {name: path.read_bytes() for name, path in mirror.posts().items()}
        runs[workers] = (posts, result.stdout, result.stderr)
    (posts_off, summary_off, log_off), (posts_on, summary_on, log_on) = runs["0"], runs["1"]
    assert len(posts_on) > 100 and posts_on == posts_off
    # Feeds that share a listing (yunnanxinwen, qujingribao) take its articles
    # as they come: which of them writes one (new) and which finds it claimed
    # (known) depends on timing, with or without workers; the rest may not.
    assert seen(summary_on) == seen(summary_off)
    assert "Started 1 worker process(es) for extraction, cleaning and writing" in log_on
    assert "worker process" not in log_off
    for dropped in ("Dropped article KMRB-fault-empty-body", "Dropped article YNRB-fault-not-json"):
        assert dropped in log_on and dropped in log_off
    assert "Traceback" not in log_on


def seen(summary: str) -> list[str]:
    """The summary's lines, each feed's new and known articles added up."""

    def added(match: re.Match[str]) -> str:
        return f"{int(match[1]) + int(match[2])} seen"

    return [re.sub(r"(\d+) new, (\d+) known", added, line) for line in summary.splitlines()]


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="Linux's CPU affinity")
def test_workers_are_off_on_one_core():
    from scrapy.settings import Settings

    cores = os.sched_getaffinity(0)
    try:
        os.sched_setaffinity(0, {min(cores)})  # this process may use one core only
        assert usable_cores() == 1
        assert WorkerPool.from_settings(Settings({"MIRROR_WORKERS": -1})).size == 0
    finally:
        os.sched_setaffinity(0, cores)
    assert WorkerPool.from_settings(Settings({"MIRROR_WORKERS": -1})).size == len(cores) - 1


def test_ctrl_c_at_the_terminal_is_the_crawls_alone(feed):
    """A terminal's Ctrl-C goes to its foreground process group: the crawl
    stops as Scrapy does, and its worker, in a group of its own, is not hit
    (no traceback of its own); it ends when the crawl closes its socket."""

    async def run() -> None:
        pool = WorkerPool(1)
        try:
            await started(pool)
            pid = pool.workers[0].proc.pid
            assert os.getpgid(pid) != os.getpgid(0)
            proc = pool.workers[0].proc
        finally:
            pool.close()
        assert proc.returncode == 0

    asyncio.run(run())


def test_a_worker_that_cannot_start_says_so_in_one_line(tmp_path):
    """A broken install (here nh3 shadowed by a module that fails to import):
    one line on stderr and exit status 1, no traceback; the crawl, told by the
    closed socket, does the jobs itself (test_the_jobs_of_a_killed_worker…)."""
    (tmp_path / "nh3.py").write_text("raise ImportError('nh3 is broken here')\n")
    ours, theirs = socket.socketpair()
    with ours, theirs:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path])}
        done = subprocess.run(
            [sys.executable, "-m", "crawler.offload.child", str(theirs.fileno())],
            pass_fds=(theirs.fileno(),), env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr == (
        "error: a worker process cannot start: ImportError: nh3 is broken here\n"
    )
