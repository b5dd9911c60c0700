"""The jobs of a worker process, and of the crawl itself when no worker takes one.

Functions of a feed and plain values: :class:`Jobs` runs them with what
it keeps per feed (its body cleaner), in a worker process or, when there is
none, in the crawl's own; both run the same code, so a post is the same
whichever process built it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scrapy.http import TextResponse

from crawler.cleaning.articles import clean_article, feed_cleaner
from crawler.cleaning.cleaner import BodyCleaner
from crawler.items import Article
from crawler.mirror.archive import Post, discard, render, stage
from crawler.source.article import Fields, article_fields
from crawler.source.catalog import Feed


class Jobs:
    NAMES = frozenset({"page_fields", "cleaned", "staged_post"})  # what a worker may run

    def __init__(self) -> None:
        self.cleaners: dict[int, BodyCleaner] = {}  # by feed (kept alive by their owner)

    def page_fields(
        self, feed: Feed, kind: type[TextResponse], url: str, body: bytes, encoding: str
    ) -> Fields:
        """The article fields of a text response given as its parts: its class,
        URL, body and the encoding the crawl read it with (ValueError: unreadable)."""
        return article_fields(kind(url=url, body=body, encoding=encoding), feed)

    def cleaned(self, feed: Feed, item: Article, max_bytes: int) -> tuple[str | None, str | None]:
        """The article's body and digest once cleaned (:func:`clean_article`;
        :class:`~crawler.items.ArticleDropped` when nothing, or too much, is left)."""
        cleaner = self.cleaners.get(id(feed))
        if cleaner is None:
            cleaner = self.cleaners[id(feed)] = feed_cleaner(feed)
        clean_article(item, feed, cleaner, max_bytes)
        return item.body, item.digest

    def staged_post(
        self, feed: Feed, post: Post, path: Path, base_url: str, durable: bool, writer: str
    ) -> str:
        """The post rendered (:func:`~crawler.mirror.archive.render`) into a
        temporary file beside ``path``, on the disk if ``durable``
        (:func:`~crawler.mirror.archive.stage`, named for ``writer``, the
        process that places it); its name."""
        return stage(path, render(post, base_url), durable, writer)

    def unanswered(self, name: str, result: Any) -> None:
        """Undo what job ``name`` left behind when its crawl will never have
        ``result``: a staged post's temporary file is removed."""
        if name == "staged_post":
            discard(result)
