"""``scrapy export``: the crawled mirror as JSON Lines, whole and filtered."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from crawler.mirror.archive import OLD_POSTS_DIR, POSTS_DIR, read
from crawler.mirror.reader import ArchiveReader, as_record
from tests.conftest import Mirror, replica_feeds
from tests.utils.cmdline import run_scrapy

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
def crawled(replica, tmp_path_factory) -> Mirror:
    mirror = Mirror(
        tmp_path_factory.mktemp("export"), replica_feeds(replica, "kunmingribao", "chunchengwanbao")
    )
    result = mirror.scrapy("crawlall")
    assert result.returncode == 0, result.output
    # Retention (SPEC §3.4) as the crawler does it: a few posts moved to old_post/.
    old = mirror.dir / OLD_POSTS_DIR
    old.mkdir(exist_ok=True)
    for path in sorted((mirror.dir / POSTS_DIR).glob("*.md"))[:3]:
        path.rename(old / path.name)
    return mirror


def export(root: Path, *args: str):
    return run_scrapy("export", "-s", f"MIRROR_DIR={root}", *args, cwd=root.parent)


def records(text: str) -> list[dict]:
    assert text.endswith("\n") or not text
    return [json.loads(line) for line in text.splitlines()]


def test_export_writes_every_post_as_one_json_line(crawled):
    result = export(crawled.dir)
    assert result.returncode == 0, result.output
    got = records(result.stdout)
    files = {**crawled.posts(POSTS_DIR), **crawled.posts(OLD_POSTS_DIR)}
    assert len(got) == len(files) >= 80
    assert f"Exported {len(got)} posts to stdout" in result.stderr
    assert "昆明出台产业招商提质增效实施意见" in result.stdout  # UTF-8, not \u escapes
    for record in got:
        path = crawled.dir / record["path"]
        assert record["path"].startswith((POSTS_DIR + "/", OLD_POSTS_DIR + "/"))
        post = read(path)
        assert record == {**as_record(post, crawled.dir), "revisions": 0}
        assert set(record) == {
            "infoCode",
            "title",
            "date",
            "category",
            "outlet",
            "body",
            "share_url",
            "path",
            "revisions",
        }
        assert datetime.fromisoformat(record["date"]) == post.date
        assert path.name.startswith(record["date"][:10]) and record["infoCode"] in path.name
    old = len(crawled.posts(OLD_POSTS_DIR))
    assert sum(r["path"].startswith(OLD_POSTS_DIR) for r in got) == old >= 3


def test_export_filters_like_the_reader_and_writes_a_file(crawled, tmp_path):
    posts = list(ArchiveReader(crawled.dir).posts(category="chunchengwanbao"))
    dates = sorted({p.date for p in posts})
    middle = dates[len(dates) // 2]
    out = tmp_path / "out" / "ccwb.jsonl"
    out.parent.mkdir()
    result = export(
        crawled.dir,
        "-o",
        str(out),
        "--category",
        "chunchengwanbao",
        "--since",
        middle.strftime("%Y-%m-%dT%H:%M:%S"),
    )
    assert result.returncode == 0, result.output
    assert result.stdout == ""
    got = records(out.read_text("utf-8"))
    expected = [{**as_record(p, crawled.dir), "revisions": 0} for p in posts if p.date >= middle]
    assert got == expected and 0 < len(got) < len(posts)

    # A date alone covers its whole day, in GMT+8 unless told otherwise.
    day = middle.astimezone(TZ).date()
    whole = export(crawled.dir, "--since", str(day), "--until", str(day), "--folder", "posts")
    want = [
        p.info_code
        for p in ArchiveReader(crawled.dir).posts(folders=[POSTS_DIR])
        if p.date.astimezone(TZ).date() == day
    ]
    assert [r["infoCode"] for r in records(whole.stdout)] == want and want
    before = export(crawled.dir, "--until", str(day - timedelta(days=1)), "--timezone", "UTC")
    assert all(
        datetime.fromisoformat(r["date"])
        < datetime.combine(day, datetime.min.time(), ZoneInfo("UTC"))
        for r in records(before.stdout)
    )
    both = export(crawled.dir, "--category", "kunmingribao,chunchengwanbao", "--folder", "old")
    assert len(records(both.stdout)) == len(crawled.posts(OLD_POSTS_DIR))


def test_export_skips_a_bad_file_naming_it_and_fails(crawled, tmp_path):
    root = tmp_path / "m"
    shutil.copytree(crawled.dir, root)
    bad = sorted((root / POSTS_DIR).glob("*.md"))[5]
    bad.write_text("---\nlayout: post\n---\nno title", "utf-8")
    result = export(root)
    assert result.returncode == 1
    assert f"Skipped {bad}: front matter lacks 'title'" in result.stderr
    files = [*(root / POSTS_DIR).glob("*.md"), *(root / OLD_POSTS_DIR).glob("*.md")]
    assert len(records(result.stdout)) == len(files) - 1
    assert "skipped 1 file that is not a valid post (see scrapy verify)" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "last week"], "--since/--until: 'last week' is not a date"),
        (["--timezone", "Mars/Olympus"], "--timezone: 'Mars/Olympus' is not a time zone"),
    ],
)
def test_export_refuses_bad_arguments(crawled, args, message):
    result = export(crawled.dir, *args)
    assert result.returncode == 2
    assert message in result.output


def test_export_of_a_category_the_mirror_lacks_warns_naming_its_categories(crawled):
    result = export(crawled.dir, "--category", "nosuch,kunmingribao")
    assert result.returncode == 0, result.output
    assert {r["category"] for r in records(result.stdout)} == {"kunmingribao"}
    assert (
        "Warning: the mirror has no category 'nosuch'; its categories: "
        "chunchengwanbao, kunmingribao"
    ) in result.stderr
    assert "kunmingribao'" not in result.stderr  # a category it has: no warning
    assert f"Exported {len(records(result.stdout))} posts to stdout" in result.stderr
