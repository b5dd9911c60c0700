"""Crash safety: crawls and rotations killed with SIGKILL lose nothing and write nothing twice.

Real ``scrapy`` processes against the replica, killed at random points spread
over the run (by the number of posts on disk, and in the start-up), then
checked file by file (:func:`tests.faults.check_mirror`). ``FAULT_SEED=n``
replays a run's kill points.
"""

from __future__ import annotations

import os
import random
import subprocess

from tests.faults import as_dict, crash_trial, rotate_crash_trial


def seed() -> int:
    return int(os.environ.get("FAULT_SEED") or random.randrange(1 << 30))


def test_crawlall_killed_at_20_points_loses_no_post_and_writes_none_twice(tmp_path):
    n = seed()
    report = crash_trial(tmp_path, kills=20, articles=100, per_page=20, seed=n)
    facts = f"FAULT_SEED={n}: {as_dict(report)}"
    assert report.kill_points >= 20, facts
    assert report.killed_writing >= 5, facts  # kills fell while posts were being written
    assert report.posts_expected >= 500, facts  # several hundred articles
    assert report.failures() == [], facts
    assert (report.posts_lost, report.duplicates, report.rewritten, report.torn_files) == (
        0,
        0,
        0,
        0,
    ), facts


def test_rotate_killed_mid_move_leaves_each_post_in_exactly_one_folder(tmp_path):
    n = seed()
    report = rotate_crash_trial(tmp_path, posts=3000, kills=10, seed=n)
    facts = f"FAULT_SEED={n}: {as_dict(report)}"
    assert report.killed_moving >= 10, facts  # each between a first and a last move
    assert report.failures() == [], facts
    assert (report.posts_lost, report.duplicates, report.torn_files) == (0, 0, 0), facts


def test_temporary_files_of_a_killed_writer_go_at_the_next_start_and_live_ones_stay(
    replica, mirror_factory
):
    from crawler.mirror.archive import writer_id
    from tests.conftest import replica_feeds

    mirror = mirror_factory(replica_feeds(replica, "kunmingribao"))
    posts = mirror.dir / "_posts"
    posts.mkdir(parents=True)
    host = writer_id().rpartition("-")[0]
    dead = _dead_pid()
    stale = posts / f".2024-01-01-NWKMRB00000001.md.{host}-{dead}.k3j2h1g0.tmp"
    live = posts / f".2024-01-01-NWKMRB00000002.md.{writer_id()}.a1b2c3d4.tmp"  # this process
    for path in (stale, live):
        path.write_text('---\nlayout: post\ntitle: "half', "utf-8")
    result = mirror.scrapy("crawl", "kunmingribao")
    assert result.returncode == 0, result.output[-3000:]
    assert not stale.exists() and live.exists()
    assert "Removed 1 temporary files left in" in result.stderr


def _dead_pid() -> int:
    """The pid of a process that has ended (and been reaped)."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid
