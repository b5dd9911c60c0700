from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from crawler.mirror.archive import OLD_POSTS_DIR, POSTS_DIR, Post, parse
from replica.process import ReplicaProcess
from tests.utils.cmdline import Result, run_scrapy

DATA = Path(__file__).parent / "data"

# Quick crawls: the loopback source needs no throttling to be polite, nor
# seconds of back-off before a retry (tests/test_politeness_identity.py has them).
FAST = [
    "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "LOG_LEVEL=INFO", "-s", "RETRY_BACKOFF_BASE=0.05",
]  # fmt: skip


# Where the suite's temporary files go unless TMPDIR says: a tmpfs with room to
# spare. Every post is written with fsync, which on a disk waits for it: the
# reader's 400 round trips took twice as long. Durability is not what these
# tests check (a SIGKILL keeps the page cache; tests/test_storage_faults.py
# mounts its own tmpfs); a small /dev/shm (a container's 64 MB) is not used.
TMPFS = Path("/dev/shm")
TMPFS_ROOM = 2 << 30


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("TMPDIR") or not TMPFS.is_dir() or not os.access(TMPFS, os.W_OK):
        return
    if shutil.disk_usage(TMPFS).free < TMPFS_ROOM:
        return
    tempfile.tempdir = str(TMPFS)  # tmp_path's root too
    os.environ["TMPDIR"] = str(TMPFS)  # the commands and servers the tests start


class ReplicaServer(ReplicaProcess):
    """The bundled replica of the source, run as its own process on a free port."""


@pytest.fixture(scope="session")
def replica() -> Iterator[ReplicaServer]:
    server = ReplicaServer()
    yield server
    server.stop()


class Mirror:
    """A mirror folder in a temporary directory, with a catalog for the replica."""

    def __init__(self, root: Path, catalog: dict):
        self.root = root
        self.dir = root / "output"
        self.catalog_path = root / "feeds.yaml"
        self.write_catalog(catalog)

    def write_catalog(self, catalog: dict) -> None:
        self.catalog_path.write_text(yaml.safe_dump(catalog, allow_unicode=True), "utf-8")

    def scrapy(self, *args: str, timeout: float = 180) -> Result:
        return run_scrapy(
            *args,
            "-s",
            f"MIRROR_DIR={self.dir}",
            "-s",
            f"NEWS_FEEDS_FILE={self.catalog_path}",
            *FAST,
            cwd=self.root,
            timeout=timeout,
        )

    def posts(self, folder: str | None = None) -> dict[str, Path]:
        """The post files in ``folder``; by default every post mirrored, in
        ``_posts/`` or, rotated (SPEC §3.4), in ``old_post/``."""
        folders = [folder] if folder else [OLD_POSTS_DIR, POSTS_DIR]
        return {p.name: p for f in folders for p in sorted((self.dir / f).glob("*.md"))}

    def read(self, path: Path) -> Post:
        return parse(path.read_text("utf-8"), str(path))


def replica_feeds(replica: ReplicaServer, *names: str, **overrides: dict) -> dict:
    from replica import replica_catalog

    feeds = replica_catalog(replica.url)["feeds"]
    chosen = {name: feeds[name] for name in names} if names else feeds
    for name, extra in overrides.items():
        chosen[name] = {**chosen[name], **extra}
    return {"feeds": chosen}


def shipped_feeds(replica: ReplicaServer, *names: str) -> dict:
    """The shipped catalog (the real source) with its hosts moved onto ``replica``."""
    from crawler.source.catalog import default_catalog_path
    from replica import replica_catalog

    feeds = replica_catalog(replica.url, default_catalog_path())["feeds"]
    return {"feeds": {n: feeds[n] for n in names} if names else feeds}


@pytest.fixture
def mirror_factory(tmp_path: Path):
    def make(catalog: dict) -> Mirror:
        return Mirror(tmp_path, catalog)

    return make
