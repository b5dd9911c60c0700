"""Retention (SPEC §3.4): `scrapy rotate` and the rotation after each crawlall."""

from __future__ import annotations

import os
from datetime import date, datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from crawler.mirror.rotation import Rotation
from crawler.mirror.runlog import RunLog
from tests.conftest import ReplicaServer, replica_feeds

SHANGHAI = ZoneInfo("Asia/Shanghai")


def dated(posts: dict[str, Path]) -> dict[str, set[str]]:
    """Post file names by the date in them."""
    out: dict[str, set[str]] = {}
    for name in posts:
        out.setdefault(name[:10], set()).add(name)
    return out


@pytest.fixture(scope="module")
def night_replica():
    """Articles from 2030-01-10 16:00 to 2030-01-11 01:45, Shanghai time: two
    dates there, one date (01-10) in UTC."""
    server = ReplicaServer("--no-faults", "--articles", "40", "--now", "2030-01-11T02:00:00+08:00")
    yield server
    server.stop()


def test_rotation_moves_at_the_day_boundary_of_the_feeds_zone(night_replica, mirror_factory):
    mirror = mirror_factory(replica_feeds(night_replica, "yunnanribao"))
    keep = ["-s", "MIRROR_KEEP_DAYS=1"]

    crawl = mirror.scrapy("crawlall", *keep, "-s", "MIRROR_NOW=2030-01-11T02:00:00+08:00")
    assert crawl.returncode == 0, crawl.output
    assert "Rotation: 0 posts older than 1 day moved" in crawl.stdout
    by_date = dated(mirror.posts("_posts"))
    assert set(by_date) == {"2030-01-10", "2030-01-11"} and len(mirror.posts()) == 40
    content = {n: p.read_bytes() for n, p in mirror.posts().items()}

    def rotate(now: str) -> str:
        result = mirror.scrapy("rotate", *keep, "-s", f"MIRROR_NOW={now}")
        assert result.returncode == 0, result.output
        return result.stdout

    # The last second of 01-11 in Shanghai: a post of 01-10 is one day old.
    assert "Rotation: 0 posts" in rotate("2030-01-11T23:59:59+08:00")
    assert dated(mirror.posts("_posts")) == by_date
    # Midnight in Shanghai (still 01-11 in UTC): the posts of 01-10 go, not one more.
    out = rotate("2030-01-11T16:00:00+00:00")
    n = len(by_date["2030-01-10"])
    assert f"Rotation: {n} posts older than 1 day moved to old_post/ (dated before 2030-01-11)" in (
        out
    )
    assert set(mirror.posts("old_post")) == by_date["2030-01-10"]
    assert set(mirror.posts("_posts")) == by_date["2030-01-11"]
    assert "Rotation: 0 posts" in rotate("2030-01-12T23:59:59+08:00")
    rotate("2030-01-13T00:00:00+08:00")
    assert mirror.posts("_posts") == {}
    assert {n: p.read_bytes() for n, p in mirror.posts().items()} == content, "moved whole"

    # Dedup still knows them: nothing fetched again, nothing written again.
    night_replica.reset()
    # (Revisits aside: a rotated post is revisited like any, tests/test_revisions.py.)
    again = mirror.scrapy(
        "crawlall", *keep, "-s", "MIRROR_NOW=2030-01-13T00:00:00+08:00", "-s", "MIRROR_REVISIT="
    )
    assert again.returncode == 0, again.output
    assert "1 feed, 0 new posts" in again.stdout
    by_kind = night_replica.stats()["by_kind"]
    assert by_kind["api"] == by_kind["share"] == 0
    assert mirror.posts("_posts") == {}


def test_crawlall_rotates_after_its_run(replica, mirror_factory):
    mirror = mirror_factory(replica_feeds(replica, "kunmingribao"))
    result = mirror.scrapy("crawlall")
    assert result.returncode == 0, result.output
    # The seed article dates from 2022: mirrored, then moved at once.
    assert set(mirror.posts("old_post")) == {"2022-02-20-NW202202202282281459.md"}
    assert len(mirror.posts("_posts")) == 39
    assert "Rotation: 1 post older than 3 days moved to old_post/" in result.stdout
    [run] = RunLog(mirror.dir).records()
    assert run["rotated"] == 1


def test_a_post_left_in_both_folders_is_kept_once(tmp_path):
    root = tmp_path / "mirror"
    posts, old = root / "_posts", root / "old_post"
    posts.mkdir(parents=True)
    old.mkdir()
    (posts / "2030-01-01-LINKED.md").write_text("a post")
    os.link(posts / "2030-01-01-LINKED.md", old / "2030-01-01-LINKED.md")  # cut mid-move
    (posts / "2030-01-01-COPIED.md").write_text("same bytes")
    (old / "2030-01-01-COPIED.md").write_text("same bytes")
    (posts / "2030-01-01-DIFFERS.md").write_text("one text")
    (old / "2030-01-01-DIFFERS.md").write_text("another text")

    now = datetime(2030, 1, 10, tzinfo=SHANGHAI)
    result = Rotation(root, 3, [SHANGHAI], now).rotate()
    assert (result.moved, result.removed_duplicates, result.conflicts) == (0, 2, 1)
    assert sorted(p.name for p in posts.iterdir()) == ["2030-01-01-DIFFERS.md"]
    assert (old / "2030-01-01-LINKED.md").read_text() == "a post"
    assert (old / "2030-01-01-DIFFERS.md").read_text() == "another text"


def test_rotation_reads_names_only_and_leaves_other_files(tmp_path):
    posts = tmp_path / "_posts"
    posts.mkdir()
    names = [f"2030-01-{d:02d}-NW{d:012d}.md" for d in range(1, 11)]
    for name in names:
        (posts / name).write_bytes(b"\xff not a post at all")  # never opened
    for other in (".2030-01-01-X.md.abc.tmp", "README.txt", "2030-01-01-bad code!.md"):
        (posts / other).write_text("x")
    now = datetime(2030, 1, 10, 12, tzinfo=timezone.utc)
    result = Rotation(tmp_path, 3, [SHANGHAI], now).rotate()
    # Today is 01-10 in Shanghai: 10, 9, 8 and 7 stay.
    assert result.cutoff == date(2030, 1, 7)
    assert sorted(p.name for p in (tmp_path / "old_post").iterdir()) == names[:6]
    assert sorted(p.name for p in posts.iterdir() if p.name.startswith("2030-01-1")) == [names[9]]
    assert len(list(posts.iterdir())) == 4 + 3


def test_several_zones_take_the_earliest_date(tmp_path):
    # 2030-01-10 02:00 in Shanghai is still 01-09 in Los Angeles.
    now = datetime(2030, 1, 10, 2, tzinfo=SHANGHAI)
    both = Rotation(tmp_path, 0, [SHANGHAI, ZoneInfo("America/Los_Angeles")], now)
    assert both.today() == date(2030, 1, 9)
    assert Rotation(tmp_path, 0, [SHANGHAI], now).today() == date(2030, 1, 10)
    with pytest.raises(ValueError, match="must not be negative"):
        Rotation(tmp_path, -1, [SHANGHAI], now)
