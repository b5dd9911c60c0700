"""The feed summary's rules on their own: a crawl's stats in, one line and a verdict out.

The same lines as crawls print them are checked in tests/test_crawl.py,
tests/test_listings.py and tests/test_failures.py.
"""

from __future__ import annotations

import pytest
from scrapy import Spider
from scrapy.statscollectors import StatsCollector
from scrapy.utils.test import get_crawler

from crawler.extensions.summary import feed_counters, feed_summary
from crawler.perfeed import by_feed, feed_stats

GOOD = {"mirror/new": 38, "mirror/known": 2, "mirror/pages": 4, "mirror/filtered": 1}


def test_the_line_counts_and_breaks_down_drops_and_errors():
    stats = {**GOOD, "mirror/dropped/missing_title": 1, "mirror/dropped/bad_date": 2,
             "mirror/errors/http_404": 1, "mirror/held": 3}  # fmt: skip
    result = feed_summary("kunmingribao", stats)
    assert not result.failed
    assert result.line() == (
        "kunmingribao: 38 new, 2 known, 3 held back (dropped lately; "
        "-s MIRROR_RETRY_DROPPED_HOURS=0 tries them now), "
        "3 dropped (bad_date 2, missing_title 1), 1 error (http_404 1), 1 filtered, 4 pages"
    )
    assert feed_summary("quiet", {"mirror/pages": 1, "mirror/known": 10}).line() == (
        "quiet: 0 new, 10 known, 0 dropped, 0 errors, 0 filtered, 1 page"
    )


@pytest.mark.parametrize(
    ("stats", "reason", "failed"),
    [
        ({**GOOD, "mirror/storage_error": "/m/_posts"}, "finished", "cannot write to /m/_posts"),
        (GOOD, "closespider_timeout", "closed: closespider_timeout"),
        ({}, "finished", "no listing page could be read"),
        ({"mirror/listing_failed": "HTTP 500", "mirror/errors/listing": 1}, "finished",
         "no listing page could be read: HTTP 500"),
        ({"mirror/pages": 1, "mirror/empty_listing": "a.share::attr(href)"}, "finished",
         "no article found on the listing (a.share::attr(href))"),
        ({"mirror/pages": 1, "mirror/empty_listing": True}, "finished",
         "no article found on the listing"),
        ({**GOOD, "mirror/drift": "title selector h1 matched nothing"}, "finished",
         "title selector h1 matched nothing"),
        ({"mirror/pages": 1, "mirror/errors/http_500": 10}, "finished", "every article failed"),
        ({"mirror/pages": 1, "mirror/dropped/missing_title": 40}, "finished",
         "every article dropped as missing_title"),
    ],
)  # fmt: skip
def test_a_feed_fails_outright_for_the_first_cause_that_holds(stats, reason, failed):
    result = feed_summary("feed", stats, reason)
    assert result.failed == failed
    assert result.line().endswith(f" — FAILED: {failed}")
    assert result.reason == reason


@pytest.mark.parametrize(
    "stats",
    [
        {**GOOD, "mirror/dropped/missing_title": 1},  # one bad article is not a broken feed
        {"mirror/pages": 1, "mirror/dropped/missing_title": 1},  # nor is a lone drop
        {"mirror/pages": 1, "mirror/held": 5},  # held back: known, nothing to fetch
        {"fleet/run": "r1"},  # a fleet worker that got no listing page: others had them
        {"fleet/run": "r1", "mirror/pages": 0, "mirror/errors/http_500": 2},
    ],
)
def test_what_is_not_a_failed_feed(stats):
    assert feed_summary("feed", stats, "finished").failed == ""
    assert feed_summary("feed", stats, "shutdown").failed == "", "a stop is not a failure"


def test_each_feed_of_one_crawler_is_summed_up_from_its_own_counters():
    # One crawler crawls every feed of a run: each counts under mirror/<feed>/…
    crawler = get_crawler(Spider)
    crawler.stats = StatsCollector(crawler)
    for feed, new in (("a", 3), ("b", 0)):
        stats = feed_stats(crawler, feed)
        stats.inc("pages")
        stats.inc("new", new)
    feed_stats(crawler, "b").inc("dropped/missing_title", 2)
    feed_stats(crawler, "b").set("drift", "title selector h1 matched nothing")
    crawler.stats.inc_value("mirror/site/feeds")  # the crawl's own, no feed's
    crawler.stats.set_value("fleet/run", "r1")  # a fleet's crawler: read by each feed

    counters = feed_counters(crawler, ["a", "b", "c"])
    assert counters["a"] == {"mirror/pages": 1, "mirror/new": 3, "fleet/run": "r1"}
    lines = {feed: feed_summary(feed, mine).line() for feed, mine in counters.items()}
    assert lines["a"] == "a: 3 new, 0 known, 0 dropped, 0 errors, 0 filtered, 1 page"
    assert lines["b"] == (
        "b: 0 new, 0 known, 2 dropped (missing_title 2), 0 errors, 0 filtered, 1 page"
        " — FAILED: title selector h1 matched nothing"
    )
    # A feed that counted nothing (not started: the crawl stopped first) has no page.
    alone = by_feed(crawler.stats.get_stats(), ["c"])["c"]
    assert alone == {} and counters["c"] == {"fleet/run": "r1"}
    assert feed_summary("c", alone).failed == "no listing page could be read"
    assert by_feed({"mirror/a/new": 1, "mirror/ab/new": 2}, ["a"]) == {"a": {"mirror/new": 1}}


def test_a_progress_line_names_each_feed_of_a_few():
    from crawler.extensions.summary import FeedResult, progress_line

    line = progress_line([
        FeedResult("kunmingribao", new=13, dropped={"empty_body": 4}, errors={"timeout": 1}),
        FeedResult("yunnanwang", new=5),
    ])  # fmt: skip
    assert line == "kunmingribao 13 new, 4 dropped, 1 error; yunnanwang 5 new"


def test_a_progress_line_of_thousands_of_feeds_names_the_busiest_and_sums_up_the_rest():
    from crawler.extensions.summary import FeedResult, progress_line

    feeds = [FeedResult(f"feed{i:04d}") for i in range(5000)]
    feeds[4000] = FeedResult("feed4000", new=7)
    feeds[12] = FeedResult("feed0012", new=1, errors={"timeout": 2})
    feeds[99] = FeedResult("feed0099", dropped={"too_large": 3})
    line = progress_line(feeds, most=3)
    assert line == (
        "feed0012 1 new, 2 errors; feed0099 0 new, 3 dropped; feed4000 7 new; 4997 more feeds 0 new"
    )
    many = progress_line([*feeds, FeedResult("late", new=2)], most=2)
    assert many == "feed0012 1 new, 2 errors; feed4000 7 new; 4999 more feeds 2 new, 3 dropped"
