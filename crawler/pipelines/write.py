"""Writes each article as a post file of the archive (SPEC §3.1) and its category page.

The post is rendered and written to a temporary file (on the disk, with
``MIRROR_FSYNC``) in a worker process when one is free (:mod:`crawler.offload`):
the reactor only renames it into place and records it in the dedup store, so a
disk's flushes do not hold the crawl. Whichever process writes it, the file
is the same (:func:`crawler.mirror.archive.write_atomic`, in two halves).

Category pages (``category/<slug>.html``) are written here only (and by
``scrapy writer`` for a fleet's handed-over posts), through
:func:`crawler.mirror.archive.add_category_page`; the site extension adds the
category's Atom feed page (``feed/<slug>.xml``), a file of the Jekyll site.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from scrapy.crawler import Crawler
from scrapy.utils.defer import deferred_from_coro

from crawler.items import Article, ArticleDropped, Outcome
from crawler.mirror.archive import (
    POSTS_DIR,
    Post,
    add_category_page,
    category_page,
    discard,
    place,
    writer_id,
)
from crawler.mirror.dedup import DedupStore, dedup_store
from crawler.offload.pool import worker_pool
from crawler.perfeed import feed_named, feed_stats
from crawler.pipelines.revise import Reviser
from crawler.signals import listened, post_written

logger = logging.getLogger(__name__)


def post_of(item: Article) -> Post:
    """The post a validated, cleaned article becomes."""
    assert item.published is not None
    return Post(
        info_code=item.info_code,
        title=item.title or "",
        date=item.published,
        category=item.category,
        outlet=item.outlet or "",
        body=item.body or "",
        share_url=item.share_url,
        digest=item.digest,
    )


def place_once(
    store: DedupStore, info_code: str, staged: str, path: Path, durable: bool
) -> Path | None:
    """The staged post file renamed to ``path`` and recorded, unless the
    article is mirrored already (None); a staged file not placed (mirrored
    already, or the commit failed) is removed."""
    written = None
    try:
        written = store.commit(info_code, lambda: place(staged, path, durable))
    finally:
        if written is None:
            discard(staged)
    return written


class WritePipeline:
    def __init__(self, crawler: Crawler):
        settings = crawler.settings
        self.crawler = crawler
        self.root = Path(settings.get("MIRROR_DIR"))
        self.posts = self.root / POSTS_DIR
        self.base_url = settings.get("MIRROR_BASE_URL")
        self.durable = settings.getbool("MIRROR_FSYNC")
        self.store = dedup_store(crawler)
        self.workers = worker_pool(crawler)
        self.writer = writer_id()  # the staged files' names: this process places them
        self.categories: set[str] = set()
        self.stopping = False
        self.reviser = Reviser(crawler)  # revisits: the schedule and the revisions
        # Whether post_written has a receiver (the capture, connected as it is
        # built): asked at the first post, not at every one.
        self.tell: bool | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WritePipeline:
        return cls(crawler)

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, Article):
            return item
        post = post_of(item)
        path = self.posts / post.filename
        stats = feed_stats(self.crawler, item.feed)
        try:
            if item.revisit:
                self.reviser.revise(item, post)
                return item
            written = await self.write(item, post, path)
            if written:
                self.write_category(post)
                self.reviser.schedule(item, post)
        except OSError as e:
            stats.inc("errors/storage")
            logger.error(
                "Cannot write post %s of feed %s to %s: %s; stopping the crawl",
                post.info_code,
                item.feed,
                e.filename or path,
                e.strerror or e,
            )
            stats.set("storage_error", str(e.filename or path))
            if not self.stopping:
                self.stopping = True
                deferred_from_coro(self.crawler.engine.close_spider_async(reason="storage_error"))
            # Dropped from this run only: the claim is given back, the next run
            # fetches it again. Logged once above, naming the path, no traceback.
            raise ArticleDropped(
                "storage_error",
                f"cannot write {e.filename or path}: {e.strerror or e}",
                Outcome.RETRY,
                log_level="DEBUG",
            ) from e
        if written is None:
            stats.inc("known")
            logger.debug("Post %s was written meanwhile by another crawl", post.info_code)
        else:
            stats.inc("new")
            logger.debug("Mirrored %s of feed %s to %s", post.info_code, item.feed, written)
            if self.tell is None:
                self.tell = listened(self.crawler.signals, post_written)
            if self.tell:  # the capture, when on
                self.crawler.signals.send_catch_log(signal=post_written, item=item, path=written)
        return item

    async def write(self, item: Article, post: Post, path: Path) -> Path | None:
        """``post`` written to ``path`` and recorded, unless it is mirrored
        already (None: another crawl wrote it meanwhile)."""
        feed = feed_named(self.crawler, item.feed)
        assert feed is not None  # an Article is of a feed the spider crawls
        staged = await self.workers.call(
            "staged_post", feed, post, path, self.base_url, self.durable, self.writer
        )
        return place_once(self.store, post.info_code, staged, path, self.durable)

    def write_category(self, post: Post) -> None:
        if post.category in self.categories:
            return
        page = category_page(post.outlet, post.category, post.digest is not None)
        add_category_page(self.root, post.category, page)
        self.categories.add(post.category)
