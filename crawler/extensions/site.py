"""Keeps the mirror buildable by Jekyll: installs the site's files, adds category feeds.

On spider open it installs the site's files into ``MIRROR_DIR``
(:meth:`crawler.mirror.jekyll.JekyllSite.install`: ``_config.yml`` once, layouts
kept up to date unless the user edited them); for each category an article
is mirrored under, it adds the category's Atom feed page. Off with
``MIRROR_SITE_ENABLED = False``. ``MIRROR_SITE_TITLE`` and
``MIRROR_SITE_DESCRIPTION`` only seed ``_config.yml``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from crawler.items import Article
from crawler.mirror.jekyll import JekyllSite
from crawler.perfeed import feed_stats
from crawler.process import process_of

logger = logging.getLogger(__name__)


class SiteFiles:
    def __init__(self, crawler: Crawler, site: JekyllSite):
        self.crawler = crawler
        self.site = site
        self.failed = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SiteFiles:
        settings = crawler.settings
        if not settings.getbool("MIRROR_SITE_ENABLED", True):
            raise NotConfigured("MIRROR_SITE_ENABLED is off")
        root = Path(settings.get("MIRROR_DIR")).resolve()
        # One site per mirror folder per process (a fleet runs a crawler per feed).
        site = process_of(crawler).keep("jekyll-site", str(root), lambda: JekyllSite(
            root,
            title=settings.get("MIRROR_SITE_TITLE") or "新闻镜像",
            description=settings.get("MIRROR_SITE_DESCRIPTION") or "",
            base_url=settings.get("MIRROR_BASE_URL") or "",
        ))  # fmt: skip
        ext = cls(crawler, site)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.item_scraped, signal=signals.item_scraped)
        return ext

    def spider_opened(self, spider: Spider) -> None:
        if self.site.installed is not None or self.failed:
            return
        try:
            report = self.site.install()
        except OSError as e:
            self.fail(e)
            return
        stats = self.crawler.stats
        assert stats is not None
        for outcome in ("installed", "updated", "kept"):
            if getattr(report, outcome):
                stats.set_value(f"mirror/site/{outcome}", len(getattr(report, outcome)))

    def item_scraped(self, item: Any) -> None:
        if not isinstance(item, Article) or not item.category or self.failed:
            return
        try:
            if self.site.add_feed(item.category, item.outlet or item.category):
                assert self.crawler.stats is not None
                self.crawler.stats.inc_value("mirror/site/feeds")
        except OSError as e:
            self.fail(e, item.feed)

    def fail(self, error: OSError, feed: str = "") -> None:
        """Counted as an error of the feed whose post met it, or of the crawl
        (``mirror/errors/site``) when the files are installed at its start."""
        self.failed = True
        assert self.crawler.stats is not None
        if feed:
            feed_stats(self.crawler, feed).inc("errors/site")
        else:
            self.crawler.stats.inc_value("mirror/errors/site")
        logger.error(
            "Cannot write the site's files in %s: %s (%s); the posts are unaffected",
            self.site.root,
            error.strerror or error,
            error.filename or "",
        )
