"""``scrapy rebuild``: the posts re-derived from the raw capture alone (SPEC §11).

For each post the capture's provenance names (:mod:`crawler.mirror.capture`),
the captured listing response is read again to find the article's entry, and
the captured article response to find its fields, with the *current* catalog
and cleaner, through the code a crawl uses: :mod:`crawler.source.article`,
the validate and clean pipelines' :func:`~crawler.pipelines.validate.check_article`
and :func:`~crawler.pipelines.clean.clean_article`, and
:func:`crawler.mirror.archive.render`. No request is made.

A post revised by a revisit is re-derived as the reviser
(:mod:`crawler.pipelines.revise`) made it: its date, outlet, category and
digest from its first fetch (``article`` and ``listing`` records), its title
and body from the response of the revisit that last changed it (its
``revision`` record).

- A post that comes out byte for byte as it is on disk is not touched.
- One that comes out different is rewritten atomically where it is
  (``_posts/`` or ``old_post/``), through :meth:`Rebuild.replace`, the one
  place a post is replaced: with revisits on (``MIRROR_REVISIT``) the version
  it replaces is kept as a revision (:func:`crawler.mirror.revisions.record`),
  and the log line says it comes from a rebuild; one missing from both
  folders is written to ``_posts/``.
- One the current catalog would drop (a selector that finds nothing now) is
  left as it is, and counted with the reason.
- One with more revisions than its provenance accounts for (revised while
  capture was off, or a crash between the revision and its capture) is left
  as it is, and counted: the response it was revised from is not in the
  capture, and re-deriving it would undo that revision.

Why each post changed is counted: a ``drop`` rule of the feed that removed
something now and was not among the rules the post was cleaned with
(``drop <selector>``), a rule it was cleaned with and that is gone
(``drop <selector> removed``), a new cleaner (``cleaner <old> → <new>``),
other source rules (``cleaning <module>``: the feed's ``cleaning`` names
another module, or its text changed),
else the part of the post that differs (``title``, ``date``, ``body``, …).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

from scrapy import Spider
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.http import Response
from scrapy.settings import Settings
from scrapy.statscollectors import MemoryStatsCollector

from crawler.cleaning.articles import clean_article, feed_cleaner
from crawler.cleaning.cleaner import BodyCleaner, cleaner_version
from crawler.items import Article, ArticleDropped
from crawler.middlewares.encoding import decoded
from crawler.mirror import revisionsite
from crawler.mirror.archive import (
    OLD_POSTS_DIR,
    POSTS_DIR,
    FormatError,
    Post,
    add_category_page,
    category_page,
    parse,
    render,
    write_atomic,
)
from crawler.mirror.capture import (
    CaptureError,
    Exchange,
    ProvenanceLog,
    RecordRef,
    read_exchange,
    read_provenance,
    roles,
)
from crawler.mirror.revisions import record, versions
from crawler.mirror.revisits import parse_ages
from crawler.mirror.rotation import now_from_settings
from crawler.pipelines.validate import check_article
from crawler.pipelines.write import post_of
from crawler.source.article import article_urls, extract_article
from crawler.source.catalog import Feed
from crawler.source.listings import Entry, ListingError, Page, listing_for
from crawler.text import plural

logger = logging.getLogger(__name__)

LISTINGS_KEPT = 64


@dataclass
class Derived:
    """What the crawler makes today of one captured article."""

    feed: Feed
    code: str
    entry: Entry | None = None
    response: Response | None = None
    article: Article | None = None  # as found, before validation
    raw: dict[str, str | None] = field(default_factory=dict)  # its fields as found
    post: Post | None = None
    text: str = ""  # the post file's text
    dropped: str = ""  # why it would not be a post
    fired: set[str] = field(default_factory=set)  # drop rules that removed something
    revision: Article | None = None  # the revisit's, whose title and body the post has


class Replayer:
    """Turns captured exchanges into posts with the current catalog and cleaner."""

    def __init__(self, settings: Settings, root: Path):
        self.root = root
        self.base_url = settings.get("MIRROR_BASE_URL")
        self.max_bytes = settings.getint("MIRROR_MAX_BODY_BYTES")
        self.cleaners: dict[str, BodyCleaner] = {}
        self.pages: dict[tuple[str, str, int], Page] = {}
        # Scrapy's own decompression, as in a crawl (gzip, deflate, br, zstd).
        crawler = Crawler(Spider, settings)
        crawler.stats = MemoryStatsCollector(crawler)
        self.decompress = HttpCompressionMiddleware(crawler=crawler)

    def response(self, exchange: Exchange, feed: Feed) -> Response:
        raw = exchange.response()
        assert raw.request is not None
        got = self.decompress.process_response(raw.request, raw)
        assert isinstance(got, Response)
        return decoded(got, feed.encoding)

    def listing(self, feed: Feed, ref: dict[str, Any]) -> Page:
        """The captured listing page ``ref`` names, read by ``feed``'s listing;
        the last few are kept: a page names many posts."""
        key = (feed.name, ref["file"], ref["offset"])
        page = self.pages.get(key)
        if page is None:
            response = self.response(read_exchange(self.root, ref), feed)
            page = listing_for(feed).parse(response, 1)
            if len(self.pages) >= LISTINGS_KEPT:
                del self.pages[next(iter(self.pages))]
            self.pages[key] = page
        return page

    def derive(self, feed: Feed, code: str, refs: dict[str, dict[str, Any]]) -> Derived:
        """CaptureError when a record cannot be read back (or is not recorded)."""
        if "article" not in refs:
            raise CaptureError(f"the capture of {code} has no article record")
        out = Derived(feed, code)
        entry = Entry(code)
        if "listing" in refs:
            try:
                page = self.listing(feed, refs["listing"])
            except ListingError as e:
                out.dropped = f"listing: {e}"
                return out
            found = [e for e in page.entries if e.info_code == code]
            if not found:
                out.dropped = "not_listed"  # the current catalog finds it no more on its listing
                return out
            entry = found[0]
        out.entry = entry
        _, share_url = article_urls(feed, entry)
        response = out.response = self.response(read_exchange(self.root, refs["article"]), feed)
        try:
            article = extract_article(response, feed, entry, share_url)
        except ValueError as e:
            out.dropped = str(e)
            return out
        out.raw = {
            "title": article.title, "date": article.date,
            "outlet": article.outlet, "body": article.body,
        }  # fmt: skip
        out.article = article
        try:
            post = self.clean(feed, article, out.fired)
        except ArticleDropped as e:
            out.dropped = e.reason  # "filtered": an outlet the feed does not take
            return out
        if "revision" in refs:
            # As the reviser: the post keeps its first fetch's file (date) and
            # category (outlet); the revisit gave its title and body.
            revisit = self.response(read_exchange(self.root, refs["revision"]), feed)
            fired: set[str] = set()
            try:
                out.revision = extract_article(revisit, feed, entry, share_url)
                revised = self.clean(feed, out.revision, fired)
            except ValueError as e:
                out.dropped = f"revision: {e}"
                return out
            except ArticleDropped as e:
                out.dropped = f"revision: {e.reason}"
                return out
            post = replace(post, title=revised.title, body=revised.body)
            out.fired = fired
        out.post = post
        out.text = render(out.post, self.base_url)
        return out

    def clean(self, feed: Feed, article: Article, fired: set[str]) -> Post:
        """The post ``article`` makes, validated and cleaned as in a crawl
        (ArticleDropped: it makes none)."""
        if feed.name not in self.cleaners:
            self.cleaners[feed.name] = feed_cleaner(feed)
        check_article(article, feed)
        clean_article(article, feed, self.cleaners[feed.name], self.max_bytes, fired)
        return post_of(article)


@dataclass
class RebuildResult:
    checked: int = 0
    unchanged: int = 0
    rewritten: int = 0
    restored: int = 0  # missing from both folders, written again
    dropped: Counter[str] = field(default_factory=Counter)  # kept as is: the catalog drops it now
    unreadable: int = 0  # its capture could not be read back
    revised: int = 0  # revised by a revisit its capture does not hold: kept as it is
    kept: int = 0  # of the rewritten, those whose earlier version is kept as a revision
    skipped: Counter[str] = field(default_factory=Counter)  # feeds not in the catalog
    why: Counter[str] = field(default_factory=Counter)

    def lines(self) -> list[str]:
        head = (
            f"Rebuild: {plural(self.checked, 'captured post')} re-derived: "
            f"{self.unchanged} unchanged, {self.rewritten} rewritten, {self.restored} restored"
        )
        if self.dropped:
            head += (
                f", {sum(self.dropped.values())} kept as they are (the catalog would drop "
                f"them now: {_breakdown(self.dropped)})"
            )
        if self.revised:
            head += f", {self.revised} kept as revised without a captured response"
        if self.unreadable:
            head += f", {self.unreadable} whose capture cannot be read"
        out = [head]
        if self.why:
            out.append(f"Changed because of: {_breakdown(self.why)}")
        if self.kept:
            out.append(
                f"Earlier versions kept as revisions made by this rebuild: {self.kept} "
                "(in _revisions/, superseded now)"
            )
        if self.skipped:
            out.append(f"Not in the catalog, left alone: {_breakdown(self.skipped)}")
        return out


def _breakdown(counts: Counter[str]) -> str:
    return ", ".join(
        f"{name} {n}" for name, n in sorted(counts.items(), key=lambda x: (-x[1], x[0]))
    )


class Rebuild:
    """One rebuild of a mirror folder from its capture."""

    def __init__(self, settings: Settings, catalog: dict[str, Feed]):
        self.root = Path(settings.get("MIRROR_DIR"))
        self.catalog = catalog
        self.durable = settings.getbool("MIRROR_FSYNC")
        self.replayer = Replayer(settings, self.root)
        self.provenance = ProvenanceLog(self.root, self.durable)
        self.versions: dict[str, str] = {}  # the cleaner version of each feed, today
        self.settings = settings
        self.keep_revisions = bool(parse_ages(settings.get("MIRROR_REVISIT")))
        self.site = settings.getbool("MIRROR_SITE_ENABLED")

    def version(self, feed: Feed) -> str:
        if feed.name not in self.versions:
            self.versions[feed.name] = cleaner_version(feed.drop, feed.cleaning)
        return self.versions[feed.name]

    def run(self, feeds: Iterable[str] | None = None, since: date | None = None) -> RebuildResult:
        chosen = set(feeds) if feeds is not None else None
        result = RebuildResult()
        on_disk = self.posts_on_disk()
        try:
            for code, line in sorted(read_provenance(self.root).items()):
                name = line.get("feed", "")
                if chosen is not None and name not in chosen:
                    continue
                if since is not None and str(line.get("post", ""))[:10] < since.isoformat():
                    continue
                feed = self.catalog.get(name)
                if feed is None:
                    result.skipped[name] += 1
                    continue
                self.one(feed, code, line, on_disk.get(code), result)
        finally:
            self.provenance.close()
        return result

    def posts_on_disk(self) -> dict[str, Path]:
        found = {}
        for folder in (OLD_POSTS_DIR, POSTS_DIR):  # _posts/ wins over a left-over copy
            for path in (self.root / folder).glob("*.md"):
                found[path.name[11:-3]] = path
        return found

    def one(
        self,
        feed: Feed,
        code: str,
        line: dict[str, Any],
        path: Path | None,
        result: RebuildResult,
    ) -> None:
        result.checked += 1
        recorded = int(line.get("revisions", 0))
        revisions = len(versions(self.root, code, path)) if path is not None else recorded
        if revisions > recorded:
            # A revisit replaced its title or body from a response the capture
            # does not hold: re-deriving it would undo that.
            result.revised += 1
            logger.warning(
                "Post %s of feed %s kept as it is: revised from a response not captured",
                code,
                feed.name,
            )
            return
        refs = roles(line)
        try:
            derived = self.replayer.derive(feed, code, refs)
        except CaptureError as e:
            result.unreadable += 1
            logger.error("Post %s of feed %s cannot be rebuilt: %s", code, feed.name, e)
            return
        if derived.post is None:
            result.dropped[derived.dropped] += 1
            logger.warning(
                "Post %s of feed %s kept as it is: the catalog would drop it now (%s)",
                code,
                feed.name,
                derived.dropped,
            )
            return
        new = derived.post
        old_text = path.read_text("utf-8") if path is not None else None
        if old_text == derived.text and path is not None and path.name == new.filename:
            result.unchanged += 1
            if line.get("cleaner") != self.version(feed):  # the same post, by today's rules
                self.record(feed, code, line, path, revisions)
            return
        if path is None:
            target = self.root / POSTS_DIR / new.filename
            write_atomic(target, derived.text, self.durable)
            result.restored += 1
        else:
            why = self.reasons(line, feed, derived, old_text or "")
            result.why.update(why)
            target = path.with_name(new.filename)
            kept = self.replace(code, path, target, derived.text)
            result.rewritten += 1
            if kept is not None:
                result.kept += 1
                revisions = len(versions(self.root, code, target))
                logger.info(
                    "Rebuilt post %s of feed %s (%s); the earlier version is kept as %s "
                    "(a revision made by scrapy rebuild)",
                    code,
                    feed.name,
                    ", ".join(sorted(why)),
                    kept.relative_to(self.root),
                )
        self.ensure_category(new)
        self.record(feed, code, line, target, revisions)

    def record(
        self, feed: Feed, code: str, line: dict[str, Any], post: Path, revisions: int
    ) -> None:
        """The post's provenance: the same records, today's cleaner, its revisions."""
        records = [RecordRef(**ref) for ref in line.get("records", [])]
        self.provenance.append(
            code, feed.name, post.name, self.version(feed), feed.drop, records, revisions
        )

    def replace(self, code: str, old: Path, new: Path, text: str) -> Path | None:
        """Puts ``text`` in place of the post at ``old`` (at ``new``, whose name
        differs when the post's date changed). With revisits on, the version
        replaced is kept as a revision (superseded now): its path."""
        if not self.keep_revisions:
            write_atomic(new, text, self.durable)
            if new != old:
                old.unlink()
            return None
        when = now_from_settings(self.settings)
        kept = record(old, code, text, when, self.durable, dest=new)
        if self.site:
            try:
                revisionsite.publish(self.root, code, new)
            except FormatError as e:  # an earlier version edited by hand: scrapy verify says more
                logger.error("Cannot write the site pages of the revisions of %s: %s", code, e)
        return kept

    def ensure_category(self, post: Post) -> None:
        page = category_page(post.outlet, post.category, post.digest is not None)
        add_category_page(self.root, post.category, page)

    def reasons(
        self, line: dict[str, Any], feed: Feed, derived: Derived, old_text: str
    ) -> set[str]:
        """Why the post changed (see the module's docstring)."""
        was = set(line.get("drop", []))
        now = set(feed.drop)
        why = {r for r in derived.fired if r.removeprefix("drop ") not in was}
        why |= {f"drop {name} removed" for name in was - now}
        old_version = str(line.get("cleaner", "")).split("+")
        new_version = self.version(feed).split("+")
        if old_version[0] != new_version[0]:
            why.add(f"cleaner {old_version[0]} → {new_version[0]}")
        if old_version[2:3] != new_version[2:3]:  # the rules module, or its text, changed
            why.add(f"cleaning {feed.cleaning}")
        if why:
            return why
        try:
            old = parse(old_text)
        except ValueError:
            return {"unreadable post"}
        assert derived.post is not None
        new = derived.post
        return {
            name
            for name in ("title", "date", "category", "outlet", "body", "share_url", "digest")
            if getattr(old, name) != getattr(new, name)
        } or {"layout"}
