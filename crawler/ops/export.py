"""The mirror's posts as JSON Lines (``scrapy export``), one object a line.

Each line is :func:`crawler.mirror.reader.as_record` of a post: infoCode,
title, date (ISO 8601), category, outlet, body (HTML), share_url, path
(relative to ``MIRROR_DIR``), revisions (how many earlier versions
``_revisions/`` keeps of it, SPEC §9). With ``revisions``, each earlier
version follows its post, a line of its own with ``revision`` (1: the first
fetched) and ``superseded`` (ISO 8601). Files that are not valid posts are
skipped and reported, never exported half-read.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import IO

from crawler.mirror.archive import CATEGORY_DIR, OLD_POSTS_DIR, POSTS_DIR, FormatError, Post, read
from crawler.mirror.reader import FOLDERS, ArchiveReader, as_record
from crawler.mirror.revisions import revised_codes, superseded_at, versions
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
    revisions: bool = False,
) -> Export:
    """Write the posts of the mirror at ``root`` to ``out``, one JSON object a
    line (with ``revisions``, each post's earlier versions after it);
    ``on_error`` hears of each file skipped. ``done`` (filled as it goes)
    says what was written even when ``out`` fails midway."""
    result = done if done is not None else Export()

    def skip(error: FormatError) -> None:
        result.bad.append(error)
        if on_error is not None:
            on_error(error)

    revised = set(revised_codes(root))

    def lines(post: Post) -> list[dict]:
        kept = versions(root, post.info_code, post.path) if post.info_code in revised else []
        records = [{**as_record(post, root), "revisions": len(kept)}]
        if revisions:
            for n, path in enumerate(kept, start=1):
                try:
                    version = read(path)
                except FormatError as e:
                    skip(e)
                    continue
                when = superseded_at(path)
                assert when is not None
                records.append({
                    **as_record(replace(version, info_code=post.info_code), root),
                    "revision": n,
                    "superseded": when.astimezone(post.date.tzinfo).isoformat(),
                })  # fmt: skip
        return records

    posts = ArchiveReader(root).posts(
        category=categories,
        since=since,
        until=until,
        folders=FOLDER_CHOICES[folder],
        on_error=skip,
    )
    for post in posts:
        for record in lines(post):
            out.write(json.dumps(record, ensure_ascii=False))
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
