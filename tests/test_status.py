"""Run history (`.mirror/runs.jsonl`) and `scrapy status`."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from crawler.mirror.runlog import RunLog
from tests.conftest import ReplicaServer, replica_feeds, shipped_feeds

NOW = datetime(2030, 1, 10, 12, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def row(stdout: str, feed: str) -> str:
    return next(x for x in stdout.splitlines() if x.startswith(feed + " "))


@pytest.fixture
def own_replica():
    server = ReplicaServer("--articles", "20")
    yield server
    server.stop()


def test_runs_are_recorded_and_status_reads_them(own_replica, mirror_factory, tmp_path):
    catalog = replica_feeds(own_replica, "kunmingribao", "dalidaily")
    catalog["feeds"]["broken"] = {
        "outlet": "坏报",
        "start_urls": [f"{own_replica.url}/error/500/category/{tmp_path.name}.html"],
    }
    mirror = mirror_factory(catalog)
    first = mirror.scrapy("crawlall", "-s", "RETRY_TIMES=0")
    assert first.returncode == 1, first.output
    own_replica.publish("kunmingribao", 2)
    second = mirror.scrapy("crawlall", "-s", "RETRY_TIMES=0")
    assert second.returncode == 1, second.output

    one, two = RunLog(mirror.dir).records()
    assert one["command"] == "crawlall" and one["status"] == 1
    assert datetime.fromisoformat(one["start"]) <= datetime.fromisoformat(one["end"])
    km = one["feeds"]["kunmingribao"]
    assert km["new"] == 20 and km["pages"] == 2
    assert km["dropped"] == {"bad_date": 1, "bad_infocode": 1, "missing_body": 1,
                             "missing_title": 1}  # fmt: skip
    assert km["errors"] == {"http_404": 1, "http_500": 1}
    assert one["feeds"]["dalidaily"]["new"] == 20
    assert one["feeds"]["broken"]["failed"] == "no listing page could be read: HTTP 500"
    assert two["feeds"]["kunmingribao"]["new"] == 2 and two["feeds"]["kunmingribao"]["known"]
    assert two["feeds"]["dalidaily"] == {**two["feeds"]["dalidaily"], "new": 0, "failed": ""}

    status = mirror.scrapy("status")
    assert status.returncode == 1, status.output  # a feed is failing
    out = status.stdout
    assert f"Mirror {mirror.dir.resolve()}: 41 posts in _posts/, 1 in old_post/" in out
    assert "Runs: 2 recorded since " in out and "status 1" in out
    assert "Lock: free" in out
    assert row(out, "FEED").split() == ["FEED", "POSTS", "LAST", "RUN", "LAST", "NEW", "POST",
                                        "LAST", "ERROR", "FLAGS"]  # fmt: skip
    km_row = row(out, "kunmingribao")
    assert km_row.split()[1] == "22"
    assert "ok" in km_row and "ago)" in km_row and "http_500 1" in km_row
    assert "FAILING" not in km_row and "QUIET" not in km_row
    assert row(out, "dalidaily").split()[1] == "20"
    broken = row(out, "broken")
    assert broken.split()[1] == "0"
    assert "FAILED" in broken and "no listing page could be read" in broken
    assert "FAILING 2 runs in a row" in broken


def record(start: datetime, feeds: dict[str, int], **failed: str) -> dict:
    # fmt: off
    return {
        "id": start.isoformat(),
        "command": "crawlall",
        "start": start.isoformat(),
        "end": (start + timedelta(minutes=1)).isoformat(),
        "status": 1 if failed else 0,
        "feeds": {
            name: {"new": new, "known": 5, "pages": 1, "dropped": {}, "errors": {},
                   "failed": failed.get(name, ""), "reason": "finished"}
            for name, new in feeds.items()
        },
    }
    # fmt: on


def test_status_flags_a_feed_quiet_for_an_unusual_stretch(replica, mirror_factory):
    mirror = mirror_factory(replica_feeds(replica, "kunmingribao", "dalidaily", "yunnanwang"))
    log = RunLog(mirror.dir)
    # Three days of hourly runs up to now:
    #  kunmingribao: a new post every hour until 10 hours ago, then nothing;
    #  dalidaily: a new post every hour;
    #  yunnanwang: news by day, nights of 11 hours without; nothing since last evening.
    for hour in range(72, -1, -1):
        at = NOW - timedelta(hours=hour, minutes=1)
        night = (at.hour >= 21 or at.hour < 7) or hour <= 9
        log.append(record(at, {
            "kunmingribao": int(hour >= 10),
            "dalidaily": 1,
            "yunnanwang": 0 if night else 1,
        }))  # fmt: skip
    with open(log.path, "ab") as f:
        f.write(b'{"id": "torn", "feeds": {"kunming')  # a line cut short by a crash

    result = mirror.scrapy("status", "-s", f"MIRROR_NOW={NOW.isoformat()}")
    assert result.returncode == 1, result.output
    out = result.stdout
    assert "Runs: 73 recorded" in out
    assert "line 74 is damaged, skipped" in result.stderr
    quiet = row(out, "kunmingribao")
    assert "QUIET: nothing new for 10h" in quiet and "longest lull this week was 1h" in quiet
    assert quiet.split()[1] == str(63)
    assert "QUIET" not in row(out, "dalidaily")
    assert "QUIET" not in row(out, "yunnanwang"), "its nights are longer than this"
    assert "NO RUN" not in out

    # Two days on, no run since: the mirror is flagged, not each feed.
    later = mirror.scrapy("status", "-s", f"MIRROR_NOW={(NOW + timedelta(days=2)).isoformat()}")
    assert "!! NO RUN for 2d: is the scheduler (or cron) running?" in later.stdout
    assert "QUIET" not in row(later.stdout, "dalidaily")


def test_status_of_a_mirror_never_crawled_touches_nothing(replica, mirror_factory):
    mirror = mirror_factory(replica_feeds(replica, "kunmingribao"))
    result = mirror.scrapy("status")
    assert result.returncode == 0, result.output
    assert "Runs: none recorded yet" in result.stdout
    assert "no run yet" in row(result.stdout, "kunmingribao")
    assert "Lock: free" in result.stdout
    assert not mirror.dir.exists()


def test_old_runs_fold_into_one_line_and_status_keeps_its_totals(replica, mirror_factory):
    mirror = mirror_factory(replica_feeds(replica, "kunmingribao", "dalidaily"))
    log = RunLog(mirror.dir)
    now = datetime.now(ZoneInfo("Asia/Shanghai")).replace(microsecond=0)

    # 60 days of runs every 6 hours: dalidaily's news stopped 20 days ago, and
    # "gone" (since dropped from the catalog) ran only in the first 10 days.
    def run(quarter: int) -> dict:
        feeds = {"kunmingribao": 1, "dalidaily": 2 if quarter > 80 else 0}
        if quarter > 200:
            feeds["gone"] = 3
        return record(now - timedelta(hours=6 * quarter), feeds)

    for quarter in range(240, 0, -1):
        log.append(run(quarter))
    status = ("status", "-s", f"MIRROR_NOW={now.isoformat()}")
    before = mirror.scrapy(*status).stdout
    assert "Runs: 240 recorded" in before

    crawl = mirror.scrapy("crawl", "kunmingribao")
    assert crawl.returncode == 0, crawl.output
    lines = [json.loads(x) for x in log.path.read_text("utf-8").splitlines()]
    summary, kept, last = lines[0], lines[1:-1], lines[-1]
    assert summary["command"] == "summary" and summary["runs"] == 240 - len(kept)
    assert 119 <= len(kept) <= 120, "the runs of the last 30 days stay as they were"
    assert kept == [run(quarter) for quarter in range(len(kept), 0, -1)]
    gone = run(201)
    assert summary["feeds"]["gone"] == {
        "runs": 40, "new": 120, "last_run": gone["end"], "last_new": gone["end"],
        "last": gone["feeds"]["gone"],
    }  # fmt: skip
    assert summary["feeds"]["dalidaily"]["new"] == 2 * summary["runs"]
    assert last["command"] == "crawl" and last["feeds"]["kunmingribao"]["new"] > 0
    assert log.fold(30) == 0, "folded once a day, not on every run"

    after = mirror.scrapy(*status).stdout
    since = before.splitlines()[1].split(";")[0].split(" since ")[1]
    assert f"Runs: 241 recorded since {since};" in after
    for feed in ("dalidaily", "gone"):
        assert row(after, feed).split() == row(before, feed).split(), "totals, times survive"
    assert "QUIET: nothing new for 20d" in row(after, "dalidaily")
    posts = int(row(before, "kunmingribao").split()[1])
    assert (
        int(row(after, "kunmingribao").split()[1]) == posts + last["feeds"]["kunmingribao"]["new"]
    )


def test_a_summary_line_of_another_shape_is_left_alone(tmp_path, caplog):
    from scrapy.settings import Settings

    from crawler.mirror.runlog import record_run

    log = RunLog(tmp_path)
    log.append({"id": "summary", "command": "summary", "runs": "many", "start": "x",
                "end": "y", "feeds": {}})  # fmt: skip
    old = record(datetime.now(ZoneInfo("Asia/Shanghai")) - timedelta(days=90), {"kunmingribao": 1})
    log.append(old)
    before = log.path.read_bytes()
    settings = Settings({"MIRROR_DIR": str(tmp_path), "MIRROR_HISTORY_DAYS": 30})
    new = record_run(settings, "crawl", datetime.now(), [], 0)
    assert (
        log.path.read_bytes()
        == before + (json.dumps(new, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
    )
    assert "Cannot fold old runs of the run history" in caplog.text


def test_status_right_after_the_demo_shows_its_posts_by_category_and_its_run(
    replica, mirror_factory
):
    mirror = mirror_factory(shipped_feeds(replica))  # the demo's feeds, by name
    demo = mirror.scrapy("demo", "--articles", "10")
    assert demo.returncode == 0, demo.output[-3000:]
    posts = mirror.posts()
    by_category: dict[str, int] = {}
    for path in posts.values():
        category = mirror.read(path).category
        by_category[category] = by_category.get(category, 0) + 1

    newest = next(x for x in demo.stdout.splitlines() if x.startswith("Newest file: "))
    assert mirror.read(Path(newest.split()[2])).date == max(
        mirror.read(p).date for p in posts.values()
    ), "the newest post, not the file written last"

    status = mirror.scrapy("status")
    assert status.returncode == 0, status.output  # nothing flagged
    out = status.stdout
    assert f"Mirror {mirror.dir.resolve()}: {len(posts)} posts in _posts/" in out
    assert (
        "Posts by category: " + ", ".join(f"{c} {n}" for c, n in sorted(by_category.items()))
        in out.splitlines()
    )
    assert "Runs: 1 recorded since " in out and "last (demo) ended" in out and "status 0" in out
    [run] = RunLog(mirror.dir).records()
    assert run["command"] == "demo"
    assert sum(f["new"] for f in run["feeds"].values()) == len(posts)
    assert "no run yet" not in out
    # Each post counted once, for the feed that wrote it (regional or kunmingribao
    # writes 昆明日报's, whichever claims it first).
    assert sum(int(row(out, feed).split()[1]) for feed in run["feeds"]) == len(posts)


def test_crawl_of_a_failed_feed_exits_1_and_status_flags_it(replica, mirror_factory, tmp_path):
    catalog = replica_feeds(replica, "kunmingribao")
    catalog["feeds"]["broken"] = {
        "outlet": "坏报",
        "start_urls": [f"{replica.url}/error/500/category/{tmp_path.name}.html"],
    }
    mirror = mirror_factory(catalog)
    crawl = mirror.scrapy("crawl", "broken", "-s", "RETRY_TIMES=0")
    assert crawl.returncode == 1, crawl.output[-3000:]
    status = mirror.scrapy("status")
    assert status.returncode == 1 and "FAILING" in row(status.stdout, "broken")
    good = mirror.scrapy("crawl", "kunmingribao")
    assert good.returncode == 0, good.output[-3000:]
    status = mirror.scrapy("status")
    assert status.returncode == 1, "broken is still flagged"
