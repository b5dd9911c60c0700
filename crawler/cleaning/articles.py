"""An article item's cleaning: its body (and a rolling feed's digest) with its
feed's cleaner; the clean pipeline's, a worker's and ``scrapy rebuild``'s."""

from __future__ import annotations

from crawler.cleaning.cleaner import BodyCleaner, clean_digest
from crawler.cleaning.rules import load_rules
from crawler.items import Article, ArticleDropped
from crawler.source.catalog import Feed


def feed_cleaner(feed: Feed) -> BodyCleaner:
    """The cleaner of ``feed``'s bodies: its ``drop`` selectors and its
    source's rules (``cleaning``); a crawl's and ``scrapy rebuild``'s."""
    return BodyCleaner(feed.drop, load_rules(feed.cleaning))


def clean_article(
    item: Article,
    feed: Feed,
    cleaner: BodyCleaner,
    max_bytes: int,
    fired: set[str] | None = None,
) -> None:
    """Cleans ``item``'s body (and digest); :class:`ArticleDropped` if nothing
    (or too much) is left. ``fired`` collects the cleaning rules that removed
    something (:meth:`BodyCleaner.clean`)."""
    item.body = cleaner.clean(item.body or "", item.url, fired)
    if feed.rolling:
        item.digest = clean_digest(item.digest or "")
    if not item.body:
        raise ArticleDropped("empty_body")
    if max_bytes > 0:
        size = len(item.body.encode("utf-8"))
        if size > max_bytes:
            raise ArticleDropped(
                "too_large", f"{size} bytes once cleaned, over MIRROR_MAX_BODY_BYTES {max_bytes}"
            )
