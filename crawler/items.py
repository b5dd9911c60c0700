"""The item the spiders yield (one article as found, before validation), and
the one exception that says why an article becomes no post."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

from scrapy.exceptions import DropItem


@dataclass
class Article:
    feed: str
    info_code: str
    url: str  # where the article was fetched from
    share_url: str  # the public link written into the post
    title: str | None = None
    date: str | None = None  # as the source writes it
    outlet: str | None = None
    body: str | None = None  # raw HTML until the clean pipeline has run
    digest: str | None = None  # rolling news: the record's digest (line made by clean)
    listing: dict[str, str] = field(default_factory=dict)  # the listing's fields, kept for revisits
    revisit: str = ""  # a revisit (SPEC §9): the file name of the post it may revise
    # Filled in by the validate pipeline:
    published: datetime | None = None
    category: str = ""


class Outcome(Enum):
    """What becomes of an article's claim when it gives no post, a revisit's
    included (:meth:`crawler.spiders.feed.FeedSpider.settle`, the one place
    that settles it)."""

    DROPPED = "dropped"  # bad as the source sent it: counted, not fetched again for a while
    HELD = "held"  # gone or refused (HTTP 4xx): not fetched again for a while, not counted
    FILTERED = "filtered"  # another outlet's: counted, given back for another feed to take
    RETRY = "retry"  # not written this run (storage, an error): given back, the next run takes it
    REVISITED = "revisited"  # a revisit answered and compared with its post: that age is done


class ArticleDropped(DropItem):
    """An article that becomes no post, with its :class:`Outcome` and reason
    (``mirror/dropped/<reason>``): the one exception the pipelines raise."""

    def __init__(
        self,
        reason: str,
        detail: str = "",
        outcome: Outcome = Outcome.DROPPED,
        log_level: str = "WARNING",
    ):
        # A drop says its reason and detail; the other outcomes their detail.
        drop = outcome is Outcome.DROPPED
        message = f"{reason}: {detail}" if drop and detail else (detail or reason)
        super().__init__(message, log_level=log_level)
        self.reason = reason
        self.detail = detail
        self.outcome = outcome

    def __reduce__(self) -> tuple[type[ArticleDropped], tuple[str, str, Outcome, str | None]]:
        # As a worker process sends it back (crawler.offload): whole, not its message alone.
        return type(self), (self.reason, self.detail, self.outcome, self.log_level)
