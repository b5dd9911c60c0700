"""Whether the mirror folder can take posts, asked before a run touches anything.

A read-only or full ``MIRROR_DIR`` stops ``crawl`` and ``crawlall`` at start
with one line naming the folder and exit status 1, instead of fetching pages
whose posts cannot be written. A disk that fills up during a run is caught at
the write (:mod:`crawler.pipelines.write`), with the same outcome.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from scrapy.settings import BaseSettings

from crawler.mirror.archive import POSTS_DIR
from crawler.mirror.paths import STATE_DIR


def storage_problem(mirror_dir: str | Path) -> str | None:
    """None if posts and the dedup state can be written in ``mirror_dir``;
    else what is wrong, naming the path."""
    root = Path(mirror_dir)
    for folder in (root / POSTS_DIR, root / STATE_DIR):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd, probe = tempfile.mkstemp(prefix=".probe-", suffix=".tmp", dir=folder)
            try:
                os.write(fd, b"probe\n")  # a full disk refuses the first byte, not the name
            finally:
                os.close(fd)
                os.unlink(probe)
        except OSError as e:
            return f"cannot write to the mirror folder {e.filename or folder}: {e.strerror or e}"
    return None


def settings_storage_problem(settings: BaseSettings) -> str | None:
    """:func:`storage_problem` of the settings' ``MIRROR_DIR``; None with
    ``MIRROR_STORAGE_CHECK`` off (a fleet worker handing its posts to a writer
    elsewhere: the fleet add-on turns it off)."""
    if not settings.getbool("MIRROR_STORAGE_CHECK"):
        return None
    return storage_problem(settings.get("MIRROR_DIR"))
