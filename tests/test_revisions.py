"""Revisits and revisions (SPEC §9, issue 16).

The logic in process (ages, comparison, the diff, the revision files and
their leftovers, the schedule's claims); then the real commands against a
replica of its own whose article changes its body, then its title, then
nothing, across the revisit ages of ``MIRROR_REVISIT`` with the clock set by
``MIRROR_NOW`` (nothing is slept through); then the site built by Jekyll and
read in headless Chromium.
"""

from __future__ import annotations

import itertools
import json
import random
import re
import shutil
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urljoin
from zoneinfo import ZoneInfo

import lxml.etree
import lxml.html
import pytest

from crawler.mirror.archive import Post, parse, read, render, write
from crawler.mirror.revisions import (
    REVISIONS_DIR,
    compare,
    record,
    revision_files,
    revision_name,
    superseded_at,
    versions,
)
from crawler.mirror.revisionsite import diff_html, sentences, text_of
from crawler.mirror.revisits import RevisitSchedule, Scheduled, parse_ages, revisit_schedule
from crawler.process import MirrorProcess
from tests.conftest import DATA, FAST, Mirror, ReplicaServer, replica_feeds, shipped_feeds
from tests.utils.cmdline import Result, popen_scrapy, run_scrapy

TZ = ZoneInfo("Asia/Shanghai")
ATOM = "{http://www.w3.org/2005/Atom}"
T0 = datetime(2026, 1, 1, 8, 0, tzinfo=TZ)
BASE = "//finews.withounder.com"
SEED = "NW202202202282281459"
SEED_BODY = parse((DATA / "seed" / f"2022-02-20-{SEED}.md").read_text("utf-8")).body
# A correction: a figure changed, a paragraph added at the end.
BODY_2 = SEED_BODY.replace("5项具体任务", "6项具体任务") + "<p>更正：新增企业120家。</p>"
TITLE_3 = "昆明出台产业招商提质增效实施意见（更正）"


def post(**changes: object) -> Post:
    base = Post(
        info_code="NW1", title="标题", date=T0, category="kunmingribao", outlet="昆明日报",
        body="<p>第一句。第二句。</p>", share_url="http://example.com/?infoCode=NW1",
    )  # fmt: skip
    return replace(base, **changes)  # type: ignore[arg-type]


# --- Logic ----------------------------------------------------------------------


def test_ages_are_durations_sorted_and_empty_turns_revisits_off():
    assert parse_ages("6h, 1h,24h") == (3600, 21600, 86400)
    assert parse_ages("30s,10m,2d") == (30, 600, 172800)
    assert parse_ages("") == ()
    with pytest.raises(ValueError, match="MIRROR_REVISIT 'soon'"):
        parse_ages("soon")


def test_a_revision_is_a_different_title_or_body_beyond_whitespace():
    old = post()
    assert not compare(old, post(body="<p>第一句。\n  第二句。</p>")).revised
    assert compare(old, post(body="<p>第一句。第三句。</p>")).body
    assert compare(old, post(title="新标题")).title
    moved = compare(old, post(date=T0 + timedelta(hours=1), outlet="云南日报"))
    assert not moved.revised and moved.other == ["date", "outlet"]


def test_chinese_text_is_compared_by_sentences_then_characters():
    assert sentences("一。二！三") == ["一。", "二！", "三"]
    assert text_of("<p>甲乙。</p><p>丙<b>丁</b></p>") == "甲乙。\n丙丁"
    diff = diff_html("今年新增企业100家。其他不变。", "今年新增企业120家。其他不变。")
    assert diff == "今年新增企业1<del>0</del><ins>2</ins>0家。其他不变。"
    assert diff_html("甲。", "甲。乙。") == "甲。<ins>乙。</ins>"
    assert diff_html("甲。{{x}}<b>", "") == "<del>甲。&#123;&#123;x&#125;&#125;&lt;b&gt;</del>"


def test_the_version_replaced_is_kept_first_and_a_leftover_copy_does_not_count(tmp_path):
    first = post()
    path = write(tmp_path, first, BASE)
    original = path.read_bytes()
    when = datetime(2026, 1, 1, 9, 0, tzinfo=TZ)
    kept = record(path, "NW1", render(post(title="二"), BASE), when)
    assert kept == tmp_path / REVISIONS_DIR / "NW1" / "20260101T010000Z.md"
    assert kept.read_bytes() == original
    assert superseded_at(kept) == when
    assert read(path).title == "二"

    # A run killed between keeping the copy and replacing the post leaves a
    # copy identical to the post: it does not count, and goes with the next revision.
    leftover = kept.parent / revision_name(when + timedelta(hours=1))
    shutil.copyfile(path, leftover)
    assert versions(tmp_path, "NW1", path) == [kept]
    again = record(path, "NW1", render(post(title="三"), BASE), when + timedelta(hours=2))
    assert revision_files(tmp_path, "NW1") == [kept, again]
    assert read(again).title == "二" and read(path).title == "三"


def test_each_revisit_is_claimed_once_across_processes_and_given_back_if_not_done(tmp_path):
    ages = parse_ages("1h,6h,24h")
    one, two = RevisitSchedule(tmp_path, ages), RevisitSchedule(tmp_path, ages)
    try:
        for code in ("NW1", "NW2"):
            one.add(Scheduled(code, "f", T0.timestamp(), f"http://x/{code}", "s", f"{code}.md"))
        assert one.claim_due("f", T0 + timedelta(minutes=59)) == []
        got = two.claim_due("f", T0 + timedelta(hours=1))  # the other process sees the adds
        assert sorted(r.article.info_code for r in got) == ["NW1", "NW2"]
        assert one.claim_due("f", T0 + timedelta(hours=2)) == []  # claimed by the other
        assert one.claim_due("other", T0 + timedelta(days=9)) == []
        two.release(got[0])
        again = one.claim_due("f", T0 + timedelta(hours=2))
        assert [r.article.info_code for r in again] == [got[0].article.info_code]
        # Ages passed together are done by one revisit.
        late = one.claim_due("f", T0 + timedelta(days=2))
        assert sorted((r.article.info_code, r.age) for r in late) == [
            ("NW1", 86400),
            ("NW2", 86400),
        ]
        assert one.pending() == 0
    finally:
        one.close()
        two.close()
    reopened = RevisitSchedule(tmp_path, ages)
    assert reopened.claim_due("f", T0 + timedelta(days=9)) == [] and reopened.pending() == 0
    reopened.close()


# --- Crawls against the replica ---------------------------------------------------


@dataclass
class Story:
    mirror: Mirror
    code: str  # the article that changes
    runs: list[tuple[Result, dict]]  # each run's result and the replica's counts
    before: dict[str, bytes]  # every post after the first run


@pytest.fixture(scope="module")
def story(tmp_path_factory) -> Iterator[Story]:
    """Four runs an hour, six hours and a day after the first: the seed's body
    changes before the second, its title before the third, nothing before the
    fourth; a fifth, two days on, has nothing left to revisit."""
    replica = ReplicaServer("--articles", "3", "--no-faults")
    try:
        catalog = replica_feeds(replica, "kunmingribao")
        mirror = Mirror(tmp_path_factory.mktemp("revisions"), catalog)
        runs: list[tuple[Result, dict]] = []

        def run(at: timedelta) -> None:
            replica.reset()
            result = mirror.scrapy(
                "crawl", "kunmingribao", "-s", "MIRROR_REVISIT=1h,6h,24h",
                "-s", f"MIRROR_NOW={(T0 + at).isoformat()}", "-s", "MIRROR_BASE_URL=",
            )  # fmt: skip
            assert result.returncode == 0, result.stderr[-3000:]
            runs.append((result, replica.stats()["by_kind"]))

        run(timedelta(0))
        before = {name: path.read_bytes() for name, path in mirror.posts().items()}
        replica.revise(SEED, body=BODY_2)
        run(timedelta(hours=1))
        replica.revise(SEED, title=TITLE_3)
        run(timedelta(hours=6))
        run(timedelta(hours=24))
        run(timedelta(hours=48))
        yield Story(mirror, SEED, runs, before)
    finally:
        replica.stop()


def test_revisits_cost_one_request_each_after_the_new_articles(story):
    counts = [kinds for _, kinds in story.runs]
    assert [c["share"] for c in counts] == [3, 3, 3, 3, 0]
    assert [c["listing"] for c in counts] == [1, 1, 1, 1, 1]
    lines = [result.stdout.strip() for result, _ in story.runs]
    assert lines[0] == "kunmingribao: 3 new, 0 known, 0 dropped, 0 errors, 0 filtered, 1 page"
    assert lines[1].endswith("1 page, 3 revisited, 1 revision")
    assert lines[2].endswith("1 page, 3 revisited, 1 revision")
    assert lines[3].endswith("1 page, 3 revisited, 0 revisions")
    assert lines[4].endswith("1 page")


def test_a_changed_body_then_title_are_two_revisions_each_kept_whole(story):
    root = story.mirror.dir
    posts = story.mirror.posts()
    name = next(n for n in posts if story.code in n)
    kept = versions(root, story.code, posts[name])
    assert [p.name for p in kept] == ["20260101T010000Z.md", "20260101T060000Z.md"]
    assert kept[0].read_bytes() == story.before[name]  # the first version, byte for byte
    second, now = read(kept[1]), read(posts[name])
    assert second.body == BODY_2 and second.title == read(kept[0]).title
    assert now.title == TITLE_3 and now.body == BODY_2
    assert now.date == read(kept[0]).date and now.share_url == read(kept[0]).share_url
    # The unrevised posts are byte for byte as first written.
    for other, path in posts.items():
        if other != name:
            assert path.read_bytes() == story.before[other]


def test_verify_export_and_status_count_revisions(story):
    mirror = story.mirror
    verified = mirror.scrapy("verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "3 posts, 2 revisions, 1 category checked" in verified.stdout

    exported = mirror.scrapy("export")
    records = [json.loads(line) for line in exported.stdout.splitlines()]
    assert {r["infoCode"]: r["revisions"] for r in records} == {
        code: 2 if code == story.code else 0 for code in (r["infoCode"] for r in records)
    }
    full = mirror.scrapy("export", "--revisions")
    lines = [json.loads(line) for line in full.stdout.splitlines()]
    earlier = [r for r in lines if "revision" in r]
    assert [(r["infoCode"], r["revision"], r["superseded"]) for r in earlier] == [
        (story.code, 1, "2026-01-01T09:00:00+08:00"),
        (story.code, 2, "2026-01-01T14:00:00+08:00"),
    ]
    assert earlier[1]["body"] == BODY_2

    status = mirror.scrapy("status", "-s", f"MIRROR_NOW={(T0 + timedelta(days=2)).isoformat()}")
    assert "Revisits: kunmingribao 9 done, 2 revisions found" in status.stdout, status.stdout


def test_verify_flags_a_revision_newer_than_its_post(story, tmp_path):
    mirror = Mirror(tmp_path, {"feeds": {}})
    shutil.copytree(story.mirror.dir, mirror.dir)
    post_name = next(n for n in mirror.posts() if story.code in n)
    newest = revision_files(mirror.dir, story.code)[-1]
    newest.write_text(newest.read_text("utf-8").replace("更正", "另一"), "utf-8")
    result = mirror.scrapy("verify")
    assert result.returncode == 1
    assert f"{newest.name}: newer than its post {post_name}" in result.stdout


def test_an_article_taken_down_is_asked_for_once_per_age_and_its_post_kept(tmp_path):
    with ReplicaServer("--articles", "2", "--no-faults") as replica:
        mirror = Mirror(tmp_path, replica_feeds(replica, "kunmingribao"))
        asked = []
        for at in (0, 60, 90, 120):  # minutes; ages 1h and 2h
            if at == 60:
                replica.revise(SEED, gone=True)
            replica.reset()
            now = (T0 + timedelta(minutes=at)).isoformat()
            result = mirror.scrapy("crawl", "kunmingribao", "-s", "MIRROR_REVISIT=1h,2h",
                                   "-s", f"MIRROR_NOW={now}")  # fmt: skip
            assert result.returncode == 0, result.output[-3000:]
            if not at:
                before = {name: path.read_bytes() for name, path in mirror.posts().items()}
            asked.append(sum(n for p, n in replica.stats()["by_path"].items() if SEED in p))
    assert asked == [1, 1, 0, 1]  # not again at each run: once at each age
    assert {name: path.read_bytes() for name, path in mirror.posts().items()} == before


def test_a_revision_the_disk_cannot_take_is_revisited_again_at_the_next_run(tmp_path):
    """A revisit whose revision is not written (RETRY) is given back, not done."""
    with ReplicaServer("--articles", "2", "--no-faults") as replica:
        mirror = Mirror(tmp_path, replica_feeds(replica, "kunmingribao"))

        def run(minutes: int) -> Result:
            now = (T0 + timedelta(minutes=minutes)).isoformat()
            return mirror.scrapy("crawl", "kunmingribao", "-s", "MIRROR_REVISIT=1h,24h",
                                 "-s", f"MIRROR_NOW={now}")  # fmt: skip

        assert run(0).returncode == 0
        replica.revise(SEED, body=BODY_2)
        blocker = mirror.dir / REVISIONS_DIR
        blocker.write_text("not a folder", "utf-8")  # the revision cannot be kept
        failed = run(60)
        assert failed.returncode != 0 and "storage" in failed.output, failed.output[-3000:]
        name = next(n for n in mirror.posts() if SEED in n)
        assert read(mirror.posts()[name]).body == SEED_BODY  # the post untouched
        blocker.unlink()
        again = run(120)  # before the next age (24h): only a revisit given back is due
        assert again.returncode == 0, again.output[-3000:]
    kept = versions(mirror.dir, SEED, mirror.posts()[name])
    assert [p.name for p in kept] == ["20260101T020000Z.md"]
    assert read(mirror.posts()[name]).body == BODY_2


def test_the_spider_and_the_writer_share_one_schedule_closed_with_the_last_crawler(tmp_path):
    from tests.test_process import project_crawler, stop

    process = MirrorProcess()
    one = project_crawler(tmp_path, MIRROR_PROCESS=process)
    two = project_crawler(tmp_path, MIRROR_PROCESS=process)
    schedule = revisit_schedule(one)
    assert schedule is not None and revisit_schedule(one) is schedule
    assert revisit_schedule(two) is schedule  # the other feed's crawler of the process
    stop(one)
    assert not schedule._lock_file.closed  # the other crawler still uses it
    stop(two)
    assert schedule._lock_file.closed and schedule not in list(process.parts())
    process.close()
    off = project_crawler(tmp_path, MIRROR_REVISIT="")
    assert revisit_schedule(off) is None
    stop(off)


@pytest.mark.parametrize("catalog", ["replica", "shipped"])
def test_every_kind_of_feed_revisited_unchanged_writes_nothing(catalog, tmp_path):
    """HTML pages (UTF-8 and GBK), content APIs, list APIs, rolling news with
    its digest, outlet filters: an article revisited as it was is no revision."""
    with ReplicaServer("--articles", "6") as replica:
        feeds = replica_feeds(replica) if catalog == "replica" else shipped_feeds(replica)
        mirror = Mirror(tmp_path, feeds)
        runs = []
        for at in (timedelta(0), timedelta(hours=1)):
            result = mirror.scrapy(
                "crawlall", "-s", "MIRROR_REVISIT=1h", "-s", f"MIRROR_NOW={(T0 + at).isoformat()}"
            )
            assert result.returncode in (0, 1), result.output[-3000:]  # some feeds serve faults
            runs.append(result.stdout)
            if not at:
                before = {name: path.read_bytes() for name, path in mirror.posts().items()}
    assert {name: path.read_bytes() for name, path in mirror.posts().items()} == before
    assert not (mirror.dir / REVISIONS_DIR).exists()
    revisited = sum(int(n) for n in re.findall(r"(\d+) revisited, 0 revisions", runs[1]))
    assert revisited == len(before) and " revision," not in runs[1], runs[1]


# --- The site -----------------------------------------------------------------


@pytest.fixture(scope="module")
def built(story, tmp_path_factory) -> Path:
    from tests.test_site import JEKYLL, jekyll_build

    if JEKYLL is None:
        pytest.skip("Debian's jekyll is not installed (.ci/run installs it)")
    destination = tmp_path_factory.mktemp("site") / "_site"
    jekyll_build(story.mirror.dir, destination)
    return destination


def built_post(built: Path, code: str) -> Path:
    return next(p for p in built.rglob("*.html") if p.stem == code)


def test_the_built_site_shows_the_revisions_their_pages_and_differences(story, built):
    page = lxml.html.fromstring(built_post(built, story.code).read_bytes())
    aside = squash(page.cssselect("aside.revised p")[0])
    assert aside == "本文修订过 2 次，最后修订于 2026-01-01 14:00。"
    links = [a.get("href") for a in page.cssselect("aside.revised a")]
    assert links == [f"/revisions/{story.code}/{p}.html" for p in ("v1", "diff1", "v2", "diff2")]
    assert squash(page.cssselect("h1")[0]) == TITLE_3

    first = lxml.html.fromstring((built / links[0].lstrip("/")).read_bytes())
    assert squash(first.cssselect("h1")[0]) == read_title(story, 0)
    title_diff = lxml.html.fromstring((built / links[3].lstrip("/")).read_bytes())
    assert [squash(e) for e in title_diff.cssselect(".diff-title ins")] == ["（更正）"]
    body_diff = lxml.html.fromstring((built / links[1].lstrip("/")).read_bytes())
    marked = [(e.tag, squash(e)) for e in body_diff.cssselect(".diff ins, .diff del")]
    assert marked == [("del", "5"), ("ins", "6"), ("ins", "更正：新增企业120家。")]

    # The Atom entry is updated at the last revision; the others at publication.
    feed = lxml.etree.parse(str(built / "feed.xml"))
    updated = {
        e.findtext(f"{ATOM}id").rsplit(":", 1)[1]: e.findtext(f"{ATOM}updated")
        for e in feed.iter(f"{ATOM}entry")
    }
    assert updated[story.code] == "2026-01-01T14:00:00+08:00"
    published = {
        e.findtext(f"{ATOM}id").rsplit(":", 1)[1]: e.findtext(f"{ATOM}published")
        for e in feed.iter(f"{ATOM}entry")
    }
    assert all(updated[c] == published[c] for c in updated if c != story.code)

    home = lxml.html.fromstring((built / "index.html").read_bytes())
    corrections = home.cssselect("section.corrections li")
    assert [squash(li) for li in corrections] == [f"2026-01-01 14:00 {TITLE_3}（修订 2 次）"]
    # Earlier versions are not built as posts.
    assert not list(built.rglob("_revisions"))
    assert len([p for p in built.rglob("*.html") if p.stem == story.code]) == 1


def test_a_reader_follows_a_post_to_its_earlier_version_and_the_difference(built, story, tmp_path):
    from tests.test_site import CHROMIUM, Browser, StaticServer

    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    server = StaticServer(built)
    try:
        browser = Browser(tmp_path / "profile")
        url = f"{server.url}/{built_post(built, story.code).relative_to(built).as_posix()}"
        page = browser.open(url)
        assert "本文修订过 2 次" in squash(page.cssselect("aside.revised")[0])
        diff_link = page.cssselect("aside.revised a")[1].get("href")
        diff = browser.open(urljoin(url, diff_link))
        assert [squash(e) for e in diff.cssselect(".diff ins")] == ["6", "更正：新增企业120家。"]
        assert not diff.cssselect("script")
        back = diff.cssselect(".revision-current a")[0].get("href")
        current = browser.open(urljoin(server.url + "/", back.lstrip("/")))
        assert squash(current.cssselect("h1")[0]) == TITLE_3
    finally:
        server.stop()


def squash(element: lxml.html.HtmlElement) -> str:
    return " ".join(element.text_content().split())


def read_title(story: Story, n: int) -> str:
    return read(revision_files(story.mirror.dir, story.code)[n]).title


# --- Killed mid-revision ------------------------------------------------------------


@pytest.mark.slow
def test_a_crawl_killed_while_revising_records_each_revision_whole_or_not_at_all(tmp_path):
    """Each round revises every article at the replica, then a crawl at the
    next revisit age is killed with SIGKILL after a random number of
    revisions; a last round runs to its end. Every post and revision file is
    whole, no version is kept twice, and the post is the newest version."""
    rounds, articles = 6, 24
    rng = random.Random(16)
    ages = ",".join(f"{k}h" for k in range(1, rounds + 2))
    with ReplicaServer("--articles", str(articles), "--no-faults", "--latency-ms", "40") as replica:
        mirror = Mirror(tmp_path, replica_feeds(replica, "kunmingribao"))
        settings = ["-s", f"MIRROR_REVISIT={ages}", "-s", "MIRROR_FSYNC=False"]

        def args(hours: int) -> list[str]:
            return [
                "crawl", "kunmingribao", *settings,
                "-s", f"MIRROR_NOW={(T0 + timedelta(hours=hours)).isoformat()}",
                "-s", f"MIRROR_DIR={mirror.dir}", "-s", f"NEWS_FEEDS_FILE={mirror.catalog_path}",
                *FAST,
            ]  # fmt: skip

        first = run_scrapy(*args(0), cwd=tmp_path)
        assert first.returncode == 0, first.output[-3000:]
        codes = [name[11:-3] for name in mirror.posts()]
        killed = 0
        for k in range(1, rounds + 2):
            for code in codes:
                replica.revise(code, body=f"<p>{code} 第{k}版。</p>")
            if k > rounds:
                last = run_scrapy(*args(k), cwd=tmp_path)
                assert last.returncode == 0, last.output[-3000:]
                break
            before = snapshot(mirror, codes)
            proc = popen_scrapy(*args(k), cwd=tmp_path)
            done, target = count_revisions(mirror.dir), rng.randrange(articles // 2)
            deadline = time.monotonic() + 60
            while count_revisions(mirror.dir) < done + target and proc.poll() is None:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.002)
            time.sleep(rng.uniform(0, 0.03))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                killed += 1
            proc.communicate(timeout=60)
            check_revisions(mirror, codes)
            after = snapshot(mirror, codes)
            for code in codes:  # revised: the version it replaced kept whole; else nothing
                (text, kept), (now, now_kept) = before[code], after[code]
                if now != text:
                    assert len(now_kept) == len(kept) + 1 and now_kept[-1] == text, code
                else:
                    assert now_kept == kept, code
        assert killed >= rounds // 2
        check_revisions(mirror, codes)
        for code in codes:  # the last round ran to its end: every post is its last version
            path = next(p for n, p in mirror.posts().items() if code in n)
            assert read(path).body == f"<p>{code} 第{rounds + 1}版。</p>"
        verified = mirror.scrapy("verify")
        assert verified.returncode == 0, verified.output


def snapshot(mirror: Mirror, codes: list[str]) -> dict[str, tuple[str, list[str]]]:
    """Per article: its post's text and the texts of the versions kept."""
    posts = mirror.posts()
    out = {}
    for code in codes:
        path = next(p for n, p in posts.items() if code in n)
        kept = [p.read_text("utf-8") for p in versions(mirror.dir, code, path)]
        out[code] = (path.read_text("utf-8"), kept)
    return out


def count_revisions(root: Path) -> int:
    return sum(1 for _ in (root / REVISIONS_DIR).glob("*/*.md"))


def check_revisions(mirror: Mirror, codes: list[str]) -> None:
    posts = mirror.posts()
    assert len(posts) == len(codes)
    for code in codes:
        path = next(p for n, p in posts.items() if code in n)
        chain = [*versions(mirror.dir, code, path), path]
        texts = [p.read_text("utf-8") for p in chain]
        for p, t in zip(chain, texts, strict=True):
            assert render(parse(t, str(p)), BASE) == t, p  # whole
        assert all(a != b for a, b in itertools.pairwise(texts)), code  # none kept twice
        bodies = [parse(t).body for t in texts]
        rounds = [0 if "版" not in b else int(b.split("第")[1].split("版")[0]) for b in bodies]
        assert rounds == sorted(rounds), (code, rounds)  # the post is the newest
