"""A robots.txt that cannot be fetched is one log line, not a traceback.

When the download of a host's ``robots.txt`` fails (the host name does not
resolve, the connection is refused or reset, TLS fails), Scrapy's
:class:`~scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware` logs the
error with its traceback and then treats the host as allowing everything.
This middleware, below Scrapy's RetryMiddleware (so after the retries), turns
such a failure into an empty 404 answer, which the robots.txt middleware reads
the same way (everything allowed), and logs one WARNING naming the host and
the cause (:func:`crawler.source.failures.describe`). The page requests that follow
fail on their own, each logged by the feed's spider with its URL.
"""

from __future__ import annotations

import logging

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Response
from twisted.python.failure import Failure

from crawler.source.failures import describe

logger = logging.getLogger(__name__)


class RobotsTxtFailureMiddleware:
    def __init__(self, crawler: Crawler):
        if not crawler.settings.getbool("ROBOTSTXT_OBEY"):
            raise NotConfigured
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RobotsTxtFailureMiddleware:
        return cls(crawler)

    def process_exception(self, request: Request, exception: Exception) -> Response | None:
        if not request.meta.get("dont_obey_robotstxt") or not request.url.endswith("/robots.txt"):
            return None
        if isinstance(exception, IgnoreRequest):
            return None
        failure = Failure(exception)
        failure.request = request  # type: ignore[attr-defined]
        self.crawler.stats.inc_value("mirror/robotstxt_failed")
        logger.warning(
            "robots.txt of %s could not be read (%s): its pages are asked for as if it "
            "allowed everything <%s>", request.url.split("/")[2], describe(failure), request.url,
        )  # fmt: skip
        return Response(request.url, status=404, request=request)
