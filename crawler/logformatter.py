"""Log lines a person can read: a dropped article is one line naming its URL."""

from __future__ import annotations

import logging
from typing import Any

from scrapy import Spider
from scrapy.http import Response
from scrapy.logformatter import LogFormatter, LogFormatterResult
from twisted.python.failure import Failure

from crawler.items import Article


class MirrorLogFormatter(LogFormatter):
    def dropped(
        self,
        item: Any,
        exception: BaseException,
        response: Response | Failure | None,
        spider: Spider,
    ) -> LogFormatterResult:
        if not isinstance(item, Article):
            return super().dropped(item, exception, response, spider)
        level = getattr(exception, "log_level", None) or "WARNING"
        return {
            "level": logging.getLevelName(level) if isinstance(level, str) else level,
            "msg": "Dropped article %(code)s of feed %(feed)s: %(reason)s <%(url)s>",
            "args": {
                "code": item.info_code,
                "feed": item.feed,
                "reason": exception,
                "url": item.url,
            },
        }
