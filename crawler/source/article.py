"""An article of a listing's entry: where to fetch it, and the item its response gives.

Pure functions of the feed, the entry and the response, with no spider: the
feed spider (:mod:`crawler.spiders.feed`), ``scrapy probe``
(:mod:`crawler.ops.probe`) and what reads the raw capture's responses again
(``scrapy rebuild``, ``probe --from-capture``: :mod:`crawler.ops.rebuild`) use
the same ones. A field is read from the article (a CSS selector of
``article``, or a key of ``api_fields`` for a content API) and falls back to
the listing's record (:mod:`crawler.source.fields` names where each came from).
"""

from __future__ import annotations

from collections.abc import Mapping

from scrapy.http import Response, TextResponse

from crawler.items import Article
from crawler.source.catalog import ARTICLE_FIELDS, Feed
from crawler.source.fields import takes_outlet
from crawler.source.listings import Entry, load_json, scalar

Fields = dict[str, str | None]


def article_urls(feed: Feed, entry: Entry) -> tuple[str, str]:
    """The URL to fetch the entry's article from, and its public (share) link."""
    code = entry.info_code
    if feed.api:
        url = feed.api.format(infoCode=entry.api_code or code)
    else:
        url = entry.url or feed.share_url.format(infoCode=code)
    share_url = feed.share_url.format(infoCode=code) if feed.share_url else entry.url or url
    return url, share_url


def page_fields(response: Response, feed: Feed) -> Fields:
    """The fields of an article page, by the feed's ``article`` selectors."""
    if not isinstance(response, TextResponse):
        raise ValueError("not_html")
    found: Fields = {}
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


def api_fields(response: Response, feed: Feed) -> Fields:
    """The fields of a content API's answer, by the feed's ``api_fields`` keys."""
    try:
        data = load_json(response)
    except ValueError:
        raise ValueError("bad_json") from None
    if not isinstance(data, Mapping):
        raise ValueError("bad_json")
    # A field of another JSON type (object, array, bool) counts as missing.
    return {name: scalar(data.get(key)) for name, key in feed.api_fields.items()}


def article_fields(response: Response, feed: Feed) -> Fields:
    """The fields the article's own page or content API gives; ValueError
    (``not_html``, ``bad_json``: the drop reason) when it cannot be read."""
    return api_fields(response, feed) if feed.api else page_fields(response, feed)


def build_article(feed: Feed, entry: Entry, url: str, share_url: str, found: Fields) -> Article:
    """The item of an article: its own fields, the listing record's where it has none."""
    fields = {name: found.get(name) or entry.fields.get(name) for name in ARTICLE_FIELDS}
    return Article(
        feed=feed.name,
        info_code=entry.info_code,
        url=url,
        share_url=share_url,
        title=fields["title"],
        date=fields["date"],
        outlet=fields["outlet"],
        body=fields["body"],
        digest=entry.fields.get("digest") if feed.rolling else None,
        listing=dict(entry.fields),
    )


def extract_article(response: Response, feed: Feed, entry: Entry, share_url: str) -> Article:
    """The item of the entry's article from its response (ValueError: unreadable)."""
    return build_article(feed, entry, response.url, share_url, article_fields(response, feed))


def wanted(feed: Feed, entry: Entry) -> bool:
    """False for an entry the listing names as another outlet's (``outlets``);
    the article's own outlet is checked again once fetched (the same filter)."""
    outlet = entry.fields.get("outlet")
    return outlet is None or takes_outlet(feed, outlet)
