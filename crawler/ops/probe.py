"""``scrapy probe FEED``: what the crawler finds on a feed, writing nothing.

:class:`ProbeSpider` reads the feed as its crawl does, through the same
functions: the listing parser (:func:`crawler.source.listings.listing_for`),
the outlet filter and the article extraction (:mod:`crawler.source.article`),
the validate and clean pipelines. It reads only the first listing page (of
the next start URL too, while none has given an article) and its first
article (the next ones when the first belong to outlets the feed leaves out);
it claims nothing (no dedup store: the mirror's ``.mirror/`` is not even
opened), and its items never reach the writer. What it saw is kept in a
:class:`~crawler.ops.probe_report.ProbeReport` that the command prints.

``probe FEED --from-capture INFOCODE`` (:func:`capture_probe`) reads the
article from the raw capture instead, through ``scrapy rebuild``'s
:class:`~crawler.ops.rebuild.Replayer` (the same extraction and pipelines'
checks as a crawl), and requests nothing.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotSupported
from scrapy.http import Request, Response
from scrapy.settings import Settings
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawler.items import Article, ArticleDropped, Outcome
from crawler.mirror.archive import OLD_POSTS_DIR, POSTS_DIR
from crawler.mirror.capture import CaptureError, read_provenance
from crawler.ops.probe_report import (
    ArticleProbe,
    ListingProbe,
    ProbeReport,
    encoding_of,
    kind_of,
)
from crawler.ops.rebuild import Replayer
from crawler.pipelines.clean import CleanPipeline
from crawler.pipelines.validate import ValidatePipeline
from crawler.pipelines.write import post_of
from crawler.source.article import article_fields, article_urls, build_article, wanted
from crawler.source.catalog import ARTICLE_FIELDS, Feed
from crawler.source.failures import describe, failed_request
from crawler.source.listings import Entry, HtmlListing, JsonListing, ListingError, listing_for

logger = logging.getLogger(__name__)

MAX_ARTICLES = 5  # articles tried when the first ones are other outlets' (``outlets``)

# The probe crawl: the pipelines that decide what a post would be, and none
# that writes; no extension of the mirror's (they may write at close).
PROBE_SETTINGS: dict[str, Any] = {
    "ITEM_PIPELINES": {ValidatePipeline: 100, CleanPipeline: 200},
    "EXTENSIONS": {},
    "SCHEDULER": "scrapy.core.scheduler.Scheduler",
    "DUPEFILTER_CLASS": "scrapy.dupefilters.RFPDupeFilter",
    "JOBDIR": None,
    "HTTPCACHE_ENABLED": False,
    "MIRROR_REVISIT": "",  # no revisit schedule opened, none claimed
}


class ProbeSpider(scrapy.Spider):
    custom_settings = PROBE_SETTINGS
    feed: Feed
    listing: HtmlListing | JsonListing
    report: ProbeReport
    candidates: list[Entry]  # the listing's articles of the feed's outlets, not yet tried
    start_urls_left: list[str]

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> ProbeSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        assert isinstance(spider, ProbeSpider)
        settings = crawler.settings
        spider.listing = listing_for(spider.feed)
        spider.report = ProbeReport(
            spider.feed, settings.get("MIRROR_DIR"), settings.get("MIRROR_BASE_URL")
        )
        spider.candidates = []
        crawler.signals.connect(spider.item_passed, signal=signals.item_scraped)
        crawler.signals.connect(spider.item_dropped, signal=signals.item_dropped)
        return spider

    async def start(self) -> AsyncIterator[Request]:
        self.start_urls_left = self.listing.first_urls()
        for request in self.next_listing():
            yield request

    # -- the listing --------------------------------------------------------
    def next_listing(self) -> Iterator[Request]:
        """The next start URL's first page, while no listing has given an article."""
        if self.start_urls_left and not any(x.wanted for x in self.report.listings):
            url = self.start_urls_left.pop(0)
            yield Request(
                url, callback=self.parse_listing, errback=self.listing_failed, dont_filter=True
            )

    def parse_listing(self, response: Response) -> Iterator[Request]:
        listing = ListingProbe(response.url, response.status)
        self.report.listings.append(listing)
        listing.fetched = (
            f"HTTP {response.status}, {len(response.body)} bytes, "
            f"{encoding_of(response, self.feed)}"
        )
        try:
            found = self.listing.parse(response, 1)
        except (ListingError, NotSupported) as e:
            listing.error = str(e)
            logger.error(
                "Listing page of feed %s cannot be read: %s <%s>", self.name, e, response.url
            )
        else:
            listing.page = found
            if not found.entries:
                listing.culprit = self.listing.culprit(found)
            self.candidates = [e for e in found.entries if wanted(self.feed, e)]
            listing.wanted = len(self.candidates)
            yield from self.next_article()
        yield from self.next_listing()

    def listing_failed(self, failure: Failure) -> list[Request]:
        url = failed_request(failure).url
        self.report.listings.append(ListingProbe(url, error=describe(failure)))
        logger.error("Listing page of feed %s failed: %s <%s>", self.name, describe(failure), url)
        return list(self.next_listing())

    # -- the articles -------------------------------------------------------
    def next_article(self) -> Iterator[Request]:
        if self.candidates and len(self.report.articles) < MAX_ARTICLES:
            entry = self.candidates.pop(0)
            url, share_url = article_urls(self.feed, entry)
            yield Request(
                url,
                callback=self.parse_article,
                errback=self.article_failed,
                cb_kwargs={"entry": entry, "share_url": share_url},
                dont_filter=True,
            )

    def parse_article(self, response: Response, entry: Entry, share_url: str) -> Iterator[Article]:
        probe = ArticleProbe(entry, response.url, share_url)
        probe.fetched = (
            f"HTTP {response.status}, {len(response.body)} bytes, "
            f"{encoding_of(response, self.feed)}"
        )
        self.report.articles.append(probe)
        try:
            probe.own = article_fields(response, self.feed)
        except ValueError as e:
            probe.unreadable = probe.dropped = str(e)
            logger.warning(
                "Dropped article %s of feed %s: %s <%s>",
                entry.info_code,
                self.name,
                e,
                response.url,
            )
            return
        item = build_article(self.feed, entry, response.url, share_url, probe.own)
        probe.fields = {name: getattr(item, name) for name in ARTICLE_FIELDS}
        yield item

    def article_failed(self, failure: Failure) -> None:
        request = failed_request(failure)
        entry: Entry = request.cb_kwargs["entry"]
        probe = ArticleProbe(entry, request.url, error=describe(failure))
        if isinstance(failure.value, HttpError):
            probe.fetched = f"HTTP {failure.value.response.status}"
        self.report.articles.append(probe)
        logger.error(
            "Article %s of feed %s failed: %s <%s>",
            entry.info_code,
            self.name,
            describe(failure),
            request.url,
        )

    def item_passed(self, item: Any, **kwargs: Any) -> None:
        probe = self.report.article(item.info_code) if isinstance(item, Article) else None
        if probe is not None:
            probe.item = item
            probe.post = post_of(item)

    def item_dropped(self, item: Any, exception: BaseException, **kwargs: Any) -> None:
        probe = self.report.article(item.info_code) if isinstance(item, Article) else None
        if probe is None:
            return
        if isinstance(exception, ArticleDropped) and exception.outcome is Outcome.FILTERED:
            probe.filtered = str(exception)
            for request in self.next_article():
                self.crawler.engine.crawl(request)
        else:
            probe.dropped = str(exception)


def probe_spider(spidercls: type[scrapy.Spider]) -> type[ProbeSpider]:
    """The probe of the feed whose spider (:mod:`crawler.spiderloader`) is ``spidercls``."""
    return type(
        f"{spidercls.name}_probe",
        (ProbeSpider,),
        {
            "name": spidercls.name,
            "feed": getattr(spidercls, "feed"),  # noqa: B009 - the catalog's spiders have one
            "allowed_domains": getattr(spidercls, "allowed_domains", []),
            "custom_settings": {**(spidercls.custom_settings or {}), **PROBE_SETTINGS},
            "__module__": ProbeSpider.__module__,
        },
    )


def capture_probe(settings: Settings, feed: Feed, info_code: str) -> tuple[str, bool]:
    """``probe FEED --from-capture INFOCODE``: what the crawler makes today, with
    the current catalog and cleaner, of the article as the capture kept it; the
    report and whether it would be a post. Requests nothing."""
    root = Path(settings.get("MIRROR_DIR"))
    report = ProbeReport(feed, str(root), settings.get("MIRROR_BASE_URL"))
    line = read_provenance(root).get(info_code)
    head = f"Feed {feed.name}: {kind_of(feed)}; article {info_code} from the capture"
    if line is None:
        return f"{head}\nFAILED: the capture has no article {info_code} (MIRROR_CAPTURE)", False
    refs = {ref["role"]: ref for ref in line.get("records", [])}
    lines = [head]
    if line.get("feed") != feed.name:
        lines.append(f"  captured for feed {line.get('feed')}, read here as {feed.name}'s")
    for role in ("listing", "article", "revision"):
        if role in refs:
            ref = refs[role]
            lines.append(f"  {role}: {ref['file']} at {ref['offset']} <{ref['uri']}>")
    lines.append(f"  cleaned then with cleaner {line.get('cleaner')}, drop {line.get('drop')}")
    try:
        derived = Replayer(settings, root).derive(feed, info_code, refs)
    except CaptureError as e:
        lines.append(f"FAILED: {e}")
        return "\n".join(lines), False
    if derived.entry is None or derived.response is None:
        lines.append(f"FAILED: article {info_code} would be dropped as {derived.dropped}")
        return "\n".join(lines), False
    response = derived.response
    _, share_url = article_urls(feed, derived.entry)
    probe = ArticleProbe(derived.entry, response.url, share_url)
    probe.fetched = (
        f"captured HTTP {response.status}, {len(response.body)} bytes, "
        f"{encoding_of(response, feed)}"
    )
    try:
        probe.own = article_fields(response, feed)
    except ValueError as e:
        probe.unreadable = str(e)
    probe.fields = dict(derived.raw)
    probe.dropped = derived.dropped if derived.dropped != "filtered" else ""
    probe.filtered = "an outlet the feed does not take" if derived.dropped == "filtered" else ""
    if derived.post is not None:
        probe.item, probe.post = derived.article, derived.post
    lines.extend(report.article_lines(probe))
    if derived.post is not None:
        on_disk = [
            root / folder / derived.post.filename
            for folder in (POSTS_DIR, OLD_POSTS_DIR)
            if (root / folder / derived.post.filename).exists()
        ]
        if on_disk:
            same = on_disk[0].read_text("utf-8") == derived.text
            lines.append(
                f"The post in {on_disk[0].parent.name}/ is "
                + ("the same, byte for byte" if same else "different: scrapy rebuild rewrites it")
            )
        lines.append(f"OK: article {info_code} gives a post; nothing was written or requested")
        return "\n".join(lines), True
    lines.append(f"FAILED: article {info_code} would be dropped as {derived.dropped}")
    return "\n".join(lines), False
