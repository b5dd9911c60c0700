"""Hands each article, rendered as its post, to the mirror's host through Redis.

The item pipeline of a worker without the mirror's folder
(``MIRROR_WRITE = "redis"``), in place of
:class:`~crawler.pipelines.write.WritePipeline`: the post is rendered here,
with :mod:`crawler.mirror.archive` as always, then recorded as mirrored and queued on
``…:posts`` in one atomic step, so that it is written once, by ``scrapy
writer`` (:mod:`crawler.fleet.writer`) on the host that holds the mirror.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from scrapy.crawler import Crawler

from crawler.fleet.store import RedisDedupStore
from crawler.items import Article
from crawler.mirror.archive import POSTS_DIR, category_page, render
from crawler.mirror.dedup import dedup_store
from crawler.perfeed import feed_stats
from crawler.pipelines.write import post_of

logger = logging.getLogger(__name__)


def payload(post_file: str, text: str, category: str, category_text: str, feed: str) -> str:
    """What a handed-over post is on ``…:posts``: JSON the writer reads."""
    return json.dumps(
        {
            "file": post_file,
            "text": text,
            "category": category,
            "category_page": category_text,
            "feed": feed,
        },
        ensure_ascii=False,
    )


class HandoffPipeline:
    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self.base_url = crawler.settings.get("MIRROR_BASE_URL")
        store = dedup_store(crawler)
        assert isinstance(store, RedisDedupStore)
        self.store = store

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> HandoffPipeline:
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, Article):
            return item
        post = post_of(item)
        data = payload(
            f"{POSTS_DIR}/{post.filename}",
            render(post, self.base_url),
            post.category,
            category_page(post.outlet, post.category, post.digest is not None),
            item.feed,
        )
        stats = self.crawler.stats
        assert stats is not None
        if self.store.hand_off(post.info_code, data):
            feed_stats(self.crawler, item.feed).inc("new")
            stats.inc_value("fleet/handed_off")
            logger.debug("Handed post %s of feed %s to the writer", post.info_code, item.feed)
        else:
            feed_stats(self.crawler, item.feed).inc("known")
            logger.debug("Post %s was mirrored meanwhile by another worker", post.info_code)
        return item
