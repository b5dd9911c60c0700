"""Where a feed's article fields come from, named as the catalog names them.

The spider reads each field from the article (a CSS selector of ``article``,
or a key of ``api_fields`` for a content API) and falls back to the listing
record (a key of ``list_fields``). When a field goes missing, the log, the
per-feed summary and ``scrapy probe`` point at the selector or key to fix with
:func:`field_sources`.
"""

from __future__ import annotations

import re

from crawler.source.catalog import Feed

_SOURCE_PREFIX = re.compile(r"^\s*(?:来源|来自|稿源|source)\s*[：:]\s*", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_OUTLET = 64


def one_line(text: str | None) -> str:
    """Trimmed, with inner runs of whitespace (and control characters) as one space."""
    return " ".join(_CONTROL.sub(" ", text or "").split())


def outlet_name(raw: str | None) -> str:
    """An outlet as the source writes it (``来源：昆明日报 ``) as the mirror names it."""
    return one_line(_SOURCE_PREFIX.sub("", one_line(raw)))[:MAX_OUTLET]


def takes_outlet(feed: Feed, raw: str | None) -> bool:
    """Whether the feed takes an article of this outlet (``outlets``): the one
    outlet filter, for a listing's entry and for the article alike."""
    return feed.wants_outlet(outlet_name(raw))


# The drop reasons of the validate and clean pipelines that a field decides.
REASON_FIELDS = {
    "missing_title": "title",
    "missing_date": "date",
    "bad_date": "date",
    "missing_outlet": "outlet",
    "bad_outlet": "outlet",
    "missing_body": "body",
    "empty_body": "body",
}


def article_source(feed: Feed, name: str) -> str:
    """The catalog key and value the article's ``name`` field is read with."""
    if feed.api:
        return f"api_fields.{name} {feed.api_fields[name]!r}"
    return f"article.{name} {feed.article[name]!r}"


def record_source(feed: Feed, name: str) -> str | None:
    """The ``list_fields`` key filling ``name`` from a listing record, if any."""
    if feed.list_api and name in feed.list_fields:
        return f"list_fields.{name} {feed.list_fields[name]!r}"
    return None


def field_sources(feed: Feed, name: str) -> list[str]:
    """Every place ``name`` is looked for, the one that wins first."""
    record = record_source(feed, name)
    return [article_source(feed, name), *([record] if record else [])]


def field_of(reason: str) -> str | None:
    """The field a drop reason is about (``missing_title`` → ``title``), if any."""
    return REASON_FIELDS.get(reason)


def blame(feed: Feed, reason: str) -> str | None:
    """What to fix for articles dropped as ``reason``, or None when no field decides it."""
    name = field_of(reason)
    if name is None:
        return None
    where = " and ".join(field_sources(feed, name))
    if reason == "bad_date":
        return f"{where} gave no date that parses"
    if reason == "empty_body":
        return f"{where} gave a body that is empty once cleaned"
    if reason == "bad_outlet":
        return f"{where} gave an outlet with no category slug"
    return f"{where} matched nothing"
