"""``scrapy probe FEED``: what the crawler finds on a feed, writing nothing.

:class:`ProbeSpider` is the feed's own spider (listing parsers, article
requests, field extraction) with three differences: it reads only the first
listing page (of the next start URL too, while none has given an article)
and its first article (the next ones when the first belong to outlets the
feed leaves out), it claims nothing in a dedup store
(:class:`NullStore`; the mirror's ``.mirror/`` is not even opened), and its
items go through the validate and clean pipelines only, never the writer.
What it saw is kept in a :class:`ProbeReport` that the command prints.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotSupported
from scrapy.http import Request, Response, TextResponse
from scrapy.settings import Settings
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawler.items import Article
from crawler.middlewares.encoding import declared_encoding
from crawler.mirror.archive import CATEGORY_DIR, OLD_POSTS_DIR, POSTS_DIR, Post, render
from crawler.mirror.capture import CaptureError, read_provenance
from crawler.mirror.dedup import DedupStore
from crawler.ops.rebuild import Replayer
from crawler.pipelines.clean import CleanPipeline
from crawler.pipelines.validate import FilteredOut, ValidatePipeline
from crawler.pipelines.write import post_of
from crawler.source.article import article_fields, article_urls
from crawler.source.catalog import ARTICLE_FIELDS, Feed
from crawler.source.failures import describe, failed_request
from crawler.source.fields import article_source, blame, record_source
from crawler.source.listings import Entry, ListingError, Page
from crawler.spiders.feed import FeedSpider

MAX_ARTICLES = 5  # articles tried when the first ones are other outlets' (``outlets``)
SHOWN_CODES = 5
SHOWN_REJECTED = 3
SHOWN_BODY = 300  # characters of the cleaned body shown, to check a feed's drop: rules
SHOWN_DATE = 200  # characters of a date field that does not parse

# The probe crawl: the pipelines that decide what a post would be, and none
# that writes; no extension of the mirror's (they may write at close).
PROBE_SETTINGS: dict[str, Any] = {
    "ITEM_PIPELINES": {ValidatePipeline: 100, CleanPipeline: 200},
    "EXTENSIONS": {},
    "SCHEDULER": "scrapy.core.scheduler.Scheduler",
    "DUPEFILTER_CLASS": "scrapy.dupefilters.RFPDupeFilter",
    "JOBDIR": None,
    "HTTPCACHE_ENABLED": False,
}


class NullStore(DedupStore):
    """A dedup store that knows nothing and remembers nothing."""

    def refresh(self) -> None:
        pass

    def is_known(self, info_code: str) -> bool:
        return False

    def claim(self, info_code: str) -> bool:
        return True

    def release(self, info_code: str) -> None:
        pass

    def forget_drop(self, info_code: str, feed: str = "") -> None:
        pass

    def commit(self, info_code: str, write: Callable[[], Path]) -> Path | None:
        raise RuntimeError("a probe writes nothing")

    def begin_walk(self, feed: str) -> bool:
        return False

    def end_walk(self, feed: str) -> None:
        pass


# --- What the probe saw --------------------------------------------------------


def encoding_of(response: Response, feed: Feed) -> str:
    if not isinstance(response, TextResponse):
        return "not text"
    if feed.encoding:
        return f"encoding {response.encoding} (the feed's 'encoding')"
    declared = declared_encoding(response)
    return (
        f"encoding {response.encoding} ({f'declared {declared}' if declared else 'not declared'})"
    )


def shown(value: str, width: int = 70) -> str:
    text = " ".join(value.split())
    return repr(text if len(text) <= width else text[: width - 1] + "…")


@dataclass
class ListingProbe:
    url: str
    status: int | None = None
    fetched: str = ""  # HTTP status, size, encoding
    error: str = ""  # it could not be fetched or read
    page: Page | None = None
    culprit: str = ""  # the selector or key that found nothing
    wanted: int = 0  # entries not left out by outlets


@dataclass
class ArticleProbe:
    entry: Entry
    url: str
    share_url: str = ""
    fetched: str = ""
    error: str = ""  # the request failed
    own: dict[str, str | None] = field(default_factory=dict)  # from the article itself
    unreadable: str = ""  # the article's page or JSON could not be read
    fields: dict[str, str | None] = field(default_factory=dict)  # merged with the record
    dropped: str = ""  # the drop reason
    filtered: str = ""
    item: Article | None = None  # validated and cleaned
    post: Post | None = None


class ProbeReport:
    def __init__(self, feed: Feed, mirror_dir: str, base_url: str):
        self.feed = feed
        self.root = Path(mirror_dir)
        self.base_url = base_url
        self.listings: list[ListingProbe] = []  # one per start URL tried, in order
        self.articles: list[ArticleProbe] = []

    @property
    def listing(self) -> ListingProbe | None:
        """The listing the articles come from: the last one tried."""
        return self.listings[-1] if self.listings else None

    def article(self, info_code: str) -> ArticleProbe | None:
        for probe in reversed(self.articles):
            if probe.entry.info_code == info_code:
                return probe
        return None

    @property
    def problem(self) -> str | None:
        """Why the feed would mirror nothing, naming the selector or key; None if fine."""
        listing, feed = self.listing, self.feed
        if listing is None:
            return "the listing was not fetched"
        if listing.error:
            return f"listing <{listing.url}>: {listing.error}"
        assert listing.page is not None
        if not listing.page.entries:
            return f"no article on the listing: {listing.culprit}"
        if not listing.wanted:
            return (
                f"none of the {len(listing.page.entries)} articles on the listing is "
                f"of outlets {sorted(feed.outlets)}"
            )
        if not self.articles:
            return "no article was fetched"
        last = self.articles[-1]
        code = last.entry.info_code
        if last.error:
            return f"article {code}: {last.error}"
        if last.dropped:
            culprit = blame(feed, last.dropped)
            return f"article {code} would be dropped as {last.dropped}" + (
                f": {culprit}" if culprit else ""
            )
        if last.filtered:
            return (
                f"the first {len(self.articles)} articles are not of outlets {sorted(feed.outlets)}"
            )
        if last.post is None:
            return f"article {code} gave no post"
        return None

    def text(self) -> str:
        return "\n".join(self.lines())

    def lines(self) -> Iterator[str]:
        feed = self.feed
        yield f"Feed {feed.name}: {kind_of(feed)}"
        for listing in self.listings:
            yield from self.listing_lines(listing)
        for probe in self.articles:
            yield from self.article_lines(probe)
        problem = self.problem
        yield (
            f"FAILED: {problem}"
            if problem
            else (f"OK: feed {feed.name} yields articles; nothing was written or remembered")
        )

    def listing_lines(self, listing: ListingProbe) -> Iterator[str]:
        feed = self.feed
        yield f"Listing <{listing.url}>"
        if listing.fetched:
            yield f"  {listing.fetched}"
        if listing.error:
            yield f"  cannot be used: {listing.error}"
            return
        page = listing.page
        assert page is not None
        if feed.list_api:
            yield (
                f"  {page.seen} records at list_records {feed.list_records!r}: "
                f"{len(page.entries)} articles, {len(page.rejected)} rejected"
            )
        else:
            yield (
                f"  {page.seen} links match share_link '{feed.share_link.pattern}': "
                f"{len(page.entries)} articles, {len(page.rejected)} rejected"
            )
        for rejected in page.rejected[:SHOWN_REJECTED]:
            yield f"    rejected: {rejected.reason} ({rejected.what})"
        if not page.entries:
            yield f"  no article: {listing.culprit}"
            return
        yield (
            "  first infoCodes: "
            + ", ".join(e.info_code for e in page.entries[:SHOWN_CODES])
            + (", …" if len(page.entries) > SHOWN_CODES else "")
        )
        outlets = Counter(e.fields["outlet"] for e in page.entries if "outlet" in e.fields)
        if outlets:
            yield "  outlets: " + ", ".join(f"{o} {n}" for o, n in outlets.most_common())
        if feed.outlets:
            if outlets:
                yield f"  kept by outlets {sorted(feed.outlets)}: {listing.wanted}"
            else:
                yield (
                    f"  outlets {sorted(feed.outlets)}: the listing names no outlet, "
                    "each article's own is checked"
                )
        if feed.list_api:
            yield f"  page 2: <{page.next_url}>" if page.next_url else "  page 2: none"
        elif page.next_url:
            yield f"  next page: <{page.next_url}>"
        else:
            yield f"  next page: none (next_page {feed.next_page!r} matched nothing)"

    def article_lines(self, probe: ArticleProbe) -> Iterator[str]:
        feed = self.feed
        yield f"Article {probe.entry.info_code} <{probe.url}>"
        if probe.fetched:
            yield f"  {probe.fetched}"
        if probe.error:
            yield f"  failed: {probe.error}"
            return
        if probe.unreadable:
            yield f"  cannot be read: {probe.unreadable}"
        for name in ARTICLE_FIELDS:
            yield "  " + self.field_line(probe, name)
        cleaned = probe.item.body if probe.item is not None else ""
        if cleaned:  # what the feed's drop: rules left, as the post would hold it
            more = "…" if len(cleaned) > SHOWN_BODY else ""
            yield f"  cleaned body starts: {cleaned[:SHOWN_BODY]!r}{more}"
        if probe.item is not None and probe.item.published is not None:
            yield f"  published {probe.item.published:%Y-%m-%d %H:%M:%S %z}"
        if probe.filtered:
            yield f"  left out: {probe.filtered}"
        elif probe.dropped:
            culprit = blame(feed, probe.dropped)
            yield f"Would drop it as {probe.dropped}" + (f": {culprit}" if culprit else "")
            if probe.dropped == "bad_date":
                yield f"  tried {shown(probe.fields.get('date') or '', SHOWN_DATE)}"
        elif probe.post is not None:
            yield from self.post_lines(probe.post)

    def field_line(self, probe: ArticleProbe, name: str) -> str:
        feed = self.feed
        own_key = article_source(feed, name)
        own = probe.own.get(name) if not probe.unreadable else None
        record_key = record_source(feed, name)
        record = probe.entry.fields.get(name)
        if name == "body":
            raw = probe.fields.get("body") or ""
            cleaned = probe.item.body if probe.item is not None else None
            after = (
                f"; {len(cleaned)} after cleaning"
                if cleaned is not None
                else ("" if not raw else "; not cleaned (stopped before cleaning)")
            )
            if not own:
                return f"body:   not found: {own_key} matched nothing"
            return f"body:   {len(raw)} characters from {own_key}{after}"
        label = f"{name}:".ljust(7)
        if own:
            also = f" (record: {shown(record)})" if record and record != own else ""
            return f"{label} {shown(own)} from {own_key}{also}"
        if record:
            return f"{label} {shown(record)} from {record_key} ({own_key}: not found)"
        tried = own_key + (f" and {record_key}" if record_key else "")
        return f"{label} not found: {tried} matched nothing"

    def post_lines(self, post: Post) -> Iterator[str]:
        path = self.root / POSTS_DIR / post.filename
        known = [
            folder
            for folder in (POSTS_DIR, OLD_POSTS_DIR)
            if (self.root / folder / post.filename).exists()
        ]
        note = f" (already in {known[0]}/: a crawl skips it)" if known else ""
        yield f"Would write {path}{note}:"
        text = render(post, self.base_url)
        front = text[: text.index("\n---\n", 3) + len("\n---")]
        for line in front.splitlines():
            yield f"  {line}"
        page = self.root / CATEGORY_DIR / f"{post.category}.html"
        if not page.exists():
            yield f"and the category page {page} (new)"


def kind_of(feed: Feed) -> str:
    listing = f"list API ({feed.list_records!r} records)" if feed.list_api else "HTML listing"
    article = "content API" if feed.api else "share pages"
    outlet = "outlet auto" if feed.auto_outlet else f"outlet {feed.outlet}"
    outlets = f", only outlets {sorted(feed.outlets)}" if feed.outlets else ""
    return f"{listing} + {article}, {outlet}{outlets}"


# --- The spider ------------------------------------------------------------------


class ProbeSpider(FeedSpider):
    custom_settings = PROBE_SETTINGS
    report: ProbeReport
    candidates: list[Entry]  # the listing's articles of the feed's outlets, not yet tried
    start_urls_left: list[str]

    @classmethod
    def dedup_store(cls, crawler: Crawler) -> DedupStore:
        return NullStore()

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> ProbeSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        assert isinstance(spider, ProbeSpider)
        settings = crawler.settings
        spider.report = ProbeReport(
            spider.feed, settings.get("MIRROR_DIR"), settings.get("MIRROR_BASE_URL")
        )
        spider.candidates = []
        crawler.signals.connect(spider.item_passed, signal=signals.item_scraped)
        return spider

    async def start(self) -> AsyncIterator[Request]:
        self.start_urls_left = self.listing.first_urls()
        for request in self.next_listing():
            yield request

    def next_listing(self) -> Iterator[Request]:
        """The next start URL's first page, while no listing has given an article."""
        if self.start_urls_left and not any(x.wanted for x in self.report.listings):
            yield self.listing_request(self.start_urls_left.pop(0), 1)

    def parse_listing(
        self, response: Response, page: int, walk: int | None = None
    ) -> Iterator[Request]:
        yield from self.read_listing(response, page)
        yield from self.next_listing()

    def read_listing(
        self, response: Response, page: int, walk: int | None = None
    ) -> Iterator[Request]:
        listing = ListingProbe(response.url, response.status)
        self.report.listings.append(listing)
        listing.fetched = (
            f"HTTP {response.status}, {len(response.body)} bytes, "
            f"{encoding_of(response, self.feed)}"
        )
        try:
            found = self.listing.parse(response, page)
        except (ListingError, NotSupported) as e:
            listing.error = str(e)
            return
        listing.page = found
        if not found.entries:
            listing.culprit = self.listing.culprit(found)
        self.candidates = [e for e in found.entries if self.wants(e)]
        listing.wanted = len(self.candidates)
        yield from self.next_article()

    def next_article(self) -> Iterator[Request]:
        if self.candidates and len(self.report.articles) < MAX_ARTICLES:
            yield self.article_request(self.candidates.pop(0))

    def listing_failed(self, failure: Failure) -> list[Request] | None:
        self.report.listings.append(
            ListingProbe(failed_request(failure).url, error=describe(failure))
        )
        super().listing_failed(failure)  # logged and counted; a probe walks no further
        return list(self.next_listing())

    def parse_article(self, response: Response, entry: Entry, share_url: str) -> Iterator[Article]:
        probe = ArticleProbe(entry, response.url, share_url)
        probe.fetched = (
            f"HTTP {response.status}, {len(response.body)} bytes, "
            f"{encoding_of(response, self.feed)}"
        )
        self.report.articles.append(probe)
        try:
            probe.own = self.article_fields(response)
        except ValueError as e:
            probe.unreadable = probe.dropped = str(e)
        for item in super().parse_article(response, entry, share_url):
            probe.fields = {name: getattr(item, name) for name in ARTICLE_FIELDS}
            yield item

    def article_failed(self, failure: Failure) -> None:
        request = failed_request(failure)
        probe = ArticleProbe(request.cb_kwargs["entry"], request.url, error=describe(failure))
        if isinstance(failure.value, HttpError):
            probe.fetched = f"HTTP {failure.value.response.status}"
        self.report.articles.append(probe)
        super().article_failed(failure)

    def item_passed(self, item: Any, **kwargs: Any) -> None:
        probe = self.report.article(item.info_code) if isinstance(item, Article) else None
        if probe is not None:
            probe.item = item
            probe.post = post_of(item)

    def item_dropped(self, item: Any, exception: BaseException, **kwargs: Any) -> None:
        probe = self.report.article(item.info_code) if isinstance(item, Article) else None
        if probe is None:
            return
        if isinstance(exception, FilteredOut):
            probe.filtered = str(exception)
            for request in self.next_article():
                self.crawler.engine.crawl(request)
        else:
            probe.dropped = str(exception)


def probe_spider(spidercls: type[FeedSpider]) -> type[ProbeSpider]:
    """The probe of the feed whose spider is ``spidercls``."""
    return type(
        f"{spidercls.name}_probe",
        (ProbeSpider, spidercls),
        {
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
    for role in ("listing", "article"):
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
        probe.own = article_fields(feed, response)
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
