"""Reading a mirror from scripts: its posts, filtered, as :class:`~crawler.mirror.archive.Post`.

::

    from crawler.mirror.reader import ArchiveReader

    mirror = ArchiveReader("output")
    for post in mirror.posts(category="kunmingribao", since=datetime(2022, 2, 1, tzinfo=TZ)):
        print(post.info_code, post.date, post.title, post.path)

Posts come from ``_posts/`` and ``old_post/`` (SPEC §3.4) in file-name order
(by date, then infoCode), each read with :func:`crawler.mirror.archive.read`, the
same definition of the format the crawler writes with.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any

from crawler.mirror.archive import OLD_POSTS_DIR, POSTS_DIR, FormatError, Post, post_names, read

__all__ = ["FOLDERS", "ArchiveReader", "as_record", "day_start", "parse_bound"]

#: The folders posts live in, oldest first.
FOLDERS: tuple[str, ...] = (OLD_POSTS_DIR, POSTS_DIR)
# A file's date is the publication date in its feed's time zone, and zones
# are at most 14 hours from UTC: a post dated D was published within this
# margin of D in UTC.
_MARGIN = timedelta(days=2)


class ArchiveReader:
    """The posts of the mirror in ``root`` (a ``MIRROR_DIR``)."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root)

    @classmethod
    def from_settings(cls, settings: Any) -> ArchiveReader:
        return cls(settings.get("MIRROR_DIR"))

    def files(self, folders: Iterable[str] = FOLDERS) -> list[Path]:
        """The post files (named ``YYYY-MM-DD-infoCode.md``) in ``folders``, by name.

        Other files (the crawler's hidden temporary files among them) are
        not posts and are left out.
        """
        found = sorted(
            (name, folder) for folder in folders for name in post_names(self.root / folder)
        )
        return [self.root / folder / name for name, folder in found]

    def posts(
        self,
        category: str | Iterable[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        folders: Iterable[str] = FOLDERS,
        on_error: Callable[[FormatError], None] | None = None,
    ) -> Iterator[Post]:
        """The mirror's posts, each with its ``path``.

        ``category``: one category or several (default: all). ``since`` and
        ``until`` are aware datetimes bounding the publication time, ``since``
        included and ``until`` not. A file that is not a valid post raises
        :class:`~crawler.mirror.archive.FormatError` naming it, unless ``on_error``
        is given: then it is called with the error and reading goes on.
        """
        for bound in (since, until):
            if bound is not None and bound.utcoffset() is None:
                raise ValueError(f"since/until must be aware datetimes, not {bound!r}")
        categories = (
            {category}
            if isinstance(category, str)
            else (None if category is None else set(category))
        )
        first = (since.astimezone(timezone.utc) - _MARGIN).date() if since else None
        last = (until.astimezone(timezone.utc) + _MARGIN).date() if until else None
        for path in self.files(folders):
            if first or last:
                day = date.fromisoformat(path.name[:10])
                if (first and day < first) or (last and day > last):
                    continue
            try:
                post = read(path)
            except (FormatError, OSError) as e:
                error = e if isinstance(e, FormatError) else FormatError(f"{path}: {e}")
                if on_error is None:
                    raise error from None
                on_error(error)
                continue
            if categories is not None and post.category not in categories:
                continue
            if (since and post.date < since) or (until and post.date >= until):
                continue
            yield post

    def __iter__(self) -> Iterator[Post]:
        return self.posts()


def as_record(post: Post, root: str | os.PathLike[str] | None = None) -> dict[str, str]:
    """``post`` as a JSON-ready mapping (what ``scrapy export`` writes, one per line).

    ``date`` is ISO 8601 with the feed's offset; ``path`` is relative to
    ``root`` when given (and the post lies under it); ``digest`` is there for
    rolling news only.
    """
    path = ""
    if post.path is not None:
        path = post.path.as_posix()
        if root is not None:
            with contextlib.suppress(ValueError):
                path = post.path.relative_to(root).as_posix()
    record = {
        "infoCode": post.info_code,
        "title": post.title,
        "date": post.date.isoformat(),
        "category": post.category,
        "outlet": post.outlet,
        "body": post.body,
        "share_url": post.share_url,
        "path": path,
    }
    if post.digest is not None:  # rolling news: its "> " line
        record["digest"] = post.digest
    return record


def day_start(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=tz)


def parse_bound(text: str, tz: tzinfo, end: bool = False) -> datetime:
    """A ``--since``/``--until`` value as an aware datetime.

    ISO 8601: a date alone stands for its whole day in ``tz`` (its start,
    or with ``end`` the start of the next day, so that ``--until 2022-02-20``
    takes in the 20th); a time without offset is in ``tz``. ValueError if
    it is neither.
    """
    text = text.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return day_start(day + timedelta(days=1) if end else day, tz)
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"{text!r} is not a date (2022-02-20) or a time (2022-02-20T14:30, "
            "2022-02-20 14:30:00+08:00)"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=tz)
