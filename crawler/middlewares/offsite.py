"""Requests off the feed's hosts are not made: redirects and ``dont_filter`` ones too.

Scrapy's own :class:`~scrapy.downloadermiddlewares.offsite.OffsiteMiddleware`
lets through every request with ``dont_filter`` set, and the feed spider sets
it on all of its requests (dedup is the store's job, not the dupefilter's), so
a share page answering with a redirect to another host would be followed.
This one checks every request as it is about to be downloaded, redirects
included, against the hosts of its feed (``meta["feed"]``: one spider crawls
every feed of a run): the hosts of the feed's ``start_urls``, ``list_api``,
``api`` and ``share_url``, and their subdomains. A request of no feed (a
host's robots.txt) is checked against the spider's ``allowed_domains``, every
feed's hosts. Only ``allow_offsite`` in a request's meta lets it through.

Each refusal is one warning naming the URL (and the URL it was redirected
from); the request's errback gets an :class:`~scrapy.exceptions.IgnoreRequest`,
so the spider logs the article as failed and gives its claim back.
"""

from __future__ import annotations

import logging
import re
from types import SimpleNamespace
from typing import Any

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.offsite import OffsiteMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.httpobj import urlparse_cached

from crawler.perfeed import FEED, feed_named
from crawler.source.listings import feed_hosts

logger = logging.getLogger(__name__)


class FeedHostsMiddleware(OffsiteMiddleware):
    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FeedHostsMiddleware:
        # Not at scheduling (request_scheduled), where a refusal is silent:
        # at download, where the request's errback hears of it.
        mw = cls(crawler.stats)
        mw.crawler = crawler
        mw.feed_regexes = {}
        mw.by_feed = {}
        crawler.signals.connect(mw.spider_opened, signal=signals.spider_opened)
        return mw

    feed_regexes: dict[tuple[str, ...], re.Pattern[str]]  # by hosts: feeds share them
    by_feed: dict[str, tuple[list[str], re.Pattern[str]]]  # by feed name: found once

    def feed_hosts(self, request: Request) -> tuple[list[str], re.Pattern[str] | None]:
        """The hosts of the request's feed and their pattern; None: the spider's."""
        feed = feed_named(self.crawler, request.meta.get(FEED)) if FEED in request.meta else None
        if feed is None:
            return list(getattr(self.crawler.spider, "allowed_domains", None) or []), None
        known = self.by_feed.get(feed.name)
        if known is not None:
            return known
        hosts = tuple(feed_hosts(feed))
        regex = self.feed_regexes.get(hosts)
        if regex is None:
            regex = self.feed_regexes[hosts] = self.get_host_regex(
                SimpleNamespace(allowed_domains=hosts)  # type: ignore[arg-type]
            )
        known = self.by_feed[feed.name] = (list(hosts), regex)
        return known

    # Without the spider argument Scrapy 2.19 deprecated (and no longer passes).
    def process_request(self, request: Request) -> None:  # type: ignore[override]
        spider = self.crawler.spider
        assert spider is not None
        if request.meta.get("allow_offsite"):
            return
        hosts, regex = self.feed_hosts(request)
        if regex is None:
            if self.should_follow(request, spider):
                return
        elif regex.search(urlparse_cached(request).hostname or ""):
            return
        self.refuse(request, request.meta.get(FEED) or spider.name, hosts)

    def refuse(self, request: Request, feed: Any, hosts: list[str]) -> None:
        host = urlparse_cached(request).hostname or ""
        redirected = request.meta.get("redirect_urls") or []
        self.stats.inc_value("offsite/filtered")
        logger.warning(
            "Not following a request off the hosts of feed %s (%s): host %r <%s>%s",
            feed,
            ", ".join(hosts),
            host,
            request.url,
            f", redirected from <{redirected[0]}>" if redirected else "",
        )
        raise IgnoreRequest(f"host {host!r} is not one of the feed's")
