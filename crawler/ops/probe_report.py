"""What ``scrapy probe`` saw of a feed, and the report it prints.

:class:`ProbeReport` holds a :class:`ListingProbe` per listing page fetched
and an :class:`ArticleProbe` per article; :meth:`ProbeReport.text` is the
report, :attr:`ProbeReport.problem` the one line saying why the feed would
mirror nothing, naming the selector or key. The probe's crawl is
:mod:`crawler.ops.probe`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from scrapy.http import Response, TextResponse

from crawler.items import Article
from crawler.middlewares.encoding import declared_encoding
from crawler.mirror.archive import CATEGORY_DIR, OLD_POSTS_DIR, POSTS_DIR, Post, render
from crawler.source.catalog import ARTICLE_FIELDS, Feed
from crawler.source.fields import article_source, blame, record_source
from crawler.source.listings import Entry, Page

SHOWN_CODES = 5
SHOWN_REJECTED = 3
SHOWN_BODY = 300  # characters of the cleaned body shown, to check a feed's drop: rules
SHOWN_DATE = 200  # characters of a date field that does not parse


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
