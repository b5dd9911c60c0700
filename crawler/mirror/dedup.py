"""Dedup on infoCode (SPEC §4): what is mirrored is fetched and written once, ever.

:class:`DedupStore` is the one interface the spiders and the writer use.
:class:`FileDedupStore` keeps it beside the mirror on one host; a fleet of
workers uses the Redis store instead (:class:`crawler.fleet.store.RedisDedupStore`,
which the fleet add-on names in ``MIRROR_DEDUP_STORE``, SPEC §8); any class
with ``from_crawler`` may stand in (:func:`dedup_store`).

The post files are the truth. The store adds to them an append-only index
(``.mirror/index``) that lets several processes writing one mirror see each
other's posts without listing the folders again, and remembers articles
dropped as bad so that they are not fetched again on every run. A missing or
damaged index is rebuilt from the post file names (never by parsing posts).

Its length: the interface, :func:`dedup_store` and the file store stay one
module because the file store *is* the index's format (load, repair, catch
up, append under one lock); split, its invariants would span two files.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, suppress
from pathlib import Path

from scrapy.crawler import Crawler
from scrapy.utils.misc import build_from_crawler, load_object

from crawler.mirror.archive import OLD_POSTS_DIR, POSTS_DIR, info_code_of, is_stale_temp, post_names
from crawler.mirror.images import IMAGES_DIR
from crawler.mirror.lock import FileLock
from crawler.mirror.paths import (
    CAPTURE_DIR,
    INDEX_FILE,
    INDEX_LOCK_FILE,
    LOGS_DIR,
    STATE_DIR,
    WALKED_DIR,
    WALKS_DIR,
)
from crawler.mirror.revisions import REVISIONS_DIR
from crawler.process import acquire_for

logger = logging.getLogger(__name__)

# Folders of a mirror (relative to it) where no process of the project makes
# a temporary file, or where it sweeps its own (revisions): not walked at
# each start, some being large (rotated posts, images, the built site).
NOT_SWEPT = frozenset({
    OLD_POSTS_DIR, REVISIONS_DIR, "_site", ".git", ".jekyll-cache", IMAGES_DIR,
    f"{STATE_DIR}/{CAPTURE_DIR}", f"{STATE_DIR}/{LOGS_DIR}",
})  # fmt: skip


class DedupStore(ABC):
    """What is mirrored, what is being fetched, and the state of listing walks."""

    @abstractmethod
    def refresh(self) -> None:
        """Catch up with what other processes have mirrored meanwhile."""

    @abstractmethod
    def is_known(self, info_code: str) -> bool:
        """Whether the article is mirrored (or was dropped as bad too recently)."""

    @abstractmethod
    def claim(self, info_code: str) -> bool:
        """Reserve an article for fetching; False if known or already claimed."""

    @abstractmethod
    def release(self, info_code: str) -> None:
        """Give a claim back: the fetch produced no post (error, filtered out)."""

    @abstractmethod
    def forget_drop(self, info_code: str, feed: str = "") -> None:
        """Give a claim back and remember the article as dropped for a while
        (by ``feed``, with the fingerprint of its catalog entry)."""

    def use_catalog_entry(self, feed: str, fingerprint: str) -> None:  # noqa: B027
        """The feed's catalog entry as this run has it: what the feed dropped
        under another entry is tried again (see :attr:`Feed.fingerprint`)."""

    def held_back(self, info_code: str) -> bool:
        """Whether the article is known only as dropped as bad, not as mirrored."""
        return False

    @abstractmethod
    def commit(self, info_code: str, write: Callable[[], Path]) -> Path | None:
        """Call ``write`` unless the article is mirrored already; record the post.

        Returns the written path, or None when another worker wrote it first.
        """

    @abstractmethod
    def begin_walk(self, feed: str) -> bool:
        """Mark a listing walk as started; True if it must page on past known
        pages: the last one was cut short, or none of the feed's has finished
        (a new feed's first walk backfills, whatever other feeds mirrored)."""

    @abstractmethod
    def end_walk(self, feed: str) -> None:
        """Mark the feed's listing walk as completed."""

    def first_walk(self, feed: str) -> bool:
        """Whether no listing walk of the feed has ever finished (for the log)."""
        return False

    def close(self) -> None:  # noqa: B027 - optional for stores
        """Release what the store holds."""


class FileDedupStore(DedupStore):
    """The dedup state of a mirror folder on this host."""

    def __init__(self, mirror_dir: str | Path, retry_dropped_hours: float = 24):
        self.root = Path(mirror_dir)
        self.state = self.root / STATE_DIR
        self.index_path = self.state / INDEX_FILE
        self.retry_dropped = retry_dropped_hours * 3600
        self._mirrored: set[str] = set()
        self._dropped: dict[str, tuple[float, str]] = {}  # when, by "feed@fingerprint"
        self._entries: dict[str, str] = {}  # feed -> fingerprint of its catalog entry now
        self._claimed: set[str] = set()
        self._offset = 0
        self._mutex = threading.Lock()
        self.state.mkdir(parents=True, exist_ok=True)
        (self.state / WALKS_DIR).mkdir(exist_ok=True)
        (self.state / WALKED_DIR).mkdir(exist_ok=True)
        self._lock_file = FileLock(self.state / INDEX_LOCK_FILE, self._mutex)
        with self.locked():
            self._load()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FileDedupStore:
        settings = crawler.settings
        return cls(settings.get("MIRROR_DIR"), settings.getfloat("MIRROR_RETRY_DROPPED_HOURS"))

    # -- the index ----------------------------------------------------------
    def locked(self) -> AbstractContextManager[None]:
        """Hold the mirror's write lock (shared by every process on the folder)."""
        return self._lock_file.held()

    def _load(self) -> None:
        self._remove_stale_temps()
        self._cut_partial_line()
        on_disk = set(self._scan_posts())
        try:
            ok = self._read_index()
        except FileNotFoundError:
            ok = False
            if on_disk:
                logger.warning(
                    "Dedup index %s is missing: rebuilding it from %d post files",
                    self.index_path,
                    len(on_disk),
                )
        if not ok:
            self._rebuild(on_disk)
            return
        missing = on_disk - self._mirrored
        if missing:
            # A post written by a process killed before it could index it.
            logger.warning(
                "Dedup index %s lacks %d mirrored posts: adding them",
                self.index_path,
                len(missing),
            )
            self._append("".join(f"{code}\tm\n" for code in sorted(missing)))
            self._mirrored |= missing
        self._mirrored |= on_disk

    def _remove_stale_temps(self) -> None:
        """Temporary files of processes killed mid-write (their writer is dead):
        posts, category and site pages, state files, anywhere in the mirror
        but the folders no temporary file is made in (:data:`NOT_SWEPT`)."""
        stale = []
        for folder, dirs, files in os.walk(self.root):
            under = os.path.relpath(folder, self.root)
            dirs[:] = [d for d in dirs if os.path.normpath(os.path.join(under, d)) not in NOT_SWEPT]
            stale += [
                path
                for name in files
                if name.startswith(".")
                and name.endswith(".tmp")
                and is_stale_temp(path := Path(folder, name))
            ]
        for path in stale:
            try:
                path.unlink()
            except OSError as e:
                logger.warning("Cannot remove a stale temporary file %s: %s", path, e.strerror)
        if stale:
            logger.info(
                "Removed %d temporary files left in %s by a process that was killed",
                len(stale),
                self.root,
            )

    def _cut_partial_line(self) -> None:
        """An index line without its newline is the half-append of a killed crawl."""
        try:
            with open(self.index_path, "rb") as f:
                data = f.read()
            end = data.rfind(b"\n") + 1
            if end == len(data):
                return
            with open(self.index_path, "r+b") as f:
                f.truncate(end)
        except FileNotFoundError:
            return
        except OSError as e:
            logger.warning("Cannot repair dedup index %s: %s", self.index_path, e.strerror)
            return
        logger.warning(
            "Dedup index %s ended in half a line (%r), from a crawl killed while writing it: "
            "cut it off",
            self.index_path,
            data[end:][:80],
        )

    def _scan_posts(self) -> Iterator[str]:
        for folder in (POSTS_DIR, OLD_POSTS_DIR):
            for name in post_names(self.root / folder):
                yield name[11:-3]  # YYYY-MM-DD-{infoCode}.md

    def _read_index(self) -> bool:
        """Read index lines from the last offset on; False if the index is damaged."""
        if os.stat(self.index_path).st_size == self._offset:
            return True  # nothing new (one system call, where reading it takes four)
        with open(self.index_path, "rb") as f:
            f.seek(self._offset)
            data = f.read()
        end = data.rfind(b"\n") + 1  # a line still being written waits
        try:
            lines = data[:end].decode("utf-8").splitlines()
        except UnicodeDecodeError:
            logger.warning("Dedup index %s is damaged: rebuilding it", self.index_path)
            return False
        for line in lines:
            fields = line.split("\t")
            if len(fields) >= 2 and fields[1] == "m" and info_code_of(f"0000-00-00-{fields[0]}.md"):
                self._mirrored.add(fields[0])
                self._dropped.pop(fields[0], None)
            elif len(fields) in (3, 4) and fields[1] == "d":
                try:
                    self._dropped[fields[0]] = (float(fields[2]), "".join(fields[3:]))
                except ValueError:
                    return self._damaged(line)
            else:
                return self._damaged(line)
        self._offset += end
        return True

    def _damaged(self, line: str) -> bool:
        logger.warning(
            "Dedup index %s is damaged (line %r): rebuilding it from the post files",
            self.index_path,
            line[:80],
        )
        return False

    def _rebuild(self, codes: set[str]) -> None:
        tmp = self.index_path.with_suffix(".tmp")
        tmp.write_text("".join(f"{code}\tm\n" for code in sorted(codes)), "utf-8")
        os.replace(tmp, self.index_path)
        self._mirrored, self._dropped = set(codes), {}
        self._offset = self.index_path.stat().st_size

    def _append(self, text: str) -> None:
        """Append whole lines, or nothing: a failed write (disk full) is taken back."""
        data = text.encode("utf-8")
        fd = os.open(self.index_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            start = os.lseek(fd, 0, os.SEEK_END)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
            except OSError as e:
                with suppress(OSError):
                    os.ftruncate(fd, start)
                raise OSError(e.errno, e.strerror, str(self.index_path)) from e
            self._offset = start + len(data)
        finally:
            os.close(fd)

    # -- DedupStore ---------------------------------------------------------
    def refresh(self) -> None:
        with self.locked():
            self._catch_up()

    def _catch_up(self) -> None:
        try:
            ok = self._read_index()
        except FileNotFoundError:
            logger.warning("Dedup index %s vanished: rebuilding it", self.index_path)
            ok = False
        if not ok:
            codes = set(self._scan_posts()) | self._mirrored
            try:
                self._rebuild(codes)
            except OSError as e:  # the posts are the truth: go on from them
                self._mirrored = codes
                logger.warning("Cannot rebuild dedup index %s: %s", self.index_path, e.strerror)

    def is_known(self, info_code: str) -> bool:
        return info_code in self._mirrored or self.held_back(info_code)

    def held_back(self, info_code: str) -> bool:
        if self.retry_dropped <= 0 or info_code in self._mirrored:
            return False
        dropped = self._dropped.get(info_code)
        if dropped is None:
            return False
        when, by = dropped
        feed, _, fingerprint = by.rpartition("@")
        if feed in self._entries and self._entries[feed] != fingerprint:
            return False  # dropped under another catalog entry: try it again
        return time.time() < when + self.retry_dropped

    def use_catalog_entry(self, feed: str, fingerprint: str) -> None:
        self._entries[feed] = fingerprint

    def claim(self, info_code: str) -> bool:
        with self._mutex:
            if info_code in self._claimed or self.is_known(info_code):
                return False
            self._claimed.add(info_code)
            return True

    def release(self, info_code: str) -> None:
        with self._mutex:
            self._claimed.discard(info_code)

    def forget_drop(self, info_code: str, feed: str = "") -> None:
        if self.retry_dropped > 0:
            now = time.time()
            by = f"{feed}@{self._entries[feed]}" if feed in self._entries else ""
            try:
                with self.locked():
                    self._catch_up()  # appending moves the offset past others' lines
                    tag = f"\t{by}" if by else ""
                    self._append(f"{info_code}\td\t{int(now)}{tag}\n")  # rounded down
            except OSError as e:  # only a refetch is lost: not worth stopping for
                logger.warning(
                    "Cannot record dropped article %s in %s: %s",
                    info_code,
                    e.filename or self.index_path,
                    e.strerror or e,
                )
            self._dropped[info_code] = (now, by)
        self.release(info_code)

    def commit(self, info_code: str, write: Callable[[], Path]) -> Path | None:
        with self.locked():
            self._catch_up()
            if info_code in self._mirrored:
                return None
            path = write()
            self._mirrored.add(info_code)  # written: even if indexing it fails below
            self._dropped.pop(info_code, None)
            self._append(f"{info_code}\tm\n")
        self._claimed.discard(info_code)
        return path

    def _walk_marker(self, feed: str) -> Path:
        return self.state / WALKS_DIR / feed

    def begin_walk(self, feed: str) -> bool:
        marker = self._walk_marker(feed)
        cut_short = marker.exists()
        try:
            marker.write_text(f"{os.getpid()} {time.time():.0f}\n")
        except OSError as e:  # the posts will fail to write too, and say so
            logger.warning("Cannot mark the walk of feed %s in %s: %s", feed, marker, e.strerror)
        return cut_short or not (self.state / WALKED_DIR / feed).exists()

    def first_walk(self, feed: str) -> bool:
        return not (self.state / WALKED_DIR / feed).exists()

    def end_walk(self, feed: str) -> None:
        marker = self._walk_marker(feed)
        try:
            (self.state / WALKED_DIR / feed).touch()
            marker.unlink(missing_ok=True)
        except OSError as e:
            logger.warning(
                "Cannot mark the walk of feed %s done in %s: %s", feed, marker, e.strerror
            )

    def close(self) -> None:
        self._lock_file.close()

    def __len__(self) -> int:
        return len(self._mirrored)

    def known_codes(self) -> set[str]:
        """Every infoCode mirrored in the folder (a fleet seeds Redis with them)."""
        self.refresh()
        with self._mutex:
            return set(self._mirrored)


def dedup_store(crawler: Crawler) -> DedupStore:
    """The dedup store of ``crawler``: one object, however many of its
    components ask (the spider claims, the writer commits).

    Its class is ``MIRROR_DEDUP_STORE`` (built with ``from_crawler``, as
    Scrapy builds its components); the crawlers of one process on the same
    mirror folder share one (:class:`crawler.process.MirrorProcess`), closed
    when the last of them stops.
    """
    store: DedupStore | None = getattr(crawler, "dedup_store", None)
    if store is not None:
        return store
    path = crawler.settings.get("MIRROR_DEDUP_STORE")
    cls = load_object(path)
    key = f"{path}|{Path(crawler.settings.get('MIRROR_DIR')).resolve()}"
    made = acquire_for(crawler, "dedup-store", key, lambda: build_from_crawler(cls, crawler))
    crawler.dedup_store = made  # type: ignore[attr-defined]
    return made
