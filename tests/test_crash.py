"""Crash safety: crawls and rotations killed with SIGKILL lose nothing and write nothing twice.

Real ``scrapy`` processes against the replica, killed at random points spread
over the run (by the number of posts on disk, and in the start-up), then
checked file by file (:func:`tests.faults.check_mirror`). ``FAULT_SEED=n``
replays a run's kill points.
"""

from __future__ import annotations

import os
import random

import pytest

from tests.faults import as_dict, crash_trial, rotate_crash_trial

pytestmark = pytest.mark.slow


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
