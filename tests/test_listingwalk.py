"""Listing pages fetched ahead on a backfill, read in order (crawler/source/listingwalk.py)."""

from __future__ import annotations

import re

import pytest

from crawler.source.listingwalk import ListingWalk, PageTemplate
from tests.conftest import ReplicaServer, replica_feeds

# --- The walk's rules, on the class itself ------------------------------------


def test_a_template_is_learned_from_two_pages_one_number_apart():
    t = PageTemplate.learn("http://h/category/km_2.html", "http://h/category/km_3.html", 2)
    assert t is not None
    assert [t.url(p) for p in (3, 4, 10)] == [
        "http://h/category/km_3.html", "http://h/category/km_4.html", "http://h/category/km_10.html",
    ]  # fmt: skip
    api = PageTemplate.learn(
        "http://h/api/list/x?size=20&page=1", "http://h/api/list/x?size=20&page=2", 1
    )
    assert api is not None and api.url(7) == "http://h/api/list/x?size=20&page=7"
    padded = PageTemplate.learn("http://h/list/p008.html", "http://h/list/p009.html", 8)
    assert padded is not None and padded.url(10) == "http://h/list/p010.html"


@pytest.mark.parametrize(
    ("url", "next_url"),
    [
        ("http://h/category/km.html", "http://h/category/km_2.html"),  # page 1 has no number
        ("http://h/list?p=2&t=100", "http://h/list?p=3&t=101"),  # two numbers change
        ("http://h/list_2.html", "http://h/list_4.html"),  # not one apart
        ("http://h/list_2.html", "http://h/other_3.html"),  # more than a number changes
        ("http://h/list?cursor=a1b", "http://h/list?cursor=x9y"),
    ],
)
def test_no_template_where_the_pages_do_not_count_up(url, next_url):
    assert PageTemplate.learn(url, next_url, 2) is None


def page_url(n: int) -> str:
    return "http://h/km.html" if n == 1 else f"http://h/km_{n}.html"


def read(walk: ListingWalk, page: int, outcome: str, names_next: bool = True,
         likely_more: bool = True) -> list[tuple[int, str]]:  # fmt: skip
    """Deliver a page and read what is due, as the spider does; the fetches it asks for."""
    wanted: list[tuple[int, str]] = []
    if walk.arrive(page, page_url(page) if outcome != "wrong" else "x", outcome):
        for due, _ in walk.ready():
            if names_next:
                wanted += walk.follow(due, page_url(due + 1), likely_more)
    return wanted


def test_pages_fetched_ahead_are_read_in_order_and_the_window_grows():
    walk = ListingWalk(page_url(1), max_pages=50, ahead=4)
    assert read(walk, 1, "p1") == [(2, page_url(2))]  # page 1 → 2 teaches no pattern
    assert read(walk, 2, "p2") == [(3, page_url(3)), (4, page_url(4)), (5, page_url(5))]
    # 4 and 5 arrive before 3: held, not read.
    assert read(walk, 5, "p5") == [] and read(walk, 4, "p4") == []
    assert walk.expected == 3 and sorted(walk.held) == [4, 5]
    # 3 comes: 3, 4, 5 are read in turn; each asks for what is not asked yet.
    wanted = read(walk, 3, "p3")
    assert walk.expected == 6 and not walk.held
    # Read up to 5, the next is 6: 4 beyond it at most, so up to 10.
    assert [p for p, _ in wanted] == [6, 7, 8, 9, 10]
    assert walk.unread == 0


def test_a_walk_that_stops_leaves_what_was_fetched_ahead_unread():
    walk = ListingWalk(page_url(1), max_pages=50, ahead=4)
    read(walk, 1, "p1")
    read(walk, 2, "p2")  # asks for 3, 4, 5
    read(walk, 4, "p4")
    # Page 3 has nothing new: the spider does not follow it, the walk ends there.
    assert read(walk, 3, "p3", names_next=False) == []
    assert walk.over and walk.unread == 1  # page 4, held
    assert not walk.arrive(5, page_url(5), "p5") and walk.unread == 2


def test_a_wrong_guess_ends_guessing_and_the_walk_follows_the_real_link():
    walk = ListingWalk(page_url(1), max_pages=50, ahead=4)
    read(walk, 1, "p1")
    read(walk, 2, "p2")  # guessed 4 and 5
    assert walk.arrive(3, page_url(3), "p3")
    due = walk.ready()
    assert next(due) == (3, "p3")
    # Page 3 names another URL for page 4 than the guess.
    real = "http://h/km_4.html?real"
    assert walk.follow(3, real, likely_more=True) == [(4, real)]
    assert list(due) == [] and not walk.over
    assert not walk.guessing
    assert not walk.arrive(4, page_url(4), "guessed 4")  # the guess arrives: never read
    assert not walk.arrive(5, page_url(5), "guessed 5")
    assert walk.arrive(4, real, "real 4")
    due = walk.ready()
    assert next(due) == (4, "real 4")
    assert walk.follow(4, "http://h/km_5.html?real", likely_more=True) == [
        (5, "http://h/km_5.html?real")  # page by page from now on
    ]
    assert walk.unread == 2


def test_nothing_is_fetched_ahead_without_a_backfill_or_past_max_pages():
    walk = ListingWalk(page_url(1), max_pages=4, ahead=4)
    read(walk, 1, "p1", likely_more=False)
    assert read(walk, 2, "p2", likely_more=False) == [(3, page_url(3))]
    assert read(walk, 3, "p3") == [(4, page_url(4))]  # max_pages 4: nothing beyond
    off = ListingWalk(page_url(1), max_pages=50, ahead=0)
    read(off, 1, "p1")
    assert read(off, 2, "p2") == [(3, page_url(3))]


# --- Real crawls of the replica ------------------------------------------------

ARTICLES, PER_PAGE = 120, 10  # 12 listing pages


@pytest.fixture(scope="module")
def big_replica():
    server = ReplicaServer("--no-faults", "--articles", str(ARTICLES), "--per-page", str(PER_PAGE))
    yield server
    server.stop()


def listing_pages(stats: dict) -> list[int]:
    pages = []
    for path, n in stats["by_path"].items():
        m = re.fullmatch(r"/category/kunmingribao(?:_(\d+))?\.html", path)
        if m:
            pages += [int(m[1] or 1)] * n
    return sorted(pages)


def crawl(mirror, replica, *settings: str):
    replica.reset()
    result = mirror.scrapy("crawl", "kunmingribao", *settings)
    assert result.returncode == 0, result.output
    return result, replica.stats()


@pytest.mark.slow
def test_a_backfill_fetched_ahead_mirrors_what_a_page_by_page_walk_does(
    big_replica, mirror_factory, tmp_path
):
    catalog = replica_feeds(big_replica, "kunmingribao", kunmingribao={"max_pages": 20})
    ahead = mirror_factory(catalog)
    result, stats = crawl(ahead, big_replica)
    assert "kunmingribao: 120 new" in result.output
    assert "0 errors" in result.output
    assert "'mirror/kunmingribao/listing_prefetch/requests'" in result.stderr
    # Every page once; a guess past the last page (12) is asked for and left unread.
    pages = listing_pages(stats)
    assert pages[:12] == list(range(1, 13)) and set(pages[12:]) <= set(range(13, 21))

    serial_dir = tmp_path / "serial"
    serial_dir.mkdir()
    from tests.conftest import Mirror

    serial = Mirror(serial_dir, catalog)
    _, serial_stats = crawl(serial, big_replica, "-s", "MIRROR_LISTING_PREFETCH=0")
    assert listing_pages(serial_stats) == list(range(1, 13))
    posts = {n: p.read_bytes() for n, p in ahead.posts().items()}
    assert len(posts) == ARTICLES
    assert posts == {n: p.read_bytes() for n, p in serial.posts().items()}


@pytest.mark.slow
def test_max_pages_bounds_the_pages_fetched_ahead(big_replica, mirror_factory):
    mirror = mirror_factory(
        replica_feeds(big_replica, "kunmingribao", kunmingribao={"max_pages": 7})
    )
    result, stats = crawl(mirror, big_replica)
    assert listing_pages(stats) == list(range(1, 8))
    summary = re.search(r"Feed summary: kunmingribao: (\d+) new.*", result.output)
    assert summary and "0 errors" in summary[0] and "7 pages" in summary[0], result.output
    assert int(summary[1]) == len(mirror.posts()) >= 70


@pytest.mark.slow
def test_new_articles_on_top_read_the_same_pages_as_a_page_by_page_walk(
    big_replica, mirror_factory
):
    mirror = mirror_factory(
        replica_feeds(big_replica, "kunmingribao", kunmingribao={"max_pages": 20})
    )
    crawl(mirror, big_replica)
    _, stats = crawl(mirror, big_replica)
    assert listing_pages(stats) == [1]  # nothing new: one page, nothing ahead
    # 25 new on top: pages 1 and 2 all new, 3 half, 4 nothing new: the walk stops
    # there, as page by page, and the guesses were all pages it read.
    new = big_replica.publish("kunmingribao", 25)
    result, stats = crawl(mirror, big_replica)
    assert listing_pages(stats) == [1, 2, 3, 4]
    assert "kunmingribao: 25 new" in result.output
    codes = {p.name.split("-", 3)[3][:-3] for p in mirror.posts().values()}
    assert set(new) <= codes
