"""Real crawls of the replica over loopback, read back from the files they write."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
import yaml

from crawler.mirror.archive import FILENAME, parse
from crawler.mirror.paths import INDEX_FILE, STATE_DIR
from crawler.mirror.runlog import RunLog
from replica.content import Source
from tests.conftest import DATA, ReplicaServer, replica_feeds
from tests.utils.cmdline import popen_scrapy

SEED = DATA / "seed" / "2022-02-20-NW202202202282281459.md"
SOURCE = Source(articles=40, per_page=10, faults=True, now=datetime.now(timezone.utc))


def front_matter(path):
    text = path.read_text("utf-8")
    assert text.startswith("---\n") and not text.endswith("\n")
    return yaml.safe_load(text[4 : text.index("\n---\n", 3)])


def test_crawl_reproduces_the_seed_post_byte_for_byte(replica, mirror_factory):
    mirror = mirror_factory(replica_feeds(replica, "kunmingribao"))
    result = mirror.scrapy("crawl", "kunmingribao")
    assert result.returncode == 0, result.output
    written = mirror.dir / "_posts" / SEED.name
    assert written.read_bytes() == SEED.read_bytes()
    page = mirror.dir / "category" / "kunmingribao.html"
    assert page.read_text("utf-8") == (
        "---\nlayout: category\ntitle: 昆明日报新闻\ncategory: kunmingribao\n---\n"
    )


@pytest.fixture(scope="module")
def crawled_all(replica, tmp_path_factory):
    from tests.conftest import Mirror

    mirror = Mirror(tmp_path_factory.mktemp("all"), replica_feeds(replica))
    result = mirror.scrapy("crawlall")
    return mirror, result


def test_crawlall_mirrors_every_kind_of_feed(crawled_all):
    mirror, result = crawled_all
    assert result.returncode == 0, result.output
    posts = mirror.posts()
    by_category: dict[str, int] = {}
    for name, path in posts.items():
        meta = front_matter(path)
        post = parse(path.read_text("utf-8"), str(path))
        expected = SOURCE.lookup(post.info_code)
        assert expected is not None, name
        assert meta["title"] == expected.title, name
        assert post.outlet == expected.outlet
        assert FILENAME.fullmatch(name)["date"] == post.date.strftime("%Y-%m-%d")
        assert post.date.utcoffset().total_seconds() == 8 * 3600
        assert "\ufffd" not in path.read_text("utf-8"), f"mojibake in {name}"
        by_category[post.category] = by_category.get(post.category, 0) + 1
    # HTML listings, GBK pages, the content API, list APIs of three layouts
    for category in ("kunmingribao", "chunchengwanbao", "yunnanribao", "yunnanwang", "dalidaily"):
        assert by_category[category] == 40, by_category
    # The aggregate takes each article's outlet as its category (pinyin).
    assert {"qujingribao", "yuxiribao", "hongheribao", "zhaotongribao", "baoshanribao"} <= set(
        by_category
    )
    assert len(posts) == sum(by_category.values())
    for category in by_category:
        assert (mirror.dir / "category" / f"{category}.html").exists()


def test_gbk_pages_in_every_declaration_style_decode_right(crawled_all):
    mirror, _ = crawled_all
    gbk = [p for n, p in mirror.posts().items() if "NWCCWB" in n]
    assert len(gbk) == 40
    styles = {SOURCE.gbk_style(SOURCE.lookup(mirror.read(p).info_code))[0] for p in gbk}
    assert len(styles) == 4, styles  # header, meta charset, http-equiv, undeclared
    for path in gbk:
        post = mirror.read(path)
        assert post.title == SOURCE.lookup(post.info_code).title
        assert post.outlet == "春城晚报"
    undeclared = [p for p in gbk if "䶮" in p.read_text("utf-8")]
    assert undeclared, "GB18030-only text of undeclared pages survives"


def test_outlet_filter_takes_only_its_outlet(crawled_all):
    mirror, result = crawled_all
    qujing = [mirror.read(p) for p in mirror.posts().values()]
    assert {p.category for p in qujing if p.outlet == "曲靖日报"} == {"qujingribao"}
    # Every 曲靖日报 article of the aggregate, though the aggregate feed of the
    # same run claims some first: a page it is still fetching is not "nothing new".
    assert sum(1 for p in qujing if p.outlet == "曲靖日报") == 8
    line = next(x for x in result.stdout.splitlines() if x.startswith("qujingribao:"))
    assert re.search(r"\d+ filtered", line) and " 0 filtered" not in line


def test_bad_input_is_dropped_counted_and_named(crawled_all):
    mirror, result = crawled_all
    log = result.stderr
    km = next(x for x in result.stdout.splitlines() if x.startswith("kunmingribao:"))
    for reason in ("bad_date 1", "bad_infocode 1", "missing_body 1", "missing_title 1"):
        assert reason in km, km
    assert "http_404 1" in km and "http_500 1" in km
    for code, reason in [
        ("KMRB-fault-no-title", "missing_title"),
        ("KMRB-fault-bad-date", "bad_date"),
        ("KMRB-fault-empty-body", "missing_body"),
        ("YNRB-fault-not-json", "bad_json"),
        ("YNRB-fault-no-title", "missing_title"),
    ]:
        line = next(x for x in log.splitlines() if f"article {code} " in x and "Dropped" in x)
        assert reason in line and re.search(r"<http://127\.0\.0\.1:\d+/\S+>", line), line
    assert re.search(r"Article KMRB-fault-404 of feed kunmingribao failed: HTTP 404 <http", log)
    assert re.search(r"Article KMRB-fault-500 of feed kunmingribao failed: HTTP 500 <http", log)
    assert "bad_infocode (record 3 infoCode '../../etc/passwd')" in log
    assert "missing_infocode (record" in log
    assert not any("fault" in name for name in mirror.posts())
    assert "Traceback" not in log


def test_second_run_writes_nothing_and_keeps_every_post(crawled_all):
    mirror, _ = crawled_all
    before = {n: p.read_bytes() for n, p in mirror.posts().items()}
    result = mirror.scrapy("crawlall")
    assert result.returncode == 0, result.output
    assert {n: p.read_bytes() for n, p in mirror.posts().items()} == before
    assert "7 feeds, 0 new posts" in result.stdout


@pytest.fixture
def clean_replica():
    server = ReplicaServer("--no-faults")
    yield server
    server.stop()


def test_recrawl_with_nothing_new_reads_only_the_first_listing_page(clean_replica, mirror_factory):
    mirror = mirror_factory(replica_feeds(clean_replica))
    assert mirror.scrapy("crawlall").returncode == 0
    clean_replica.reset()
    result = mirror.scrapy("crawlall")
    assert result.returncode == 0, result.output
    stats = clean_replica.stats()
    # robots.txt once (one crawler for the seven feeds on this one host), then
    # one listing request per feed, nothing else.
    assert stats["by_kind"]["robots"] == 1
    assert stats["by_kind"].get("listing", 0) + stats["by_kind"].get("list_api", 0) == 7
    assert stats["by_kind"].get("share", 0) == 0
    assert stats["by_kind"].get("api", 0) == stats["by_kind"].get("content", 0) == 0

    # New articles on top of page 1 are fetched, and paging stops there again.
    new = clean_replica.publish("kunmingribao", 3)
    clean_replica.reset()
    result = mirror.scrapy("crawl", "kunmingribao")
    assert result.returncode == 0, result.output
    stats = clean_replica.stats()
    assert (
        sorted(k for k in stats["by_path"] if "NewsShare" in k)
        == sorted(f"/html_News/NewsShare.html?infoCode={code}" for code in new)
        or stats["by_kind"]["share"] == 3
    )
    assert stats["by_kind"]["listing"] == 2  # page 1 (new), page 2 (nothing new): stop
    assert {c for c in new} <= {n.split("-", 3)[3][:-3] for n in mirror.posts()}


def test_a_new_feed_backfills_past_what_other_feeds_mirrored(clean_replica, mirror_factory):
    # The aggregate (max_pages 3) mirrors its first 30 records, 曲靖日报's among
    # them; the feed cut from it, crawled for the first time, finds its page 1
    # all known but must page on: some of its articles lie beyond page 3.
    mirror = mirror_factory(replica_feeds(clean_replica, "yunnanxinwen", "qujingribao"))
    assert mirror.scrapy("crawl", "yunnanxinwen").returncode == 0
    aggregate = {mirror.read(p).info_code for p in mirror.posts().values()}
    assert len(aggregate) == 30
    clean_replica.reset()
    result = mirror.scrapy("crawl", "qujingribao")
    assert result.returncode == 0, result.output
    qujing = [
        mirror.read(p) for p in mirror.posts().values() if mirror.read(p).outlet == "曲靖日报"
    ]
    assert len(qujing) == 8, "every 曲靖日报 article, those beyond the aggregate's pages too"
    assert {p.info_code for p in qujing} - aggregate, "some only the cut feed could reach"
    assert "Feed qujingribao: its first listing walk; paging on past known pages" in (result.stderr)
    assert "cut short" not in result.stderr, "nothing was cut short: it is the first walk"
    walked = clean_replica.stats()["by_kind"]["list_api"]
    assert walked >= 4

    # Its walk done, the next run stops at its first page with nothing new.
    clean_replica.reset()
    assert mirror.scrapy("crawl", "qujingribao").returncode == 0
    assert clean_replica.stats()["by_kind"]["list_api"] == 1


def test_index_deleted_is_rebuilt_and_nothing_is_fetched_again(clean_replica, mirror_factory):
    mirror = mirror_factory(replica_feeds(clean_replica, "kunmingribao"))
    assert mirror.scrapy("crawl", "kunmingribao").returncode == 0
    (mirror.dir / STATE_DIR / INDEX_FILE).unlink()
    clean_replica.reset()
    result = mirror.scrapy("crawl", "kunmingribao")
    assert "rebuilding it from 40 post files" in result.stderr
    assert clean_replica.stats()["by_kind"].get("share", 0) == 0


def test_a_post_is_written_once_across_feeds(clean_replica, mirror_factory):
    feeds = replica_feeds(clean_replica, "kunmingribao")
    feeds["feeds"]["kmcopy"] = {**feeds["feeds"]["kunmingribao"]}
    mirror = mirror_factory(feeds)
    result = mirror.scrapy("crawlall")
    assert result.returncode == 0, result.output
    assert len(mirror.posts()) == 40
    assert clean_replica.stats()["by_kind"]["share"] == 40, "each article fetched once"
    lines = [x for x in result.stdout.splitlines() if x.startswith(("kunmingribao:", "kmcopy:"))]
    assert sum(int(x.split()[1]) for x in lines) == 40


@pytest.mark.slow  # two whole crawlalls at once; one store's side: tests/test_dedup.py
def test_two_processes_on_one_mirror_write_each_post_once(clean_replica, mirror_factory):
    mirror = mirror_factory(replica_feeds(clean_replica))
    args = [
        "crawlall", "-s", f"MIRROR_DIR={mirror.dir}",
        "-s", f"NEWS_FEEDS_FILE={mirror.catalog_path}", "-s", "AUTOTHROTTLE_ENABLED=False",
        "-s", "MIRROR_RUN_LOCK=False",  # both at once: no run lock (tests/test_schedule.py)
    ]  # fmt: skip
    procs = [popen_scrapy(*args, cwd=mirror.root) for _ in range(2)]
    outputs = [p.communicate(timeout=180) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    new = sum(int(m) for out, _ in outputs for m in re.findall(r"(\d+) new posts?\b", out))
    posts = mirror.posts()
    assert new == len(posts), "every post counted as new was written by exactly one process"
    assert len(posts) >= 200
    codes = [FILENAME.fullmatch(n)["infoCode"] for n in posts]
    assert len(codes) == len(set(codes))
    for path in posts.values():
        front_matter(path)  # complete, loadable
    assert not list((mirror.dir / "_posts").glob(".*"))


def test_crawl_of_an_unknown_feed_names_the_catalogs_feeds(replica, mirror_factory):
    mirror = mirror_factory(replica_feeds(replica, "kunmingribao", "yunnanwang"))
    result = mirror.scrapy("crawl", "nosuch")
    assert result.returncode == 2, result.output
    assert "Traceback" not in result.output and "KeyError" not in result.output
    assert (
        "error: unknown feed: nosuch; the catalog has: kunmingribao, yunnanwang"
        in (result.stderr.splitlines()[-1])
    )
    assert not RunLog(mirror.dir).path.exists()


def test_a_fixed_selector_brings_its_dropped_articles_back_on_the_next_run(
    clean_replica, mirror_factory
):
    broken = {"article": {"title": "h1.headline::text"}}  # matches nothing
    mirror = mirror_factory(replica_feeds(clean_replica, "kunmingribao", kunmingribao=broken))
    first = mirror.scrapy("crawlall")
    assert first.returncode == 1, first.output  # every article dropped as missing_title
    assert re.search(
        r"kunmingribao: 0 new, \d+ known, (\d+ held back \(.*?\), )?"
        r"40 dropped \(missing_title 40\)",
        first.stdout,
    ), first.stdout  # (an article on two pages is met again after its drop)
    assert mirror.posts() == {}

    # The same catalog: the drops are held back, and the summary says so apart.
    clean_replica.reset()
    again = mirror.scrapy("crawlall")
    assert (
        "kunmingribao: 0 new, 0 known, 10 held back (dropped lately; "
        "-s MIRROR_RETRY_DROPPED_HOURS=0 tries them now), 0 dropped"
    ) in again.stdout, again.stdout
    assert clean_replica.stats()["by_kind"].get("share", 0) == 0
    [_, record] = RunLog(mirror.dir).records()
    assert record["feeds"]["kunmingribao"]["held"] == 10  # page 1's: nothing new, it stops

    # The selector fixed in the catalog: its next run fetches them again at once.
    mirror.write_catalog(replica_feeds(clean_replica, "kunmingribao"))
    clean_replica.reset()
    fixed = mirror.scrapy("crawlall")
    assert fixed.returncode == 0, fixed.output
    assert re.search(r"kunmingribao: 40 new, \d+ known, 0 dropped", fixed.stdout), fixed.stdout
    assert len(mirror.posts()) == 40
    assert clean_replica.stats()["by_kind"]["share"] == 40
