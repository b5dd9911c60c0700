"""The spider of the feeds of a run: listing pages → share links → articles.

One spider crawls every feed of a run (``crawlall``) in one crawler: its
``start()`` yields each feed's first listing requests in turn (Scrapy takes
them as its scheduler has room, so the feeds of a large catalog are not all
in memory at once), each request naming its feed in ``meta["feed"]``
(:data:`FEED`), which redirects, retries and the callbacks keep. What a
feed's crawl keeps (its catalog entry, listing, walks, left-out codes,
resume, revisits claimed) is a :class:`FeedRun` the callbacks find by that
name; its counters are ``mirror/<feed>/…`` stats (:mod:`crawler.perfeed`).
:mod:`crawler.spiderloader` makes a subclass per catalog entry, named after
it, with the checked :class:`~crawler.source.catalog.Feed` as its ``feed``
(``scrapy crawl FEED``: the same spider with one feed), and one over the
feeds a ``crawlall`` names (:meth:`~crawler.spiderloader.CatalogSpiderLoader.feeds_spider`).

Its length: the listing walk (with listings fetched ahead) and the claims it
opens are one Scrapy spider; the extraction lives in
:mod:`crawler.source.article` and the listing parsing in
:mod:`crawler.source.listings`, and every claim is settled in
:meth:`FeedSpider.settle`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from functools import cached_property
from typing import Any

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotSupported
from scrapy.http import Request, Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.asyncio import sleep
from twisted.python.failure import Failure

from crawler.items import Article, ArticleDropped, Outcome
from crawler.middlewares.capture import EXCHANGE, LISTING
from crawler.mirror.dedup import DedupStore, dedup_store
from crawler.mirror.revisits import Revisit, RevisitSchedule, revisit_schedule
from crawler.mirror.rotation import now_from_settings
from crawler.offload.pool import WorkerPool, worker_pool
from crawler.perfeed import FEED, FeedStats, feed_stats
from crawler.source.article import Fields, article_fields, article_urls, build_article, wanted
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
START_POLL = 0.01  # seconds between two looks at the scheduler while feeds wait to start


class FeedRun:
    """What the crawl of one feed keeps while it runs."""

    __slots__ = ("claimed_revisits", "feed", "left_out", "listing", "name", "resume", "stats",
                 "walks")  # fmt: skip

    def __init__(self, feed: Feed, stats: FeedStats):
        self.feed = feed
        self.name = feed.name
        self.listing: HtmlListing | JsonListing = listing_for(feed)
        self.stats = stats
        self.resume = False  # paging on past known pages (a first or cut-short walk)
        self.walks: dict[int, ListingWalk] = {}  # by first URL, when fetching ahead
        self.left_out: set[str] = set()  # fetched this run and found of another outlet
        self.claimed_revisits: dict[str, Revisit] = {}  # by infoCode: claimed, not settled yet


class FeedSpider(scrapy.Spider):
    feeds: tuple[Feed, ...] = ()  # the feeds this spider crawls
    feed: Feed  # a one-feed spider's (scrapy crawl FEED, scrapy probe FEED)
    prefetch: int
    runs: dict[str, FeedRun]  # by feed name: the feeds started so far

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> FeedSpider:
        # Scrapy makes the spider before the add-ons have set the crawler's
        # settings: what they may switch (the store, prefetch) is read in start().
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.prefetch = 0
        spider.runs = {}
        spider.catalog = {feed.name: feed for feed in spider.feeds}
        crawler.signals.connect(spider.item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(spider.item_dropped, signal=signals.item_dropped)
        crawler.signals.connect(spider.item_failed, signal=signals.item_error)
        crawler.signals.connect(spider.spider_closed, signal=signals.spider_closed)
        return spider

    catalog: dict[str, Feed]

    @property
    def feed_names(self) -> list[str]:
        return [feed.name for feed in self.feeds]

    def feed_of(self, name: str) -> Feed:
        """The catalog entry of the feed ``name`` (an item's, a request's)."""
        return self.catalog[name]

    @property
    def store(self) -> DedupStore:
        """Where this spider claims articles and remembers outcomes: the
        crawler's one store (``MIRROR_DEDUP_STORE``), the writer's too."""
        return dedup_store(self.crawler)

    @cached_property
    def workers(self) -> WorkerPool:
        """The process's worker processes (the clean pipeline's too), found
        once: the article callback asks for them on every article."""
        return worker_pool(self.crawler)

    @property
    def revisits(self) -> RevisitSchedule | None:
        """The crawler's revisit schedule (the writer's too); None: revisits off."""
        return revisit_schedule(self.crawler)

    @classmethod
    def allowed_hosts(cls, feed: Feed) -> list[str]:
        return feed_hosts(feed)

    # -- listings -----------------------------------------------------------
    async def start(self) -> AsyncIterator[Request]:
        # Listing pages fetched ahead on a backfill (crawler.source.listingwalk); the
        # fleet add-on sets 0: its workers share the requests of one walk.
        self.prefetch = self.crawler.settings.getint("MIRROR_LISTING_PREFETCH")
        backlog = 2 * self.crawler.settings.getint("CONCURRENT_REQUESTS")
        for i, feed in enumerate(self.feeds):
            if i:
                await self.room(backlog)
            for request in self.start_feed(feed):
                yield request

    async def room(self, backlog: int) -> None:
        """Wait until fewer than ``backlog`` requests wait in the scheduler.

        Scrapy takes the next start request whenever the downloader is full,
        so without this a catalog's every first listing request (and its
        feed's state) would be made at once; the next feed starts only when
        there is room for its requests, keeping a crawl of 10,000 feeds at
        about the memory of one of 100."""
        while self.queued() >= backlog:
            await sleep(START_POLL)

    def start_feed(self, feed: Feed) -> Iterator[Request]:
        """The first listing requests of ``feed``, then its revisits due."""
        run = self.run_named(feed.name)
        self.store.use_catalog_entry(run.name, feed.fingerprint)
        run.resume = self.store.begin_walk(run.name)
        if run.resume:
            logger.info(
                "Feed %s: %s; paging on past known pages, up to page %d",
                run.name,
                "its first listing walk"
                if self.store.first_walk(run.name)
                else "its last listing walk was cut short",
                feed.max_pages,
            )
        for i, url in enumerate(run.listing.first_urls()):
            if self.prefetch:
                run.walks[i] = ListingWalk(url, feed.max_pages, self.prefetch)
            yield self.listing_request(run, url, 1, i if self.prefetch else None)
        yield from self.revisit_requests(run)

    def listing_request(
        self, run: FeedRun, url: str, page: int, walk: int | None = None
    ) -> Request:
        meta: dict[str, Any] = {FEED: run.name}
        if walk is not None:
            meta["listing_url"] = url
        return Request(
            url,
            callback=self.parse_listing,
            errback=self.listing_failed,
            cb_kwargs={"page": page} if walk is None else {"page": page, "walk": walk},
            meta=meta,
            priority=LISTING_PRIORITY,
            dont_filter=True,
        )

    def run_of(self, request: Request | Response) -> FeedRun:
        """The feed run a request (or its response) is for: its ``meta["feed"]``,
        or, without one (a fleet's queue filled by an earlier version), this
        spider's one feed."""
        name: str | None = request.meta.get(FEED)
        if name is None and len(self.feeds) == 1:
            name = self.feeds[0].name
        if name is None:
            raise KeyError(f"request of no feed <{request.url}>")
        return self.run_named(name)

    def run_named(self, name: str) -> FeedRun:
        """The run of the feed ``name``, made now if its start has not (a fleet
        worker answering requests of a run it did not start)."""
        run = self.runs.get(name)
        if run is None:
            feed = self.catalog[name]
            run = self.runs[name] = FeedRun(feed, feed_stats(self.crawler, name))
        return run

    def parse_listing(
        self, response: Response, page: int, walk: int | None = None
    ) -> Iterator[Request]:
        run = self.run_of(response)
        if walk is None:
            yield from self.read_listing(run, response, page)
        else:
            yield from self.walk_on(run, walk, page, response.meta["listing_url"], response)

    def walk_on(
        self, run: FeedRun, index: int, page: int, url: str, outcome: Response | Failure
    ) -> Iterator[Request]:
        """Read the pages of a walk fetched ahead that are due now, in order."""
        walk = run.walks[index]
        if not walk.arrive(page, url, outcome):
            return
        for due, got in walk.ready():
            if isinstance(got, Failure):
                self.listing_error(run, got)
            else:
                yield from self.read_listing(run, got, due, index)

    def read_listing(
        self, run: FeedRun, response: Response, page: int, walk: int | None = None
    ) -> Iterator[Request]:
        stats = run.stats
        feed = run.feed
        stats.inc("pages")
        try:
            found = run.listing.parse(response, page)
        except (ListingError, NotSupported) as e:
            stats.inc("errors/listing")
            if page == 1:
                stats.set("empty_listing", str(e))
            logger.error(
                "Listing page of feed %s cannot be read: %s <%s>", run.name, e, response.url
            )
            return
        for rejected in found.rejected:
            self.count(run, Outcome.DROPPED, rejected.reason)
            logger.warning(
                "Dropped an entry of feed %s: %s (%s) on listing <%s>",
                run.name,
                rejected.reason,
                rejected.what,
                response.url,
            )
        if page == 1 and not found.entries:
            culprit = run.listing.culprit(found)
            stats.set("empty_listing", culprit)
            logger.warning(
                "Feed %s: no article found on listing <%s>: %s", run.name, response.url, culprit
            )
        store = self.store
        store.refresh()
        new = pending = wanted = 0
        oldest_new = False  # the page's last (oldest) article is new: a backfill
        for entry in found.entries:
            if entry.info_code in run.left_out:
                continue  # fetched earlier in this run, another outlet's: counted then
            if not self.wants(feed, entry):
                self.count(run, Outcome.FILTERED)
                continue
            wanted += 1
            oldest_new = False
            if not store.claim(entry.info_code):
                if store.held_back(entry.info_code):  # dropped as bad lately
                    stats.inc("held")
                else:
                    stats.inc("known")
                if not store.is_known(entry.info_code):
                    pending += 1  # another feed of this run is fetching it: not mirrored yet
                continue
            new += 1
            oldest_new = True
            yield self.article_request(run, entry, response)
        logger.debug(
            "Feed %s page %d: %d articles, %d new <%s>",
            run.name,
            page,
            len(found.entries),
            new,
            response.url,
        )
        if not feed.paged and new and new == wanted:
            # One page and no way back: what fell off it before this run is lost.
            stats.set("window_all_new", new)
            logger.warning(
                "Feed %s: all %d articles on its one-page listing are new: articles may "
                "have been missed; crawl it more often (the source offers no older page) <%s>",
                run.name,
                new,
                response.url,
            )
        if found.next_url and page < feed.max_pages and (new or pending or run.resume):
            if walk is None:
                yield self.listing_request(run, found.next_url, page + 1)
                return
            # Ahead only while the downloader could run short of articles to fetch.
            short = self.queued() < 2 * self.crawler.settings.getint("CONCURRENT_REQUESTS")
            likely_more = (run.resume or oldest_new) and short
            ahead = run.walks[walk].follow(page, found.next_url, likely_more)
            for number, url in ahead:
                if number > page + 1:
                    stats.inc("listing_prefetch/requests")
                yield self.listing_request(run, url, number, walk)

    def queued(self) -> int:
        """Requests waiting in the scheduler."""
        stats = self.crawler.stats
        return stats.get_value("scheduler/enqueued", 0) - stats.get_value("scheduler/dequeued", 0)

    def wants(self, feed: Feed, entry: Entry) -> bool:
        """False for an entry the listing names as another outlet's (``outlets``)."""
        return wanted(feed, entry)

    def listing_failed(self, failure: Failure) -> list[Request] | None:
        request = failed_request(failure)
        run = self.run_of(request)
        if "walk" not in request.cb_kwargs:
            self.listing_error(run, failure)
            return None
        return list(self.walk_on(
            run, request.cb_kwargs["walk"], request.cb_kwargs["page"],
            request.meta["listing_url"], failure,
        ))  # fmt: skip

    def listing_error(self, run: FeedRun, failure: Failure) -> None:
        stats = run.stats
        stats.inc("errors/listing")
        # Why, for the feed's summary should no listing page be read at all.
        if stats.get("listing_failed") is None:
            stats.set("listing_failed", cause(failure))
        logger.error(
            "Listing page of feed %s failed: %s <%s>",
            run.name,
            describe(failure),
            failed_request(failure).url,
        )

    # -- revisits (SPEC §9) -------------------------------------------------
    def revisit_requests(self, run: FeedRun) -> Iterator[Request]:
        """The revisits of this feed due now, claimed: one request each, the
        article's share page or content API as first fetched, after the new
        articles (lower priority), within the feed's politeness."""
        revisits = self.revisits
        if revisits is None:
            return
        try:
            due = revisits.claim_due(run.name, now_from_settings(self.crawler.settings))
        except OSError as e:  # a full or read-only disk: the posts will say so too
            logger.warning(
                "Cannot claim the revisits of feed %s in %s: %s; none this run",
                run.name,
                e.filename or revisits.path,
                e.strerror or e,
            )
            return
        if due:
            logger.info("Feed %s: %d articles to revisit", run.name, len(due))
        for revisit in due:
            article = revisit.article
            run.claimed_revisits[article.info_code] = revisit
            yield Request(
                article.url,
                callback=self.parse_article,
                errback=self.article_failed,
                cb_kwargs={
                    "entry": Entry(article.info_code, fields=article.fields),
                    "share_url": article.share_url,
                },
                meta={FEED: run.name, "info_code": article.info_code, "revisit": article.post},
                priority=REVISIT_PRIORITY,
                dont_filter=True,
            )

    def settle_revisit(self, run: FeedRun, code: str, again: bool) -> None:
        """A revisit claimed by this feed, done, or given back (``again``)."""
        revisit = run.claimed_revisits.pop(code, None)
        revisits = self.revisits
        if revisit is None or not again or revisits is None:
            return
        try:
            revisits.release(revisit)  # due again at the next run
        except OSError as e:  # only this revisit is lost; the next age comes
            logger.warning(
                "Cannot give back the revisit of article %s of feed %s in %s: %s",
                code,
                run.name,
                e.filename or revisits.path,
                e.strerror or e,
            )

    # -- articles -----------------------------------------------------------
    def article_request(
        self, run: FeedRun, entry: Entry, listing: Response | None = None
    ) -> Request:
        url, share_url = article_urls(run.feed, entry)
        meta = {FEED: run.name, "info_code": entry.info_code}
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

    async def parse_article(
        self, response: Response, entry: Entry, share_url: str
    ) -> AsyncIterator[Article]:
        run = self.run_of(response)
        revisit = response.meta.get("revisit", "")
        if revisit:
            run.stats.inc("revisits")
        try:
            found = await self.article_fields(response, run.feed)
        except ValueError as e:
            self.drop(run, entry.info_code, response.url, str(e), revisit=bool(revisit))
            return
        article = build_article(run.feed, entry, response.url, share_url, found)
        article.revisit = revisit
        yield article

    async def article_fields(self, response: Response, feed: Feed) -> Fields:
        """The fields of an article's response, read in a worker process when
        one is free (:mod:`crawler.offload`); ValueError: unreadable."""
        if not isinstance(response, TextResponse):
            return article_fields(response, feed)  # raises not_html
        return await self.workers.call(
            "page_fields", feed, type(response), response.url, response.body, response.encoding
        )

    def article_failed(self, failure: Failure) -> None:
        request = failed_request(failure)
        run = self.run_of(request)
        code = request.meta["info_code"]
        status = failure.value.response.status if isinstance(failure.value, HttpError) else None
        gone = status is not None and 400 <= status < 500 and status != 429
        revisit = bool(request.meta.get("revisit"))
        if revisit:
            # The post stays as it is. Gone or refused: that age is done (a
            # deleted article is not asked for on every run); else it is due
            # again at the next run.
            run.stats.inc(f"revisits/{'gone' if gone else 'failed'}")
        # Gone or refused: not asked for again before the retry window.
        self.settle(run, code, Outcome.HELD if gone else Outcome.RETRY, revisit=revisit)
        run.stats.inc(f"errors/{error_kind(failure)}")
        logger.error(
            "Article %s of feed %s failed: %s <%s>",
            code,
            run.name,
            describe(failure),
            request.url,
        )

    # -- outcomes: every claim opened above is settled here ---------------------
    def count(self, run: FeedRun, outcome: Outcome, reason: str = "") -> None:
        """Count an entry or article that gives no post (drops: by reason)."""
        if outcome is Outcome.DROPPED:
            run.stats.inc("dropped")
            run.stats.inc(f"dropped/{reason}")
        elif outcome is Outcome.FILTERED:
            run.stats.inc("filtered")

    def settle(
        self, run: FeedRun, code: str, outcome: Outcome, reason: str = "", revisit: bool = False
    ) -> None:
        """The claim of an article that gives no post, settled as ``outcome`` says.

        A revisit's (``revisit``) leaves its post and the dedup store as they
        are: its revisit claim is done, or given back (``RETRY``: due again at
        the next run).
        """
        self.count(run, outcome, reason)
        if revisit:
            self.settle_revisit(run, code, again=outcome is Outcome.RETRY)
        elif outcome is Outcome.DROPPED or outcome is Outcome.HELD:
            self.store.forget_drop(code, run.name)
        else:
            if outcome is Outcome.FILTERED:
                run.left_out.add(code)  # another feed may take it; this run's listings skip it
            self.store.release(code)

    def drop(self, run: FeedRun, code: str, url: str, reason: str, revisit: bool = False) -> None:
        self.settle(run, code, Outcome.DROPPED, reason, revisit=revisit)
        logger.warning("Dropped article %s of feed %s: %s <%s>", code, run.name, reason, url)

    def item_scraped(self, item: Any, **kwargs: Any) -> None:
        if isinstance(item, Article) and item.revisit:
            self.settle(self.run_named(item.feed), item.info_code, Outcome.REVISITED, revisit=True)

    def item_dropped(self, item: Any, exception: BaseException, **kwargs: Any) -> None:
        if isinstance(item, Article):
            run = self.run_named(item.feed)
            revisit = bool(item.revisit)
            if isinstance(exception, ArticleDropped):
                self.settle(run, item.info_code, exception.outcome, exception.reason, revisit)
            else:  # a DropItem of another component: held back, as a drop
                self.settle(run, item.info_code, Outcome.HELD, revisit=revisit)

    def item_failed(self, item: Any, **kwargs: Any) -> None:
        if isinstance(item, Article):
            self.settle(
                self.run_named(item.feed), item.info_code, Outcome.RETRY, revisit=bool(item.revisit)
            )

    def spider_closed(self, reason: str) -> None:
        # A queue that outlives the crawl (SCHEDULER_PERSIST: a fleet's,
        # answered by whichever worker takes its requests) keeps the revisits
        # claimed; else those never asked for are due again next run.
        persist = self.crawler.settings.getbool("SCHEDULER_PERSIST")
        for run in self.runs.values():
            unread = sum(walk.unread for walk in run.walks.values())
            if unread:
                run.stats.set("listing_prefetch/unread", unread)
            if reason == "finished":
                self.store.end_walk(run.name)
            if not persist:
                for code in list(run.claimed_revisits):
                    self.settle(run, code, Outcome.RETRY, revisit=True)
