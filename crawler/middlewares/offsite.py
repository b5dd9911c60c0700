"""Requests off the feed's hosts are not made: redirects and ``dont_filter`` ones too.

Scrapy's own :class:`~scrapy.downloadermiddlewares.offsite.OffsiteMiddleware`
lets through every request with ``dont_filter`` set, and the feed spider sets
it on all of its requests (dedup is the store's job, not the dupefilter's), so
a share page answering with a redirect to another host would be followed.
This one checks every request as it is about to be downloaded, redirects
included, against the spider's ``allowed_domains`` (the hosts of the feed's
``start_urls``, ``list_api``, ``api`` and ``share_url``, and their
subdomains); only ``allow_offsite`` in a request's meta lets it through.

Each refusal is one warning naming the URL (and the URL it was redirected
from); the request's errback gets an :class:`~scrapy.exceptions.IgnoreRequest`,
so the spider logs the article as failed and gives its claim back.
"""

from __future__ import annotations

import logging

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.offsite import OffsiteMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.httpobj import urlparse_cached

logger = logging.getLogger(__name__)


class FeedHostsMiddleware(OffsiteMiddleware):
    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FeedHostsMiddleware:
        # Not at scheduling (request_scheduled), where a refusal is silent:
        # at download, where the request's errback hears of it.
        mw = cls(crawler.stats)
        mw.crawler = crawler
        crawler.signals.connect(mw.spider_opened, signal=signals.spider_opened)
        return mw

    # Without the spider argument Scrapy 2.19 deprecated (and no longer passes).
    def process_request(self, request: Request) -> None:  # type: ignore[override]
        spider = self.crawler.spider
        assert spider is not None
        if request.meta.get("allow_offsite") or self.should_follow(request, spider):
            return
        host = urlparse_cached(request).hostname or ""
        redirected = request.meta.get("redirect_urls") or []
        self.stats.inc_value("offsite/filtered")
        logger.warning(
            "Not following a request off the hosts of feed %s (%s): host %r <%s>%s",
            spider.name,
            ", ".join(getattr(spider, "allowed_domains", None) or []),
            host,
            request.url,
            f", redirected from <{redirected[0]}>" if redirected else "",
        )
        raise IgnoreRequest(f"host {host!r} is not one of the feed's")
