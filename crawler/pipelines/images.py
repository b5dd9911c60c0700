"""``MIRROR_IMAGES = "local"``: the images of each body kept in the mirror (SPEC §10).

The source deletes its images; a mirror that hot-links them loses them. With
``MIRROR_IMAGES = "local"`` this pipeline (Scrapy's ``FilesPipeline``, between
the clean and the write pipelines) downloads each ``<img src>`` of a cleaned
body through the crawl's own downloader (its robots.txt, politeness and
offsite rules), stores it once by content hash under
``{MIRROR_DIR}/assets/images/`` (``{sha256 of the bytes, 32 hex}.{ext}``: the
same image in many posts is one file), and points the post's ``src`` at
``{MIRROR_BASE_URL}/assets/images/…``, as the back-links are.

An image that cannot be had (an error status, a timeout, robots.txt) keeps its
remote URL in the post, which is written as usual: an image never drops its
post, and waits at most ``MIRROR_IMAGES_TIMEOUT`` seconds. It is noted in
``.mirror/images/pending-{feed}.jsonl``; the feed's next run, once it has
nothing else to do, asks for it again and, if it comes, stores it and points
the post at it (the post rewritten atomically).

The default, ``remote``, leaves the pipeline out: posts hot-link their images,
byte for byte as the finews mirror wrote them.
"""

from __future__ import annotations

import hashlib
import html
import json
import logging
import mimetypes
import re
from io import BytesIO
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider, NotConfigured
from scrapy.http import Response
from scrapy.http.request import NO_CALLBACK
from scrapy.pipelines.files import FilesPipeline
from scrapy.utils.defer import deferred_from_coro

from crawler.items import Article
from crawler.mirror.archive import write_atomic
from crawler.mirror.images import IMAGES_DIR, image_sources, point_at
from crawler.mirror.paths import IMAGES_PENDING_DIR, STATE_DIR
from crawler.mirror.reader import FOLDERS
from crawler.perfeed import feed_stats
from crawler.pipelines.write import post_of

logger = logging.getLogger(__name__)

__all__ = ["LocalImagesPipeline"]


def _extension(response: Response, url: str) -> str:
    kind = (response.headers.get(b"Content-Type") or b"").decode("latin-1").split(";")[0]
    guessed = mimetypes.guess_extension(kind.strip()) if kind else None
    if guessed:
        return ".jpg" if guessed == ".jpe" else guessed
    suffix = Path(urlsplit(url).path).suffix.lower()
    return suffix if re.fullmatch(r"\.[a-z0-9]{1,5}", suffix) else ""


class LocalImagesPipeline(FilesPipeline):
    def __init__(self, store_uri: str, *, crawler: Crawler):
        super().__init__(store_uri, crawler=crawler)
        settings = crawler.settings
        self.crawler = crawler
        self.root = Path(settings.get("MIRROR_DIR"))
        self.base_url = (settings.get("MIRROR_BASE_URL") or "").rstrip("/")
        self.timeout = settings.getfloat("MIRROR_IMAGES_TIMEOUT")
        self.feeds: list[str] = []  # the feeds the spider crawls: their images pending
        self.retrying = False
        crawler.signals.connect(self.spider_idle, signal=signals.spider_idle)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> LocalImagesPipeline:
        mode = crawler.settings.get("MIRROR_IMAGES") or "remote"
        if mode == "remote":
            raise NotConfigured("MIRROR_IMAGES is remote: posts hot-link their images")
        if mode != "local":
            raise NotConfigured(f"MIRROR_IMAGES must be 'remote' or 'local', not {mode!r}")
        store = Path(crawler.settings.get("MIRROR_DIR")).resolve() / IMAGES_DIR
        return cls(str(store), crawler=crawler)

    def open_spider(self, spider: Spider | None = None) -> None:
        assert self.crawler.spider is not None
        spider = self.crawler.spider
        self.feeds = list(getattr(spider, "feed_names", None) or [spider.name or ""])
        super().open_spider()

    def pending_path(self, feed: str) -> Path:
        return self.root / STATE_DIR / IMAGES_PENDING_DIR / f"pending-{feed}.jsonl"

    # --- one article's images, before its post is written -------------------

    def image_request(self, source: str) -> Request | None:
        url = html.unescape(source)
        if urlsplit(url).scheme not in ("http", "https"):
            return None  # local already, or nothing to fetch
        return Request(
            url, callback=NO_CALLBACK, meta={"download_timeout": self.timeout}, dont_filter=True
        )

    def get_media_requests(self, item: Any, info: Any) -> list[Request]:
        if not isinstance(item, Article) or not item.body:
            return []
        return [r for s in image_sources(item.body) if (r := self.image_request(s))]

    def file_path(
        self,
        request: Request,
        response: Response | None = None,
        info: Any = None,
        *,
        item: Any = None,
    ) -> str:
        if response is None:  # asked before the download: never "already stored"
            return f".unknown/{hashlib.sha1(request.url.encode()).hexdigest()}"
        digest = hashlib.sha256(response.body).hexdigest()[:32]
        return f"{digest}{_extension(response, request.url)}"

    def local_src(self, path: str) -> str:
        return f"{self.base_url}/{IMAGES_DIR}/{path}"

    def item_completed(self, results: list, item: Any, info: Any) -> Any:
        if not isinstance(item, Article) or not item.body:
            return item
        requested = [s for s in image_sources(item.body) if self.image_request(s)]
        stats = feed_stats(self.crawler, item.feed)
        local: dict[str, str] = {}
        failed: list[str] = []
        for source, (ok, value) in zip(requested, results, strict=False):
            if ok:
                local[source] = self.local_src(value["path"])
                stats.inc("images/local")
            else:
                failed.append(source)
                stats.inc("images/failed")
        if local:
            item.body = point_at(item.body, local)
        if failed:
            self.note_pending(item, failed)
        return item

    def note_pending(self, item: Article, sources: list[str]) -> None:
        filename = post_of(item).filename
        lines = "".join(json.dumps({"post": filename, "src": s}) + "\n" for s in sources)
        pending = self.pending_path(item.feed)
        try:
            pending.parent.mkdir(parents=True, exist_ok=True)
            with pending.open("a", encoding="utf-8") as f:
                f.write(lines)
        except OSError as e:
            logger.error("Cannot note images to fetch again in %s: %s", pending, e)
        for source in sources:
            logger.warning(
                "Image %s of post %s (feed %s) could not be downloaded: the post keeps "
                "its remote URL; the next run tries again",
                html.unescape(source),
                filename,
                item.feed,
            )

    # --- the images earlier runs could not have -----------------------------

    def spider_idle(self) -> None:
        if self.retrying:
            return
        pending = [feed for feed in self.feeds if self.pending_path(feed).exists()]
        if not pending:
            return
        self.retrying = True
        deferred_from_coro(self.retry_feeds(pending))
        raise DontCloseSpider

    async def retry_feeds(self, feeds: list[str]) -> None:
        for feed in feeds:
            await self.retry_pending(feed)

    def read_pending(self, feed: str) -> list[tuple[str, str]]:
        entries: dict[tuple[str, str], None] = {}
        try:
            text = self.pending_path(feed).read_text("utf-8")
        except OSError:
            return []
        for line in text.splitlines():
            try:
                entry = json.loads(line)
                entries[(str(entry["post"]), str(entry["src"]))] = None
            except (ValueError, KeyError, TypeError):
                continue  # a line cut short by a crash
        return list(entries)

    async def retry_pending(self, feed: str) -> None:
        stats = feed_stats(self.crawler, feed)
        assert self.crawler.engine is not None
        entries = self.read_pending(feed)
        still: list[tuple[str, str]] = []
        got: dict[str, dict[str, str]] = {}
        for post, source in entries:
            request = self.image_request(source)
            if request is None:
                continue
            try:
                response = await self.crawler.engine.download_async(request)
            except Exception as e:
                logger.info("Image %s still cannot be downloaded: %s", request.url, e)
                still.append((post, source))
                continue
            if response.status != 200:
                still.append((post, source))
                continue
            path = self.file_path(request, response)
            try:
                self.store.persist_file(path, BytesIO(response.body), None)  # type: ignore[arg-type]
            except OSError as e:
                logger.error("Cannot store image %s: %s", request.url, e)
                still.append((post, source))
                continue
            got.setdefault(post, {})[source] = self.local_src(path)
            stats.inc("images/retried")
        for post, sources in got.items():
            if not self.rewrite(post, sources):
                still.extend((post, s) for s in sources)
        lines = "".join(json.dumps({"post": p, "src": s}) + "\n" for p, s in still)
        pending = self.pending_path(feed)
        try:
            if lines:
                write_atomic(pending, lines)
            else:
                pending.unlink(missing_ok=True)
        except OSError as e:
            logger.error("Cannot update %s: %s", pending, e)

    def rewrite(self, filename: str, sources: dict[str, str]) -> bool:
        """Point the post ``filename`` (in ``_posts/`` or ``old_post/``) at its local images."""
        for folder in FOLDERS:
            path = self.root / folder / filename
            try:
                text = path.read_text("utf-8")
            except FileNotFoundError:
                continue
            except OSError as e:
                logger.error("Cannot read %s to point it at its images: %s", path, e)
                return False
            try:
                write_atomic(path, point_at(text, sources))
            except OSError as e:
                logger.error("Cannot point %s at its images: %s", path, e)
                return False
            logger.info("Post %s now shows %d image(s) from the mirror", path, len(sources))
            return True
        return True  # the post is gone: nothing to point
