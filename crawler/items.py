"""The item the spiders yield: one article as found, before validation."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


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
