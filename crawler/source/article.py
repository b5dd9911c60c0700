"""An article read from its response: the fields a feed's share page or content
API gives, completed by its listing entry (SPEC §2.3).

Pure functions of the feed, the response and the entry: the spider calls them
on what it fetches, ``scrapy rebuild`` and ``probe --from-capture`` on what the
capture kept (:mod:`crawler.mirror.capture`).
"""

from __future__ import annotations

from collections.abc import Mapping

from scrapy.http import Response, TextResponse

from crawler.items import Article
from crawler.source.catalog import ARTICLE_FIELDS, Feed
from crawler.source.listings import Entry, load_json, scalar


def article_urls(feed: Feed, entry: Entry) -> tuple[str, str]:
    """Where the article of ``entry`` is fetched from, and the link its post gives."""
    code = entry.info_code
    if feed.api:
        url = feed.api.format(infoCode=entry.api_code or code)
    else:
        url = entry.url or feed.share_url.format(infoCode=code)
    share_url = feed.share_url.format(infoCode=code) if feed.share_url else entry.url or url
    return url, share_url


def article_fields(feed: Feed, response: Response) -> dict[str, str | None]:
    """The fields the article's own page or content API gives (ValueError: unreadable)."""
    return api_fields(feed, response) if feed.api else page_fields(feed, response)


def page_fields(feed: Feed, response: Response) -> dict[str, str | None]:
    if not isinstance(response, TextResponse):
        raise ValueError("not_html")
    found: dict[str, str | None] = {}
    for name, css in feed.article.items():
        if name == "body":
            nodes = response.css(css)
            found[name] = "".join(nodes[0].xpath("node()").getall()) if nodes else None
        elif "::" in css:
            found[name] = " ".join(response.css(css).getall()) or None
        else:
            nodes = response.css(css)
            found[name] = nodes[0].xpath("string()").get() if nodes else None
    return found


def api_fields(feed: Feed, response: Response) -> dict[str, str | None]:
    try:
        data = load_json(response)
    except ValueError:
        raise ValueError("bad_json") from None
    if not isinstance(data, Mapping):
        raise ValueError("bad_json")
    # A field of another JSON type (object, array, bool) counts as missing.
    return {name: scalar(data.get(key)) for name, key in feed.api_fields.items()}


def article_from(feed: Feed, response: Response, entry: Entry, share_url: str) -> Article:
    """The article (before validation) that ``response`` gives for ``entry``;
    ValueError with the drop reason when the response cannot be read."""
    found = article_fields(feed, response)
    fields = {name: found.get(name) or entry.fields.get(name) for name in ARTICLE_FIELDS}
    return Article(
        feed=feed.name,
        info_code=entry.info_code,
        url=response.url,
        share_url=share_url,
        title=fields["title"],
        date=fields["date"],
        outlet=fields["outlet"],
        body=fields["body"],
        digest=entry.fields.get("digest") if feed.rolling else None,
    )
