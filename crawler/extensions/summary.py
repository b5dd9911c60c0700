"""One line per feed a person can read: during a crawl (progress) and at its end.

The figures are a feed's counters, the crawl stats under ``mirror/<feed>/…``
(:mod:`crawler.perfeed`); :func:`feed_summary` turns them into the line and
decides whether the feed failed outright, which the commands use for their
exit status.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.utils.asyncio import AsyncioLoopingCall, create_looping_call

from crawler.perfeed import by_feed
from crawler.text import plural

logger = logging.getLogger(__name__)

# Stats of a whole crawler that a feed's summary reads (a fleet's crawler has one feed).
SHARED_STATS = ("fleet/run",)
PROGRESS_FEEDS = 10  # feeds named on a progress line; the others are summed up


def feeds_of(spider: Spider) -> list[str]:
    """The names of the feeds ``spider`` crawls (a feed spider's), else its own."""
    names: list[str] | None = getattr(spider, "feed_names", None)
    return names if names is not None else [spider.name]


def feed_counters(crawler: Crawler, feeds: list[str]) -> dict[str, dict[str, Any]]:
    """Each of ``feeds``' counters in ``crawler``'s stats, as :func:`feed_summary` reads them."""
    stats = crawler.stats.get_stats() if crawler.stats is not None else {}
    shared = {k: stats[k] for k in SHARED_STATS if k in stats}
    counters = by_feed(stats, feeds)
    if shared:
        for mine in counters.values():
            mine.update(shared)
    return counters


@dataclass
class FeedResult:
    feed: str
    new: int = 0
    known: int = 0
    held: int = 0  # known only as dropped as bad lately: held back, not fetched
    filtered: int = 0
    pages: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    failed: str = ""  # why the feed failed outright, or ""
    reason: str = "finished"  # why the crawl closed (Scrapy's finish_reason)
    revisits: int = 0  # articles fetched again (SPEC §9)
    revisions: int = 0  # of them, changed: a revision kept

    def line(self) -> str:
        def breakdown(counts: dict[str, int]) -> str:
            return (
                " (" + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) + ")"
                if counts
                else ""
            )

        held = (
            f"{self.held} held back (dropped lately; -s MIRROR_RETRY_DROPPED_HOURS=0 "
            "tries them now), "
            if self.held
            else ""
        )
        text = (
            f"{self.feed}: {self.new} new, {self.known} known, {held}"
            f"{sum(self.dropped.values())} dropped{breakdown(self.dropped)}, "
            f"{plural(sum(self.errors.values()), 'error')}{breakdown(self.errors)}, "
            f"{self.filtered} filtered, {plural(self.pages, 'page')}"
        )
        if self.revisits:
            text += f", {self.revisits} revisited, {plural(self.revisions, 'revision')}"
        return f"{text} — FAILED: {self.failed}" if self.failed else text


def feed_summary(feed: str, stats: Mapping[str, Any], reason: str = "finished") -> FeedResult:
    s = FeedResult(
        feed=feed,
        new=stats.get("mirror/new", 0),
        known=stats.get("mirror/known", 0),
        held=stats.get("mirror/held", 0),
        filtered=stats.get("mirror/filtered", 0),
        pages=stats.get("mirror/pages", 0),
        revisits=stats.get("mirror/revisits", 0),
        revisions=stats.get("mirror/revisions", 0),
        dropped={
            k.rsplit("/", 1)[1]: v for k, v in stats.items() if k.startswith("mirror/dropped/")
        },
        errors={k.rsplit("/", 1)[1]: v for k, v in stats.items() if k.startswith("mirror/errors/")},
    )
    article_errors = sum(v for k, v in s.errors.items() if k not in ("listing", "storage"))
    # A fleet's worker (crawler.fleet) sees a share of the feed: no listing page
    # at all, or a few articles, is no sign of a broken feed.
    share = bool(stats.get("fleet/run"))
    if stats.get("mirror/storage_error"):
        s.failed = f"cannot write to {stats['mirror/storage_error']}"
    elif reason not in ("finished", "shutdown"):
        # Closed early (Redis lost, a CLOSESPIDER_* limit): that is the cause,
        # whatever it left unread.
        s.failed = f"closed: {reason}"
    elif s.pages == 0 and not (share and "listing" not in s.errors):
        s.failed = "no listing page could be read"
        if stats.get("mirror/listing_failed"):
            s.failed += f": {stats['mirror/listing_failed']}"  # crawler.source.failures.cause
    elif stats.get("mirror/empty_listing"):
        culprit = stats["mirror/empty_listing"]  # the selector or key at fault
        s.failed = "no article found on the listing" + (
            f" ({culprit})" if isinstance(culprit, str) else ""
        )
    elif stats.get("mirror/drift"):
        s.failed = str(stats["mirror/drift"])  # crawler.extensions.drift
    elif article_errors and not (s.new or s.known or s.held or s.filtered or s.dropped or share):
        s.failed = "every article failed"
    elif (
        s.dropped
        and len(s.dropped) == 1
        and not (s.new or s.known or s.held or share)
        and sum(s.dropped.values()) > 1
    ):
        s.failed = f"every article dropped as {next(iter(s.dropped))}"
    s.reason = reason
    return s


class RunProgress:
    """One progress line on stderr for all the feeds crawled at once, every
    ``MIRROR_PROGRESS_INTERVAL``, when the terminal shows no log (crawler.ops.logs)."""

    def __init__(self, runs: list[tuple[Crawler, list[str]]]):
        self.runs = runs  # each crawler and the feeds it crawls
        self.open = 0
        self.task: AsyncioLoopingCall | Any = None

    @classmethod
    def attach(cls, runs: list[tuple[Crawler, list[str]]]) -> RunProgress | None:
        settings = runs[0][0].settings if runs else None
        if settings is None or not settings.getbool("MIRROR_QUIET"):
            return None
        if settings.getfloat("MIRROR_PROGRESS_INTERVAL") <= 0:
            return None
        progress = cls(runs)
        for crawler, _ in runs:
            crawler.signals.connect(progress.spider_opened, signal=signals.spider_opened)
            crawler.signals.connect(progress.spider_closed, signal=signals.spider_closed)
        return progress

    def spider_opened(self, spider: Spider) -> None:
        self.open += 1
        if self.task is None:
            self.task = create_looping_call(self.show)
            self.task.start(
                self.runs[0][0].settings.getfloat("MIRROR_PROGRESS_INTERVAL"), now=False
            )

    def spider_closed(self, spider: Spider) -> None:
        self.open -= 1
        if self.open <= 0 and self.task is not None and self.task.running:
            self.task.stop()

    def show(self) -> None:
        summaries = [
            feed_summary(feed, counters)
            for crawler, feeds in self.runs
            if crawler.stats is not None
            for feed, counters in feed_counters(crawler, feeds).items()
        ]
        print(f"Progress: {progress_line(summaries)}", file=sys.stderr, flush=True)


def progress_line(summaries: list[FeedResult], most: int = PROGRESS_FEEDS) -> str:
    """``kunmingribao 13 new, 4 dropped, 1 error; yunnanwang 5 new; …``: each
    feed, in the run's order. Of more than ``most`` feeds (a catalog of
    thousands), the ``most`` busiest are named and the others summed up, so
    that the line stays a line."""
    shown, rest = summaries, []
    if len(summaries) > most:
        busiest = sorted(summaries, key=_activity, reverse=True)[:most]
        named = {id(s) for s in busiest}
        shown = [s for s in summaries if id(s) in named]
        rest = [s for s in summaries if id(s) not in named]
    parts = [_progress(s.feed, [s]) for s in shown]
    if rest:
        parts.append(_progress(plural(len(rest), "more feed"), rest))
    return "; ".join(parts)


def _activity(s: FeedResult) -> int:
    return s.new + sum(s.dropped.values()) + sum(s.errors.values())


def _progress(name: str, summaries: list[FeedResult]) -> str:
    part = f"{name} {sum(s.new for s in summaries)} new"
    dropped = sum(sum(s.dropped.values()) for s in summaries)
    errors = sum(sum(s.errors.values()) for s in summaries)
    if dropped:
        part += f", {dropped} dropped"
    if errors:
        part += f", {plural(errors, 'error')}"
    return part


class FeedSummary:
    """Logs each feed's progress every ``MIRROR_PROGRESS_INTERVAL`` seconds
    (the feeds whose counters moved since the last time) and its summary at the end."""

    def __init__(self, crawler: Crawler, interval: float):
        self.crawler = crawler
        self.interval = interval
        self.task: AsyncioLoopingCall | Any = None
        self.results: list[FeedResult] = []
        self.shown: dict[str, dict[str, Any]] = {}  # each feed's counters at its last progress line

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FeedSummary:
        ext = cls(crawler, crawler.settings.getfloat("MIRROR_PROGRESS_INTERVAL"))
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self, spider: Spider) -> None:
        if self.interval > 0:
            self.task = create_looping_call(self.progress, spider)
            self.task.start(self.interval, now=False)

    def progress(self, spider: Spider) -> None:
        for feed, counters in feed_counters(self.crawler, feeds_of(spider)).items():
            if not counters or self.shown.get(feed) == counters:
                continue
            self.shown[feed] = counters
            logger.info("Progress of feed %s so far: %s", feed, feed_summary(feed, counters).line())

    def spider_closed(self, spider: Spider, reason: str) -> None:
        if self.task is not None and self.task.running:
            self.task.stop()
        counters = feed_counters(self.crawler, feeds_of(spider))
        self.results = [feed_summary(feed, mine, reason) for feed, mine in counters.items()]
        for result in self.results:
            if result.failed:
                logger.error("Feed summary: %s", result.line())
            else:
                logger.info("Feed summary: %s", result.line())
