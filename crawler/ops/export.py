"""The mirror's posts as JSON Lines (``scrapy export``), one object a line.

Each line is :func:`crawler.mirror.reader.as_record` of a post: infoCode,
title, date (ISO 8601), category, outlet, body (HTML), share_url, path
(relative to ``MIRROR_DIR``). Files that are not valid posts are skipped and
reported, never exported half-read.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO

from crawler.mirror.archive import CATEGORY_DIR, OLD_POSTS_DIR, POSTS_DIR, FormatError
from crawler.mirror.reader import FOLDERS, ArchiveReader, as_record
from crawler.text import plural

#: ``--folder``: which of the mirror's post folders are exported.
FOLDER_CHOICES = {"all": FOLDERS, "posts": (POSTS_DIR,), "old": (OLD_POSTS_DIR,)}


@dataclass
class Export:
    """What one export wrote."""

    count: int = 0
    categories: set[str] = field(default_factory=set)  # of the posts exported
    bad: list[FormatError] = field(default_factory=list)  # files skipped

    def summary(self, where: str) -> str:
        bad = len(self.bad)
        skipped = (
            f"; skipped {plural(bad, 'file')} "
            + ("that is not a valid post" if bad == 1 else "that are not valid posts")
            + " (see scrapy verify)"
        )
        return f"Exported {plural(self.count, 'post')} to {where}" + (skipped if bad else "")


def export_posts(
    root: Path,
    out: IO[str],
    categories: list[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    folder: str = "all",
    on_error: Callable[[FormatError], None] | None = None,
    done: Export | None = None,
) -> Export:
    """Write the posts of the mirror at ``root`` to ``out``, one JSON object a
    line; ``on_error`` hears of each file skipped. ``done`` (filled as it goes)
    says what was written even when ``out`` fails midway."""
    result = done if done is not None else Export()

    def skip(error: FormatError) -> None:
        result.bad.append(error)
        if on_error is not None:
            on_error(error)

    posts = ArchiveReader(root).posts(
        category=categories,
        since=since,
        until=until,
        folders=FOLDER_CHOICES[folder],
        on_error=skip,
    )
    for post in posts:
        out.write(json.dumps(as_record(post, root), ensure_ascii=False))
        out.write("\n")
        result.count += 1
        result.categories.add(post.category)
    out.flush()
    return result


def unknown_categories(root: Path, asked: list[str] | None, export: Export) -> list[str]:
    """The categories asked for that the mirror does not have (a warning each)."""
    known = {p.stem for p in (root / CATEGORY_DIR).glob("*.html")} | export.categories
    return [
        f"the mirror has no category {category!r}; its categories: "
        f"{', '.join(sorted(known)) or 'none'}"
        for category in asked or []
        if category not in known
    ]
