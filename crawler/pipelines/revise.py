"""The write pipeline's side of revisits (SPEC §9).

:class:`Reviser` puts each new post on the revisit schedule
(:mod:`crawler.mirror.revisits`) and, for a revisit's article, compares it
with the post and records a revision (:mod:`crawler.mirror.revisions`), says
so (:data:`crawler.signals.post_revised`: the capture keeps the revisit's
response as the post's ``revision`` record), then writes the site's pages of
it (:mod:`crawler.mirror.revisionsite`).

Stats, per feed (``mirror/<feed>/…``): ``mirror/revisits`` (answered, counted by the spider),
``mirror/revisions`` (found), ``mirror/revisits/unchanged``,
``mirror/revisits/other_fields`` (date or outlet alone changed: logged, not a
revision), ``mirror/revisits/gone`` (the post file is no longer there, or
the source answers 4xx: that age is done), ``mirror/revisits/failed`` (no
answer: due again next run).
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from pathlib import Path

from scrapy.crawler import Crawler

from crawler.items import Article
from crawler.mirror import revisionsite
from crawler.mirror.archive import FormatError, Post, read, render
from crawler.mirror.revisions import compare, find_post, record
from crawler.mirror.revisits import Scheduled, revisit_schedule
from crawler.mirror.rotation import now_from_settings
from crawler.perfeed import feed_stats
from crawler.signals import post_revised

logger = logging.getLogger(__name__)


class Reviser:
    def __init__(self, crawler: Crawler):
        settings = crawler.settings
        self.crawler = crawler
        self.root = Path(settings.get("MIRROR_DIR"))
        self.base_url = settings.get("MIRROR_BASE_URL")
        self.durable = settings.getbool("MIRROR_FSYNC")
        self.site = settings.getbool("MIRROR_SITE_ENABLED")
        self.revisits = revisit_schedule(crawler)  # the spider's too
        # MIRROR_NOW (tests) read once: parsing it per post cost more than the post's line
        self.clock = now_from_settings(settings) if settings.get("MIRROR_NOW") else None

    def now(self) -> float:
        return self.clock.timestamp() if self.clock else time.time()

    def schedule(self, item: Article, post: Post) -> None:
        """Put the post just written on the revisit schedule."""
        if self.revisits is None:
            return
        try:
            self.revisits.add(Scheduled(
                info_code=post.info_code, feed=item.feed, first=self.now(), url=item.url,
                share_url=item.share_url, post=post.filename, fields=dict(item.listing),
            ))  # fmt: skip
        except OSError as e:  # the post is safe; only its revisits are lost
            logger.warning(
                "Cannot put post %s of feed %s on the revisit schedule: %s",
                post.info_code,
                item.feed,
                e.strerror or e,
            )

    def revise(self, item: Article, fetched: Post) -> None:
        """Compare a revisit's article with its post; record a revision if it
        differs (OSError: the mirror cannot take it)."""
        stats = feed_stats(self.crawler, item.feed)
        path = find_post(self.root, item.revisit)
        if path is None:
            stats.inc("revisits/gone")
            logger.warning(
                "Revisited article %s of feed %s has no post %s any more: nothing to revise",
                item.info_code,
                item.feed,
                item.revisit,
            )
            return
        try:
            current = read(path)
        except FormatError as e:
            stats.inc("revisits/unreadable")
            logger.error("Revisited article %s of feed %s: %s", item.info_code, item.feed, e)
            return
        found = compare(current, fetched)
        if found.other:
            stats.inc("revisits/other_fields")
            logger.info(
                "Revisited article %s of feed %s: its %s changed (%s), kept as first fetched "
                "(not a revision) <%s>",
                item.info_code,
                item.feed,
                " and ".join(found.other),
                "; ".join(f"{getattr(current, n)} → {getattr(fetched, n)}" for n in found.other),
                item.url,
            )
        if not found.revised:
            stats.inc("revisits/unchanged")
            return
        # The post keeps its file (date) and category (outlet): its URL stays.
        new = replace(current, title=fetched.title, body=fetched.body, path=None)
        when = now_from_settings(self.crawler.settings)
        kept = record(path, item.info_code, render(new, self.base_url), when, self.durable)
        stats.inc("revisions")
        logger.info(
            "Revised article %s of feed %s: its %s changed; the earlier version is kept as %s",
            item.info_code,
            item.feed,
            " and ".join(n for n, d in (("title", found.title), ("body", found.body)) if d),
            kept,
        )
        self.crawler.signals.send_catch_log(signal=post_revised, item=item, path=path)
        if self.site:
            try:
                revisionsite.publish(self.root, item.info_code, path)
            except FormatError as e:  # an earlier version edited by hand: scrapy verify says more
                stats.inc("errors/site")
                logger.error(
                    "Cannot write the site pages of the revisions of %s: %s", item.info_code, e
                )
