"""The feed summary's rules on their own: a crawl's stats in, one line and a verdict out.

The same lines as crawls print them are checked in tests/test_crawl.py,
tests/test_listings.py and tests/test_failures.py.
"""

from __future__ import annotations

import pytest

from crawler.extensions.summary import feed_summary

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
