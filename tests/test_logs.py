"""Quiet by default, detailed on demand: what a crawl shows a person, and its log file.

Real ``scrapy`` processes over the replica, started without the tests' usual
``-s LOG_LEVEL=INFO``: the way a person at a terminal starts them.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from crawler.mirror.paths import LOG_NAME, LOGS_DIR, STATE_DIR
from tests.conftest import Mirror, replica_feeds
from tests.utils.cmdline import run_scrapy

LOG = Path(STATE_DIR, LOGS_DIR, LOG_NAME)


def scrapy(mirror: Mirror, *args: str):
    """``scrapy ARGS`` with the mirror's settings and no log option of its own."""
    return run_scrapy(
        *args,
        "-s", f"MIRROR_DIR={mirror.dir}", "-s", f"NEWS_FEEDS_FILE={mirror.catalog_path}",
        "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "RETRY_BACKOFF_BASE=0.05",
        cwd=mirror.root,
    )  # fmt: skip


def test_a_crawl_shows_progress_and_summaries_and_logs_everything_to_a_file(
    replica, mirror_factory
):
    mirror = mirror_factory(replica_feeds(replica, "kunmingribao", "yunnanwang"))
    result = scrapy(mirror, "crawlall", "-s", "MIRROR_PROGRESS_INTERVAL=0.2",
                    "-s", "DOWNLOAD_DELAY=0.03")  # fmt: skip
    assert result.returncode == 0, result.output[-3000:]
    # stderr: one progress line per interval for both feeds; stdout: a line
    # per feed, the total, retention.
    progress = result.stderr.splitlines()
    assert progress, "a crawl of a few seconds shows its progress"
    assert all(
        re.fullmatch(r"Progress: kunmingribao \d+ new(, .*)?; yunnanwang \d+ new(, .*)?", line)
        for line in progress
    ), result.stderr[-3000:]
    out = result.stdout.splitlines()
    assert [line.split(":")[0] for line in out] == [
        "kunmingribao",
        "yunnanwang",
        "2 feeds, 80 new posts",
        "Rotation",
    ], result.stdout
    # The whole log, Scrapy's stats included, is in the mirror's log file.
    log = (mirror.dir / LOG).read_text("utf-8")
    assert "[scrapy.utils.log] INFO: Scrapy " in log
    assert "[scrapy.statscollectors] INFO: Dumping Scrapy stats" in log
    assert "Feed summary: kunmingribao: 40 new" in log
    assert "ERROR: Article KMRB-fault-404 of feed kunmingribao failed: HTTP 404" in log


@pytest.mark.parametrize(
    ("options", "shown", "hidden"),
    [
        (["--verbose"], "[scrapy.core.engine] INFO: Spider closed (finished)", "Progress:"),
        (["-L", "INFO"], "[scrapy.core.engine] INFO: Spider closed (finished)", "Progress:"),
        (["-s", "LOG_LEVEL=WARNING"], "WARNING: Dropped article KMRB-fault-bad-date", "INFO:"),
        (["--nolog"], None, "[scrapy"),
    ],
)
def test_scrapys_log_options_keep_working(options, shown, hidden, replica, mirror_factory):
    mirror = mirror_factory(replica_feeds(replica, "kunmingribao"))
    result = scrapy(mirror, "crawl", "kunmingribao", *options)
    assert result.returncode == 0, result.output[-3000:]
    if shown:
        assert shown in result.stderr, result.stderr[-3000:]
    else:
        assert result.stderr == ""
    assert hidden not in result.stderr
    assert result.stdout.startswith("kunmingribao: 40 new, ")
    assert "Spider closed (finished)" in (mirror.dir / LOG).read_text("utf-8")


def test_logfile_takes_scrapys_log_and_the_mirrors_log_rotates(replica, mirror_factory, tmp_path):
    mirror = mirror_factory(replica_feeds(replica, "kunmingribao"))
    own = tmp_path / "own.log"
    result = scrapy(mirror, "crawl", "kunmingribao", "--logfile", str(own),
                    "-s", "MIRROR_LOG_MAX_BYTES=4000", "-s", "MIRROR_LOG_BACKUPS=2")  # fmt: skip
    assert result.returncode == 0, result.output[-3000:]
    assert result.stderr == ""
    assert "Dumping Scrapy stats" in own.read_text("utf-8")
    logs = sorted(p.name for p in (mirror.dir / LOG).parent.iterdir())
    assert logs == ["crawl.log", "crawl.log.1", "crawl.log.2"]
    for name in logs:
        assert (mirror.dir / LOG).parent.joinpath(name).stat().st_size <= 4000 + 2000


def test_schedule_prints_a_header_before_each_runs_summary(replica, mirror_factory):
    mirror = mirror_factory(replica_feeds(replica, "yunnanwang"))
    result = scrapy(mirror, "schedule", "--every", "1s", "--max-runs", "2")
    assert result.returncode == 0, result.output[-3000:]
    out = result.stdout.splitlines()
    headers = [i for i, line in enumerate(out) if line.startswith("run ")]
    assert len(headers) == 2, result.stdout
    for n, i in enumerate(headers, 1):
        assert re.fullmatch(rf"run {n} at \d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{{4}}", out[i])
        assert out[i + 1].startswith("yunnanwang: ")
    assert "Dumping Scrapy stats" not in result.output
