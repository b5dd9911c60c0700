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

from scrapy.http import Response, TextResponse

from crawler.catalog import INFO_CODE, Feed


@dataclass
class Entry:
    """An article named by a listing."""

    info_code: str
    url: str = ""  # its own link (share page), absolute, if the listing gives one
    fields: dict[str, str] = field(default_factory=dict)  # title/date/outlet of a record


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


class ListingError(ValueError):
    """A listing response that cannot be read at all."""


class HtmlListing:
    def __init__(self, feed: Feed):
        self.feed = feed

    def first_urls(self) -> list[str]:
        return list(self.feed.start_urls)

    def parse(self, response: Response, page: int) -> Page:
        if not isinstance(response, TextResponse):
            raise ListingError("is not an HTML page")
        entries: dict[str, Entry] = {}
        rejected: list[Rejected] = []
        for href in response.css("a::attr(href)").getall():
            url = response.urljoin(href.strip())
            match = self.feed.share_link.search(url)
            if not match:
                continue
            code = match["infoCode"]
            end = match.end("infoCode")
            if end < len(url) and INFO_CODE.fullmatch(url[end]):
                rejected.append(Rejected("bad_infocode", url))
                continue
            entries.setdefault(code, Entry(code, url))
        next_href = response.css(self.feed.next_page).get()
        next_url = response.urljoin(next_href.strip()) if next_href else None
        return Page(list(entries.values()), rejected, next_url)


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
            code = record.get(keys["infoCode"])
            if code in (None, ""):
                rejected.append(Rejected("missing_infocode", f"record {i}"))
                continue
            code = str(code).strip()
            if not INFO_CODE.fullmatch(code):
                rejected.append(Rejected("bad_infocode", f"record {i} infoCode {code!r}"))
                continue
            fields = {
                name: str(record[key]).strip()
                for name, key in keys.items()
                if name not in ("infoCode", "url") and record.get(key) not in (None, "")
            }
            url = record.get(keys["url"]) if "url" in keys else None
            url = response.urljoin(str(url).strip()) if url else ""
            entries.setdefault(code, Entry(code, url, fields))
        next_url = self.url(page + 1) if records else None
        return Page(list(entries.values()), rejected, next_url)

    def records(self, response: Response) -> list[Any]:
        try:
            data: Any = json.loads(response.body)
        except (ValueError, UnicodeDecodeError) as e:
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
