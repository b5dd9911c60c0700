"""Retention (SPEC §3.4): old posts move from ``_posts/`` to ``old_post/``.

A post's age is read from its file name, whose date is the publication date
in the feed's time zone; no post is opened. A post dated ``D`` moves once
today's date (in the feeds' time zone) is later than ``D + MIRROR_KEEP_DAYS``:
with the default of 3, the posts of today and of the three days before stay.
When the catalog's feeds live in several zones, "today" is the earliest of
their dates, so that no post moves early in its own zone.

Each move is one ``rename(2)`` within the mirror, so a post is always in
exactly one of the two folders, whenever the process dies. Should a copy
already be in ``old_post/`` (copied there by hand, or restored from a
backup), the one in ``_posts/`` is removed once both are the same bytes, and
both are kept, with a warning, if they differ.

Dedup knows both folders, so a rotated post is never fetched or written again.
"""

from __future__ import annotations

import contextlib
import filecmp
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path

from scrapy.settings import BaseSettings

from crawler.mirror.archive import OLD_POSTS_DIR, POSTS_DIR, post_names, sync_dir
from crawler.source.catalog import load_catalog
from crawler.text import plural

logger = logging.getLogger(__name__)


def now_from_settings(settings: BaseSettings) -> datetime:
    """The clock: ``MIRROR_NOW`` (ISO 8601, for tests) or the real time."""
    fixed = settings.get("MIRROR_NOW")
    if not fixed:
        return datetime.now().astimezone()
    try:
        when = datetime.fromisoformat(str(fixed))
    except ValueError:
        raise ValueError(f"MIRROR_NOW {fixed!r} is not an ISO 8601 time") from None
    return when if when.tzinfo else when.astimezone()


@dataclass
class RotationResult:
    moved: int = 0
    removed_duplicates: int = 0
    conflicts: int = 0
    kept: int = 0
    cutoff: date | None = None  # posts dated before this moved

    def line(self, keep_days: int) -> str:
        text = (
            f"Rotation: {self.moved} post{'' if self.moved == 1 else 's'} older than "
            f"{keep_days} day{'' if keep_days == 1 else 's'} moved to "
            f"{OLD_POSTS_DIR}/ (dated before {self.cutoff}), {self.kept} stay in {POSTS_DIR}/"
        )
        if self.removed_duplicates:
            text += (
                f"; {plural(self.removed_duplicates, 'left-over copy', 'left-over copies')} removed"
            )
        if self.conflicts:
            text += f"; {plural(self.conflicts, 'post')} in both folders differ, kept both"
        return text


class Rotation:
    """Moves the posts past the retention window of one mirror folder."""

    def __init__(
        self,
        mirror_dir: str | Path,
        keep_days: int,
        zones: Iterable[tzinfo],
        now: datetime | None = None,
    ):
        if keep_days < 0:
            raise ValueError(f"MIRROR_KEEP_DAYS must not be negative, not {keep_days}")
        self.root = Path(mirror_dir)
        self.keep_days = keep_days
        self.zones = list(zones)
        self.now = now or datetime.now().astimezone()

    @classmethod
    def from_settings(
        cls, settings: BaseSettings, zones: Iterable[tzinfo] | None = None
    ) -> Rotation:
        """The rotation of the settings' mirror, in the zones of its catalog's feeds."""
        if zones is None:
            feeds = load_catalog(settings.get("NEWS_FEEDS_FILE") or None)
            zones = {feed.timezone for feed in feeds.values()}
        return cls(
            settings.get("MIRROR_DIR"),
            settings.getint("MIRROR_KEEP_DAYS"),
            zones,
            now_from_settings(settings),
        )

    def today(self) -> date:
        if not self.zones:
            return self.now.date()
        return min(self.now.astimezone(zone).date() for zone in self.zones)

    def cutoff(self) -> date:
        """Posts dated before this day move."""
        return self.today() - timedelta(days=self.keep_days)

    def rotate(self) -> RotationResult:
        cutoff = self.cutoff()
        result = RotationResult(cutoff=cutoff)
        first_kept = cutoff.isoformat()  # names start with the date: compare text
        posts, old = self.root / POSTS_DIR, self.root / OLD_POSTS_DIR
        due: list[str] = []
        for name in post_names(posts):
            if name[:10] < first_kept:
                due.append(name)
            else:
                result.kept += 1
        if not due:
            return result
        old.mkdir(exist_ok=True)
        for name in due:
            # FileNotFoundError: moved meanwhile by another rotation (a fleet takes no lock)
            with contextlib.suppress(FileNotFoundError):
                self._move(posts / name, old / name, result)
        for folder in (posts, old):
            sync_dir(folder)
        logger.info(result.line(self.keep_days))
        return result

    def _move(self, src: Path, dst: Path, result: RotationResult) -> None:
        if dst.exists():
            if os.path.samefile(src, dst) or filecmp.cmp(src, dst, shallow=False):
                src.unlink()
                result.removed_duplicates += 1
                logger.info("Removed %s: the same post is in %s already", src, dst)
            else:
                result.conflicts += 1
                result.kept += 1
                logger.warning(
                    "Post %s is also in %s with other content: keeping both", src.name, dst.parent
                )
            return
        os.rename(src, dst)
        result.moved += 1
