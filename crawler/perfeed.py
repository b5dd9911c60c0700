"""What a crawl keeps of each feed, found by the feed's name: its catalog
entry (:func:`feed_named`) and its counters (:class:`FeedStats`).

One crawler crawls every feed of a run, so the ``mirror/…`` counters a feed's
summary, drift alarm and back-off read are kept per feed, as Scrapy stats
under ``mirror/<feed>/<counter>`` (``mirror/kunmingribao/new``,
``mirror/kunmingribao/dropped/missing_title``): they stay Scrapy's stats,
dumped in the log at the end, seen by any extension, a fleet's crawler's as
much as a run's, with no second counting mechanism beside the stats.
A feed's name has no ``/`` (:data:`crawler.source.catalog.FEED_NAME`).

:class:`FeedStats` is one feed's view (``stats.inc("new")``);
:func:`by_feed` reads the counters of many feeds back in one pass over the
stats, each feed's as the ``mirror/<counter>`` mapping
:func:`crawler.extensions.summary.feed_summary` reads. Counters of the whole
crawl (the site's files, robots.txt) keep their plain ``mirror/…`` keys.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from scrapy.crawler import Crawler
from scrapy.statscollectors import StatsCollector

from crawler.source.catalog import Feed

PREFIX = "mirror/"
FEED = "feed"  # request.meta: the name of the feed a request is for


class FeedStats:
    """The counters of one feed in a crawler's stats."""

    __slots__ = ("prefix", "stats")

    def __init__(self, stats: StatsCollector, feed: str):
        self.stats = stats
        self.prefix = f"{PREFIX}{feed}/"

    def inc(self, key: str, count: int = 1) -> None:
        self.stats.inc_value(self.prefix + key, count)

    def set(self, key: str, value: Any) -> None:
        self.stats.set_value(self.prefix + key, value)

    def get(self, key: str, default: Any = None) -> Any:
        return self.stats.get_value(self.prefix + key, default)


def feed_stats(crawler: Crawler, feed: str) -> FeedStats:
    """The counters of ``feed`` in ``crawler``'s stats."""
    assert crawler.stats is not None
    return FeedStats(crawler.stats, feed)


def by_feed(stats: Mapping[str, Any], feeds: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The counters of each of ``feeds`` (every one present, empty if it
    counted nothing), keyed ``mirror/<counter>`` as for a feed on its own."""
    out: dict[str, dict[str, Any]] = {feed: {} for feed in feeds}
    for key, value in stats.items():
        if not key.startswith(PREFIX):
            continue
        feed, sep, rest = key[len(PREFIX) :].partition("/")
        counters = out.get(feed) if sep else None
        if counters is not None:
            counters[PREFIX + rest] = value
    return out


def feed_named(crawler: Crawler, name: str | None) -> Feed | None:
    """The catalog entry of the feed ``name`` (an item's ``feed``, a request's
    ``meta["feed"]``), from the crawler's spider, which crawls it
    (:class:`crawler.spiders.feed.FeedSpider`'s ``catalog``); a spider of one
    feed (``scrapy probe``) has it as ``feed``. None: not a feed's."""
    spider = crawler.spider
    catalog: dict[str, Feed] | None = getattr(spider, "catalog", None)
    if catalog is not None and name:
        return catalog.get(name)
    return getattr(spider, "feed", None)
