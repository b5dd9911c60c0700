"""An article's revisions (SPEC §9): compared, kept, and the post replaced.

A revisit (:mod:`crawler.mirror.revisits`) brings an article's title and
cleaned body again. :func:`compare` says whether it is a revision: a
different title, or a different body once whitespace is left out (cleaning
already took out widgets, ads, comments and indentation). A different date
or outlet alone is not: it is logged and counted, and the post keeps the
date and outlet of its first fetch, which name its file and its category
(its URL on the site).

:func:`record` keeps the version it replaces, byte for byte, as
``_revisions/{infoCode}/{YYYYMMDDTHHMMSSZ}.md`` (UTC, the time it was
superseded), then replaces the post. The order makes a kill at any point
safe:

1. the copy of the current post is written atomically beside the others;
2. the post is replaced atomically by the new version.

Killed before 2, the newest copy is identical to the post: :func:`versions`
does not count such a copy, and the next revision of the article takes it
away. Killed before 1 completes, a hidden temporary file is all that is left
(Jekyll ignores ``_revisions/`` and dot-files; :func:`record` removes them).

A post's revisions stay in ``_revisions/`` when retention moves the post to
``old_post/``: they are keyed by infoCode, wherever the post is.
"""

from __future__ import annotations

import contextlib
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from crawler.mirror.archive import OLD_POSTS_DIR, POSTS_DIR, Post, is_stale_temp, write_atomic

logger = logging.getLogger(__name__)

REVISIONS_DIR = "_revisions"
NAME_FORMAT = "%Y%m%dT%H%M%SZ"
REVISION_NAME = re.compile(r"(?P<when>\d{8}T\d{6}Z)(?:-(?P<n>\d+))?\.md")


def normalise(text: str) -> str:
    """``text`` without its whitespace: a difference in whitespace alone (a line
    break, an indent, a space between two paragraphs or CJK characters) is
    not a revision."""
    return "".join(text.split())


@dataclass(frozen=True)
class Comparison:
    title: bool  # the title differs
    body: bool  # the cleaned body differs (beyond whitespace)
    other: list[str]  # other fields that differ (date, outlet): not a revision

    @property
    def revised(self) -> bool:
        return self.title or self.body


def compare(current: Post, fetched: Post) -> Comparison:
    """How the version just fetched differs from the post."""
    other = [
        name
        for name, a, b in (
            ("date", current.date, fetched.date),
            ("outlet", current.outlet, fetched.outlet),
        )
        if a != b
    ]
    return Comparison(
        title=normalise(current.title) != normalise(fetched.title),
        body=normalise(current.body) != normalise(fetched.body),
        other=other,
    )


def revision_name(when: datetime) -> str:
    return f"{when.astimezone(timezone.utc):{NAME_FORMAT}}.md"


def superseded_at(path: Path) -> datetime | None:
    """The time in a revision file's name; None for another file."""
    match = REVISION_NAME.fullmatch(path.name)
    if not match:
        return None
    return datetime.strptime(match["when"], NAME_FORMAT).replace(tzinfo=timezone.utc)


def find_post(root: Path, filename: str) -> Path | None:
    """The post file ``filename`` in ``_posts/`` or, rotated, ``old_post/``."""
    for folder in (POSTS_DIR, OLD_POSTS_DIR):
        path = root / folder / filename
        if path.is_file():
            return path
    return None


def revision_files(root: Path, info_code: str) -> list[Path]:
    """Every revision file of ``info_code``, oldest first, leftovers included."""
    folder = root / REVISIONS_DIR / info_code
    try:
        names = [p for p in folder.iterdir() if REVISION_NAME.fullmatch(p.name)]
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(names, key=_order)


def _order(path: Path) -> tuple[str, int]:
    match = REVISION_NAME.fullmatch(path.name)
    assert match
    return match["when"], int(match["n"] or 0)


def versions(root: Path, info_code: str, post: Path | None) -> list[Path]:
    """The revisions of ``info_code`` that count, oldest first: a copy
    identical to the version after it (the post for the newest) is the
    leftover of a run killed before it replaced the post, and is left out."""
    files = revision_files(root, info_code)
    kept: list[Path] = []
    for i, path in enumerate(files):
        after = files[i + 1] if i + 1 < len(files) else post
        if after is not None and _same(path, after):
            continue
        kept.append(path)
    return kept


def _same(a: Path, b: Path) -> bool:
    try:
        return a.read_bytes() == b.read_bytes()
    except OSError:
        return False


def revised_codes(root: Path) -> list[str]:
    """The infoCodes with a folder in ``_revisions/``."""
    try:
        return sorted(p.name for p in (root / REVISIONS_DIR).iterdir() if p.is_dir())
    except FileNotFoundError:
        return []


def record(
    post: Path,
    info_code: str,
    new_text: str,
    when: datetime,
    durable: bool = True,
    dest: Path | None = None,
) -> Path:
    """Keep the post's current text as a revision superseded at ``when``, then
    replace the post by ``new_text``; the revision's path (see the module's
    docstring for the order). With ``dest`` (``scrapy rebuild``: a post whose
    date changed has another file name) the new text is written there and the
    post removed after."""
    root = post.parent.parent
    folder = root / REVISIONS_DIR / info_code
    old = post.read_bytes()
    leftovers = [p for p in revision_files(root, info_code)[-1:] if p.read_bytes() == old]
    name = revision_name(when)
    target = folder / name
    n = 0
    while target.exists():  # two revisions in one second
        n += 1
        target = folder / f"{name[:-3]}-{n}.md"
    write_atomic(target, old.decode("utf-8"), durable)
    for path in leftovers:
        with contextlib.suppress(OSError):
            path.unlink()
    for tmp in folder.glob(".*.tmp"):
        if is_stale_temp(tmp):
            with contextlib.suppress(OSError):
                tmp.unlink()
    write_atomic(dest or post, new_text, durable)
    if dest is not None and dest != post:
        post.unlink()
    return target
