"""The spider of a feed: listing pages → share links → articles.

One class serves every feed; :mod:`crawler.spiderloader` makes a subclass per
catalog entry, named after it, with the checked :class:`~crawler.source.catalog.Feed`
as its ``feed`` attribute.

Its length: the listing walk (with listings fetched ahead) and the claims it
opens are one Scrapy spider; the extraction lives in
:mod:`crawler.source.article` and the listing parsing in
:mod:`crawler.source.listings`, and every claim is settled in
:meth:`FeedSpider.settle`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotSupported
from scrapy.http import Request, Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawler.items import Article, ArticleDropped, Outcome
from crawler.middlewares.capture import EXCHANGE, LISTING
from crawler.mirror.dedup import DedupStore, dedup_store
from crawler.mirror.revisits import Revisit, RevisitSchedule, revisit_schedule
from crawler.mirror.rotation import now_from_settings
from crawler.source.article import article_urls, extract_article, wanted
from crawler.source.catalog import Feed
from crawler.source.failures import cause, describe, error_kind, failed_request
from crawler.source.listings import (
    Entry,
    HtmlListing,
    JsonListing,
    ListingError,
    feed_hosts,
    listing_for,
)
from crawler.source.listingwalk import ListingWalk

logger = logging.getLogger(__name__)

LISTING_PRIORITY = 10  # the next listing page before the articles already found
REVISIT_PRIORITY = -10  # a run's new articles first, then the revisits due (SPEC §9)


class FeedSpider(scrapy.Spider):
    feed: Feed
    listing: HtmlListing | JsonListing
    resume: bool
    prefetch: int
    left_out: set[str]
    walks: dict[int, ListingWalk]
    claimed_revisits: dict[str, Revisit]

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> FeedSpider:
        # Scrapy makes the spider before the add-ons have set the crawler's
        # settings: what they may switch (the store, prefetch) is read in start().
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.listing = listing_for(spider.feed)
        spider.resume = False
        spider.prefetch = 0
        spider.walks = {}  # by first URL, when fetching ahead
        spider.left_out = set()  # fetched this run and found of another outlet
        spider.claimed_revisits = {}  # by infoCode: claimed, not settled yet
        crawler.signals.connect(spider.item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(spider.item_dropped, signal=signals.item_dropped)
        crawler.signals.connect(spider.item_failed, signal=signals.item_error)
        crawler.signals.connect(spider.spider_closed, signal=signals.spider_closed)
        return spider

    @property
    def store(self) -> DedupStore:
        """Where this spider claims articles and remembers outcomes: the
        crawler's one store (``MIRROR_DEDUP_STORE``), the writer's too."""
        return dedup_store(self.crawler)

    @property
    def revisits(self) -> RevisitSchedule | None:
        """The crawler's revisit schedule (the writer's too); None: revisits off."""
        return revisit_schedule(self.crawler)

    @classmethod
    def allowed_hosts(cls, feed: Feed) -> list[str]:
        return feed_hosts(feed)

    # -- listings -----------------------------------------------------------
    async def start(self) -> AsyncIterator[Request]:
        self.store.use_catalog_entry(self.name, self.feed.fingerprint)
        # Listing pages fetched ahead on a backfill (crawler.source.listingwalk); the
        # fleet add-on sets 0: its workers share the requests of one walk.
        self.prefetch = self.crawler.settings.getint("MIRROR_LISTING_PREFETCH")
        self.resume = self.store.begin_walk(self.name)
        if self.resume:
            logger.info(
                "Feed %s: %s; paging on past known pages, up to page %d",
                self.name,
                "its first listing walk"
                if self.store.first_walk(self.name)
                else "its last listing walk was cut short",
                self.feed.max_pages,
            )
        for i, url in enumerate(self.listing.first_urls()):
            if self.prefetch:
                self.walks[i] = ListingWalk(url, self.feed.max_pages, self.prefetch)
            yield self.listing_request(url, 1, i if self.prefetch else None)
        for request in self.revisit_requests():
            yield request

    def listing_request(self, url: str, page: int, walk: int | None = None) -> Request:
        return Request(
            url,
            callback=self.parse_listing,
            errback=self.listing_failed,
            cb_kwargs={"page": page} if walk is None else {"page": page, "walk": walk},
            meta={} if walk is None else {"listing_url": url},
            priority=LISTING_PRIORITY,
            dont_filter=True,
        )

    def parse_listing(
        self, response: Response, page: int, walk: int | None = None
    ) -> Iterator[Request]:
        if walk is None:
            yield from self.read_listing(response, page)
        else:
            yield from self.walk_on(walk, page, response.meta["listing_url"], response)

    def walk_on(
        self, index: int, page: int, url: str, outcome: Response | Failure
    ) -> Iterator[Request]:
        """Read the pages of a walk fetched ahead that are due now, in order."""
        walk = self.walks[index]
        if not walk.arrive(page, url, outcome):
            return
        for due, got in walk.ready():
            if isinstance(got, Failure):
                self.listing_error(got)
            else:
                yield from self.read_listing(got, due, index)

    def read_listing(
        self, response: Response, page: int, walk: int | None = None
    ) -> Iterator[Request]:
        stats = self.crawler.stats
        stats.inc_value("mirror/pages")
        try:
            found = self.listing.parse(response, page)
        except (ListingError, NotSupported) as e:
            stats.inc_value("mirror/errors/listing")
            if page == 1:
                stats.set_value("mirror/empty_listing", str(e))
            logger.error(
                "Listing page of feed %s cannot be read: %s <%s>", self.name, e, response.url
            )
            return
        for rejected in found.rejected:
            self.count(Outcome.DROPPED, rejected.reason)
            logger.warning(
                "Dropped an entry of feed %s: %s (%s) on listing <%s>",
                self.name,
                rejected.reason,
                rejected.what,
                response.url,
            )
        if page == 1 and not found.entries:
            culprit = self.listing.culprit(found)
            stats.set_value("mirror/empty_listing", culprit)
            logger.warning(
                "Feed %s: no article found on listing <%s>: %s", self.name, response.url, culprit
            )
        self.store.refresh()
        new = pending = wanted = 0
        oldest_new = False  # the page's last (oldest) article is new: a backfill
        for entry in found.entries:
            if entry.info_code in self.left_out:
                continue  # fetched earlier in this run, another outlet's: counted then
            if not self.wants(entry):
                self.count(Outcome.FILTERED)
                continue
            wanted += 1
            oldest_new = False
            if not self.store.claim(entry.info_code):
                if self.store.held_back(entry.info_code):  # dropped as bad lately
                    stats.inc_value("mirror/held")
                else:
                    stats.inc_value("mirror/known")
                if not self.store.is_known(entry.info_code):
                    pending += 1  # another feed of this run is fetching it: not mirrored yet
                continue
            new += 1
            oldest_new = True
            yield self.article_request(entry, response)
        logger.debug(
            "Feed %s page %d: %d articles, %d new <%s>",
            self.name,
            page,
            len(found.entries),
            new,
            response.url,
        )
        if not self.feed.paged and new and new == wanted:
            # One page and no way back: what fell off it before this run is lost.
            stats.set_value("mirror/window_all_new", new)
            logger.warning(
                "Feed %s: all %d articles on its one-page listing are new: articles may "
                "have been missed; crawl it more often (the source offers no older page) <%s>",
                self.name,
                new,
                response.url,
            )
        if found.next_url and page < self.feed.max_pages and (new or pending or self.resume):
            if walk is None:
                yield self.listing_request(found.next_url, page + 1)
                return
            # Ahead only while the downloader could run short of articles to fetch.
            short = self.queued() < 2 * self.crawler.settings.getint("CONCURRENT_REQUESTS")
            likely_more = (self.resume or oldest_new) and short
            ahead = self.walks[walk].follow(page, found.next_url, likely_more)
            for number, url in ahead:
                if number > page + 1:
                    stats.inc_value("mirror/listing_prefetch/requests")
                yield self.listing_request(url, number, walk)

    def queued(self) -> int:
        """Requests waiting in the scheduler."""
        stats = self.crawler.stats
        return stats.get_value("scheduler/enqueued", 0) - stats.get_value("scheduler/dequeued", 0)

    def wants(self, entry: Entry) -> bool:
        """False for an entry the listing names as another outlet's (``outlets``)."""
        return wanted(self.feed, entry)

    def listing_failed(self, failure: Failure) -> list[Request] | None:
        request = failed_request(failure)
        if "walk" not in request.cb_kwargs:
            self.listing_error(failure)
            return None
        return list(self.walk_on(
            request.cb_kwargs["walk"], request.cb_kwargs["page"], request.meta["listing_url"],
            failure,
        ))  # fmt: skip

    def listing_error(self, failure: Failure) -> None:
        stats = self.crawler.stats
        stats.inc_value("mirror/errors/listing")
        # Why, for the feed's summary should no listing page be read at all.
        if stats.get_value("mirror/listing_failed") is None:
            stats.set_value("mirror/listing_failed", cause(failure))
        logger.error(
            "Listing page of feed %s failed: %s <%s>",
            self.name,
            describe(failure),
            failed_request(failure).url,
        )

    # -- revisits (SPEC §9) -------------------------------------------------
    def revisit_requests(self) -> Iterator[Request]:
        """The revisits of this feed due now, claimed: one request each, the
        article's share page or content API as first fetched, after the new
        articles (lower priority), within the feed's politeness."""
        if self.revisits is None:
            return
        try:
            due = self.revisits.claim_due(self.name, now_from_settings(self.crawler.settings))
        except OSError as e:  # a full or read-only disk: the posts will say so too
            logger.warning(
                "Cannot claim the revisits of feed %s in %s: %s; none this run",
                self.name,
                e.filename or self.revisits.path,
                e.strerror or e,
            )
            return
        if due:
            logger.info("Feed %s: %d articles to revisit", self.name, len(due))
        for revisit in due:
            article = revisit.article
            self.claimed_revisits[article.info_code] = revisit
            yield Request(
                article.url,
                callback=self.parse_article,
                errback=self.article_failed,
                cb_kwargs={
                    "entry": Entry(article.info_code, fields=article.fields),
                    "share_url": article.share_url,
                },
                meta={"info_code": article.info_code, "revisit": article.post},
                priority=REVISIT_PRIORITY,
                dont_filter=True,
            )

    def settle_revisit(self, code: str, again: bool) -> None:
        """A revisit claimed by this spider, done, or given back (``again``)."""
        revisit = self.claimed_revisits.pop(code, None)
        if revisit is None or not again or self.revisits is None:
            return
        try:
            self.revisits.release(revisit)  # due again at the next run
        except OSError as e:  # only this revisit is lost; the next age comes
            logger.warning(
                "Cannot give back the revisit of article %s of feed %s in %s: %s",
                code,
                self.name,
                e.filename or self.revisits.path,
                e.strerror or e,
            )

    # -- articles -----------------------------------------------------------
    def article_request(self, entry: Entry, listing: Response | None = None) -> Request:
        url, share_url = article_urls(self.feed, entry)
        meta = {"info_code": entry.info_code}
        if listing is not None and EXCHANGE in listing.meta:  # MIRROR_CAPTURE: the list record too
            meta[LISTING] = listing.meta[EXCHANGE]
        return Request(
            url,
            callback=self.parse_article,
            errback=self.article_failed,
            cb_kwargs={"entry": entry, "share_url": share_url},
            meta=meta,
            dont_filter=True,
        )

    def parse_article(self, response: Response, entry: Entry, share_url: str) -> Iterator[Article]:
        revisit = response.meta.get("revisit", "")
        if revisit:
            self.crawler.stats.inc_value("mirror/revisits")
        try:
            article = extract_article(response, self.feed, entry, share_url)
        except ValueError as e:
            self.drop(entry.info_code, response.url, str(e), revisit=bool(revisit))
            return
        article.revisit = revisit
        yield article

    def article_failed(self, failure: Failure) -> None:
        request = failed_request(failure)
        code = request.meta["info_code"]
        status = failure.value.response.status if isinstance(failure.value, HttpError) else None
        gone = status is not None and 400 <= status < 500 and status != 429
        revisit = bool(request.meta.get("revisit"))
        if revisit:
            # The post stays as it is. Gone or refused: that age is done (a
            # deleted article is not asked for on every run); else it is due
            # again at the next run.
            self.crawler.stats.inc_value(f"mirror/revisits/{'gone' if gone else 'failed'}")
        # Gone or refused: not asked for again before the retry window.
        self.settle(code, Outcome.HELD if gone else Outcome.RETRY, revisit=revisit)
        self.crawler.stats.inc_value(f"mirror/errors/{error_kind(failure)}")
        logger.error(
            "Article %s of feed %s failed: %s <%s>",
            code,
            self.name,
            describe(failure),
            request.url,
        )

    # -- outcomes: every claim opened above is settled here ---------------------
    def count(self, outcome: Outcome, reason: str = "") -> None:
        """Count an entry or article that gives no post (drops: by reason)."""
        stats = self.crawler.stats
        if outcome is Outcome.DROPPED:
            stats.inc_value("mirror/dropped")
            stats.inc_value(f"mirror/dropped/{reason}")
        elif outcome is Outcome.FILTERED:
            stats.inc_value("mirror/filtered")

    def settle(self, code: str, outcome: Outcome, reason: str = "", revisit: bool = False) -> None:
        """The claim of an article that gives no post, settled as ``outcome`` says.

        A revisit's (``revisit``) leaves its post and the dedup store as they
        are: its revisit claim is done, or given back (``RETRY``: due again at
        the next run).
        """
        self.count(outcome, reason)
        if revisit:
            self.settle_revisit(code, again=outcome is Outcome.RETRY)
        elif outcome is Outcome.DROPPED or outcome is Outcome.HELD:
            self.store.forget_drop(code, self.name)
        else:
            if outcome is Outcome.FILTERED:
                self.left_out.add(code)  # another feed may take it; this run's listings skip it
            self.store.release(code)

    def drop(self, code: str, url: str, reason: str, revisit: bool = False) -> None:
        self.settle(code, Outcome.DROPPED, reason, revisit=revisit)
        logger.warning("Dropped article %s of feed %s: %s <%s>", code, self.name, reason, url)

    def item_scraped(self, item: Any, **kwargs: Any) -> None:
        if isinstance(item, Article) and item.revisit:
            self.settle(item.info_code, Outcome.REVISITED, revisit=True)

    def item_dropped(self, item: Any, exception: BaseException, **kwargs: Any) -> None:
        if isinstance(item, Article):
            revisit = bool(item.revisit)
            if isinstance(exception, ArticleDropped):
                self.settle(item.info_code, exception.outcome, exception.reason, revisit)
            else:  # a DropItem of another component: held back, as a drop
                self.settle(item.info_code, Outcome.HELD, revisit=revisit)

    def item_failed(self, item: Any, **kwargs: Any) -> None:
        if isinstance(item, Article):
            self.settle(item.info_code, Outcome.RETRY, revisit=bool(item.revisit))

    def spider_closed(self, reason: str) -> None:
        unread = sum(walk.unread for walk in self.walks.values())
        if unread:
            self.crawler.stats.set_value("mirror/listing_prefetch/unread", unread)
        if reason == "finished":
            self.store.end_walk(self.name)
        # Never asked for: due again next run. A queue that outlives the crawl
        # (SCHEDULER_PERSIST: a fleet's, answered by whichever worker takes its
        # requests) keeps them claimed.
        if not self.crawler.settings.getbool("SCHEDULER_PERSIST"):
            for code in list(self.claimed_revisits):
                self.settle(code, Outcome.RETRY, revisit=True)
