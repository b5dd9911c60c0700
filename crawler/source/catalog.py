"""The feed catalog (SPEC §6): a YAML file naming each feed and how to read it.

:func:`load_catalog` reads and checks the whole file at once, so that a
mistake stops a command at start with a :class:`CatalogError` naming the feed
and the key, before anything is fetched.

Its length: :class:`Feed` and the one-pass checker of every catalog key
(``_FeedChecker``) change together, key by key.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from cssselect import SelectorError
from parsel.csstranslator import HTMLTranslator

from crawler.cleaning.rules import DEFAULT_RULES, NO_RULES, load_rules
from crawler.source.slug import DEFAULT_READING, READINGS, category_slug

DEFAULT_SHARE_LINK = r"NewsShare\.html\?(?:[^#]*&)?infoCode=(?P<infoCode>[A-Za-z0-9_-]{1,64})"
INFO_CODE = re.compile(r"[A-Za-z0-9_-]{1,64}")
FEED_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
# The source's time zone, a feed's default (one shared, immutable ZoneInfo).
DEFAULT_TIMEZONE = ZoneInfo("Asia/Shanghai")

ARTICLE_FIELDS = ("title", "date", "outlet", "body")
DEFAULT_SELECTORS = {
    "title": "h1::text",
    "date": ".time::text",
    "outlet": ".source a::text",
    "body": "#ContentBody",
}
DEFAULT_API_FIELDS = {
    "title": "title",
    "date": "showtime",
    "outlet": "medianame",
    "body": "text",
}
# `key`: the record's key that names the post and keys dedup, when not its
# infoCode (the content API is still asked with the infoCode); `digest`: the
# record's summary, for the rolling-news post kind.
LIST_FIELDS = ("infoCode", "key", "title", "date", "outlet", "url", "digest")
DEFAULT_LIST_FIELDS = {
    "infoCode": "infoCode",
    "title": "title",
    "date": "showtime",
    "outlet": "medianame",
}

AUTO_OUTLET = "auto"
# Post kinds (SPEC §3.1): "outlet" posts link back to /category/{category}.html;
# "rolling" posts (the source's rolling news) carry a "> digest" line before
# the body and link back to /{category}/.
POST_KINDS = ("outlet", "rolling")

KEYS = {
    "outlet", "category", "start_urls", "share_link", "share_url", "next_page",
    "max_pages", "timezone", "encoding", "article", "api", "api_fields",
    "list_api", "list_records", "list_fields", "outlets", "drop", "post", "cleaning",
}  # fmt: skip


class CatalogError(ValueError):
    """A feed catalog that cannot be used; the message names feed and key."""

    def __init__(self, path: str, message: str, feed: str = "", key: str = ""):
        where = f"feed {feed!r}, key {key!r}: " if key else (f"feed {feed!r}: " if feed else "")
        super().__init__(f"feed catalog {path}: {where}{message}")
        self.feed = feed
        self.key = key


@dataclass(frozen=True)
class Feed:
    """One feed of the catalog, checked and with every default filled in."""

    name: str
    outlet: str  # the outlet name, or "auto": each article's own outlet decides
    category: str  # "" with outlet "auto"
    start_urls: tuple[str, ...] = ()
    list_api: str = ""
    share_link: re.Pattern[str] = re.compile(DEFAULT_SHARE_LINK)
    share_url: str = ""
    next_page: str = "a[rel=next]::attr(href)"
    max_pages: int = 5
    timezone: ZoneInfo = DEFAULT_TIMEZONE
    encoding: str = ""
    article: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_SELECTORS))
    api: str = ""
    api_fields: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_API_FIELDS))
    list_records: str = "records"
    list_fields: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_LIST_FIELDS))
    outlets: frozenset[str] = frozenset()
    drop: tuple[str, ...] = ()
    cleaning: str = DEFAULT_RULES  # the source's markup rules (crawler.cleaning.rules)
    post: str = "outlet"  # one of POST_KINDS
    pinyin: str = DEFAULT_READING  # how outlet names become slugs (crawler.source.slug)

    @property
    def paged(self) -> bool:
        """Whether the listing has more than one page (a list_api without
        {page} is one page: the newest records the endpoint gives)."""
        return not self.list_api or "{page}" in self.list_api

    @property
    def rolling(self) -> bool:
        return self.post == "rolling"

    @property
    def auto_outlet(self) -> bool:
        return self.outlet == AUTO_OUTLET

    def wants_outlet(self, outlet: str | None) -> bool:
        """Whether an article of ``outlet`` belongs to this feed (``outlets``)."""
        return not self.outlets or (outlet or "").strip() in self.outlets

    @property
    def fingerprint(self) -> str:
        """A digest of what decides whether an article of the feed is good:
        selectors and keys, ``drop``, encoding, zone, outlets (not its URLs
        or paging). The articles it dropped are tried again once it changes."""
        judged = {
            "outlet": self.outlet, "category": self.category,
            "share_link": self.share_link.pattern, "timezone": str(self.timezone),
            "encoding": self.encoding, "article": dict(self.article),
            "api_fields": dict(self.api_fields), "list_records": self.list_records,
            "list_fields": dict(self.list_fields), "outlets": sorted(self.outlets),
            "drop": list(self.drop),
        }  # fmt: skip
        if self.cleaning != DEFAULT_RULES:  # the default's digest as before the key existed
            judged["cleaning"] = self.cleaning
        text = json.dumps(judged, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def category_for(self, outlet: str) -> str:
        return self.category if not self.auto_outlet else category_slug(outlet, self.pinyin)

    def outlet_for(self, outlet: str) -> str:
        return self.outlet if not self.auto_outlet else outlet


def default_catalog_path() -> str:
    return str(resources.files("crawler.source").joinpath("feeds.yaml"))


def load_catalog(path: str | Path | None = None, pinyin: str = DEFAULT_READING) -> dict[str, Feed]:
    """Read and check the catalog at ``path`` (the shipped one by default);
    ``pinyin`` is the reading of outlet names in slugs (``MIRROR_PINYIN``)."""
    path = str(path or default_catalog_path())
    try:
        with open(path, encoding="utf-8") as f:
            # libyaml's loader where PyYAML has it: a catalog of 10,000 feeds
            # loads in 1 s, not 6, and without 70 MB of parse nodes at once.
            data = yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except OSError as e:
        raise CatalogError(path, f"cannot be read: {e.strerror}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise CatalogError(path, f"is not valid YAML: {e}") from None
    return parse_catalog(data, path, pinyin)


def parse_catalog(
    data: Any, path: str = "<catalog>", pinyin: str = DEFAULT_READING
) -> dict[str, Feed]:
    if pinyin not in READINGS:
        raise CatalogError(path, f"MIRROR_PINYIN {pinyin!r} is not one of {', '.join(READINGS)}")
    if not isinstance(data, dict) or not isinstance(data.get("feeds"), dict):
        raise CatalogError(path, "must be a mapping with a 'feeds' mapping in it")
    return {
        str(name): _FeedChecker(path, str(name), spec, pinyin).feed()
        for name, spec in data["feeds"].items()
    }


class _FeedChecker:
    def __init__(self, path: str, name: str, spec: Any, pinyin: str = DEFAULT_READING):
        self.path, self.name, self.spec, self.pinyin = path, name, spec, pinyin

    def fail(self, key: str, message: str) -> CatalogError:
        return CatalogError(self.path, message, feed=self.name, key=key)

    def feed(self) -> Feed:
        if not FEED_NAME.fullmatch(self.name):
            raise CatalogError(
                self.path,
                "a feed name is lower-case letters, digits, - and _",
                feed=self.name,
            )
        if not isinstance(self.spec, dict):
            raise CatalogError(self.path, "must be a mapping of keys", feed=self.name)
        unknown = sorted(set(map(str, self.spec)) - KEYS)
        if unknown:
            raise self.fail(unknown[0], "unknown key")
        spec = self.spec
        kw: dict[str, Any] = {"name": self.name, "pinyin": self.pinyin}

        outlet = self.text("outlet", required=True)
        kw["outlet"] = outlet
        category = self.text("category")
        if category and outlet == AUTO_OUTLET:
            raise self.fail("category", "a feed with 'outlet: auto' takes each article's")
        if category and not re.fullmatch(r"[a-z0-9][a-z0-9-]*", category):
            raise self.fail("category", "must be lower-case ASCII letters, digits and -")
        kw["category"] = (
            "" if outlet == AUTO_OUTLET else (category or category_slug(outlet, self.pinyin))
        )
        if outlet != AUTO_OUTLET and not kw["category"]:
            raise self.fail("outlet", "gives no category slug; set 'category'")

        has_start, has_list = "start_urls" in spec, "list_api" in spec
        if has_start == has_list:
            raise self.fail("start_urls", "a feed needs exactly one of 'start_urls' and 'list_api'")
        if has_start:
            urls = self.text_list("start_urls")
            if not urls:
                raise self.fail("start_urls", "must list at least one URL")
            kw["start_urls"] = tuple(self.url(u, "start_urls") for u in urls)
        else:
            kw["list_api"] = self.template("list_api")
            kw["list_records"] = self.text("list_records") or "records"
            kw["list_fields"] = self.mapping("list_fields", LIST_FIELDS, DEFAULT_LIST_FIELDS)
            if not self.text("share_url") and "url" not in kw["list_fields"]:
                raise self.fail(
                    "share_url",
                    "a 'list_api' feed needs 'share_url' or a 'url' in 'list_fields'",
                )

        if "post" in spec:
            kw["post"] = self.text("post")
            if kw["post"] not in POST_KINDS:
                raise self.fail("post", f"must be one of {', '.join(POST_KINDS)}")
        if kw.get("post") == "rolling" and outlet == AUTO_OUTLET:
            raise self.fail("post", "a rolling-news feed has one outlet, not 'auto'")
        if kw.get("post") == "rolling" and not has_list:
            raise self.fail(
                "post", "a rolling-news feed reads a 'list_api' (its records carry the digest)"
            )
        if "share_link" in spec:
            kw["share_link"] = self.share_link()
        if "share_url" in spec:
            kw["share_url"] = self.template("share_url", "{infoCode}")
        if "api" in spec:
            kw["api"] = self.template("api", "{infoCode}")
        if "next_page" in spec:
            kw["next_page"] = self.selector("next_page", self.text("next_page"))
        if "max_pages" in spec:
            value = spec["max_pages"]
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise self.fail("max_pages", "must be a whole number of at least 1")
            kw["max_pages"] = value
        if "timezone" in spec:
            try:
                kw["timezone"] = ZoneInfo(self.text("timezone"))
            except (ZoneInfoNotFoundError, ValueError):
                raise self.fail("timezone", "is not a known time zone") from None
        if "encoding" in spec:
            try:
                kw["encoding"] = codecs.lookup(self.text("encoding")).name
            except LookupError:
                raise self.fail("encoding", "is not a known encoding") from None
        if "article" in spec:
            kw["article"] = self.mapping("article", ARTICLE_FIELDS, DEFAULT_SELECTORS)
            for name, sel in kw["article"].items():
                self.selector(f"article.{name}", sel)
        if "api_fields" in spec:
            kw["api_fields"] = self.mapping("api_fields", ARTICLE_FIELDS, DEFAULT_API_FIELDS)
        if "outlets" in spec:
            kw["outlets"] = frozenset(o.strip() for o in self.text_list("outlets"))
        if "drop" in spec:
            kw["drop"] = tuple(self.selector("drop", sel) for sel in self.text_list("drop"))
        if "cleaning" in spec:
            kw["cleaning"] = self.text("cleaning") or NO_RULES
            try:
                load_rules(kw["cleaning"])
            except ValueError as e:
                raise self.fail("cleaning", str(e)) from None
        return Feed(**kw)

    def text(self, key: str, required: bool = False) -> str:
        value = self.spec.get(key)
        if value is None:
            if required:
                raise self.fail(key, "is required")
            return ""
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            raise self.fail(key, "must be a string")
        value = str(value).strip()
        if required and not value:
            raise self.fail(key, "must not be empty")
        return value

    def text_list(self, key: str) -> list[str]:
        value = self.spec.get(key)
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.fail(key, "must be a list of strings")
        return [v.strip() for v in value]

    def url(self, value: str, key: str) -> str:
        if not re.match(r"https?://[^/\s]+", value):
            raise self.fail(key, f"{value!r} is not an http(s) URL")
        return value

    def template(self, key: str, placeholder: str = "") -> str:
        value = self.url(self.text(key, required=True), key)
        if placeholder and placeholder not in value:
            raise self.fail(key, f"must contain {placeholder}")
        try:
            value.format(infoCode="x", page=1)
        except (KeyError, IndexError, ValueError):
            raise self.fail(key, "may hold no placeholder but {infoCode} and {page}") from None
        return value

    def share_link(self) -> re.Pattern[str]:
        try:
            pattern = re.compile(self.text("share_link", required=True))
        except re.error as e:
            raise self.fail("share_link", f"is not a valid regex: {e}") from None
        if "infoCode" not in pattern.groupindex:
            raise self.fail("share_link", "must capture a named group 'infoCode'")
        return pattern

    def mapping(
        self, key: str, allowed: tuple[str, ...], defaults: Mapping[str, str]
    ) -> dict[str, str]:
        value = self.spec.get(key, {})
        if not isinstance(value, dict):
            raise self.fail(key, "must be a mapping")
        for name, item in value.items():
            if name not in allowed:
                raise self.fail(f"{key}.{name}", f"unknown field; known: {', '.join(allowed)}")
            if not isinstance(item, str) or not item.strip():
                raise self.fail(f"{key}.{name}", "must be a non-empty string")
        return {**defaults, **{k: v.strip() for k, v in value.items()}}

    def selector(self, key: str, css: str) -> str:
        try:
            HTMLTranslator().css_to_xpath(css)
        except SelectorError as e:
            raise self.fail(key, f"{css!r} is not a valid CSS selector: {e}") from None
        return css
