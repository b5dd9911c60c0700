"""Listing kinds: how a feed's articles are found (SPEC §2.1, §2.4).

A listing turns one listing response into the articles it names and the next
page to read. :class:`HtmlListing` reads category pages and their share links;
:class:`JsonListing` reads a JSON list API. The spider does the rest (dedup,
outlet filters, paging rules) the same way for both.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

from scrapy.http import Response, TextResponse
from scrapy.utils.response import get_base_url

from crawler.source.catalog import INFO_CODE, Feed


@dataclass
class Entry:
    """An article named by a listing."""

    info_code: str  # the post's key: its file name and dedup key
    url: str = ""  # its own link (share page), absolute, if the listing gives one
    fields: dict[str, str] = field(default_factory=dict)  # title/date/outlet/digest of a record
    api_code: str = ""  # the infoCode the content API is asked for, when not info_code


@dataclass
class Rejected:
    """Something on a listing that looked like an article but cannot be one."""

    reason: str
    what: str


@dataclass
class Page:
    entries: list[Entry]
    rejected: list[Rejected]
    next_url: str | None
    seen: int = 0  # share links matched, or records read, before dedup and checks


class ListingError(ValueError):
    """A listing response that cannot be read at all."""


def feed_hosts(feed: Feed) -> list[str]:
    """The hosts the feed reads: those of its start_urls, list_api, api and share_url."""
    urls = [*feed.start_urls, feed.list_api, feed.api, feed.share_url]
    hosts = set()
    for url in filter(None, urls):
        try:
            hosts.add(urlsplit(url).hostname or "")
        except ValueError:
            continue
    return sorted(hosts - {""})


def on_hosts(url: str, hosts: list[str]) -> bool:
    """Whether ``url`` is http(s) on one of ``hosts`` (or a subdomain of one)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and any(
        host == h or host.endswith("." + h) for h in hosts
    )


def scalar(value: Any) -> str | None:
    """A JSON value as text if it is a string or a number; None for anything else."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return None


def load_json(response: Response) -> Any:
    """The JSON document of ``response``, decoded with its charset (ValueError if none)."""
    try:
        text = response.text if isinstance(response, TextResponse) else response.body.decode()
        return json.loads(text)
    except RecursionError:
        raise ValueError("nests too deep") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise ValueError(str(e)) from None


class HtmlListing:
    def __init__(self, feed: Feed):
        self.feed = feed
        self.hosts = feed_hosts(feed)

    def first_urls(self) -> list[str]:
        return list(self.feed.start_urls)

    def parse(self, response: Response, page: int) -> Page:
        if not isinstance(response, TextResponse):
            raise ListingError("is not an HTML page")
        entries: dict[str, Entry] = {}
        rejected: list[Rejected] = []
        seen = 0
        base = get_base_url(response)  # response.urljoin's, read once for the page
        for href in response.css("a::attr(href)").getall():
            try:
                url = urljoin(base, href.strip())
            except ValueError:  # not a URL at all (e.g. "http://[::1")
                continue
            match = self.feed.share_link.search(url)
            if not match:
                continue
            seen += 1
            if not on_hosts(url, self.hosts):  # not followed off the feed's hosts
                rejected.append(Rejected("offsite", url))
                continue
            code = match["infoCode"]
            end = match.end("infoCode")
            if end < len(url) and INFO_CODE.fullmatch(url[end]):
                rejected.append(Rejected("bad_infocode", url))
                continue
            entries.setdefault(code, Entry(code, url))
        next_href = response.css(self.feed.next_page).get()
        next_url = response.urljoin(next_href.strip()) if next_href else None
        return Page(list(entries.values()), rejected, next_url, seen)

    def culprit(self, page: Page) -> str:
        """The catalog key to blame when ``page`` names no article."""
        pattern = self.feed.share_link.pattern
        if page.seen:
            return f"share_link '{pattern}' found only bad infoCodes"
        return f"share_link '{pattern}' matched no link"


class JsonListing:
    def __init__(self, feed: Feed):
        self.feed = feed
        self.path = feed.list_records.split(".")

    def first_urls(self) -> list[str]:
        return [self.url(1)]

    def url(self, page: int) -> str:
        return self.feed.list_api.format(page=page)

    def parse(self, response: Response, page: int) -> Page:
        records = self.records(response)
        keys = self.feed.list_fields
        entries: dict[str, Entry] = {}
        rejected: list[Rejected] = []
        for i, record in enumerate(records):
            if not isinstance(record, Mapping):
                rejected.append(Rejected("bad_record", f"record {i} is not an object"))
                continue
            code = self.code(record, i, keys["infoCode"], rejected)
            if code is None:
                continue
            api_code = ""
            if "key" in keys:  # the post is keyed by another field; the API asked by infoCode
                api_code, code = code, self.code(record, i, keys["key"], rejected)
                if code is None:
                    continue
            fields = {
                name: text.strip()
                for name, key in keys.items()
                if name not in ("infoCode", "key", "url") and (text := scalar(record.get(key)))
            }
            url = scalar(record.get(keys["url"])) if "url" in keys else None
            try:
                url = response.urljoin(url.strip()) if url else ""
            except ValueError:
                url = ""
            if url and urlsplit(url).scheme not in ("http", "https"):
                url = ""  # a javascript: or data: "link": the post links the article instead
            entries.setdefault(code, Entry(code, url, fields, api_code))
        # A list_api without {page} is one page: the newest records it gives.
        next_url = self.url(page + 1) if records and self.feed.paged else None
        return Page(list(entries.values()), rejected, next_url, len(records))

    def code(
        self, record: Mapping[str, Any], i: int, key: str, rejected: list[Rejected]
    ) -> str | None:
        """The record's ``key`` if it is a good infoCode; else None, with why in ``rejected``."""
        raw_code = record.get(key)
        code = scalar(raw_code)
        if raw_code is not None and code is None:
            rejected.append(Rejected("bad_infocode", f"record {i} {key} {raw_code!r}"[:200]))
            return None
        if code in (None, ""):
            title = record.get(self.feed.list_fields.get("title", ""))
            named = f" titled {str(title).strip()[:60]!r}" if title else ""
            rejected.append(Rejected("missing_infocode", f"record {i}{named} has no {key!r}"))
            return None
        code = str(code).strip()
        if not INFO_CODE.fullmatch(code):
            rejected.append(Rejected("bad_infocode", f"record {i} {key} {code!r}"))
            return None
        return code

    def culprit(self, page: Page) -> str:
        """The catalog key to blame when ``page`` names no article."""
        if page.seen:
            key = self.feed.list_fields["infoCode"]
            return f"list_fields.infoCode {key!r} gave no good infoCode in {page.seen} records"
        return f"list_records {self.feed.list_records!r} held no record"

    def records(self, response: Response) -> list[Any]:
        try:
            data: Any = load_json(response)
        except ValueError as e:
            raise ListingError(f"is not JSON ({e})") from None
        for step in self.path:
            if not isinstance(data, Mapping) or step not in data:
                raise ListingError(f"has no {self.feed.list_records!r} array")
            data = data[step]
        if data is None:
            return []
        if not isinstance(data, list):
            raise ListingError(f"{self.feed.list_records!r} is not an array")
        return data


def listing_for(feed: Feed) -> HtmlListing | JsonListing:
    return JsonListing(feed) if feed.list_api else HtmlListing(feed)
