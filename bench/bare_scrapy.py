"""Baseline: a minimal Scrapy spider, the framework's own ceiling.

It follows what our spider follows on an HTML feed (listing pages by their
``next_page`` link, up to ``max_pages``; each share link, once per infoCode)
and extracts the same four fields with the feed's selectors, with no
pipelines, no dedup store, no cleaning and no writing. It runs in a bare
:class:`~scrapy.crawler.CrawlerProcess` (not the project's settings), given
the benchmark's settings as JSON::

    python -m bench.bare_scrapy CATALOG FEED '{"CONCURRENT_REQUESTS": 32, ...}' [fetch-only]

With ``fetch-only`` it fetches the same pages and reads nothing from the
articles: the CPU that Scrapy itself spends on every response, the least
any crawler built on it spends on the backfill.

and prints one JSON line: items scraped and Scrapy's stats of interest.
"""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any

import scrapy
from scrapy.crawler import CrawlerProcess
from scrapy.http import Request, Response

from crawler.source.catalog import Feed, load_catalog


class BareSpider(scrapy.Spider):
    name = "bare"
    feed: Feed

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.seen: set[str] = set()

    async def start(self) -> AsyncIterator[Request]:
        for url in self.feed.start_urls:
            yield Request(url, self.parse_listing, cb_kwargs={"page": 1}, priority=10)

    def parse_listing(self, response: Response, page: int) -> Iterator[Request]:
        for href in response.css("a::attr(href)").getall():
            url = response.urljoin(href.strip())
            match = self.feed.share_link.search(url)
            if match and match["infoCode"] not in self.seen:
                self.seen.add(match["infoCode"])
                yield Request(url, self.parse_article)
        next_href = response.css(self.feed.next_page).get()
        if next_href and page < self.feed.max_pages:
            yield response.follow(
                next_href.strip(), self.parse_listing, cb_kwargs={"page": page + 1}, priority=10
            )

    def parse_article(self, response: Response) -> Iterator[dict[str, str | None]]:
        css = self.feed.article
        body = response.css(css["body"])
        yield {
            "title": " ".join(response.css(css["title"]).getall()).strip() or None,
            "date": " ".join(response.css(css["date"]).getall()).strip() or None,
            "outlet": " ".join(response.css(css["outlet"]).getall()).strip() or None,
            "body": "".join(body[0].xpath("node()").getall()) if body else None,
        }


class FetchOnlySpider(BareSpider):
    name = "fetch-only"

    def parse_article(self, response: Response) -> Iterator[dict[str, str | None]]:
        return iter(())


def main(argv: list[str]) -> int:
    catalog, feed_name, settings_json, *mode = argv
    feed = load_catalog(catalog)[feed_name]
    if feed.list_api or feed.api:
        raise SystemExit("the bare baseline reads HTML feeds only")
    settings = json.loads(settings_json)
    process = CrawlerProcess(settings)
    base = FetchOnlySpider if mode == ["fetch-only"] else BareSpider
    crawler = process.create_crawler(type("BareFeedSpider", (base,), {"feed": feed}))
    process.crawl(crawler)
    process.start()
    stats = crawler.stats.get_stats() if crawler.stats else {}
    print(json.dumps({
        "items": stats.get("item_scraped_count", 0),
        "responses": stats.get("response_received_count", 0),
        "finish_reason": stats.get("finish_reason"),
    }))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
