"""The requests of a re-crawl, alone: ``python -m bench.bare_requests URLS SETTINGS``.

A bare Scrapy spider (no project settings, no pipelines, no middleware of
ours) that fetches each URL of the file ``URLS`` (one a line, repeats
included) once and reads nothing of the answer: what the requests of a
``crawlall`` re-crawl cost Scrapy itself, measured by ``bench/feeds.py`` in
the same run as the crawl, so that "CPU per feed beyond its requests" is the
crawl's CPU less this. ``SETTINGS``: JSON of Scrapy settings (the crawl's
concurrency).
"""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import scrapy
from scrapy.crawler import CrawlerProcess
from scrapy.http import Request, Response


class BareRequests(scrapy.Spider):
    name = "bare_requests"
    urls: list[str]

    async def start(self) -> AsyncIterator[Request]:
        for url in self.urls:
            yield Request(url, self.parse, dont_filter=True)

    def parse(self, response: Response) -> None:
        return None


def main(argv: list[str]) -> int:
    urls = Path(argv[0]).read_text("utf-8").split()
    settings: dict[str, Any] = {
        "LOG_LEVEL": "WARNING",
        "TELNETCONSOLE_ENABLED": False,
        "ROBOTSTXT_OBEY": True,
        **json.loads(argv[1]),
    }
    process = CrawlerProcess(settings, install_root_handler=True)
    crawler = process.create_crawler(BareRequests)
    process.crawl(crawler, urls=urls)
    process.start()
    assert crawler.stats is not None
    count = crawler.stats.get_value("downloader/response_count", 0)
    print(json.dumps({"responses": count}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
