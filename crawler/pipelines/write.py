"""Writes each article as a post file of the archive (SPEC §3.1) and its category page."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from scrapy.utils.defer import deferred_from_coro

from crawler.items import Article
from crawler.mirror.archive import (
    CATEGORY_DIR,
    POSTS_DIR,
    Post,
    category_page,
    render,
    write_atomic,
)
from crawler.mirror.dedup import close_store, open_store
from crawler.signals import post_written

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


class StorageError(DropItem):
    """The mirror folder cannot take a post (full, read-only, gone).

    The article is dropped from this run only: the spider gives its claim
    back, so the next run fetches it again. The error itself is logged once
    per post by the pipeline, naming the path, without a traceback.
    """


class WritePipeline:
    def __init__(self, crawler: Crawler):
        settings = crawler.settings
        self.crawler = crawler
        self.root = Path(settings.get("MIRROR_DIR"))
        self.base_url = settings.get("MIRROR_BASE_URL")
        self.durable = settings.getbool("MIRROR_FSYNC")
        self.store = open_store(settings)
        self.categories: set[str] = set()
        self.stopping = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WritePipeline:
        return cls(crawler)

    def close_spider(self) -> None:
        close_store(self.store)

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, Article):
            return item
        post = post_of(item)
        path = self.root / POSTS_DIR / post.filename
        try:
            written = self.store.commit(
                post.info_code,
                lambda: write_atomic(path, render(post, self.base_url), self.durable),
            )
            if written:
                self.write_category(post)
        except OSError as e:
            self.crawler.stats.inc_value("mirror/errors/storage")
            logger.error(
                "Cannot write post %s of feed %s to %s: %s; stopping the crawl",
                post.info_code,
                item.feed,
                e.filename or path,
                e.strerror or e,
            )
            self.crawler.stats.set_value("mirror/storage_error", str(e.filename or path))
            if not self.stopping:
                self.stopping = True
                deferred_from_coro(self.crawler.engine.close_spider_async(reason="storage_error"))
            raise StorageError(
                f"cannot write {e.filename or path}: {e.strerror or e}", log_level="DEBUG"
            ) from e
        if written is None:
            self.crawler.stats.inc_value("mirror/known")
            logger.debug("Post %s was written meanwhile by another crawl", post.info_code)
        else:
            self.crawler.stats.inc_value("mirror/new")
            logger.debug("Mirrored %s of feed %s to %s", post.info_code, item.feed, written)
            self.crawler.signals.send_catch_log(signal=post_written, item=item, path=written)
        return item

    def write_category(self, post: Post) -> None:
        if post.category in self.categories:
            return
        page = self.root / CATEGORY_DIR / f"{post.category}.html"
        if not page.exists():
            write_atomic(page, category_page(post.outlet, post.category, post.digest is not None))
        self.categories.add(post.category)
